"""Writes N SQLAlchemy models (7 columns, an index and a foreign key each) into DIR/models."""
import os
import sys

n, root = int(sys.argv[1]), sys.argv[2]
models = os.path.join(root, "models")
os.makedirs(models, exist_ok=True)
with open(os.path.join(models, "base.py"), "w") as f:
    f.write("from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n")
per_file = 100
names = []
for start in range(0, n, per_file):
    lines = [
        "from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String",
        "",
        "from .base import Base",
        "",
    ]
    for i in range(start, min(n, start + per_file)):
        parent = max(i - 1, 0)
        lines += [
            "",
            f"class T{i:05d}(Base):",
            f'    __tablename__ = "t{i:05d}"',
            "",
            "    id = Column(Integer, primary_key=True)",
            "    name = Column(String(100), nullable=False, index=True)",
            "    email = Column(String(200))",
            "    score = Column(Integer)",
            "    created = Column(DateTime)",
            "    active = Column(Boolean)",
            f'    parent_id = Column(Integer, ForeignKey("t{parent:05d}.id"))',
            "",
        ]
    name = f"tables_{start // per_file:03d}"
    names.append(name)
    with open(os.path.join(models, f"{name}.py"), "w") as f:
        f.write("\n".join(lines))
with open(os.path.join(models, "__init__.py"), "w") as f:
    f.write("".join(f"from . import {name}  # noqa: F401\n" for name in names))

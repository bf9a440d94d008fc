"""Times discovery and rendering through components (see `run` beside this file).

Every project is a fresh temporary folder with its own caches, warmed before timing
(the component is compiled once, discovery results are cached), so the rows
measure cached runs, never a compile. Reported: median and 90th percentile wall
time of whole processes, and the difference the component makes.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def clean_env():
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env["NO_COLOR"] = "1"
    return env


def run(binary, project, args):
    started = time.perf_counter()
    done = subprocess.run(
        [binary, *args], cwd=project, env=clean_env(), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(args)}` failed in {project}:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout


def stats(samples):
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.9))]


def timed(binary, project, args, runs):
    for _ in range(3):
        run(binary, project, args)
    return [run(binary, project, args)[0] for _ in range(runs)]


PYTHON_MODELS = '''from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()
'''


def python_models(count):
    out = PYTHON_MODELS
    for i in range(count):
        out += (
            f"\n\nclass Py{i}(Base):\n    __tablename__ = 'py_{i}'\n"
            f"    id = Column(Integer, primary_key=True)\n"
            f"    name = Column(String(50), nullable=False)\n"
        )
    return out


def prisma_schema(count):
    out = 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n\n'
    out += "enum Status {\n  DRAFT\n  LIVE @map(\"live\")\n}\n\n"
    for i in range(count):
        parent = f"M{i - 1}" if i else None
        out += f"model M{i} {{\n"
        out += "  id        Int      @id @default(autoincrement())\n"
        out += "  email     String   @unique @db.VarChar(200)\n"
        out += "  title     String?\n"
        out += "  status    Status   @default(DRAFT)\n"
        out += "  price     Decimal  @db.Decimal(10, 2)\n"
        out += "  createdAt DateTime @default(now()) @map(\"created_at\")\n"
        if parent:
            out += f"  parent    {parent}?     @relation(fields: [parentId], references: [id], onDelete: Cascade)\n"
            out += "  parentId  Int?     @map(\"parent_id\")\n"
        child = f"M{i + 1}" if i + 1 < count else None
        if child:
            out += f"  children  {child}[]\n"
        out += f"  @@index([title])\n  @@map(\"m_{i}\")\n}}\n\n"
    return out


def sql_schema(count):
    out = ""
    for i in range(count):
        out += (
            f"CREATE TABLE m_{i} (\n  id INTEGER PRIMARY KEY,\n  email VARCHAR(200) NOT NULL UNIQUE,\n"
            f"  title TEXT,\n  status VARCHAR(10) NOT NULL DEFAULT 'DRAFT',\n  price NUMERIC(10, 2) NOT NULL,\n"
            f"  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n"
            f"CREATE INDEX m_{i}_title_idx ON m_{i} (title);\n\n"
        )
    return out


def discovery_rows(args, root):
    """The same tables from the built-in `sql` backend and from prisma-discovery, both
    cached: the difference is what the component costs, not the tables."""
    prisma = Path(args.components) / "prisma_discovery.wasm"
    rows = []
    builtin = Path(root) / "sql"
    with_wasm = Path(root) / "prisma"
    for p, backends in [(builtin, '["sqlalchemy", "sql"]'), (with_wasm, f'["sqlalchemy", "wasm:{prisma}"]')]:
        (p / "models").mkdir(parents=True)
        (p / "migrations" / "versions").mkdir(parents=True)
        (p / "models" / "app.py").write_text(python_models(50))
        (p / "sqlalembic.toml").write_text(f"[discovery]\nBACKENDS = {backends}\n")
    (builtin / "models" / "schema.sql").write_text(sql_schema(args.models))
    (with_wasm / "models" / "schema.prisma").write_text(prisma_schema(args.models))
    counts = []
    for p in (builtin, with_wasm):
        _, listing = run(args.binary, p, ["--format", "json", "discover"])
        counts.append(sum(1 for t in json.loads(listing)["tables"] if t["name"].startswith("m_")))
    plain = stats(timed(args.binary, builtin, ["discover"], args.runs))
    wasm = stats(timed(args.binary, with_wasm, ["discover"], args.runs))
    added = (wasm[0] - plain[0]) * 1000
    rows.append(
        f"discover, 50 SQLAlchemy + {counts[0]} `sql` tables, cached     median {plain[0]*1000:7.1f} ms  p90 {plain[1]*1000:7.1f} ms"
    )
    rows.append(
        f"discover, 50 SQLAlchemy + {counts[1]} Prisma tables, cached   median {wasm[0]*1000:7.1f} ms  p90 {wasm[1]*1000:7.1f} ms"
    )
    verdict = "PASS" if added <= 10 else "FAIL"
    rows.append(f"  a cached discovery component adds {added:6.2f} ms   (target <= 10 ms)  {verdict}")
    # An edited schema: the (compiled, cached) component runs again.
    (with_wasm / "models" / "schema.prisma").write_text(prisma_schema(args.models) + "\n// edited\n")
    cold, _ = run(args.binary, with_wasm, ["discover"])
    rows.append(f"discover after editing the schema (component runs, {args.models} models)  {cold*1000:7.1f} ms")
    return rows


def revision(ops):
    out = 'revision = "a00000000001"\nmessage = "many ops"\n\n'
    tables = max(1, ops // 4)
    for i in range(tables):
        out += (
            f'[[upgrade]]\nop = "create_table"\ntable = "t{i}"\n'
            'columns = [\n  { name = "id", type = "integer", primary_key = true },\n'
            '  { name = "a", type = "varchar(40)", nullable = false },\n'
            '  { name = "b", type = "numeric(10,2)" },\n'
            '  { name = "parent_id", type = "integer" },\n]\n\n'
        )
    for i in range(tables):
        out += f'[[upgrade]]\nop = "create_index"\nname = "ix_t{i}_a"\ntable = "t{i}"\ncolumns = ["a"]\n\n'
        out += f'[[upgrade]]\nop = "add_column"\ntable = "t{i}"\ncolumn = {{ name = "c", type = "text" }}\n\n'
        parent = i - 1 if i else 0
        out += (
            f'[[upgrade]]\nop = "create_foreign_key"\nname = "fk_t{i}"\ntable = "t{i}"\n'
            f'columns = ["parent_id"]\nreferences = "t{parent}(id)"\n\n'
        )
    return out, tables * 4


def dialect_rows(args, root):
    """All-in cost per op of rendering through pg-online (component call, conversions
    and the host's own work), from the slope between a 4-op and an N-op revision:
    an upper bound of what the component adds."""
    pg_online = Path(args.components) / "pg_online.wasm"
    rows = []
    medians = {}
    for name, engine in [("postgresql", "postgresql"), ("pg-online", f"wasm:{pg_online}")]:
        for ops_wanted in (4, args.ops):
            text, ops = revision(ops_wanted)
            p = Path(root) / f"dialect-{name}-{ops}"
            (p / "migrations" / "versions").mkdir(parents=True)
            (p / "migrations" / "versions" / "a00000000001_many.toml").write_text(text)
            (p / "sqlalembic.toml").write_text(
                f'[database]\nDB_ENGINE = "{engine}"\nDATABASE_URL = "postgresql://bench@127.0.0.1:1/none"\n'
            )
            m = stats(timed(args.binary, p, ["migrate", "--sql"], max(5, args.runs // 3)))
            medians[(name, ops)] = m[0]
            rows.append(
                f"migrate --sql, {ops:5} ops, {name:10}  median {m[0]*1000:8.1f} ms  p90 {m[1]*1000:8.1f} ms"
            )
    _, n = revision(args.ops)
    slope = lambda name: (medians[(name, n)] - medians[(name, 4)]) / (n - 4) * 1e6
    rows.append(f"  built-in postgresql: {slope('postgresql'):6.1f} us per op (host rendering and replay)")
    per_op = slope("pg-online")
    verdict = "PASS" if per_op <= 50 else "FAIL"
    rows.append(
        f"  pg-online component, all in: {per_op:6.1f} us per rendered op   (target <= 50 us added)  {verdict}"
    )
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--components", required=True, help="folder with the built Rust components")
    ap.add_argument("--profile", default="release")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--ops", type=int, default=2000)
    args = ap.parse_args()
    print(f"profile: {args.profile}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as root:
        for row in discovery_rows(args, root) + dialect_rows(args, root):
            print(row)


if __name__ == "__main__":
    main()

"""`alembic check` for one corpus package: the real models against a database.

Runs inside the package's venv (e2e.py calls it after `sqlalembic migrate`). Reads
{"spec": {...as for truth_dump.py}, "url": SQLAlchemy URL, "driver": folder} on stdin
and prints {"diffs": [...], "noise": [...]}: what Alembic's autogenerate would still
change, i.e. how the database sqlalembic migrated differs from the schema SQLAlchemy
itself holds. The same comparison runs against a second database ("oracle_url")
that SQLAlchemy's own `create_all` made from the same models: a difference Alembic
reports there too is Alembic's noise on that database (it is listed as "noise", not
as a diff). When `create_all` itself fails there, "oracle_error" says why; with
"url" null only that is asked.

Only the package's own tables (those truth_dump.py keeps) are compared, one MetaData
at a time against its own tables, so a package with several MetaData does not see
the others' tables as extra; sqlalembic's bookkeeping tables (alembic_version,
sqlalembic_*) are never in scope.
"""

import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import truth_dump  # noqa: E402


def describe(obj):
    """Alembic's diff tuples in words: ("add_column", None, "t", Column) etc."""
    from sqlalchemy import Column, ForeignKeyConstraint, Index, Table
    from sqlalchemy.schema import Constraint
    from sqlalchemy.types import TypeEngine
    if isinstance(obj, (tuple, list)):
        return " ".join(describe(o) for o in obj if o is not None and not isinstance(o, dict))
    if isinstance(obj, Table):
        return f"table {obj.fullname}"
    if isinstance(obj, Column):
        table = obj.table.fullname if obj.table is not None else "?"
        return f"column {table}.{obj.name} {obj.type!r}"
    if isinstance(obj, (Index, Constraint)):
        cols = ", ".join(getattr(c, "name", str(c)) for c in getattr(obj, "columns", []))
        where = obj.table.fullname if getattr(obj, "table", None) is not None else "?"
        text = f"{type(obj).__name__} {obj.name} on {where}({cols})"
        if isinstance(obj, ForeignKeyConstraint):
            # A remove_fk + add_fk pair of one name differs in these options.
            text += f" -> {obj.referred_table.fullname}(" + ", ".join(
                e.column.name for e in obj.elements) + ")" + "".join(
                f" {k}={getattr(obj, k)}" for k in ("ondelete", "onupdate", "deferrable",
                                                    "initially") if getattr(obj, k))
        return text
    if isinstance(obj, TypeEngine):
        return repr(obj)
    return str(obj)


def main():
    request = json.load(sys.stdin)
    # psycopg2 for PostgreSQL comes from the harness's own folder, after the venv's
    # packages, so the package's dependencies always win.
    sys.path.append(request["driver"])
    kept, _ = truth_dump.load(request["spec"])
    from collections import Counter

    from sqlalchemy import create_engine

    groups = {}
    for table, _, _ in kept:
        groups.setdefault(id(table.metadata), (table.metadata, set()))[1].add(
            (table.schema, table.name))
    oracle = create_engine(request["oracle_url"])
    try:
        with oracle.begin() as conn:
            for metadata, scope in groups.values():
                metadata.create_all(conn, tables=[t for t, _, _ in kept
                                                  if t.metadata is metadata])
        noise, oracle_error = compare(oracle, groups), None
    except Exception as e:  # noqa: BLE001 - reported, never hidden
        # SQLAlchemy itself cannot create the models here: no noise to discount.
        noise, oracle_error = [], str(e).splitlines()[0][:300]
    if request["url"] is None:  # only asked whether SQLAlchemy can create them
        json.dump({"diffs": [], "noise": noise, "oracle_error": oracle_error}, sys.stdout)
        return
    expected = Counter(noise)
    diffs = []
    for d in compare(create_engine(request["url"]), groups):
        if expected[d] > 0:
            expected[d] -= 1
        else:
            diffs.append(d)
    json.dump({"diffs": diffs, "noise": noise, "oracle_error": oracle_error}, sys.stdout)


def compare(engine, groups):
    """Alembic's compare_metadata of every MetaData against its own tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    diffs = []
    with engine.connect() as conn:
        for metadata, scope in groups.values():
            schemas = {s for s, _ in scope}

            def include_name(name, type_, parent_names, scope=scope, schemas=schemas):
                if type_ == "schema":
                    return name in schemas
                if type_ == "table":
                    return (parent_names.get("schema_name"), name) in scope
                return True

            def include_object(obj, name, type_, reflected, compare_to, scope=scope):
                if type_ == "table":
                    return (obj.schema, name) in scope
                return True

            ctx = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": include_name,
                "include_object": include_object,
                "include_schemas": schemas != {None},
            })
            diffs.extend(describe(d) for d in compare_metadata(ctx, metadata))
    return diffs


if __name__ == "__main__":
    main()

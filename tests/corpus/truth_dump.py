"""The truth about a corpus package's schema, from real SQLAlchemy.

Runs inside the package's venv (tests/corpus/run builds it). Reads a JSON spec on
stdin: {"name", "models": [paths], "modules": [dotted], "setup": "python lines"}.
Writes {"sqlalchemy": version, "tables": [...], "excluded": {file: count}} on stdout;
everything the imported code prints goes to stderr.

Which tables are the package's? SQLAlchemy is patched before the import so that each
new Table records the first stack frame outside SQLAlchemy (and the ORM layers and
stdlib helpers that call it on a class statement's behalf): that file is where the
table is defined. A declarative class creates its Table while its class statement
runs, so the frame is the model's own module. Tables defined outside the `models`
paths (a dependency's, a test helper's) are left out and only counted.

The spellings (types, server defaults, names) follow sqlalembic's own import backend,
host/src/discovery/import_helper.py; its rules are copied here, not imported, so the
truth does not move when that file does.
"""

import importlib
import json
import os
import pkgutil
import sys
import sysconfig
from contextlib import redirect_stdout

# Frames of these top-level modules are SQLAlchemy itself or code that runs a class
# statement's machinery on its behalf; the defining frame is the first one outside.
SKIP_MODULES = {"sqlalchemy", "sqlmodel", "flask_sqlalchemy", "pydantic", "pydantic_core",
                "abc", "enum", "typing", "typing_extensions", "dataclasses", "functools"}

created = []  # (table, file, line) in creation order
SITE_PACKAGES = os.path.realpath(sysconfig.get_paths()["purelib"])


def record_tables():
    """Wraps Table._new, SQLAlchemy 2.0's constructor path for every new Table."""
    from sqlalchemy.sql.schema import Table
    original = Table._new.__func__
    seen = set()

    def _new(cls, *args, **kw):
        table = original(cls, *args, **kw)
        # extend_existing / keep_existing hand back a table made earlier: skip it.
        if isinstance(table, Table) and id(table) not in seen:
            seen.add(id(table))
            frame = sys._getframe(1)
            # A skipped module's own module-level tables (SQLAlchemy's pg_catalog)
            # stop the walk there, so they are attributed to that file.
            while frame is not None and frame.f_code.co_name != "<module>" and \
                    frame.f_globals.get("__name__", "").split(".")[0] in SKIP_MODULES:
                frame = frame.f_back
            created.append((table, frame.f_code.co_filename if frame else None,
                            frame.f_lineno if frame else None))
        return table

    Table._new = classmethod(_new)


def import_modules(modules):
    """Imports each module; `pkg.*` also imports every submodule of pkg."""
    for name in modules:
        if name.endswith(".*"):
            package = importlib.import_module(name[:-2])
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                importlib.import_module(info.name)
        else:
            importlib.import_module(name)


def relative(path):
    """A file's path as it lies in the wheel: relative to site-packages."""
    if path is None or not os.path.isabs(path):
        return path
    return os.path.relpath(os.path.realpath(path), SITE_PACKAGES)


def in_models(rel, models):
    if rel is None:
        return False
    for m in models:
        m = m.rstrip("/")
        if rel == m or rel.startswith(m + "/"):
            return True
    return False


# --- sqlalembic's spellings (copied from host/src/discovery/import_helper.py) ------

GENERIC = {
    "Integer": "integer", "INTEGER": "integer", "INT": "integer",
    "BigInteger": "bigint", "BIGINT": "bigint",
    "SmallInteger": "smallint", "SMALLINT": "smallint",
    "Boolean": "boolean", "BOOLEAN": "boolean",
    "String": "string", "VARCHAR": "string", "AutoString": "string",
    "Text": "text", "TEXT": "text", "UnicodeText": "text",
    "Unicode": "unicode", "NVARCHAR": "unicode",
    "Numeric": "numeric", "NUMERIC": "numeric", "DECIMAL": "numeric",
    "Float": "float", "FLOAT": "float", "Double": "float", "DOUBLE": "float",
    "DOUBLE_PRECISION": "float",
    "Date": "date", "DATE": "date",
    "DateTime": "datetime", "DATETIME": "datetime", "TIMESTAMP": "timestamp",
    "Time": "time", "TIME": "time",
    "Interval": "interval", "INTERVAL": "interval",
    "LargeBinary": "largebinary", "BLOB": "largebinary", "BYTEA": "largebinary",
    "JSON": "json",
    "Uuid": "uuid", "UUID": "uuid", "GUID": "uuid",
    "Enum": "enum", "ENUM": "enum",
    "ARRAY": "array",
}
LENGTH_CUSTOM = {"CHAR", "NCHAR", "VARBINARY", "BINARY"}


def quote(value):
    return "'" + str(value).replace("'", "''") + "'"


def type_text(t):
    from sqlalchemy.types import TypeDecorator
    libraries = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy", "sqlalchemy_utils")
    name = type(t).__name__
    from_library = type(t).__module__.split(".")[0] in libraries
    kind = GENERIC.get(name) if from_library else None
    if kind is None and isinstance(t, TypeDecorator):
        return type_text(t.impl)
    if kind is None and not from_library:
        # A project subclass of a concrete SQLAlchemy type (`class X(LargeBinary)`) is
        # compiled as that type: the nearest library class in its MRO names it.
        kind = next((GENERIC[k.__name__] for k in type(t).__mro__
                     if k.__module__.split(".")[0] in libraries and k.__name__ in GENERIC),
                    None)
    if kind is None:
        length = getattr(t, "length", None)
        if name in LENGTH_CUSTOM and length is not None:
            return "%s(%d)" % (name, length)
        return name
    if kind in ("string", "unicode"):
        base = "varchar" if kind == "string" else "unicode"
        return base if t.length is None else "%s(%d)" % (base, t.length)
    if kind == "numeric":
        if t.precision is None:
            return "numeric"
        return "numeric(%d,%d)" % (t.precision, t.scale or 0)
    if kind in ("datetime", "timestamp"):
        return kind + "(timezone=true)" if getattr(t, "timezone", False) else kind
    if kind == "enum" and not t.native_enum:
        # A non-native enum is a VARCHAR as long as its longest value (or `length`).
        return "varchar" if t.length is None else "varchar(%d)" % t.length
    if kind == "enum":
        parts = []
        if t.name:
            parts.append(t.name)
        parts.extend(quote(v) for v in t.enums)
        return "enum(" + ", ".join(parts) + ")"
    if kind == "array":
        return type_text(t.item_type) + "[]"
    return kind


DIALECTS = ("sqlite", "postgresql", "mysql")


class _AskedDialect:
    """The dialect a `load_dialect_impl` is asked for: the real one, except that
    `type_descriptor` hands back the type as written (not the dialect's adaptation)."""

    def __init__(self, name):
        import importlib
        self._real = importlib.import_module("sqlalchemy.dialects." + name).dialect()

    def type_descriptor(self, t):
        from sqlalchemy.sql.type_api import to_instance
        return to_instance(t)

    def __getattr__(self, name):
        return getattr(self._real, name)


def column_type_text(t):
    """type_text plus per-dialect variants, `variant(base, dialect=type, ...)`:
    `with_variant` mappings, and a project TypeDecorator's `load_dialect_impl` asked for
    each database (the type most of them get is the base; the impl when all differ)."""
    from collections import Counter
    from sqlalchemy.types import TypeDecorator
    base = type_text(t)
    variants = {}
    libraries = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy", "sqlalchemy_utils")
    if isinstance(t, TypeDecorator) and any(
            "load_dialect_impl" in vars(k) for k in type(t).__mro__
            if k.__module__.split(".")[0] not in libraries):
        from sqlalchemy.sql.type_api import to_instance
        per = {name: type_text(to_instance(t.load_dialect_impl(_AskedDialect(name))))
               for name in DIALECTS}
        counts = Counter(per.values())
        top = max(counts.values())
        if top > 1:
            base = next(v for v in per.values() if counts[v] == top)
        variants.update(per)
    for name, v in (getattr(t, "_variant_mapping", None) or {}).items():
        variants[name.lower()] = type_text(v)
    variants = sorted((n, v) for n, v in variants.items() if v != base)
    if not variants:
        return base
    return "variant(%s, %s)" % (base, ", ".join("%s=%s" % nv for nv in variants))


def sql_text(clause, dialect):
    from sqlalchemy.sql.elements import False_, Null, TextClause, True_
    if isinstance(clause, str):
        return clause
    if isinstance(clause, TextClause):
        return clause.text
    # Portable spellings (the default dialect would render booleans as 1/0).
    if isinstance(clause, True_):
        return "true"
    if isinstance(clause, False_):
        return "false"
    if isinstance(clause, Null):
        return "NULL"
    return str(clause.compile(dialect=dialect,
                              compile_kwargs={"include_table": False, "literal_binds": True}))

# -----------------------------------------------------------------------------------


def type_facts(t):
    """The raw facts of a type, for reading the truth without trusting `type`."""
    from sqlalchemy.types import ARRAY, TypeDecorator
    facts = {"class": type(t).__name__, "module": type(t).__module__}
    for attr in ("length", "precision", "scale", "timezone"):
        value = getattr(t, attr, None)
        if isinstance(value, (bool, int, float, str)):
            facts[attr] = value
    enums = getattr(t, "enums", None)
    if isinstance(enums, (list, tuple)):
        facts["enums"] = [str(v) for v in enums]
        facts["enum_name"] = getattr(t, "name", None)
    if isinstance(t, TypeDecorator):
        facts["impl"] = type_facts(t.impl)
    if isinstance(t, ARRAY):
        facts["item_type"] = type_facts(t.item_type)
    return facts


def server_default(column, dialect):
    """(kind, text): a str default is kept as written (kind "string"; sqlalembic
    quotes it), a text() one as its text, an expression compiled."""
    from sqlalchemy.schema import DefaultClause
    d = column.server_default
    if d is None:
        return None, None
    if not isinstance(d, DefaultClause):
        return type(d).__name__, None  # FetchedValue, Computed, Identity: no default text
    if isinstance(d.arg, str):
        return "string", d.arg
    from sqlalchemy.sql.elements import TextClause
    return ("text" if isinstance(d.arg, TextClause) else "expression"), sql_text(d.arg, dialect)


def name_of(item):
    """A constraint's or index's final name: conventions applied, deferred names
    resolved the way Alembic's autogenerate and the DDL compiler do."""
    from sqlalchemy.sql import naming
    from sqlalchemy.sql.base import _NONE_NAME
    name = item.name
    if name is _NONE_NAME:
        name = naming._constraint_name_for_table(item, item.table)
    return None if name is None or name is _NONE_NAME else str(name)


def column_names(items):
    return [c.name for c in items]


def fk_json(fk):
    targets = []
    for element in fk.elements:
        try:
            col = element.column
            targets.append((col.table.schema, col.table.name, col.name))
        except Exception:  # noqa: BLE001 - unresolved target: read its spelling
            parts = element.target_fullname.split(".")
            schema = ".".join(parts[:-2]) or None
            targets.append((schema, parts[-2], parts[-1]))
    return {
        "name": name_of(fk),
        "columns": column_names(fk.columns),
        "referred_schema": targets[0][0],
        "referred_table": targets[0][1],
        "referred_columns": [t[2] for t in targets],
        "ondelete": fk.ondelete,
        "onupdate": fk.onupdate,
        "deferrable": fk.deferrable,
        "initially": fk.initially,
    }


def table_json(table, rel, line, metadata_index, dialect):
    from sqlalchemy import CheckConstraint, Column, ForeignKeyConstraint, UniqueConstraint
    columns = []
    for col in table.columns:
        kind, default = server_default(col, dialect)
        columns.append({
            "name": col.name,
            "type": column_type_text(col.type),
            "type_facts": type_facts(col.type),
            "nullable": bool(col.nullable),
            "primary_key": bool(col.primary_key),
            "autoincrement": col.autoincrement,
            "server_default": default,
            "server_default_kind": kind,
            "comment": col.comment,
            "unique": col.unique,
        })
    uniques, checks, seen = [], [], set()
    constraints = list(table.constraints) + [c for col in table.columns for c in col.constraints]
    for c in constraints:
        if id(c) in seen:
            continue
        seen.add(id(c))
        if isinstance(c, UniqueConstraint):
            uniques.append({"name": name_of(c), "columns": column_names(c.columns),
                            "column_flag": bool(getattr(c, "_column_flag", False))})
        elif isinstance(c, CheckConstraint):
            checks.append({"name": name_of(c), "sqltext": sql_text(c.sqltext, dialect)})
    indexes = []
    for ix in table.indexes:
        cols = []
        for e in ix.expressions:
            if isinstance(e, Column):
                cols.append(e.name)
            elif isinstance(e, str):
                cols.append(e)
            else:
                cols.append(sql_text(e, dialect))
        spec = {"name": name_of(ix), "columns": cols, "unique": bool(ix.unique)}
        # Not `a or b`: a SQL expression refuses bool().
        where = ix.dialect_options["postgresql"].get("where")
        if where is None:
            where = ix.dialect_options["sqlite"].get("where")
        if where is not None:
            spec["where"] = sql_text(where, dialect)
        # Index(...).ddl_if(dialect=...): created only on those dialects.
        ddl_if = getattr(ix, "_ddl_if", None)
        if ddl_if is not None and ddl_if.dialect is not None:
            names = ddl_if.dialect
            spec["dialects"] = [names] if isinstance(names, str) else list(names)
        indexes.append(spec)
    fks = [fk_json(c) for c in table.constraints if isinstance(c, ForeignKeyConstraint)]
    pk = table.primary_key

    def ordered(items):
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))

    return {
        "name": table.name,
        "schema": table.schema,
        "comment": table.comment,
        "defined_in": rel,
        "line": line,
        "metadata": metadata_index,
        "columns": columns,
        "primary_key": {"name": name_of(pk) if pk.columns else None,
                        "columns": column_names(pk.columns)},
        "foreign_keys": ordered(fks),
        "indexes": ordered(indexes),
        "unique_constraints": ordered(uniques),
        "check_constraints": ordered(checks),
    }


def load(spec):
    """Imports the package's models; returns [(table, rel, line)] defined in `models`
    (still present in their MetaData) and {rel file: count} of the tables left out."""
    record_tables()
    with redirect_stdout(sys.stderr):
        if spec.get("setup"):
            exec(compile(spec["setup"], "<manifest setup>", "exec"), {"__name__": "__setup__"})
        import_modules(spec["modules"])
    kept, excluded = [], {}
    for table, file, line in created:
        if table.metadata.tables.get(table.key) is not table:
            continue  # removed again (or replaced) after creation
        rel = relative(file)
        if in_models(rel, spec["models"]):
            kept.append((table, rel, line))
        else:
            excluded[str(rel)] = excluded.get(str(rel), 0) + 1
    return kept, excluded


def metadata_indexes(kept):
    """Each MetaData's number, in order of its first in-scope table."""
    order = {}
    for table, _, _ in kept:
        order.setdefault(id(table.metadata), len(order))
    return order


def main():
    spec = json.load(sys.stdin)
    kept, excluded = load(spec)
    from sqlalchemy.engine import default
    dialect = default.DefaultDialect()
    order = metadata_indexes(kept)
    tables = [table_json(t, rel, line, order[id(t.metadata)], dialect) for t, rel, line in kept]
    tables.sort(key=lambda t: (t["schema"] or "", t["name"]))
    import sqlalchemy
    json.dump({"sqlalchemy": sqlalchemy.__version__, "tables": tables,
               "excluded": dict(sorted(excluded.items()))}, sys.stdout)


if __name__ == "__main__":
    main()

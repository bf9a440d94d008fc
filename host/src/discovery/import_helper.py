"""sqlalembic import helper: imports model files and prints SQLAlchemy's MetaData as JSON.

Run by the `sqlalchemy-import` discovery backend with the project's own interpreter.
Reads a JSON request on stdin: {"root": ..., "modules": [{"name": "app.models", "rel": "app/models.py"}]}.
Writes one JSON document on stdout: {"tables": [...], "errors": [...]}; everything the
imported code prints goes to stderr. The table shape is sqlalembic's migration-file
spelling (types as `varchar(200)`, foreign keys as `references = "users(id)"`), and the
type mapping mirrors the static backend's so both backends agree.
"""

import importlib
import inspect
import json
import os
import sys
import traceback
from contextlib import redirect_stdout

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
    return str(clause.compile(dialect=dialect, compile_kwargs={"include_table": False, "literal_binds": True}))


def server_default(column, dialect):
    from sqlalchemy.schema import DefaultClause
    d = column.server_default
    if d is None or not isinstance(d, DefaultClause):
        return None
    if isinstance(d.arg, str):
        return quote(d.arg)
    return sql_text(d.arg, dialect)


def name_of(n):
    return None if n is None else str(n)


def table_json(table, dialect):
    from sqlalchemy import CheckConstraint, Column, UniqueConstraint
    flagged_unique = set()
    uniques = []
    checks = []
    # SQLAlchemy's own DDL order (creation order), which the static backend follows.
    for c in table._sorted_constraints:
        if isinstance(c, UniqueConstraint):
            cols = [col.name for col in c.columns]
            if getattr(c, "_column_flag", False) and c.name is None and len(cols) == 1:
                flagged_unique.add(cols[0])
            else:
                uniques.append({"name": name_of(c.name), "columns": cols})
        elif isinstance(c, CheckConstraint):
            checks.append({"name": name_of(c.name), "sqltext": sql_text(c.sqltext, dialect)})
    for col in table.columns:
        # Column-level checks (`Column(..., CheckConstraint(...))`) live on the column.
        for c in col.constraints:
            if isinstance(c, CheckConstraint):
                checks.append({"name": name_of(c.name), "sqltext": sql_text(c.sqltext, dialect)})
    columns = []
    for col in table.columns:
        auto = col.autoincrement
        spec = {
            "name": col.name,
            "type": column_type_text(col.type),
            "primary_key": bool(col.primary_key),
            "nullable": bool(col.nullable),
            "unique": col.name in flagged_unique,
        }
        if auto is True or auto == "ignore_fk":
            spec["autoincrement"] = True
        elif auto is False:
            spec["autoincrement"] = False
        default = server_default(col, dialect)
        if default is not None:
            spec["server_default"] = default
        if col.comment is not None:
            spec["comment"] = col.comment
        columns.append(spec)
    fks = []
    for fk in table.foreign_key_constraints:
        refs = []
        for element in fk.elements:
            parts = element.target_fullname.split(".")
            refs.append(parts)
        target = refs[0][:-1]
        ref_cols = [r[-1] for r in refs]
        if len(target) == 1:
            referred = element_table(fk)
            schema = referred.schema if referred is not None else None
            target_name = (schema + "." if schema else "") + target[0]
        else:
            target_name = ".".join(target)
        spec = {
            "columns": [c.name for c in fk.columns],
            "references": "%s(%s)" % (target_name, ", ".join(ref_cols)),
        }
        if fk.name is not None:
            spec["name"] = str(fk.name)
        if fk.ondelete is not None:
            spec["ondelete"] = fk.ondelete
        if fk.onupdate is not None:
            spec["onupdate"] = fk.onupdate
        if fk.deferrable is not None:
            spec["deferrable"] = bool(fk.deferrable)
        if fk.initially is not None:
            spec["initially"] = str(fk.initially)
        fks.append(spec)
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
        spec = {"name": name_of(ix.name) or "", "columns": cols, "unique": bool(ix.unique)}
        where = ix.dialect_options["postgresql"].get("where") or ix.dialect_options["sqlite"].get("where")
        if where is not None:
            spec["where"] = sql_text(where, dialect)
        # Index(...).ddl_if(dialect=...): created only on those dialects; a condition
        # decided by a callable cannot be written into a schema.
        ddl_if = getattr(ix, "_ddl_if", None)
        if ddl_if is not None:
            if ddl_if.callable_ is not None:
                raise ValueError(
                    f"index {ix.name!r} of table {table.name!r} has ddl_if(callable_=...), "
                    "decided when the DDL runs: limit it with ddl_if(dialect=...) instead")
            if ddl_if.dialect is not None:
                names = ddl_if.dialect
                spec["dialects"] = [names] if isinstance(names, str) else list(names)
        indexes.append(spec)
    pk = table.primary_key
    out = {
        "name": table.name,
        "columns": columns,
        "primary_key": {"columns": [c.name for c in pk.columns]},
        "foreign_keys": fks,
        "indexes": indexes,
        "uniques": uniques,
        "checks": checks,
    }
    if pk.name is not None:
        out["primary_key"]["name"] = str(pk.name)
    if not pk.columns:
        del out["primary_key"]
    if table.schema is not None:
        out["schema"] = table.schema
    if table.comment is not None:
        out["comment"] = table.comment
    return out


def element_table(fk):
    try:
        return fk.referred_table
    except Exception:
        return None


def metadatas(modules):
    from sqlalchemy import MetaData
    found = {}
    for module in modules:
        for value in list(vars(module).values()):
            candidates = [value]
            md = getattr(value, "metadata", None) if isinstance(value, type) else None
            if md is not None:
                candidates.append(md)
            mds = getattr(value, "metadatas", None)
            if isinstance(mds, dict):
                candidates.extend(mds.values())
            for c in candidates:
                if isinstance(c, MetaData):
                    found[id(c)] = c
    try:
        from sqlmodel import SQLModel
        found[id(SQLModel.metadata)] = SQLModel.metadata
    except ImportError:
        pass
    return list(found.values())


def sources(modules, root):
    """Table key -> (rel file, line) for mapped classes and module-level tables."""
    from sqlalchemy import Table
    out = {}
    for module in modules:
        for value in list(vars(module).values()):
            table = getattr(value, "__table__", None) if isinstance(value, type) else value
            if not isinstance(table, Table) or table.key in out:
                continue
            try:
                if isinstance(value, type):
                    file = inspect.getsourcefile(value)
                    line = inspect.getsourcelines(value)[1]
                else:
                    file, line = module.__file__, 1
                out[table.key] = (os.path.relpath(file, root), line)
            except (OSError, TypeError):
                pass
    return out


def main():
    request = json.load(sys.stdin)
    root = request["root"]
    sys.path.insert(0, root)
    errors = []
    loaded = []
    with redirect_stdout(sys.stderr):
        for m in request["modules"]:
            try:
                loaded.append(importlib.import_module(m["name"]))
            except BaseException as e:  # noqa: BLE001 - every failure is reported per file
                tb = traceback.extract_tb(e.__traceback__)
                line = None
                target = os.path.join(root, m["rel"])
                for frame in tb:
                    if os.path.abspath(frame.filename) == os.path.abspath(target):
                        line = frame.lineno
                last = traceback.format_exception_only(type(e), e)
                frames = traceback.format_list(tb[-2:])
                errors.append({
                    "rel": m["rel"],
                    "line": line,
                    "message": "".join(last).strip(),
                    "traceback": "".join(frames).rstrip(),
                })
        from sqlalchemy.engine import default
        dialect = default.DefaultDialect()
        where = sources(loaded, root)
        tables = []
        for md in metadatas(loaded):
            for table in md.sorted_tables:
                file, line = where.get(table.key, (None, None))
                try:
                    spec = table_json(table, dialect)
                except ValueError as e:  # a table that cannot be written as a schema
                    errors.append({"rel": file or "", "line": line, "message": str(e),
                                   "traceback": ""})
                    continue
                tables.append({"table": spec, "file": file, "line": line})
    json.dump({"tables": tables, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End to end: does the database sqlalembic migrates match the real models?

    e2e.py [PKG...] [--db sqlite|postgres ...] [--baseline FILE] [--write-baseline]
           [--backend NAME]

Per package and database, in a throwaway project (the extracted wheel plus a
sqlalembic.toml): `sqlalembic makemigrations init`, `sqlalembic migrate`, then
e2e_check.py in the package's venv runs Alembic's compare_metadata (what
`alembic check` runs, with compare_type) of the real models against that database:
any diff fails. Then `sqlalembic rollback base` must leave no table but sqlalembic's
own (alembic_version, sqlalembic_*).

SQLite uses a file in the project; PostgreSQL a fresh database per package on the
server of DATABASE_URL_POSTGRES (scripts/test-db), skipped without it. A database
missing from the manifest's e2e_databases is not applicable to that package. Failures are
reported; the exit code is 1 only when the baseline marks a failed run as required
(packages.<name>.e2e.<db> = true). --write-baseline records which runs pass now.
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402
from corpus import CACHE, HERE  # noqa: E402

DATABASES = ("sqlite", "postgres")
DEFAULT_BASELINE = HERE / "baseline.json"


def own_table(name):
    return name == "alembic_version" or name.startswith("sqlalembic_")


def pg():
    """psycopg2 from the folder `run` installs it into (e2e_check.py gets it too)."""
    if str(corpus.PG_DRIVER) not in sys.path:
        sys.path.append(str(corpus.PG_DRIVER))
    import psycopg2
    return psycopg2


def fresh_pg_database(pkg, suffix=""):
    """Drops and creates corpus_<name> on the test server; returns its URL.

    The schemas the models name are created up front, as a DBA would: neither
    Alembic nor sqlalembic creates schemas.
    """
    admin = os.environ["DATABASE_URL_POSTGRES"]
    name = "corpus_" + re.sub(r"\W", "_", pkg.name) + suffix
    conn = pg().connect(admin)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = urllib.parse.urlsplit(admin)._replace(path="/" + name).geturl()
    schemas = {t["schema"] for t in json.loads(pkg.truth_file.read_text())["tables"]
               if t["schema"]} if pkg.truth_file.exists() else set()
    if schemas:
        conn = pg().connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            for schema in sorted(schemas):
                cur.execute(f'CREATE SCHEMA "{schema}"')
        conn.close()
    return url


def leftover_tables(db, url, project):
    """User tables still in the database after `rollback base`."""
    if db == "sqlite":
        conn = sqlite3.connect(project / "corpus.db")
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE 'sqlite_%'").fetchall()
        conn.close()
        return sorted(r[0] for r in rows if not own_table(r[0]))
    conn = pg().connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
        rows = cur.fetchall()
    conn.close()
    return sorted(f"{s}.{t}" if s != "public" else t for s, t in rows if not own_table(t))


def tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


def run_one(pkg, db, backend):
    """(passed, failed step or None, detail text) for one package on one database."""
    if not pkg.src.is_dir():
        return False, "fetch", "the package is not fetched (tests/corpus/run fetch)"
    if not pkg.installed:
        return False, "venv", "the package's venv is missing (tests/corpus/run fetch)"
    project = corpus.make_project(pkg, CACHE / "e2e" / f"{pkg.ident}-{db}")
    extra_env = {"SQLALEMBIC_BACKENDS": backend} if backend else {}
    # The oracle: the same models created by SQLAlchemy's own create_all in a second
    # database, compared the same way. What Alembic reports there too is Alembic's
    # own noise on that database (SQLite has no time zones, a TypeDecorator it cannot
    # compare), not something sqlalembic migrated wrong.
    if db == "sqlite":
        tool_url = None
        sa_url = f"sqlite:///{project / 'corpus.db'}"
        oracle_url = f"sqlite:///{project / 'oracle.db'}"
    else:
        tool_url = sa_url = fresh_pg_database(pkg)
        oracle_url = fresh_pg_database(pkg, "_oracle")

    def tool(*args):
        extra = ["--database-url", tool_url] if tool_url else []
        return corpus.run_tool(pkg, project, *args, *extra, extra_env=extra_env)

    r = tool("makemigrations", "init")
    if r.returncode != 0:
        refused = [line for line in r.stderr.splitlines()
                   if line.startswith(("error: Model discovery failed", "error: No models found"))]
        if refused:  # the score already lists the diagnostics
            return False, "makemigrations", refused[-1][:300] + " (diagnostics: see the score)"
        return False, "makemigrations", tail(r.stderr)
    def check(url):
        env, cwd = corpus.sandbox(pkg)
        return subprocess.run(
            [str(pkg.python), str(HERE / "e2e_check.py")], capture_output=True, text=True,
            env=env, cwd=cwd,
            input=json.dumps({"spec": pkg.spec(), "url": url, "oracle_url": oracle_url,
                              "driver": str(corpus.PG_DRIVER)}))

    r = tool("migrate")
    if r.returncode != 0:
        # Models SQLAlchemy cannot create on this database either (a PostgreSQL-only
        # CHECK on SQLite) cannot be migrated there by anyone.
        c = check(None)
        error = c.returncode == 0 and json.loads(c.stdout).get("oracle_error")
        if error:
            return None, "n/a", ("SQLAlchemy's own create_all cannot create these models "
                                 f"on {db} either: {error}")
        return False, "migrate", tail(r.stderr)
    c = check(sa_url)
    if c.returncode != 0:
        return False, "check", tail(c.stderr)
    diffs = json.loads(c.stdout)["diffs"]
    if diffs:
        return False, "check", f"{len(diffs)} diff(s) between the models and the database:\n" \
            + "\n".join(f"  {d}" for d in diffs)
    r = tool("rollback", "base")
    if r.returncode != 0:
        return False, "rollback", tail(r.stderr)
    left = leftover_tables(db, sa_url, project)
    if left:
        return False, "rollback", f"tables left after rollback base: {', '.join(left)}"
    return True, None, ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("packages", nargs="*", metavar="PKG")
    ap.add_argument("--db", action="append", choices=DATABASES)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--write-baseline", action="store_true")
    ap.add_argument("--backend", help="discovery backend for sqlalembic (e.g. sqlalchemy-import "
                    "to check the harness itself)")
    args = ap.parse_intermixed_args(argv)
    if not corpus.BIN.exists():
        raise SystemExit(f"e2e: no sqlalembic binary at {corpus.BIN} (set SQLALEMBIC_BIN)")
    databases = args.db or list(DATABASES)
    results = {}
    for pkg in corpus.select(corpus.load_manifest(), args.packages):
        for db in databases:
            start = time.monotonic()
            if db not in pkg.e2e_databases:
                outcome = (None, "n/a", "")  # the manifest says the models cannot run there
            elif db == "postgres" and not os.environ.get("DATABASE_URL_POSTGRES"):
                outcome = (False, "skipped", "DATABASE_URL_POSTGRES is not set")
            else:
                try:
                    outcome = run_one(pkg, db, args.backend)
                except Exception as e:  # noqa: BLE001 - one broken run must not stop the rest
                    outcome = (False, "harness", f"{type(e).__name__}: {e}")
            passed, step, detail = outcome
            results.setdefault(pkg.name, {})[db] = {"passed": passed, "step": step,
                                                    "detail": detail}
            took = time.monotonic() - start
            print(f"== e2e {pkg.name} {db}: "
                  + {True: "ok", None: "not applicable (manifest e2e_databases)"}.get(
                      passed, f"FAILED at {step}") + f" ({took:.1f}s)")
            if detail:
                print("\n".join("    " + line for line in detail.splitlines()))
    print("\n== e2e summary (package: " + ", ".join(databases) + ")")
    for name, per_db in results.items():
        print(f"  {name}: " + ", ".join(
            {True: "ok", None: "n/a"}.get(per_db[db]["passed"], f"fail@{per_db[db]['step']}")
            for db in databases))
    (CACHE / "e2e.json").write_text(json.dumps(results, indent=1) + "\n")
    path = args.baseline or DEFAULT_BASELINE
    if args.write_baseline:
        doc = json.loads(path.read_text()) if path.exists() else {}
        for name, per_db in results.items():
            entry = doc.setdefault("packages", {}).setdefault(name, {"exact": 0})
            e2e = entry.setdefault("e2e", {})
            for db, r in per_db.items():
                e2e[db] = bool(r["passed"])
        path.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"e2e: wrote {path}")
        return 0
    if not args.baseline:
        return 0
    required = json.loads(path.read_text()).get("packages", {}) if path.exists() else {}
    failed = [f"{name} {db}" for name, per_db in results.items() for db, r in per_db.items()
              if r["passed"] is False and required.get(name, {}).get("e2e", {}).get(db)]
    for f in failed:
        print(f"e2e: {f} failed and the baseline requires it to pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the corpus harness: the manifest, the cache layout, the tool.

Stdlib only: this runs with the machine's python3, never inside a package's venv.
Everything downloaded or built lives in the cache folder (CACHE below), outside the
repository; only the manifest, the scripts, the truth JSON and the baseline are
committed.
"""

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TRUTH_DIR = HERE / "truth"
MANIFEST = HERE / "manifest.toml"
DEFAULT_SQLALCHEMY = "sqlalchemy==2.0.*"
INSTALL_MARKER = ".corpus-install.json"

CACHE = Path(os.environ.get("SQLALEMBIC_CORPUS_CACHE") or Path(
    os.environ.get("CARGO_TARGET_DIR") or "/var/tmp/sqlalembic-target") / "corpus").resolve()
# psycopg2 for the e2e runs on PostgreSQL: a folder appended to sys.path, so that
# no package's venv gets a driver it did not ask for.
PG_DRIVER = CACHE / "tools" / "pg-driver"
# absolute(): scripts/test passes a path relative to the repository root.
BIN = Path(os.environ.get("SQLALEMBIC_BIN")
           or "/var/tmp/sqlalembic-target/debug/sqlalembic").absolute()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Package:
    """One [[package]] of the manifest, with the cache paths that belong to it."""

    def __init__(self, raw):
        self.name = raw["name"]
        self.version = raw["version"]
        self.models = list(raw["models"])
        self.modules = list(raw["modules"])
        self.extra_pip = list(raw.get("extra_pip", []))
        self.sqlalchemy = raw.get("sqlalchemy", DEFAULT_SQLALCHEMY)
        self.setup = raw.get("setup", "")
        self.e2e_databases = list(raw.get("e2e_databases", ["sqlite", "postgres"]))
        self.note = raw.get("note", "")
        # Further [discovery] settings of the package's sqlalembic.toml.
        self.discovery = dict(raw.get("discovery", {}))

    @property
    def ident(self):
        return f"{self.name}-{self.version}"

    @property
    def src(self):
        return CACHE / "src" / self.ident

    @property
    def venv(self):
        return CACHE / "venvs" / self.ident

    @property
    def python(self):
        return self.venv / "bin" / "python"

    @property
    def installed(self):
        """The venv is complete (run's install step writes the marker last)."""
        return (self.venv / INSTALL_MARKER).exists()

    @property
    def truth_file(self):
        return TRUTH_DIR / f"{self.name}.json"

    def spec(self):
        """What truth_dump.py and e2e_check.py need to import the real models."""
        return {"name": self.name, "models": self.models, "modules": self.modules,
                "setup": self.setup}


def load_manifest():
    with open(MANIFEST, "rb") as f:
        return [Package(p) for p in tomllib.load(f)["package"]]


def select(packages, names):
    """The packages named on the command line (all when none), in manifest order."""
    if not names:
        return packages
    known = {p.name: p for p in packages}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown corpus package(s): {', '.join(unknown)} "
                         f"(known: {', '.join(known)})")
    return [p for p in packages if p.name in names]


def toml_str(value):
    # JSON string escapes are valid TOML basic-string escapes.
    import json
    return json.dumps(str(value))


def toml_value(value):
    """A string or a list of strings as TOML."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_str(v) for v in value) + "]"
    return toml_str(value)


def make_project(pkg, folder):
    """A throwaway sqlalembic project: the extracted wheel plus a sqlalembic.toml.

    The tree is hard-linked (`cp -al`), not symlinked: sqlalembic's walker does not
    follow symlinks, and hard links make the copy instant. Nothing in the flow
    writes to the package's own files, so the cache's copy stays pristine.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(pkg.src), str(folder)], check=True)
    paths = ", ".join(toml_str(m.rstrip("/")) for m in pkg.models)
    # A folder name no wheel has at its root, for the e2e revisions.
    (folder / "corpus-migrations" / "versions").mkdir(parents=True)
    (folder / "sqlalembic.toml").write_text(
        "# Written by tests/corpus: discovery over one corpus package.\n"
        "[general]\n"
        f"PROJECT_NAME = {toml_str(pkg.name)}\n"
        "[database]\n"
        'DATABASE_URL = "sqlite:///corpus.db"\n'
        "[migration]\n"
        'MIGRATION_DIR = "corpus-migrations"\n'
        "[discovery]\n"
        f"MODEL_DISCOVERY_PATHS = [{paths}]\n"
        f"PYTHON = {toml_str(pkg.python)}\n"
        + "".join(f"{key} = {toml_value(value)}\n" for key, value in pkg.discovery.items()))
    return folder


def sandbox(pkg):
    """(environment, folder) for a process that may run the package's code.

    Packages write at import time (~/airflow, ~/.aiida, ~/.calibre-web, caches):
    with HOME and the working folder in the cache, that stays out of the user's home.
    """
    home = CACHE / "home" / pkg.ident
    home.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, HOME=str(home)), home


def run_tool(pkg, project, *args, extra_env=None, timeout=900):
    """Runs sqlalembic in `project`; returns the CompletedProcess (never raises on exit≠0)."""
    env, cwd = sandbox(pkg)
    env.update(extra_env or {})
    return subprocess.run([str(BIN), "-C", str(project), *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class Timer:
    """Prints how long a step took: the warm run is meant to stay fast."""

    def __init__(self, label):
        self.label = label

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        log(f"corpus: {self.label}: {time.monotonic() - self.start:.1f}s")

"""Times the sqlalembic binary with and without plugins (see `run` beside this file).

Every project is a fresh temporary folder with its own compiled-component cache;
plugins are compiled once with `plugins install` before timing, so the rows measure
a cached run, never a compile. Reported: median and 90th percentile wall time of
whole processes, and the difference to the run without plugins.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def clean_env():
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env["NO_COLOR"] = "1"
    return env


def run(binary, project, args, check=True):
    started = time.perf_counter()
    done = subprocess.run(
        [binary, *args], cwd=project, env=clean_env(), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if check and done.returncode != 0:
        raise SystemExit(f"`{' '.join(args)}` failed in {project}:\n{done.stdout}{done.stderr}")
    return elapsed


def project(root, name, plugin=None, memory_mb=32, signals=None, mode=None):
    p = Path(root) / name
    (p / "migrations" / "versions").mkdir(parents=True)
    text = ""
    if plugin:
        text = (
            f'[[plugins]]\nname = "{name}"\npath = "{plugin}"\n'
            f'memory_mb = {memory_mb}\ntimeout_ms = 5000\nallow = {{ write = ["logs"] }}\n'
        )
        if signals:
            text += f"signals = {json.dumps(signals)}\n"
        if mode:
            text += f'settings = {{ mode = "{mode}" }}\n'
    (p / "sqlalembic.toml").write_text(text)
    return p


def revisions(p, count):
    parent = None
    for i in range(count):
        rev = f"{i + 1:012x}"
        down = f'down_revision = "{parent}"\n' if parent else ""
        (p / "migrations" / "versions" / f"{rev}_step.toml").write_text(
            f'revision = "{rev}"\n{down}message = "step {i}"\n\n'
            f'[[upgrade]]\nop = "sql"\nsql = "SELECT {i}"\n\n'
            f'[[downgrade]]\nop = "sql"\nsql = "SELECT {i}"\n'
        )
        parent = rev


def stats(samples):
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.9))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rust", required=True, help="folder with the built Rust plugins")
    ap.add_argument("--python")
    ap.add_argument("--js")
    ap.add_argument("--profile", default="release")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--revisions", type=int, default=400)
    a = ap.parse_args()
    binary = str(Path(a.binary).resolve())
    root = tempfile.mkdtemp(prefix="sqlalembic-bench-")
    try:
        rows = [("no plugins", project(root, "none"))]
        rows.append(("Rust audit (cached)", project(root, "rust", f"{a.rust}/audit.wasm")))
        if a.python:
            rows.append(("Python audit (cached)", project(root, "python", a.python)))
        if a.js:
            rows.append(("JavaScript audit (cached)", project(root, "js", a.js)))
        for _, p in rows[1:]:
            run(binary, p, ["plugins", "install", p.name])
        for _, p in rows:
            run(binary, p, ["current"])  # warm the file cache
        samples = {label: [] for label, _ in rows}
        for _ in range(a.runs):
            for label, p in rows:  # interleaved, so drift hits every row alike
                samples[label].append(run(binary, p, ["current"]))
        base, _ = stats(samples["no plugins"])
        print(f"sqlalembic current, {a.runs} runs each ({a.profile} build), median / p90:")
        for label, _ in rows:
            med, p90 = stats(samples[label])
            extra = "" if label == "no plugins" else f"   +{(med - base) * 1000:.2f} ms"
            print(f"  {label:<28} {med * 1000:8.2f} ms {p90 * 1000:8.2f} ms{extra}")

        # Dispatch: `migrate` over N revisions, each sending `revision_applied`.
        n = a.revisions
        base_p = project(root, "migrate-none")
        probe_p = project(root, "migrate-probe", f"{a.rust}/probe.wasm", mode="count")
        audit_p = project(root, "migrate-audit", f"{a.rust}/audit.wasm")
        for p in (base_p, probe_p, audit_p):
            revisions(p, n)
        for p in (probe_p, audit_p):
            run(binary, p, ["plugins", "install", p.name])
        # How many signals one run sends (the audit writes one line each).
        run(binary, audit_p, ["migrate"])
        sent = len((audit_p / "logs" / "audit.jsonl").read_text().splitlines())
        times = {p: [] for p in (base_p, probe_p, audit_p)}
        for _ in range(max(5, a.runs // 4)):
            for p in times:
                db = p / "database.db"
                if db.exists():
                    db.unlink()
                if (p / "logs").exists():
                    shutil.rmtree(p / "logs")
                times[p].append(run(binary, p, ["migrate"]))
        base_m, _ = stats(times[base_p])
        print(f"\nsqlalembic migrate over {n} revisions ({sent} signals), median:")
        print(f"  no plugins                   {base_m * 1000:8.1f} ms")
        for label, p in (("probe (count, all signals)", probe_p), ("Rust audit (all signals)", audit_p)):
            med, _ = stats(times[p])
            per = (med - base_m) / sent * 1e6
            print(f"  {label:<28} {med * 1000:8.1f} ms   {per:6.1f} us per signal")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Scores `sqlalembic discover` against the truth of each corpus package.

    score.py [PKG...] [--min-exact 0.98] [--baseline FILE] [--write-baseline]
             [--backend NAME]

For each package: a throwaway project (the extracted wheel plus a sqlalembic.toml)
goes through `sqlalembic discover --format json`, and the tables it prints are
compared with tests/corpus/truth/<name>.json feature by feature. A table is exact
when every feature matches. A failed discovery (exit != 0) finds no table; its
diagnostics are grouped by cause, the most useful input for the evaluator work.

Each feature is a multiset of items per side (a column's type is the item
(table, column, type), a foreign key the whole constraint); recall is the share of
the truth's items found, precision the share of the found items that are true.
Only what is truly equivalent is normalized: order of constraints and indexes,
whitespace in SQL text, the case of ON DELETE/UPDATE actions, and a `unique=True`
column, which discover reports as the column's flag where SQLAlchemy holds an
unnamed single-column unique constraint.

Writes CACHE/score.json. Gates (exit 1): --min-exact (share of exact tables), and
--baseline (any package whose exact-table count fell below its baseline number).
"""

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402
from corpus import CACHE, log  # noqa: E402

DEFAULT_BASELINE = corpus.HERE / "baseline.json"
FEATURES = ["tables", "columns", "column type", "nullable", "primary key", "server_default",
            "column comment", "table comment", "foreign keys", "indexes",
            "unique constraints", "check constraints"]
# Features whose items belong to one column: their mismatches print per column.
COLUMN_FEATURES = {"column type", "nullable", "server_default", "column comment"}


def sql(text):
    return None if text is None else " ".join(str(text).split())


def quote(value):
    return "'" + str(value).replace("'", "''") + "'"


def truth_default(col):
    """The truth's server default in discover's spelling: a plain string is a quoted
    literal there (as in sqlalembic's import backend)."""
    if col["server_default"] is None:
        return None
    if col["server_default_kind"] == "string":
        return quote(col["server_default"])
    return sql(col["server_default"])


def action(value):
    return None if value is None else value.upper()


def items(table, side):
    """{feature: Counter of items} for one table; `side` is "truth" or "found"."""
    cols = table["columns"]
    out = {f: Counter() for f in FEATURES[1:]}
    for c in cols:
        n = c["name"]
        out["columns"][n] += 1
        out["column type"][(n, c["type"])] += 1
        out["nullable"][(n, bool(c["nullable"]))] += 1
        default = truth_default(c) if side == "truth" else sql(c["server_default"])
        if default is not None:
            out["server_default"][(n, default)] += 1
        if c["comment"] is not None:
            out["column comment"][(n, c["comment"])] += 1
    if table.get("comment") is not None:
        out["table comment"][table["comment"]] += 1
    pk = table.get("primary_key") or {}
    if pk.get("columns"):
        out["primary key"][(pk.get("name"), tuple(pk["columns"]))] += 1
    for fk in table["foreign_keys"]:
        out["foreign keys"][(fk["name"], tuple(fk["columns"]), fk["referred_schema"],
                             fk["referred_table"], tuple(fk["referred_columns"]),
                             action(fk["ondelete"]), action(fk["onupdate"]),
                             bool(fk.get("deferrable")),
                             (fk.get("initially") or "IMMEDIATE").upper())] += 1
    for ix in table["indexes"]:
        out["indexes"][(ix["name"], tuple(sql(c) for c in ix["columns"]),
                        bool(ix["unique"]), tuple(sorted(ix.get("dialects") or ())))] += 1
    uniques = [(u["name"], tuple(u["columns"])) for u in table["unique_constraints"]]
    if side == "found":
        # discover flags a unique=True column instead of listing its constraint.
        covered = {c for _, c in uniques}
        uniques += [(None, (c["name"],)) for c in cols
                    if c.get("unique") and (c["name"],) not in covered]
    for u in uniques:
        out["unique constraints"][u] += 1
    for ck in table["check_constraints"]:
        out["check constraints"][(ck["name"], sql(ck["sqltext"]))] += 1
    return out


def key(table):
    return (table.get("schema"), table["name"])


def label(k):
    return ".".join(p for p in k if p)


CAUSE = re.compile(r"`[^`]*`")


def causes(diagnostics):
    """Diagnostics grouped by code and message with the `names` blanked out, most
    frequent first (warnings too: a discovery that succeeds may still have some)."""
    groups = {}
    for d in diagnostics:
        severity = "" if d.get("severity") == "error" else f" ({d.get('severity')})"
        cause = f"{d.get('code', '?')}{severity} " + CAUSE.sub("`…`", d.get("message", ""))
        g = groups.setdefault(cause, {"cause": cause, "count": 0, "examples": []})
        g["count"] += 1
        example = f"{d.get('path')}:{d.get('line')}: {d.get('message')}"[:300]
        if len(g["examples"]) < 3 and example not in g["examples"]:
            g["examples"].append(example)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["cause"]))


def harness_failure(message):
    return -1, [], [{"severity": "error", "code": "HARNESS", "message": message}]


def discover(pkg, backend):
    """Runs discover on a fresh throwaway project; (exit code, tables, diagnostics)."""
    if not pkg.src.is_dir():
        return harness_failure(f"not fetched: run `tests/corpus/run fetch {pkg.name}`")
    project = corpus.make_project(pkg, CACHE / "projects" / pkg.ident)
    args = ["--format", "json", "discover", "--no-cache"]
    if backend:
        args += ["--backend", backend]
    try:
        r = corpus.run_tool(pkg, project, *args)
    except subprocess.TimeoutExpired as e:
        return harness_failure(f"discover timed out after {e.timeout}s")
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = {"diagnostics": [{"severity": "error", "code": "HARNESS",
                                "message": f"discover printed no JSON: {r.stderr.strip()[-500:]}"}]}
    tables = doc.get("tables", []) if r.returncode == 0 else []
    diagnostics = doc.get("diagnostics", [])
    if r.returncode != 0 and not diagnostics:
        diagnostics = [{"severity": "error", "code": "EXIT",
                        "message": doc.get("error") or r.stderr.strip()[-500:]}]
    return r.returncode, tables, diagnostics


def mismatches(tk, want, got):
    """Readable (table, feature, expected, got) lines for one matched table."""
    out = []
    for f in FEATURES[1:]:
        missing, extra = want[f] - got[f], got[f] - want[f]
        if not missing and not extra:
            continue
        if f in COLUMN_FEATURES:
            exp = dict(missing)
            act = dict(extra)
            for col in sorted(set(exp) | set(act)):
                out.append((f"{label(tk)}.{col}", f, exp.get(col), act.get(col)))
        else:
            out.append((label(tk), f, sorted(missing.elements(), key=str) or None,
                        sorted(extra.elements(), key=str) or None))
    return out


def score_package(pkg, backend):
    truth = json.loads(pkg.truth_file.read_text())["tables"]
    code, found, diagnostics = discover(pkg, backend)
    want = {key(t): items(t, "truth") for t in truth}
    got = {key(t): items(t, "found") for t in found}
    twice = [label(k) + " (twice)" for k, n in Counter(key(t) for t in found).items() if n > 1]
    tally = {f: [0, 0, 0] for f in FEATURES}  # [true positives, truth items, found items]
    tally["tables"] = [len(want.keys() & got.keys()), len(want), len(found)]
    for f in FEATURES[1:]:
        for side, tables in ((1, want), (2, got)):
            tally[f][side] = sum(sum(t[f].values()) for t in tables.values())
        tally[f][0] = sum(sum((want[k][f] & got[k][f]).values()) for k in want.keys() & got.keys())
    exact, problems = [], []
    for k in sorted(want.keys() & got.keys(), key=str):
        lines = mismatches(k, want[k], got[k])
        if lines:
            problems.extend(lines)
        else:
            exact.append(label(k))
    return {
        "truth": len(want), "found": len(found), "exact": len(exact),
        "exit_code": code,
        "missing": [label(k) for k in sorted(want.keys() - got.keys(), key=str)],
        "extra": [label(k) for k in sorted(got.keys() - want.keys(), key=str)] + twice,
        "mismatches": [dict(zip(("table", "feature", "expected", "got"), m, strict=True))
                       for m in problems],
        "causes": causes(diagnostics),
        "diagnostics": diagnostics,
        "tally": tally,
    }


def show(value):
    return json.dumps(value, default=str) if not isinstance(value, str) else value


def report(name, r):
    print(f"== {name}: tables truth/found/exact = {r['truth']}/{r['found']}/{r['exact']}"
          + (f"  (discover exit {r['exit_code']})" if r["exit_code"] else ""))
    for c in r["causes"]:
        print(f"  cause x{c['count']}: {c['cause']}")
        for e in c["examples"]:
            print(f"      e.g. {e}")
    if r["missing"]:
        print(f"  missing tables ({len(r['missing'])}): {', '.join(r['missing'])}")
    if r["extra"]:
        print(f"  extra tables ({len(r['extra'])}): {', '.join(r['extra'])}")
    for m in r["mismatches"]:
        print(f"  {m['table']}  {m['feature']}: "
              f"expected {show(m['expected'])}, got {show(m['got'])}")


def totals(results):
    tally = {f: [0, 0, 0] for f in FEATURES}
    for r in results.values():
        for f in FEATURES:
            tally[f] = [a + b for a, b in zip(tally[f], r["tally"][f], strict=True)]
    truth = sum(r["truth"] for r in results.values())
    exact = sum(r["exact"] for r in results.values())
    features = {f: {"recall": tp / n if n else None, "precision": tp / m if m else None,
                    "truth": n, "found": m, "matched": tp}
                for f, (tp, n, m) in tally.items()}
    return {"tables": truth, "exact": exact, "exact_share": exact / truth if truth else 0.0,
            "features": features}


def pct(x):
    return "   -  " if x is None else f"{100 * x:5.1f}%"


def baseline_gate(path, results):
    """Names the packages whose exact count fell below the baseline (the ratchet)."""
    if not path.exists():
        log(f"score: baseline {path} does not exist")
        return ["(missing baseline)"]
    packages = json.loads(path.read_text()).get("packages", {})
    failed = []
    for name, r in results.items():
        want = packages.get(name, {}).get("exact")
        if want is None:
            continue
        if r["exact"] < want:
            failed.append(name)
            print(f"score: {name}: {r['exact']} exact table(s), below the baseline's {want}")
        elif r["exact"] > want:
            print(f"score: {name}: {r['exact']} exact table(s), above the baseline's {want}: "
                  "raise it with --write-baseline")
    return failed


def write_baseline(path, results):
    doc = json.loads(path.read_text()) if path.exists() else {}
    packages = doc.setdefault("packages", {})
    for name, r in results.items():
        entry = packages.setdefault(name, {})
        entry["exact"] = r["exact"]
        entry.setdefault("e2e", {"sqlite": False, "postgres": False})
    path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"score: wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("packages", nargs="*", metavar="PKG")
    ap.add_argument("--min-exact", type=float)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--write-baseline", action="store_true")
    ap.add_argument("--backend", help="a discover backend other than the configured static "
                    "one, e.g. sqlalchemy-import to check the harness itself")
    args = ap.parse_intermixed_args(argv)
    if not corpus.BIN.exists():
        raise SystemExit(f"score: no sqlalembic binary at {corpus.BIN} (set SQLALEMBIC_BIN)")
    results = {}
    for pkg in corpus.select(corpus.load_manifest(), args.packages):
        if not pkg.truth_file.exists():
            print(f"== {pkg.name}: no truth ({pkg.truth_file.name}); run `tests/corpus/run truth "
                  f"{pkg.name}`")
            continue
        results[pkg.name] = score_package(pkg, args.backend)
        report(pkg.name, results[pkg.name])
    t = totals(results)
    print(f"\n== corpus: {t['exact']}/{t['tables']} tables exact ({pct(t['exact_share']).strip()})")
    print(f"  {'feature':<20} {'recall':>7} {'precision':>9}   matched/truth/found")
    for f, v in t["features"].items():
        print(f"  {f:<20} {pct(v['recall']):>7} {pct(v['precision']):>9}   "
              f"{v['matched']}/{v['truth']}/{v['found']}")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "score.json").write_text(json.dumps({"packages": results, "totals": t},
                                                 indent=1, default=str) + "\n")
    print(f"score: details in {CACHE / 'score.json'}")
    failed = False
    if args.min_exact is not None and t["exact_share"] < args.min_exact:
        print(f"score: {pct(t['exact_share']).strip()} exact is below --min-exact {args.min_exact}")
        failed = True
    if args.write_baseline:
        write_baseline(args.baseline or DEFAULT_BASELINE, results)
    elif args.baseline and baseline_gate(args.baseline, results):
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

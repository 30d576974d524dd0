"""Cost model: time and peak memory of one request at the limit of each dimension of its shape.

The contract (README "Cost model"): any body within the seed's limits -- 20 MB and 250,000
records -- gets its answer (a report or a typed error) in at most a few seconds and 1.5 GB on
the reference machine, whatever its shape and options. Each row below builds the worst body of
one dimension in a fresh process, warms the JIT on a tiny report, then times
``handle_request`` on the body and reads the process's peak resident memory (VmHWM, which
includes the body itself).

    python benchmarks/cost_model.py                 # every row
    python benchmarks/cost_model.py --only fields   # rows of one dimension
    python benchmarks/cost_model.py --list

Adding a row: write a builder ``def _body_xxx() -> object`` (a dict, or JSON text when the text
itself matters) and append ``Row(dimension, label, "_body_xxx", expected_status)`` to ``ROWS``.
Results go to benchmarks/results/cost_model.json and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "cost_model.json"
BODY_LIMIT = 20 * 2**20
TIME_LIMIT_S = 5.0
MEMORY_LIMIT_MB = 1500.0


@dataclass
class Row:
    dimension: str
    label: str
    builder: str
    expected_status: int


# -- bodies (run inside the child process) ------------------------------------------------------
def _rng(seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed)


def _body_distinct_fields_250k() -> object:
    # Every record carries a field name of its own (the 16,000-record body, at 250k).
    return json.dumps({"data": [{"id": str(i), f"k{i}": 1.0} for i in range(250_000)]})


def _body_widest_numeric() -> object:
    # 128 numeric fields (the model-column cap) on as many records as fit in 20 MB.
    rng = _rng()
    centres = rng.normal(0.0, 3.0, size=(6, 128))
    values = (centres[rng.integers(0, 6, 10_000)] + rng.normal(size=(10_000, 128))).round(2)
    names = [f"f{j}" for j in range(128)]
    return json.dumps({"data": [dict(zip(names, row)) for row in values.tolist()]}, separators=(",", ":"))


def _body_wide_one_hot_refused() -> object:
    # max_categories 10000 on a 3,000-level field (9,000 records): 3,001 columns, over the cap.
    rows = [{"x": float(i % 7), "c": f"L{i % 3000}"} for i in range(9_000)]
    return {"data": rows, "options": {"max_categories": 10_000}}


def _body_levels_at_column_cap() -> object:
    # 127 levels + 1 numeric = 128 columns (the column cap) on 20,000 records: the whole k
    # search runs on every record (SEARCH_MAX_N).
    rng = _rng()
    n = 20_000
    levels = rng.integers(0, 127, size=n)
    x = rng.normal(size=n).round(3)
    return {"data": [{"x": float(v), "c": f"L{c}"} for v, c in zip(x.tolist(), levels.tolist())],
            "options": {"max_categories": 10_000}}


def _body_levels_at_cell_cap() -> object:
    # 128 columns on the most records the cell cap allows (97,656).
    rng = _rng()
    n = 97_000
    levels = rng.integers(0, 127, size=n)
    x = rng.normal(size=n).round(3)
    return {"data": [{"x": float(v), "c": f"L{c}"} for v, c in zip(x.tolist(), levels.tolist())],
            "options": {"max_categories": 10_000}}


def _body_levels_250k() -> object:
    # At 250,000 records the cap is 50 columns: a 49-level field + 1 numeric.
    rng = _rng()
    n = 250_000
    levels = rng.integers(0, 49, size=n)
    x = rng.normal(size=n).round(2)
    return {"data": [{"x": float(v), "c": f"L{c}"} for v, c in zip(x.tolist(), levels.tolist())],
            "options": {"max_categories": 50}}


def _body_long_string_100k() -> object:
    rng = _rng()
    rows = [{"x": float(v), "note": "n"} for v in rng.normal(size=100_000).round(3).tolist()]
    rows[17]["note"] = "z" * 1_000_000
    return json.dumps({"data": rows})


def _body_long_string_excluded() -> object:
    rng = _rng()
    rows = [{"x": float(v), "y": float(w), "note": f"v{i % 3}"}
            for i, (v, w) in enumerate(rng.normal(size=(20_000, 2)).round(3).tolist())]
    rows[5]["note"] = "q" * 10_000_000
    return {"data": rows, "options": {"exclude": ["note"]}}


def _body_distinct_strings_250k() -> object:
    # A 60-character text of its own in every record (too many levels: profiled, not used).
    rng = _rng()
    x = rng.normal(size=250_000).round(2).tolist()
    return json.dumps({"data": [{"x": v, "t": f"{i:060d}"} for i, v in enumerate(x)]})


def _body_option_keys_1m() -> object:
    rows = [{"x": float(i % 5), "y": float(i % 3)} for i in range(20)]
    return json.dumps({"data": rows, "options": {f"kmax{i}": 1 for i in range(1_000_000)}})


def _body_top_level_keys_1m() -> object:
    rows = [{"x": float(i % 5), "y": float(i % 3)} for i in range(20)]
    body = {f"extra{i}": 1 for i in range(1_000_000)}
    body["data"] = rows
    return json.dumps(body)


def _body_20mb_numeric() -> object:
    # 250,000 records x 6 short numeric fields: about 20 MB of JSON.
    rng = _rng()
    values = rng.normal(size=(250_000, 6)).round(2).tolist()
    return json.dumps({"data": [dict(zip("abcdef", row)) for row in values]}, separators=(",", ":"))


def _body_20mb_times() -> object:
    # Colons inside strings: the duplicate-key check cannot prove "no duplicate" by counting
    # and parses the text a second time.
    rng = _rng()
    values = rng.normal(size=(250_000, 3)).round(2).tolist()
    return json.dumps({"data": [{"a": a, "b": b, "c": c, "t": f"{i % 24:02d}:{i % 60:02d}"}
                                for i, (a, b, c) in enumerate(values)]}, separators=(",", ":"))


ROWS = [
    Row("fields", "250,000 records, each with a field name of its own", "_body_distinct_fields_250k", 422),
    Row("fields", "10,000 records x 128 numeric fields (model-column cap)", "_body_widest_numeric", 200),
    Row("levels", "9,000 records, 3,000 levels, max_categories 10000", "_body_wide_one_hot_refused", 422),
    Row("levels", "20,000 records, 127 levels + 1 numeric (128 columns)", "_body_levels_at_column_cap", 200),
    Row("levels", "97,000 records, 127 levels + 1 numeric (cell cap)", "_body_levels_at_cell_cap", 200),
    Row("levels", "250,000 records, 49 levels + 1 numeric (50 columns)", "_body_levels_250k", 200),
    Row("string length", "100,000 records, one 1,000,000-character value", "_body_long_string_100k", 200),
    Row("string length", "20,000 records, one 10,000,000-character value, field excluded",
        "_body_long_string_excluded", 200),
    Row("string length", "250,000 records, a distinct 60-character text each", "_body_distinct_strings_250k", 200),
    Row("option keys", "1,000,000 unknown option keys (17 MB)", "_body_option_keys_1m", 422),
    Row("option keys", "1,000,000 unknown top-level keys (18 MB)", "_body_top_level_keys_1m", 422),
    Row("body size", "20 MB: 250,000 records x 6 numeric fields", "_body_20mb_numeric", 200),
    Row("body size", "20 MB with times in strings (second parse for duplicates)", "_body_20mb_times", 200),
]

_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {here!r})
import cost_model
import segengine as se

def hwm():
    line = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]
    return int(line.split()[1]) / 1024

se.handle_request({{"data": [{{"x": float(i % 5), "y": float(i % 3)}} for i in range(300)]}})
body = getattr(cost_model, {builder!r})()
size = len(body.encode()) if isinstance(body, str) else len(json.dumps(body))
before = hwm()
t, c = time.perf_counter(), time.process_time()
status, out = se.handle_request(body)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({{"status": status, "seconds": seconds, "cpu_seconds": cpu, "peak_mb": hwm(), "before_mb": before,
                  "body_mb": size / 2**20, "n_segments": (out.get("summary") or {{}}).get("n_segments"),
                  "error": out.get("message") if status != 200 else None}}))
"""


def run_row(row: Row) -> dict:
    """Run one row in a fresh process; return its measurements."""
    code = _CHILD.format(root=str(ROOT), here=str(HERE), builder=row.builder)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if proc.returncode != 0:
        return {**asdict(row), "status": None, "failure": proc.stderr[-1500:]}
    return {**asdict(row), **json.loads(proc.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run the rows of this dimension only")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args(argv)
    rows = [r for r in ROWS if args.only is None or r.dimension == args.only]
    if args.list:
        for r in rows:
            print(f"{r.dimension:15} {r.label}")
        return 0
    results, ok = [], True
    print("| dimension | body | status | body MB | time s | CPU s | peak MB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        rec = run_row(row)
        results.append(rec)
        # CPU time: on a shared machine wall time measures the neighbours as much as the work.
        good = (rec.get("status") == row.expected_status and rec.get("body_mb", 0) <= BODY_LIMIT / 2**20
                and rec.get("cpu_seconds", 1e9) <= TIME_LIMIT_S and rec.get("peak_mb", 1e9) <= MEMORY_LIMIT_MB)
        ok &= good
        if rec.get("status") is None:
            print(f"| {row.dimension} | {row.label} | crashed | | | | |  {rec['failure'][-200:]!r}")
            continue
        print(f"| {row.dimension} | {row.label} | {rec['status']} | {rec['body_mb']:.1f} | "
              f"{rec['seconds']:.2f} | {rec['cpu_seconds']:.2f} | {rec['peak_mb']:.0f} |"
              f"{'' if good else '  <-- over the model'}",
              flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged = {(r["dimension"], r["label"]): r for r in previous.get("rows", [])}
    merged.update({(r["dimension"], r["label"]): r for r in results})
    RESULTS.write_text(json.dumps({"rows": list(merged.values())}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

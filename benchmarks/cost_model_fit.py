"""Cost model rows for k, algorithm and time budget (issue 16, items 7 and 8).

Every row runs one request at a limit of these dimensions in a fresh process and records the
wall time of ``handle_request`` (records already built) and the peak RSS of the process
(VmHWM), with the status and the bounded-work warnings the report gave:

* ``k_max`` 1000 on 1,000 records x 3 fields (the search range is bounded by
  ``budget.search_k_cap``);
* ``n_clusters`` at ``budget.k_cap`` and above it (a 422) for KMeans and every covariance type
  of the mixture, on 3,000 records x 40 fields, on 250,000 x 3, and on 1,000 x 3 (where the
  records, not the cap, bound k: ``n_clusters`` = 999);
* ``silhouette: "exact"`` at 250,000 x 3 without a budget (the server-side default applies) and
  with ``time_budget_ms`` 100 and 1;
* the default report at 250,000 x 3 (no option) for reference.

Usage::

    python benchmarks/cost_model_fit.py            # all rows (several minutes on 2 cores)
    python benchmarks/cost_model_fit.py --quick    # the rows on small inputs only

Figures go to stdout as a Markdown table (the README's "Cost model: k, algorithm and time
budget" subsection was filled from it). Absolute times move with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
import numpy as np
import segengine as se

def hwm():
    line = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]
    return int(line.split()[1]) / 1024

n, d, options = json.loads(sys.argv[1])
se.handle_request({"data": [{"a": float(i % 7), "b": float(i % 5)} for i in range(50)]})  # warm JIT
rng = np.random.default_rng(0)
X = rng.normal(size=(n, d))
X[:, 0] += rng.integers(0, 5, n) * 3.0
records = [{f"f{j}": float(v) for j, v in enumerate(row)} for row in X]
del X
t = time.perf_counter()
status, body = se.handle_request({"data": records, "options": options, "include_metadata": True})
elapsed = time.perf_counter() - t
warnings = body.get("metadata", {}).get("warnings", []) if status == 200 else list(body.get("details", {}).values())
keep = [w for w in warnings if "budget" in w or "bound" in w or "at most" in w or "lowered" in w]
print(json.dumps({"status": status, "seconds": elapsed, "peak_mb": hwm(),
                  "segments": body.get("summary", {}).get("n_segments"), "warnings": keep}))
"""

sys.path.insert(0, str(ROOT))
from segengine.budget import k_cap  # noqa: E402

CAP_SMALL = k_cap(3000, 40, 40)    # 3,000 records x 40 fields
CAP_LARGE = k_cap(250_000, 3, 3)   # 250,000 records x 3 fields
COVARIANCES = ("full", "diag", "tied", "spherical")

QUICK = [
    ("k_max 1000, 1,000 x 3", 1000, 3, {"k_max": 1000}),
    ("n_clusters 999 (n - 1), kmeans, 1,000 x 3", 1000, 3, {"n_clusters": 999, "algorithm": "kmeans"}),
    *[(f"n_clusters 999, gmm {c}, 1,000 x 3", 1000, 3,
       {"n_clusters": 999, "algorithm": "gmm", "covariance_type": c}) for c in COVARIANCES],
    (f"n_clusters {CAP_SMALL} (cap), kmeans, 3,000 x 40", 3000, 40, {"n_clusters": CAP_SMALL, "algorithm": "kmeans"}),
    *[(f"n_clusters {CAP_SMALL} (cap), gmm {c}, 3,000 x 40", 3000, 40,
       {"n_clusters": CAP_SMALL, "algorithm": "gmm", "covariance_type": c}) for c in COVARIANCES],
    ("n_clusters 1000 (above cap), gmm diag, 3,000 x 40", 3000, 40,
     {"n_clusters": 1000, "algorithm": "gmm", "covariance_type": "diag"}),
]
FULL = QUICK + [
    (f"n_clusters {CAP_LARGE} (cap), kmeans, 250,000 x 3", 250_000, 3,
     {"n_clusters": CAP_LARGE, "algorithm": "kmeans"}),
    *[(f"n_clusters {CAP_LARGE} (cap), gmm {c}, 250,000 x 3", 250_000, 3,
       {"n_clusters": CAP_LARGE, "algorithm": "gmm", "covariance_type": c}) for c in COVARIANCES],
    ("default options, 250,000 x 3", 250_000, 3, {}),
    ("silhouette exact, no budget, 250,000 x 3", 250_000, 3, {"silhouette": "exact"}),
    ("silhouette exact, time_budget_ms 100, 250,000 x 3", 250_000, 3, {"silhouette": "exact", "time_budget_ms": 100}),
    ("silhouette exact, time_budget_ms 1, 250,000 x 3", 250_000, 3, {"silhouette": "exact", "time_budget_ms": 1}),
]


def run_row(n: int, d: int, options: dict) -> dict:
    """Run one request in a fresh process; returns its status, time, peak RSS and warnings."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps([n, d, options])],
        check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs only")
    args = parser.parse_args(argv)
    print("| request | status | segments | time | peak RSS | what was bounded |")
    print("|---|---|---|---|---|---|")
    for label, n, d, options in (QUICK if args.quick else FULL):
        r = run_row(n, d, options)
        said = "; ".join(w.split(":")[0][:90] for w in r["warnings"]) or "-"
        print(f"| {label} | {r['status']} | {r['segments'] or '-'} | {r['seconds']:.2f} s "
              f"| {r['peak_mb']:.0f} MB | {said} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

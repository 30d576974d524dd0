"""KMeans benchmarks: segengine versus scikit-learn, measured side by side in one run.

Run with::

    pytest benchmarks/bench_kmeans.py -p no:cacheprovider -o python_files='bench_*.py' \
        --benchmark-only -s

or ``python benchmarks/bench_kmeans.py [--quick]``.

Cases (each on overlapping blobs and on uniform data):

* ``sweep_10k``: 10,000 x 10, every k = 2..10 with n_init=1 -- one `kmeans_fit_many` call
  against a loop of ``sklearn.cluster.KMeans(n_init=1)`` fits (the pipeline's model search);
* ``single_200k``: 200,000 x 20, k = 8, n_init=1.

Each case runs twice: with the default thread pools of both libraries, and with one thread
each (numba and scikit-learn's OpenMP/BLAS), which compares the algorithms without the
scheduling stalls of a busy shared machine.

Both sides are timed interleaved in this process (the machine is shared, so load hits both
alike); the ratio is scikit-learn's median time over segengine's. Inertias are summed over
the sweep; each repeat uses its own seed (the same for both libraries) and the medians over
repeats are reported. Everything is printed and written to ``benchmarks/results/kmeans.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from segengine.engines.kmeans import kmeans_fit, kmeans_fit_many

RESULTS = Path(__file__).parent / "results" / "kmeans.json"
SWEEP_KS = tuple(range(2, 11))
SEED = 0


def _data(kind: str, n: int, d: int) -> np.ndarray:
    if kind == "blobs":
        # Eight centres with spreads that make neighbouring blobs overlap.
        X, _ = make_blobs(n, d, centers=8, cluster_std=[2.0, 3.0, 4.0, 2.5, 3.5, 3.0, 2.0, 4.5],
                          center_box=(-10.0, 10.0), random_state=SEED)
        return np.ascontiguousarray(X)
    return np.random.default_rng(SEED).random((n, d))


def _sweep_ours(X, seed=SEED):
    res = kmeans_fit_many(X, SWEEP_KS, n_init=1, random_state=seed)
    return sum(r.inertia for r in res.values())


def _sweep_sklearn(X, seed=SEED):
    return sum(SkKMeans(k, n_init=1, random_state=seed).fit(X).inertia_ for k in SWEEP_KS)


def _single_ours(X, seed=SEED):
    return kmeans_fit(X, 8, n_init=1, random_state=seed).inertia


def _single_sklearn(X, seed=SEED):
    return SkKMeans(8, n_init=1, random_state=seed).fit(X).inertia_


CASES = {
    "sweep_10k": (10_000, 10, _sweep_ours, _sweep_sklearn),
    "single_200k": (200_000, 20, _single_ours, _single_sklearn),
}


def measure(case: str, kind: str, repeats: int, one_thread: bool = False) -> dict:
    """Interleaved medians of both libraries on one case; returns the result record.

    ``one_thread`` pins numba to one thread and scikit-learn's OpenMP/BLAS pools to one
    thread: the comparison of the algorithms without the scheduling noise of a busy machine.
    """
    if one_thread:
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            with threadpool_limits(1):
                rec = measure(case, kind, repeats)
        finally:
            numba.set_num_threads(before)
        rec["threads"] = 1
        print("    (above: one thread each)")
        return rec
    n, d, ours, theirs = CASES[case]
    X = _data(kind, n, d)
    ours(X[:2000] if case == "sweep_10k" else X[:20_000])  # warm the JIT cache / compile
    t_ours, t_sk, i_ours, i_sk = [], [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(repeats):
            # A different seed per repeat (the same for both libraries): with n_init=1 one
            # seed is a lottery ticket, the median over seeds compares the methods.
            t0 = time.perf_counter()
            i_ours.append(ours(X, SEED + r))
            t1 = time.perf_counter()
            i_sk.append(theirs(X, SEED + r))
            t2 = time.perf_counter()
            t_ours.append(t1 - t0)
            t_sk.append(t2 - t1)
    inertia_ours = float(np.median(i_ours))
    inertia_sk = float(np.median(i_sk))
    rec = {
        "case": case,
        "data": kind,
        "shape": [n, d],
        "segengine_s": float(np.median(t_ours)),
        "sklearn_s": float(np.median(t_sk)),
        "ratio": float(np.median(t_sk) / np.median(t_ours)),
        "inertia_segengine": float(inertia_ours),
        "inertia_sklearn": float(inertia_sk),
        "inertia_rel_diff": float(inertia_ours / inertia_sk - 1.0),
        "inertias_segengine": [float(v) for v in i_ours],
        "inertias_sklearn": [float(v) for v in i_sk],
        "repeats": repeats,
        "threads": "default",
    }
    print(
        f"{case:12s} {kind:8s} segengine {rec['segengine_s'] * 1e3:8.1f} ms   sklearn "
        f"{rec['sklearn_s'] * 1e3:8.1f} ms   ratio {rec['ratio']:5.2f}x   inertia "
        f"{inertia_ours:.6g} vs {inertia_sk:.6g} ({rec['inertia_rel_diff']:+.3%})"
    )
    return rec


def _save(records: list[dict]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    old = {}
    if RESULTS.exists():
        try:
            old = {
                (r["case"], r["data"], r.get("threads")): r for r in json.loads(RESULTS.read_text())["results"]
            }
        except (ValueError, KeyError):
            old = {}
    for r in records:
        old[(r["case"], r["data"], r.get("threads"))] = r
    RESULTS.write_text(json.dumps({"results": list(old.values())}, indent=2))


# ---------------------------------------------------------------------------------------
# pytest-benchmark entry points
# ---------------------------------------------------------------------------------------

import pytest  # noqa: E402


@pytest.mark.parametrize("one_thread", [False, True], ids=["threads", "1thread"])
@pytest.mark.parametrize("kind", ["blobs", "uniform"])
@pytest.mark.parametrize("case, repeats", [("sweep_10k", 9), ("single_200k", 5)])
def test_kmeans_vs_sklearn(benchmark, case, kind, repeats, one_thread):
    rec = measure(case, kind, repeats, one_thread)
    _save([rec])
    n, d, ours, _ = CASES[case]
    X = _data(kind, n, d)
    benchmark.extra_info.update(rec)
    benchmark.pedantic(ours, args=(X,), rounds=max(1, repeats // 2), iterations=1)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    recs = [
        measure(case, kind, (3 if quick else reps), one)
        for case, reps in (("sweep_10k", 9), ("single_200k", 5))
        for kind in ("blobs", "uniform")
        for one in (False, True)
    ]
    _save(recs)

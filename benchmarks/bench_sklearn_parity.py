"""The drop-in estimators against scikit-learn's, dense and sparse, one thread each, same run.

Run with ``python benchmarks/bench_sklearn_parity.py [--quick]`` (PYTHONPATH at the checkout).

Each case times segengine's public estimator or function and scikit-learn's on the same data,
interleaved (the shared machine's load hits both alike), with numba, OpenMP and BLAS limited to
one thread: the algorithms are compared, not the thread pools. The ratio is scikit-learn's
median time over segengine's (above 1: segengine is faster). A first untimed call of each side
compiles the numba kernels. Results are printed and written to
``benchmarks/results/sklearn_parity.json``.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score as sk_silhouette_score
from sklearn.mixture import GaussianMixture as SkGMM
from threadpoolctl import threadpool_limits

RESULTS = Path(__file__).parent / "results" / "sklearn_parity.json"


def _blobs(n, d, k=8, seed=0):
    X, y = make_blobs(n, d, centers=k, cluster_std=2.5, center_box=(-10, 10), random_state=seed)
    return np.ascontiguousarray(X), y


def _sparse(n, d, density, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    # Some cluster structure: rows of a group share a few heavy columns.
    groups = rng.integers(0, 8, size=n)
    heavy = sp.csr_matrix((np.full(n, 3.0), (np.arange(n), groups * 7 % d)), shape=(n, d))
    return (X + heavy).tocsr(), groups


def cases(quick: bool):
    s = 4 if quick else 1
    Xk, _ = _blobs(100_000 // s, 20)
    Xs, gs = _sparse(40_000 // s, 2_000, 0.005)
    Xg, _ = _blobs(40_000 // s, 5, k=4)
    Xe, ye = _blobs(6_000 // s, 10)
    Xss, yss = _sparse(4_000 // s, 500, 0.01)
    return {
        "KMeans dense 100k x 20, k=8": (
            lambda m: m.KMeans(8, n_init=1, random_state=0).fit(Xk).inertia_,
            lambda: SkKMeans(8, n_init=1, random_state=0).fit(Xk).inertia_),
        "KMeans sparse CSR 40k x 2000 (0.5 %), k=8": (
            lambda m: m.KMeans(8, n_init=1, random_state=0).fit(Xs).inertia_,
            lambda: SkKMeans(8, n_init=1, random_state=0).fit(Xs).inertia_),
        "GaussianMixture full 40k x 5, k=4": (
            lambda m: m.GaussianMixture(4, random_state=0).fit(Xg).lower_bound_,
            lambda: SkGMM(4, random_state=0).fit(Xg).lower_bound_),
        "silhouette exact euclidean 6k x 10": (
            lambda m: m.silhouette_score(Xe, ye),
            lambda: sk_silhouette_score(Xe, ye)),
        "silhouette exact manhattan 6k x 10": (
            lambda m: m.silhouette_score(Xe, ye, metric="manhattan"),
            lambda: sk_silhouette_score(Xe, ye, metric="manhattan")),
        "silhouette exact cosine 6k x 10": (
            lambda m: m.silhouette_score(Xe, ye, metric="cosine"),
            lambda: sk_silhouette_score(Xe, ye, metric="cosine")),
        "silhouette exact euclidean, sparse CSR 4k x 500 (1 %)": (
            lambda m: m.silhouette_score(Xss, yss),
            lambda: sk_silhouette_score(Xss, yss)),
    }


class _Segengine:
    """The public drop-in names, imported like a user would."""

    def __init__(self) -> None:
        from segengine import GaussianMixture, KMeans, silhouette_score

        self.KMeans = KMeans
        self.GaussianMixture = GaussianMixture
        self.silhouette_score = silhouette_score


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(quick: bool = False) -> dict:
    warnings.simplefilter("ignore")
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return _run(quick)
    finally:
        numba.set_num_threads(threads)


def _run(quick: bool) -> dict:
    if quick:
        print("quick mode: every number of rows below is divided by 4")
    seg = _Segengine()
    repeats = 3 if quick else 5
    out = {}
    with threadpool_limits(1):
        for name, (ours, theirs) in cases(quick).items():
            try:
                a = ours(seg)  # compile / warm up
            except Exception as exc:  # an older segengine without this input kind
                out[name] = {"segengine": None, "error": f"{type(exc).__name__}: {exc}"[:120]}
                print(f"{name:58s} segengine: {out[name]['error']}")
                continue
            b = theirs()
            t_ours, t_theirs = [], []
            for _ in range(repeats):
                t_ours.append(_time(lambda: ours(seg)))
                t_theirs.append(_time(theirs))
            mo, mt = float(np.median(t_ours)), float(np.median(t_theirs))
            out[name] = {"segengine_s": mo, "sklearn_s": mt, "ratio": mt / mo,
                         "segengine_value": float(a), "sklearn_value": float(b)}
            print(f"{name:58s} segengine {mo * 1e3:9.1f} ms  scikit-learn {mt * 1e3:9.1f} ms  "
                  f"ratio {mt / mo:6.2f}x  (values {float(a):.6g} / {float(b):.6g})")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

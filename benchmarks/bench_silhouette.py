"""Silhouette benchmarks: segengine versus scikit-learn, measured side by side in one run.

Run with::

    pytest benchmarks/bench_silhouette.py -p no:cacheprovider -o python_files='bench_*.py' \
        --benchmark-only -s

Prints every ratio and writes them to ``benchmarks/results/silhouette.json``. The machine is
shared, so only the ratios (both sides timed in the same process, interleaved) are meaningful.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numba
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score as sk_silhouette_score

from segengine import config
from segengine.metrics import silhouette as sil
from segengine.metrics.silhouette import silhouette_sampled_multi, silhouette_score, silhouette_scores_multi

RESULTS = Path(__file__).parent / "results" / "silhouette.json"
_results: dict = {}

KS = list(range(2, 11))


def _record(key: str, value) -> None:
    # The machine is shared: keep the load next to each figure so that outliers can be read.
    if isinstance(value, dict):
        value = {**value, "load_average_1min": os.getloadavg()[0]}
    _results[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(_results, indent=2, sort_keys=True))


def _times(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _median_time(fn, repeat: int) -> float:
    return float(np.median(_times(fn, repeat)))


def _blobs(n: int, d: int, seed: int = 0) -> np.ndarray:
    X, _ = make_blobs(n, d, centers=6, cluster_std=1.5, random_state=seed)
    return X


def _kmeans_labelings(X: np.ndarray) -> np.ndarray:
    return np.array([KMeans(k, n_init=1, random_state=0).fit_predict(X) for k in KS])


@pytest.fixture(scope="module")
def data_10k():
    X = _blobs(10_000, 10)
    labs = _kmeans_labelings(X)
    # Warm the JIT (or load it from the cache) outside every measurement.
    silhouette_scores_multi(X[:200], labs[:, :200])
    silhouette_scores_multi(X[:200], labs[:, :200], max_cells=1)
    silhouette_sampled_multi(X[:200], labs[:, :200], sample_size=50)
    return X, labs


def test_silhouette_score_10k(benchmark, data_10k):
    X, labs = data_10k
    y = labs[4]  # k = 6
    ours = _median_time(lambda: silhouette_score(X, y), 5)
    theirs = _median_time(lambda: sk_silhouette_score(X, y), 3)
    assert silhouette_score(X, y) == pytest.approx(sk_silhouette_score(X, y), abs=1e-9)
    benchmark.pedantic(silhouette_score, args=(X, y), rounds=5, iterations=1)
    ratio = theirs / ours
    print(f"\nsilhouette_score 10k x 10: segengine {ours * 1e3:.1f} ms,"
          f" sklearn {theirs * 1e3:.1f} ms,"
          f" ratio {ratio:.1f}x")
    _record("score_10k", {"segengine_ms": ours * 1e3, "sklearn_ms": theirs * 1e3, "ratio": ratio})


def test_silhouette_multi_10k(benchmark, data_10k):
    X, labs = data_10k
    n_cells = int(sil._cells(labs, np.array(KS, dtype=np.int64), 10**9).max() + 1)
    ours = _median_time(lambda: silhouette_scores_multi(X, labs), 5)
    fallback = _median_time(lambda: silhouette_scores_multi(X, labs, max_cells=1), 3)
    theirs = _median_time(lambda: [sk_silhouette_score(X, lab) for lab in labs], 1)
    expected = np.array([sk_silhouette_score(X, lab) for lab in labs])
    np.testing.assert_allclose(silhouette_scores_multi(X, labs), expected, atol=1e-9)
    benchmark.pedantic(silhouette_scores_multi, args=(X, labs), rounds=3, iterations=1)
    ratio = theirs / ours
    print(f"\nsilhouette_scores_multi 10k x 10, 9 labelings ({n_cells} cells): segengine"
          f" {ours * 1e3:.1f} ms (fallback path {fallback * 1e3:.1f} ms), 9 sklearn calls"
          f" {theirs * 1e3:.1f} ms, ratio {ratio:.1f}x")
    _record("multi_10k", {"segengine_ms": ours * 1e3, "fallback_ms": fallback * 1e3,
                          "sklearn_ms": theirs * 1e3, "ratio": ratio, "n_cells": n_cells})


def test_silhouette_multi_scaling(benchmark):
    """Milliseconds of exact multi for 9 labelings against n: where it stops being cheap (auto threshold)."""
    table = {}
    for n in (2_000, 5_000, 10_000, 20_000, 40_000):
        X = _blobs(n, 10, seed=1)
        labs = _kmeans_labelings(X)
        silhouette_scores_multi(X[:200], labs[:, :200])
        n_cells = int(sil._cells(labs, np.array(KS, dtype=np.int64), 10**9).max() + 1)
        exact = np.array(_times(lambda: silhouette_scores_multi(X, labs), 5 if n <= 20_000 else 3))
        sampled = np.array(_times(lambda: silhouette_sampled_multi(X, labs, sample_size=2000,
                                                                     random_state=0), 3))
        ms, ms_min = float(np.median(exact)) * 1e3, float(exact.min()) * 1e3
        # CPU time of a one-thread run: what the work costs, whatever else runs on the box.
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            cpu = []
            for _ in range(3 if n <= 20_000 else 1):
                c0 = time.process_time()
                silhouette_scores_multi(X, labs)
                cpu.append(time.process_time() - c0)
        finally:
            numba.set_num_threads(before)
        cpu_ms = float(min(cpu)) * 1e3
        table[n] = {"exact_ms": ms, "exact_min_ms": ms_min, "one_thread_cpu_ms": cpu_ms,
                    "n_cells": n_cells, "sampled_2000_ms": float(np.median(sampled)) * 1e3}
        print(f"\nn={n:6d} ({n_cells:3d} cells): exact multi (9 labelings) median {ms:8.1f} ms,"
              f" min {ms_min:8.1f} ms, 1-thread CPU {cpu_ms:8.1f} ms;"
              f" sampled s=2000 {table[n]['sampled_2000_ms']:7.1f} ms")
    X = _blobs(2_000, 10, seed=1)
    labs = _kmeans_labelings(X)
    benchmark.pedantic(silhouette_scores_multi, args=(X, labs), rounds=3, iterations=1)
    cheap = [n for n, v in table.items() if v["exact_min_ms"] <= 60.0]
    print(f"largest n with exact multi <= 60 ms: {max(cheap) if cheap else None}"
          f" (config.SILHOUETTE_EXACT_MAX_N = {config.SILHOUETTE_EXACT_MAX_N})")
    _record("multi_scaling", {str(n): v for n, v in table.items()})


def test_silhouette_sampled_250k(benchmark, data_10k):
    X10, labs10 = data_10k
    # Agreement of the choice of k at 10k (same seed-for-seed as a production call).
    exact = silhouette_scores_multi(X10, labs10)
    agree = []
    for seed in range(5):
        means, _ = silhouette_sampled_multi(X10, labs10, sample_size=2000, random_state=seed)
        agree.append(bool(np.argmax(means) == np.argmax(exact)))

    X = _blobs(250_000, 20, seed=2)
    labs = np.array([KMeans(k, n_init=1, max_iter=20, random_state=0).fit_predict(X) for k in KS])
    silhouette_sampled_multi(X[:500], labs[:, :500], sample_size=50)
    ours = _median_time(
        lambda: silhouette_sampled_multi(X, labs, sample_size=2000, random_state=0), 3)
    means, errs = silhouette_sampled_multi(X, labs, sample_size=2000, random_state=0)
    benchmark.pedantic(silhouette_sampled_multi, args=(X, labs), kwargs={"sample_size": 2000},
                       rounds=2, iterations=1)
    # scikit-learn's own sampled estimate for a single k at the same sample size, as a yardstick.
    theirs_one = _median_time(lambda: sk_silhouette_score(X, labs[4], sample_size=2000,
                                                           random_state=0), 3)
    print(f"\nsilhouette_sampled_multi 250k x 20, 9 labelings, s=2000: {ours * 1e3:.1f} ms"
          f" (sklearn sample_size=2000, ONE labeling, both-sides sampling:"
          f" {theirs_one * 1e3:.1f} ms)")
    print(f"argmax agreement with exact at 10k over 5 seeds: {sum(agree)}/5;"
          f" 250k means {np.round(means, 4).tolist()} +- {np.round(errs, 4).tolist()}")
    _record("sampled_250k", {"segengine_ms": ours * 1e3,
                             "sklearn_one_labeling_ms": theirs_one * 1e3,
                             "argmax_agreement_10k": f"{sum(agree)}/5",
                             "means": means.tolist(), "stderrs": errs.tolist()})

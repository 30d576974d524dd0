"""select_k (k = 2..10) at 10k and 250k records, beside scikit-learn's loop at 10k.

Run with::

    pytest benchmarks/bench_selection.py -p no:cacheprovider -o python_files='bench_*.py' --benchmark-only

scikit-learn's loop is what a data scientist writes: KMeans(n_init=1) and silhouette_score for
every k (exact at 10k; at 250k its exact silhouette needs the n x n distances block by block and
takes minutes, so only segengine is timed there).
"""

from __future__ import annotations

import pytest
from sklearn.datasets import make_blobs

import segengine as se


@pytest.fixture(scope="module")
def X10k():
    X, _ = make_blobs(n_samples=10_000, n_features=10, centers=5, cluster_std=2.0, random_state=0)
    se.select_k(X)  # warm the JIT
    return X


@pytest.fixture(scope="module")
def X250k():
    X, _ = make_blobs(n_samples=250_000, n_features=20, centers=6, cluster_std=2.5, random_state=1)
    return X


def test_select_k_10k(benchmark, X10k):
    sel = benchmark(lambda: se.select_k(X10k))
    assert sel.k == 5


def test_select_k_250k(benchmark, X250k):
    sel = benchmark.pedantic(lambda: se.select_k(X250k), rounds=3, iterations=1)
    assert sel.k == 6


def test_sklearn_loop_10k(benchmark, X10k):
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    def run():
        scores = {}
        for k in range(2, 11):
            labels = KMeans(n_clusters=k, n_init=1, random_state=0).fit_predict(X10k)
            scores[k] = silhouette_score(X10k, labels)
        return max(scores, key=scores.get)

    assert benchmark.pedantic(run, rounds=1, iterations=1) == 5

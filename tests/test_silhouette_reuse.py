"""The final labels' sampled silhouette folded from the k search's per-cell sums (issue #18).

`silhouette_rows_from_sums` must give what scoring the labels directly gives on the same rows
(`silhouette_rows`, itself checked against scikit-learn and a brute-force reference), for any
labels: those that follow the cells, those that break them here and there, singletons, labels
with gaps; and the report must show the same silhouettes whichever way they were computed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import segengine as se
import segengine.metrics.silhouette as sil
from segengine.datasets import make_numeric_customers
from segengine.metrics.silhouette import (
    silhouette_rows,
    silhouette_rows_from_sums,
    silhouette_rows_multi,
    silhouette_rows_multi_kept,
)

from naive import silhouette_samples_naive  # tests/ is on sys.path


def _points(rng: np.random.Generator, n: int, d: int, variant: str) -> np.ndarray:
    X = rng.normal(scale=4.0, size=(5, d))[rng.integers(0, 5, n)] + rng.normal(size=(n, d))
    if variant == "huge":
        X *= 1e12
    elif variant == "tiny":
        X *= 1e-12
    elif variant == "duplicates":
        X[n // 2:] = X[: n - n // 2]
    elif variant == "constant":
        X[:, 0] = 7.5
    return np.ascontiguousarray(X)


def _labelings(rng: np.random.Generator, X: np.ndarray, ks: list[int]) -> np.ndarray:
    # Like KMeans labelings: bins of a projection, so that the cells are few and nested-ish.
    out = []
    for k in ks:
        proj = X @ rng.normal(size=X.shape[1])
        edges = np.quantile(proj, np.linspace(0, 1, k + 1)[1:-1])
        out.append(np.searchsorted(edges, proj))
    return np.stack(out)


cases = st.tuples(
    st.integers(0, 2**31 - 1),
    st.integers(6, 700),  # n
    st.integers(1, 12),  # d
    st.sampled_from(["plain", "huge", "tiny", "duplicates", "constant"]),
    st.lists(st.integers(2, 8), min_size=1, max_size=3),  # the search's k
    st.floats(0.0, 0.3),  # share of records relabelled in the final labels
    st.booleans(),  # a singleton segment in the final labels
)


@settings(max_examples=150, deadline=None)
@given(cases)
def test_folded_equals_direct(case):
    seed, n, d, variant, ks, moved, singleton = case
    rng = np.random.default_rng(seed)
    X = _points(rng, n, d, variant)
    ks = [min(k, n - 1) for k in ks]
    labelings = _labelings(rng, X, ks)
    rows = np.sort(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False))
    values, kept = silhouette_rows_multi_kept(X, labelings, rows)
    # Keeping the sums changes nothing in the pass itself.
    np.testing.assert_array_equal(values, silhouette_rows_multi(X, labelings, rows))
    if kept is None:  # every labeling degenerate (e.g. all points equal)
        return
    final = labelings[int(rng.integers(len(ks)))] * 3 + 11  # other label values than the pass's
    flip = rng.random(n) < moved
    final[flip] = rng.integers(0, 6, int(flip.sum())) * 3 + 11
    if singleton:
        final[int(rng.integers(n))] = 1000
    if not 2 <= np.unique(final).size <= n - 1:
        return
    folded = silhouette_rows_from_sums(X, final, kept, max_moved=1.0)
    direct = silhouette_rows(X, final, rows)
    if folded is None:  # a cancellation the fold refuses (tested below): scored directly
        return
    np.testing.assert_allclose(folded, direct, rtol=0, atol=1e-9)
    np.testing.assert_allclose(folded, silhouette_samples_naive(X, final)[rows], rtol=0, atol=1e-9)


def test_labels_that_follow_the_cells_need_no_new_distance():
    rng = np.random.default_rng(3)
    X = _points(rng, 3000, 4, "plain")
    labelings = _labelings(rng, X, [3, 5, 7])
    rows = np.sort(rng.choice(3000, 500, replace=False))
    _, kept = silhouette_rows_multi_kept(X, labelings, rows)
    for lab in labelings:
        np.testing.assert_allclose(silhouette_rows_from_sums(X, lab, kept, max_moved=0.0),
                                   silhouette_rows(X, lab, rows), rtol=0, atol=1e-12)


def test_many_moved_records_are_scored_directly():
    rng = np.random.default_rng(4)
    X = _points(rng, 2000, 3, "plain")
    labelings = _labelings(rng, X, [4])
    rows = np.sort(rng.choice(2000, 300, replace=False))
    _, kept = silhouette_rows_multi_kept(X, labelings, rows)
    unrelated = rng.integers(0, 4, 2000)  # three quarters of the records off their cell's label
    assert silhouette_rows_from_sums(X, unrelated, kept) is None
    np.testing.assert_allclose(silhouette_rows_from_sums(X, unrelated, kept, max_moved=1.0),
                               silhouette_rows(X, unrelated, rows), rtol=0, atol=1e-12)


def test_two_thread_correction_equals_direct():
    # Enough rows x moved records for the correction to run on two threads.
    rng = np.random.default_rng(5)
    X = _points(rng, 12_000, 6, "plain")
    labelings = _labelings(rng, X, [2, 4, 6, 8])
    rows = np.sort(rng.choice(12_000, 1000, replace=False))
    _, kept = silhouette_rows_multi_kept(X, labelings, rows)
    final = labelings[2].copy()
    flip = rng.random(12_000) < 0.2
    final[flip] = rng.integers(0, 6, int(flip.sum()))
    np.testing.assert_allclose(silhouette_rows_from_sums(X, final, kept),
                               silhouette_rows(X, final, rows), rtol=0, atol=1e-12)


def test_sums_of_other_points_are_refused():
    rng = np.random.default_rng(6)
    X = _points(rng, 400, 2, "plain")
    _, kept = silhouette_rows_multi_kept(X, _labelings(rng, X, [3]), np.arange(0, 400, 7))
    with pytest.raises(ValueError, match="400"):
        silhouette_rows_from_sums(X[:300], np.arange(300) % 3, kept)
    with pytest.raises(ValueError, match="Number of labels is 1"):
        silhouette_rows_from_sums(X, np.zeros(400, dtype=int), kept)


@pytest.mark.parametrize("n", [6_000, 12_000])
def test_report_silhouettes_same_whichever_way(monkeypatch, n):
    # Above the exact size the report samples rows; with a seed they are the search's rows,
    # whose sums it folds. The report must not change when it scores the labels directly.
    records, _ = make_numeric_customers(n=n, n_features=6, random_state=2)
    payload = {"data": records}
    used = []
    folded = sil.silhouette_rows_from_sums

    def spy(*args, **kwargs):
        out = folded(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(sil, "silhouette_rows_from_sums", spy)
    with_sums = se.segmentation_report(payload)
    assert used == [True]
    monkeypatch.setattr(sil, "silhouette_rows_from_sums", lambda *a, **k: None)
    direct = se.segmentation_report(payload)
    a, b = with_sums["summary"], direct["summary"]
    assert a["algorithm"] == "gmm"  # the labels are not the search's labelling
    assert a == b and a["silhouette"] is not None
    assert with_sums["segments"] == direct["segments"]
    assert all(s["silhouette"] is not None for s in direct["segments"])


def test_a_mover_far_from_its_cell_is_scored_directly():
    # The fold subtracts a far record's large distances from its cell's sums: the difference
    # would lose digits, so the fold declines and the report scores the rows directly.
    rng = np.random.default_rng(8)
    X = np.vstack([np.zeros((200, 2)), rng.normal(size=(200, 2)) + 50.0])
    X[0] = [1e13, 0.0]  # one record of the first cell, far away, labelled on its own
    labels = np.repeat([0, 1], 200)
    rows = np.arange(0, 400, 3)
    _, kept = silhouette_rows_multi_kept(X, labels[None, :], rows)
    final = labels.copy()
    final[0] = 2
    assert silhouette_rows_from_sums(X, final, kept) is None
    # Without the far record the same move folds, to the direct values.
    X[0] = [0.5, 0.0]
    _, kept = silhouette_rows_multi_kept(X, labels[None, :], rows)
    np.testing.assert_allclose(silhouette_rows_from_sums(X, final, kept), silhouette_rows(X, final, rows),
                               rtol=0, atol=1e-12)


def test_many_segments_fold_without_a_k_squared_buffer():
    # 300 segments, 1 % of records moved: the work follows the (cell, label) pairs that occur.
    import tracemalloc

    rng = np.random.default_rng(9)
    X = rng.normal(size=(6000, 3))
    lab = np.argsort(np.argsort(X[:, 0])) * 300 // 6000
    rows = np.sort(rng.choice(6000, 1000, replace=False))
    _, kept = silhouette_rows_multi_kept(X, lab[None, :], rows, )
    final = lab.copy()
    flip = rng.random(6000) < 0.01
    final[flip] = (final[flip] + 1) % 300
    tracemalloc.start()
    folded = silhouette_rows_from_sums(X, final, kept)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40 * 2**20  # a rows x k^2 buffer would be 720 MB
    np.testing.assert_allclose(folded, silhouette_rows(X, final, rows), rtol=0, atol=1e-9)

"""Mergeable summaries (segengine.mergeable) against numpy on the whole column, however it is chunked."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from segengine.mergeable import Moments, QuantileSummary

_SETTINGS = dict(max_examples=40, deadline=None, derandomize=True, database=None)


def _column(seed: int, n: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "lognormal":
        x = rng.lognormal(size=n) * 100
    elif kind == "integers":  # many ties
        x = rng.integers(0, 7, size=n).astype(float)
    elif kind == "far":  # far from the origin: naive sums of squares would cancel
        x = 1e9 + rng.normal(size=n)
    else:
        x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    return x


def _chunks(x: np.ndarray, seed: int, n_chunks: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    cuts = np.sort(rng.integers(0, x.size + 1, size=n_chunks - 1))
    return np.split(x, cuts)  # some chunks may be empty


@settings(**_SETTINGS)
@given(st.integers(0, 10_000), st.integers(2, 3000), st.sampled_from(["normal", "lognormal", "integers", "far"]),
       st.integers(1, 9))
def test_moments_match_numpy_whatever_the_chunks(seed, n, kind, n_chunks):
    x = _column(seed, n, kind)
    parts = [Moments.of(c[:, None]) if c.size else Moments.empty(1) for c in _chunks(x, seed, n_chunks)]
    m = Moments.merge_all(parts)
    v = x[~np.isnan(x)]
    assert m.n[0] == v.size
    if v.size == 0:
        return
    np.testing.assert_allclose(m.mean[0], v.mean(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.var[0], v.var(), rtol=1e-8, atol=1e-10)
    assert m.min[0] == v.min() and m.max[0] == v.max()
    d = v - v.mean()
    if v.var() > 1e-6:
        np.testing.assert_allclose(m.skewness[0], (d**3).mean() / v.var() ** 1.5, rtol=1e-6, atol=1e-6)


@settings(**_SETTINGS)
@given(st.integers(0, 10_000), st.integers(1, 20_000), st.sampled_from(["normal", "lognormal", "integers"]),
       st.integers(1, 12), st.sampled_from([16, 64, 512]))
def test_quantile_summary_keeps_its_rank_bound_and_brackets(seed, n, kind, n_chunks, size):
    x = _column(seed, n, kind)
    chunks = _chunks(x, seed, n_chunks)
    # Two merge levels, as a tree reduction on a cluster does.
    half = max(1, len(chunks) // 2)
    left = QuantileSummary.merge_all([QuantileSummary.of(c, size) for c in chunks[:half]], size)
    right = QuantileSummary.merge_all([QuantileSummary.of(c, size) for c in chunks[half:]], size)
    qs = QuantileSummary.merge_all([left, right], size)
    v = np.sort(x[~np.isnan(x)])
    assert qs.count == v.size
    if v.size == 0:
        return
    assert qs.values.shape[0] <= 2 * size + 2
    for r in sorted({0, v.size // 4, v.size // 2, (3 * v.size) // 4, v.size - 1}):
        lo, hi = qs.bracket(r)
        assert lo < v[r] <= hi
        est = qs.order_statistic(r)
        # est is some order statistic within `error` ranks of r (ties: any of the tied ranks).
        first, last = np.searchsorted(v, est, "left"), np.searchsorted(v, est, "right") - 1
        assert first - qs.rank_bound <= r <= last + qs.rank_bound
    for q in (0.25, 0.5, 0.75):
        est = qs.quantile(q)
        target = q * (v.size - 1)
        first, last = np.searchsorted(v, est, "left"), np.searchsorted(v, est, "right") - 1
        assert first - qs.rank_bound - 1 <= target <= last + qs.rank_bound + 1


def test_small_chunks_are_exact():
    x = np.array([3.0, 1.0, np.nan, 2.0, 2.0])
    qs = QuantileSummary.merge_all([QuantileSummary.of(x[:2]), QuantileSummary.of(x[2:])])
    assert qs.error == 0 and qs.rank_error == 0.0
    assert qs.quantile(0.5) == np.quantile([1.0, 2.0, 2.0, 3.0], 0.5)
    assert QuantileSummary.empty().count == 0 and np.isnan(QuantileSummary.empty().quantile(0.5))

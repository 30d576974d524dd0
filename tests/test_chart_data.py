"""The numbers behind the pictures (segengine.chart_data, segengine.svg) against naive references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from segengine import chart_data
from segengine.profiling import FieldColumn, profile_segments
from segengine.svg import diverging_color, nice_ticks, num, nums

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@SETTINGS
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.integers(2, 8))
def test_nice_ticks_enclose_the_data_with_round_even_steps(a, b, count):
    lo, hi, ticks = nice_ticks(a, b, count)
    assert lo <= min(a, b) + 1e-9 * max(1, abs(a), abs(b)) and hi >= max(a, b) - 1e-9 * max(1, abs(a), abs(b))
    assert ticks[0] == lo and ticks[-1] == hi and len(ticks) >= 2
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0], rtol=1e-6)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))
    assert len(ticks) <= 2 * count + 3  # not wastefully many


def test_nice_ticks_of_a_point_and_of_nonsense():
    lo, hi, ticks = nice_ticks(0.41, 0.41)
    assert lo < 0.41 < hi
    assert nice_ticks(float("nan"), 1.0)[:2] == (0.0, 1.0)


@SETTINGS
@given(st.lists(st.floats(-1e5, 1e5), min_size=1, max_size=50))
def test_vector_and_scalar_coordinates_agree(values):
    assert nums(values) == [num(v) for v in values]
    for v, s in zip(values, nums(values)):
        assert abs(float(s) - v) <= 0.05 + 1e-9 * abs(v)
        assert s != "-0"


def test_diverging_colours():
    assert diverging_color(0.0) == "#f7f7f7"
    assert diverging_color(5.0) == diverging_color(1.5) != diverging_color(-1.5) == diverging_color(-9)
    assert diverging_color(None) == diverging_color(float("nan"))


def _report_from(columns, labels, k):
    prof = profile_segments(columns, labels, k)
    sizes = np.bincount(labels, minlength=k)
    segments = [{"segment": j, "name": f"s{j}", "size": int(sizes[j]), "share": sizes[j] / labels.size,
                 "profile": prof.profiles[j]} for j in range(k)]
    pre = [{"field": c.name, "kind": c.kind, "used": True} for c in columns]
    return {"segments": segments, "metadata": {"preprocessing": pre}}


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(2, 6), st.integers(2, 9), st.floats(0.0, 0.3))
def test_profile_rows_against_a_naive_recount(seed, k, levels, missing):
    rng = np.random.default_rng(seed)
    n = 400
    labels = np.sort(rng.integers(0, k, n))
    labels[:k] = np.arange(k)  # every segment present
    num_values = rng.normal(50 + 10 * labels, 5.0)
    num_values[rng.random(n) < missing] = np.nan
    cats = np.array([f"v{i}" for i in range(levels)], dtype=object)
    cat_values = cats[(rng.integers(0, levels, n) + labels) % levels].astype(object)
    cat_values[rng.random(n) < missing] = None
    columns = [FieldColumn("spend", "numeric", num_values, True), FieldColumn("plan", "categorical", cat_values, True)]
    report = _report_from(columns, labels, k)
    rows = chart_data.profile_rows(report)
    spend = rows[0]
    assert spend.field == "spend" and spend.level is None
    assert spend.reference == pytest.approx(np.nanmean(num_values), rel=1e-5)
    pop_std = np.nanstd(num_values)
    for j in range(k):
        seg_mean = np.nanmean(num_values[labels == j])
        assert spend.values[j] == pytest.approx(seg_mean, rel=1e-5)
        assert spend.effects[j] == pytest.approx((seg_mean - np.nanmean(num_values)) / pop_std, rel=1e-4, abs=1e-5)
    present = np.array([v is not None for v in cat_values])
    level_rows = rows[1:]
    # Rows are the levels some segment lists among its most common values (the report lists the
    # top five per segment): every level when there are at most five, the frequent ones otherwise.
    observed = sorted({v for v in cat_values if v is not None})
    listed = sorted({r.level for r in level_rows})
    if levels <= 5:
        assert listed == observed
    for j in range(k):
        in_seg = cat_values[present & (labels == j)]
        values, counts = np.unique(in_seg.astype(str), return_counts=True)
        for v in values[np.argsort(-counts, kind="stable")][:3]:
            if counts[list(values).index(v)] > np.sort(counts)[::-1][min(4, len(counts) - 1)]:
                assert v in listed  # clearly among the segment's top five
    shares = [np.mean(cat_values[present] == r.level) for r in level_rows]
    assert shares == sorted(shares, reverse=True)  # most common level first
    for r in level_rows:
        hit = cat_values == r.level
        p_pop = hit[present].mean()
        assert r.reference == pytest.approx(p_pop, rel=1e-4)
        for j in range(k):
            in_seg = present & (labels == j)
            p_seg = hit[in_seg].mean() if in_seg.any() else None
            if r.effects[j] is None:
                # Only a level outside a segment's listed top values may be unknown.
                assert len(report["segments"][j]["profile"]["plan"]["top"]) == 5
                continue
            assert r.values[j] == pytest.approx(p_seg, abs=1e-5)
            assert r.effects[j] == pytest.approx((p_seg - p_pop) / math.sqrt(p_pop * (1 - p_pop)), abs=1e-4)


class _Fitted:
    """The attributes chart_data.projection reads from a fitted Segmenter."""

    def __init__(self, X, labels, centers, seed=0):
        self.X_ = X
        self.labels_ = labels
        self.n_clusters_ = centers.shape[0]
        self.centers_ = centers

        class _Options:
            random_state = seed

        self.options_ = _Options()


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 7), st.integers(2, 5), st.integers(3, 900))
def test_projection_against_svd(seed, d, k, n):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0, d) + labels[:, None]
    centers = np.array([X[labels == j].mean(axis=0) if (labels == j).any() else X.mean(axis=0) for j in range(k)])
    proj = chart_data.projection(_Fitted(X, labels, centers), max_points=300)
    mean = X.mean(axis=0)
    _, sv, vt = np.linalg.svd(X - mean, full_matrices=False)
    var = sv ** 2
    shares = np.zeros(2)
    shares[: min(2, d)] = var[:2] / var.sum()
    np.testing.assert_allclose(proj.explained, shares, atol=1e-10)
    for c in range(min(2, d)):
        if c + 1 < len(var) and abs(var[c] - var[c + 1]) < 1e-8 * var[0]:
            continue  # a repeated eigenvalue has no unique axis
        ref = (X[proj.rows] - mean) @ vt[c]
        got = proj.xy[:, c]
        sign = 1.0 if np.dot(got, ref) >= 0 else -1.0
        np.testing.assert_allclose(got, sign * ref, atol=1e-7 * (1 + np.abs(ref).max()))
    if d == 1:
        assert np.all(proj.xy[:, 1] == 0)
    sizes = np.bincount(labels, minlength=k)
    drawn = np.bincount(proj.labels, minlength=k)
    if n <= 300:
        assert np.array_equal(drawn, sizes)
    else:
        assert np.all(drawn >= np.minimum(sizes, chart_data.PROJECTION_MIN_PER_SEGMENT))
        assert drawn.sum() <= 300 + k * chart_data.PROJECTION_MIN_PER_SEGMENT
    assert np.array_equal(labels[proj.rows], proj.labels)
    assert np.all(np.diff(proj.labels) >= 0)  # grouped by segment


@SETTINGS
@given(st.integers(0, 2**31 - 1), st.integers(1, 6), st.integers(1, 500))
def test_confidence_distribution_against_numpy(seed, k, n):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    conf = np.round(rng.beta(2, 2, n), 4)
    conf[rng.random(n) < 0.05] = 1.0
    conf[rng.random(n) < 0.05] = 0.0
    report = {"segments": [{"segment": j} for j in range(k)],
              "results": [{"segment": int(s), "confidence": float(c)} for s, c in zip(labels, conf)]}
    dist = chart_data.confidence_distribution(report, bins=20)
    for j in range(k):
        v = conf[labels == j]
        counts, _ = np.histogram(v, bins=np.arange(21) / 20)
        assert np.array_equal(dist.counts[j], counts)
        if v.size:
            assert dist.quartiles[j] == pytest.approx(tuple(np.percentile(v, [25, 50, 75])))
            assert dist.means[j] == pytest.approx(v.mean())
        else:
            assert dist.quartiles[j] is None and dist.means[j] is None


def test_k_curve_reads_metadata():
    report = {"metadata": {"k_selection": {
        "scores": {"2": 0.3, "10": 0.1, "3": None, "4": 0.35}, "standard_errors": {"2": 0.01, "10": 0.02, "4": 0.0},
        "chosen": 4, "exact": False, "sample_size": 1000, "near_ties": [{"k": 2, "gap": 0.002}]}}}
    curve = chart_data.k_curve(report)
    assert curve.ks == [2, 4, 10] and curve.scores == [0.3, 0.35, 0.1] and curve.errors == [0.01, 0.0, 0.02]
    assert curve.chosen == 4 and curve.near_ties == [2] and not curve.exact
    assert chart_data.k_curve({}) is None

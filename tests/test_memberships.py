"""segengine.engines.memberships: distances, confidences and memberships of KMeans segments.

Checked against naive numpy definitions (tests/naive.py and the formulas below) on many shapes,
including duplicate records, one centre, one feature and huge and tiny magnitudes; and, bit for
bit, against the numpy code the pipeline ran before (the report digests rest on that).
"""

from __future__ import annotations

import math
import platform

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy.special import logsumexp, softmax

from segengine.engines import memberships as mb

from naive import kmeans_sq_distances_naive

# -- the numpy code these functions replaced (selection._sq_distances, segmenter._confidence,
#    selection.kmeans_mixture_loglik before #15), kept here as the bit-for-bit reference ----------


def _old_sq_distances(X, centers):
    out = np.empty((X.shape[0], centers.shape[0]))
    for j, c in enumerate(centers):
        diff = X - c
        out[:, j] = np.einsum("ij,ij->i", diff, diff)
    return out


def _old_confidence(X, centers, labels):
    n, k = X.shape[0], centers.shape[0]
    if k < 2:
        return np.ones(n)
    sq = _old_sq_distances(X, centers)
    rows = np.arange(n)
    a = np.sqrt(sq[rows, labels])
    sq[rows, labels] = np.inf
    b = np.sqrt(sq.min(axis=1))
    top = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(top > 0, (b - a) / top, 0.0)
    return np.clip(conf, 0.0, 1.0)


def _old_loglik(X, centers, labels):
    n, d = X.shape
    k = centers.shape[0]
    sq = _old_sq_distances(X, centers)
    inertia = float(sq[np.arange(n), labels].sum())
    sigma2 = max(inertia / (n * d), 1e-12)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    log_w = np.log(np.maximum(counts / n, 1e-300))
    log_p = log_w - sq / (2.0 * sigma2) - 0.5 * d * math.log(2.0 * math.pi * sigma2)
    top = log_p.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))
    resp = np.exp(log_p - log_norm[:, None])
    return float(log_norm.sum()), resp, sigma2


# numpy's einsum sums in the order of its SIMD build (two float64 lanes on x86-64's baseline, the
# platform the report digests were taken on); elsewhere only the tolerance checks apply.
_SAME_ORDER_AS_NUMPY = platform.machine().lower() in ("x86_64", "amd64")


@st.composite
def problems(draw):
    n = draw(st.integers(1, 60))
    d = draw(st.integers(1, 21))  # below, at and above the 8-feature unrolled step
    k = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = 10.0 ** draw(st.sampled_from([-150, -8, 0, 3, 12, 150]))
    offset = draw(st.sampled_from([0.0, 1e6]))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale + offset * scale
    if draw(st.booleans()):  # duplicate records
        X[rng.integers(0, n, size=n // 2)] = X[0]
    if draw(st.booleans()):  # centres on records (distance exactly 0), maybe repeated
        centers = X[rng.integers(0, n, size=k)].copy()
    else:
        centers = rng.normal(size=(k, d)) * scale + offset * scale
    labels = rng.integers(0, k, size=n)
    return X, centers, labels


_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(problems())
def test_sq_distances_match_the_naive_definition(problem):
    X, C, _ = problem
    sq = mb.sq_distances(X, C)
    assert sq.shape == (X.shape[0], C.shape[0]) and sq.dtype == np.float64
    ref = kmeans_sq_distances_naive(X, C)
    np.testing.assert_allclose(sq, ref, rtol=1e-12, atol=0.0)
    assert (sq >= 0).all()
    if _SAME_ORDER_AS_NUMPY:
        np.testing.assert_array_equal(sq, _old_sq_distances(X, C))


@_SETTINGS
@given(problems())
def test_confidence_matches_the_simplified_silhouette(problem):
    X, C, labels = problem
    conf = mb.confidence(X, C, labels)
    k = C.shape[0]
    if k == 1:
        np.testing.assert_array_equal(conf, np.ones(X.shape[0]))
        return
    D = np.sqrt(kmeans_sq_distances_naive(X, C))
    rows = np.arange(X.shape[0])
    a = D[rows, labels]
    b = np.where(np.arange(k)[None, :] == labels[:, None], np.inf, D).min(axis=1)
    top = np.maximum(a, b)
    expected = np.clip(np.divide(b - a, top, out=np.zeros_like(a), where=top > 0), 0.0, 1.0)
    np.testing.assert_allclose(conf, expected, rtol=1e-9, atol=1e-12)
    assert ((conf >= 0) & (conf <= 1)).all()
    np.testing.assert_array_equal(mb.confidence_from_sq(mb.sq_distances(X, C), labels), conf)
    if _SAME_ORDER_AS_NUMPY:
        np.testing.assert_array_equal(conf, _old_confidence(X, C, labels))


@_SETTINGS
@given(problems())
def test_equal_variance_loglik_matches_the_mixture_density(problem):
    X, C, labels = problem
    n, d = X.shape
    k = C.shape[0]
    ll, resp, sigma2 = mb.equal_variance_loglik(mb.sq_distances(X, C), labels, d)
    sq = kmeans_sq_distances_naive(X, C)
    assert sigma2 == pytest.approx(max(sq[np.arange(n), labels].sum() / (n * d), 1e-12), rel=1e-12)
    w = np.maximum(np.bincount(labels, minlength=k) / n, 1e-300)
    log_dens = np.log(w) - sq / (2 * sigma2) - 0.5 * d * np.log(2 * np.pi * sigma2)
    assert ll == pytest.approx(logsumexp(log_dens, axis=1).sum(), rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(resp, softmax(log_dens, axis=1), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    if _SAME_ORDER_AS_NUMPY:
        old = _old_loglik(X, C, labels)
        assert ll == old[0] and sigma2 == old[2]
        np.testing.assert_array_equal(resp, old[1])


@_SETTINGS
@given(problems())
def test_equal_weight_memberships_favour_the_nearest_centre(problem):
    X, C, labels = problem
    sq = mb.sq_distances(X, C)
    sigma2 = mb.equal_variance_loglik(sq, labels, X.shape[1])[2]
    resp = mb.equal_weight_memberships(sq, sigma2)
    np.testing.assert_allclose(resp, softmax(-sq / (2 * sigma2), axis=1), rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-12)
    # memberships fall with the distance: the nearest centre is always among the most probable
    # (all equal when the distances vanish against the variance floor of 1e-12)
    rows = np.arange(sq.shape[0])
    np.testing.assert_array_equal(resp[rows, sq.argmin(axis=1)], resp.max(axis=1))
    order = np.argsort(sq, axis=1, kind="stable")
    assert (np.diff(np.take_along_axis(resp, order, axis=1), axis=1) <= 0).all()
    ratios = mb.equal_weight_likelihood_ratios(sq, sigma2)
    np.testing.assert_array_equal(ratios.max(axis=1), 1.0)
    np.testing.assert_array_equal(ratios / ratios.sum(axis=1, keepdims=True), resp)

    both = mb.kmeans_memberships(X, C, labels)
    np.testing.assert_array_equal(both.sq, sq)
    assert both.sigma2 == sigma2
    np.testing.assert_array_equal(both.memberships, resp)
    np.testing.assert_array_equal(both.confidence, mb.confidence(X, C, labels))
    assert both.loglik == mb.equal_variance_loglik(sq, labels, X.shape[1])[0]


def test_confidence_edge_cases():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    C = np.array([[0.0, 0.0], [4.0, 0.0]])
    # row 0 on its centre: 1; row 1: a=1, b=3 -> 2/3; row 2 labelled 0 but nearer centre 1: 0;
    # row 3 on the other centre's side: labelled 1, a=4, b=0 -> 0
    conf = mb.confidence(X, C, np.array([0, 0, 0, 1]))
    np.testing.assert_allclose(conf, [1.0, 2.0 / 3.0, 0.0, 0.0])
    # both centres at the record: a = b = 0 -> 0, not NaN
    same = np.zeros((2, 2))
    np.testing.assert_array_equal(mb.confidence(np.zeros((3, 2)), same, np.array([0, 1, 0])), 0.0)
    # one centre: every record is sure of its segment; no records: empty
    np.testing.assert_array_equal(mb.confidence(X, C[:1], np.zeros(4, np.int64)), 1.0)
    assert mb.confidence(np.zeros((0, 2)), C, np.zeros(0, np.int64)).shape == (0,)
    # float32 records and non-contiguous centres are accepted and computed in float64
    conf32 = mb.confidence(X.astype(np.float32), np.asfortranarray(C), np.array([0, 0, 0, 1]))
    np.testing.assert_allclose(conf32, conf)


def test_bad_shapes_and_labels_are_clear_errors():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="do not fit"):
        mb.sq_distances(X, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="do not fit"):
        mb.confidence(X, np.zeros((2, 3)), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"in \[0, 2\)"):
        mb.confidence(X, np.zeros((2, 2)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="do not fit 3 records"):
        mb.confidence_from_sq(np.zeros((3, 2)), np.zeros(4, np.int64))

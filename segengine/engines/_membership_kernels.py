"""numba kernels of `segengine.engines.memberships`: squared distances to centres and confidences.

The squared distance of a record to a centre is summed in a fixed order: two interleaved
partial sums (even and odd features), each fed eight features at a time from the highest to the
lowest, added together at the end. That is the order numpy's ``einsum("ij,ij->i")`` used on
x86-64 (two float64 lanes, unrolled by four) in the numpy code these kernels replace, so reports
stayed byte-identical when the pipeline moved onto them (tools/report_digests.py). Unlike the
einsum, the order no longer depends on the CPU numpy was built for. The options are the strict
set: fused multiply-adds or reassociation would change the last bits.
"""

from __future__ import annotations

import numba
import numpy as np

from segengine import config

_NJIT = config.NJIT_STRICT_OPTIONS


@numba.njit(inline="always", **_NJIT)
def _sq_dist(X, i, C, j):
    d = X.shape[1]
    even = 0.0
    odd = 0.0
    t = 0
    while d - t >= 8:
        for u in (6, 4, 2, 0):
            v = X[i, t + u] - C[j, t + u]
            even = v * v + even
            v = X[i, t + u + 1] - C[j, t + u + 1]
            odd = v * v + odd
        t += 8
    while d - t > 0:
        v = X[i, t] - C[j, t]
        even = v * v + even
        if d - t >= 2:
            v = X[i, t + 1] - C[j, t + 1]
            odd = v * v + odd
        t += 2
    return even + odd


@numba.njit(**_NJIT)
def sq_distances(X, C, out):
    """Fill ``out`` (n, k) with the squared Euclidean distance of every row of ``X`` to every centre.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, C-contiguous
    C : ndarray of shape (k, d), float64, C-contiguous
    out : ndarray of shape (n, k), float64, written
    """
    n = X.shape[0]
    k = C.shape[0]
    for i in range(n):
        for j in range(k):
            out[i, j] = _sq_dist(X, i, C, j)


@numba.njit(**_NJIT)
def confidence(X, C, labels, out):
    """Fill ``out`` (n,) with the simplified silhouette of every record against the centres.

    ``(b - a) / max(a, b)`` clipped to [0, 1], with ``a`` the distance to the own centre
    ``labels[i]`` and ``b`` to the nearest other centre; 0 when both are 0. Needs k >= 2.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64, C-contiguous
    C : ndarray of shape (k, d), float64, C-contiguous
    labels : ndarray of shape (n,), int64, each in [0, k)
    out : ndarray of shape (n,), float64, written
    """
    n = X.shape[0]
    k = C.shape[0]
    for i in range(n):
        own = labels[i]
        other = np.inf
        for j in range(k):
            if j != own:
                s = _sq_dist(X, i, C, j)
                other = min(other, s)
        out[i] = _ratio(np.sqrt(_sq_dist(X, i, C, own)), np.sqrt(other))


@numba.njit(**_NJIT)
def confidence_from_sq(sq, labels, out):
    """`confidence` from an (n, k) matrix of squared distances (k >= 2).

    Parameters
    ----------
    sq : ndarray of shape (n, k), float64
    labels : ndarray of shape (n,), int64, each in [0, k)
    out : ndarray of shape (n,), float64, written
    """
    n, k = sq.shape
    for i in range(n):
        own = labels[i]
        other = np.inf
        for j in range(k):
            if j != own and sq[i, j] < other:
                other = sq[i, j]
        out[i] = _ratio(np.sqrt(sq[i, own]), np.sqrt(other))


@numba.njit(inline="always", **_NJIT)
def _ratio(a, b):
    top = max(a, b)
    if not top > 0.0:
        return 0.0
    r = (b - a) / top
    if r < 0.0:
        return 0.0
    if r > 1.0:
        return 1.0
    return r

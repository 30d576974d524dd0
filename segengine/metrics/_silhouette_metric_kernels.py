"""numba kernels of the silhouette for other metrics than Euclidean on dense data.

Each kernel fills ``sums[i, c]``: the sum of the distances of row ``i`` to the members of
cluster ``c``; the silhouette follows from these sums and the cluster sizes. Inputs:

* a precomputed distance matrix, dense or CSR (entries not stored are distance 0);
* points, dense or sparse, under the Euclidean, Manhattan (L1) or cosine distance.

Every row is computed start to end by one thread and its sums are added in column order, so
the thread count never changes a bit. Sparse points are never densified: the terms two rows
share are found through the columns (a CSC copy of the structure).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from segengine import config

_NJIT = config.NJIT_OPTIONS

EUCLIDEAN = 0
MANHATTAN = 1
COSINE = 2


@numba.njit(parallel=True, **_NJIT)
def precomputed_dense_sums(D, labels, k):
    """Per-cluster sums of every row of a dense (r, n) distance matrix."""
    r, n = D.shape
    sums = np.zeros((r, k), np.float64)
    for i in prange(r):
        for j in range(n):
            sums[i, labels[j]] += np.float64(D[i, j])
    return sums


@numba.njit(parallel=True, **_NJIT)
def precomputed_csr_sums(data, indices, indptr, labels, k):
    """Per-cluster sums of every row of a CSR distance matrix (missing entries are 0)."""
    n = indptr.shape[0] - 1
    sums = np.zeros((n, k), np.float64)
    for i in prange(n):
        for p in range(indptr[i], indptr[i + 1]):
            sums[i, labels[indices[p]]] += np.float64(data[p])
    return sums


@numba.njit(**_NJIT)
def _cosine(dot, ni, nj):
    # scikit-learn's cosine_distances: rows of norm 0 count as norm 1 (distance 1 to all
    # non-zero rows), the result is clipped to [0, 2].
    a = ni if ni > 0.0 else 1.0
    b = nj if nj > 0.0 else 1.0
    v = 1.0 - dot / (a * b)
    return min(max(v, 0.0), 2.0)


@numba.njit(parallel=True, **_NJIT)
def dense_metric_sums(XT, labels, k, metric, norms):
    """Per-cluster distance sums of every row of dense points given transposed, ``XT`` (d, n).

    ``norms`` are the Euclidean row norms (read by the cosine metric only). The distances of
    row ``i`` to all rows are built feature by feature over contiguous rows of ``XT`` (SIMD);
    the self-distance is taken as 0.
    """
    d, n = XT.shape
    sums = np.zeros((n, k), np.float64)
    for i in prange(n):
        acc = np.zeros(n, np.float64)
        for f in range(d):
            xf = np.float64(XT[f, i])
            row = XT[f]
            if metric == MANHATTAN:
                for j in range(n):
                    acc[j] += abs(xf - row[j])
            elif metric == COSINE:
                for j in range(n):
                    acc[j] += xf * row[j]
            else:
                for j in range(n):
                    v = xf - row[j]
                    acc[j] += v * v
        for j in range(n):
            if j == i:
                continue
            if metric == MANHATTAN:
                dist = acc[j]
            elif metric == COSINE:
                dist = _cosine(acc[j], norms[i], norms[j])
            else:
                dist = np.sqrt(acc[j])
            sums[i, labels[j]] += dist
    return sums


@numba.njit(parallel=True, **_NJIT)
def csr_metric_sums(data, indices, indptr, cdata, crows, cptr, labels, k, metric, sq, l1):
    """Per-cluster distance sums of every row of sparse points.

    The matrix comes twice: CSR (``data``, ``indices``, ``indptr``) and CSC (``cdata``,
    ``crows``, ``cptr``). For row ``i``, the terms shared with every other row are gathered
    through the columns of its stored entries (an inverted index), so the cost is the number
    of (i, j) pairs that share a column, not n * nnz. ``sq`` are the squared row norms
    (Euclidean, cosine), ``l1`` the L1 norms (Manhattan). Euclidean:
    ``sqrt(sq_i + sq_j - 2 x_i.x_j)``; Manhattan: ``l1_i + l1_j`` minus, on shared columns,
    ``|a| + |b| - |a - b|``; cosine from the dot product and the norms.
    """
    n = indptr.shape[0] - 1
    sums = np.zeros((n, k), np.float64)
    for i in prange(n):
        acc = np.zeros(n, np.float64)
        for p in range(indptr[i], indptr[i + 1]):
            a = np.float64(data[p])
            c = indices[p]
            for q in range(cptr[c], cptr[c + 1]):
                b = np.float64(cdata[q])
                if metric == MANHATTAN:
                    acc[crows[q]] += abs(a) + abs(b) - abs(a - b)
                else:
                    acc[crows[q]] += a * b
        for j in range(n):
            if j == i:
                continue
            if metric == MANHATTAN:
                dist = max(l1[i] + l1[j] - acc[j], 0.0)
            elif metric == COSINE:
                dist = _cosine(acc[j], np.sqrt(sq[i]), np.sqrt(sq[j]))
            else:
                dist = np.sqrt(max(sq[i] + sq[j] - 2.0 * acc[j], 0.0))
            sums[i, labels[j]] += dist
    return sums


@numba.njit(**_NJIT)
def silhouette_from_sums(sums, labels, sizes):
    """``(b - a) / max(a, b)`` per row from its per-cluster distance sums.

    0 for rows alone in their cluster and where ``a = b = 0`` (scikit-learn's nan_to_num).
    """
    n, k = sums.shape
    out = np.empty(n, np.float64)
    for i in range(n):
        own = labels[i]
        if sizes[own] <= 1:
            out[i] = 0.0
            continue
        a = sums[i, own] / (sizes[own] - 1)
        b = np.inf
        for c in range(k):
            if c != own:
                v = sums[i, c] / sizes[c]
                if v < b:
                    b = v
        m = max(a, b)
        out[i] = (b - a) / m if m > 0.0 else 0.0
    return out

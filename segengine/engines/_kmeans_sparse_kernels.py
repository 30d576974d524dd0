"""numba kernels of KMeans on CSR matrices (``data``, ``indices``, ``indptr``), never densified.

Every distance is ``||x||^2 - 2 x.c + ||c||^2`` with ``x.c`` summed over the stored entries of
the row only (O(nnz * k) per pass, like scikit-learn's sparse Lloyd); centres are dense
(k, d) arrays in the dtype of ``data``; sums, weights and distances are float64.

Determinism: as in ``_kmeans_kernels``, the parallel kernels loop over fixed blocks of rows,
write per-block partial sums and merge them in block order, so the thread count never
changes a bit. Also for the k-means++ seeding, which returns the chosen row indices too
(scikit-learn's ``kmeans_plusplus`` contract).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from segengine import config

_NJIT = config.NJIT_OPTIONS


@numba.njit(**_NJIT)
def csr_row_sq_norms(data, indptr):
    """Squared Euclidean norm of every row (float64)."""
    n = indptr.shape[0] - 1
    out = np.empty(n, np.float64)
    for i in range(n):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            v = np.float64(data[p])
            s += v * v
        out[i] = s
    return out


@numba.njit(**_NJIT)
def _centers_t(centers, CT, cnorm):
    k, d = centers.shape
    for j in range(k):
        s = 0.0
        for f in range(d):
            v = np.float64(centers[j, f])
            CT[f, j] = v
            s += v * v
        cnorm[j] = s


@numba.njit(**_NJIT)
def _row_dots(data, indices, indptr, i, CT, acc):
    # acc[j] = x_i . c_j over the stored entries of row i; CT is (d, k) so the inner loop
    # over the centres is contiguous.
    acc[:] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        v = np.float64(data[p])
        f = indices[p]
        for j in range(acc.shape[0]):
            acc[j] += v * CT[f, j]


@numba.njit(**_NJIT)
def _assign_block(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, bsums, bw, start, stop, acc, update):
    k = CT.shape[1]
    if update:
        bsums[:, :] = 0.0
        bw[:] = 0.0
    changed = 0
    for i in range(start, stop):
        _row_dots(data, indices, indptr, i, CT, acc)
        best = np.inf
        bj = 0
        for j in range(k):
            v = cnorm[j] - 2.0 * acc[j]
            if v < best:
                best = v
                bj = j
        mind[i] = max(xsq[i] + best, 0.0)
        if labels[i] != bj:
            changed += 1
            labels[i] = bj
        if update:
            wi = w[i]
            bw[bj] += wi
            for p in range(indptr[i], indptr[i + 1]):
                bsums[bj, indices[p]] += wi * np.float64(data[p])
    return changed


@numba.njit(parallel=True, **_NJIT)
def _assign_par(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums, pw, pchg, block, update):
    n = indptr.shape[0] - 1
    k = CT.shape[1]
    for b in prange(pchg.shape[0]):
        acc = np.empty(k, np.float64)
        pchg[b] = _assign_block(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums[b], pw[b],
                                b * block, min(n, b * block + block), acc, update)


@numba.njit(**_NJIT)
def _assign(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums, pw, pchg, block, update, parallel):
    n = indptr.shape[0] - 1
    if parallel:
        _assign_par(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums, pw, pchg, block, update)
    else:
        acc = np.empty(CT.shape[1], np.float64)
        for b in range(pchg.shape[0]):
            pchg[b] = _assign_block(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums[b], pw[b],
                                    b * block, min(n, b * block + block), acc, update)
    return pchg.sum()


@numba.njit(**_NJIT)
def csr_assign(data, indices, indptr, xsq, centers, block, parallel):
    """Nearest centre of every row and the squared distance to it: ``(labels, d2)``."""
    n = indptr.shape[0] - 1
    k, d = centers.shape
    CT = np.empty((d, k), np.float64)
    cnorm = np.empty(k, np.float64)
    _centers_t(centers, CT, cnorm)
    nb = (n + block - 1) // block
    labels = np.full(n, -1, np.int64)
    mind = np.empty(n, np.float64)
    _assign(data, indices, indptr, CT, cnorm, xsq, np.empty(0, np.float64), labels, mind,
            np.empty((nb, 0, 0), np.float64), np.empty((nb, 0), np.float64), np.zeros(nb, np.int64),
            block, False, parallel)
    return labels, mind


@numba.njit(**_NJIT)
def csr_inertia(data, indices, indptr, xsq, centers, w, labels):
    """Weighted sum of squared distances of the rows to the centres of their labels."""
    n = indptr.shape[0] - 1
    k, d = centers.shape
    cnorm = np.empty(k, np.float64)
    for j in range(k):
        s = 0.0
        for f in range(d):
            v = np.float64(centers[j, f])
            s += v * v
        cnorm[j] = s
    total = 0.0
    for i in range(n):
        j = labels[i]
        dot = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            dot += np.float64(data[p]) * np.float64(centers[j, indices[p]])
        total += w[i] * max(xsq[i] - 2.0 * dot + cnorm[j], 0.0)
    return total


@numba.njit(**_NJIT)
def csr_center_distances(data, indices, indptr, xsq, centers):
    """Euclidean distance of every row to every centre, (n, k) float64."""
    n = indptr.shape[0] - 1
    k, d = centers.shape
    CT = np.empty((d, k), np.float64)
    cnorm = np.empty(k, np.float64)
    _centers_t(centers, CT, cnorm)
    out = np.empty((n, k), np.float64)
    acc = np.empty(k, np.float64)
    for i in range(n):
        _row_dots(data, indices, indptr, i, CT, acc)
        for j in range(k):
            out[i, j] = np.sqrt(max(xsq[i] - 2.0 * acc[j] + cnorm[j], 0.0))
    return out


@numba.njit(**_NJIT)
def _new_centers(data, indices, indptr, w, labels, mind, sums, wsum, old, new):
    """Means of the clusters into ``new``; returns (total squared shift, empty count).

    Empty clusters take the rows farthest from their centres, unless every row sits on its centre
    (fewer distinct rows than clusters: moving a centre onto a duplicate changes nothing).
    """
    k, d = old.shape
    n_empty = 0
    for j in range(k):
        if wsum[j] <= 0.0:
            n_empty += 1
    relocated = np.zeros(k, np.bool_)
    if n_empty > 0 and mind.max() > 0.0:
        order = np.argsort(-mind, kind="mergesort")
        t = 0
        for j in range(k):
            if wsum[j] > 0.0:
                continue
            idx = order[t]
            t += 1
            o = labels[idx]
            wi = w[idx]
            if o != j and not relocated[o]:
                wsum[o] -= wi
                for p in range(indptr[idx], indptr[idx + 1]):
                    sums[o, indices[p]] -= wi * np.float64(data[p])
            relocated[j] = True
            for f in range(d):
                new[j, f] = 0.0
            for p in range(indptr[idx], indptr[idx + 1]):
                new[j, indices[p]] = data[p]
    shift = 0.0
    for j in range(k):
        if not relocated[j]:
            if wsum[j] > 0.0:
                inv = 1.0 / wsum[j]
                for f in range(d):
                    new[j, f] = sums[j, f] * inv
            else:
                for f in range(d):
                    new[j, f] = old[j, f]
        for f in range(d):
            u = np.float64(new[j, f]) - np.float64(old[j, f])
            shift += u * u
    return shift, n_empty


@numba.njit(**_NJIT)
def csr_lloyd(data, indices, indptr, xsq, w, centers_init, max_iter, tol, block, parallel):
    """Lloyd iterations on a CSR matrix; the contract of ``_kmeans_kernels.lloyd``.

    Stops when the labels no longer change (strict convergence) or the total squared centre
    shift is ``<= tol``; labels are then recomputed against the final centres. Returns
    ``(centers, labels, inertia, n_iter)``.
    """
    n = indptr.shape[0] - 1
    k, d = centers_init.shape
    centers = centers_init.copy()
    new = np.empty_like(centers)
    CT = np.empty((d, k), np.float64)
    cnorm = np.empty(k, np.float64)
    labels = np.full(n, -1, np.int64)
    mind = np.empty(n, np.float64)
    nb = (n + block - 1) // block
    # The assignment (O(nnz * k)) runs in parallel blocks; the sums (O(nnz)) are then taken
    # serially in row order: no per-block (k, d) buffers, which would be huge for wide data.
    psums = np.empty((nb, 0, 0), np.float64)
    pw = np.empty((nb, 0), np.float64)
    pchg = np.zeros(nb, np.int64)
    sums = np.zeros((k, d), np.float64)
    wsum = np.zeros(k, np.float64)
    strict = False
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        _centers_t(centers, CT, cnorm)
        changed = _assign(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums, pw, pchg, block, False,
                          parallel)
        sums[:, :] = 0.0
        wsum[:] = 0.0
        for i in range(n):
            j = labels[i]
            wi = w[i]
            wsum[j] += wi
            for p in range(indptr[i], indptr[i + 1]):
                sums[j, indices[p]] += wi * np.float64(data[p])
        shift, n_empty = _new_centers(data, indices, indptr, w, labels, mind, sums, wsum, centers, new)
        centers, new = new, centers
        if changed == 0 and n_empty == 0:
            strict = True
            break
        if shift <= tol:
            break
    if not strict:
        _centers_t(centers, CT, cnorm)
        _assign(data, indices, indptr, CT, cnorm, xsq, w, labels, mind, psums, pw, pchg, block, False, parallel)
    return centers, labels, csr_inertia(data, indices, indptr, xsq, centers, w, labels), n_iter


@numba.njit(**_NJIT)
def _row_to_dense(data, indices, indptr, i, out):
    out[:] = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        out[indices[p]] = data[p]


@numba.njit(**_NJIT)
def csr_kmeans_plusplus(data, indices, indptr, n_features, xsq, w, k, n_trials, uniforms):
    """Greedy k-means++ seeding on a CSR matrix: ``(centers (k, d), chosen row indices)``.

    ``uniforms`` holds ``1 + (k - 1) * n_trials`` numbers in [0, 1), used as in
    ``_kmeans_kernels.kmeans_plusplus``: the first centre is drawn proportional to ``w``,
    then ``n_trials`` candidates per centre proportional to ``w * D^2``, the candidate that
    lowers the weighted potential most being kept.
    """
    n = indptr.shape[0] - 1
    d = n_features
    centers = np.zeros((k, d), data.dtype)
    chosen = np.empty(k, np.int64)
    cw = np.empty(n, np.float64)
    s = 0.0
    for i in range(n):
        s += w[i]
        cw[i] = s
    idx = min(np.searchsorted(cw, uniforms[0] * s, side="right"), n - 1)
    chosen[0] = idx
    _row_to_dense(data, indices, indptr, idx, centers[0])
    if k == 1:
        return centers, chosen
    dense = np.empty(d, np.float64)
    _row_to_dense(data, indices, indptr, idx, dense)
    closest = np.empty(n, np.float64)
    for i in range(n):
        dot = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            dot += np.float64(data[p]) * dense[indices[p]]
        closest[i] = max(xsq[i] - 2.0 * dot + xsq[idx], 0.0)
    cum = np.empty(n, np.float64)
    cand = np.empty(n_trials, np.int64)
    CT = np.zeros((d, n_trials), np.float64)
    trial_d = np.empty((n_trials, n), np.float64)
    pots = np.empty(n_trials, np.float64)
    acc = np.empty(n_trials, np.float64)
    for c in range(1, k):
        s = 0.0
        for i in range(n):
            s += w[i] * closest[i]
            cum[i] = s
        CT[:, :] = 0.0
        for t in range(n_trials):
            v = uniforms[1 + (c - 1) * n_trials + t] * s
            ct = min(np.searchsorted(cum, v, side="right"), n - 1)
            cand[t] = ct
            for p in range(indptr[ct], indptr[ct + 1]):
                CT[indices[p], t] = data[p]
        pots[:] = 0.0
        for i in range(n):
            _row_dots(data, indices, indptr, i, CT, acc)
            for t in range(n_trials):
                dd = min(closest[i], max(xsq[i] - 2.0 * acc[t] + xsq[cand[t]], 0.0))
                trial_d[t, i] = dd
                pots[t] += w[i] * dd
        best = 0
        for t in range(1, n_trials):
            if pots[t] < pots[best]:
                best = t
        chosen[c] = cand[best]
        _row_to_dense(data, indices, indptr, cand[best], centers[c])
        for i in range(n):
            closest[i] = trial_d[best, i]
    return centers, chosen

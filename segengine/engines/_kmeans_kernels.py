"""numba kernels of the KMeans engine (arrays in, arrays out; no Python objects).

Every kernel takes the data ``X`` as a C-contiguous float32 or float64 array and keeps the
centres in the dtype of ``X``; sums, weights, norms and distances are float64 so that
float32 input loses nothing in the reductions.

Determinism: the parallel kernels loop with ``prange`` over fixed blocks of ``block`` rows,
write per-block partial results and merge them afterwards in block order. The serial twins
run the very same per-block code in a plain loop, so serial, 1-thread and 2-thread runs give
bit-identical results.

Randomness never comes from numba's global RNG: callers pass the uniform numbers the
seeding needs.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from segengine import config

_NJIT = config.NJIT_OPTIONS


# The ``update`` argument of assign_pass as typed bools: a literal True / False would make numba
# compile assign_pass and its callees once per constant (Literal[bool] signatures).
_UPDATE = np.bool_(True)
_NO_UPDATE = np.bool_(False)


def parallel_flag(parallel: bool) -> bool | None:
    """The ``parallel`` argument for the kernels below: True, or None for the serial path.

    Every kernel tests ``parallel is not None and parallel``. numba prunes that branch before
    typing when the argument is None, so a serial call never compiles the ``prange`` twins
    (parfor compilation is the most expensive part of a first run); a plain bool still works
    but compiles both paths.

    Parameters
    ----------
    parallel : bool
        Whether the caller wants the block-parallel kernels.

    Returns
    -------
    bool or None
        True when ``parallel``, else None.
    """
    return True if parallel else None


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def row_sq_norms(X):
    """Squared Euclidean norm of every row, accumulated in float64."""
    n, d = X.shape
    out = np.empty(n, np.float64)
    for i in range(n):
        s = 0.0
        for f in range(d):
            v = np.float64(X[i, f])
            s += v * v
        out[i] = s
    return out


@numba.njit(**_NJIT)
def prepare_centers(centers, CT, cnorm):
    """Fill ``CT`` (d, k) with the transposed centres and ``cnorm`` (k,) with their squared norms.

    Parameters
    ----------
    centers : ndarray of shape (k, d)
    CT : ndarray of shape (d, k), written
    cnorm : ndarray of shape (k,), float64, written
    """
    # Centres transposed to (d, k) so the inner loop over clusters is contiguous and
    # vectorises even for small d; norms in float64 for the ||c||^2 - 2 x.c argmin.
    k, d = centers.shape
    for j in range(k):
        s = 0.0
        for f in range(d):
            v = centers[j, f]
            CT[f, j] = v
            s += np.float64(v) * np.float64(v)
        cnorm[j] = s


@numba.njit(**_NJIT)
def _sq_dist_row(X, i, C, j):
    d = X.shape[1]
    s = 0.0
    for f in range(d):
        v = np.float64(X[i, f]) - np.float64(C[j, f])
        s += v * v
    return s


@numba.njit(**_NJIT)
def _search_right(a, v):
    # The index np.searchsorted(a, v, side="right") returns, probe for probe the same
    # bisection numba runs (a NaN key counts as above everything, so it lands past the end).
    # numba's generic searchsorted and its NaN-aware <= took about 0.4 s to compile on a
    # first run (measured in a cold `segengine demo`); this loop takes under 0.1 s.
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        if a[mid] <= v or v != v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(**_NJIT)
def merge_blocks(psums, pw, sums, wsum):
    """Add the per-block centre sums and weights of `assign_pass` in block order.

    Parameters
    ----------
    psums : ndarray of shape (n_blocks, k, d)
    pw : ndarray of shape (n_blocks, k)
    sums : ndarray of shape (k, d), written
    wsum : ndarray of shape (k,), written
    """
    # Fixed block order: the reduction does not depend on which thread ran which block.
    nb, k, d = psums.shape
    # Loops rather than slice stores (sums[:, :] = 0.0), which numba lowers through its
    # generic broadcasting code; every caller up to lloyd compiles that body again.
    for j in range(k):
        wsum[j] = 0.0
        for f in range(d):
            sums[j, f] = 0.0
    for b in range(nb):
        for j in range(k):
            wsum[j] += pw[b, j]
            for f in range(d):
                sums[j, f] += psums[b, j, f]


# ---------------------------------------------------------------------------------------
# assignment (Lloyd step): labels by argmin ||c||^2 - 2 x.c, per-block centre sums
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _assign_block(X, CT, cnorm, w, labels, bsums, bw, start, stop, D, update):
    # x.c for the whole block in one BLAS gemm (like scikit-learn): 3-4x faster than any
    # loop nest numba generates for small d and k. Fixed block bounds keep it deterministic.
    d = X.shape[1]
    k = CT.shape[1]
    m = stop - start
    Db = D[:m]
    np.dot(X[start:stop], CT, Db)
    if update:
        # Loops rather than slice stores, as in merge_blocks.
        for j in range(k):
            bw[j] = 0.0
            for f in range(d):
                bsums[j, f] = 0.0
    changed = 0
    for r in range(m):
        i = start + r
        best = np.inf
        bj = 0
        for j in range(k):
            v = cnorm[j] - 2.0 * np.float64(Db[r, j])
            if v < best:
                best = v
                bj = j
        if labels[i] != bj:
            changed += 1
            labels[i] = bj
        if update:
            wi = w[i]
            bw[bj] += wi
            for f in range(d):
                bsums[bj, f] += wi * np.float64(X[i, f])
    return changed


@numba.njit(parallel=True, **_NJIT)
def _assign_par(X, CT, cnorm, w, labels, psums, pw, pchg, block, update):
    n = X.shape[0]
    k = CT.shape[1]
    nb = pchg.shape[0]
    for b in prange(nb):
        start = b * block
        stop = min(n, start + block)
        D = np.empty((block, k), dtype=X.dtype)
        pchg[b] = _assign_block(X, CT, cnorm, w, labels, psums[b], pw[b], start, stop, D, update)


@numba.njit(**_NJIT)
def assign_pass(X, CT, cnorm, w, labels, psums, pw, pchg, block, update, parallel):
    """One assignment pass: nearest centre of every row, with per-block centre sums when ``update``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    CT, cnorm : ndarray
        From `prepare_centers`.
    w : ndarray of shape (n,)
        Row weights.
    labels : ndarray of shape (n,), int64, updated in place
    psums, pw : ndarray of shape (n_blocks, k, d) and (n_blocks, k), written when ``update``
    pchg : ndarray of shape (n_blocks,), int64
        Rows whose label changed, per block.
    block : int
        Rows per block.
    update : bool
        Whether to accumulate the centre sums.
    parallel : bool or None
        Threaded blocks (see `parallel_flag`).

    Returns
    -------
    int
        Rows whose label changed.
    """
    # The serial loop stays in this body: numba links every callee's code into its caller
    # and optimises and compiles the whole again, so one wrapper level less between lloyd
    # and _assign_block took about 0.4 s off a first run.
    n = X.shape[0]
    nb = pchg.shape[0]
    if parallel is not None and parallel:
        _assign_par(X, CT, cnorm, w, labels, psums, pw, pchg, block, update)
    else:
        D = np.empty((block, CT.shape[1]), dtype=X.dtype)
        for b in range(nb):
            start = b * block
            stop = min(n, start + block)
            pchg[b] = _assign_block(X, CT, cnorm, w, labels, psums[b], pw[b], start, stop, D, update)
    # A loop, not pchg.sum(): numba's generic array sum costs its own compilation.
    changed = 0
    for b in range(nb):
        changed += pchg[b]
    return changed


@numba.njit(**_NJIT)
def assign_labels(X, centers, block, parallel):
    """Label of the nearest centre of every row (int64)."""
    n, d = X.shape
    k = centers.shape[0]
    CT = np.empty((d, k), X.dtype)
    cnorm = np.empty(k, np.float64)
    prepare_centers(centers, CT, cnorm)
    nb = (n + block - 1) // block
    # -1 (no label yet) by a loop: np.full's generic implementation costs its own compilation.
    labels = np.empty(n, np.int64)
    for i in range(n):
        labels[i] = -1
    dummy_s = np.empty((nb, 0, 0), np.float64)
    dummy_w = np.empty((nb, 0), np.float64)
    w = np.empty(0, np.float64)
    pchg = np.empty(nb, np.int64)
    assign_pass(X, CT, cnorm, w, labels, dummy_s, dummy_w, pchg, block, _NO_UPDATE, parallel)
    return labels


# ---------------------------------------------------------------------------------------
# nearest and second-nearest centre
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _two_block(X, CT, cnorm, C, labels, d1, d2, start, stop, D):
    k = CT.shape[1]
    m = stop - start
    Db = D[:m]
    np.dot(X[start:stop], CT, Db)
    for r in range(m):
        i = start + r
        b1 = np.inf
        b2 = np.inf
        j1 = 0
        j2 = -1
        for j in range(k):
            v = cnorm[j] - 2.0 * np.float64(Db[r, j])
            if v < b1:
                b2 = b1
                j2 = j1 if j > 0 else -1
                b1 = v
                j1 = j
            elif v < b2:
                b2 = v
                j2 = j
        labels[i] = j1
        # The argmin form cancels badly for the distances themselves: recompute the two
        # winners directly (O(d) each).
        d1[i] = _sq_dist_row(X, i, C, j1)
        d2[i] = _sq_dist_row(X, i, C, j2) if j2 >= 0 else np.inf


@numba.njit(parallel=True, **_NJIT)
def _two_par(X, CT, cnorm, C, labels, d1, d2, block):
    n = X.shape[0]
    k = CT.shape[1]
    nb = (n + block - 1) // block
    for b in prange(nb):
        D = np.empty((block, k), dtype=X.dtype)
        _two_block(X, CT, cnorm, C, labels, d1, d2, b * block, min(n, b * block + block), D)


@numba.njit(**_NJIT)
def nearest_two(X, centers, block, parallel):
    """Labels, squared distance to the nearest and to the second-nearest centre."""
    n, d = X.shape
    k = centers.shape[0]
    CT = np.empty((d, k), X.dtype)
    cnorm = np.empty(k, np.float64)
    prepare_centers(centers, CT, cnorm)
    labels = np.empty(n, np.int64)
    d1 = np.empty(n, np.float64)
    d2 = np.empty(n, np.float64)
    if parallel is not None and parallel:
        _two_par(X, CT, cnorm, centers, labels, d1, d2, block)
    else:
        D = np.empty((block, k), dtype=X.dtype)
        for b in range((n + block - 1) // block):
            _two_block(X, CT, cnorm, centers, labels, d1, d2, b * block, min(n, b * block + block), D)
    return labels, d1, d2


# ---------------------------------------------------------------------------------------
# inertia
# ---------------------------------------------------------------------------------------


@numba.njit(parallel=True, **_NJIT)
def _inertia_par(X, C, w, labels, part, block):
    n = X.shape[0]
    for b in prange(part.shape[0]):
        s = 0.0
        for i in range(b * block, min(n, b * block + block)):
            s += w[i] * _sq_dist_row(X, i, C, labels[i])
        part[b] = s


@numba.njit(**_NJIT)
def inertia(X, centers, w, labels, block, parallel):
    """Sum of weighted squared distances to the assigned centres (direct differences)."""
    n = X.shape[0]
    nb = (n + block - 1) // block
    part = np.empty(nb, np.float64)
    if parallel is not None and parallel:
        _inertia_par(X, centers, w, labels, part, block)
    else:
        for b in range(nb):
            s = 0.0
            for i in range(b * block, min(n, b * block + block)):
                s += w[i] * _sq_dist_row(X, i, centers, labels[i])
            part[b] = s
    tot = 0.0
    for b in range(nb):
        tot += part[b]
    return tot


# ---------------------------------------------------------------------------------------
# greedy k-means++ seeding
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _trials_block(X, xsq, w, closest, candT, csq, trial_d, ppot_b, start, stop, G):
    # Distances to the T candidates of the block by one gemm (||x||^2 + ||c||^2 - 2 x.c),
    # like scikit-learn; the data are centred by the caller, so the cancellation is mild.
    T = candT.shape[1]
    m = stop - start
    np.dot(X[start:stop], candT, G[:m])
    for t in range(T):
        ppot_b[t] = 0.0
    for r in range(m):
        i = start + r
        ci = closest[i]
        wi = w[i]
        for t in range(T):
            v = max(xsq[i] + csq[t] - 2.0 * np.float64(G[r, t]), 0.0)
            v = min(v, ci)
            trial_d[t, i] = v
            ppot_b[t] += wi * v


@numba.njit(parallel=True, **_NJIT)
def _trials_par(X, xsq, w, closest, candT, csq, trial_d, ppot, block):
    n = X.shape[0]
    T = candT.shape[1]
    for b in prange(ppot.shape[0]):
        G = np.empty((block, T), dtype=X.dtype)
        _trials_block(X, xsq, w, closest, candT, csq, trial_d, ppot[b], b * block, min(n, b * block + block), G)


@numba.njit(**_NJIT)
def kmeans_plusplus(X, xsq, w, k, n_trials, uniforms, block, parallel):
    """Greedy k-means++ seeding.

    ``uniforms`` holds ``1 + (k - 1) * n_trials`` numbers in [0, 1): one for the first
    centre (drawn with probability proportional to ``w``), then ``n_trials`` candidates per
    further centre (drawn proportional to ``w * D^2``); the candidate that lowers the
    weighted potential most is kept. ``xsq`` are the squared row norms of ``X``.
    """
    n, d = X.shape
    centers = np.empty((k, d), X.dtype)
    cw = np.empty(n, np.float64)
    s = 0.0
    for i in range(n):
        s += w[i]
        cw[i] = s
    # side="right" never lands on a zero-weight row (its cumulative weight equals its
    # predecessor's).
    idx = min(_search_right(cw, uniforms[0] * s), n - 1)
    for f in range(d):
        centers[0, f] = X[idx, f]
    if k == 1:
        return centers
    nb = (n + block - 1) // block
    closest = np.empty(n, np.float64)
    for i in range(n):
        closest[i] = _sq_dist_row(X, i, centers, np.int64(0))  # int64: not a Literal[int] signature
    cum = np.empty(n, np.float64)
    cand = np.empty(n_trials, np.int64)
    candT = np.empty((d, n_trials), X.dtype)
    csq = np.empty(n_trials, np.float64)
    trial_d = np.empty((n_trials, n), np.float64)
    ppot = np.empty((nb, n_trials), np.float64)
    pots = np.empty(n_trials, np.float64)
    G = np.empty((block, n_trials), X.dtype)
    for c in range(1, k):
        s = 0.0
        for i in range(n):
            s += w[i] * closest[i]
            cum[i] = s
        for t in range(n_trials):
            v = uniforms[1 + (c - 1) * n_trials + t] * s
            ct = min(_search_right(cum, v), n - 1)
            cand[t] = ct
            csq[t] = xsq[ct]
            for f in range(d):
                candT[f, t] = X[ct, f]
        if parallel is not None and parallel:
            _trials_par(X, xsq, w, closest, candT, csq, trial_d, ppot, block)
        else:
            for b in range(nb):
                _trials_block(X, xsq, w, closest, candT, csq, trial_d, ppot[b], b * block, min(n, b * block + block), G)
        for t in range(n_trials):
            pots[t] = 0.0
        for b in range(nb):
            for t in range(n_trials):
                pots[t] += ppot[b, t]
        best = 0
        for t in range(1, n_trials):
            if pots[t] < pots[best]:
                best = t
        for f in range(d):
            centers[c, f] = X[cand[best], f]
        for i in range(n):
            closest[i] = trial_d[best, i]
    return centers


@numba.njit(**_NJIT)
def center_data(X):
    """Centred copy of ``X``, the mean, squared row norms and mean per-feature variance.

    In two passes: the copy and the subtracted mean are in the dtype of ``X``; the squared row
    norms of the copy and the mean per-feature variance are float64.
    """
    n, d = X.shape
    # np.empty and explicit zeroing rather than np.zeros: one numba allocation helper less to
    # compile on a first run (this is the first kernel a report compiles).
    mean64 = np.empty(d, np.float64)
    dev = np.empty(d, np.float64)
    for f in range(d):
        mean64[f] = 0.0
        dev[f] = 0.0
    for i in range(n):
        for f in range(d):
            mean64[f] += X[i, f]
    for f in range(d):
        mean64[f] /= max(n, 1)
    mean = np.empty(d, X.dtype)
    for f in range(d):
        mean[f] = mean64[f]
    Xc = np.empty_like(X)
    xsq = np.empty(n, np.float64)
    for i in range(n):
        s = 0.0
        for f in range(d):
            v = X[i, f] - mean[f]
            Xc[i, f] = v
            s += np.float64(v) * np.float64(v)
            u = np.float64(X[i, f]) - mean64[f]
            dev[f] += u * u
        xsq[i] = s
    tot = 0.0
    for f in range(d):
        tot += dev[f]
    return Xc, mean, xsq, tot / (max(n, 1) * d)


# ---------------------------------------------------------------------------------------
# centre update shared by Lloyd and Hamerly
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _next_in_order(keys, prev):
    """Row that follows row ``prev`` in ``np.argsort(keys, kind="stable")``; the first for -1.

    That order sorts keys ascending with NaN after all others and equal keys by row index
    (numpy's and numba's). Walking it one row at a time costs O(n) a step, against O(n log n)
    for the whole sort, and the caller takes at most one row per empty cluster; it spares the
    first run numba's mergesort argsort, whose compilation took 1.2-1.5 s. Returns -1 past the
    last row.
    """
    best = -1
    kp = keys[prev] if prev >= 0 else 0.0
    for i in range(keys.shape[0]):
        ki = keys[i]
        if prev >= 0:
            if ki < kp or (kp != kp and ki == ki):
                continue  # smaller key: before prev
            if not (kp < ki or (ki != ki and kp == kp)) and i <= prev:
                continue  # equal key, not after prev
        if best >= 0:
            kb = keys[best]
            # Rows come in index order, so an equal key keeps the earlier row.
            if not (ki < kb or (kb != kb and ki == ki)):
                continue
        best = i
    return best


@numba.njit(**_NJIT)
def _new_centers(X, w, labels, sums, wsum, old, new):
    """Means of the clusters into ``new``; empty clusters take the farthest points.

    Returns the total squared shift between ``old`` and ``new`` and the number of
    relocated (empty) clusters.
    """
    n, d = X.shape
    k = old.shape[0]
    n_empty = 0
    for j in range(k):
        if wsum[j] <= 0.0:
            n_empty += 1
    # np.empty and a loop, not np.zeros(k, np.bool_): one numba allocation helper less to
    # compile on a first run.
    relocated = np.empty(k, np.bool_)
    for j in range(k):
        relocated[j] = False
    if n_empty > 0:
        # Rare: exact distances to the assigned (old) centres, farthest first, ties broken by
        # row index so the choice is deterministic. Only the first few rows of that order are
        # ever taken (at most one per cluster), so `_next_in_order` walks it one row at a time.
        dist = np.empty(n, np.float64)
        for i in range(n):
            dist[i] = -_sq_dist_row(X, i, old, labels[i])
        idx = np.int64(-1)  # int64: not a Literal[int] signature of _next_in_order
        first = _next_in_order(dist, idx)
        # Every row on its centre (fewer distinct rows than clusters): moving an empty
        # centre onto a duplicate row would change nothing but cost an iteration.
        for j in range(k if dist[first] < 0.0 else 0):
            if wsum[j] > 0.0:
                continue
            idx = first if idx < 0 else _next_in_order(dist, idx)
            o = labels[idx]
            wi = w[idx]
            if o != j and not relocated[o]:
                wsum[o] -= wi
                for f in range(d):
                    sums[o, f] -= wi * np.float64(X[idx, f])
            relocated[j] = True
            for f in range(d):
                new[j, f] = X[idx, f]
    shift = 0.0
    for j in range(k):
        if not relocated[j]:
            if wsum[j] > 0.0:
                inv = 1.0 / wsum[j]
                for f in range(d):
                    new[j, f] = sums[j, f] * inv
            else:
                # A cluster emptied by giving its only point away keeps its centre.
                for f in range(d):
                    new[j, f] = old[j, f]
        for f in range(d):
            u = np.float64(new[j, f]) - np.float64(old[j, f])
            shift += u * u
    return shift, n_empty


# ---------------------------------------------------------------------------------------
# Lloyd
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def lloyd(X, w, centers_init, max_iter, tol, block, parallel):
    """Lloyd iterations from ``centers_init``.

    Stops when the labels no longer change or the total squared centre shift is
    ``<= tol`` (already scaled by the caller); then labels are recomputed against the final
    centres. Returns ``(centers, labels, inertia, n_iter)``.
    """
    n, d = X.shape
    k = centers_init.shape[0]
    centers = centers_init.copy()
    new = np.empty_like(centers)
    CT = np.empty((d, k), X.dtype)
    cnorm = np.empty(k, np.float64)
    # -1 (no label yet) by a loop: np.full's generic implementation costs its own compilation.
    labels = np.empty(n, np.int64)
    for i in range(n):
        labels[i] = -1
    nb = (n + block - 1) // block
    psums = np.empty((nb, k, d), np.float64)
    pw = np.empty((nb, k), np.float64)
    pchg = np.empty(nb, np.int64)
    sums = np.empty((k, d), np.float64)
    wsum = np.empty(k, np.float64)
    strict = False
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        prepare_centers(centers, CT, cnorm)
        changed = assign_pass(X, CT, cnorm, w, labels, psums, pw, pchg, block, _UPDATE, parallel)
        merge_blocks(psums, pw, sums, wsum)
        shift, n_empty = _new_centers(X, w, labels, sums, wsum, centers, new)
        centers, new = new, centers
        if changed == 0 and n_empty == 0:
            # Same labels as the previous pass, so the new centres equal the old ones bit
            # for bit and the labels already match them.
            strict = True
            break
        if shift <= tol:
            break
    if not strict:
        prepare_centers(centers, CT, cnorm)
        assign_pass(X, CT, cnorm, w, labels, psums, pw, pchg, block, _NO_UPDATE, parallel)
    return centers, labels, inertia(X, centers, w, labels, block, parallel), n_iter


# ---------------------------------------------------------------------------------------
# Hamerly: one upper bound (to the own centre) and one lower bound (to any other centre)
# per point; a point is rescanned only when its bounds cannot rule out a change.
# ---------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _hamerly_block(X, C, CT, cnorm, xsq, w, labels, ub, lb, half_sep, bsums, bw, bcnt, start, stop, G, D, idx, first):
    # bsums / bw / bcnt receive the block's *changes* to the cluster sums, weights and
    # counts: only points that switch cluster cost O(d) (full sums on the first pass).
    # Points whose bounds cannot rule out a switch are gathered into G and rescanned with
    # one gemm, as fast per point as a Lloyd pass.
    d = X.shape[1]
    k = CT.shape[1]
    bsums[:, :] = 0.0
    bw[:] = 0.0
    bcnt[:] = 0
    m = 0
    if first:
        m = stop - start
        for r in range(m):
            idx[r] = start + r
        np.dot(X[start:stop], CT, D[:m])
    else:
        for i in range(start, stop):
            a = labels[i]
            bound = max(half_sep[a], lb[i])
            if ub[i] <= bound:
                continue
            ub[i] = np.sqrt(_sq_dist_row(X, i, C, a))
            if ub[i] <= bound:
                continue
            for f in range(d):
                G[m, f] = X[i, f]
            idx[m] = i
            m += 1
        if m > 0:
            np.dot(G[:m], CT, D[:m])
    changed = 0
    for r in range(m):
        i = idx[r]
        a = labels[i]
        b1 = np.inf
        b2 = np.inf
        j1 = 0
        for j in range(k):
            v = cnorm[j] - 2.0 * np.float64(D[r, j])
            if v < b1:
                b2 = b1
                b1 = v
                j1 = j
            elif v < b2:
                b2 = v
        ub[i] = np.sqrt(max(xsq[i] + b1, 0.0))
        lb[i] = np.sqrt(max(xsq[i] + b2, 0.0)) if k > 1 else np.inf
        if j1 != a:
            changed += 1
            labels[i] = j1
            wi = w[i]
            bw[j1] += wi
            bcnt[j1] += 1
            for f in range(d):
                bsums[j1, f] += wi * np.float64(X[i, f])
            if a >= 0:
                bw[a] -= wi
                bcnt[a] -= 1
                for f in range(d):
                    bsums[a, f] -= wi * np.float64(X[i, f])
    return changed


@numba.njit(parallel=True, **_NJIT)
def _hamerly_par(X, C, CT, cnorm, xsq, w, labels, ub, lb, half_sep, psums, pw, pcnt, pchg, block, first):
    n = X.shape[0]
    k = CT.shape[1]
    d = X.shape[1]
    for b in prange(pchg.shape[0]):
        G = np.empty((block, d), dtype=X.dtype)
        D = np.empty((block, k), dtype=X.dtype)
        idx = np.empty(block, np.int64)
        pchg[b] = _hamerly_block(
            X, C, CT, cnorm, xsq, w, labels, ub, lb, half_sep, psums[b], pw[b], pcnt[b],
            b * block, min(n, b * block + block), G, D, idx, first,
        )


@numba.njit(**_NJIT)
def _full_sums(X, w, labels, sums, wsum):
    d = X.shape[1]
    sums[:, :] = 0.0
    wsum[:] = 0.0
    for i in range(X.shape[0]):
        lab = labels[i]
        wi = w[i]
        wsum[lab] += wi
        for f in range(d):
            sums[lab, f] += wi * np.float64(X[i, f])


@numba.njit(**_NJIT)
def hamerly(X, w, xsq, centers_init, max_iter, tol, block, parallel):
    """Hamerly-accelerated Lloyd iterations; same contract and stopping rule as ``lloyd``.

    Centre sums are updated incrementally from the points that switch cluster (block deltas
    merged in block order), and recomputed from scratch whenever a cluster runs empty or
    nearly weightless, where accumulated rounding could matter.
    """
    n, d = X.shape
    k = centers_init.shape[0]
    centers = centers_init.copy()
    new = np.empty_like(centers)
    CT = np.empty((d, k), X.dtype)
    cnorm = np.empty(k, np.float64)
    labels = np.full(n, -1, np.int64)
    ub = np.empty(n, np.float64)
    lb = np.empty(n, np.float64)
    half_sep = np.empty(k, np.float64)
    p = np.zeros(k, np.float64)
    nb = (n + block - 1) // block
    psums = np.empty((nb, k, d), np.float64)
    pw = np.empty((nb, k), np.float64)
    pcnt = np.empty((nb, k), np.int64)
    pchg = np.zeros(nb, np.int64)
    sums = np.zeros((k, d), np.float64)
    wsum = np.zeros(k, np.float64)
    cnt = np.zeros(k, np.int64)
    work_sums = np.empty((k, d), np.float64)
    work_w = np.empty(k, np.float64)
    D = np.empty((block, k), dtype=X.dtype)
    G = np.empty((block, d), dtype=X.dtype)
    idx = np.empty(block, np.int64)
    w_floor = 0.0
    for i in range(n):
        w_floor += w[i]
    w_floor *= 1e-9 / k
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        first = it == 0
        prepare_centers(centers, CT, cnorm)
        if not first:
            # Bounds follow the centre moves of the previous update.
            p1 = -1.0
            p2 = -1.0
            jm = -1
            for j in range(k):
                if p[j] > p1:
                    p2 = p1
                    p1 = p[j]
                    jm = j
                elif p[j] > p2:
                    p2 = p[j]
            for i in range(n):
                a = labels[i]
                ub[i] += p[a]
                lb[i] -= p2 if a == jm else p1
            for j in range(k):
                m = np.inf
                for jj in range(k):
                    if jj != j:
                        m = min(m, _sq_dist_row(centers, j, centers, jj))
                half_sep[j] = 0.5 * np.sqrt(m)
        if parallel is not None and parallel:
            _hamerly_par(X, centers, CT, cnorm, xsq, w, labels, ub, lb, half_sep, psums, pw, pcnt, pchg, block, first)
        else:
            for b in range(nb):
                pchg[b] = _hamerly_block(
                    X, centers, CT, cnorm, xsq, w, labels, ub, lb, half_sep, psums[b], pw[b], pcnt[b],
                    b * block, min(n, b * block + block), G, D, idx, first,
                )
        changed = pchg.sum()
        if changed > 0:
            for b in range(nb):
                for j in range(k):
                    wsum[j] += pw[b, j]
                    cnt[j] += pcnt[b, j]
                    for f in range(d):
                        sums[j, f] += psums[b, j, f]
            rebuild = False
            for j in range(k):
                if cnt[j] == 0 or wsum[j] <= w_floor:
                    rebuild = True
            if rebuild:
                _full_sums(X, w, labels, sums, wsum)
        # The relocation step edits its inputs: give it copies, the running sums must stay
        # those of the current labels.
        work_sums[:, :] = sums
        work_w[:] = wsum
        shift, n_empty = _new_centers(X, w, labels, work_sums, work_w, centers, new)
        for j in range(k):
            p[j] = np.sqrt(_sq_dist_row(new, j, centers, j))
        centers, new = new, centers
        if changed == 0 and n_empty == 0:
            break
        if shift <= tol:
            break
    # Always a final plain pass (even after strict convergence): the bounded scans compute
    # x.c differently from the gemm of `assign_pass`, and labels must equal `predict`'s.
    prepare_centers(centers, CT, cnorm)
    assign_pass(X, CT, cnorm, w, labels, psums, pw, pchg, block, _NO_UPDATE, parallel)
    return centers, labels, inertia(X, centers, w, labels, block, parallel), n_iter


# ---------------------------------------------------------------------------------------
# distances to every centre (transform)
# ---------------------------------------------------------------------------------------


@numba.njit(parallel=True, **_NJIT)
def _center_dist_par(X, C, out, block):
    n = X.shape[0]
    k = C.shape[0]
    for b in prange((n + block - 1) // block):
        for i in range(b * block, min(n, b * block + block)):
            for j in range(k):
                out[i, j] = np.sqrt(_sq_dist_row(X, i, C, j))


@numba.njit(**_NJIT)
def center_distances(X, centers, block, parallel):
    """Euclidean distance of every row to every centre, (n, k) in the dtype of ``X``."""
    n = X.shape[0]
    k = centers.shape[0]
    out = np.empty((n, k), X.dtype)
    if parallel is not None and parallel:
        _center_dist_par(X, centers, out, block)
    else:
        for i in range(n):
            for j in range(k):
                out[i, j] = np.sqrt(_sq_dist_row(X, i, centers, j))
    return out

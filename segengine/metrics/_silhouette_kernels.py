"""numba kernels of the silhouette metrics (arrays only; the wrappers live in ``silhouette.py``).

Layout shared by every kernel:

* ``XT`` is the data transposed to ``(n_features, n_points)`` float64, C-contiguous, so that the
  innermost loop runs over points with unit stride and vectorises (a loop over 10 features
  would not).
* Distances are computed from coordinate differences, never from ``|x|^2 + |y|^2 - 2 x.y``:
  that identity cancels catastrophically for near-duplicates and for data far from the origin.
* ``rows`` are the points to score (all of them, or a sample); in the one-sided kernels each
  row is processed by one thread from start to end in a fixed order, so the result of a row
  does not depend on the thread count nor on how rows are grouped into blocks.

Two accumulation schemes:

* "groups": points are sorted so that every group (a cluster, or a cell = a tuple of labels
  across several labelings) is a contiguous range of columns. The sum of a row's distances to
  a group is then a contiguous (vectorised) reduction.
* "scatter": each distance is added to one accumulator per labeling (``flat_idx``); used when
  the cells are too many for the group scheme.
* "pair once" (``silhouette_sym_*``): when all points are scored, each pair is computed once
  and added for both of its points; units of work (pairs of super-blocks) own their buffers,
  merged afterwards in a fixed order.

Compile time (a first run compiles these with an empty cache; issue #18). numba links every
compiled callee into its caller, and LLVM re-optimises and re-emits the linked code at each
level, so a chain of kernels compiles its innermost code once per level; numba's IR inlining
(``inline="always"``) avoids that but deep-copies the callee, which is as slow for anything
larger than a few loops. Hence: the serial entry points (``silhouette_*_serial``) are Python
loops over one or two flat kernels (a few calls per block of rows), ``inline="always"`` is kept
for small helpers, and one distance routine (`_squared4`) serves every scheme. The parallel
twins compile only when called.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from segengine import config

# Columns per chunk (config.SILHOUETTE_CHUNK says why).
CHUNK = config.SILHOUETTE_CHUNK

_NJIT = config.NJIT_OPTIONS


@numba.njit(inline="always", **_NJIT)
def _lane_sum(seg, m):
    """sum(seg[:m]) in eight fixed lanes merged in a fixed order.

    Without fast-math reassociation (config.NJIT_OPTIONS) LLVM keeps a plain ``s += v`` loop as
    one serial chain; the lanes written out are independent chains the vector unit can run side
    by side, and the order of every addition is fixed by this source, not by the compiler.
    """
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    j = 0
    while j + 7 < m:
        a0 += seg[j]
        a1 += seg[j + 1]
        a2 += seg[j + 2]
        a3 += seg[j + 3]
        a4 += seg[j + 4]
        a5 += seg[j + 5]
        a6 += seg[j + 6]
        a7 += seg[j + 7]
        j += 8
    s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    while j < m:
        s += seg[j]
        j += 1
    return s


@numba.njit(inline="always", **_NJIT)
def _lane_sum_into(seg, cseg, m):
    """`_lane_sum` of ``seg[:m]`` that also adds each value to ``cseg`` (same lanes and order)."""
    for j in range(m):  # element-wise: vectorises without reassociation
        cseg[j] += seg[j]
    return _lane_sum(seg, m)


@numba.njit(inline="always", **_NJIT)
def _squared4(XT, P, c0, w, T):
    """T[q, :w] = squared distances between point P[q] and columns c0..c0+w of XT, q = 0..3.

    Four points share a pass (each column value loaded serves all four) and features go two at
    a time (``T`` is loaded and stored half as often). Fewer than four points are padded by the
    caller with copies of a real one: a point's arithmetic does not depend on its neighbours,
    and this one routine compiles in a fraction of the time of separate 1-, 2- and 4-point
    versions (issue #18) for at most three wasted rows per block.
    Loops index slices from 0: an index LLVM cannot prove non-negative keeps numba's
    negative-index wraparound, which turns the vector loads into gathers.
    """
    d = XT.shape[0]
    t0 = T[0]
    t1 = T[1]
    t2 = T[2]
    t3 = T[3]
    for j in range(w):
        t0[j] = 0.0
        t1[j] = 0.0
        t2[j] = 0.0
        t3[j] = 0.0
    f = 0
    while f + 1 < d:
        p0a = P[0, f]
        p0b = P[0, f + 1]
        p1a = P[1, f]
        p1b = P[1, f + 1]
        p2a = P[2, f]
        p2b = P[2, f + 1]
        p3a = P[3, f]
        p3b = P[3, f + 1]
        ra = XT[f, c0:c0 + w]
        rb = XT[f + 1, c0:c0 + w]
        for j in range(w):
            va = ra[j]
            vb = rb[j]
            ua = va - p0a
            ub = vb - p0b
            t0[j] += ua * ua + ub * ub
            ua = va - p1a
            ub = vb - p1b
            t1[j] += ua * ua + ub * ub
            ua = va - p2a
            ub = vb - p2b
            t2[j] += ua * ua + ub * ub
            ua = va - p3a
            ub = vb - p3b
            t3[j] += ua * ua + ub * ub
        f += 2
    if f < d:
        ra = XT[f, c0:c0 + w]
        p0a = P[0, f]
        p1a = P[1, f]
        p2a = P[2, f]
        p3a = P[3, f]
        for j in range(w):
            va = ra[j]
            ua = va - p0a
            t0[j] += ua * ua
            ua = va - p1a
            t1[j] += ua * ua
            ua = va - p2a
            t2[j] += ua * ua
            ua = va - p3a
            t3[j] += ua * ua


@numba.njit(inline="always", **_NJIT)
def _load_points(XT, rows, r0, r1, P):
    """P[ii] = point rows[r0 + ii], features contiguous.

    Rows up to the next multiple of four repeat the last point (the padding `_squared4` expects).
    """
    d = XT.shape[0]
    nr = r1 - r0
    for ii in range((nr + 3) // 4 * 4):
        p = rows[r0 + min(ii, nr - 1)]
        for f in range(d):
            P[ii, f] = XT[f, p]


@numba.njit(**_NJIT)
def _group_sums_into(XT, rows, starts, r0, r1, P, T, buf):
    """buf[ii, g] = sum of distances from point rows[r0 + ii] to the points of group g.

    Groups are the contiguous column ranges ``starts[g]:starts[g + 1]`` of XT, from column 0;
    columns from ``starts[-1]`` on are never compared with (they can hold the scored points
    themselves when those are not group members). ``P`` (at least r1 - r0 rounded up to four
    rows, d columns) and ``T`` (4, CHUNK) are scratch, allocated once by the caller for all its
    blocks.
    """
    n = starts[starts.shape[0] - 1]
    n_groups = starts.shape[0] - 1
    nr = r1 - r0
    _load_points(XT, rows, r0, r1, P)
    for ii in range(nr):
        for g in range(n_groups):
            buf[ii, g] = 0.0
    g_first = 0
    for c0 in range(0, n, CHUNK):
        c1 = min(n, c0 + CHUNK)
        w = c1 - c0
        while starts[g_first + 1] <= c0:
            g_first += 1
        # Rows four at a time: fixed by the block, never by the threads.
        for i4 in range(0, nr, 4):
            _squared4(XT, P[i4:i4 + 4], c0, w, T)
            for q in range(min(4, nr - i4)):
                t = T[q]
                for j in range(w):  # element-wise: vectorises without reassociation
                    t[j] = math.sqrt(t[j])
                g = g_first
                while g < n_groups and starts[g] < c1:
                    lo = max(starts[g], c0) - c0
                    hi = min(starts[g + 1], c1) - c0
                    buf[i4 + q, g] += _lane_sum(t[lo:hi], hi - lo)
                    g += 1


@numba.njit(**_NJIT)
def _group_sums_block(XT, rows, starts, r0, r1, buf):
    """`_group_sums_into` with its own scratch (for callers outside this module)."""
    nr = r1 - r0
    _group_sums_into(XT, rows, starts, r0, r1, np.empty(((nr + 3) // 4 * 4, XT.shape[0])),
                     np.empty((4, CHUNK)), buf)


@numba.njit(**_NJIT)
def _scatter_sums_into(XT, rows, flat_idx, r0, r1, P, T, buf):
    """buf[ii, flat_idx[l, j]] = sum of distance(rows[r0 + ii], j) over points j, per labeling l.

    ``P`` and ``T`` are scratch, as in `_group_sums_into`.
    """
    n = XT.shape[1]
    m = flat_idx.shape[0]
    nr = r1 - r0
    _load_points(XT, rows, r0, r1, P)
    for ii in range(nr):
        for q in range(buf.shape[1]):
            buf[ii, q] = 0.0
    for c0 in range(0, n, CHUNK):
        c1 = min(n, c0 + CHUNK)
        w = c1 - c0
        for i4 in range(0, nr, 4):
            _squared4(XT, P[i4:i4 + 4], c0, w, T)
            for q in range(min(4, nr - i4)):
                t = T[q]
                for j in range(w):
                    t[j] = math.sqrt(t[j])
                acc = buf[i4 + q]
                for lab in range(m):
                    idx = flat_idx[lab, c0:c1]
                    for j in range(w):
                        acc[idx[j]] += t[j]


@numba.njit(inline="always", **_NJIT)
def _silhouette_from_sums(sums, own_flat, sizes, offsets, r0, r1, out):
    """out[l, r] = silhouette of row r under labeling l from its per-cluster distance sums.

    ``sums[ii]`` holds the sums of row r0 + ii for the clusters of every labeling, labeling l
    occupying ``offsets[l]:offsets[l + 1]``. ``own_flat[l, r]`` is the row's own cluster (flat
    index). Conventions of Rousseeuw / scikit-learn: a point alone in its cluster scores 0, and
    so does a point with a = b = 0.
    """
    m = offsets.shape[0] - 1
    for ii in range(r1 - r0):
        r = r0 + ii
        for lab in range(m):
            c = own_flat[lab, r]
            size_c = sizes[c]
            if size_c <= 1:
                out[lab, r] = 0.0
                continue
            a = sums[ii, c] / (size_c - 1)
            b = np.inf
            for q in range(offsets[lab], offsets[lab + 1]):
                if q != c and sizes[q] > 0:
                    v = sums[ii, q] / sizes[q]
                    if v < b:
                        b = v
            top = max(a, b)
            if top > 0.0 and b < np.inf:
                out[lab, r] = (b - a) / top
            else:
                out[lab, r] = 0.0


@numba.njit(**_NJIT)
def _cells_silhouette(buf, cell_flat, own_flat, sizes, offsets, r0, r1, sums, out):
    """out[:, r0:r1] from the rows' cell sums ``buf``, folded into cluster sums (``sums``, scratch)."""
    n_groups = cell_flat.shape[1]
    m = cell_flat.shape[0]
    for ii in range(r1 - r0):
        for c in range(sizes.shape[0]):
            sums[ii, c] = 0.0
        for lab in range(m):
            for g in range(n_groups):
                sums[ii, cell_flat[lab, g]] += buf[ii, g]
    _silhouette_from_sums(sums, own_flat, sizes, offsets, r0, r1, out)


@numba.njit(**_NJIT)
def _cells_block(XT, rows, starts, cell_flat, own_flat, sizes, offsets, r0, r1, out):
    """One block of rows with scratch of its own (one block per thread in the parallel twin)."""
    nr = r1 - r0
    buf = np.empty((nr, starts.shape[0] - 1))
    _group_sums_into(XT, rows, starts, r0, r1, np.empty(((nr + 3) // 4 * 4, XT.shape[0])),
                     np.empty((4, CHUNK)), buf)
    _cells_silhouette(buf, cell_flat, own_flat, sizes, offsets, r0, r1,
                      np.empty((nr, sizes.shape[0])), out)


@numba.njit(**_NJIT)
def _scatter_block(XT, rows, flat_idx, own_flat, sizes, offsets, r0, r1, out):
    """One block of rows with scratch of its own (one block per thread in the parallel twin)."""
    nr = r1 - r0
    sums = np.empty((nr, sizes.shape[0]))
    _scatter_sums_into(XT, rows, flat_idx, r0, r1, np.empty(((nr + 3) // 4 * 4, XT.shape[0])),
                       np.empty((4, CHUNK)), sums)
    _silhouette_from_sums(sums, own_flat, sizes, offsets, r0, r1, out)


def silhouette_cells_serial(XT, rows, starts, cell_flat, own_flat, sizes, offsets, block, out, keep=None):
    """Silhouette of ``rows`` under every labeling, group ("cell") scheme, one thread.

    Parameters (all arrays; IN unless said otherwise)
    ----------
    XT : (d, n) float64, points sorted by cell.
    rows : (r,) int64, positions (in XT) of the points to score.
    starts : (G + 1,) int64, cell g is XT[:, starts[g]:starts[g + 1]].
    cell_flat : (m, G) int64, flat cluster index of cell g under labeling l.
    own_flat : (m, r) int64, flat cluster index of each scored row under labeling l.
    sizes : (K,) int64, size of every flat cluster (K = sum of the k of the labelings).
    offsets : (m + 1,) int64, labeling l owns flat clusters offsets[l]:offsets[l + 1].
    block : int, rows per block.
    out : (m, r) float64, OUT.
    keep : (r, G) float64, optional OUT: each row's distance sums per cell, kept for the caller.
    """
    # A Python loop over two kernels, not a kernel calling them: numba links a callee into its
    # caller and LLVM re-optimises and re-emits it there, which cost the first run (an empty
    # cache) about a second more per level (issue #18). The loop costs microseconds per block.
    r = rows.shape[0]
    P = np.empty(((block + 3) // 4 * 4, XT.shape[0]))
    T = np.empty((4, CHUNK))
    buf = np.empty((block, starts.shape[0] - 1))
    sums = np.empty((block, sizes.shape[0]))
    for r0 in range(0, r, block):
        r1 = min(r, r0 + block)
        # A row slice of a C-contiguous array is C-contiguous: the same compiled signature.
        into = buf if keep is None else keep[r0:r1]
        _group_sums_into(XT, rows, starts, r0, r1, P, T, into)
        _cells_silhouette(into, cell_flat, own_flat, sizes, offsets, r0, r1, sums, out)


@numba.njit(parallel=True, **_NJIT)
def silhouette_cells_parallel(XT, rows, starts, cell_flat, own_flat, sizes, offsets, block, out):
    """Parallel twin of `silhouette_cells_serial` (blocks of rows spread over threads)."""
    r = rows.shape[0]
    n_blocks = (r + block - 1) // block
    for b in numba.prange(n_blocks):
        r0 = b * block
        _cells_block(XT, rows, starts, cell_flat, own_flat, sizes, offsets,
                     r0, min(r, r0 + block), out)


def silhouette_scatter_serial(XT, rows, flat_idx, own_flat, sizes, offsets, block, out):
    """Silhouette of ``rows`` under every labeling, scatter scheme, one thread.

    ``flat_idx`` (m, n) int64 gives the flat cluster index of every point (column of XT) under
    every labeling; the other arguments are those of `silhouette_cells_serial`.
    """
    # Python loop over kernels, like `silhouette_cells_serial` (issue #18).
    r = rows.shape[0]
    P = np.empty(((block + 3) // 4 * 4, XT.shape[0]))
    T = np.empty((4, CHUNK))
    sums = np.empty((block, sizes.shape[0]))
    for r0 in range(0, r, block):
        r1 = min(r, r0 + block)
        _scatter_sums_into(XT, rows, flat_idx, r0, r1, P, T, sums)
        _silhouette_from_sums(sums, own_flat, sizes, offsets, r0, r1, out)


@numba.njit(parallel=True, **_NJIT)
def silhouette_scatter_parallel(XT, rows, flat_idx, own_flat, sizes, offsets, block, out):
    """Parallel twin of `silhouette_scatter_serial`."""
    r = rows.shape[0]
    n_blocks = (r + block - 1) // block
    for b in numba.prange(n_blocks):
        r0 = b * block
        _scatter_block(XT, rows, flat_idx, own_flat, sizes, offsets, r0, min(r, r0 + block), out)


@numba.njit(**_NJIT)
def _sym_unit(XT, starts, cell_of, units, u, super_size, tile, bufs):
    """One unit of work: pairs between super-blocks A < B, or all pairs within A and within B.

    Writes only to its own buffers: bufs[u, 0] (points of A) and bufs[u, 1] (points of B).
    Between A and B, the points of A meet only the cells of B and vice versa; within a block,
    only its own cells. The pairs go by tiles of rows i0:i1 x columns j0:j1: within a block,
    the diagonal tile then those to its right; between blocks, every tile of A x B.

    In a tile, row i's sums go to ``rowdst[g - row_goff, i - row_off]`` (g = cell of the
    column); off the diagonal each distance also serves column j, in
    ``coldst[cell(i) - col_goff, j - col_off]``. (The offsets let a buffer cover only the cells
    and points one unit of work can touch.) On the diagonal every ordered pair of the tile is
    visited, so only the row side is added. Points are sorted by cell, so consecutive rows
    usually share a cell: column contributions are summed over a run of rows of one cell
    before being added.

    The tile code is written here rather than in a function of its own: numba links a callee
    into its caller and LLVM re-optimises and re-emits it there, and numba's IR inlining
    deep-copies it; either cost the first run a second or more (issue #18).
    """
    d, n = XT.shape
    n_groups = starts.shape[0] - 1
    tmp = np.empty((4, tile))
    col = np.empty(tile)
    P = np.empty((4, d))
    within = units[u, 2] == 1
    for side in range(2 if within else 1):
        blk = units[u, side]
        if blk < 0:
            continue
        r0 = blk * super_size
        r1 = min(n, r0 + super_size)
        if within:
            c0 = r0
            c1 = r1
            rowdst = bufs[u, side]
            coldst = rowdst
            row_goff = cell_of[r0]
            col_goff = row_goff
        else:
            c0 = units[u, 1] * super_size
            c1 = min(n, c0 + super_size)
            rowdst = bufs[u, 0]
            coldst = bufs[u, 1]
            row_goff = cell_of[c0]
            col_goff = cell_of[r0]
        for i0 in range(r0, r1, tile):
            i1 = min(r1, i0 + tile)
            for j0 in range(i0 if within else c0, c1, tile):
                j1 = min(c1, j0 + tile)
                diag = within and j0 == i0
                w = j1 - j0
                for j in range(w):
                    col[j] = 0.0
                g_first = 0
                while starts[g_first + 1] <= j0:
                    g_first += 1
                run_cell = cell_of[i0]
                i = i0
                while i < i1:
                    # Rows four at a time (the last ones padded): fixed by the tile, never by
                    # the threads.
                    n_pair = min(4, i1 - i)
                    for q in range(4):
                        for f in range(d):
                            P[q, f] = XT[f, i + min(q, n_pair - 1)]
                    _squared4(XT, P, j0, w, tmp)
                    for q in range(n_pair):
                        r = i + q
                        t = tmp[q]
                        for j in range(w):  # element-wise: vectorises without reassociation
                            t[j] = math.sqrt(t[j])
                        if not diag:
                            c = cell_of[r]
                            if c != run_cell:
                                dst = coldst[run_cell - col_goff, j0 - c0:j1 - c0]
                                for j in range(w):
                                    dst[j] += col[j]
                                    col[j] = 0.0
                                run_cell = c
                        g = g_first
                        while g < n_groups and starts[g] < j1:
                            lo = max(starts[g], j0) - j0
                            hi = min(starts[g + 1], j1) - j0
                            seg = t[lo:hi]
                            s = 0.0
                            if diag:
                                s = _lane_sum(seg, hi - lo)
                            else:
                                # One pass: the distance serves the row sum and the column run.
                                s = _lane_sum_into(seg, col[lo:hi], hi - lo)
                            rowdst[g - row_goff, r - r0] += s
                            g += 1
                    i += n_pair
                if not diag:
                    dst = coldst[run_cell - col_goff, j0 - c0:j1 - c0]
                    for j in range(w):
                        dst[j] += col[j]


@numba.njit(**_NJIT)
def _merge_units(bufs, units, super_size, cell_of, accT):
    """Sum the units' buffers into ``accT``, unit by unit in table order (a fixed order)."""
    n = cell_of.shape[0]
    for u in range(units.shape[0]):
        for side in range(2):
            blk = units[u, side]
            if blk < 0:
                continue
            # Cells covered by this buffer: its own block's within a block, else the other's.
            other = blk if units[u, 2] == 1 else units[u, 1 - side]
            o0 = other * super_size
            g0 = cell_of[o0]
            g1 = cell_of[min(n, o0 + super_size) - 1] + 1
            c0 = blk * super_size
            w = min(n, c0 + super_size) - c0
            src = bufs[u, side]
            for g in range(g0, g1):
                dst = accT[g, c0:c0 + w]
                row = src[g - g0, :w]
                for j in range(w):
                    dst[j] += row[j]


@numba.njit(**_NJIT)
def _finish_block_from_accT(accT, cell_flat, own_flat, sizes, offsets, r0, r1, out):
    m, n_groups = cell_flat.shape
    sums = np.zeros((r1 - r0, sizes.shape[0]))
    for ii in range(r1 - r0):
        for g in range(n_groups):
            v = accT[g, r0 + ii]
            for lab in range(m):
                sums[ii, cell_flat[lab, g]] += v
    _silhouette_from_sums(sums, own_flat, sizes, offsets, r0, r1, out)


def silhouette_sym_serial(XT, starts, cell_of, units, super_size, tile, span, cell_flat,
                          own_flat, sizes, offsets, block, out):
    """Exact silhouette of all points using each pair once (cell scheme, one thread).

    Parameters (all arrays; IN unless said otherwise)
    ----------
    XT : (d, n) float64, points sorted by cell.
    starts : (G + 1,) int64, cell g is XT[:, starts[g]:starts[g + 1]].
    cell_of : (n,) int64, cell of every point (non-decreasing).
    units : (U, 3) int64, units of work over super-blocks of ``super_size`` points:
        (A, B, 0) = all pairs between A and B (A < B); (A, B, 1) = all pairs within A and
        within B (B = -1: none). Together they cover every pair once. Each unit accumulates
        into buffers of its own, merged afterwards in table order, so the threads never share
        memory and the result does not depend on their number.
    super_size, tile : int, points per super-block and per sub-tile side.
    span : int, largest number of cells met in one super-block (buffer height).
    cell_flat, own_flat, sizes, offsets : see `silhouette_cells_serial` (rows = all points in
        sorted order).
    block : int, rows per block of the final pass.
    out : (m, n) float64, OUT, silhouettes in sorted order.
    """
    # Python loops over kernels, like `silhouette_cells_serial` (issue #18): a dozen calls.
    n = XT.shape[1]
    n_groups = starts.shape[0] - 1
    bufs = np.zeros((units.shape[0], 2, span, super_size))
    for u in range(units.shape[0]):
        _sym_unit(XT, starts, cell_of, units, u, super_size, tile, bufs)
    accT = np.zeros((n_groups, n))
    _merge_units(bufs, units, super_size, cell_of, accT)
    for r0 in range(0, n, block):
        _finish_block_from_accT(accT, cell_flat, own_flat, sizes, offsets, r0, min(n, r0 + block),
                                out)


@numba.njit(parallel=True, **_NJIT)
def silhouette_sym_parallel(XT, starts, cell_of, units, super_size, tile, span, cell_flat,
                            own_flat, sizes, offsets, block, out):
    """Parallel twin of `silhouette_sym_serial` (same additions in the same order)."""
    n = XT.shape[1]
    n_groups = starts.shape[0] - 1
    bufs = np.zeros((units.shape[0], 2, span, super_size))
    for u in numba.prange(units.shape[0]):
        _sym_unit(XT, starts, cell_of, units, u, super_size, tile, bufs)
    accT = np.zeros((n_groups, n))
    _merge_units(bufs, units, super_size, cell_of, accT)
    n_blocks = (n + block - 1) // block
    for b in numba.prange(n_blocks):
        _finish_block_from_accT(accT, cell_flat, own_flat, sizes, offsets, b * block,
                                min(n, (b + 1) * block), out)


@numba.njit(**_NJIT)
def simplified_silhouette_kernel(d1, d2, out):
    """out[i] = (b - a) / max(a, b) with a = sqrt(d1[i]), b = sqrt(d2[i]); 0 when both are 0."""
    for i in range(d1.shape[0]):
        a = math.sqrt(max(d1[i], 0.0))
        b = math.sqrt(max(d2[i], 0.0))
        top = max(a, b)
        out[i] = (b - a) / top if top > 0.0 else 0.0

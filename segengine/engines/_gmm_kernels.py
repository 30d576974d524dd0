"""numba kernels of the Gaussian mixture engine (arrays only; the estimator lives in ``gmm.py``).

Layout shared by every kernel
-----------------------------
Covariance types are coded as integers (``FULL``, ``TIED``, ``DIAG``, ``SPHERICAL``) so that one
driver compiles once for all of them; the per-type work sits in one small function each.
Cholesky factors of the precisions are passed as a 2-D array ``pc`` whose shape depends on the type:

=========  ===============  ==========================================================
type       ``pc`` shape     content
=========  ===============  ==========================================================
full       (K, d*d)         row k is the upper-triangular U_k (row-major), U_k U_k^T = P_k
tied       (1, d*d)         the shared U
diag       (K, d)           1 / sqrt(diagonal variances)
spherical  (K, 1)           1 / sqrt(variance)
=========  ===============  ==========================================================

Rows are processed in fixed blocks of ``config.BLOCK_ROWS``; every reduction is written per block
and merged by the caller in block order, so a result never depends on the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np

from segengine import config

FULL = 0
TIED = 1
DIAG = 2
SPHERICAL = 3

_BLOCK = config.BLOCK_ROWS
# Rows per transposed tile inside a block (config.GMM_TILE_ROWS says why).
_SUB = config.GMM_TILE_ROWS
# Floating-point flags. Reassociation and FMA contraction are applied by LLVM differently
# depending on where a function gets inlined (serial or parallel driver, fresh compile or
# linked from the on-disk cache), so the last bits could depend on the compilation history
# (observed: block log-likelihood sums, 1 ulp). Everything here is strict IEEE apart from
# signed zeros, except the row reductions of the M-step statistics (`_tile_stats`), which use
# the library's fast-math set (config.NJIT_OPTIONS: no reassociation, so sums keep their order).
_NJIT = config.NJIT_STRICT_OPTIONS
_NJIT_REDUCE = config.NJIT_OPTIONS
# _ordered_sum: no fast-math flag at all (index order and signed zeros wherever it is inlined).
_NJIT_EXACT = config.NJIT_EXACT_OPTIONS


def n_blocks(n_rows: int) -> int:
    """Number of fixed-size row blocks covering ``n_rows`` rows."""
    return (n_rows + _BLOCK - 1) // _BLOCK


# --------------------------------------------------------------------------------------------
# E-step fused with the sufficient statistics of the next M-step
# --------------------------------------------------------------------------------------------
#
# Rows are handled in tiles of _SUB rows stored transposed (feature-major), so the innermost
# loops run over rows and vectorise. For every tile: (1) differences to every mean and the
# squared Mahalanobis distances, (2) log-sum-exp per row, (3) in fit mode, responsibilities and
# the statistics of the M-step *about the means used in this E-step*: N_k, sum_r w (x - c_k)
# and sum_r w (x - c_k)(x - c_k)^T. The centres c_k are close to the new means, so turning
# these into covariances loses nothing to cancellation, and the data are read once per
# iteration instead of twice.


# exp(x) for x <= 0 in plain arithmetic (LLVM vectorises it; libm's exp is a scalar call and
# was half the time of an E-step): x = r - k ln2 with |r| <= ln2/2, exp(r) by its Taylor
# polynomial (degree 13: truncation < 1e-17 relative), 2^-k from a table (subnormals included).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_LOG2E = 1.4426950408889634
_POW2_NEG = np.ldexp(1.0, -np.arange(1076))
_EXP_MIN = -745.0


@numba.njit(inline="always", **_NJIT)
def _exp_nonpositive(x):
    x = max(x, _EXP_MIN)
    k = int(0.5 - x * _LOG2E)
    kf = float(k)
    r = (x + kf * _LN2_HI) + kf * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _POW2_NEG[k]


@numba.njit(**_NJIT_EXACT)
def _ordered_sum(a, start, m):
    # Strict IEEE (no reassociation): the sum is taken in index order however LLVM inlines it.
    t = 0.0
    for r in range(start, start + m):
        t += a[r]
    return t


@numba.njit(inline="always", **_NJIT)
def _maha_full(Dk, m, pc, kk, y, mk):
    # || (x - c)^T U ||^2 with U = pc[kk] upper triangular: column j of the product needs
    # coordinates 0..j only. Used by "full" (kk = k) and "tied" (kk = 0).
    d = Dk.shape[0]
    for j in range(d):
        u = pc[kk, j]
        for r in range(m):
            y[r] = Dk[0, r] * u
        for i in range(1, j + 1):
            u = pc[kk, i * d + j]
            for r in range(m):
                y[r] += Dk[i, r] * u
        for r in range(m):
            mk[r] += y[r] * y[r]


@numba.njit(inline="always", **_NJIT)
def _maha_diag(Dk, m, pc, k, mk):
    for i in range(Dk.shape[0]):
        u = pc[k, i]
        for r in range(m):
            t = Dk[i, r] * u
            mk[r] += t * t


@numba.njit(inline="always", **_NJIT)
def _maha_spherical(Dk, m, pc, k, mk):
    for i in range(Dk.shape[0]):
        for r in range(m):
            mk[r] += Dk[i, r] * Dk[i, r]
    p2 = pc[k, 0] * pc[k, 0]
    for r in range(m):
        mk[r] *= p2


@numba.njit(**_NJIT)
def _tile_maha(Xt, m, means, pc, cov_type, Dt, y, maha):
    # Differences to every centre (kept for the statistics) and squared Mahalanobis distances.
    n_comp, d = means.shape
    for k in range(n_comp):
        Dk = Dt[k]
        for i in range(d):
            c = means[k, i]
            for r in range(m):
                Dk[i, r] = Xt[i, r] - c
        mk = maha[k]
        for r in range(m):
            mk[r] = 0.0
        if cov_type == FULL:
            _maha_full(Dk, m, pc, k, y, mk)
        elif cov_type == TIED:
            _maha_full(Dk, m, pc, 0, y, mk)
        elif cov_type == DIAG:
            _maha_diag(Dk, m, pc, k, mk)
        else:
            _maha_spherical(Dk, m, pc, k, mk)


@numba.njit(inline="always", **_NJIT_REDUCE)
def _dot(a, b, m):
    # sum_r a[r] * b[r] in four fixed lanes merged in a fixed order: without reassociation a
    # plain `t += a * b` loop is one serial chain; the lanes are independent chains the vector
    # unit runs side by side, and the order of every addition is fixed by this source.
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    r = 0
    while r + 3 < m:
        t0 += a[r] * b[r]
        t1 += a[r + 1] * b[r + 1]
        t2 += a[r + 2] * b[r + 2]
        t3 += a[r + 3] * b[r + 3]
        r += 4
    t = (t0 + t1) + (t2 + t3)
    while r < m:
        t += a[r] * b[r]
        r += 1
    return t


@numba.njit(inline="always", **_NJIT_REDUCE)
def _sum(a, m):
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    r = 0
    while r + 3 < m:
        t0 += a[r]
        t1 += a[r + 1]
        t2 += a[r + 2]
        t3 += a[r + 3]
        r += 4
    t = (t0 + t1) + (t2 + t3)
    while r < m:
        t += a[r]
        r += 1
    return t


@numba.njit(inline="always", **_NJIT_REDUCE)
def _moments_full(Wt, Dk, m, s2k):
    # upper triangle of sum_r w_r (x_r - c)(x_r - c)^T
    d = Dk.shape[0]
    for i in range(d):
        for j in range(i, d):
            s2k[i * d + j] += _dot(Wt[i], Dk[j], m)


@numba.njit(inline="always", **_NJIT_REDUCE)
def _moments_diag(Wt, Dk, m, s2k):
    # per-feature sum_r w_r (x_r - c)^2 (diag and spherical)
    for i in range(Dk.shape[0]):
        s2k[i] += _dot(Wt[i], Dk[i], m)


@numba.njit(**_NJIT_REDUCE)
def _tile_stats(m, cov_type, Dt, w, Wt, nk_b, s1_b, s2_b):
    # N_k and sum_r w (x - c_k) for every type; tied needs nothing more (see gmm.m_step).
    n_comp, d, _ = Dt.shape
    for k in range(n_comp):
        wk = w[k]
        Dk = Dt[k]
        nk_b[k] += _sum(wk, m)
        for i in range(d):
            Wi = Wt[i]
            Di = Dk[i]
            for r in range(m):  # element-wise: vectorises without reassociation
                Wi[r] = wk[r] * Di[r]
            s1_b[k, i] += _sum(Wi, m)
        if cov_type == FULL:
            _moments_full(Wt, Dk, m, s2_b[k])
        elif cov_type != TIED:
            _moments_diag(Wt, Dk, m, s2_b[k])


@numba.njit(**_NJIT)
def _em_block(b, X, means, pc, cov_type, log_norm, fit_mode, log_resp, lpn, nk_part, s1_part,
              s2_part, lpn_part):
    """One row block of the fused E-step (see the section comment).

    IN: X (n, d); means (K, d) = the centres c_k; pc (layout of the module docstring);
    log_norm (K,) = log w_k + log det U_k - d/2 log(2 pi).
    OUT: lpn (n,) log p(x_r); lpn_part[b] its block sum. Predict mode: log_resp (n, K).
    Fit mode (log_resp untouched): nk_part[b] (K,), s1_part[b] (K, d), s2_part[b]
    (K, d*d upper triangle | K, d | unused for tied).
    """
    n, d = X.shape
    n_comp = means.shape[0]
    r0 = b * _BLOCK
    r1 = min(n, r0 + _BLOCK)
    Xt = np.empty((d, _SUB))
    Dt = np.empty((n_comp, d, _SUB))
    Wt = np.empty((d, _SUB))
    y = np.empty(_SUB)
    w = np.empty((n_comp, _SUB))
    e = np.empty((n_comp, _SUB))
    mx = np.empty(_SUB)
    ssum = np.empty(_SUB)
    total = 0.0
    for s0 in range(r0, r1, _SUB):
        m = min(r1, s0 + _SUB) - s0
        for r in range(m):
            for i in range(d):
                Xt[i, r] = X[s0 + r, i]
        _tile_maha(Xt, m, means, pc, cov_type, Dt, y, w)
        # log-sum-exp around the row maximum: no underflow even far from every component.
        # Loops run over the rows of the tile so that they vectorise (exp included).
        for r in range(m):
            mx[r] = -np.inf
        for k in range(n_comp):
            lk = log_norm[k]
            for r in range(m):
                v = lk - 0.5 * w[k, r]
                w[k, r] = v
                mx[r] = max(mx[r], v)
        for r in range(m):
            ssum[r] = 0.0
        for k in range(n_comp):
            for r in range(m):
                ev = _exp_nonpositive(w[k, r] - mx[r])
                e[k, r] = ev
                ssum[r] += ev
        for r in range(m):
            ln = mx[r] + np.log(ssum[r])
            mx[r] = ln
            lpn[s0 + r] = ln
        # The block total is summed in row order, outside any loop LLVM could vectorise.
        total += _ordered_sum(lpn, s0, m)
        if fit_mode:
            for r in range(m):
                ssum[r] = 1.0 / ssum[r]
            for k in range(n_comp):
                for r in range(m):
                    w[k, r] = e[k, r] * ssum[r]
        else:
            for r in range(m):
                for k in range(n_comp):
                    log_resp[s0 + r, k] = w[k, r] - mx[r]
        if fit_mode:
            _tile_stats(m, cov_type, Dt, w, Wt, nk_part[b], s1_part[b], s2_part[b])
    lpn_part[b] = total


@numba.njit(parallel=True, **_NJIT)
def em_pass_parallel(X, means, pc, cov_type, log_norm, fit_mode, log_resp, lpn, nk_part,
                     s1_part, s2_part, lpn_part):
    """Fused E-step over all rows, row blocks in parallel (see ``_em_block``)."""
    for b in numba.prange(lpn_part.shape[0]):
        _em_block(b, X, means, pc, cov_type, log_norm, fit_mode, log_resp, lpn, nk_part,
                  s1_part, s2_part, lpn_part)


@numba.njit(**_NJIT)
def em_pass_serial(X, means, pc, cov_type, log_norm, fit_mode, log_resp, lpn, nk_part, s1_part,
                   s2_part, lpn_part):
    """Serial twin of ``em_pass_parallel`` (same blocks and merge order; see ``_NJIT``)."""
    for b in range(lpn_part.shape[0]):
        _em_block(b, X, means, pc, cov_type, log_norm, fit_mode, log_resp, lpn, nk_part,
                  s1_part, s2_part, lpn_part)


# --------------------------------------------------------------------------------------------
# Weighted scatter around given means (initial M-step from arbitrary responsibilities)
# --------------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def _flush_outer(Wt, Dt, cnt, acc_k):
    d = Dt.shape[0]
    for i in range(d):
        for j in range(i, d):
            t = 0.0
            for c in range(cnt):
                t += Wt[i, c] * Dt[j, c]
            acc_k[i * d + j] += t


@numba.njit(**_NJIT)
def _scatter_full(X, r0, r1, resp, means, acc):
    # acc (K, d*d): upper triangle of sum_r resp[r,k] (x_r - mu_k)(x_r - mu_k)^T.
    # Rows with non-zero weight are packed into a transposed tile (hard one-hot
    # responsibilities then cost one component per row) and reduced tile by tile.
    n_comp, d = means.shape
    Dt = np.empty((d, _SUB))
    Wt = np.empty((d, _SUB))
    for k in range(n_comp):
        cnt = 0
        for r in range(r0, r1):
            w = resp[r, k]
            if w == 0.0:
                continue
            for i in range(d):
                dv = X[r, i] - means[k, i]
                Dt[i, cnt] = dv
                Wt[i, cnt] = w * dv
            cnt += 1
            if cnt == _SUB:
                _flush_outer(Wt, Dt, cnt, acc[k])
                cnt = 0
        if cnt > 0:
            _flush_outer(Wt, Dt, cnt, acc[k])


@numba.njit(**_NJIT)
def _scatter_diag(X, r0, r1, resp, means, acc):
    # acc (K, d): sum_r resp[r,k] (x_r - mu_k)^2, per feature
    n_comp, d = means.shape
    for r in range(r0, r1):
        for k in range(n_comp):
            w = resp[r, k]
            if w == 0.0:
                continue
            for i in range(d):
                y = X[r, i] - means[k, i]
                acc[k, i] += w * y * y


@numba.njit(**_NJIT)
def _scatter_block(b, X, resp, means, full, acc_part):
    n = X.shape[0]
    r0 = b * _BLOCK
    r1 = min(n, r0 + _BLOCK)
    if full:
        _scatter_full(X, r0, r1, resp, means, acc_part[b])
    else:
        _scatter_diag(X, r0, r1, resp, means, acc_part[b])


@numba.njit(parallel=True, **_NJIT)
def scatter_parallel(X, resp, means, full, acc_part):
    """Per-block weighted scatter (``full``: upper triangle (K, d*d); else diagonal (K, d)).

    OUT acc_part (n_blocks, K, d*d or d), zero-initialised by the caller.
    """
    for b in numba.prange(acc_part.shape[0]):
        _scatter_block(b, X, resp, means, full, acc_part)


@numba.njit(**_NJIT)
def scatter_serial(X, resp, means, full, acc_part):
    """Serial twin of ``scatter_parallel`` (same blocks and merge order)."""
    for b in range(acc_part.shape[0]):
        _scatter_block(b, X, resp, means, full, acc_part)


# --------------------------------------------------------------------------------------------
# Cholesky factors of the precisions
# --------------------------------------------------------------------------------------------


@numba.njit(**_NJIT)
def precision_cholesky_full(cov, out):
    """Upper-triangular U_k with U_k U_k^T = inv(cov_k), without forming the inverse.

    IN cov (K, d, d) symmetric; OUT out (K, d, d). Returns -1 on success or the index of the
    first component whose covariance is not numerically positive definite.
    """
    n_comp, d, _ = cov.shape
    L = np.empty((d, d))
    for k in range(n_comp):
        c = cov[k]
        L[:, :] = 0.0
        for j in range(d):
            s = c[j, j]
            for p in range(j):
                s -= L[j, p] * L[j, p]
            if not s > 0.0:
                return k
            ljj = np.sqrt(s)
            L[j, j] = ljj
            for i in range(j + 1, d):
                t = c[i, j]
                for p in range(j):
                    t -= L[i, p] * L[j, p]
                L[i, j] = t / ljj
        # M = L^{-1} (lower) by forward substitution, one column at a time; U = M^T.
        o = out[k]
        o[:, :] = 0.0
        for j in range(d):
            o[j, j] = 1.0 / L[j, j]
            for i in range(j + 1, d):
                t = 0.0
                for p in range(j, i):
                    t += L[i, p] * o[j, p]
                o[j, i] = -t / L[i, i]
    return -1


@numba.njit(**_NJIT)
def upper_factor_of_spd(P, out):
    """Upper-triangular U with U U^T = P for each P_k (a given precision matrix).

    The usual Cholesky gives a lower factor; factorising the index-reversed matrix and
    reversing back yields an upper one, which is what the E-step kernel relies on.
    Returns -1 on success or the index of the first non positive-definite matrix.
    """
    n_comp, d, _ = P.shape
    L = np.empty((d, d))
    for k in range(n_comp):
        L[:, :] = 0.0
        for j in range(d):
            s = P[k, d - 1 - j, d - 1 - j]
            for p in range(j):
                s -= L[j, p] * L[j, p]
            if not s > 0.0:
                return k
            ljj = np.sqrt(s)
            L[j, j] = ljj
            for i in range(j + 1, d):
                t = P[k, d - 1 - i, d - 1 - j]
                for p in range(j):
                    t -= L[i, p] * L[j, p]
                L[i, j] = t / ljj
        for i in range(d):
            for j in range(d):
                out[k, i, j] = L[d - 1 - i, d - 1 - j]
    return -1

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
# Rows per transposed tile inside a block: small enough for L1, long enough to vectorise.
_SUB = 64
_FM = set(config.FASTMATH)  # numba wants a set, config keeps it immutable


def n_blocks(n_rows: int) -> int:
    """Number of fixed-size row blocks covering ``n_rows`` rows."""
    return (n_rows + _BLOCK - 1) // _BLOCK


# --------------------------------------------------------------------------------------------
# E-step: squared Mahalanobis distance of a block of rows to every component
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, fastmath=_FM)
def _maha_full(X, r0, r1, means, pc, shared, out):
    # out[r - r0, k] = || (x_r - mu_k)^T U_k ||^2 with U_k upper triangular, so column j of
    # the product only needs the first j + 1 coordinates of the difference. Rows go through
    # a small transposed tile so that the innermost loops run over rows and vectorise.
    n_comp, d = means.shape
    Dt = np.empty((d, _SUB))
    y = np.empty(_SUB)
    acc = np.empty(_SUB)
    for k in range(n_comp):
        kk = 0 if shared else k
        for s0 in range(r0, r1, _SUB):
            m = min(r1, s0 + _SUB) - s0
            for r in range(m):
                for i in range(d):
                    Dt[i, r] = X[s0 + r, i] - means[k, i]
            for r in range(m):
                acc[r] = 0.0
            for j in range(d):
                u = pc[kk, j]
                for r in range(m):
                    y[r] = Dt[0, r] * u
                for i in range(1, j + 1):
                    u = pc[kk, i * d + j]
                    for r in range(m):
                        y[r] += Dt[i, r] * u
                for r in range(m):
                    acc[r] += y[r] * y[r]
            for r in range(m):
                out[s0 - r0 + r, k] = acc[r]


@numba.njit(cache=True, fastmath=_FM)
def _maha_diag(X, r0, r1, means, pc, out):
    n_comp, d = means.shape
    for r in range(r0, r1):
        for k in range(n_comp):
            s = 0.0
            for i in range(d):
                y = (X[r, i] - means[k, i]) * pc[k, i]
                s += y * y
            out[r - r0, k] = s


@numba.njit(cache=True, fastmath=_FM)
def _maha_spherical(X, r0, r1, means, pc, out):
    n_comp, d = means.shape
    for r in range(r0, r1):
        for k in range(n_comp):
            s = 0.0
            for i in range(d):
                y = X[r, i] - means[k, i]
                s += y * y
            p = pc[k, 0]
            out[r - r0, k] = s * p * p


@numba.njit(cache=True, fastmath=_FM)
def _estep_block(b, X, means, pc, cov_type, log_norm, fit_mode, out, lpn, nk_part, sx_part,
                 lpn_part):
    """E-step of one row block.

    IN: X (n, d), means (K, d), pc, log_norm (K,) = log w_k + log det U_k - d/2 log(2 pi).
    OUT: out (n, K) responsibilities (fit_mode) or log responsibilities; lpn (n,) per-row
    log-likelihood; per-block partials nk_part[b] (K,), sx_part[b] (K, d) (fit_mode only) and
    lpn_part[b].
    """
    n, d = X.shape
    n_comp = means.shape[0]
    r0 = b * _BLOCK
    r1 = min(n, r0 + _BLOCK)
    blk = out[r0:r1]
    if cov_type == FULL:
        _maha_full(X, r0, r1, means, pc, False, blk)
    elif cov_type == TIED:
        _maha_full(X, r0, r1, means, pc, True, blk)
    elif cov_type == DIAG:
        _maha_diag(X, r0, r1, means, pc, blk)
    else:
        _maha_spherical(X, r0, r1, means, pc, blk)
    total = 0.0
    for r in range(r0, r1):
        row = out[r]
        # log-sum-exp around the row maximum: no underflow even far from every component.
        m = -np.inf
        for k in range(n_comp):
            v = log_norm[k] - 0.5 * row[k]
            row[k] = v
            if v > m:
                m = v
        s = 0.0
        for k in range(n_comp):
            e = np.exp(row[k] - m)
            if fit_mode:
                row[k] = e
            s += e
        ln = m + np.log(s)
        lpn[r] = ln
        total += ln
        if fit_mode:
            inv = 1.0 / s
            for k in range(n_comp):
                w = row[k] * inv
                row[k] = w
                if w != 0.0:
                    nk_part[b, k] += w
                    for i in range(d):
                        sx_part[b, k, i] += w * X[r, i]
        else:
            for k in range(n_comp):
                row[k] -= ln
    lpn_part[b] = total


@numba.njit(cache=True, fastmath=_FM, parallel=True)
def estep_parallel(X, means, pc, cov_type, log_norm, fit_mode, out, lpn, nk_part, sx_part,
                   lpn_part):
    """E-step over all rows, blocks in parallel (see ``_estep_block``)."""
    for b in numba.prange(lpn_part.shape[0]):
        _estep_block(b, X, means, pc, cov_type, log_norm, fit_mode, out, lpn, nk_part, sx_part,
                     lpn_part)


@numba.njit(cache=True, fastmath=_FM)
def estep_serial(X, means, pc, cov_type, log_norm, fit_mode, out, lpn, nk_part, sx_part,
                 lpn_part):
    """E-step over all rows, one thread; same blocks, hence the same bits as the parallel one."""
    for b in range(lpn_part.shape[0]):
        _estep_block(b, X, means, pc, cov_type, log_norm, fit_mode, out, lpn, nk_part, sx_part,
                     lpn_part)


# --------------------------------------------------------------------------------------------
# M-step: weighted scatter around the new means
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, fastmath=_FM)
def _flush_outer(Wt, Dt, cnt, acc_k):
    d = Dt.shape[0]
    for i in range(d):
        for j in range(i, d):
            t = 0.0
            for c in range(cnt):
                t += Wt[i, c] * Dt[j, c]
            acc_k[i * d + j] += t


@numba.njit(cache=True, fastmath=_FM)
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


@numba.njit(cache=True, fastmath=_FM)
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


@numba.njit(cache=True, fastmath=_FM)
def _scatter_block(b, X, resp, means, full, acc_part):
    n = X.shape[0]
    r0 = b * _BLOCK
    r1 = min(n, r0 + _BLOCK)
    if full:
        _scatter_full(X, r0, r1, resp, means, acc_part[b])
    else:
        _scatter_diag(X, r0, r1, resp, means, acc_part[b])


@numba.njit(cache=True, fastmath=_FM, parallel=True)
def scatter_parallel(X, resp, means, full, acc_part):
    """Per-block weighted scatter (``full``: upper triangle (K, d*d); else diagonal (K, d)).

    OUT acc_part (n_blocks, K, d*d or d), zero-initialised by the caller.
    """
    for b in numba.prange(acc_part.shape[0]):
        _scatter_block(b, X, resp, means, full, acc_part)


@numba.njit(cache=True, fastmath=_FM)
def scatter_serial(X, resp, means, full, acc_part):
    """Serial twin of ``scatter_parallel`` (same blocks, same bits)."""
    for b in range(acc_part.shape[0]):
        _scatter_block(b, X, resp, means, full, acc_part)


# --------------------------------------------------------------------------------------------
# Cholesky factors of the precisions
# --------------------------------------------------------------------------------------------


@numba.njit(cache=True, fastmath=_FM)
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


@numba.njit(cache=True, fastmath=_FM)
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

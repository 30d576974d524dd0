"""Lloyd and EM passes over a partitioned matrix: each partition returns sums, the driver merges.

Every per-partition function runs segengine's own numba kernels on its rows (the KMeans
assignment with per-block centre sums, the fused Gaussian-mixture E-step with the M-step
statistics) and returns a few small arrays. The driver adds them up in partition order and takes
the step (new centres; new mixture parameters through the engine's own M-step), so the result
depends on the partitioning only through rounding. An emptied KMeans cluster is reseeded at the
record farthest from its centre, as the single-machine kernel does, never dropped.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from segengine import config
from segengine.concurrency import guarded
from segengine.engines import _kmeans_kernels as _k, gmm as _gmm, memberships as _mb
from segengine.engines.kmeans import one_blas_thread as _one_blas_thread

_B = config.BLOCK_ROWS


# -- per-partition work (top-level functions: shipped to worker processes) ------------------


def _assign_sums(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels against ``centers`` with per-cluster sums and counts (the Lloyd kernel's own pass)."""
    n, d = X.shape
    k = centers.shape[0]
    labels = np.full(n, -1, np.int64)
    sums = np.zeros((k, d))
    wsum = np.zeros(k)
    if n == 0:
        return labels, sums, wsum
    CT = np.empty((d, k))
    cnorm = np.empty(k)
    _k.prepare_centers(centers, CT, cnorm)
    nb = (n + _B - 1) // _B
    psums = np.empty((nb, k, d))
    pw = np.empty((nb, k))
    pchg = np.zeros(nb, np.int64)
    with _one_blas_thread():
        _k.assign_pass(X, CT, cnorm, np.ones(n), labels, psums, pw, pchg, _B, True, False)
    _k.merge_blocks(psums, pw, sums, wsum)
    return labels, sums, wsum


@guarded
def lloyd_partition(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Lloyd pass on one partition: per-cluster sums (k, d) and counts (k,)."""
    _, sums, wsum = _assign_sums(X, centers)
    return sums, wsum


@guarded
def farthest_partition(X: np.ndarray, centers: np.ndarray, m: int, offset: int):
    """The ``m`` records farthest from their assigned centre (distance desc, row asc)."""
    labels, _, _ = _assign_sums(X, centers)
    if X.shape[0] == 0:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros((0, X.shape[1])), labels
    diff = X - centers[labels]
    dist = np.einsum("ij,ij->i", diff, diff)
    order = np.lexsort((np.arange(X.shape[0]), -dist))[:m]
    return dist[order], order + offset, X[order].copy(), labels[order]


@guarded
def final_partition(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Counts, sums and inertia of the labels against the final centres."""
    labels, sums, wsum = _assign_sums(X, centers)
    if X.shape[0] == 0:
        return wsum, sums, 0.0
    inertia = _k.inertia(X, centers, np.ones(X.shape[0]), labels, _B, False)
    return wsum, sums, float(inertia)


@guarded
def loglik_partition(X: np.ndarray, centers: np.ndarray, log_w: np.ndarray, sigma2: float) -> float:
    """Log-likelihood of the KMeans-implied equal-variance mixture (selection.kmeans_mixture_loglik)."""
    if X.shape[0] == 0:
        return 0.0
    log_p = _mb.equal_variance_log_prob(_mb.sq_distances(X, centers), log_w, sigma2, X.shape[1])
    return float(_mb.log_sum_exp_rows(log_p).sum())


@guarded
def scatter_partition(X: np.ndarray, centers: np.ndarray, means: np.ndarray, full: bool, ones: bool) -> np.ndarray:
    """Scatter about ``means`` of the hard partition by ``centers`` (or of all rows when ``ones``)."""
    n, d = X.shape
    k = means.shape[0]
    width = d * d if full else d
    if n == 0:
        return np.zeros((k, width))
    if ones:
        resp = np.ones((n, 1))
    else:
        labels, _, _ = _assign_sums(X, centers)
        resp = np.zeros((n, k))
        resp[np.arange(n), labels] = 1.0
    acc = np.zeros((-(-n // _B), resp.shape[1], width))
    _gmm.scatter(X, resp, means, full, acc)
    return acc.sum(axis=0)


@guarded
def em_partition(X: np.ndarray, weights, means, prec_chol, cov_type: str):
    """One fused E-step on one partition: N_k, first and second moments about ``means``, log-likelihood."""
    n, d = X.shape
    k = means.shape[0]
    width = {"full": d * d, "tied": 1, "diag": d, "spherical": d}[cov_type]
    if n == 0:
        return np.zeros(k), np.zeros((k, d)), np.zeros((k, width)), 0.0
    _, _, nk_part, s1_part, s2_part, lpn_part = _gmm.em_pass(X, weights, means, prec_chol, cov_type, True)
    return nk_part.sum(axis=0), s1_part.sum(axis=0), s2_part.sum(axis=0), float(lpn_part.sum())


@guarded
def gmm_score_partition(X: np.ndarray, weights, means, prec_chol, cov_type: str) -> tuple[float, np.ndarray]:
    """Log-likelihood sum and the count of records per most likely component."""
    k = means.shape[0]
    if X.shape[0] == 0:
        return 0.0, np.zeros(k, np.int64)
    lpn, log_resp = _gmm.mixture_log_prob_resp(X, weights, means, prec_chol, cov_type)
    return float(lpn.sum()), np.bincount(log_resp.argmax(axis=1), minlength=k)


# -- driver ---------------------------------------------------------------------------------


# run(fn, args, per_partition=()) -> [fn(X_p, *args, *(v[p] for v in per_partition)) for every p]
Runner = Callable[..., list]


def _add(parts: list) -> Any:
    """Sum in partition order (fixed: reproducible)."""
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def _reseed(sums, wsum, old, candidates):
    """New centres with the single-machine rule for empty clusters (``_new_centers``)."""
    k, d = old.shape
    new = np.empty_like(old)
    relocated = np.zeros(k, bool)
    if candidates is not None:
        dist, rows, xs, labs = candidates
        order = np.lexsort((rows, -dist))
        t = 0
        for j in range(k):
            if wsum[j] > 0.0:
                continue
            i = order[t]
            t += 1
            o = int(labs[i])
            if o != j and not relocated[o]:
                wsum[o] -= 1.0
                sums[o] -= xs[i]
            relocated[j] = True
            new[j] = xs[i]
    for j in range(k):
        if relocated[j]:
            continue
        new[j] = sums[j] * (1.0 / wsum[j]) if wsum[j] > 0.0 else old[j]
    shift = float(((new - old) ** 2).sum())
    return new, shift


def lloyd(run: Runner, centers: np.ndarray, offsets: list[int], tol: float, max_iter: int) -> tuple[np.ndarray, int]:
    """Lloyd passes from ``centers`` until the centres stop moving (or move less than ``tol``).

    Returns the final centres and the number of passes.
    """
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        parts = run(lloyd_partition, [centers])
        sums = _add([p[0] for p in parts])
        wsum = _add([p[1] for p in parts])
        candidates = None
        n_empty = int(np.count_nonzero(wsum <= 0.0))
        if n_empty:
            found = run(farthest_partition, [centers, n_empty], [offsets])
            candidates = tuple(np.concatenate([f[i] for f in found]) for i in range(4))
        new, shift = _reseed(sums, wsum, centers, candidates)
        same = np.array_equal(new, centers)
        centers = new
        if (same and not n_empty) or shift <= tol:
            break
    return centers, n_iter


def gmm_init(run: Runner, centers: np.ndarray, counts: np.ndarray, sums: np.ndarray, cov_type: str,
             reg_covar: float):
    """The first M-step from the hard KMeans partition (``gmm._params_from_resp``)."""
    d = centers.shape[1]
    nk = counts + _gmm.WEIGHT_FLOOR
    means = sums / nk[:, None]
    full = cov_type in ("full", "tied")
    tot = _add(run(scatter_partition, [centers, means, full, False]))
    n_comp = centers.shape[0]
    if full:
        tot = tot.reshape(n_comp, d, d)
        tot = np.triu(tot) + np.transpose(np.triu(tot, 1), (0, 2, 1))
        if cov_type == "tied":
            cov = tot.sum(axis=0) / nk.sum()
            cov.flat[:: d + 1] += reg_covar
        else:
            cov = tot / nk[:, None, None]
            idx = np.arange(d)
            cov[:, idx, idx] += reg_covar
    else:
        cov = tot / nk[:, None] + reg_covar
        if cov_type == "spherical":
            cov = cov.mean(axis=1)
    weights = nk / nk.sum()
    return weights, means, cov, _gmm.precision_cholesky(cov, cov_type, reg_covar)


def gmm_em(run: Runner, centers, counts, sums, n: int, cov_type: str, column_mean: np.ndarray,
           reg_covar: float = 1e-6, tol: float = 1e-3, max_iter: int = 100):
    """EM passes from the KMeans partition (``gmm.gmm_em_from_labels``, distributed).

    Returns ``(GMMFit, None)`` or ``(None, reason)`` when a factorisation fails.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tied_stats = None
            if cov_type == "tied":
                d = centers.shape[1]
                S = _add(run(scatter_partition, [centers, column_mean[None, :], True, True]))[0].reshape(d, d)
                tied_stats = (column_mean, np.triu(S) + np.triu(S, 1).T)
            params = gmm_init(run, centers, counts, sums, cov_type, reg_covar)
            lower_bound, history, converged, n_iter = -np.inf, [], False, 0
            for n_iter in range(1, max_iter + 1):  # noqa: B007 - read after the loop: the passes run
                prev = lower_bound
                weights, means, _, prec = params
                parts = run(em_partition, [weights, means, prec, cov_type])
                nk = _add([p[0] for p in parts])
                s1 = _add([p[1] for p in parts])
                s2 = _add([p[2] for p in parts])
                lower_bound = float(sum(p[3] for p in parts)) / n
                history.append(lower_bound)
                params = _gmm.m_step(means, nk, s1, s2, cov_type, reg_covar, tied_stats)
                if abs(lower_bound - prev) < tol:
                    converged = True
                    break
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return None, str(exc).split("\n")[0][:200]
    weights, means, cov, prec = params
    fit = _gmm.GMMFit(cov_type, weights, means, cov, prec, float(lower_bound), int(n_iter), bool(converged), history)
    if not np.all(np.isfinite(fit.means)) or not np.isfinite(fit.lower_bound):
        return None, "non-finite parameters"
    return fit, None

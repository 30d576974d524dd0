"""Gaussian mixture engine, functional core: the EM the pipeline and the estimator call.

The scikit-learn estimator `GaussianMixture` lives one layer up, in
`segengine.engines.gmm_estimator`; nothing here imports it (kernels -> functional core ->
estimator, one way), nor scikit-learn.

The EM loop is a plain Python driver around numba kernels (``_gmm_kernels``): one fused pass per
iteration reads the data once and computes the responsibilities, the log-likelihood and the
M-step statistics (N_k and the first and second moments about the means of that E-step, which
are close to the new means, so no cancellation). The covariances then come from small per-type
functions. Covariances are never inverted: the model keeps upper Cholesky factors ``U_k`` of
the precisions (``U_k U_k^T = P_k``), obtained from the Cholesky factor of the covariance by
triangular substitution; a failed factorisation raises a ValueError that says what to change.
Per-block partial sums are merged in block order, so results do not depend on the thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from segengine import compile_ahead, config
from segengine.concurrency import guarded
from segengine.engines import _gmm_kernels as K
from segengine.engines._bounds import check_mixture

__all__ = [
    "GMMFit",
    "as_float64",
    "em_from_partition",
    "em_iterations",
    "em_pass",
    "mixture_log_prob_resp",
    "n_mixture_parameters",
    "parallel_pays",
    "params_from_resp",
    "scatter",
    "tied_scatter",
]

_COV_CODES = {"full": K.FULL, "tied": K.TIED, "diag": K.DIAG, "spherical": K.SPHERICAL}
# Added to every component's weight N_k so that an emptied component stays finite (not 0 / 0).
WEIGHT_FLOOR = 10.0 * np.finfo(np.float64).eps
_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# Functional core (input assumed valid: C-contiguous float64 X, consistent shapes)
# --------------------------------------------------------------------------------------------


def as_float64(X: Any) -> np.ndarray:
    """``X`` as a C-contiguous float64 array (the only layout the mixture kernels take).

    Parameters
    ----------
    X : array-like of shape (n, d)

    Returns
    -------
    ndarray of shape (n, d), float64, C-contiguous (``X`` itself when it already is one)
    """
    return np.ascontiguousarray(X, dtype=np.float64)


def _kernel_prec(prec_chol: np.ndarray, cov_type: str) -> np.ndarray:
    """The 2-D view of the precision factors that the kernels take (see ``_gmm_kernels``)."""
    if cov_type == "full":
        k, d, _ = prec_chol.shape
        return np.ascontiguousarray(prec_chol).reshape(k, d * d)
    if cov_type == "tied":
        d = prec_chol.shape[0]
        return np.ascontiguousarray(prec_chol).reshape(1, d * d)
    if cov_type == "diag":
        return np.ascontiguousarray(prec_chol)
    return np.ascontiguousarray(prec_chol).reshape(-1, 1)


def _log_det_prec_chol(prec_chol: np.ndarray, cov_type: str, n_features: int) -> np.ndarray:
    """Log-determinant of each precision Cholesky factor (= -1/2 log det of the covariance)."""
    if cov_type == "full":
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    if cov_type == "tied":
        return np.log(np.diag(prec_chol)).sum()
    if cov_type == "diag":
        return np.log(prec_chol).sum(axis=1)
    return n_features * np.log(prec_chol)


def _log_norm(weights, prec_chol, cov_type, n_features):
    n_comp = weights.shape[0]
    out = np.log(weights) + _log_det_prec_chol(prec_chol, cov_type, n_features)
    out = out - 0.5 * n_features * _LOG_2PI
    return np.ascontiguousarray(np.broadcast_to(out, (n_comp,)), dtype=np.float64)


def em_pass(X: np.ndarray, weights: np.ndarray, means: np.ndarray, prec_chol: np.ndarray, cov_type: str,
            fit_mode: bool) -> tuple[np.ndarray, ...]:
    """One fused E-step over ``X``: the memberships, or the statistics of the next M-step.

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64
    weights, means, prec_chol : ndarray
        Mixture parameters (``prec_chol`` in the layout of ``GMMFit.precisions_cholesky``).
    cov_type : {"full", "tied", "diag", "spherical"}
    fit_mode : bool
        True fills the per-block statistics (``log_resp`` is then a dummy); False fills
        ``log_resp``.

    Returns
    -------
    log_resp : ndarray of shape (n, k), or (1, 1) in fit mode
    lpn : ndarray of shape (n,)
        ``log p(x_i)``.
    nk_part, s1_part, s2_part : ndarray
        Per-block N_k and first and second moments about ``means`` (fit mode).
    lpn_part : ndarray of shape (n_blocks,)
        Per-block sums of ``lpn``.
    """
    compile_ahead.wait_for("mixture")  # a first run: the kernels may be compiling elsewhere
    check_mixture(X, weights, means, prec_chol, cov_type)  # kernels never index out of bounds
    n, d = X.shape
    n_comp = means.shape[0]
    nb = K.n_blocks(n)
    width = {"full": d * d, "tied": 1, "diag": d, "spherical": d}[cov_type]
    if fit_mode:
        log_resp = np.empty((1, 1))
        nk_part = np.zeros((nb, n_comp))
        s1_part = np.zeros((nb, n_comp, d))
        s2_part = np.zeros((nb, n_comp, width))
    else:
        log_resp = np.empty((n, n_comp))
        nk_part = np.zeros((1, 1))
        s1_part = s2_part = np.zeros((1, 1, 1))
    lpn = np.empty(n)
    lpn_part = np.zeros(nb)
    kernel = K.em_pass_parallel if parallel_pays(n, n_comp, d, cov_type) else K.em_pass_serial
    kernel(
        X,
        np.ascontiguousarray(means, dtype=np.float64),
        _kernel_prec(prec_chol, cov_type),
        _COV_CODES[cov_type],
        _log_norm(weights, prec_chol, cov_type, d),
        fit_mode,
        log_resp,
        lpn,
        nk_part,
        s1_part,
        s2_part,
        lpn_part,
    )
    return log_resp, lpn, nk_part, s1_part, s2_part, lpn_part


def mixture_log_prob_resp(
    X: np.ndarray,
    weights: np.ndarray,
    means: np.ndarray,
    prec_chol: np.ndarray,
    cov_type: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample log-likelihood and log responsibilities of a mixture.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous float64
    weights, means, prec_chol : mixture parameters (``prec_chol`` in the layout of
        ``GaussianMixture.precisions_cholesky_``)
    cov_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    log_prob_norm : ndarray of shape (n_samples,)
        ``log p(x_i)``.
    log_resp : ndarray of shape (n_samples, n_components)
        ``log p(k | x_i)``.
    """
    log_resp, lpn, _, _, _, _ = em_pass(X, weights, means, prec_chol, cov_type, False)
    return lpn, log_resp


def _cholesky_failure(what: str, reg_covar: float) -> ValueError:
    return ValueError(
        f"Fitting the Gaussian mixture failed: {what} is not positive definite "
        "(a component collapsed onto too few or identical points, or the features differ "
        f"hugely in scale). Increase reg_covar (currently {reg_covar:g}), use fewer "
        "components, or scale the input data."
    )


def precision_cholesky(covariances: np.ndarray, cov_type: str, reg_covar: float) -> np.ndarray:
    """Upper Cholesky factors of the precisions, by triangular substitution (never inverted).

    Parameters
    ----------
    covariances : ndarray
        In the layout of ``GMMFit.covariances`` for ``cov_type``.
    cov_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Named in the error message.

    Returns
    -------
    ndarray
        In the layout of ``GMMFit.precisions_cholesky``.

    Raises
    ------
    ValueError
        When a covariance is not positive definite (says what to change).
    """
    compile_ahead.wait_for("mixture")  # a first run: the kernels may be compiling elsewhere
    if cov_type in ("full", "tied"):
        cov3 = covariances if cov_type == "full" else covariances[None]
        out = np.empty_like(cov3)
        bad = K.precision_cholesky_full(np.ascontiguousarray(cov3), out)
        if bad >= 0:
            what = f"the covariance of component {bad}" if cov_type == "full" else (
                "the shared (tied) covariance")
            raise _cholesky_failure(what, reg_covar)
        return out if cov_type == "full" else out[0]
    ok = (covariances > 0.0).reshape(covariances.shape[0], -1).all(axis=1)
    if not ok.all():
        raise _cholesky_failure(f"the covariance of component {int(np.argmin(ok))}", reg_covar)
    return 1.0 / np.sqrt(covariances)


def tied_scatter(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global mean and total scatter of X (constant over the EM iterations of a tied model).

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64

    Returns
    -------
    center : ndarray of shape (d,)
    scatter : ndarray of shape (d, d)
    """
    n, d = X.shape
    center = X.mean(axis=0)
    acc = np.zeros((K.n_blocks(n), 1, d * d))
    scatter(X, np.ones((n, 1)), center[None, :], True, acc)
    S = acc.sum(axis=0)[0].reshape(d, d)
    return center, np.triu(S) + np.triu(S, 1).T


def parallel_pays(n: int, n_comp: int, d: int, cov_type: str) -> bool:
    """Whether a mixture pass runs the threaded kernels (``config.GMM_PARALLEL_MIN_WORK``).

    Parameters
    ----------
    n, n_comp, d : int
        Rows, components and features.
    cov_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    bool
    """
    per_row = (d * (d + 1) // 2 if cov_type in ("full", "tied") else d) + 20
    return n >= config.PARALLEL_MIN_ROWS and n * n_comp * per_row >= config.GMM_PARALLEL_MIN_WORK


def scatter(X: np.ndarray, resp: np.ndarray, means: np.ndarray, full: bool, acc: np.ndarray) -> None:
    """Add the per-block, per-component scatter of ``X`` about ``means`` into ``acc``.

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64
    resp : ndarray of shape (n, k)
        Weights of every row in every component.
    means : ndarray of shape (k, d)
    full : bool
        Full (d x d, upper triangle) or diagonal (d) scatter.
    acc : ndarray of shape (n_blocks, k, d * d or d)
        Accumulator, filled in place (blocks merged by the caller in block order).
    """
    compile_ahead.wait_for("mixture")  # a first run: the kernels may be compiling elsewhere
    n, d = X.shape
    big = parallel_pays(n, resp.shape[1], d, "full" if full else "diag")
    kernel = K.scatter_parallel if big else K.scatter_serial
    kernel(X, resp, np.ascontiguousarray(means), full, acc)


def params_from_resp(X: np.ndarray, resp: np.ndarray, cov_type: str, reg_covar: float,
                     tied_stats: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """(weights, means, covariances, precisions_cholesky) from responsibilities.

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64
    resp : ndarray of shape (n, k)
        Responsibilities (rows need not sum to 1).
    cov_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Added to the diagonal of every covariance.
    tied_stats : (center, scatter), optional
        From `tied_scatter`; only valid when every row of ``resp`` sums to 1.

    Returns
    -------
    tuple of ndarray
        weights, means, covariances, precisions_cholesky.

    Raises
    ------
    ValueError
        When a covariance is not positive definite (says what to change).

    Notes
    -----
    Used for the initial M-step, whose responsibilities need not sum to 1 per row (one seed
    point per component), hence the tied shortcut is only taken when ``tied_stats`` is given.
    The floor keeps an emptied component finite instead of 0 / 0.
    """
    n, d = X.shape
    nk_raw = resp.sum(axis=0)
    sx = resp.T @ X
    n_comp = resp.shape[1]
    nk = nk_raw + WEIGHT_FLOOR
    means = sx / nk[:, None]
    if cov_type == "tied" and tied_stats is not None:
        # Valid only when every row of resp sums to 1 (E-step output), see tied_scatter.
        center, S = tied_stats
        dm = means - center
        between = (nk_raw[:, None] * dm).T @ dm
        cov = (S - between) / nk.sum()
        cov.flat[:: d + 1] += reg_covar
        covariances = cov
    else:
        full = cov_type in ("full", "tied")
        acc = np.zeros((K.n_blocks(n), n_comp, d * d if full else d))
        scatter(X, resp, means, full, acc)
        tot = acc.sum(axis=0)
        if full:
            tot = tot.reshape(n_comp, d, d)
            tot = np.triu(tot) + np.transpose(np.triu(tot, 1), (0, 2, 1))
            if cov_type == "tied":
                covariances = tot.sum(axis=0) / nk.sum()
                covariances.flat[:: d + 1] += reg_covar
            else:
                covariances = tot / nk[:, None, None]
                idx = np.arange(d)
                covariances[:, idx, idx] += reg_covar
        else:
            covariances = tot / nk[:, None] + reg_covar
            if cov_type == "spherical":
                covariances = covariances.mean(axis=1)
    weights = nk / nk.sum()
    prec_chol = precision_cholesky(covariances, cov_type, reg_covar)
    return weights, means, covariances, prec_chol


def _cov_full(nk_raw, nk, delta, s2, reg_covar):
    n_comp, d = delta.shape
    S2 = s2.reshape(n_comp, d, d)
    S2 = np.triu(S2) + np.transpose(np.triu(S2, 1), (0, 2, 1))
    S2 -= nk_raw[:, None, None] * delta[:, :, None] * delta[:, None, :]
    cov = S2 / nk[:, None, None]
    idx = np.arange(d)
    cov[:, idx, idx] += reg_covar
    return cov


def _cov_tied(nk_raw, nk, means, reg_covar, tied_stats):
    # within = total scatter - between-component scatter (rows of resp sum to 1)
    center, S = tied_stats
    dm = means - center
    cov = (S - (nk_raw[:, None] * dm).T @ dm) / nk.sum()
    cov.flat[:: cov.shape[0] + 1] += reg_covar
    return cov


def _cov_diag(nk_raw, nk, delta, s2, reg_covar):
    return (s2 - nk_raw[:, None] * delta * delta) / nk[:, None] + reg_covar


def _cov_spherical(nk_raw, nk, delta, s2, reg_covar):
    return _cov_diag(nk_raw, nk, delta, s2, reg_covar).mean(axis=1)


def m_step(centers: np.ndarray, nk_raw: np.ndarray, s1: np.ndarray, s2: np.ndarray, cov_type: str,
           reg_covar: float, tied_stats: tuple | None) -> tuple[np.ndarray, ...]:
    """New parameters from the statistics of the fused E-step (taken about ``centers``).

    Parameters
    ----------
    centers : ndarray of shape (k, d)
        The means of the E-step the statistics were taken about.
    nk_raw, s1, s2 : ndarray
        N_k, first and second moments about ``centers`` (summed over the blocks of `em_pass`).
    cov_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
    tied_stats : (center, scatter) or None
        From `tied_scatter` for a tied model.

    Returns
    -------
    tuple of ndarray
        weights, means, covariances, precisions_cholesky.

    Notes
    -----
    With delta_k = s1_k / N_k the new mean is c_k + delta_k, and the scatter about it is
    S2_k - N_k delta_k delta_k^T, with S2_k small-offset moments (no cancellation).
    """
    nk = nk_raw + WEIGHT_FLOOR
    delta = s1 / nk[:, None]
    means = centers + delta
    if cov_type == "full":
        covariances = _cov_full(nk_raw, nk, delta, s2, reg_covar)
    elif cov_type == "tied":
        covariances = _cov_tied(nk_raw, nk, means, reg_covar, tied_stats)
    elif cov_type == "diag":
        covariances = _cov_diag(nk_raw, nk, delta, s2, reg_covar)
    else:
        covariances = _cov_spherical(nk_raw, nk, delta, s2, reg_covar)
    weights = nk / nk.sum()
    return weights, means, covariances, precision_cholesky(covariances, cov_type, reg_covar)


def em_iterations(X: np.ndarray, params: tuple, cov_type: str, reg_covar: float, tol: float, max_iter: int,
                  lower_bound: float, tied_stats: tuple | None, verbose: int = 0) -> tuple:
    """EM iterations from ``params`` until the mean log-likelihood changes by less than ``tol``.

    As in scikit-learn, the lower bound of an iteration is the mean log-likelihood of the
    parameters *entering* it, and the returned parameters are one M-step further.

    Parameters
    ----------
    X : ndarray of shape (n, d), C-contiguous float64
    params : tuple
        (weights, means, covariances, precisions_cholesky) to start from.
    cov_type : {"full", "tied", "diag", "spherical"}
    reg_covar, tol : float
    max_iter : int
    lower_bound : float
        The lower bound before the first iteration (``-inf`` to start).
    tied_stats : (center, scatter) or None
        From `tied_scatter` for a tied model.
    verbose : int, default=0
        2 and above print every iteration.

    Returns
    -------
    tuple
        (params, lower_bound, n_iter, converged, history).
    """
    n = X.shape[0]
    history: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        prev = lower_bound
        weights, means, _, prec_chol = params
        _, _, nk_part, s1_part, s2_part, lpn_part = em_pass(
            X, weights, means, prec_chol, cov_type, True)
        lower_bound = float(lpn_part.sum()) / n
        history.append(lower_bound)
        params = m_step(means, nk_part.sum(axis=0), s1_part.sum(axis=0), s2_part.sum(axis=0),
                         cov_type, reg_covar, tied_stats)
        change = lower_bound - prev
        if verbose >= 2:
            print(f"  Iteration {n_iter}: lower bound {lower_bound:.6f}, change {change:.3g}")
        if abs(change) < tol:
            converged = True
            break
    return params, lower_bound, n_iter, converged, history


def n_mixture_parameters(k: int, d: int, covariance_type: str) -> int:
    """Free parameters of a k-component Gaussian mixture in d dimensions.

    Parameters
    ----------
    k, d : int
        Components and features.
    covariance_type : {"full", "diag", "tied", "spherical"}

    Returns
    -------
    int
        k * d means, the covariance entries, and k - 1 weights.
    """
    cov = {"full": k * d * (d + 1) // 2, "diag": k * d, "tied": d * (d + 1) // 2,
           "spherical": k}[covariance_type]
    return k * d + cov + k - 1


@dataclass(frozen=True)
class GMMFit:
    """A fitted Gaussian mixture as plain arrays (what the pipeline needs, no estimator).

    Attributes
    ----------
    covariance_type : str
    weights : ndarray of shape (k,)
    means : ndarray of shape (k, d)
    covariances : ndarray
        In the layout of ``GaussianMixture.covariances_``.
    precisions_cholesky : ndarray
        In the layout of ``GaussianMixture.precisions_cholesky_``.
    lower_bound : float
        Mean log-likelihood per sample at the last E-step.
    n_iter : int
    converged : bool
    history : list of float
        The lower bound after every iteration.
    """

    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray
    lower_bound: float
    n_iter: int
    converged: bool
    history: list

    def log_prob_resp(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample log-likelihood and log responsibilities of ``X`` (C-contiguous float64)."""
        return mixture_log_prob_resp(
            as_float64(X), self.weights, self.means, self.precisions_cholesky, self.covariance_type
        )

    def n_parameters(self) -> int:
        """Free parameters: means, covariances and k - 1 weights."""
        return n_mixture_parameters(*self.means.shape, self.covariance_type)

    def bic(self, X: np.ndarray) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        lpn, _ = self.log_prob_resp(X)
        return float(-2.0 * lpn.sum() + self.n_parameters() * math.log(X.shape[0]))


@guarded
def em_from_partition(
    X: np.ndarray,
    labels: np.ndarray,
    n_components: int,
    *,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> GMMFit:
    """Fit a Gaussian mixture by EM, starting from a hard partition; plain-array result.

    Meant for segengine's model search, which already has the KMeans labels of every k:
    the first M-step turns the partition into weights, means and covariances. Input is assumed
    valid (finite 2-D array, ``0 <= labels < n_components``, ``n_samples >= n_components``).
    Imports nothing from scikit-learn.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data (float32 or float64).
    labels : ndarray of shape (n_samples,)
        Initial hard assignment of every row to a component.
    n_components : int
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood.
    max_iter : int, default=100
        Maximum number of EM iterations.

    Returns
    -------
    GMMFit
    """
    X = as_float64(X)
    labels = np.asarray(labels, dtype=np.int64)
    n = X.shape[0]
    resp = np.zeros((n, n_components))
    resp[np.arange(n), labels] = 1.0
    tied_stats = tied_scatter(X) if covariance_type == "tied" else None
    params = params_from_resp(X, resp, covariance_type, reg_covar)
    del resp
    if max_iter > 0:
        params, lb, n_iter, converged, hist = em_iterations(
            X, params, covariance_type, reg_covar, tol, max_iter, -np.inf, tied_stats)
    else:
        lb, n_iter, converged, hist = -np.inf, 0, False, []
    weights, means, covariances, prec_chol = params
    return GMMFit(covariance_type, weights, means, covariances, prec_chol, float(lb), int(n_iter),
                  bool(converged), list(hist))


# The name this function had before #15 ("em" and "fit" from labels were two names too close
# to tell apart); segmenter.py and stability.py, which other branches of this wave rewrite,
# still call it.
gmm_em_from_labels = em_from_partition

# The private name before #15; segmenter.py (Segmenter._proba_matrix) still imports it.
_estimate_log_prob_resp = mixture_log_prob_resp

"""Gaussian mixture engine: a functional EM core and a scikit-learn compatible estimator.

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
import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
import sklearn.exceptions
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, validate_data

from segengine import config
from segengine.engines import _gmm_kernels as K
from segengine.errors import NotFittedError
from segengine.concurrency import guarded

__all__ = ["GaussianMixture", "gmm_fit_from_labels"]

_COV_CODES = {"full": K.FULL, "tied": K.TIED, "diag": K.DIAG, "spherical": K.SPHERICAL}
_WEIGHT_FLOOR = 10.0 * np.finfo(np.float64).eps
_LOG_2PI = math.log(2.0 * math.pi)


class _GMMNotFittedError(NotFittedError, sklearn.exceptions.NotFittedError):
    """segengine's NotFittedError that scikit-learn's ``except NotFittedError`` also catches."""


# --------------------------------------------------------------------------------------------
# Functional core (input assumed valid: C-contiguous float64 X, consistent shapes)
# --------------------------------------------------------------------------------------------


def _as_float64(X: Any) -> np.ndarray:
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
    """log det of each precision Cholesky factor (= -1/2 log det of the covariance)."""
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


def _em_pass(X, weights, means, prec_chol, cov_type, fit_mode):
    """Run the fused E-step kernel; returns (log_resp, lpn, nk_part, s1_part, s2_part, lpn_part).

    Fit mode fills the per-block statistics (log_resp is a dummy); predict mode fills log_resp.
    """
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
    kernel = K.em_pass_parallel if _parallel_pays(n, n_comp, d, cov_type) else K.em_pass_serial
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


def _estimate_log_prob_resp(
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
    log_resp, lpn, _, _, _, _ = _em_pass(X, weights, means, prec_chol, cov_type, False)
    return lpn, log_resp


def _cholesky_failure(what: str, reg_covar: float) -> ValueError:
    return ValueError(
        f"Fitting the Gaussian mixture failed: {what} is not positive definite "
        "(a component collapsed onto too few or identical points, or the features differ "
        f"hugely in scale). Increase reg_covar (currently {reg_covar:g}), use fewer "
        "components, or scale the input data."
    )


def _precision_cholesky(covariances: np.ndarray, cov_type: str, reg_covar: float) -> np.ndarray:
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


def _tied_scatter(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global mean and total scatter of X (constant over the EM iterations of a tied model)."""
    n, d = X.shape
    center = X.mean(axis=0)
    acc = np.zeros((K.n_blocks(n), 1, d * d))
    _scatter(X, np.ones((n, 1)), center[None, :], True, acc)
    S = acc.sum(axis=0)[0].reshape(d, d)
    return center, np.triu(S) + np.triu(S, 1).T


def _parallel_pays(n: int, n_comp: int, d: int, cov_type: str) -> bool:
    per_row = (d * (d + 1) // 2 if cov_type in ("full", "tied") else d) + 20
    return n >= config.PARALLEL_MIN_ROWS and n * n_comp * per_row >= config.GMM_PARALLEL_MIN_WORK


def _scatter(X, resp, means, full, acc):
    n, d = X.shape
    big = _parallel_pays(n, resp.shape[1], d, "full" if full else "diag")
    kernel = K.scatter_parallel if big else K.scatter_serial
    kernel(X, resp, np.ascontiguousarray(means), full, acc)


def _params_from_resp(X, resp, cov_type, reg_covar, tied_stats=None):
    """(weights, means, covariances, precisions_cholesky) from responsibilities.

    Used for the initial M-step, whose responsibilities need not sum to 1 per row (one seed
    point per component), hence the tied shortcut is only taken when ``tied_stats`` is given.
    The floor keeps an emptied component finite instead of 0 / 0.
    """
    n, d = X.shape
    nk_raw = resp.sum(axis=0)
    sx = resp.T @ X
    n_comp = resp.shape[1]
    nk = nk_raw + _WEIGHT_FLOOR
    means = sx / nk[:, None]
    if cov_type == "tied" and tied_stats is not None:
        # Valid only when every row of resp sums to 1 (E-step output), see _tied_scatter.
        center, S = tied_stats
        dm = means - center
        between = (nk_raw[:, None] * dm).T @ dm
        cov = (S - between) / nk.sum()
        cov.flat[:: d + 1] += reg_covar
        covariances = cov
    else:
        full = cov_type in ("full", "tied")
        acc = np.zeros((K.n_blocks(n), n_comp, d * d if full else d))
        _scatter(X, resp, means, full, acc)
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
    prec_chol = _precision_cholesky(covariances, cov_type, reg_covar)
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


def _m_step(centers, nk_raw, s1, s2, cov_type, reg_covar, tied_stats):
    """New parameters from the statistics of the fused E-step (taken about ``centers``).

    With delta_k = s1_k / N_k the new mean is c_k + delta_k, and the scatter about it is
    S2_k - N_k delta_k delta_k^T, with S2_k small-offset moments (no cancellation).
    """
    nk = nk_raw + _WEIGHT_FLOOR
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
    return weights, means, covariances, _precision_cholesky(covariances, cov_type, reg_covar)


def _em(X, params, cov_type, reg_covar, tol, max_iter, lower_bound, tied_stats, verbose=0):
    """EM iterations from ``params``; returns (params, lower_bound, n_iter, converged, history).

    As in scikit-learn, the lower bound of an iteration is the mean log-likelihood of the
    parameters *entering* it, and the returned parameters are one M-step further.
    """
    n = X.shape[0]
    history: list[float] = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        prev = lower_bound
        weights, means, _, prec_chol = params
        _, _, nk_part, s1_part, s2_part, lpn_part = _em_pass(
            X, weights, means, prec_chol, cov_type, True)
        lower_bound = float(lpn_part.sum()) / n
        history.append(lower_bound)
        params = _m_step(means, nk_part.sum(axis=0), s1_part.sum(axis=0), s2_part.sum(axis=0),
                         cov_type, reg_covar, tied_stats)
        change = lower_bound - prev
        if verbose >= 2:
            print(f"  Iteration {n_iter}: lower bound {lower_bound:.6f}, change {change:.3g}")
        if abs(change) < tol:
            converged = True
            break
    return params, lower_bound, n_iter, converged, history


@guarded
def gmm_fit_from_labels(
    X: np.ndarray,
    labels: np.ndarray,
    n_components: int,
    *,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> GaussianMixture:
    """Fit a Gaussian mixture by EM, starting from a hard partition.

    Meant for segengine's model search, which already has the KMeans labels of every k:
    the first M-step turns the partition into weights, means and covariances. Input is assumed
    valid (finite 2-D array, ``0 <= labels < n_components``, ``n_samples >= n_components``).
    No ConvergenceWarning is emitted; inspect ``converged_`` of the result.

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
    GaussianMixture
        A fitted estimator (``init_params="kmeans"`` recorded as the nominal initialisation).
    """
    X = _as_float64(X)
    labels = np.asarray(labels, dtype=np.int64)
    n = X.shape[0]
    resp = np.zeros((n, n_components))
    resp[np.arange(n), labels] = 1.0
    tied_stats = _tied_scatter(X) if covariance_type == "tied" else None
    params = _params_from_resp(X, resp, covariance_type, reg_covar)
    del resp
    if max_iter > 0:
        params, lb, n_iter, converged, hist = _em(
            X, params, covariance_type, reg_covar, tol, max_iter, -np.inf, tied_stats)
    else:
        lb, n_iter, converged, hist = -np.inf, 0, False, []
    gm = GaussianMixture(n_components, covariance_type=covariance_type, tol=tol,
                         reg_covar=reg_covar, max_iter=max_iter)
    gm._set_fitted(params, X.shape[1], lb, n_iter, converged, hist)
    return gm


# --------------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------------


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM, a drop-in for ``sklearn.mixture.GaussianMixture``.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Form of the component covariances.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood changes by less than this.
    reg_covar : float, default=1e-6
        Non-negative value added to the diagonal of every covariance.
    max_iter : int, default=100
        Maximum EM iterations per initialisation.
    n_init : int, default=1
        Number of initialisations; the one with the largest final likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How the initial responsibilities are drawn.
    weights_init, means_init, precisions_init : array-like, optional
        User-supplied initial parameters (override the corresponding part of ``init_params``).
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Continue from the previous fit (one initialisation).
    verbose : int, default=0
        1 prints one line per initialisation, 2 one line per iteration.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
        Parameters of the chosen run (same shapes and conventions as scikit-learn).
    converged_ : bool
        Whether the *chosen* run converged.
    n_iter_ : int
        EM iterations of the chosen run.
    lower_bound_ : float
        Mean log-likelihood of the chosen run at its last iteration.
    lower_bounds_ : list of float
        Mean log-likelihood of every iteration of the chosen run.
    n_features_in_ : int
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"kmeans", "random", "random_from_data", "k-means++"})],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # ---------------------------------------------------------------- validation helpers
    def _check_inits(self, n_features: int) -> tuple:
        k = self.n_components
        w = m = p = None
        if self.weights_init is not None:
            w = check_array(self.weights_init, dtype=np.float64, ensure_2d=False)
            if w.shape != (k,):
                raise ValueError(f"weights_init should have shape ({k},), got {w.shape}.")
            if np.any(w < 0) or np.any(w > 1):
                raise ValueError("weights_init should lie in [0, 1].")
            if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-6):
                raise ValueError(f"weights_init should sum to 1, got sum {w.sum():.6f}.")
        if self.means_init is not None:
            m = check_array(self.means_init, dtype=np.float64)
            if m.shape != (k, n_features):
                raise ValueError(
                    f"means_init should have shape ({k}, {n_features}), got {m.shape}.")
        if self.precisions_init is not None:
            ct = self.covariance_type
            p = check_array(self.precisions_init, dtype=np.float64, ensure_2d=False,
                            allow_nd=True)
            expected = {"full": (k, n_features, n_features), "tied": (n_features, n_features),
                        "diag": (k, n_features), "spherical": (k,)}[ct]
            if p.shape != expected:
                raise ValueError(
                    f"precisions_init for covariance_type={ct!r} should have shape "
                    f"{expected}, got {p.shape}.")
            if ct in ("full", "tied"):
                p3 = p if ct == "full" else p[None]
                if not np.allclose(p3, np.transpose(p3, (0, 2, 1))):
                    raise ValueError("precisions_init should be symmetric.")
            elif np.any(p <= 0):
                raise ValueError("precisions_init should be positive.")
        return w, m, p

    def _prec_chol_from_precisions(self, p: np.ndarray) -> np.ndarray:
        ct = self.covariance_type
        if ct in ("full", "tied"):
            p3 = np.ascontiguousarray(p if ct == "full" else p[None])
            out = np.empty_like(p3)
            if K.upper_factor_of_spd(p3, out) >= 0:
                raise ValueError("precisions_init should be positive definite.")
            return out if ct == "full" else out[0]
        return np.sqrt(p)

    def _initial_resp(self, X: np.ndarray, rs: np.random.RandomState) -> np.ndarray:
        n = X.shape[0]
        k = self.n_components
        if self.init_params == "random":
            resp = rs.uniform(size=(n, k))
            return resp / resp.sum(axis=1)[:, None]
        resp = np.zeros((n, k))
        if self.init_params == "kmeans":
            from segengine.engines.kmeans import kmeans_fit  # lazy: engines import each other

            seed = int(rs.randint(np.iinfo(np.int32).max))
            labels = kmeans_fit(X, k, n_init=1, random_state=seed).labels
            resp[np.arange(n), labels] = 1.0
        elif self.init_params == "random_from_data":
            resp[rs.choice(n, size=k, replace=False), np.arange(k)] = 1.0
        else:  # k-means++ seeds: one responsible point per component
            from sklearn.cluster import kmeans_plusplus

            _, idx = kmeans_plusplus(X, k, random_state=rs)
            resp[idx, np.arange(k)] = 1.0
        return resp

    def _check_fitted(self) -> None:
        if not hasattr(self, "means_"):
            raise _GMMNotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' first.")

    def _set_fitted(self, params, n_features, lower_bound, n_iter, converged, history) -> None:
        weights, means, covariances, prec_chol = params
        self.weights_ = weights
        self.means_ = means
        self.covariances_ = covariances
        self.precisions_cholesky_ = prec_chol
        ct = self.covariance_type
        if ct == "full":
            self.precisions_ = prec_chol @ np.transpose(prec_chol, (0, 2, 1))
        elif ct == "tied":
            self.precisions_ = prec_chol @ prec_chol.T
        else:
            self.precisions_ = prec_chol**2
        self.n_features_in_ = n_features
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = list(history)
        self.n_iter_ = n_iter
        self.converged_ = bool(converged)

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset,
                          ensure_min_samples=2 if reset else 1)
        return _as_float64(X)

    # ---------------------------------------------------------------- fitting
    @guarded
    def fit(self, X: Any, y: Any = None) -> GaussianMixture:
        """Estimate the mixture parameters by EM (``n_init`` runs, the best one kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : GaussianMixture
        """
        self.fit_predict(X, y)
        return self

    @guarded
    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit, then label every row by its most probable component.

        A final E-step with the chosen parameters guarantees ``fit_predict(X)`` equals
        ``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        self._validate_params()
        X = self._validate_X(X, reset=True)
        n, d = X.shape
        if n < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {n}.")
        w_init, m_init, p_init = self._check_inits(d)
        ct = self.covariance_type
        reg = float(self.reg_covar)
        tied_stats = _tied_scatter(X) if ct == "tied" else None

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        rs = check_random_state(self.random_state)
        best = None
        for init in range(n_init):
            if do_init and w_init is not None and m_init is not None and p_init is not None:
                # Everything is given: no initial partition to compute (as scikit-learn).
                prec_chol = self._prec_chol_from_precisions(p_init)
                covariances = (np.linalg.inv(p_init) if ct in ("full", "tied")
                               else 1.0 / p_init)  # only reported when max_iter == 0
                params = (w_init.copy(), m_init.copy(), covariances, prec_chol)
                lb0 = -np.inf
            elif do_init:
                resp = self._initial_resp(X, rs)
                weights, means, covariances, prec_chol = _params_from_resp(X, resp, ct, reg)
                del resp
                if w_init is not None:
                    weights = w_init.copy()
                if m_init is not None:
                    means = m_init.copy()
                if p_init is not None:
                    prec_chol = self._prec_chol_from_precisions(p_init)
                params = (weights, means, covariances, prec_chol)
                lb0 = -np.inf
            else:
                params = (self.weights_, self.means_, self.covariances_,
                          self.precisions_cholesky_)
                lb0 = self.lower_bound_
            if self.max_iter == 0:
                result = (params, lb0, 0, False, [])
            else:
                result = _em(X, params, ct, reg, float(self.tol), self.max_iter, lb0,
                             tied_stats, self.verbose)
            if self.verbose >= 1:
                print(f"Initialization {init}: lower bound {result[1]:.6f}, "
                      f"{result[2]} iterations, converged={result[3]}")
            if best is None or result[1] > best[1]:
                best = result
        params, lb, n_iter, converged, history = best
        self._set_fitted(params, d, lb, n_iter, converged, history)
        if not converged and self.max_iter > 0:
            warnings.warn(
                f"The best EM run did not converge in max_iter={self.max_iter} iterations "
                f"(tol={self.tol:g}). Increase max_iter or tol, try n_init > 1 or another "
                "init_params, or check the data for duplicates and wildly different feature "
                "scales.",
                ConvergenceWarning,
                stacklevel=2,
            )
        _, log_resp = _estimate_log_prob_resp(X, self.weights_, self.means_,
                                              self.precisions_cholesky_, ct)
        return log_resp.argmax(axis=1)

    # ---------------------------------------------------------------- inference
    def _log_prob_resp(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        return _estimate_log_prob_resp(X, self.weights_, self.means_,
                                       self.precisions_cholesky_, self.covariance_type)

    @guarded
    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood ``log p(x)`` of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._log_prob_resp(X)[0]

    def score(self, X: Any, y: Any = None) -> float:
        """Mean log-likelihood per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        return float(self.score_samples(X).mean())

    @guarded
    def predict(self, X: Any) -> np.ndarray:
        """Most probable component of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self._log_prob_resp(X)[1].argmax(axis=1)

    @guarded
    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior probability of every component for every row (rows sum to 1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        return np.exp(self._log_prob_resp(X)[1])

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d,
               "spherical": k}[self.covariance_type]
        return int(cov + k * d + k - 1)

    @guarded
    def bic(self, X: Any) -> float:
        """Bayesian information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
            ``-2 * log L + n_parameters * log(n_samples)``.
        """
        ll = self.score_samples(X)
        return float(-2.0 * ll.sum() + self._n_parameters() * np.log(ll.shape[0]))

    @guarded
    def aic(self, X: Any) -> float:
        """Akaike information criterion on X (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
            ``-2 * log L + 2 * n_parameters``.
        """
        ll = self.score_samples(X)
        return float(-2.0 * ll.sum() + 2 * self._n_parameters())

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            Component of every sample (samples are grouped by component).
        """
        self._check_fitted()
        if n_samples < 1:
            raise ValueError(f"n_samples must be at least 1, got {n_samples}.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        d = self.means_.shape[1]
        ct = self.covariance_type
        parts = []
        for k, (mean, c) in enumerate(zip(self.means_, counts)):
            if ct == "full":
                parts.append(rng.multivariate_normal(mean, self.covariances_[k], c))
            elif ct == "tied":
                parts.append(rng.multivariate_normal(mean, self.covariances_, c))
            else:
                scale = np.sqrt(self.covariances_[k])
                parts.append(mean + rng.standard_normal((c, d)) * scale)
        X = np.vstack(parts)
        y = np.repeat(np.arange(self.n_components), counts)
        return X, y

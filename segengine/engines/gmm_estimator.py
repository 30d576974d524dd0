"""The scikit-learn-compatible GaussianMixture estimator over segengine's numba EM core.

Kept apart from `segengine.engines.gmm` (the functions the pipeline calls) so that only code
that wants the estimator pays for importing scikit-learn.
"""

from __future__ import annotations

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

from segengine.concurrency import guarded
from segengine.engines import _gmm_kernels as K
from segengine.engines.gmm import (
    as_float64,
    em_from_partition,
    em_iterations,
    mixture_log_prob_resp,
    n_mixture_parameters,
    params_from_resp,
    tied_scatter,
)
from segengine.engines.kmeans import kmeans_fit
from segengine.errors import NotFittedError

__all__ = ["GaussianMixture", "estimator_from_partition"]


class _GMMNotFittedError(NotFittedError, sklearn.exceptions.NotFittedError):
    """segengine's NotFittedError that scikit-learn's ``except NotFittedError`` also catches."""


def _check_shape(param: np.ndarray, shape: tuple, name: str, field: str) -> None:
    if param.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {param.shape} ({field}).")


# scikit-learn's sentence when a covariance is not positive definite (its tests match it);
# segengine's own explanation follows it.
_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease the "
    "number of components, increase reg_covar, or scale the input data."
)


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
        # scikit-learn's checks and messages (its test suite pins them).
        k = self.n_components
        w = m = p = None
        if self.weights_init is not None:
            w = check_array(self.weights_init, dtype=[np.float64, np.float32], ensure_2d=False)
            _check_shape(w, (k,), "weights", "weights_init")
            if np.any(w < 0) or np.any(w > 1):
                raise ValueError(
                    "The parameter 'weights' should be in the range [0, 1], but got max value "
                    f"{w.max():.5f}, min value {w.min():.5f} (weights_init).")
            atol = 1e-6 if w.dtype == np.float32 else 1e-8
            if not abs(1.0 - float(w.sum())) <= atol:
                raise ValueError(
                    f"The parameter 'weights' should be normalized, but got sum(weights) = {w.sum():.5f} "
                    "(weights_init).")
            w = w.astype(np.float64)
        if self.means_init is not None:
            m = check_array(self.means_init, dtype=[np.float64, np.float32])
            _check_shape(m, (k, n_features), "means", "means_init")
            m = m.astype(np.float64)
        if self.precisions_init is not None:
            ct = self.covariance_type
            p = check_array(self.precisions_init, dtype=[np.float64, np.float32], ensure_2d=False,
                            allow_nd=ct == "full")
            expected = {"full": (k, n_features, n_features), "tied": (n_features, n_features),
                        "diag": (k, n_features), "spherical": (k,)}[ct]
            _check_shape(p, expected, f"{ct} precision", "precisions_init")
            p = p.astype(np.float64)
            if ct in ("full", "tied"):
                for mat in (p if ct == "full" else p[None]):
                    if not (np.allclose(mat, mat.T) and np.all(np.linalg.eigvalsh(mat) > 0.0)):
                        raise ValueError(f"'{ct} precision' should be symmetric, positive-definite (precisions_init).")
            elif np.any(p <= 0):
                raise ValueError(f"'{ct} precision' should be positive (precisions_init).")
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
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

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

    def _set_parameters(self, params) -> None:
        """Set the fitted parameters from a parameter tuple (scikit-learn's name).

        ``weights_``, ``means_``, ``covariances_``, ``precisions_cholesky_`` and ``precisions_``
        come from a ``(weights, means, covariances, precisions_cholesky)`` tuple.
        """
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        pc = self.precisions_cholesky_
        if self.covariance_type == "full":
            self.precisions_ = pc @ np.transpose(pc, (0, 2, 1))
        elif self.covariance_type == "tied":
            self.precisions_ = pc @ pc.T
        else:
            self.precisions_ = pc**2

    def _initialize(self, X: Any, resp: Any) -> None:
        """Initial parameters from responsibilities ``resp`` (n_samples, n_components).

        ``weights_init``, ``means_init`` and ``precisions_init`` take precedence, as in
        scikit-learn's method of the same name.
        """
        # Like scikit-learn's, no validation here: fit checks the initial values first.
        X = as_float64(X)
        weights, means, covariances, prec_chol = self._params_from_resp(X, np.asarray(resp, np.float64))
        if self.weights_init is not None:
            weights = np.asarray(self.weights_init, dtype=np.float64)
        if self.means_init is not None:
            means = np.asarray(self.means_init, dtype=np.float64)
        if self.precisions_init is not None:
            prec_chol = self._prec_chol_from_precisions(np.asarray(self.precisions_init, np.float64))
        self._set_parameters((weights, means, covariances, prec_chol))

    def _params_from_resp(self, X: np.ndarray, resp: np.ndarray) -> tuple:
        try:
            return params_from_resp(X, resp, self.covariance_type, float(self.reg_covar))
        except ValueError as exc:
            raise ValueError(f"{_ILL_DEFINED} {exc}") from exc

    def _validate_X(self, X, reset: bool) -> np.ndarray:
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset,
                          ensure_min_samples=2 if reset else 1)
        if reset:
            self._fit_dtype = X.dtype
        return as_float64(X)

    def _params64(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The fitted parameters in float64 (EM and inference always compute in float64)."""
        return tuple(np.asarray(a, dtype=np.float64) for a in (
            self.weights_, self.means_, self.covariances_, self.precisions_cholesky_))

    def _store_in_input_dtype(self) -> None:
        # Like scikit-learn, a float32 fit keeps its attributes in float32.
        dtype = getattr(self, "_fit_dtype", np.float64)
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
            setattr(self, name, np.asarray(getattr(self, name)).astype(dtype, copy=False))

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
        tied_stats = tied_scatter(X) if ct == "tied" else None

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
                weights, means, covariances, prec_chol = self._params_from_resp(X, resp)
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
                params = self._params64()
                lb0 = self.lower_bound_
            if self.max_iter == 0:
                result = (params, lb0, 0, False, [])
            else:
                try:
                    result = em_iterations(X, params, ct, reg, float(self.tol), self.max_iter, lb0,
                                 tied_stats, self.verbose)
                except ValueError as exc:
                    if "not positive definite" not in str(exc):
                        raise
                    raise ValueError(f"{_ILL_DEFINED} {exc}") from exc
            if self.verbose >= 1:
                print(f"Initialization {init}: lower bound {result[1]:.6f}, "
                      f"{result[2]} iterations, converged={result[3]}")
            if best is None or result[1] > best[1]:
                best = result
        params, lb, n_iter, converged, history = best
        self._set_fitted(params, d, lb, n_iter, converged, history)
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data. "
                f"(max_iter={self.max_iter}, tol={self.tol:g}; n_init > 1 may help too.)",
                ConvergenceWarning,
                stacklevel=2,
            )
        _, log_resp = mixture_log_prob_resp(X, self.weights_, self.means_,
                                              self.precisions_cholesky_, ct)
        self._store_in_input_dtype()
        return log_resp.argmax(axis=1)

    # ---------------------------------------------------------------- inference
    def _log_prob_resp(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dtype = X.dtype
        weights, means, _, prec_chol = self._params64()
        lpn, log_resp = mixture_log_prob_resp(as_float64(X), weights, means, prec_chol,
                                                self.covariance_type)
        # Computed in float64, returned in the dtype of X (as scikit-learn's).
        return lpn.astype(dtype, copy=False), log_resp.astype(dtype, copy=False)

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
        return n_mixture_parameters(*self.means_.shape, self.covariance_type)

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
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples} . The sampling requires at least one sample.")
        rng = check_random_state(self.random_state)
        weights, means, covariances, _ = self._params64()
        counts = rng.multinomial(n_samples, weights)
        d = means.shape[1]
        ct = self.covariance_type
        parts = []
        for k, (mean, c) in enumerate(zip(means, counts)):
            if ct == "full":
                parts.append(rng.multivariate_normal(mean, covariances[k], c))
            elif ct == "tied":
                parts.append(rng.multivariate_normal(mean, covariances, c))
            else:
                scale = np.sqrt(covariances[k])
                parts.append(mean + rng.standard_normal((c, d)) * scale)
        X = np.vstack(parts)
        y = np.repeat(np.arange(self.n_components), counts)
        return X, y


def estimator_from_partition(
    X: np.ndarray,
    labels: np.ndarray,
    n_components: int,
    *,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
) -> GaussianMixture:
    """EM from a hard partition (`segengine.engines.gmm.em_from_partition`), as a fitted estimator.

    No ConvergenceWarning is emitted; inspect ``converged_`` of the result.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data (float32 or float64; valid input assumed, as in `em_from_partition`).
    labels : ndarray of shape (n_samples,)
        Initial hard assignment of every row to a component.
    n_components : int
        Number of mixture components.
    covariance_type, reg_covar, tol, max_iter
        See `segengine.engines.gmm.em_from_partition`.

    Returns
    -------
    GaussianMixture
        A fitted estimator (``init_params="kmeans"`` recorded as the nominal initialisation).
    """
    X = as_float64(X)
    fit = em_from_partition(X, labels, n_components, covariance_type=covariance_type,
                            reg_covar=reg_covar, tol=tol, max_iter=max_iter)
    gm = GaussianMixture(n_components, covariance_type=covariance_type, tol=tol,
                         reg_covar=reg_covar, max_iter=max_iter)
    gm._set_fitted((fit.weights, fit.means, fit.covariances, fit.precisions_cholesky), X.shape[1],
                   fit.lower_bound, fit.n_iter, fit.converged, fit.history)
    return gm

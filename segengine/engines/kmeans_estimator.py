"""The scikit-learn-compatible KMeans estimator over segengine's numba KMeans core.

Kept apart from `segengine.engines.kmeans` (the functions the pipeline calls) so that only code
that wants the estimator pays for importing scikit-learn.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from segengine import config
from segengine.concurrency import guarded
from segengine.engines import _kmeans_kernels as _k
from segengine.engines.kmeans import (
    RandomStateLike,
    _base_seed,
    _fit_prepared,
    _one_blas_thread,
    _prepare,
    _use_parallel,
)
from segengine.errors import NotFittedError, ValidationError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, X="no_validation", **kwargs):
        return estimator._validate_data(X, **kwargs)

__all__ = ["KMeans"]


# ---------------------------------------------------------------------------------------
# estimator
# ---------------------------------------------------------------------------------------


class _KMeansNotFittedError(NotFittedError, _SklearnNotFittedError):
    """segengine's NotFittedError that scikit-learn's tooling also recognises."""


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}.")
    if value < low:
        raise ValidationError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-Means clustering with deterministic numba kernels (scikit-learn compatible).

    The mixins come before `BaseEstimator` as scikit-learn requires for its tag machinery.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features)
        Initialisation: greedy k-means++, k rows drawn with probability proportional to the
        sample weights, or explicit centres.
    n_init : "auto" or int, default="auto"
        Restarts, keeping the lowest inertia. "auto": 1 for k-means++ and explicit centres,
        10 for "random".
    max_iter : int, default=300
        Maximum iterations per restart.
    tol : float, default=1e-4
        Relative tolerance: convergence when the total squared centre shift is at most
        ``tol`` times the mean per-feature variance of X.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed or generator of the initialisation.
    algorithm : {"auto", "lloyd", "hamerly", "elkan"}, default="auto"
        Plain Lloyd or Hamerly's bounded variant (identical results up to ties); "elkan" is
        accepted for scikit-learn compatibility and runs Hamerly; "auto" picks by size.
    copy_x : bool, default=True
        Kept for scikit-learn compatibility: X is never modified (the kernels work on a
        centred copy) whatever its value.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,), int64
    inertia_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when X had string feature names
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str | np.ndarray = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: RandomStateLike = None,
        algorithm: str = "auto",
        copy_x: bool = True,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm
        self.copy_x = copy_x

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = False
        return tags

    # -- validation ----------------------------------------------------------------------

    def _check_params(self) -> tuple[int, Any, int, int, float, str]:
        k = _check_int("n_clusters", self.n_clusters, 1)
        max_iter = _check_int("max_iter", self.max_iter, 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValidationError(f"tol must be a non-negative float, got {self.tol!r}.")
        if self.algorithm not in ("auto", "lloyd", "hamerly", "elkan"):
            raise ValidationError(
                f"algorithm must be 'auto', 'lloyd', 'hamerly' or 'elkan', got {self.algorithm!r}."
            )
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise ValidationError(f"copy_x must be a bool, got {self.copy_x!r}.")
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValidationError(f"init must be 'k-means++', 'random' or an array, got {init!r}.")
            default_n_init = 1 if init == "k-means++" else 10
        elif callable(init):
            raise ValidationError("a callable init is not supported; pass 'k-means++', 'random' or an array.")
        else:
            default_n_init = 1
        if isinstance(self.n_init, str):
            if self.n_init != "auto":
                raise ValidationError(f"n_init must be 'auto' or an integer >= 1, got {self.n_init!r}.")
            n_init = default_n_init
        else:
            n_init = _check_int("n_init", self.n_init, 1)
        return k, init, n_init, max_iter, float(self.tol), self.algorithm

    def _check_init_array(self, init: Any, X: np.ndarray, k: int) -> np.ndarray:
        centers = np.asarray(init)
        if centers.dtype.kind not in "biuf":
            raise ValidationError("init array must be numeric.")
        centers = np.ascontiguousarray(centers, dtype=X.dtype)
        if centers.shape != (k, X.shape[1]):
            raise ValidationError(
                f"init array has shape {centers.shape}, expected (n_clusters, n_features) = "
                f"({k}, {X.shape[1]})."
            )
        if not np.all(np.isfinite(centers)):
            raise ValidationError("init array contains NaN or infinity.")
        return centers

    @staticmethod
    def _check_weight(sample_weight: Any, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(n, float(w))
        if w.shape != (n,):
            raise ValidationError(f"sample_weight has shape {w.shape}, expected ({n},).")
        if not np.all(np.isfinite(w)):
            raise ValidationError("sample_weight contains NaN or infinity.")
        if np.any(w < 0):
            raise ValidationError("sample_weight must be non-negative.")
        if not w.sum() > 0:
            raise ValidationError("sample_weight must not be all zero.")
        return np.ascontiguousarray(w)

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise _KMeansNotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' first."
            )

    def _check_test_data(self, X: Any) -> np.ndarray:
        return _validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)

    def _centred(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and the centres in the centred frame of the training data."""
        mean = self._x_mean.astype(X.dtype, copy=False)
        C = np.ascontiguousarray(self._centers_c, dtype=X.dtype)
        return np.ascontiguousarray(X - mean), C

    # -- API -----------------------------------------------------------------------------

    @guarded
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "KMeans":
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (finite; float32 is kept as float32).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples.

        Returns
        -------
        KMeans
            The fitted estimator.
        """
        k, init, n_init, max_iter, tol, algorithm = self._check_params()
        X = _validate_data(self, X, dtype=[np.float64, np.float32], order="C", copy=False)
        n = X.shape[0]
        if n < k:
            raise ValidationError(f"n_samples={n} should be >= n_clusters={k}.")
        w = self._check_weight(sample_weight, n)
        if not isinstance(init, str):
            init = self._check_init_array(init, X, k)
            if n_init != 1:
                warnings.warn(
                    f"Explicit initial centres were given: running 1 initialisation instead of n_init={n_init}.",
                    UserWarning,
                    stacklevel=2,
                )
                n_init = 1
        with _one_blas_thread():
            P = _prepare(X, w, None)  # an init array is shifted by _initial_centers
            # Centred centres are kept so that predict applies the very same shift to X:
            # predict(X_train) then reproduces labels_ bit for bit.
            res = _fit_prepared(
                P, k, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                base=_base_seed(self.random_state), algorithm=algorithm, add_mean=False,
            )
        mean = P.mean
        n_distinct = np.unique(res.labels).size
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({k}); "
                "the data probably has duplicate points.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._x_mean = mean
        self._centers_c = res.centers
        self.cluster_centers_ = np.ascontiguousarray(res.centers + mean)
        self.labels_ = res.labels
        self.inertia_ = res.inertia
        self.n_iter_ = res.n_iter
        return self

    @guarded
    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        self._check_fitted()
        X, C = self._centred(self._check_test_data(X))
        with _one_blas_thread():
            return _k.assign_labels(X, C, config.BLOCK_ROWS, _k.parallel_flag(_use_parallel(*X.shape, C.shape[0])))

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return `labels_`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    @guarded
    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of every sample to every centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
        """
        self._check_fitted()
        X = self._check_test_data(X)
        C = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        return _k.center_distances(X, C, config.BLOCK_ROWS, _k.parallel_flag(_use_parallel(*X.shape, C.shape[0])))

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the distances of the training samples to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    @guarded
    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Opposite of the (weighted) inertia of ``X`` under the fitted centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
            ``-sum_i w_i ||x_i - c_{label_i}||^2`` (higher is better).
        """
        self._check_fitted()
        X = self._check_test_data(X)
        w = self._check_weight(sample_weight, X.shape[0])
        if w is None:
            w = np.ones(X.shape[0], dtype=np.float64)
        X, C = self._centred(X)
        par = _use_parallel(*X.shape, C.shape[0])
        with _one_blas_thread():
            labels = _k.assign_labels(X, C, config.BLOCK_ROWS, _k.parallel_flag(par))
        return -float(_k.inertia(X, C, w, labels, config.BLOCK_ROWS, _k.parallel_flag(par)))

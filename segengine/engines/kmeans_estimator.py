"""The scikit-learn-compatible KMeans estimator over segengine's numba KMeans core.

Kept apart from `segengine.engines.kmeans` (the functions the pipeline calls) so that only code
that wants the estimator pays for importing scikit-learn.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError as _SklearnNotFittedError

from segengine import config
from segengine.concurrency import guarded
from segengine.engines import _kmeans_kernels as _k, _kmeans_sparse_kernels as _ks
from segengine.engines._bounds import check_centers
from segengine.engines.kmeans import (
    RandomStateLike,
    base_seed,
    fit_prepared,
    initial_centers,
    one_blas_thread,
    prepare_data,
    resolve_algorithm,
    rng_for_k,
    use_parallel,
)
from segengine.errors import NotFittedError, ValidationError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, X="no_validation", **kwargs):
        return estimator._validate_data(X, **kwargs)

__all__ = ["KMeans", "k_means", "kmeans_plusplus"]


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


class _Sparse:
    """A CSR matrix as the arrays the sparse kernels take, with its squared row norms."""

    def __init__(self, X: sp.spmatrix | sp.sparray) -> None:
        X = X.tocsr()
        self.shape = X.shape
        self.dtype = X.data.dtype
        self.data = np.ascontiguousarray(X.data)
        self.indices = np.ascontiguousarray(X.indices)
        self.indptr = np.ascontiguousarray(X.indptr)
        self.xsq = _ks.csr_row_sq_norms(self.data, self.indptr)
        self.matrix = X

    def rows(self, idx: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(self.matrix[idx].toarray(), dtype=self.dtype)

    def mean_variance(self) -> float:
        # Mean per-feature variance (the scale of tol), from sums over the stored entries.
        n = self.shape[0]
        X = self.matrix
        mean = np.asarray(X.sum(axis=0), dtype=np.float64).ravel() / n
        sq = np.asarray(X.multiply(X).sum(axis=0), dtype=np.float64).ravel() / n
        return float(np.mean(np.maximum(sq - mean * mean, 0.0)))


def _sparse_parallel(n: int, nnz: int, k: int) -> bool:
    return n >= config.PARALLEL_MIN_ROWS and nnz * k >= config.KMEANS_SPARSE_PARALLEL_MIN_WORK


def _kmeanspp_uniforms(rng: np.random.Generator, k: int, n_trials: int | None) -> tuple[int, np.ndarray]:
    # The same draws as the dense seeding of `segengine.engines.kmeans._initial_centers`, so
    # a dense and a CSR copy of the same data get the same seeds.
    n_trials = 2 + int(np.log(k)) if n_trials is None else int(n_trials)
    return n_trials, rng.random(1 + (k - 1) * n_trials)


def _random_rows(rng: np.random.Generator, w: np.ndarray, k: int) -> np.ndarray:
    n = w.shape[0]
    positive = w > 0
    if np.count_nonzero(positive) >= k:
        idx = rng.choice(n, size=k, replace=False, p=w / w.sum())
    else:
        idx = rng.choice(n, size=k, replace=False)
    return np.sort(idx)


def _verbose_lloyd(assign, step, centers, max_iter, tol):
    """Lloyd one step at a time, printing what scikit-learn's ``verbose`` prints.

    ``assign(c)`` gives ``(labels, inertia)`` against ``c``; ``step(c)`` one centre update.
    The stopping rule is the kernels' (strict convergence, or total squared shift <= tol),
    so the result equals the silent fit; only the verbose path pays the extra passes.
    """
    previous = None
    strict = False
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        labels, inertia = assign(centers)
        print(f"Iteration {it}, inertia {inertia}.")
        new = step(centers)
        shift = float(((np.asarray(new, np.float64) - centers) ** 2).sum())
        centers = new
        if previous is not None and np.array_equal(labels, previous):
            print(f"Converged at iteration {it}: strict convergence.")
            strict = True
            break
        if shift <= tol:
            print(f"Converged at iteration {it}: center shift {shift} within tolerance {tol}.")
            break
        previous = labels
    labels, inertia = assign(centers)
    del strict
    return centers, labels, inertia, n_iter


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-Means clustering with deterministic numba kernels (scikit-learn compatible).

    The mixins come before `BaseEstimator` as scikit-learn requires for its tag machinery.
    Dense input runs the kernels of `segengine.engines.kmeans` (on a centred copy); CSR and
    CSC input runs the kernels of ``_kmeans_sparse_kernels`` over the stored entries only
    (never densified).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array-like of shape (n_clusters, n_features)
        Initialisation: greedy k-means++, k rows drawn with probability proportional to the
        sample weights, ``init(X, n_clusters, random_state=RandomState)`` returning the
        centres, or explicit centres.
    n_init : "auto" or int, default="auto"
        Restarts, keeping the lowest inertia. "auto": 1 for k-means++ and explicit centres,
        10 for "random" and a callable.
    max_iter : int, default=300
        Maximum iterations per restart.
    tol : float, default=1e-4
        Relative tolerance: convergence when the total squared centre shift is at most
        ``tol`` times the mean per-feature variance of X.
    verbose : int, default=0
        Print the initialisation and every iteration (inertia, convergence reason).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed or generator of the initialisation.
    copy_x : bool, default=True
        Kept for scikit-learn compatibility: X is never modified (the kernels work on a
        centred copy) whatever its value.
    algorithm : {"auto", "lloyd", "elkan", "hamerly"}, default="auto"
        Plain Lloyd or Hamerly's bounded variant (identical fixed points); "elkan" is
        accepted for scikit-learn compatibility and runs Hamerly; "auto" picks by size
        (scikit-learn's default "lloyd" gives the same clustering, more slowly at large k).
        Sparse input always runs Lloyd.

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
        init: Any = "k-means++",
        n_init: str | int = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        verbose: int = 0,
        random_state: RandomStateLike = None,
        copy_x: bool = True,
        algorithm: str = "auto",
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    @property
    def _n_features_out(self) -> int:
        # get_feature_names_out: one output (a distance) per cluster.
        return self.cluster_centers_.shape[0]

    # -- validation ----------------------------------------------------------------------

    def _check_params(self) -> tuple[int, Any, int, int, float, str]:
        k = _check_int("n_clusters", self.n_clusters, 1)
        max_iter = _check_int("max_iter", self.max_iter, 1)
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValidationError(f"tol must be a non-negative float, got {self.tol!r}.")
        if self.algorithm not in ("auto", "lloyd", "hamerly", "elkan"):
            raise ValidationError(
                f"algorithm must be 'lloyd', 'elkan', 'auto' or 'hamerly', got {self.algorithm!r}."
            )
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise ValidationError(f"copy_x must be a bool, got {self.copy_x!r}.")
        if not isinstance(self.verbose, (numbers.Integral, np.integer, np.bool_)) or self.verbose < 0:
            raise ValidationError(f"verbose must be an integer >= 0 or a bool, got {self.verbose!r}.")
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValidationError(
                    f"init must be 'k-means++', 'random', a callable or an array, got {init!r}."
                )
            default_n_init = 1 if init == "k-means++" else 10
        elif callable(init):
            default_n_init = 10
        else:
            default_n_init = 1
        if isinstance(self.n_init, str):
            if self.n_init != "auto":
                raise ValidationError(f"n_init must be 'auto' or an integer >= 1, got {self.n_init!r}.")
            n_init = default_n_init
        else:
            n_init = _check_int("n_init", self.n_init, 1)
        return k, init, n_init, max_iter, float(self.tol), self.algorithm

    @staticmethod
    def _check_centers(centers: Any, n_features: int, k: int, dtype) -> np.ndarray:
        centers = np.asarray(centers)
        if centers.dtype.kind not in "biuf":
            raise ValidationError("init array must be numeric.")
        centers = np.array(centers, dtype=dtype, order="C", copy=True)
        if centers.ndim != 2 or centers.shape[0] != k:
            raise ValidationError(
                f"The shape of the initial centers {centers.shape} does not match the number of "
                f"clusters {k}."
            )
        if centers.shape[1] != n_features:
            raise ValidationError(
                f"The shape of the initial centers {centers.shape} does not match the number of "
                f"features of the data {n_features}."
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
            raise ValidationError(f"sample_weight.shape == {w.shape}, expected ({n},)!")
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
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _check_test_data(self, X: Any):
        return _validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                              reset=False, accept_large_sparse=False)

    def _centred(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X`` and the centres in the centred frame of the training data."""
        mean = self._x_mean.astype(X.dtype, copy=False)
        C = np.ascontiguousarray(self._centers_c, dtype=X.dtype)
        return np.ascontiguousarray(X - mean), C

    # -- initialisation ------------------------------------------------------------------

    def _seed(self, X, P, S, k: int, init: Any, rng: np.random.Generator, w: np.ndarray) -> np.ndarray:
        """Initial centres of one restart: centred frame for dense ``P``, raw for sparse ``S``."""
        if S is None:
            if callable(init):
                rs = np.random.RandomState(int(rng.integers(2**32 - 1)))
                c = self._check_centers(init(X, k, random_state=rs), X.shape[1], k, X.dtype)
                return np.ascontiguousarray(c - P.mean, dtype=X.dtype)
            n, d = P.X.shape
            return initial_centers(P, k, init, rng, use_parallel(n, d, k))
        if isinstance(init, str) and init == "k-means++":
            n_trials, u = _kmeanspp_uniforms(rng, k, None)
            return _ks.csr_kmeans_plusplus(S.data, S.indices, S.indptr, S.shape[1], S.xsq, w, k, n_trials, u)[0]
        if isinstance(init, str) and init == "random":
            return S.rows(_random_rows(rng, w, k))
        if callable(init):
            rs = np.random.RandomState(int(rng.integers(2**32 - 1)))
            return self._check_centers(init(X, k, random_state=rs), X.shape[1], k, S.dtype)
        return self._check_centers(init, X.shape[1], k, S.dtype)

    def _init_centroids(self, X, x_squared_norms=None, init=None, random_state=None, sample_weight=None,
                        init_size=None, n_centroids=None):
        """Initial centres as scikit-learn's private ``_init_centroids`` (same arguments).

        ``sample_weight`` weights the k-means++ and "random" draws (zero-weight rows are never
        drawn); ``x_squared_norms`` and ``init_size`` are accepted and ignored.
        """
        k = self.n_clusters if n_centroids is None else int(n_centroids)
        init = self.init if init is None else init
        w = self._check_weight(sample_weight, X.shape[0])
        w = np.ones(X.shape[0]) if w is None else w
        rng = rng_for_k(base_seed(random_state), k)
        with one_blas_thread():
            if sp.issparse(X):
                return self._seed(X, None, _Sparse(X), k, init, rng, w)
            X = np.ascontiguousarray(X)
            P = prepare_data(X, w, None)
            c = self._seed(X, P, None, k, init, rng, w)
            return np.ascontiguousarray(c + P.mean, dtype=X.dtype)

    # -- API -----------------------------------------------------------------------------

    @guarded
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like or sparse matrix (CSR/CSC) of shape (n_samples, n_features)
            Training data (finite; float32 is kept as float32).
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples (also weight the initialisation draws).

        Returns
        -------
        KMeans
            The fitted estimator.
        """
        k, init, n_init, max_iter, tol, algorithm = self._check_params()
        X = _validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C",
                           copy=False, accept_large_sparse=False)
        n = X.shape[0]
        if n < k:
            raise ValidationError(f"n_samples={n} should be >= n_clusters={k}.")
        w = self._check_weight(sample_weight, n)
        explicit = not isinstance(init, str) and not callable(init)
        if explicit:
            init = self._check_centers(init, X.shape[1], k, X.dtype)
            if n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one init in "
                    f"{type(self).__name__} instead of n_init={n_init}.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                n_init = 1
        if algorithm == "elkan" and k == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=2,
            )
            algorithm = "lloyd"
        self._n_init = n_init
        base = base_seed(self.random_state)
        with one_blas_thread():
            if sp.issparse(X):
                centers, labels, inertia, n_iter = self._fit_sparse(X, w, k, init, n_init, max_iter, tol, base)
                self._x_mean = None
                self._centers_c = None
            else:
                centers, labels, inertia, n_iter, mean, centred = self._fit_dense(
                    X, w, k, init, n_init, max_iter, tol, base, algorithm)
                self._x_mean = mean
                self._centers_c = centred
        n_distinct = np.unique(labels).size
        if n_distinct < k:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than n_clusters ({k}). "
                "Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        return self

    def _fit_dense(self, X, w, k, init, n_init, max_iter, tol, base, algorithm):
        P = prepare_data(X, w, None)  # an init array is shifted by initial_centers
        mean = P.mean
        if not callable(init) and not self.verbose:
            # Centred centres are kept so that predict applies the very same shift to X:
            # predict(X_train) then reproduces labels_ bit for bit.
            res = fit_prepared(
                P, k, init=init, n_init=n_init, max_iter=max_iter, tol=tol, base=base,
                algorithm=algorithm, add_mean=False,
            )
            best = (res.centers, res.labels, res.inertia, res.n_iter)
        else:
            # The restarts of `fit_prepared`, one by one (a callable init, or verbose output).
            rng = rng_for_k(base, k)
            n, d = P.X.shape
            par = use_parallel(n, d, k)
            algo = resolve_algorithm(algorithm, n, d, k)
            scaled_tol = tol * P.mean_var
            best = None
            for _ in range(n_init):
                c0 = self._seed(X, P, None, k, init, rng, P.w)
                if self.verbose:
                    print("Initialization complete")

                    def assign(c):
                        lab = _k.assign_labels(P.X, c, config.BLOCK_ROWS, par)
                        return lab, _k.inertia(P.X, c, P.w, lab, config.BLOCK_ROWS, par)

                    def step(c):
                        return _k.lloyd(P.X, P.w, c, 1, scaled_tol, config.BLOCK_ROWS, par)[0]

                    out = _verbose_lloyd(assign, step, c0, max_iter, scaled_tol)
                elif algo == "hamerly":
                    out = _k.hamerly(P.X, P.w, P.xsq, c0, max_iter, scaled_tol, config.BLOCK_ROWS, par)
                else:
                    out = _k.lloyd(P.X, P.w, c0, max_iter, scaled_tol, config.BLOCK_ROWS, par)
                if best is None or out[2] < best[2]:
                    best = out
        centred, labels, inertia, n_iter = best
        centers = np.ascontiguousarray(centred + mean, dtype=X.dtype)
        return centers, labels, inertia, n_iter, mean, centred

    def _fit_sparse(self, X, w, k, init, n_init, max_iter, tol, base):
        S = _Sparse(X)
        n = S.shape[0]
        w = np.ones(n, dtype=np.float64) if w is None else w
        scaled_tol = tol * S.mean_variance()
        par = _sparse_parallel(n, S.data.shape[0], k)
        rng = rng_for_k(base, k)
        best = None
        for _ in range(n_init):
            c0 = np.ascontiguousarray(self._seed(X, None, S, k, init, rng, w), dtype=S.dtype)
            if self.verbose:
                print("Initialization complete")

                def assign(c):
                    lab, _ = _ks.csr_assign(S.data, S.indices, S.indptr, S.xsq, c, config.BLOCK_ROWS, par)
                    return lab, _ks.csr_inertia(S.data, S.indices, S.indptr, S.xsq, c, w, lab)

                def step(c):
                    return _ks.csr_lloyd(S.data, S.indices, S.indptr, S.xsq, w, c, 1, scaled_tol,
                                         config.BLOCK_ROWS, par)[0]

                out = _verbose_lloyd(assign, step, c0, max_iter, scaled_tol)
            else:
                out = _ks.csr_lloyd(S.data, S.indices, S.indptr, S.xsq, w, c0, max_iter, scaled_tol,
                                    config.BLOCK_ROWS, par)
            if best is None or out[2] < best[2]:
                best = out
        centers, labels, inertia, n_iter = best
        return np.ascontiguousarray(centers, dtype=S.dtype), labels, inertia, n_iter

    def _labels_sq(self, X) -> tuple[np.ndarray, Any]:
        """Labels of ``X`` (validated) against the fitted centres, sparse or dense."""
        if sp.issparse(X):
            S = _Sparse(X)
            C = np.ascontiguousarray(self.cluster_centers_, dtype=S.dtype)
            if C.ndim != 2 or C.shape[0] < 1 or C.shape[1] != S.shape[1]:  # set by hand
                raise ValueError(f"centres of shape {C.shape} do not fit data with {S.shape[1]} features")
            par = _sparse_parallel(S.shape[0], S.data.shape[0], C.shape[0])
            return _ks.csr_assign(S.data, S.indices, S.indptr, S.xsq, C, config.BLOCK_ROWS, par)[0], S
        if self._centers_c is None:  # fitted on sparse data: no centred frame
            Xc = np.ascontiguousarray(X)
            C = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        else:
            Xc, C = self._centred(X)
        check_centers(Xc, C)  # cluster_centers_ may have been set by hand
        with one_blas_thread():
            parallel = _k.parallel_flag(use_parallel(*Xc.shape, C.shape[0]))
            return _k.assign_labels(Xc, C, config.BLOCK_ROWS, parallel), (Xc, C)

    @guarded
    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        self._check_fitted()
        return self._labels_sq(self._check_test_data(X))[0]

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit and return `labels_`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
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
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
        """
        self._check_fitted()
        X = self._check_test_data(X)
        if sp.issparse(X):
            S = _Sparse(X)
            C = np.ascontiguousarray(self.cluster_centers_, dtype=np.float64)
            out = _ks.csr_center_distances(S.data, S.indices, S.indptr, S.xsq, C)
            return out.astype(S.dtype, copy=False)
        C = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        return _k.center_distances(X, C, config.BLOCK_ROWS, _k.parallel_flag(use_parallel(*X.shape, C.shape[0])))

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """Fit, then return the distances of the training samples to the centres.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
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
        X : array-like or sparse matrix of shape (n_samples, n_features)
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
        labels, frame = self._labels_sq(X)
        if sp.issparse(X):
            S = frame
            C = np.ascontiguousarray(self.cluster_centers_, dtype=S.dtype)
            return -float(_ks.csr_inertia(S.data, S.indices, S.indptr, S.xsq, C, w, labels))
        Xc, C = frame
        par = _k.parallel_flag(use_parallel(*Xc.shape, C.shape[0]))
        return -float(_k.inertia(Xc, C, w, labels, config.BLOCK_ROWS, par))


# ---------------------------------------------------------------------------------------
# functions of scikit-learn's cluster module
# ---------------------------------------------------------------------------------------


def k_means(
    X: Any,
    n_clusters: int,
    *,
    sample_weight: Any = None,
    init: Any = "k-means++",
    n_init: str | int = "auto",
    max_iter: int = 300,
    verbose: bool = False,
    tol: float = 1e-4,
    random_state: RandomStateLike = None,
    copy_x: bool = True,
    algorithm: str = "lloyd",
    return_n_iter: bool = False,
):
    """Functional K-Means, as ``sklearn.cluster.k_means``.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    n_clusters : int
    sample_weight, init, n_init, max_iter, verbose, tol, random_state, copy_x, algorithm
        As in `KMeans`.
    return_n_iter : bool, default=False
        Also return the number of iterations.

    Returns
    -------
    centroid : ndarray of shape (n_clusters, n_features)
    label : ndarray of shape (n_samples,)
    inertia : float
    best_n_iter : int
        Only when ``return_n_iter`` is true.
    """
    est = KMeans(
        n_clusters=n_clusters, init=init, n_init=n_init, max_iter=max_iter, verbose=verbose, tol=tol,
        random_state=random_state, copy_x=copy_x, algorithm=algorithm,
    ).fit(X, sample_weight=sample_weight)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_


@guarded
def kmeans_plusplus(
    X: Any,
    n_clusters: int,
    *,
    sample_weight: Any = None,
    x_squared_norms: Any = None,
    random_state: RandomStateLike = None,
    n_local_trials: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy k-means++ seeds, as ``sklearn.cluster.kmeans_plusplus``.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    n_clusters : int
        Number of seeds.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the draws (zero-weight rows are never chosen).
    x_squared_norms : array-like of shape (n_samples,), optional
        Squared row norms (computed when omitted).
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
    n_local_trials : int, optional
        Candidates per seed; ``2 + floor(ln k)`` by default.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    indices : ndarray of shape (n_clusters,)
        Row of ``X`` of every seed.
    """
    from sklearn.utils.validation import check_array

    X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32])
    k = _check_int("n_clusters", n_clusters, 1)
    n, d = X.shape
    if n < k:
        raise ValidationError(f"n_samples={n} should be >= n_clusters={k}.")
    w = KMeans._check_weight(sample_weight, n)
    w = np.ones(n) if w is None else w
    if sp.issparse(X):
        S = _Sparse(X)
        data, indices, indptr, xsq = S.data, S.indices, S.indptr, S.xsq
    else:
        # A dense matrix read as CSR with every entry stored: one kernel for both layouts.
        data = np.ascontiguousarray(X).ravel()
        indices = np.tile(np.arange(d, dtype=np.int64), n)
        indptr = np.arange(0, n * d + 1, d, dtype=np.int64)
        xsq = _ks.csr_row_sq_norms(data, indptr)
    if x_squared_norms is not None:
        given = np.asarray(x_squared_norms, dtype=np.float64).reshape(-1)
        if given.shape[0] != n:
            raise ValidationError(
                f"The length of x_squared_norms {given.shape[0]} should be equal to the length of "
                f"n_samples {n}."
            )
    rng = rng_for_k(base_seed(random_state), k)
    n_trials, u = _kmeanspp_uniforms(rng, k, n_local_trials)
    centers, chosen = _ks.csr_kmeans_plusplus(data, indices, indptr, d, xsq, w, k, n_trials, u)
    return centers.astype(X.dtype, copy=False), chosen

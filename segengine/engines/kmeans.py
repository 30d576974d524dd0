"""KMeans engine, functional core: what the pipeline and the estimator call.

The functions here (`kmeans_fit`, `kmeans_fit_many`, `nearest_two`, and the building blocks
`prepare_data`, `initial_centers`, `fit_prepared`, ...) assume valid input (a C-contiguous
float32/float64 2-D array). The scikit-learn estimator `KMeans` lives one layer up, in
`segengine.engines.kmeans_estimator`: it validates, then calls these functions. Nothing here
imports it (kernels -> functional core -> estimator, one way), nor scikit-learn.

Reproducibility: every random number is drawn from a `numpy.random.Generator` seeded by
``SeedSequence([base, k])``, where ``base`` comes from ``random_state``. The result for a
given k therefore depends only on ``(random_state, k)``, not on the other k of a sweep, and
the kernels merge per-block partial results in a fixed order, so the thread count does not
change a single bit.
"""

from __future__ import annotations

import functools
import numbers
import os
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from segengine import compile_ahead, config
from segengine.concurrency import guarded, map_two_threads
from segengine.engines import _kmeans_kernels as _k
from segengine.engines._bounds import check_centers
from segengine.errors import ValidationError

__all__ = [
    "KMeansResult",
    "PreparedData",
    "RandomStateLike",
    "base_seed",
    "fit_prepared",
    "initial_centers",
    "kmeans_fit",
    "kmeans_fit_many",
    "nearest_two",
    "one_blas_thread",
    "prepare_data",
    "resolve_algorithm",
    "rng_for_k",
    "use_parallel",
]

RandomStateLike = None | int | np.integer | np.random.Generator | np.random.RandomState

# The size thresholds (Hamerly from config.KMEANS_HAMERLY_MIN_K / _MIN_WORK, threads from
# config.KMEANS_PARALLEL_MIN_WORK and config.KMEANS_FIT_MANY_THREAD_MIN_WORK) live in
# segengine.config with the measurements behind them.


@dataclass(frozen=True)
class KMeansResult:
    """Outcome of one KMeans fit.

    Attributes
    ----------
    centers : ndarray of shape (k, d)
        Cluster centres, in the dtype of the data.
    labels : ndarray of shape (n,), int64
        Index of the nearest centre of every row (consistent with ``centers``).
    inertia : float
        Sum of (weighted) squared distances of the rows to their centres.
    n_iter : int
        Lloyd iterations run by the kept restart.
    """

    centers: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


# ---------------------------------------------------------------------------------------
# functional core
# ---------------------------------------------------------------------------------------


def base_seed(random_state: RandomStateLike) -> int:
    """One non-negative integer from any accepted ``random_state`` (drawn once per call).

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        None draws fresh entropy; an int is used as is; a generator gives one draw.

    Returns
    -------
    int
        The base seed of every per-k generator (see `rng_for_k`).

    Raises
    ------
    ValidationError
        For a negative int or a value of another type.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(2**63 - 1))
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(random_state, bool):
        seed = int(random_state)
        if seed < 0:
            raise ValidationError(f"random_state must be a non-negative integer, got {seed}.")
        return seed
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    raise ValidationError(
        "random_state must be None, an int, a numpy.random.Generator or a "
        f"numpy.random.RandomState, got {random_state!r}."
    )


def rng_for_k(base: int, k: int) -> np.random.Generator:
    """The generator of the fit with ``k`` clusters: it depends only on ``(base, k)``.

    Parameters
    ----------
    base : int
        A seed from `base_seed`.
    k : int
        Number of clusters.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(np.random.SeedSequence([base, int(k)]))


_BLAS_CONTROLLER: Any = None


def one_blas_thread() -> Any:
    """Context manager limiting BLAS to one thread while the kernels run.

    The kernels call gemm on 512-row blocks from inside numba's own threads; OpenBLAS would
    otherwise spawn threads of its own for larger d * k and oversubscribe the cores (measured
    30x slower on a busy 2-core machine). The controller is built once: entering its limit
    costs microseconds, unlike a fresh ``threadpool_limits`` (about a millisecond).
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        # numba's np.dot calls the BLAS that scipy.linalg.cython_blas loads: load it before
        # the controller takes its inventory of the BLAS libraries in the process.
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _BLAS_CONTROLLER = ThreadpoolController()
    return _BLAS_CONTROLLER.limit(limits=1, user_api="blas")


def use_parallel(n: int, d: int, k: int) -> bool:
    """Whether a pass over ``n`` rows, ``d`` features and ``k`` centres runs the threaded kernels.

    Threads pay only when a pass is long enough to hide wake-ups and the stalls of a busy
    2-core machine (``config.KMEANS_PARALLEL_MIN_WORK``); the result is bit-identical either way.

    Parameters
    ----------
    n, d, k : int
        Rows, features and centres of the pass.

    Returns
    -------
    bool
    """
    return n >= config.PARALLEL_MIN_ROWS and n * d * k >= config.KMEANS_PARALLEL_MIN_WORK


@dataclass(frozen=True)
class PreparedData:
    """Data shared by every k of a sweep: centred copy, row norms, scaled-tol base.

    Attributes
    ----------
    X : ndarray of shape (n, d)
        The data the kernels run on (centred unless the caller gave row norms).
    mean : ndarray of shape (d,) or None
        The mean subtracted from the data (None when not centred).
    xsq : ndarray of shape (n,)
        Squared row norms of ``X``.
    w : ndarray of shape (n,)
        Sample weights (ones when none were given).
    mean_var : float
        Mean per-feature variance of the data (the scale of ``tol``).
    """

    X: np.ndarray
    mean: np.ndarray | None
    xsq: np.ndarray
    w: np.ndarray
    mean_var: float


def prepare_data(X: np.ndarray, sample_weight: np.ndarray | None, x_sq_norms: np.ndarray | None,
                 mean_var: float | None = None) -> PreparedData:
    """Centred copy, row norms, weights and variance shared by every fit on ``X``.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The data (not modified).
    sample_weight : ndarray of shape (n,) or None
        Non-negative weights; ones when None.
    x_sq_norms : ndarray of shape (n,) or None
        Squared row norms of ``X`` when the caller has them; ``X`` is then used uncentred.
    mean_var : float or None
        ``np.mean(np.var(X, axis=0))`` when the caller has it (with ``x_sq_norms`` only): a k
        search fits the same records a dozen times, and the variance costs more than a Lloyd
        pass.

    Returns
    -------
    PreparedData
    """
    n = X.shape[0]
    if x_sq_norms is None:
        # Centring (like scikit-learn) keeps ||c||^2 - 2 x.c well conditioned for data far
        # from the origin; the mean is added back to the centres at the end. One fused
        # kernel: centred copy, row norms and the variance for the scaled tol.
        Xc, mean, xsq, mean_var = _k.center_data(X)
    else:
        mean = None
        Xc = X
        xsq = np.ascontiguousarray(x_sq_norms, dtype=np.float64)
        if mean_var is None:
            mean_var = feature_variance(X)
    if sample_weight is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.ascontiguousarray(sample_weight, dtype=np.float64)
    return PreparedData(Xc, mean, xsq, w, float(mean_var))


def feature_variance(X: np.ndarray) -> float:
    """Mean per-feature variance of ``X``: the scale of KMeans' ``tol``.

    Parameters
    ----------
    X : ndarray of shape (n, d)

    Returns
    -------
    float
    """
    return float(np.mean(np.var(X, axis=0, dtype=np.float64)))


def resolve_algorithm(algorithm: str, n: int, d: int, k: int) -> str:
    """The kernel a fit runs: "lloyd" or "hamerly" ("elkan" is Hamerly; "auto" picks by size).

    Parameters
    ----------
    algorithm : {"auto", "lloyd", "hamerly", "elkan"}
        The requested algorithm.
    n, d, k : int
        Rows, features and clusters.

    Returns
    -------
    str
        "lloyd" or "hamerly".
    """
    if algorithm in ("hamerly", "elkan"):
        return "hamerly" if k > 1 else "lloyd"
    if algorithm == "lloyd":
        return "lloyd"
    return "hamerly" if (k >= config.KMEANS_HAMERLY_MIN_K and n * d * k >= config.KMEANS_HAMERLY_MIN_WORK) else "lloyd"


def initial_centers(P: PreparedData, k: int, init: str | np.ndarray, rng: np.random.Generator,
                    parallel: bool) -> np.ndarray:
    """Initial centres of one restart, in the frame of ``P.X`` (centred when ``P.mean`` is set).

    Parameters
    ----------
    P : PreparedData
        From `prepare_data`.
    k : int
        Number of centres.
    init : {"k-means++", "random"} or ndarray of shape (k, d)
        Greedy k-means++, k distinct rows drawn in proportion to the weights, or explicit
        centres in the caller's frame (shifted by ``P.mean`` here).
    rng : numpy.random.Generator
        Source of the draws (from `rng_for_k`).
    parallel : bool
        Whether the seeding kernel runs threaded.

    Returns
    -------
    ndarray of shape (k, d), C-contiguous, in the dtype of ``P.X``
    """
    X = P.X
    n = X.shape[0]
    if isinstance(init, str) and init == "k-means++":
        n_trials = 2 + int(np.log(k))
        uniforms = rng.random(1 + (k - 1) * n_trials)
        return _k.kmeans_plusplus(X, P.xsq, P.w, k, n_trials, uniforms, config.BLOCK_ROWS, _k.parallel_flag(parallel))
    if isinstance(init, str) and init == "random":
        positive = P.w > 0
        if np.count_nonzero(positive) >= k:
            idx = rng.choice(n, size=k, replace=False, p=P.w / P.w.sum())
        else:
            idx = rng.choice(n, size=k, replace=False)
        return np.ascontiguousarray(X[np.sort(idx)])
    centers = np.asarray(init, dtype=X.dtype)
    if P.mean is not None:
        centers = centers - P.mean
    return np.ascontiguousarray(centers, dtype=X.dtype)


def fit_prepared(
    P: PreparedData, k: int, *, init: str | np.ndarray, n_init: int, max_iter: int, tol: float, base: int,
    algorithm: str, add_mean: bool = True,
) -> KMeansResult:
    """The best of ``n_init`` restarts on prepared data (what `kmeans_fit` runs).

    Parameters
    ----------
    P : PreparedData
        From `prepare_data`.
    k : int
        Number of clusters.
    init, n_init, max_iter, tol, algorithm
        As in `kmeans_fit`.
    base : int
        Seed from `base_seed`; the restarts draw from ``rng_for_k(base, k)``.
    add_mean : bool, default=True
        Return the centres in the caller's frame; False keeps them centred (the estimator
        keeps both so that ``predict`` applies the very same shift).

    Returns
    -------
    KMeansResult
    """
    rng = rng_for_k(base, k)
    scaled_tol = tol * P.mean_var
    n, d = P.X.shape
    algo = resolve_algorithm(algorithm, n, d, k)
    par = use_parallel(n, d, k)
    best = None
    for _ in range(n_init):
        c0 = initial_centers(P, k, init, rng, par)
        if algo == "hamerly":
            out = _k.hamerly(P.X, P.w, P.xsq, c0, max_iter, scaled_tol, config.BLOCK_ROWS, _k.parallel_flag(par))
        else:
            if not par:  # a first run: the serial kernel may be compiling elsewhere
                compile_ahead.wait_for("lloyd")
            out = _k.lloyd(P.X, P.w, c0, max_iter, scaled_tol, config.BLOCK_ROWS, _k.parallel_flag(par))
        # Strictly lower only: ties keep the earliest restart, which keeps runs reproducible.
        if best is None or out[2] < best[2]:
            best = out
    centers, labels, inertia, n_iter = best
    if add_mean and P.mean is not None:
        centers = np.ascontiguousarray(centers + P.mean, dtype=P.X.dtype)
    return KMeansResult(centers=centers, labels=labels, inertia=float(inertia), n_iter=int(n_iter))


@guarded
def kmeans_fit(
    X: np.ndarray,
    n_clusters: int,
    *,
    sample_weight: np.ndarray | None = None,
    init: str | np.ndarray = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    random_state: RandomStateLike = None,
    x_sq_norms: np.ndarray | None = None,
    algorithm: str = "auto",
    x_mean_var: float | None = None,
) -> KMeansResult:
    """Fit KMeans to already validated data.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The data; not modified. Assumed finite with ``n >= n_clusters``.
    n_clusters : int
        Number of clusters k.
    sample_weight : ndarray of shape (n,), optional
        Non-negative weights (not all zero); all ones when omitted.
    init : {"k-means++", "random"} or ndarray of shape (k, d), default="k-means++"
        Greedy k-means++ (``2 + floor(ln k)`` local trials per centre), k distinct rows drawn
        with probability proportional to the weights, or explicit initial centres.
    n_init : int, default=1
        Restarts; the one with the lowest inertia is kept.
    max_iter : int, default=300
        Maximum Lloyd iterations per restart.
    tol : float, default=1e-4
        Convergence when the total squared centre shift is ``<= tol`` times the mean
        per-feature variance of ``X``.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Source of randomness. The internal generator is seeded from ``(random_state, k)``.
    x_sq_norms : ndarray of shape (n,), optional
        Squared row norms of ``X`` when the caller has them. When given, ``X`` is used as is
        (the caller vouches that it is centred or well conditioned); when omitted, a centred
        copy of ``X`` and its norms are computed.
    algorithm : {"auto", "lloyd", "hamerly"}, default="auto"
        Plain Lloyd or Hamerly's bounded variant (same fixed points); "auto" picks Hamerly
        for large ``n * k``.
    x_mean_var : float, optional
        ``feature_variance(X)`` when the caller has it (used with ``x_sq_norms`` only).

    Returns
    -------
    KMeansResult
        Centres, labels (int64), inertia and iterations of the best restart.
    """
    base = base_seed(random_state)
    with one_blas_thread():
        P = prepare_data(X, sample_weight, x_sq_norms, x_mean_var)
        return fit_prepared(
            P, int(n_clusters), init=init, n_init=int(n_init), max_iter=int(max_iter), tol=float(tol),
            base=base, algorithm=algorithm,
        )


@guarded
def kmeans_fit_many(
    X: np.ndarray,
    ks,
    *,
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    random_state: RandomStateLike = None,
    sample_weight: np.ndarray | None = None,
) -> dict[int, KMeansResult]:
    """Fit KMeans for every k of ``ks`` sharing one centred copy of the data and its norms.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The data (validated by the caller; ``n >= max(ks)``).
    ks : iterable of int
        Numbers of clusters.
    n_init, max_iter, tol, random_state, sample_weight
        As in `kmeans_fit`.

    Returns
    -------
    dict of int to KMeansResult
        One result per distinct k. ``result[k]`` equals ``kmeans_fit(X, k, ...)`` with the
        same arguments (for an int ``random_state``), whatever the other k in ``ks``.

    Notes
    -----
    The fits of different k run side by side in up to ``numba.get_num_threads()`` worker
    threads (serial kernels, GIL released); the results do not depend on the worker count.
    """
    base = base_seed(random_state)
    distinct = list(dict.fromkeys(int(k) for k in ks))
    n, d = X.shape

    def fit_one(P: PreparedData, k: int) -> KMeansResult:
        return fit_prepared(
            P, k, init="k-means++", n_init=int(n_init), max_iter=int(max_iter), tol=float(tol),
            base=base, algorithm="auto",
        )

    # Fits of different k are independent (own seed, own buffers), so when each runs the
    # serial kernels they can run side by side in threads (the kernels release the GIL).
    # Unlike the block-parallel kernels this has no per-iteration barrier, so a busy machine
    # slows it down gracefully. Results do not depend on the number of workers.
    workers = min(numba.get_num_threads(), os.cpu_count() or 1, len(distinct))
    # The work of one k counts its restarts: at 1,000 x 10 with 4 restarts a k takes ~0.5 ms,
    # far longer than handing it to a thread.
    if n * d * max(1, int(n_init)) < config.KMEANS_FIT_MANY_THREAD_MIN_WORK \
            or any(use_parallel(n, d, k) for k in distinct):
        workers = 1
    with one_blas_thread():
        P = prepare_data(X, sample_weight, None)
        if workers <= 1:
            done = {k: fit_one(P, k) for k in distinct}
        else:
            # Largest k first: the longest fits start early, the two threads stay balanced.
            order = sorted(distinct, reverse=True)
            done = dict(zip(order, map_two_threads(functools.partial(fit_one, P), order)))
    return {k: done[k] for k in distinct}


@guarded
def nearest_two(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest and second-nearest centre of every row.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32 or float64, C-contiguous
        The data.
    centers : ndarray of shape (k, d)
        Centres (cast to the dtype of ``X``).

    Returns
    -------
    labels : ndarray of shape (n,), int64
        Index of the nearest centre.
    d1 : ndarray of shape (n,), float64
        Squared distance to the nearest centre.
    d2 : ndarray of shape (n,), float64
        Squared distance to the second-nearest centre (``inf`` when k == 1).
    """
    C = np.ascontiguousarray(centers, dtype=X.dtype)
    check_centers(X, C)
    with one_blas_thread():
        return _k.nearest_two(X, C, config.BLOCK_ROWS, _k.parallel_flag(use_parallel(*X.shape, C.shape[0])))

"""KMeans engine: a functional core for the pipeline and a scikit-learn compatible estimator.

The functional core (`kmeans_fit`, `kmeans_fit_many`, `nearest_two`) assumes valid input
(a C-contiguous float32/float64 2-D array) and is what the rest of segengine calls. The
estimator `KMeans` validates, then calls the core.

Reproducibility: every random number is drawn from a `numpy.random.Generator` seeded by
``SeedSequence([base, k])``, where ``base`` comes from ``random_state``. The result for a
given k therefore depends only on ``(random_state, k)``, not on the other k of a sweep, and
the kernels merge per-block partial results in a fixed order, so the thread count does not
change a single bit.
"""

from __future__ import annotations

import numbers
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from segengine import config
from segengine.engines import _kmeans_kernels as _k
from segengine.engines._bounds import check_centers
from segengine.errors import ValidationError
from segengine.concurrency import guarded

__all__ = ["KMeansResult", "kmeans_fit", "kmeans_fit_many", "nearest_two", "KMeans"]

RandomStateLike = None | int | np.integer | np.random.Generator | np.random.RandomState

# "auto" runs Hamerly's bounds only from this many clusters and this much work per pass
# (rows x features x clusters). Measured on 2 shared cores against the gemm-based Lloyd pass:
# 100k x 20, k=30: Hamerly 1.8x (blobs) to 3.3x (uniform) faster; 20k x 30, k=20: 1.0-1.1x;
# but k <= 12 or small n: 0.6-1.0x (uniform data keeps the bounds loose, so most points are
# rescanned anyway and the bound upkeep is pure overhead).
_HAMERLY_MIN_K = 16
_HAMERLY_MIN_WORK = 10_000_000

# Rows x features x clusters of one pass below which the serial kernels are used. On the
# shared 2-core machine the threads stalled behind other processes: 200k x 20, k=8 ran 2x
# slower in parallel than serially under load (1.8x faster on idle cores), so threads are
# kept for passes long enough to amortise a descheduled worker.
_PARALLEL_MIN_WORK = 50_000_000

# kmeans_fit_many runs the fits of different k in worker threads from this many
# rows x features (below, thread start-up outweighs the fits).
_FIT_MANY_THREAD_MIN_WORK = 20_000


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


def _base_seed(random_state: RandomStateLike) -> int:
    """One non-negative integer from any accepted ``random_state`` (drawn once per call)."""
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


def _rng_for_k(base: int, k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([base, int(k)]))


_BLAS_CONTROLLER: Any = None


def _one_blas_thread():
    """Context limiting BLAS to one thread while the kernels run.

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


def _use_parallel(n: int, d: int, k: int) -> bool:
    # Threads pay only when a pass is long enough to hide wake-ups and the stalls of a
    # busy 2-core machine; the result is bit-identical either way.
    return n >= config.PARALLEL_MIN_ROWS and n * d * k >= _PARALLEL_MIN_WORK


@dataclass(frozen=True)
class _Prepared:
    """Data shared by every k of a sweep: centred copy, row norms, scaled-tol base."""

    X: np.ndarray
    mean: np.ndarray | None
    xsq: np.ndarray
    w: np.ndarray
    mean_var: float


def _prepare(X: np.ndarray, sample_weight, x_sq_norms) -> _Prepared:
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
        mean_var = float(np.mean(np.var(X, axis=0, dtype=np.float64)))
    if sample_weight is None:
        w = np.ones(n, dtype=np.float64)
    else:
        w = np.ascontiguousarray(sample_weight, dtype=np.float64)
    return _Prepared(Xc, mean, xsq, w, float(mean_var))


def _resolve_algorithm(algorithm: str, n: int, d: int, k: int) -> str:
    if algorithm in ("hamerly", "elkan"):
        return "hamerly" if k > 1 else "lloyd"
    if algorithm == "lloyd":
        return "lloyd"
    return "hamerly" if (k >= _HAMERLY_MIN_K and n * d * k >= _HAMERLY_MIN_WORK) else "lloyd"


def _initial_centers(P: _Prepared, k: int, init, rng: np.random.Generator, parallel: bool) -> np.ndarray:
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


def _fit_prepared(
    P: _Prepared, k: int, *, init, n_init: int, max_iter: int, tol: float, base: int, algorithm: str,
    add_mean: bool = True,
) -> KMeansResult:
    rng = _rng_for_k(base, k)
    scaled_tol = tol * P.mean_var
    n, d = P.X.shape
    algo = _resolve_algorithm(algorithm, n, d, k)
    par = _use_parallel(n, d, k)
    best = None
    for _ in range(n_init):
        c0 = _initial_centers(P, k, init, rng, par)
        if algo == "hamerly":
            out = _k.hamerly(P.X, P.w, P.xsq, c0, max_iter, scaled_tol, config.BLOCK_ROWS, _k.parallel_flag(par))
        else:
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

    Returns
    -------
    KMeansResult
        Centres, labels (int64), inertia and iterations of the best restart.
    """
    base = _base_seed(random_state)
    with _one_blas_thread():
        P = _prepare(X, sample_weight, x_sq_norms)
        return _fit_prepared(
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
    base = _base_seed(random_state)
    distinct = list(dict.fromkeys(int(k) for k in ks))
    n, d = X.shape

    def fit_one(P: _Prepared, k: int) -> KMeansResult:
        return _fit_prepared(
            P, k, init="k-means++", n_init=int(n_init), max_iter=int(max_iter), tol=float(tol),
            base=base, algorithm="auto",
        )

    # Fits of different k are independent (own seed, own buffers), so when each runs the
    # serial kernels they can run side by side in threads (the kernels release the GIL).
    # Unlike the block-parallel kernels this has no per-iteration barrier, so a busy machine
    # slows it down gracefully. Results do not depend on the number of workers.
    workers = min(numba.get_num_threads(), os.cpu_count() or 1, len(distinct))
    if n * d < _FIT_MANY_THREAD_MIN_WORK or any(_use_parallel(n, d, k) for k in distinct):
        workers = 1
    with _one_blas_thread():
        P = _prepare(X, sample_weight, None)
        if workers <= 1:
            done = {k: fit_one(P, k) for k in distinct}
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                # Largest k first: the longest fits start early, the pool stays balanced.
                futures = {k: pool.submit(fit_one, P, k) for k in sorted(distinct, reverse=True)}
                done = {k: futures[k].result() for k in distinct}
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
    with _one_blas_thread():
        return _k.nearest_two(X, C, config.BLOCK_ROWS, _k.parallel_flag(_use_parallel(*X.shape, C.shape[0])))




def __getattr__(name: str) -> Any:
    # The estimator lives in kmeans_estimator.py so that the pipeline, which only needs the
    # functions above, never imports scikit-learn (about a second of a service's cold start).
    if name == "KMeans":
        from segengine.engines.kmeans_estimator import KMeans

        return KMeans
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

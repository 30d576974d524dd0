"""Thread safety of the numba parallel kernels, whatever threading layer the machine has.

numba runs ``parallel=True`` kernels on one of three threading layers: TBB, OpenMP or its own
``workqueue``. The first two accept parallel regions launched from several Python threads at once;
``workqueue`` does not, and aborts the whole process ("Concurrent access has been detected",
``SIGABRT``) when two threads launch parallel kernels at the same time. It is the layer numba falls
back to on a machine without TBB and without an OpenMP runtime (or when the user forces it with
``NUMBA_THREADING_LAYER=workqueue``), so a service that serves requests from a thread pool would
crash on such a machine and run fine on the developer's.

:func:`parallel_section` serialises the numeric part of the pipeline with one process-wide lock,
but only when it has to: while the active layer is ``workqueue`` (or the configuration asks for
it), and while the layer is not yet chosen (the first parallel call decides it; numba picks it
lazily). On TBB / OpenMP it costs a dictionary look-up and the sections run concurrently.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import ParamSpec, TypeVar

__all__ = ["parallel_section", "guarded", "needs_serialising", "active_threading_layer", "map_two_threads"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

# Re-entrant: a guarded section may call another (Segmenter.fit inside segmentation_report).
_LOCK = threading.RLock()


def active_threading_layer() -> str | None:
    """The numba threading layer in use, or None before the first parallel kernel has run.

    Returns
    -------
    str or None
        ``"tbb"``, ``"omp"``, ``"workqueue"`` or None when numba has not launched its threads yet.
    """
    try:
        import numba

        return str(numba.threading_layer())
    except ValueError:  # "Threading layer is not initialized."
        return None


def _configured_layer() -> str:
    """The layer requested through numba's configuration (``NUMBA_THREADING_LAYER``)."""
    try:
        from numba.core import config as numba_config

        return str(numba_config.THREADING_LAYER).lower()
    except (ImportError, AttributeError):  # pragma: no cover - older numba layouts
        return os.environ.get("NUMBA_THREADING_LAYER", "default").lower()


def needs_serialising() -> bool:
    """Whether concurrent parallel sections must take the process-wide lock right now.

    True when ``workqueue`` is requested or active. Before any parallel kernel has run, numba's
    threads are launched here so that the layer is known (it would otherwise stay unknown in a
    process whose reports are all small enough for the serial kernels).

    Returns
    -------
    bool
    """
    if _configured_layer() == "workqueue":
        return True
    active = active_threading_layer()
    if active is None:
        # A report small enough for the serial kernels never launches numba's threads, so the
        # layer would stay unknown and every request of a thread pool would be serialised.
        # Launch them now (what the first parallel kernel would do; numba locks the start).
        active = _launch_threading_layer()
    return active is None or active == "workqueue"


def _launch_threading_layer() -> str | None:
    """Start numba's worker threads, which fixes the threading layer; None if that fails."""
    try:
        from numba.np.ufunc import parallel as numba_parallel

        numba_parallel._launch_threads()
    except Exception:  # noqa: BLE001 - a numba without this internal: keep the lock
        return None
    return active_threading_layer()


@contextlib.contextmanager
def parallel_section() -> Iterator[None]:
    """Run the enclosed numba-parallel work safely when other threads may do the same.

    Takes a process-wide re-entrant lock when the threading layer cannot run parallel regions
    from several threads at once (``workqueue``, or not chosen yet); otherwise does nothing.

    Examples
    --------
    >>> from segengine.concurrency import parallel_section
    >>> with parallel_section():
    ...     pass
    """
    if needs_serialising():
        with _LOCK:
            yield
    else:
        yield


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a public numeric entry point so that it runs inside :func:`parallel_section`.

    Parameters
    ----------
    func : callable
        A function or method that may launch numba-parallel kernels.

    Returns
    -------
    callable
        The same function, serialised only where the threading layer requires it.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with parallel_section():
            return func(*args, **kwargs)

    return wrapper


# -- two threads for independent serial kernels ---------------------------------------------------
# One helper thread for the process: a report fans work out five or six times, and a fresh
# ThreadPoolExecutor costs ~0.5 ms to start and join each time.
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_IN_WORKER = threading.local()


def _mark_worker() -> None:
    _IN_WORKER.active = True


def _forget_pool() -> None:
    # A forked child inherits the pool object but not its threads: it starts its own.
    global _POOL, _POOL_LOCK
    _POOL = None
    _POOL_LOCK = threading.Lock()  # a fork while another thread held it leaves it held


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _one_thread_wanted() -> bool:
    # One core, or a caller that limited numba to one thread (numba.set_num_threads(1), which is
    # per calling thread: a service giving each request one core).
    if (os.cpu_count() or 1) < 2:
        return True
    import numba

    return numba.get_num_threads() < 2


def map_two_threads(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(x) for x in items]``, on the calling thread and one helper thread at once.

    For independent calls of serial numba kernels (they release the GIL): the two cores of the
    target machine run two of them at once. Both threads take the next item as they become free
    (callers put the longest first). The helper thread is one per process: when it is busy with
    another caller's items (a service running reports side by side), the caller works through
    its own items alone and never waits for the other's. Runs inline, in order, inside the
    helper thread (a task that fans out again would otherwise wait for itself), with fewer than
    two items, on one core, or when the calling thread limited numba to one thread
    (``numba.set_num_threads(1)``).

    Parameters
    ----------
    fn : callable
        Called once per item.
    items : iterable
        The arguments.

    Returns
    -------
    list
        The results, in the order of ``items``. When a call raises, every call taken still
        finishes before the first exception (in item order) is raised.
    """
    global _POOL
    items = list(items)
    if len(items) < 2 or getattr(_IN_WORKER, "active", False) or _one_thread_wanted():
        return [fn(x) for x in items]
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segengine-kernels",
                                       initializer=_mark_worker)
        pool = _POOL
    results: list = [None] * len(items)
    errors: list = [None] * len(items)
    taken = iter(range(len(items)))
    lock = threading.Lock()

    def drain() -> None:
        while True:
            with lock:
                i = next(taken, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:  # noqa: BLE001 - re-raised below, in item order
                errors[i] = exc

    helper = pool.submit(drain)
    drain()
    # Not started yet (the helper is busy elsewhere): this thread did everything; do not wait.
    if not helper.cancel():
        wait([helper])
    for exc in errors:
        if exc is not None:
            raise exc
    return results

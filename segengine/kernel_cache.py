"""Whether the numba kernels of the report path are already compiled in numba's on-disk cache.

The first report on a machine compiles the kernels (tens of seconds on a busy machine); later
processes load them from numba's cache in milliseconds. The command line uses
:func:`kernels_need_compiling` to tell a newcomer that the first run is compiling, instead of
leaving them with a processing time that looks like the engine's normal speed.

The answer comes from numba's own cache locator and index files: a kernel counts as cached
when its index exists, matches the current source file (numba stores the file's timestamp and
size in the index and ignores a stale one), and holds at least one compiled signature.
"""

from __future__ import annotations

__all__ = ["REPORT_PATH_KERNELS", "kernels_need_compiling", "kernels_cached", "cache_enabled"]

# Top-level kernels every report calls (module, function): the k search's KMeans fits. Their
# callees are compiled into them. Which silhouette and mixture kernels run depends on the
# data, so they are not checked (a first report compiles these three in any case).
REPORT_PATH_KERNELS: tuple[tuple[str, str], ...] = (
    ("segengine.engines._kmeans_kernels", "center_data"),
    ("segengine.engines._kmeans_kernels", "kmeans_plusplus"),
    ("segengine.engines._kmeans_kernels", "lloyd"),
    ("segengine.engines._membership_kernels", "sq_distances"),  # every KMeans model's memberships
)


def _kernel_cached(dispatcher: object) -> bool:
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    if cache_file is None:  # caching disabled: every process compiles
        return False
    # numba's IndexDataCacheFile: {} when the index is missing or stale for this source file.
    return bool(cache_file._load_index())


def cache_enabled() -> bool:
    """Whether numba caches the report path's kernels on disk in this process.

    Returns
    -------
    bool
        False when numba cannot cache them (no writable cache location): then every run
        compiles, and compiling ahead in another process would be wasted.
    """
    import importlib

    try:
        dispatcher = importlib.import_module("segengine.engines._kmeans_kernels").lloyd
        return getattr(getattr(dispatcher, "_cache", None), "_cache_file", None) is not None
    except Exception:  # noqa: BLE001 - a change in numba internals: make no claim
        return False


def kernels_need_compiling() -> bool:
    """Whether the next report will compile report-path kernels instead of loading them.

    Returns
    -------
    bool
        True when at least one report-path kernel has no valid entry in numba's cache; False
        when all have one, and also when the cache cannot be inspected (no claim is made then).
    """
    import importlib

    try:
        dispatchers = [getattr(importlib.import_module(m), f) for m, f in REPORT_PATH_KERNELS]
        return not all(_kernel_cached(d) for d in dispatchers)
    except Exception:  # noqa: BLE001 - an unreadable cache or a change in numba internals
        return False


def kernels_cached(kernels: tuple[tuple[str, str], ...]) -> bool:
    """Whether every kernel of ``kernels`` ((module, function) pairs) has a valid cache entry.

    Parameters
    ----------
    kernels : tuple of (str, str)

    Returns
    -------
    bool
        False also when the cache cannot be inspected.
    """
    import importlib

    try:
        return all(_kernel_cached(getattr(importlib.import_module(m), f)) for m, f in kernels)
    except Exception:  # noqa: BLE001 - an unreadable cache or a change in numba internals
        return False

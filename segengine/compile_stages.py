"""A first run's compilation split over two processes (see :mod:`segengine.compile_ahead`).

``python -m segengine.compile_stages`` is the child: it compiles, stage by stage in the order of
:data:`segengine.compile_ahead.STAGES`, the Lloyd kernel and the mixture kernels, on tiny data
with the dtypes and layouts the report passes (so the signatures are the report's), and prints
each stage's name once its kernels are in numba's on-disk cache. :func:`start` launches it from
the command line and hands it to :mod:`segengine.compile_ahead`; :func:`compile_here` then
compiles the silhouette kernels of the coming report in the report's own process, which needs
them after the Lloyd kernel (the seeding and centring kernels, needed first, compile as the
report starts).
Measured on a cold `segengine demo`: the Lloyd kernel is ~4 s of compiling, the seeding and
centring ~4 s, the silhouettes ~1.5 s, the mixture ~5 s.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys

from segengine import compile_ahead

__all__ = ["start_early", "stop_unfollowed", "start", "compile_here", "main"]

# A child started by start_early and not yet handed to compile_ahead by start.
_early: subprocess.Popen | None = None


def _spawn() -> subprocess.Popen | None:
    try:
        # Same interpreter, same environment (NUMBA_CACHE_DIR included): the child writes the
        # cache entries this process will look up. Its stderr is discarded: a failure only means
        # this process compiles the kernels itself.
        return subprocess.Popen(
            [sys.executable, "-m", "segengine.compile_stages"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
            env=_child_environment(),
        )
    except OSError:
        return None


def start_early() -> None:
    """Start the child now, before this process imports numba (a command's first step).

    Whether the kernels need compiling is only known once numba is imported (0.6-0.8 s); the
    child finds out in parallel, on the other core, and exits at once when the command will not
    follow it (the report path's kernels are cached) or when numba's cache already holds its
    own. A first run thus gains that import time on its longest chain of compiling; a warm one
    costs an import on an idle core. :func:`start` then follows this child instead of starting
    another.
    """
    global _early
    if (os.cpu_count() or 1) < 2 or os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"):
        return  # no second core to compile on, or nothing is compiled
    if _early is None and compile_ahead.followed() is None:
        _early = _spawn()
        if _early is not None:
            atexit.register(_stop_early)


def stop_unfollowed() -> None:
    """Stop the early child if the command ends without following it (e.g. an unreadable file)."""
    global _early
    _stop_early()
    _early = None


def _stop_early() -> None:
    # A command that never followed its early child (warm cache, invalid input) does not leave
    # it compiling behind it, nor a zombie.
    child = _early
    if child is None:
        return
    if child.poll() is None:
        try:
            child.kill()
            child.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if child.stdout is not None:
        child.stdout.close()


def start() -> bool:
    """Follow the child (the early one, else a new one) and let the report wait on it.

    Returns
    -------
    bool
        Whether a child is followed.
    """
    global _early
    child, _early = _early, None
    if child is None:
        child = _spawn()
        if child is None:
            return False
    if not compile_ahead.follow(child):
        child.kill()
        child.wait()
        return False
    return True


def compile_here(n_records: int) -> None:
    """Compile the silhouette and membership kernels a report of ``n_records`` uses, in this process.

    Up to ``config.SILHOUETTE_EXACT_MAX_N`` records the silhouettes are exact (the pair-once
    kernels); above, a sample of rows is scored (the cells kernels). Only that path compiles
    here: the other would cost seconds that this run does not need.

    Parameters
    ----------
    n_records : int
        Records of the coming report.
    """
    from segengine import config

    _silhouette(exact=n_records <= config.SILHOUETTE_EXACT_MAX_N)
    # Needed right after the k search (the memberships): compiled while the child is still
    # on the Lloyd kernel, rather than after waiting for it.
    _memberships()


def _memberships() -> None:
    import numpy as np

    from segengine.engines.memberships import sq_distances

    X = np.random.default_rng(0).normal(size=(20, 3))
    sq_distances(X, X[:2])


def _lloyd() -> None:
    import numpy as np

    from segengine.engines.kmeans import kmeans_fit

    X = np.random.default_rng(0).normal(size=(240, 3))
    # Explicit centres and row norms: only the Lloyd kernel compiles (no seeding, no centring).
    kmeans_fit(X, 2, init=X[:2].copy(), n_init=1, max_iter=3, x_sq_norms=np.einsum("ij,ij->i", X, X),
               algorithm="lloyd")


def _child_environment() -> dict[str, str]:
    # The parent's segengine first on the path (the child must compile the kernels the parent
    # will look up), and PYTHONSAFEPATH (Python 3.11+) so that the working directory is not put
    # before it: a checkout or a stray numpy.py there cannot replace the parent's packages.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return dict(os.environ, PYTHONPATH=path, PYTHONSAFEPATH="1")


def _silhouette(exact: bool) -> None:
    import numpy as np

    from segengine.metrics.silhouette import silhouette_rows_multi

    X = np.random.default_rng(0).normal(size=(240, 3))
    labelings = np.stack([np.arange(240) % 2, np.arange(240) % 3]).astype(np.int64)
    # Every row (exact scores), or a sample of rows scored against all.
    silhouette_rows_multi(X, labelings, None if exact else np.arange(0, 240, 4, dtype=np.int64))


def _mixture() -> None:
    import numpy as np

    from segengine.engines.gmm import gmm_em_from_labels

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(120, 3)), rng.normal(size=(120, 3)) + 4.0])
    labels = (np.arange(240) >= 120).astype(np.int64)
    gmm_em_from_labels(X, labels, 2, covariance_type="full", max_iter=3).log_prob_resp(X)


def main() -> int:
    """Compile each stage and announce it on stdout.

    Returns
    -------
    int
        The exit status (0).
    """
    if _nothing_to_compile():
        return 0  # a warm cache, or a command that will not follow this child: nothing to do
    for stage, compile_stage in zip(compile_ahead.STAGES, (_lloyd, _mixture)):
        compile_stage()
        print(stage, flush=True)
    return 0


def _nothing_to_compile() -> bool:
    from segengine.kernel_cache import cache_enabled, kernels_cached, kernels_need_compiling

    if not cache_enabled():
        return True  # nothing this child compiles would reach the report's process
    if not kernels_need_compiling():
        # The command follows this child only when the report path needs compiling (the same
        # test, in `segengine.cli`); otherwise it stops the child when it ends. Compiling the
        # mixture here would then only take the report's second core and be thrown away, on
        # every warm run after a first run whose report needed no mixture (`segengine demo`).
        # The first report that does need the mixture then compiles it in its own process,
        # once per machine (~5 s), and caches it.
        return True
    return kernels_cached((("segengine.engines._kmeans_kernels", "lloyd"),
                           ("segengine.engines._gmm_kernels", "em_pass_serial")))


if __name__ == "__main__":
    status = main()
    # As segengine.cli.run: no collection of numba's object graphs at exit (0.15 s of the
    # report's second core, when this child exits at once on a warm cache).
    import gc

    gc.freeze()
    sys.exit(status)

"""The child process of a first run that compiles the silhouette and mixture kernels ahead.

``python -m segengine.compile_stages`` compiles, stage by stage in the order of
:data:`segengine.compile_ahead.STAGES`, the kernels a report reaches after its k search, on tiny
data with the dtypes and layouts the report passes (so the signatures are the report's), and
prints each stage's name once its kernels are in numba's on-disk cache. :func:`start` launches it
from the command line and hands it to :mod:`segengine.compile_ahead`, which the report's first
silhouette and mixture calls wait on.
"""

from __future__ import annotations

import os
import subprocess
import sys

from segengine import compile_ahead

__all__ = ["start", "main"]


def start() -> bool:
    """Start the child and let the report wait on it (once per process).

    Returns
    -------
    bool
        Whether a child was started.
    """
    try:
        # Same interpreter, same environment (NUMBA_CACHE_DIR included): the child writes the
        # cache entries this process will look up. Its stderr is discarded: a failure only means
        # this process compiles the kernels itself.
        child = subprocess.Popen(
            [sys.executable, "-m", "segengine.compile_stages"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=dict(os.environ),
        )
    except OSError:
        return False
    if not compile_ahead.follow(child):
        child.kill()
        child.wait()
        return False
    return True


def _silhouette() -> None:
    import numpy as np

    from segengine.metrics.silhouette import silhouette_rows_multi

    X = np.random.default_rng(0).normal(size=(240, 3))
    labelings = np.stack([np.arange(240) % 2, np.arange(240) % 3]).astype(np.int64)
    silhouette_rows_multi(X, labelings, np.arange(0, 240, 4, dtype=np.int64))  # a sample of rows
    silhouette_rows_multi(X, labelings, None)  # every row (exact scores of small inputs)


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
    for stage, compile_stage in zip(compile_ahead.STAGES, (_silhouette, _mixture)):
        compile_stage()
        print(stage, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

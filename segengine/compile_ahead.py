"""A first run compiles on both cores: a child process compiles some kernels, the report others.

numba compiles one kernel at a time in a process (a global lock), so a first run on a new machine
spends its wall time compiling: the k search's KMeans kernels, the silhouettes', the mixture's.
The command line knows when that is about to happen (:mod:`segengine.kernel_cache`) and starts a
child Python process (:mod:`segengine.compile_stages`) that compiles the Lloyd kernel and then the
mixture kernels into numba's on-disk cache, announcing each stage on its stdout as it ends; this
module follows it (:func:`follow`). Meanwhile the report's process compiles the silhouette kernels,
the seeding and the centring. Its first Lloyd or mixture call waits (:func:`wait_for`) until the
child has announced that stage and then loads the machine code from the cache, instead of
compiling it a second time.

This module imports nothing of segengine, so that the engines can call :func:`wait_for`. Nothing
changes for library callers that never start a child, nor in a process whose kernels are already
cached (the command line then does not follow the child it started early, which exits at once).
If the child fails, is killed or stalls, :func:`wait_for` gives up (at end of file, or after
``TIMEOUT_S``) and the caller compiles the kernels itself, as it would have without the child.
"""

from __future__ import annotations

import atexit
import subprocess
import threading
from typing import IO

__all__ = ["STAGES", "follow", "followed", "wait_for", "stop"]

# In the order the report needs them.
STAGES = ("lloyd", "mixture")
# Longest a report waits for one stage (compiling takes seconds; a stall must not hang a run).
TIMEOUT_S = 120.0

_done: set[str] = set()
_ended = False
_cond = threading.Condition()
_child: subprocess.Popen | None = None


def _read_stages(stream: IO[str]) -> None:
    global _ended
    try:
        for line in stream:
            with _cond:
                _done.add(line.strip())
                _cond.notify_all()
    finally:
        with _cond:
            _ended = True
            _cond.notify_all()


def follow(child: subprocess.Popen) -> bool:
    """Let :func:`wait_for` follow a child process that compiles the later stages' kernels.

    Parameters
    ----------
    child : subprocess.Popen
        Started with ``stdout=PIPE`` in text mode; it prints each stage's name on a line of its
        own once that stage's kernels are in numba's cache (:mod:`segengine.compile_stages`).

    Returns
    -------
    bool
        False when a child is already followed (``child`` is then left alone).
    """
    global _child, _ended
    with _cond:
        if _child is not None:
            return False
        _child = child
        _done.clear()
        _ended = False
    threading.Thread(target=_read_stages, args=(child.stdout,), name="segengine-compile-ahead",
                     daemon=True).start()
    # A command that ends before the child (an invalid file, a report that needed no mixture)
    # does not leave it compiling behind it, nor a zombie.
    atexit.register(stop)
    return True


def followed() -> subprocess.Popen | None:
    """The child being followed, or None."""
    return _child


def wait_for(stage: str) -> None:
    """Block until the child compiled ``stage``'s kernels; return at once when there is no child.

    Parameters
    ----------
    stage : str
        One of :data:`STAGES`.
    """
    global _ended
    if _child is None or stage in _done or _ended:  # the common case: no lock, no wait
        return
    with _cond:
        if _cond.wait_for(lambda: stage in _done or _ended, timeout=TIMEOUT_S):
            return
        # A stalled child: stop following it, so that no later call waits again (they are
        # many: one per Lloyd restart, one per EM pass), and stop it.
        _ended = True
        _cond.notify_all()
        child = _child
    stop()
    del child


def stop() -> None:
    """Stop the followed child if it still runs, and reap it (at exit, or after a stall)."""
    child = _child
    if child is None or child.poll() is not None:
        return
    try:
        child.kill()
        child.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # already gone, or the OS will reap it
        pass

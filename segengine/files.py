"""Writing a file segengine produces: the one atomic writer of the package.

What lands on disk for ``--output``, ``--html``, saved models and HTML pages, and what never gets
replaced.

* A new file or a regular file with one name is written to a temporary file in the same folder
  and renamed over it: a reader sees the old report or the whole new one, never half. An
  existing file keeps its permission bits (a 0600 report stays 0600) and, where allowed, its
  owner.
* A regular file with several hard links is rewritten in place, like a shell's ``>``: every name
  sees the new report (a rename would leave the other names on the old one). That write is not
  atomic.
* A symbolic link is followed: its target is written by the rules above and the link stays.
* Anything else -- a character device such as ``/dev/null`` or ``/dev/stdout``, a FIFO, a
  terminal -- is opened and written directly. It is never replaced by a regular file.
* The output may not be the input file of the same command.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from typing import Any

__all__ = ["OutputError", "write_output", "report_json"]


class OutputError(OSError):
    """The output cannot or may not be written; the message says why and names the path.

    An OSError, so that callers of :func:`segengine.html_report.write_html` and
    ``Segmenter.save`` catch it as they catch any other failed write.
    """


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_output(path: str | os.PathLike, text: str, *, input_path: str | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` following the rules of this module.

    Parameters
    ----------
    path : str or path-like
        The destination (``--output``, ``--html``, a model file).
    text : str
        The whole content.
    input_path : str, optional
        The command's input file, which must not be overwritten.

    Raises
    ------
    OutputError
        The path is the input, a directory, in a missing folder, or the write failed.
    """
    path = os.fspath(path)
    if input_path is not None and _same_file(path, input_path):
        raise OutputError(f"cannot write '{path}': it is the input file of this command")
    target = os.path.realpath(path)  # follow symbolic links: the link itself is never replaced
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"cannot write '{path}': it is a directory")
    data = text.encode("utf-8")
    try:
        if info is not None and not stat.S_ISREG(info.st_mode):
            _write_direct(target, data, truncate=False)
        elif info is not None and info.st_nlink > 1:
            _write_direct(target, data, truncate=True)
        else:
            _replace_atomically(path, target, data, info)
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None


def _write_direct(target: str, data: bytes, *, truncate: bool) -> None:
    flags = os.O_WRONLY | (os.O_TRUNC if truncate else 0)
    fd = os.open(target, flags)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace_atomically(path: str, target: str, data: bytes, info: os.stat_result | None) -> None:
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise OutputError(
            f"cannot write '{path}': the directory '{os.path.dirname(os.path.abspath(path))}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if info is None:
            # mkstemp creates 0600 files; a new report gets what a plain open() would give.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        else:
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except OSError:
                pass  # only root may give a file away; the mode is kept either way
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _finite(value: Any) -> Any:
    """Replace non-finite floats by None so that the output stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def report_json(report: Any) -> str:
    """A report as indented JSON text (non-ASCII kept; NaN and infinities written as null).

    Parameters
    ----------
    report : object
        The response body.

    Returns
    -------
    str
        Valid JSON, without a trailing newline.
    """
    try:
        return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(report), ensure_ascii=False, indent=2, allow_nan=False)

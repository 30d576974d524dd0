"""Saving fitted segmentations as plain JSON: no pickle, so loading a file never runs code.

Floats are written with Python's shortest round-trip repr, so a saved model predicts bit for bit
like the one that was saved. Files are written to a temporary file in the same folder and renamed
into place, so a crash never leaves half a model behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from segengine._version import __version__
from segengine.errors import ModelFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "write_model_file", "read_model_file"]

FORMAT = "segengine.segmenter"
FORMAT_VERSION = 1
_MAX_BYTES = 512 * 1024 * 1024


def write_model_file(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write ``state`` atomically as a segengine model file.

    Parameters
    ----------
    path : path-like
        Destination; its folder must exist.
    state : dict
        JSON-ready model state; the format header is added here.
    """
    path = Path(path)
    body = {"format": FORMAT, "format_version": FORMAT_VERSION, "segengine_version": __version__}
    body.update(state)
    text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a model file written by :func:`write_model_file`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The state.

    Raises
    ------
    ModelFileError
        Missing, unreadable, truncated or corrupt JSON, not a segengine model, or a format
        version this segengine cannot read.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > _MAX_BYTES:
            raise ModelFileError(f"{path}: {size} bytes is too large for a segengine model file.")
        text = path.read_text(encoding="utf-8")
    except ModelFileError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from None
    try:
        state = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"{path} is not a readable segengine model (corrupt or truncated JSON: {exc})."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a segengine model file.")
    version = state.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path} has no valid format_version.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by segengine {state.get('segengine_version', '?')} in model format "
            f"{version}; this segengine {__version__} reads format {FORMAT_VERSION} or older: upgrade segengine."
        )
    return state

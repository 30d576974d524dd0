"""Saving fitted segmentations as plain JSON: no pickle, so loading a file never runs code.

Floats are written with Python's shortest round-trip repr, so a saved model predicts bit for bit
like the one that was saved. Files are written to a temporary file in the same folder and renamed
into place, so a crash never leaves half a model behind.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from segengine._version import __version__
from segengine.errors import ModelFileError
from segengine.files import write_output

__all__ = ["FORMAT", "FORMAT_VERSION", "write_model_file", "read_model_file"]

FORMAT = "segengine.segmenter"
FORMAT_VERSION = 1
_MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 1 << 20
# Digits of an integer literal: counts, seeds and sizes in a model file have at most 20.
_MAX_INT_DIGITS = 20


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
    # The package's one atomic writer: a temporary file renamed into place, mode of an existing
    # file kept, symbolic links followed (segengine.files).
    write_output(path, text)


class _Refused(ValueError):
    """A JSON literal a model file never contains."""


def _refuse_constant(name: str) -> Any:
    # json.dumps(allow_nan=False) never writes NaN or Infinity: such a file was edited by hand.
    raise _Refused(f"{name} is not a valid number in a model file")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text)} digits is not a valid model value")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise _Refused(f"{text[:40]} is beyond the float range")
    return value


def _read_bounded(path: Path) -> str:
    """Read at most _MAX_BYTES, whatever the file is.

    st_size is 0 for devices and FIFOs, so the bound is applied while reading, and a file that
    does not start like a JSON object is refused
    after its first chunk (``/dev/zero`` is not read to the end of memory).
    """
    chunks: list[bytes] = []
    total = 0
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > _MAX_BYTES:  # a regular file says its size: refuse without reading
            raise ModelFileError(f"{path}: {size} bytes is too large for a segengine model file.")
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            if not chunks and not chunk.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"{"):
                raise ModelFileError(f"{path} is not a segengine model file.")
            total += len(chunk)
            if total > _MAX_BYTES:
                raise ModelFileError(
                    f"{path}: more than {_MAX_BYTES} bytes is too large for a segengine model file.")
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8-sig")


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
        Missing, unreadable, truncated or corrupt JSON, NaN/Infinity or huge integer literals,
        larger than 256 MB (also for devices and FIFOs), not a segengine model, or a format
        version this segengine cannot read.
    """
    path = Path(path)
    try:
        text = _read_bounded(path)
    except ModelFileError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"Cannot read model file {path}: {exc}") from None
    try:
        state = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int,
                           parse_float=_finite_float)
    except _Refused as exc:
        raise ModelFileError(f"{path} is a damaged segengine model file ({exc}).") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"{path} is not a readable segengine model (corrupt or truncated JSON: {exc})."
        ) from None
    except ValueError as exc:  # e.g. an integer literal past Python's digit limit
        raise ModelFileError(f"{path} is a damaged segengine model file ({str(exc)[:200]}).") from None
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

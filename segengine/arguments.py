"""Argument types and ``--options`` parsing shared by the ``segengine`` subcommands.

One definition of each, used by the report commands (:mod:`segengine.cli`) and by ``serve`` /
``tenants`` (:mod:`segengine.service.commands`). Bad values raise ``argparse.ArgumentTypeError``
(a usage error, exit status 2) or :class:`CLIError` (one ``segengine: error:`` line, status 1).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from segengine.readers import _json_type

__all__ = ["CLIError", "positive_int", "seed", "port", "parse_options_json", "build_payload"]

_OPTIONS_EXAMPLE = """example: --options '{"k_max": 8}'"""


class CLIError(Exception):
    """A failure the user can fix; rendered as one ``segengine: error:`` line, exit status 1."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (``--n``, ``--workers``, ``--rate-limit``).

    Parameters
    ----------
    text : str
        The argument as typed.

    Returns
    -------
    int
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """An argparse type: a random seed in ``0 .. 2**32 - 1``.

    Parameters
    ----------
    text : str
        The argument as typed.

    Returns
    -------
    int
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {text[:40]}")
    return value


def port(text: str) -> int:
    """An argparse type: a TCP port, ``0 .. 65535`` (0 lets the system choose).

    Parameters
    ----------
    text : str
        The argument as typed.

    Returns
    -------
    int
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got '{text}'") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {value}")
    return value


def parse_options_json(text: str | None) -> dict[str, Any] | None:
    """The ``--options`` argument: a JSON object, or None when it was not given.

    Only its shape is checked here; the option names and values are the engine's to judge
    (with the path of each problem).

    Parameters
    ----------
    text : str or None
        The argument as typed.

    Returns
    -------
    dict or None

    Raises
    ------
    CLIError
        Not JSON, or JSON but not an object.
    """
    if text is None:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"--options is not valid JSON: {exc.msg} (column {exc.colno}); {_OPTIONS_EXAMPLE}"
        ) from None
    except RecursionError:
        raise CLIError("--options is nested too deeply to be options") from None
    except ValueError as exc:  # an integer literal past Python's digit limit
        raise CLIError(f"--options is not usable JSON: {str(exc).split(';')[0][:120]}") from None
    if not isinstance(options, dict):
        raise CLIError(f"--options must be a JSON object, found {_json_type(options)}; {_OPTIONS_EXAMPLE}")
    return options


def build_payload(body: dict[str, Any], options: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``--options`` over the file's options and ask for metadata (time, k scores).

    Parameters
    ----------
    body : dict
        The request body read from the file (or built from the demo records). Not modified.
    options : dict or None
        From :func:`parse_options_json`.

    Returns
    -------
    dict
        A new request body.

    Raises
    ------
    CLIError
        The file's ``options`` is not an object.
    """
    payload = dict(body)
    if options is not None:
        file_options = payload.get("options")
        if file_options is None:
            file_options = {}
        if not isinstance(file_options, Mapping):
            raise CLIError("the file's 'options' must be an object to merge --options into it")
        payload["options"] = {**file_options, **options}
    # The contract accepts both spellings; keep one so they cannot disagree.
    payload.pop("includeMetadata", None)
    payload["include_metadata"] = True
    return payload

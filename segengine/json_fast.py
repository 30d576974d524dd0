"""JSON text parsed by orjson when it is installed, with exactly the standard library's outcome.

orjson (the ``service`` extra) parses large request bodies faster, but it disagrees with
``json.loads`` on a few inputs: it refuses ``NaN``/``Infinity``, lone surrogates, a byte-order
mark and numbers past float range (the standard library reads them), turns integers outside
64 bits into floats, and nests up to 1,024 levels where the standard library's limit follows the
interpreter's recursion limit. So orjson's value is kept only when two cheap proofs say the
standard library would have built the same one:

- no run of 19 or more digits in the text (every integer orjson turns into a float has one);
- as many ``[`` and ``{`` in the text as the value has lists and dicts, all within
  ``MAX_DEPTH`` levels (so no bracket hides in a string, and no record holds a nested value
  whose depth was not looked at).

Anything else -- orjson's errors included -- is parsed again by ``json.loads``, whose values and
errors are then the ones the caller sees. Small texts go straight to the standard library.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads", "standard_equivalent"]

# Below this many characters the standard library is about as fast and the proofs not worth it.
MIN_FAST_CHARS = 4096
# Nesting proven by the walk; far below any recursion limit the standard library could hit.
MAX_DEPTH = 64

_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_CONTAINERS = (dict, list)
_orjson: Any = None


def _fast_parser() -> Any:
    global _orjson
    if _orjson is None:
        try:
            import orjson  # optional: the service extra
        except ImportError:
            orjson = False
        _orjson = orjson
    return _orjson or None


def _containers(value: Any) -> int:
    """Lists and dicts in ``value`` (-1 beyond ``MAX_DEPTH``).

    A list of dicts counts its dicts without looking inside: a container in one of them shows as
    a bracket the count misses.
    """
    count = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is not dict and kind is not list:
            continue
        if depth > MAX_DEPTH:
            return -1
        count += 1
        children = item.values() if kind is dict else item
        types = set(map(type, children))
        if kind is list and types == {dict}:
            count += len(item)  # records: one bracket each, scalar values proven by the count
            continue
        if dict in types or list in types:
            stack.extend((child, depth + 1) for child in children if type(child) in _CONTAINERS)
    return count


def standard_equivalent(text: str | bytes, value: Any) -> bool:
    """Whether ``value``, parsed from ``text`` by orjson, is provably what ``json.loads`` gives.

    Parameters
    ----------
    text : str or bytes
        The JSON text.
    value : object
        orjson's value for it.

    Returns
    -------
    bool
        True when both proofs of the module docstring hold; False means "parse with
        ``json.loads``" (it may well give the same value).
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if _LONG_DIGIT_RUN in raw.translate(_DIGITS):
        return False
    return raw.count(b"[") + raw.count(b"{") == _containers(value)


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, faster on large texts when orjson is installed.

    Parameters
    ----------
    text : str or bytes
        JSON text (bytes as ``json.loads`` reads them).

    Returns
    -------
    object
        The value ``json.loads`` returns.

    Raises
    ------
    json.JSONDecodeError, RecursionError, ValueError
        Exactly as ``json.loads`` raises them.
    """
    parser = _fast_parser()
    if parser is not None and len(text) >= MIN_FAST_CHARS:
        try:
            value = parser.loads(text)
        except parser.JSONDecodeError:
            pass  # NaN, a lone surrogate, bad JSON...: the standard library decides
        else:
            if standard_equivalent(text, value):
                return value
    return json.loads(text)

"""Duplicate keys in JSON text: found without slowing down the common case.

``json.loads`` keeps the last of two equal keys silently. Checking every object with an
``object_pairs_hook`` costs about half the parse time again on a 250k-record body, so a cheap
proof comes first: every key of the text is followed by a colon, so the number of colons in the
text bounds the number of key/value pairs from above. When the parsed objects hold that many
pairs, no key was dropped. Only otherwise (colons inside strings, such as times, or a real
duplicate) is the text parsed again with a hook that looks.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["duplicate_key_paths", "no_key_dropped"]

# Listed duplicate paths at most (like the data errors of segengine.table).
MAX_PATHS = 100


def _counted_pairs(value: Any) -> int:
    """Key/value pairs of the parsed objects (a lower bound).

    Nested values in records are not visited, which only sends more bodies to the exact check.
    """
    if not isinstance(value, dict):
        return 0
    total = len(value)
    for item in value.values():
        if isinstance(item, dict):
            total += _counted_pairs(item)
        elif isinstance(item, list) and item and all(type(r) is dict for r in item):
            total += sum(map(len, item))
    return total


class _Pairs(list):
    """An object of the text kept as its list of (key, value) pairs."""


def _walk(value: Any, path: str, out: list[tuple[str, str]]) -> None:
    if len(out) >= MAX_PATHS:
        return
    if isinstance(value, _Pairs):
        seen = set()
        for key, item in value:
            if key in seen:
                out.append((f"{path}.{key}" if path else key, key))
            seen.add(key)
            _walk(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}.{i}" if path else str(i), out)


def _has_duplicate(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


class _Duplicate(Exception):
    pass


def no_key_dropped(text: str | bytes, parsed: Any) -> bool:
    """Whether ``parsed`` provably kept every key/value pair of ``text`` (the cheap colon count).

    Parameters
    ----------
    text : str or bytes
        JSON text that a parser (``json``, ``orjson``) turned into ``parsed``.
    parsed : object
        Its value.

    Returns
    -------
    bool
        True when no object of the text can have repeated a key; False means "look closer"
        (a colon inside a string, or a real duplicate): :func:`duplicate_key_paths` decides.
    """
    colons = text.count(b":" if isinstance(text, bytes) else ":")
    return colons == _counted_pairs(parsed)


def duplicate_key_paths(text: str, parsed: Any) -> list[tuple[str, str]]:
    """Paths (``data.3.spend``) and names of keys that appear twice in one object of ``text``.

    Parameters
    ----------
    text : str
        JSON text that ``json.loads`` already parsed into ``parsed``.
    parsed : object
        Its value.

    Returns
    -------
    list of (path, key)
        Empty when no object of the text repeats a key; at most ``MAX_PATHS`` entries.
    """
    if no_key_dropped(text, parsed):
        return []
    try:
        json.loads(text, object_pairs_hook=_has_duplicate)
        return []
    except _Duplicate:
        pass
    out: list[tuple[str, str]] = []
    _walk(json.loads(text, object_pairs_hook=_Pairs), "", out)
    return out

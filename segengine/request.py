"""The request side of the contract: a payload (mapping, JSON text or bytes) into a validated request.

Parsing never modifies the caller's objects; every problem raises a typed error whose ``details``
name the exact input path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segengine import json_fast
from segengine.errors import InvalidRequestError, ValidationError
from segengine.json_keys import duplicate_key_paths
from segengine.options import MAX_DETAILS, SegmentationOptions, parse_options, same_value
from segengine.text.msg import Msg

__all__ = ["Request", "parse_request", "load_json_body"]

EXPECTED_FORMAT = "Array of objects with required fields"
_TOP_LEVEL = {
    "data": "data",
    "options": "options",
    "include_metadata": "include_metadata",
    "includeMetadata": "include_metadata",
}


@dataclass(frozen=True)
class Request:
    """A validated request: the records (the caller's own list, never written), options, flags."""

    records: list
    options: SegmentationOptions
    include_metadata: bool
    option_paths: dict = field(default_factory=dict)  # option name -> path as the caller wrote it


def load_json_body(body: Any) -> Any:
    """Decode JSON text or bytes; mappings and other Python objects pass through unchanged.

    ``NaN`` literals decode to NaN (treated as missing later) and ``Infinity`` to inf (a 422 at
    the value's path later), so that a lenient JSON writer's output gets precise errors. A
    leading byte-order mark is skipped in text as in bytes; a key repeated in one object is a
    422 naming its path (JSON parsers would keep the last value silently).

    Parameters
    ----------
    body : str, bytes, bytearray, memoryview or object
        The request body.

    Returns
    -------
    object
        The decoded value.

    Raises
    ------
    InvalidRequestError
        The text is not JSON (400 ``Invalid format``).
    ValidationError
        A key appears twice in one object (422 at its path).
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            body = bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _invalid_json(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if isinstance(body, str):
        if body.startswith("\ufeff"):
            body = body[1:]  # a byte-order mark, as the same bytes would decode (utf-8-sig)
        try:
            parsed = json_fast.loads(body)  # orjson when installed, json.loads' outcome
        except json.JSONDecodeError as exc:
            raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise _invalid_json("nested too deeply") from None
        except ValueError as exc:  # e.g. an integer literal past Python's digit limit
            raise _invalid_json(str(exc).split(";")[0][:200]) from None
        duplicates = duplicate_key_paths(body, parsed)
        if duplicates:
            # Last-wins would silently drop a value; conflicting spellings are 422s too.
            raise ValidationError(
                Msg("validation_failed"),
                {path: Msg("duplicate_key", name=key) for path, key in duplicates},
            )
        return parsed
    return body


def _invalid_json(reason: str) -> InvalidRequestError:
    return InvalidRequestError(
        Msg("format_mismatch"),
        {"body": Msg("invalid_json", reason=reason)},
        extra={"expected_format": EXPECTED_FORMAT},
    )


def parse_request(payload: Any) -> Request:
    """Validate the top level of a request body (SPEC section 2, Request).

    Parameters
    ----------
    payload : mapping, str or bytes
        The request body.

    Returns
    -------
    Request

    Raises
    ------
    InvalidRequestError
        Not JSON, not an object (400 ``Invalid format``), or ``data`` empty (400 ``Invalid parameters``).
    ValidationError
        ``data`` missing or not an array, unknown parameters, bad options, too many records (422).
    """
    body = load_json_body(payload)
    if not isinstance(body, Mapping):
        raise InvalidRequestError(
            Msg("format_mismatch"),
            {"body": Msg("body_not_object")},
            extra={"expected_format": EXPECTED_FORMAT},
        )
    details: dict[str, Msg] = {}
    seen: dict[str, Any] = {}
    hidden = 0
    for key, value in body.items():
        name = _TOP_LEVEL.get(key) if isinstance(key, str) else None
        if name is None:
            if len(details) >= MAX_DETAILS:
                hidden += 1  # listed at most MAX_DETAILS, like data and option errors
                continue
            details[str(key)] = Msg("unknown_parameter", name=str(key))
        elif name in seen and not same_value(seen[name], value):
            other = next(k for k in body if _TOP_LEVEL.get(k) == name and k != key)
            details[str(key)] = Msg("conflicting_spellings", a=other, b=str(key))
        else:
            seen[name] = value

    if hidden:
        details["body"] = Msg("more_details", n=hidden)
    data = seen.get("data")
    if not isinstance(data, list):
        details["data"] = Msg("data_required")
        raise ValidationError(Msg("required_missing"), details)
    try:
        # null means defaults; any other non-object ([], 0, "", false) is a 422 on options.
        options = parse_options(seen.get("options"))
    except ValidationError as exc:
        details.update(exc.raw_details)
    if details:
        only_options = all(p.startswith("options") for p in details)
        raise ValidationError(
            Msg("options_invalid" if only_options else "validation_failed"), details
        )
    if not data:
        raise InvalidRequestError(
            Msg("data_empty"), {"data": Msg("data_empty")},
            error="Invalid parameters",
        )
    include = seen.get("include_metadata", False)
    if include is None:
        include = False
    if not isinstance(include, bool):
        key = "includeMetadata" if "includeMetadata" in body else "include_metadata"
        raise ValidationError(
            Msg("validation_failed"),
            {key: Msg("option_bool", name=key)},
        )
    if len(data) > options.max_records:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("too_many_records", n=len(data), max=options.max_records)},
        )
    raw_options = seen.get("options") or {}
    paths = {_option_name(str(k)): f"options.{k}" for k in raw_options}
    return Request(records=data, options=options, include_metadata=include, option_paths=paths)


def _option_name(key: str) -> str:
    from segengine.options import canonical_option_name

    return canonical_option_name(key)

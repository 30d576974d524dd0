"""Error bodies the service adds to the contract (401, 403, 413, 415, 429, 503, and its own 400/500).

They have the contract's shape ``{"error", "message", "details"?, "retry_after"?}``.

``error`` is a stable English category; ``message`` and ``details`` follow ``Accept-Language``
like the library's errors. No body ever contains a token, a secret or a payload value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERRORS", "service_error_body"]

# status -> stable English category
ERRORS = {
    400: "Invalid format",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Service error",
    503: "Service unavailable",
}
# The sentences are in the one error catalogue (segengine.text.service_messages, merged into
# segengine.text.error_messages).


def text(language: str, key: str, **params: Any) -> str:
    """A localized sentence of the service (English when the language is unknown).

    Parameters
    ----------
    language : str
    key : str
    **params
        Values for the sentence's placeholders.

    Returns
    -------
    str
    """
    from segengine.text.error_messages import error_text

    return error_text(language, key, **params)


def service_error_body(
    status: int,
    language: str,
    message_key: str,
    details: dict[str, str] | None = None,
    *,
    retry_after: int | None = None,
    **params: Any,
) -> dict[str, Any]:
    """The body of an error the service itself produces.

    Parameters
    ----------
    status : int
    language : str
    message_key : str
        Key of the sentence in the catalogue.
    details : dict, optional
        Path -> catalogue key of the sentence about it.
    retry_after : int, optional
        Seconds, added as ``retry_after`` (429, 500, 503).
    **params
        Values for the placeholders of the message and details.

    Returns
    -------
    dict
    """
    body: dict[str, Any] = {"error": ERRORS[status], "message": text(language, message_key, **params)}
    if details:
        body["details"] = {path: text(language, key, **params) for path, key in details.items()}
    if status == 400:
        body["expected_format"] = "Array of objects with required fields"
    if retry_after is not None:
        body["retry_after"] = int(retry_after)
    return body

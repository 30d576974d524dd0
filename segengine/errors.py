"""Typed errors of segengine.

One base class carries what the HTTP contract needs (status, stable English category,
localized message, per-field details) so that the library and the service wrapper share one
rendering (`to_dict`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SegEngineError",
    "InvalidRequestError",
    "ValidationError",
    "ServiceError",
    "ModelFileError",
    "NotFittedError",
]


class SegEngineError(Exception):
    """Base class of every error segengine raises on purpose.

    Parameters
    ----------
    message : str
        A human sentence (already localized when raised by the request contract).
    details : dict, optional
        Maps the path of each offending input (``data.3.spend``, ``options.k_max``) to a
        sentence about it.
    error : str, optional
        Stable English category; defaults to the class attribute.
    extra : dict, optional
        Additional top-level keys of the rendered body (e.g. ``expected_format``).
    """

    status: int = 500
    error: str = "Service error"

    def __init__(
        self,
        message: str,
        details: dict[str, str] | None = None,
        *,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})
        if error is not None:
            self.error = error
        self.extra = dict(extra or {})

    def to_dict(self) -> dict[str, Any]:
        """Render the error as the contract's JSON body.

        Returns
        -------
        dict
            ``{"error", "message", "details"?, ...extra}``.
        """
        body: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.details:
            body["details"] = dict(self.details)
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        if not self.details:
            return self.message
        parts = "; ".join(f"{k}: {v}" for k, v in self.details.items())
        return f"{self.message} ({parts})"


class InvalidRequestError(SegEngineError):
    """HTTP 400: the body is not a JSON object, a record is not an object, or data is empty."""

    status = 400
    error = "Invalid format"


class ValidationError(SegEngineError, ValueError):
    """HTTP 422: the request is well-formed JSON but a value or option is not acceptable."""

    status = 422
    error = "Validation failed"


class ServiceError(SegEngineError):
    """HTTP 500: an unexpected internal failure (rendered by ``handle_request`` only)."""

    status = 500
    error = "Service error"


class ModelFileError(SegEngineError, ValueError):
    """A saved model cannot be read: missing, truncated, corrupt, foreign or of a newer format."""

    status = 422
    error = "Invalid model file"


class NotFittedError(SegEngineError, AttributeError):
    """An estimator was used before ``fit``.

    Subclasses AttributeError like scikit-learn's, so ``check_is_fitted``-style code and
    ``hasattr`` probes behave as users expect.
    """

    status = 500
    error = "Not fitted"

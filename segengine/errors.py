"""Typed errors of segengine.

One base class carries what the HTTP contract needs (status, stable English category,
message, per-field details) so that the library and the service wrapper share one rendering
(`to_dict`). Layers below the contract raise with :class:`~segengine.text.msg.Msg` values (a
catalogue key and its parameters); the contract layer renders them in the caller's language.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from segengine.text.msg import Msg, render

__all__ = [
    "SegEngineError",
    "InvalidRequestError",
    "ValidationError",
    "ServiceError",
    "ModelFileError",
    "NotFittedError",
    "localized_errors",
]


class SegEngineError(Exception):
    """Base class of every error segengine raises on purpose.

    The message and the detail sentences may be written already (``str``) or carried as a
    catalogue key and parameters (:class:`segengine.text.msg.Msg`), which the contract layer
    renders in the caller's language: :meth:`to_dict` takes a language, and :meth:`localized`
    returns a copy whose ``message``, ``details`` and ``str()`` speak that language. Without
    either they speak English.

    Parameters
    ----------
    message : str or Msg
        A human sentence, or its key and parameters.
    details : dict, optional
        Maps the path of each offending input (``data.3.spend``, ``options.k_max``) to a
        sentence (``str`` or ``Msg``) about it.
    error : str, optional
        Stable English category; defaults to the class attribute.
    extra : dict, optional
        Additional top-level keys of the rendered body (e.g. ``expected_format``).
    """

    status: int = 500
    error: str = "Service error"
    #: Language of ``message``, ``details`` and ``str()`` (see :meth:`localized`).
    language: str = "en"

    def __init__(
        self,
        message: str | Msg,
        details: Mapping[str, str | Msg] | None = None,
        *,
        error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.raw_message = message
        self.raw_details: dict[str, str | Msg] = dict(details or {})
        if error is not None:
            self.error = error
        self.extra = dict(extra or {})

    @property
    def message(self) -> str:
        """The message in :attr:`language`."""
        return render(self.raw_message, self.language)

    @message.setter
    def message(self, value: str | Msg) -> None:
        self.raw_message = value

    @property
    def details(self) -> dict[str, str]:
        """Path -> sentence, in :attr:`language` (a new dict: assign to change them)."""
        return {path: render(text, self.language) for path, text in self.raw_details.items()}

    @details.setter
    def details(self, value: Mapping[str, str | Msg]) -> None:
        self.raw_details = dict(value)

    def localized(self, language: str) -> SegEngineError:
        """A copy of this error speaking ``language`` (same class, status, details and extra).

        Parameters
        ----------
        language : str
            ``"en"``, ``"es"`` or ``"pt"`` (tags such as ``"pt-BR"`` work; anything else gives
            English).

        Returns
        -------
        SegEngineError
            The copy; raise it ``from`` nothing to keep the original's traceback with
            ``.with_traceback(err.__traceback__)``.
        """
        from segengine.text.language import normalize_language

        copy = BaseException.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.args = self.args
        copy.language = normalize_language(language)
        return copy

    def to_dict(self, language: str | None = None) -> dict[str, Any]:
        """Render the error as the contract's JSON body.

        Parameters
        ----------
        language : str, optional
            Language of ``message`` and ``details``; the error's own :attr:`language` (English
            unless :meth:`localized`) when omitted.

        Returns
        -------
        dict
            ``{"error", "message", "details"?, ...extra}``.
        """
        err = self if language is None else self.localized(language)
        body: dict[str, Any] = {"error": err.error, "message": err.message}
        if err.raw_details:
            body["details"] = err.details
        body.update(err.extra)
        return body

    def __str__(self) -> str:
        if not self.raw_details:
            return self.message
        parts = "; ".join(f"{k}: {v}" for k, v in self.details.items())
        return f"{self.message} ({parts})"

    def __reduce__(self) -> tuple:
        # Rebuilt from the unrendered message and details, then the language and extras.
        return (_rebuild, (type(self), self.raw_message, self.__dict__))


def _rebuild(cls: type, message: Any, state: dict[str, Any]) -> SegEngineError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


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


@contextmanager
def localized_errors(language: str) -> Iterator[None]:
    """Re-raise every :class:`SegEngineError` of the block speaking ``language``.

    The contract layer's way out: layers below raise with message keys, and an entry point that
    takes a language (``segmentation_report``, ``segengine.dask.fit``) wraps its work in this.

    Parameters
    ----------
    language : str
        ``"en"``, ``"es"`` or ``"pt"`` (tags such as ``"pt-BR"`` work).

    Yields
    ------
    None
    """
    try:
        yield
    except SegEngineError as exc:
        raise exc.localized(language).with_traceback(exc.__traceback__) from None

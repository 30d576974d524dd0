"""The contract of SPEC section 2 as pure functions: `segmentation_report` and `handle_request`."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from segengine.concurrency import parallel_section
from segengine.errors import SegEngineError, ServiceError, ValidationError, localized_errors
from segengine.options import WITH_MODEL
from segengine.request import parse_request
from segengine.table import check_records_are_objects, table_from_records
from segengine.text.language import normalize_language, parse_accept_language
from segengine.text.msg import Msg

__all__ = ["segmentation_report", "handle_request", "fit_and_report"]

_log = logging.getLogger("segengine")


def segmentation_report(payload: Any, language: str = "en", *, model: Any = None) -> dict[str, Any]:
    """Segment the customers of a request body and return the report (SPEC section 2).

    Parameters
    ----------
    payload : mapping, str or bytes
        ``{"data": [...], "options": {...}, "include_metadata": bool}`` (snake_case or camelCase),
        as a mapping or as JSON text/bytes. Never modified.
    language : str
        Language of names, texts and error messages: "en", "es" or "pt" (tags like "pt-BR" work;
        anything else gives English).
    model : Segmenter, optional
        A fitted Segmenter: the records are scored with it instead of fitting a new model
        (same response shape; the segments are profiled on the given records).

    Returns
    -------
    dict
        The response body: ``results``, ``segments``, ``summary`` and, on request, ``metadata``.

    Raises
    ------
    InvalidRequestError
        400: the body is not a JSON object, a record is not an object, or ``data`` is empty.
    ValidationError
        422: any invalid value or option, with the exact path of each in ``details``.
    """
    started = time.perf_counter()
    lang = normalize_language(language)
    # Errors are raised with message keys below this layer; they leave it in the caller's language.
    with localized_errors(lang):
        request = parse_request(payload)
        try:
            with _collector_paused():
                return _report(request, lang, model, started)
        except ValidationError as exc:
            exc.details = _caller_spelling(exc.raw_details, request.option_paths)
            raise


_GC_LOCK = threading.Lock()
_gc_paused = False  # whether a report holds the pause


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a report runs.

    A report allocates one dict per record; at 10,000 records the collections this triggers
    scan the caller's records again and again (5-15 ms of a 100 ms report). Reports create no
    reference cycles worth collecting mid-way. Only a report that starts while no other one
    holds the pause takes it, and it gives the collector back, as the caller had it, when it
    ends: in a service whose reports overlap without pause, the collector is never off for
    longer than one report (the others run with it as they find it).
    """
    global _gc_paused
    with _GC_LOCK:
        mine = not _gc_paused and gc.isenabled()
        if mine:
            _gc_paused = True
            gc.disable()
    try:
        yield
    finally:
        if mine:
            with _GC_LOCK:
                _gc_paused = False
                gc.enable()


def _caller_spelling(details: Any, option_paths: Mapping[str, str]) -> Any:
    """Error paths with options as the caller spelled them (``options.kMin``, not ``options.k_min``).

    Deeper layers name options by their canonical snake_case name.
    """
    if not isinstance(details, dict):
        return details
    out = {}
    for path, text in details.items():
        head, _, rest = path.partition(".")
        name, dot, tail = rest.partition(".")
        if head == "options" and name in option_paths:
            path = option_paths[name] + dot + tail
        out[path] = text
    return out


def _report(request: Any, lang: str, model: Any, started: float) -> dict[str, Any]:
    options = request.options
    if model is not None:
        # Scoring must reject a record that is not an object like fitting does (a 400 naming it),
        # not hand a mixed list to the array reader.
        check_records_are_objects(request.records)
        # A fitted model fixes everything but how records are read: other options would be
        # silently ignored, so they are errors.
        unused = [path for name, path in request.option_paths.items() if name not in WITH_MODEL]
        if unused:
            raise ValidationError(Msg("options_invalid"), {path: Msg("option_with_model") for path in unused})
        with parallel_section():
            return model.score_report(
                request.records, language=lang, include_metadata=request.include_metadata,
                started=started,
                id_field=options.id_field if "id_field" in request.option_paths else None,
            )
    table = table_from_records(request.records, id_field=options.id_field)
    from segengine.fitting import fit_table
    from segengine.report import build_report

    # numba's workqueue layer aborts the process under concurrent parallel calls (concurrency.py).
    with parallel_section():
        fit = fit_table(table, options, started=started)
        return build_report(fit.model, fit.batch, lang, include_metadata=request.include_metadata)


def handle_request(
    body: Any, headers: Mapping[str, str] | None = None, *, model: Any = None
) -> tuple[int, dict[str, Any]]:
    """Serve one HTTP request: never raises, returns ``(status, body)``.

    Parameters
    ----------
    body : str, bytes or mapping
        The request body.
    headers : mapping, optional
        HTTP headers; ``Accept-Language`` (any case) chooses the language.
    model : Segmenter, optional
        A fitted model to score with (see :func:`segmentation_report`).

    Returns
    -------
    (int, dict)
        200 and the report, 400/422 and the error body, or 500 with ``retry_after`` on an
        unexpected failure (logged, never a traceback in the body).
    """
    language = "en"
    try:
        language = _header_language(headers)
        return 200, segmentation_report(body, language, model=model)
    except SegEngineError as exc:
        if exc.status >= 500:
            _log.exception("segengine internal error")
            return 500, _service_error(language)
        return exc.status, exc.to_dict(language)
    except Exception:  # noqa: BLE001 - the service boundary: every failure becomes a 500 body
        _log.exception("segengine internal error")
        return 500, _service_error(language)


def _header_language(headers: Any) -> str:
    """Language of ``Accept-Language`` in a mapping or in (name, value) pairs.

    Pairs may be WSGI/ASGI style, str or bytes; headers of any other shape are ignored rather than
    failing the request.
    """
    try:
        return _language_from_pairs(headers)
    except Exception:  # noqa: BLE001 - a header object we cannot read is no reason to fail
        return "en"


def _language_from_pairs(headers: Any) -> str:
    # Identity test, not truthiness: numpy arrays and pandas objects refuse bool().
    if headers is None or isinstance(headers, (str, bytes, bytearray)):
        return "en"
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            continue
        key, value = (v.decode("latin-1") if isinstance(v, (bytes, bytearray)) else v for v in pair)
        if isinstance(key, str) and key.lower() == "accept-language":
            return parse_accept_language(value)
    return "en"


def _service_error(language: str) -> dict[str, Any]:
    return ServiceError(Msg("service_error"), extra={"retry_after": 60}).to_dict(language)


def fit_and_report(payload: Any, language: str = "en") -> tuple[dict[str, Any], Any]:
    """Run the request contract like :func:`segengine.segmentation_report`, returning the Segmenter too.

    The HTML page's projection needs the fitted Segmenter's preprocessed records.

    Parameters
    ----------
    payload : mapping, str or bytes
        A request body (see :func:`segengine.segmentation_report`).
    language : str

    Returns
    -------
    (dict, Segmenter)
        The same report ``segmentation_report`` returns, and the fitted Segmenter.
    """
    from segengine.fitting import fit_table
    from segengine.segmenter import Segmenter

    started = time.perf_counter()
    lang = normalize_language(language)
    with localized_errors(lang):  # errors leave the contract in the caller's language
        request = parse_request(payload)
        options = request.options
        table = table_from_records(request.records, id_field=options.id_field)
        with parallel_section():
            segmenter = Segmenter.from_fit(fit_table(table, options, started=started))
            report = segmenter.report(lang, include_metadata=request.include_metadata)
    return report, segmenter

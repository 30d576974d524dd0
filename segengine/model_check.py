"""Validation of a saved model's state before any of it is used.

A model file is input like a request body: it may be damaged or tampered with. Everything that
later reaches an array kernel or a report is checked here -- types, shapes, dtypes, finiteness,
ranges and the consistency of the whole model (the preprocessor's width equals the centres'
width, one weight per segment, precision factors matching the covariance type) -- so that
``Segmenter.load`` either returns a model that scores like the one saved, or raises
:class:`~segengine.errors.ModelFileError` naming the first bad entry.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np

from segengine import config
from segengine.errors import ModelFileError, ValidationError
from segengine.options import parse_options

__all__ = ["check_model_state"]

_KINDS = ("numeric", "binary", "categorical", "date", "empty")
_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_FIELD_KEYS = {"name", "kind", "used", "reason", "impute", "log1p", "center", "scale", "categories",
               "date_reference", "n_distinct"}
_MAX_SEGMENTS = 1000
# Sum of weights: a saved model's weights sum to 1 up to rounding.
_WEIGHT_SUM_TOL = 1e-6


class _Bad(Exception):
    """One invalid entry: (path, what is wrong)."""


def _fail(path: str, what: str) -> None:
    raise _Bad(f"{path}: {what}")


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v: Any, path: str, *, positive: bool = False) -> float:
    if not _is_real(v) or not math.isfinite(float(v)):
        _fail(path, "must be a finite number")
    if positive and not float(v) > 0.0:
        _fail(path, "must be positive")
    return float(v)


def _array(value: Any, path: str, shape: tuple[int, ...]) -> np.ndarray:
    """A nested list of finite numbers with exactly ``shape``, as float64."""
    if not isinstance(value, list):
        _fail(path, f"must be an array of shape {shape}")
    try:
        cells = np.array(value, dtype=object)
    except (TypeError, ValueError):
        _fail(path, f"must be an array of shape {shape}")
    if cells.shape != shape:
        _fail(path, f"has shape {cells.shape}, expected {shape}")
    # Numbers only: numpy would also turn "1.5" or true into a float.
    if not all(map(_is_real, cells.ravel().tolist())):
        _fail(path, "must hold numbers only")
    try:
        arr = cells.astype(np.float64)
    except OverflowError:
        _fail(path, "must hold finite numbers only")
    if not np.isfinite(arr).all():
        _fail(path, "must hold finite numbers only")
    return arr


def _options(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        _fail(path, "must be an object")
    try:
        parse_options(value, prefix=f"{path}.")
    except ValidationError as exc:
        first = next(iter(exc.details.items()), (path, str(exc)))
        _fail(first[0], first[1])


def _field(f: Any, path: str) -> int:
    """Check one FieldTransform dict; return its width."""
    if not isinstance(f, dict) or not set(f) <= _FIELD_KEYS or not {"name", "kind", "used"} <= set(f):
        _fail(path, "must be a field object")
    if not isinstance(f["name"], str):
        _fail(f"{path}.name", "must be a string")
    kind, used = f["kind"], f["used"]
    if kind not in _KINDS:
        _fail(f"{path}.kind", f"must be one of {', '.join(_KINDS)}")
    if not isinstance(used, bool):
        _fail(f"{path}.used", "must be a boolean")
    if not isinstance(f.get("log1p", False), bool):
        _fail(f"{path}.log1p", "must be a boolean")
    if f.get("reason") is not None and not isinstance(f["reason"], str):
        _fail(f"{path}.reason", "must be a string or null")
    n_distinct = f.get("n_distinct")
    if n_distinct is not None and (not isinstance(n_distinct, int) or isinstance(n_distinct, bool)
                                   or not 0 <= n_distinct < 2**53):
        _fail(f"{path}.n_distinct", "must be a non-negative integer or null")
    categories = f.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        _fail(f"{path}.categories", "must be an array of strings")
    reference = f.get("date_reference")
    if reference is not None:
        if not isinstance(reference, str):
            _fail(f"{path}.date_reference", "must be an ISO-8601 date-time or null")
        try:
            parsed = datetime.fromisoformat(reference)
        except ValueError:
            _fail(f"{path}.date_reference", "must be an ISO-8601 date-time or null")
        if parsed.tzinfo is not None:
            _fail(f"{path}.date_reference", "must not carry a time zone (dates are compared in UTC)")
    if kind == "date" and used and reference is None:
        _fail(f"{path}.date_reference", "is required for a used date field")
    for key in ("center", "scale"):
        if key in f:
            _finite(f[key], f"{path}.{key}", positive=key == "scale")
    if not used:
        if f.get("impute") is not None:
            _finite(f["impute"], f"{path}.impute")
        return 0
    if kind == "empty":
        _fail(f"{path}.used", "an empty field cannot be used")
    if kind == "categorical":
        if not categories or len(set(categories)) != len(categories):
            _fail(f"{path}.categories", "a used categorical field needs distinct levels")
        return len(categories)
    _finite(f.get("impute"), f"{path}.impute")
    return 1


def _preprocessor(value: Any) -> tuple[int, int]:
    """Check the preprocessor state; return (number of fields, model width)."""
    if not isinstance(value, dict) or not isinstance(value.get("fields"), list):
        _fail("preprocessor", "must be an object with a fields array")
    _options(value.get("options"), "preprocessor.options")
    fields = value["fields"]
    names = [f.get("name") if isinstance(f, dict) else None for f in fields]
    width = sum(_field(f, f"preprocessor.fields.{i}") for i, f in enumerate(fields))
    if len(set(names)) != len(names):
        _fail("preprocessor.fields", "field names must be distinct")
    if not 1 <= width <= config.MAX_MODEL_COLUMNS:
        _fail("preprocessor.fields", f"use {width} model columns; between 1 and {config.MAX_MODEL_COLUMNS} are allowed")
    return len(fields), width


def _weights(value: Any, path: str, k: int, *, positive: bool) -> None:
    w = _array(value, path, (k,))
    if (w <= 0.0).any() if positive else (w < 0.0).any():
        _fail(path, "must be positive" if positive else "must not be negative")
    if abs(float(w.sum()) - 1.0) > _WEIGHT_SUM_TOL:
        _fail(path, "must sum to 1")


def _mixture(g: Any, k: int, d: int) -> None:
    if not isinstance(g, dict):
        _fail("gmm", "must be an object")
    cov = g.get("covariance_type")
    if cov not in _COVARIANCE_TYPES:
        _fail("gmm.covariance_type", f"must be one of {', '.join(_COVARIANCE_TYPES)}")
    _weights(g.get("weights"), "gmm.weights", k, positive=True)
    _array(g.get("means"), "gmm.means", (k, d))
    shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[cov]
    prec = _array(g.get("precisions_cholesky"), "gmm.precisions_cholesky", shape)
    if cov in ("full", "tied"):
        factors = prec.reshape(-1, d, d)
        diagonal = np.diagonal(factors, axis1=1, axis2=2)
        if not (diagonal > 0.0).all():
            _fail("gmm.precisions_cholesky", "Cholesky factors need a positive diagonal")
        if np.tril(factors, -1).any():
            _fail("gmm.precisions_cholesky", "Cholesky factors must be upper-triangular")
    elif not (prec > 0.0).all():
        _fail("gmm.precisions_cholesky", "must be positive")


def _selection(value: Any) -> None:
    if not isinstance(value, dict):
        _fail("selection", "must be an object")
    scores = value.get("scores") or {}
    if not isinstance(scores, dict):
        _fail("selection.scores", "must be an object")
    for key, score in scores.items():
        if not (isinstance(key, str) and key.isdigit() and len(key) <= 4):
            _fail(f"selection.scores.{key}", "keys must be numbers of segments")
        if score is not None:
            _finite(score, f"selection.scores.{key}")


def _state(state: dict[str, Any]) -> None:
    params = state.get("params")
    _options(params, "params")
    _options(state.get("options"), "options")
    _, width = _preprocessor(state.get("preprocessor"))
    algorithm = state.get("algorithm")
    if algorithm not in ("kmeans", "gmm"):
        _fail("algorithm", "must be kmeans or gmm")
    k = state.get("n_clusters")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= _MAX_SEGMENTS:
        _fail("n_clusters", f"must be an integer between 1 and {_MAX_SEGMENTS}")
    _array(state.get("centers"), "centers", (k, width))
    _weights(state.get("weights"), "weights", k, positive=algorithm == "gmm")
    _finite(state.get("sigma2"), "sigma2", positive=True)
    _selection(state.get("selection"))
    evidence = state.get("algorithm_evidence")
    if evidence is not None and not isinstance(evidence, dict):
        _fail("algorithm_evidence", "must be an object")
    if algorithm == "gmm":
        _mixture(state.get("gmm"), k, width)


def check_model_state(state: dict[str, Any], where: str) -> None:
    """Raise :class:`ModelFileError` unless ``state`` is a complete, consistent model.

    Parameters
    ----------
    state : dict
        The decoded model file (format header already checked).
    where : str
        The file's name, for the message.

    Raises
    ------
    ModelFileError
        Naming the first invalid entry (``gmm.means: has shape (4, 66), expected (4, 16)``).
    """
    try:
        _state(state)
    except _Bad as exc:
        raise ModelFileError(f"{where} is a damaged segengine model file ({exc}).") from None

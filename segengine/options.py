"""The options of a segmentation, validated once for the request contract and the estimator alike.

A declarative table (name -> rule) keeps every option's type, range and default in one place, in
the spirit of scikit-learn's ``_parameter_constraints``; snake_case and camelCase are both accepted.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, fields
from typing import Any, Mapping

from segengine import config
from segengine.errors import ValidationError
from segengine.text.error_messages import error_text

__all__ = ["SegmentationOptions", "parse_options", "camel_case", "OPTION_NAMES"]


@dataclass(frozen=True)
class SegmentationOptions:
    """Validated options of one segmentation (SPEC section 2, Options)."""

    n_clusters: int | None = None
    k_min: int = 2
    k_max: int = 10
    algorithm: str = "auto"
    covariance_type: str = "full"
    features: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    id_field: str = "id"
    scaling: str = "auto"
    max_categories: int = config.DEFAULT_MAX_CATEGORIES
    random_state: int = 0
    silhouette: str = "auto"
    max_records: int = config.DEFAULT_MAX_RECORDS
    time_budget_ms: int | None = None
    n_init: int | None = None  # None: restarts by data size (selection.auto_n_init)
    # field -> business role, as (field, role) pairs in the caller's order (a dict is accepted
    # and converted, so a frozen options object stays hashable); see segengine.roles.
    roles: tuple[tuple[str, str], ...] = ()
    naming: str = "archetype"

    def __post_init__(self) -> None:
        if isinstance(self.roles, Mapping):
            object.__setattr__(self, "roles", tuple((str(k), str(v)) for k, v in self.roles.items()))
        elif self.roles is None:
            object.__setattr__(self, "roles", ())
        else:
            object.__setattr__(self, "roles", tuple((str(k), str(v)) for k, v in self.roles))

    def to_dict(self) -> dict[str, Any]:
        """Return the options as a JSON-ready dict (snake_case keys)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "roles":
                out[f.name] = dict(value)
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


_CHOICES = {
    "algorithm": ("auto", "kmeans", "gmm"),
    "covariance_type": ("full", "diag", "tied", "spherical"),
    "scaling": ("auto", "standard", "robust", "minmax", "none"),
    "silhouette": ("auto", "exact", "sampled"),
    "naming": ("archetype", "generic"),
}
# (minimum, maximum) of the integer options; None = unbounded.
_INT_RANGES = {
    "k_min": (2, 1000),
    "k_max": (2, 1000),
    "max_categories": (1, 10_000),
    "random_state": (0, 2**32 - 1),
    "max_records": (3, 10_000_000),
    "time_budget_ms": (1, None),
    "n_init": (1, 100),
    "n_clusters": (2, 1000),
}
OPTION_NAMES = tuple(f.name for f in fields(SegmentationOptions))
# Listed option problems at most (as data errors are capped in segengine.table); the rest are counted.
MAX_DETAILS = 100


def camel_case(name: str) -> str:
    """Return the camelCase spelling of a snake_case name (``k_max`` -> ``kMax``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_ALIASES = {name: name for name in OPTION_NAMES}
_ALIASES.update({camel_case(name): name for name in OPTION_NAMES})


def canonical_option_name(key: str) -> str:
    """The snake_case name of an option spelled either way (unknown names come back as given)."""
    return _ALIASES.get(key, key)


def _as_int(value: Any) -> int | None:
    """Integers, and floats with an integral value (JSON writers emit ``5.0``); never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def same_value(a: Any, b: Any) -> bool:
    """Whether two values given under both spellings of a name agree; values that cannot be
    compared (nested too deeply, arrays) count as different, never as a failure."""
    try:
        return bool(a == b)
    except (RecursionError, ValueError, TypeError):
        return False


def parse_options(
    options: Any, *, language: str = "en", prefix: str = "options."
) -> SegmentationOptions:
    """Validate a mapping of options into :class:`SegmentationOptions`.

    Parameters
    ----------
    options : mapping or None
        Options in snake_case or camelCase. ``None`` means all defaults.
    language : str
        Language of the error sentences.
    prefix : str
        Prefix of the paths in ``details`` (``"options."`` for the request contract, ``""`` for
        the estimator's keyword arguments).

    Returns
    -------
    SegmentationOptions

    Raises
    ------
    ValidationError
        Naming every offending option by its path, e.g. ``options.k_max``.
    """
    if options is None:
        return SegmentationOptions()
    if not isinstance(options, Mapping):
        raise ValidationError(
            error_text(language, "options_invalid"),
            {prefix.rstrip(".") or "options": error_text(language, "option_object")},
        )
    details: dict[str, str] = {}
    values: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    hidden = 0
    for raw_key, value in options.items():
        if len(details) >= MAX_DETAILS:
            hidden += 1  # listed like data errors: the first MAX_DETAILS and a count, no more work
            continue
        key = str(raw_key)
        name = _ALIASES.get(key)
        path = f"{prefix}{key}"
        if name is None:
            hint = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.75)
            details[path] = (
                error_text(language, "unknown_option_hint", name=key, hint=hint[0])
                if hint
                else error_text(language, "unknown_option", name=key)
            )
            continue
        if name in values and not same_value(values[name], value):
            other = next(str(k) for k in options if _ALIASES.get(str(k)) == name and str(k) != key)
            details[path] = error_text(language, "conflicting_spellings", a=other, b=key)
            continue
        if name == "roles":
            role_problems = _check_roles(value, language, path)
            if role_problems:
                details.update(role_problems)
                continue
        problem = _check_one(name, value, language)
        if problem is not None:
            details[path] = problem
            continue
        values[name] = _coerce(name, value)
        spelled[name] = key

    if not details:
        k_min = values.get("k_min", 2)
        k_max = values.get("k_max", 10)
        if k_min > k_max:
            key = spelled["k_min"] if "k_min" in values else spelled["k_max"]  # the caller's spelling
            details[f"{prefix}{key}"] = error_text(
                language, "option_kmin_kmax", k_min=k_min, k_max=k_max
            )
    if hidden:
        details[prefix.rstrip(".") or "options"] = error_text(language, "more_details", n=hidden)
    if details:
        raise ValidationError(error_text(language, "options_invalid"), details)
    return SegmentationOptions(**values)


def _check_one(name: str, value: Any, language: str) -> str | None:
    """Return the error sentence for one option value, or None when it is acceptable."""
    if name == "n_clusters":
        if value is None or value == "auto":
            return None
        return _check_int(name, value, language)
    if name in ("time_budget_ms", "n_init"):
        if value is None or (name == "n_init" and value == "auto"):
            return None
        return _check_int(name, value, language)
    if name in _CHOICES:
        if isinstance(value, str) and value.lower() in _CHOICES[name]:
            return None
        return error_text(
            language, "option_choice", name=name, choices=", ".join(_CHOICES[name])
        )
    if name in _INT_RANGES:
        return _check_int(name, value, language)
    if name == "id_field":
        return None if isinstance(value, str) and value else error_text(
            language, "option_string", name=name
        )
    if name == "roles":
        return None  # checked per field by _check_roles
    if name in ("features", "exclude"):
        if name == "features" and value is None:
            return None
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return None
        return error_text(language, "option_list", name=name)
    return None  # pragma: no cover - every option has a rule above


def _check_roles(value: Any, language: str, path: str) -> dict[str, str]:
    """Problems of the ``roles`` option, each at its own path (``options.roles.spend``)."""
    from segengine.roles import ROLES

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return {path: error_text(language, "option_roles_object")}
    out = {}
    for field_name, role in value.items():
        if not isinstance(field_name, str) or not isinstance(role, str) or role.lower() not in ROLES:
            out[f"{path}.{field_name}"] = error_text(
                language, "option_role_choice", name=str(field_name), choices=", ".join(ROLES))
    return out


def _check_int(name: str, value: Any, language: str) -> str | None:
    lo, hi = _INT_RANGES[name]
    as_int = _as_int(value)
    if as_int is not None and (lo is None or as_int >= lo) and (hi is None or as_int <= hi):
        return None
    if hi is None:
        bounds = error_text(language, "option_int_range_min", min=lo)
    else:
        bounds = error_text(language, "option_int_range_between", min=lo, max=hi)
    return error_text(language, "option_int", name=name, range=bounds)


def _coerce(name: str, value: Any) -> Any:
    if name == "n_clusters":
        return None if value is None or value == "auto" else _as_int(value)
    if name in ("time_budget_ms", "n_init"):
        return None if value is None or value == "auto" else _as_int(value)
    if name in _CHOICES:
        return value.lower()
    if name in _INT_RANGES:
        return _as_int(value)
    if name in ("features", "exclude"):
        return None if value is None else tuple(value)
    if name == "roles":
        return () if value is None else tuple((k, v.lower()) for k, v in value.items())
    return value


# -- the estimator's random_state: None / int / RandomState (issue #15) --------------------------


def seed_from_random_state(random_state: Any) -> Any:
    """The integer seed of a fit, as scikit-learn estimators accept ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        None draws a seed from fresh OS entropy; a RandomState draws one from its stream (once
        per fit, so refitting with the same RandomState object moves on, as in scikit-learn);
        a numpy integer becomes a Python int. Anything else is returned unchanged for
        :func:`parse_options` to judge (``random_state`` must be an integer in its range).

    Returns
    -------
    int or the value as given
    """
    import numpy as np

    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**32 - 1, dtype=np.int64))
    if isinstance(random_state, np.integer):
        return int(random_state)
    return random_state

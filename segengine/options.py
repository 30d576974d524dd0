"""The options of a segmentation: one table, from which every spelling and default derives.

:data:`OPTIONS` holds one :class:`Option` per option (name, default, accepted values, help sentence,
whether it applies when scoring with a fitted model), in the spirit of scikit-learn's
``_parameter_constraints``. From it derive: the fields and defaults of
:class:`SegmentationOptions`, the validation of the request's ``options`` and of the estimator's
keyword arguments (:func:`parse_options`), :data:`OPTION_NAMES`, the camelCase aliases,
``Segmenter``'s parameters and signature defaults (:data:`DEFAULTS`), the ``--options`` help of the
command line and the OpenAPI document of the service.

Errors carry message keys (:class:`~segengine.text.msg.Msg`); the contract layer renders them in
the caller's language.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from segengine import config
from segengine.errors import ValidationError
from segengine.text.msg import Msg

__all__ = [
    "Option",
    "OPTIONS",
    "DEFAULTS",
    "OPTION_NAMES",
    "WITH_MODEL",
    "SegmentationOptions",
    "parse_options",
    "camel_case",
    "canonical_option_name",
    "option_help",
]


def _as_int(value: Any) -> int | None:
    """Integers, and floats with an integral value (JSON writers emit ``5.0``); never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


@dataclass(frozen=True)
class Option:
    """One option of a segmentation.

    Attributes
    ----------
    name : str
        snake_case name (also accepted in camelCase).
    default : object
        The default as a caller writes it (``"auto"``, ``10``, ``None``): ``Segmenter``'s signature
        default and the value an absent request option takes.
    kind : str
        ``"int"``, ``"choice"``, ``"string"`` (non-empty), ``"names"`` (list of field names) or
        ``"roles"`` (field -> role).
    choices : tuple of str
        Accepted values of a ``"choice"`` option (any case).
    low, high : int or None
        Bounds of an ``"int"`` option (None: unbounded).
    auto : bool
        ``"auto"`` and null are accepted and mean "chosen by segengine" (parsed to None).
    nullable : bool
        null is accepted (parsed to None).
    with_model : bool
        Applies when records are scored with a fitted model (others are a 422 there).
    annotation : str
        Type of the parsed value in :class:`SegmentationOptions`.
    """

    name: str
    default: Any
    kind: str
    annotation: str
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    auto: bool = False
    nullable: bool = False
    with_model: bool = False

    @property
    def help_key(self) -> str:
        """Catalogue key of the option's help sentence (``opt.<name>``)."""
        return f"opt.{self.name}"

    def check(self, value: Any) -> Msg | None:
        """Why ``value`` is not acceptable, or None when it is (roles are checked per field).

        Parameters
        ----------
        value : object
            The value as the caller gave it.

        Returns
        -------
        Msg or None
            The problem, as a message key and parameters.
        """
        if self.auto and (value is None or value == "auto"):
            return None
        if self.nullable and value is None:
            return None
        if self.kind == "int":
            as_int = _as_int(value)
            if as_int is not None and (self.low is None or as_int >= self.low) and (
                self.high is None or as_int <= self.high
            ):
                return None
            if self.high is None:
                bounds = Msg("option_int_range_min", min=self.low)
            else:
                bounds = Msg("option_int_range_between", min=self.low, max=self.high)
            return Msg("option_int", name=self.name, range=bounds)
        if self.kind == "choice":
            if isinstance(value, str) and value.lower() in self.choices:
                return None
            return Msg("option_choice", name=self.name, choices=", ".join(self.choices))
        if self.kind == "string":
            return None if isinstance(value, str) and value else Msg("option_string", name=self.name)
        if self.kind == "names":
            if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
                return None
            return Msg("option_list", name=self.name)
        return None  # roles: _check_roles

    def parse(self, value: Any) -> Any:
        """The validated value as :class:`SegmentationOptions` holds it.

        Parameters
        ----------
        value : object
            A value :meth:`check` accepts.

        Returns
        -------
        object
            ``"auto"`` and null as None, integers as int, choices in lower case, lists as tuples,
            roles as (field, role) pairs.
        """
        if (self.auto and (value is None or value == "auto")) or (self.nullable and value is None):
            return None
        if self.kind == "int":
            return _as_int(value)
        if self.kind == "choice":
            return value.lower()
        if self.kind == "names":
            return tuple(value)
        if self.kind == "roles":
            return () if value is None else tuple((k, v.lower()) for k, v in value.items())
        return value


_INT = "int"
OPTIONS: tuple[Option, ...] = (
    Option("n_clusters", "auto", _INT, "int | None", low=2, high=1000, auto=True),
    Option("k_min", 2, _INT, "int", low=2, high=1000),
    Option("k_max", 10, _INT, "int", low=2, high=1000),
    Option("algorithm", "auto", "choice", "str", choices=("auto", "kmeans", "gmm")),
    Option("covariance_type", "full", "choice", "str", choices=("full", "diag", "tied", "spherical")),
    Option("features", None, "names", "tuple[str, ...] | None", nullable=True),
    Option("exclude", (), "names", "tuple[str, ...]"),
    Option("id_field", "id", "string", "str", with_model=True),
    Option("scaling", "auto", "choice", "str", choices=("auto", "standard", "robust", "minmax", "none")),
    Option("max_categories", config.DEFAULT_MAX_CATEGORIES, _INT, "int", low=1, high=10_000),
    Option("random_state", 0, _INT, "int", low=0, high=2**32 - 1),
    Option("silhouette", "auto", "choice", "str", choices=("auto", "exact", "sampled")),
    Option("max_records", config.DEFAULT_MAX_RECORDS, _INT, "int", low=3, high=10_000_000, with_model=True),
    Option("time_budget_ms", None, _INT, "int | None", low=1, nullable=True),
    # None (auto): restarts by data size (selection.auto_n_init)
    Option("n_init", "auto", _INT, "int | None", low=1, high=100, auto=True),
    # field -> business role, kept as (field, role) pairs in the caller's order so that the frozen
    # options stay hashable; see segengine.roles
    Option("roles", None, "roles", "tuple[tuple[str, str], ...]"),
    Option("naming", "archetype", "choice", "str", choices=("archetype", "generic")),
)

_BY_NAME = {option.name: option for option in OPTIONS}
OPTION_NAMES = tuple(option.name for option in OPTIONS)
#: Every option's default as a caller writes it (``Segmenter``'s signature defaults).
DEFAULTS: dict[str, Any] = {option.name: option.default for option in OPTIONS}
#: The options that apply when records are scored with a fitted model (the others are a 422 there).
WITH_MODEL = frozenset(option.name for option in OPTIONS if option.with_model)
# Listed option problems at most (as data errors are capped in segengine.table); the rest are counted.
MAX_DETAILS = 100
# Choices and integer ranges by name (read by the service's OpenAPI document).
_CHOICES = {o.name: o.choices for o in OPTIONS if o.kind == "choice"}
_INT_RANGES = {o.name: (o.low, o.high) for o in OPTIONS if o.kind == "int"}


def _post_init(self: Any) -> None:
    # A dict (or None) of roles is accepted and kept as pairs.
    roles = self.roles
    if isinstance(roles, Mapping):
        object.__setattr__(self, "roles", tuple((str(k), str(v)) for k, v in roles.items()))
    elif roles is None:
        object.__setattr__(self, "roles", ())
    else:
        object.__setattr__(self, "roles", tuple((str(k), str(v)) for k, v in roles))


def _to_dict(self: Any) -> dict[str, Any]:
    """Return the options as a JSON-ready dict (snake_case keys)."""
    out = {}
    for f in fields(self):
        value = getattr(self, f.name)
        if f.name == "roles":
            out[f.name] = dict(value)
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


SegmentationOptions = make_dataclass(
    "SegmentationOptions",
    [(o.name, o.annotation, field(default=o.parse(o.default))) for o in OPTIONS],
    frozen=True,
    namespace={"__post_init__": _post_init, "to_dict": _to_dict},
)
SegmentationOptions.__module__ = __name__
SegmentationOptions.__doc__ = (
    "Validated options of one segmentation (SPEC section 2, Options), one field per row of "
    ":data:`segengine.options.OPTIONS`; ``auto`` is held as None.\n\n"
    "Fields: " + ", ".join(OPTION_NAMES) + "."
)


def camel_case(name: str) -> str:
    """Return the camelCase spelling of a snake_case name (``k_max`` -> ``kMax``).

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_ALIASES = {name: name for name in OPTION_NAMES}
_ALIASES.update({camel_case(name): name for name in OPTION_NAMES})


def canonical_option_name(key: str) -> str:
    """The snake_case name of an option spelled either way (unknown names come back as given).

    Parameters
    ----------
    key : str

    Returns
    -------
    str
    """
    return _ALIASES.get(key, key)


def option_help(language: str = "en") -> list[tuple[str, Any, str]]:
    """Every option with its default and help sentence, in table order.

    Parameters
    ----------
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    list of (name, default, sentence)
    """
    from segengine.text.catalog import text

    return [(o.name, o.default, text(language, o.help_key)) for o in OPTIONS]


def same_value(a: Any, b: Any) -> bool:
    """Whether two values given under both spellings of a name agree.

    Values that cannot be compared (nested too deeply, arrays) count as different, never as a
    failure.
    """
    try:
        return bool(a == b)
    except (RecursionError, ValueError, TypeError):
        return False


def parse_options(options: Any, *, prefix: str = "options.") -> SegmentationOptions:
    """Validate a mapping of options into :class:`SegmentationOptions`.

    Parameters
    ----------
    options : mapping or None
        Options in snake_case or camelCase. ``None`` means all defaults.
    prefix : str
        Prefix of the paths in ``details`` (``"options."`` for the request contract, ``""`` for
        the estimator's keyword arguments).

    Returns
    -------
    SegmentationOptions

    Raises
    ------
    ValidationError
        Naming every offending option by its path, e.g. ``options.k_max`` (sentences as message
        keys: the contract layer renders them).
    """
    if options is None:
        return SegmentationOptions()
    if not isinstance(options, Mapping):
        raise ValidationError(Msg("options_invalid"), {prefix.rstrip(".") or "options": Msg("option_object")})
    details: dict[str, Msg] = {}
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
                Msg("unknown_option_hint", name=key, hint=hint[0]) if hint else Msg("unknown_option", name=key)
            )
            continue
        if name in values and not same_value(values[name], value):
            other = next(str(k) for k in options if _ALIASES.get(str(k)) == name and str(k) != key)
            details[path] = Msg("conflicting_spellings", a=other, b=key)
            continue
        option = _BY_NAME[name]
        if option.kind == "roles":
            role_problems = _check_roles(value, path)
            if role_problems:
                details.update(role_problems)
                continue
        problem = option.check(value)
        if problem is not None:
            details[path] = problem
            continue
        values[name] = option.parse(value)
        spelled[name] = key

    if not details:
        k_min = values.get("k_min", DEFAULTS["k_min"])
        k_max = values.get("k_max", DEFAULTS["k_max"])
        if k_min > k_max:
            key = spelled["k_min"] if "k_min" in values else spelled["k_max"]  # the caller's spelling
            details[f"{prefix}{key}"] = Msg("option_kmin_kmax", k_min=k_min, k_max=k_max)
    if hidden:
        details[prefix.rstrip(".") or "options"] = Msg("more_details", n=hidden)
    if details:
        raise ValidationError(Msg("options_invalid"), details)
    return SegmentationOptions(**values)


def _check_roles(value: Any, path: str) -> dict[str, Msg]:
    """Problems of the ``roles`` option, each at its own path (``options.roles.spend``)."""
    from segengine.roles import ROLES

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return {path: Msg("option_roles_object")}
    out = {}
    for field_name, role in value.items():
        if not isinstance(field_name, str) or not isinstance(role, str) or role.lower() not in ROLES:
            out[f"{path}.{field_name}"] = Msg("option_role_choice", name=str(field_name), choices=", ".join(ROLES))
    return out


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

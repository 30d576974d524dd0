"""Preprocessing: typed columns in, a numeric matrix out, every step remembered and invertible.

The fitted :class:`Preprocessor` stores, per field, what it did (imputation value, one-hot
levels, log1p, centre and scale, the reference date) so that

* profiles are reported in the caller's original units (profiling reads the original columns),
* new records are transformed exactly like the training records (``Segmenter.predict``),
* the whole thing is saved as plain JSON (no pickle).

Choices (also in the README): numeric fields are imputed with their median; a non-negative field
whose skewness exceeds ``config.SKEW_THRESHOLD`` is log1p-transformed under ``scaling="auto"``;
numeric fields are then standardized ("auto"/"standard"), robust-scaled (median/IQR), min-max
scaled or left as they are ("none"). Binary fields stay 0/1 (missing -> observed mean) and
categorical levels are one-hot columns scaled by 1/sqrt(2) (missing -> all zeros), so that a change
of level costs a distance of 1 -- about one standard deviation of a numeric field.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from segengine import config
from segengine.concurrency import map_two_threads
from segengine.errors import ValidationError
from segengine.options import SegmentationOptions
from segengine.table import RawColumn, Table
from segengine.text.msg import Msg

__all__ = ["FieldTransform", "Preprocessor"]

_ONE_HOT_WEIGHT = 1.0 / math.sqrt(2.0)
# Largest magnitude of a scaled value: n * d * MAX**2 stays far below the float64 maximum.
_MAX_SCALED = 1e100

Notice = tuple  # (catalogue key, params): rendered in the caller's language at report time


@dataclass
class FieldTransform:
    """What the preprocessor does to one field. Plain data: saved as JSON as it is."""

    name: str
    kind: str
    used: bool
    reason: str | None = None  # why a field is not used: excluded, high_cardinality, constant, empty
    impute: float | None = None
    log1p: bool = False
    center: float = 0.0
    scale: float = 1.0
    categories: list[str] = field(default_factory=list)
    date_reference: str | None = None
    n_distinct: int | None = None

    @property
    def width(self) -> int:
        """Number of matrix columns this field produces."""
        if not self.used:
            return 0
        return len(self.categories) if self.kind == "categorical" else 1


@dataclass(frozen=True)
class _NumericSummary:
    """The statistics a numeric, date or binary field's transform is decided from."""

    observed: int
    impute: float = math.nan
    constant: bool = False
    log1p: bool = False
    center: float = 0.0
    scale: float = 0.0  # not positive or not finite: no usable spread


def _numeric_summary(values: np.ndarray, kind: str, scaling: str) -> _NumericSummary:
    """Imputation value, log1p, centre and scale of one field (pure: safe on any thread).

    Parameters
    ----------
    values : numpy.ndarray of shape (n,)
        The field's values, NaN where missing.
    kind : {"numeric", "binary"}
        Dates count as numeric (days since their reference).
    scaling : str
        The ``scaling`` option.

    Returns
    -------
    _NumericSummary
    """
    observed = values[~np.isnan(values)]
    if observed.size == 0:
        return _NumericSummary(0)
    if kind == "binary":
        impute = float(observed.mean())
    else:
        # In power-of-two units: the median of two values near 1.7e308 averages them (overflow).
        unit = _magnitude_unit(observed)
        impute = float(np.median(observed / unit) * unit)
    if observed.min() == observed.max():
        return _NumericSummary(observed.size, impute, constant=True)
    if kind == "binary":
        return _NumericSummary(observed.size, impute)
    x = observed
    log1p = False
    unit = _magnitude_unit(x)
    if scaling == "auto" and x.min() >= 0.0 and _skewness(x / unit) > config.SKEW_THRESHOLD:
        log1p = True
        x = np.log1p(x)
        unit = 1.0
    # Statistics of extreme magnitudes (1e300, 1e-300) are taken in units of a power of two
    # (exact) so that squares neither overflow nor underflow; unit is 1 for ordinary data.
    x = x / unit
    if scaling in ("auto", "standard"):
        center, scale = float(x.mean()), float(x.std())
    elif scaling == "robust":
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        center, scale = float(med), float(q3 - q1)
        if scale <= 0.0:
            scale = float(x.std())
    elif scaling == "minmax":
        center, scale = float(x.min()), float(x.max() - x.min())
    else:
        center, scale = 0.0, 1.0  # times unit: only fields beyond 1e100 / below 1e-100 change
    # A spread beyond the float range (minmax/robust of +-1.7e308) is capped, not dropped.
    center, scale = center * unit, min(scale * unit, sys.float_info.max)
    return _NumericSummary(observed.size, impute, False, log1p, center, scale)


def _numeric_summaries(table: Table, scaling: str) -> dict[str, _NumericSummary]:
    """`_numeric_summary` of every numeric, date and binary field, two fields at a time when large.

    The fields are independent and numpy's sorts and reductions release the GIL: at 250k x 20
    the medians alone took 60 ms on one core, 35 ms on two.
    """
    cols = [c for c in table.columns if c.kind in ("numeric", "date", "binary")]

    errors = np.geterr()  # numpy's error settings are per thread: the helper gets the caller's

    def one(col: RawColumn) -> _NumericSummary:
        with np.errstate(**errors):
            return _numeric_summary(col.values, "binary" if col.kind == "binary" else "numeric", scaling)

    if len(cols) > 1 and table.n_rows * len(cols) >= config.FIELD_THREADS_MIN_VALUES:
        return {c.name: s for c, s in zip(cols, map_two_threads(one, cols))}
    return {c.name: one(c) for c in cols}


def _skewness(x: np.ndarray) -> float:
    m = x.mean()
    d = x - m
    var = float(np.dot(d, d)) / x.size
    if var <= 0.0:
        return 0.0
    return float(np.dot(d * d, d) / x.size / var**1.5)


def _magnitude_unit(x: np.ndarray) -> float:
    """A power of two near the largest magnitude of ``x`` when its powers would overflow, else 1.0.

    The scale applies when the squares or cubes of ``x`` would overflow or underflow (beyond
    1e100 or below 1e-100).
    """
    top = float(np.max(np.abs(x)))
    if top > 1e100 or 0.0 < top < 1e-100:
        return math.ldexp(1.0, math.frexp(top)[1] - 1)  # 2**e <= top: never overflows
    return 1.0


def _levels(values: np.ndarray) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Distinct non-null levels ordered by frequency (desc) then text, and each row's code (-1 = missing).

    Counted in a dict of the caller's own string objects: a fixed-width numpy string array would
    take (records x longest value x 4) bytes, 373 GiB for one 1,000,000-character value among
    100,000 records.
    """
    counts_by_level = Counter(values.tolist())
    counts_by_level.pop(None, None)
    ordered = sorted(counts_by_level.items(), key=lambda item: (-item[1], item[0]))
    rank = {level: i for i, (level, _) in enumerate(ordered)}
    codes = np.fromiter(map(rank.get, values.tolist(), itertools.repeat(-1)), dtype=np.int64, count=values.size)
    counts = np.fromiter((c for _, c in ordered), dtype=np.int64, count=len(ordered))
    return counts, [str(level) for level, _ in ordered], codes


def model_width_limit(n_rows: int) -> int:
    """Most model columns allowed for ``n_rows`` records (the cost model, README)."""
    return min(config.MAX_MODEL_COLUMNS, max(1, config.MAX_MODEL_CELLS // max(n_rows, 1)))


def _check_width(width: int, n_rows: int) -> None:
    # Engines and silhouettes cost records x columns per segment and the matrix is dense, so a
    # wide one-hot encoding (max_categories 10000 on a 3,000-level field) is refused up front.
    limit = model_width_limit(n_rows)
    if width > limit:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("too_wide", n=width, rows=n_rows, max=limit)},
        )


class Preprocessor:
    """Fit-and-transform from a :class:`~segengine.table.Table` to a float64 matrix.

    Parameters
    ----------
    options : SegmentationOptions
        Uses ``features``, ``exclude``, ``scaling`` and ``max_categories``.
    """

    def __init__(self, options: SegmentationOptions | None = None) -> None:
        self.options = options or SegmentationOptions()

    # -- fitting ---------------------------------------------------------------------------
    def fit_transform(self, table: Table) -> np.ndarray:
        """Learn every field's transform from ``table`` and return the matrix.

        Parameters
        ----------
        table : Table
            Typed columns of the training records.

        Returns
        -------
        numpy.ndarray of shape (n_records, n_columns)
            C-contiguous float64.

        Raises
        ------
        ValidationError
            Unknown names in ``features``/``exclude``, or no usable feature field.
        """
        opts = self.options
        names = [c.name for c in table.columns]
        details = {}
        for key in ("features", "exclude"):
            wanted = getattr(opts, key) or ()
            for i, name in enumerate(wanted):
                if key == "exclude" and name == opts.id_field:
                    continue  # the id is never a feature: excluding it is a harmless no-op
                if name == opts.id_field:
                    details[f"options.{key}.{i}"] = Msg("id_field_in_features", name=name)
                elif name not in names:
                    details[f"options.{key}.{i}"] = Msg("unknown_field", name=name)
        if details:
            raise ValidationError(Msg("options_invalid"), details)

        selected = set(opts.features) if opts.features is not None else None
        excluded = set(opts.exclude)
        self.fields_: list[FieldTransform] = []
        self.notices_: list[Notice] = []
        summaries = _numeric_summaries(table, self.options.scaling)
        for col in table.columns:
            reason = None
            if col.name in excluded or (selected is not None and col.name not in selected):
                reason = "excluded"
            self.fields_.append(self._fit_field(col, reason, summaries.get(col.name)))
        if not any(f.used for f in self.fields_):
            raise ValidationError(
                Msg("validation_failed"),
                {"data": Msg("no_features")},
            )
        _check_width(sum(f.width for f in self.fields_), table.n_rows)
        return self.transform(table)

    def _fit_field(self, col: RawColumn, reason: str | None, summary: _NumericSummary | None = None) -> FieldTransform:
        kind = "numeric" if col.kind == "date" else col.kind
        ft = FieldTransform(name=col.name, kind=col.kind, used=reason is None, reason=reason,
                            date_reference=col.date_reference)
        if col.kind == "empty":
            ft.used, ft.reason = False, reason or "empty"
            if reason is None:
                self.notices_.append(("warn_empty", {"field": col.name}))
            return ft
        if col.kind == "categorical":
            # Distinct levels first: ordering them (a sort) is only needed for a used field.
            ft.n_distinct = len(set(col.values.tolist()) - {None})
            if not ft.used:
                return ft
            if ft.n_distinct > self.options.max_categories:
                ft.used, ft.reason = False, "high_cardinality"
                self.notices_.append(("warn_high_cardinality", {
                    "field": col.name, "n": ft.n_distinct, "max": self.options.max_categories}))
                return ft
            counts, levels, _ = _levels(col.values)
            if ft.used and len(levels) < 2:
                ft.used, ft.reason = False, "constant"
                self.notices_.append(("warn_constant", {"field": col.name}))
                return ft
            ft.categories = levels
            ft.scale = 1.0 if self.options.scaling == "none" else _ONE_HOT_WEIGHT
            if ft.used and col.n_missing:
                self.notices_.append(("warn_missing", {"field": col.name, "n": col.n_missing,
                                                       "how": "how_none"}))
            return ft

        stats = summary if summary is not None else _numeric_summary(col.values, kind, self.options.scaling)
        if stats.observed == 0:
            ft.used, ft.reason = False, reason or "empty"
            return ft
        ft.impute = stats.impute
        if ft.used and col.n_missing:
            self.notices_.append(("warn_missing", {
                "field": col.name, "n": col.n_missing,
                "how": "how_mean" if kind == "binary" else "how_median"}))
        if stats.constant:
            if ft.used:
                ft.used, ft.reason = False, "constant"
                self.notices_.append(("warn_constant", {"field": col.name}))
            return ft
        if kind == "binary":
            return ft  # stays 0/1: a change of state costs a distance of 1
        ft.log1p = stats.log1p
        if not (stats.scale > 0.0 and math.isfinite(stats.scale)):
            # Spread below float resolution relative to the values (e.g. 1e12 + tiny noise).
            if ft.used:
                ft.used, ft.reason = False, "constant"
                self.notices_.append(("warn_constant", {"field": col.name}))
            return ft
        ft.center, ft.scale = stats.center, stats.scale
        return ft

    # -- applying --------------------------------------------------------------------------
    @property
    def feature_names_out_(self) -> list[str]:
        """Names of the matrix columns (``channel=web`` for one-hot levels)."""
        out = []
        for f in self.fields_:
            if not f.used:
                continue
            if f.kind == "categorical":
                out.extend(f"{f.name}={c}" for c in f.categories)
            else:
                out.append(f.name)
        return out

    @property
    def used_fields_(self) -> list[str]:
        """Names of the fields that take part in finding the segments, in input order."""
        return [f.name for f in self.fields_ if f.used]

    def transform(self, table: Table) -> np.ndarray:
        """Apply the fitted transforms to ``table``.

        Fields unknown at fit time are ignored; a used field absent from ``table`` is treated as
        entirely missing (imputed); unseen categorical levels encode like a missing level.

        Parameters
        ----------
        table : Table
            Typed columns (the same field kinds as at fit time).

        Returns
        -------
        numpy.ndarray of shape (n_records, n_columns)
        """
        n = table.n_rows
        by_name = {c.name: c for c in table.columns}
        width = sum(f.width for f in self.fields_)
        # Built transposed, one contiguous row per matrix column, then transposed once: storing
        # each field as a strided column of the (n, width) matrix cost twice as much at 250k.
        XT = np.zeros((width, n), dtype=np.float64)
        j = 0
        for f in self.fields_:
            if not f.used:
                continue
            col = by_name.get(f.name)
            if f.kind == "categorical":
                if col is not None and col.kind == "categorical":
                    lookup = {c: i for i, c in enumerate(f.categories)}
                    codes = np.fromiter((lookup.get(v, -1) for v in col.values), dtype=np.int64, count=n)
                    rows = np.flatnonzero(codes >= 0)
                    XT[j + codes[rows], rows] = f.scale
                j += f.width
                continue
            if col is None or col.kind in ("empty", "categorical"):
                values = np.full(n, f.impute, dtype=np.float64)
            else:
                values = np.where(np.isnan(col.values), f.impute, col.values)
            if f.kind == "binary":
                XT[j] = values
            else:
                if f.log1p:
                    values = np.log1p(np.maximum(values, 0.0))
                with np.errstate(over="ignore", invalid="ignore"):
                    z = (values - f.center) / f.scale
                    if not np.isfinite(z).all():
                        # values - center overflowed (values near +-1.8e308): divide first; what
                        # still overflows (a far new record over a small scale) is clipped below.
                        z = np.nan_to_num(values / f.scale - f.center / f.scale, nan=0.0)
                # A far outlier (robust scaling, or a new record at predict time) must not make
                # squared distances overflow in the engines.
                np.clip(z, -_MAX_SCALED, _MAX_SCALED, out=XT[j])
            j += 1
        return np.ascontiguousarray(XT.T)

    # -- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON state of the fitted preprocessor."""
        return {"options": self.options.to_dict(), "fields": [asdict(f) for f in self.fields_]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        opts = dict(state["options"])
        for key in ("features", "exclude"):
            if opts.get(key) is not None:
                opts[key] = tuple(opts[key])
        pre = cls(SegmentationOptions(**opts))
        pre.fields_ = [FieldTransform(**f) for f in state["fields"]]
        pre.notices_ = []
        return pre

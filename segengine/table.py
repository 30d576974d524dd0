"""From the caller's records (list of dicts, pandas DataFrame or 2-D array) to typed columns.

A field's type is inferred from its non-null values across all records (SPEC section 2): numbers
-> numeric, booleans -> binary, strings -> categorical, ISO-8601 date strings -> numeric "days
before the latest date". Values that disagree with the field's type are reported by their exact
path (``data.3.spend``). Nothing here modifies the caller's objects.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from segengine import config
from segengine.columns_fast import numeric_fields
from segengine.errors import InvalidRequestError, ValidationError
from segengine.text.msg import Msg

__all__ = ["RawColumn", "Table", "check_records_are_objects", "table_from_records", "table_from_frame",
           "table_from_array"]

# A string field is a date field when at least this share of its values look like ISO dates.
DATE_SHARE = 0.9

# Cap on listed value errors: a 250k-record payload with one bad column must not produce a
# 250k-entry error body.
MAX_DETAILS = 100

# Integer ids must be smaller than this in magnitude (a 30-digit id is an error, not an id).
_MAX_INT_ID = 10**30

_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass
class RawColumn:
    """One feature field, typed, in the caller's units.

    Attributes
    ----------
    name : str
        The field name as the caller wrote it.
    kind : str
        ``"numeric"``, ``"binary"``, ``"categorical"``, ``"date"`` or ``"empty"`` (no value at all).
    values : numpy.ndarray
        float64 with NaN for missing (numeric, binary as 0/1, date as days before ``date_reference``);
        object array of str with None for missing (categorical).
    n_missing : int
        Number of missing (null or absent) values.
    date_reference : str or None
        ISO text of the latest date, for date fields.
    """

    name: str
    kind: str
    values: np.ndarray
    n_missing: int
    date_reference: str | None = None


@dataclass
class Table:
    """Ids and typed columns of a batch of records."""

    ids: list[str]
    columns: list[RawColumn]
    id_from_index: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Number of records in the batch."""
        return len(self.ids)


class _Errors:
    """Collects path -> message, keeping the first MAX_DETAILS and counting the rest."""

    def __init__(self) -> None:
        self.details: dict[str, Msg] = {}
        self.hidden = 0

    def add(self, path: str, key: str, **values: Any) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details[path] = Msg(key, **values)
        else:
            self.hidden += 1

    def raise_if_any(self) -> None:
        if not self.details:
            return
        details = dict(self.details)
        if self.hidden:
            details["data"] = Msg("more_errors", n=self.hidden)
        raise ValidationError(Msg("validation_failed"), details)


def _value_class(v: Any) -> str:
    """Classify one JSON-like value: number, bool, str, none or other."""
    if v is None:
        return "none"
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Real):
        return "number"
    if isinstance(v, str):
        return "str"
    return "other"


def _kind_name(v: Any) -> Msg | str:
    """What a nested value is, said in the reader's language for arrays and objects."""
    if isinstance(v, (list, tuple)):
        return Msg("kind_list")
    if isinstance(v, dict):
        return Msg("kind_dict")
    return type(v).__name__


def _ids_from_records(
    records: Sequence[dict], id_field: str, errors: _Errors, raw: Sequence | None = None
) -> tuple[list[str], bool]:
    if raw is None:
        raw = [r.get(id_field) for r in records]
    # Fast path: all strings (or all plain ints) and no duplicate.
    types = set(map(type, raw))
    # Integer ids beyond _MAX_INT_ID are refused whatever the other ids are (the slow path
    # names them), so the fast path only takes integers inside that range.
    if types == {str} or (types == {int} and -_MAX_INT_ID < min(raw) and max(raw) < _MAX_INT_ID):
        ids = list(raw) if types == {str} else list(map(str, raw))
        if ids and len(set(ids)) == len(ids):
            return ids, False
    present = [v is not None for v in raw]
    if not any(present):
        return [str(i) for i in range(len(records))], True
    ids: list[str] = []
    first_seen: dict[str, int] = {}
    for i, v in enumerate(raw):
        path = f"data.{i}.{id_field}"
        if v is None:
            errors.add(path, "id_missing", field=id_field)
            ids.append("")
            continue
        if isinstance(v, str):
            text = v
        elif (isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
              and abs(int(v)) < _MAX_INT_ID):
            text = str(int(v))
        elif isinstance(v, float) and math.isfinite(v) and v.is_integer():
            text = str(int(v))
        else:
            errors.add(path, "id_type", field=id_field)
            ids.append("")
            continue
        if text in first_seen:
            errors.add(path, "id_duplicate", value=text, first=f"data.{first_seen[text]}")
        else:
            first_seen[text] = i
        ids.append(text)
    return ids, False


def _numeric_from_list(
    name: str, col: list, types: set, errors: _Errors
) -> tuple[np.ndarray, int]:
    """Convert a list of numbers/None to float64 with NaN, reporting infinities by path."""
    has_none = type(None) in types
    try:
        if has_none:
            arr = np.array([np.nan if v is None else v for v in col], dtype=np.float64)
        else:
            arr = np.array(col, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        arr = np.empty(len(col), dtype=np.float64)
        for i, v in enumerate(col):
            try:
                arr[i] = np.nan if v is None else float(v)
            except (OverflowError, TypeError, ValueError):
                arr[i] = np.inf
    bad = np.isinf(arr)
    if bad.any():
        for i in np.flatnonzero(bad):
            errors.add(f"data.{i}.{name}", "must_be_finite", field=name)
    n_missing = int(np.isnan(arr).sum())
    return arr, n_missing


def _parse_dates(values: Sequence) -> tuple[np.ndarray, str, list[int]] | None:
    """Days before the latest date for a field of ISO-8601 strings, or None when it is not one.

    A field is a date field when at least ``DATE_SHARE`` of its values look like ISO dates; the
    others (and impossible dates such as 2024-02-30) come back as indices of bad values, so that
    one typo is reported at its path instead of turning the field into a categorical one.
    """
    present = [i for i, v in enumerate(values) if v is not None]
    if not present:
        return None
    looks = [i for i in present if _ISO_DATE.match(values[i])]
    if len(looks) < DATE_SHARE * len(present):
        return None
    bad = sorted(set(present) - set(looks))
    if not bad and all(len(values[i]) == 10 for i in looks):
        # Plain dates (the common case): numpy parses them in C.
        try:
            days = np.array([v if v is not None else "NaT" for v in values], dtype="datetime64[D]")
        except ValueError:
            days = None
        if days is not None and days[~np.isnat(days)].min() < np.datetime64("0001-01-01"):
            days = None  # year 0 and before: not ISO-8601 dates Python can represent
        if days is not None:
            stamps = days.astype(np.float64)
            stamps[np.isnat(days)] = np.nan
            latest = np.nanmax(stamps)
            return latest - stamps, str(days[np.nanargmax(stamps)]) + "T00:00:00", []
    stamps = np.full(len(values), np.nan)
    latest_dt = None
    for i in looks:
        v = values[i]
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00") if v.endswith("Z") else v)
            if dt.tzinfo is not None:
                dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):  # 2024-02-30; or past year 9999 once in UTC
            bad.append(i)
            continue
        stamps[i] = (dt - datetime(1970, 1, 1)).total_seconds() / 86400.0
        latest_dt = dt if latest_dt is None or dt > latest_dt else latest_dt
    if latest_dt is None:
        # Looks like a date field but no value is a possible date: every value is reported.
        return stamps, None, sorted(bad)
    latest = np.nanmax(stamps)
    # The reference is the latest date itself: rebuilding it from float days can step past year
    # 9999 ("9999-12-31T23:59:59.999999") and overflow.
    return latest - stamps, latest_dt.isoformat(), sorted(bad)


def _days(x: float):
    from datetime import timedelta

    return timedelta(days=float(x))


def _typed_column(name: str, col: list, errors: _Errors) -> RawColumn:
    """Infer one field's type from its values and convert it, reporting disagreeing values."""
    types = set(map(type, col))
    none_t = type(None)
    if not types <= {int, float, none_t}:
        col, types = _nan_as_missing(col, types)
    if types <= {int, float, none_t} and types != {none_t}:
        arr, n_missing = _numeric_from_list(name, col, types, errors)
        return RawColumn(name, "numeric", arr, n_missing)
    if types <= {bool, none_t} and types != {none_t}:
        arr = np.array([np.nan if v is None else float(v) for v in col], dtype=np.float64)
        return RawColumn(name, "binary", arr, int(np.isnan(arr).sum()))
    if types <= {str, none_t} and types != {none_t}:
        dates = _parse_dates(col)
        if dates is not None:
            arr, reference, bad = dates
            for i in bad:
                errors.add(f"data.{i}.{name}", "must_be_date", field=name)
            return RawColumn(name, "date", arr, int(np.isnan(arr).sum()), reference)
        arr = np.array(col, dtype=object)
        return RawColumn(name, "categorical", arr, int(sum(v is None for v in col)))
    if types == {none_t}:
        return RawColumn(name, "empty", np.full(len(col), np.nan), len(col))

    # Mixed or exotic types (numpy scalars, Decimal, nested values): classify value by value.
    classes = [_value_class(v) for v in col]
    counts = Counter(c for c in classes if c in ("number", "bool", "str"))
    for i, c in enumerate(classes):
        if c == "other":
            errors.add(
                f"data.{i}.{name}", "must_be_scalar", field=name,
                kind=_kind_name(col[i]),
            )
    if not counts:
        return RawColumn(name, "empty", np.full(len(col), np.nan), len(col))
    # The majority decides; ties prefer numeric, then categorical, then binary.
    order = {"number": 0, "str": 1, "bool": 2}
    expected = max(counts, key=lambda c: (counts[c], -order[c]))
    message = {"number": "must_be_number", "str": "must_be_string", "bool": "must_be_boolean"}
    for i, c in enumerate(classes):
        if c in ("number", "bool", "str") and c != expected:
            errors.add(f"data.{i}.{name}", message[expected], field=name)
    if expected == "number":
        # Raw numbers: _numeric_from_list reports an int beyond float range (10**400) by its path.
        clean = [v if c == "number" else None for v, c in zip(col, classes)]
        arr, n_missing = _numeric_from_list(name, clean, {none_t}, errors)
        return RawColumn(name, "numeric", arr, n_missing)
    if expected == "bool":
        arr = np.array([float(v) if c == "bool" else np.nan for v, c in zip(col, classes)])
        return RawColumn(name, "binary", arr, int(np.isnan(arr).sum()))
    clean = [v if c == "str" else None for v, c in zip(col, classes)]
    return RawColumn(name, "categorical", np.array(clean, dtype=object), sum(v is None for v in clean))


def _nan_as_missing(col: list, types: set) -> tuple[list, set]:
    """A copy of the field with NaN replaced by None when the field holds anything but numbers.

    NaN is missing in any field: pandas writes it for a missing text, boolean or date.
    """
    if not any(issubclass(t, float) for t in types):
        return col, types
    clean = [None if isinstance(v, float) and v != v else v for v in col]
    return clean, set(map(type, clean))


def _expected_column(
    name: str, col: list, kind: str, date_reference: str | None, errors: _Errors
) -> RawColumn:
    """Type one field as the fitted schema says it is; values of another type are errors."""
    if kind != "numeric":
        col, _ = _nan_as_missing(col, set(map(type, col)))
    classes = [_value_class(v) for v in col]
    wanted = {"numeric": "number", "binary": "bool", "categorical": "str", "date": "str"}[kind]
    message = {"number": "must_be_number", "bool": "must_be_boolean", "str": "must_be_string"}[wanted]
    for i, c in enumerate(classes):
        if c == "other":
            errors.add(f"data.{i}.{name}", "must_be_scalar", field=name,
                       kind=_kind_name(col[i]))
        elif c != "none" and c != wanted:
            errors.add(f"data.{i}.{name}", message, field=name)
    clean = [v if c == wanted else None for v, c in zip(col, classes)]
    if kind == "numeric":
        arr, n_missing = _numeric_from_list(name, clean, {type(None)}, errors)  # 10**400: a path error
        return RawColumn(name, kind, arr, n_missing)
    if kind == "binary":
        arr = np.array([np.nan if v is None else float(v) for v in clean], dtype=np.float64)
        return RawColumn(name, kind, arr, int(np.isnan(arr).sum()))
    if kind == "categorical":
        return RawColumn(name, kind, np.array(clean, dtype=object), sum(v is None for v in clean))
    # Dates count days before the reference date of the fit, not of this batch.
    days = np.full(len(clean), np.nan)
    ref = datetime.fromisoformat(date_reference) if date_reference else None
    for i, v in enumerate(clean):
        if v is None:
            continue
        try:
            if not _ISO_DATE.match(v):
                raise ValueError(v)
            dt = datetime.fromisoformat(v.replace("Z", "+00:00") if v.endswith("Z") else v)
            if dt.tzinfo is not None:
                dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
        except (ValueError, OverflowError):
            errors.add(f"data.{i}.{name}", "must_be_date", field=name)
            continue
        days[i] = (ref - dt).total_seconds() / 86400.0 if ref is not None else np.nan
    return RawColumn(name, kind, days, int(np.isnan(days).sum()), date_reference)


def _field_names(records: Sequence[dict]) -> list:
    """Field names in order of first appearance across all records."""
    first = records[0]
    keys = first.keys()
    if all(r.keys() == keys for r in records):
        return list(first)
    names: dict = {}
    for r in records:
        if len(r) != len(names) or not names.keys() >= r.keys():
            names.update(dict.fromkeys(r))
    return list(names)


def _check_table_size(n_fields: int, n_records: int) -> None:
    """A 422 before any column is built when the records name more fields than the cost model allows.

    Records that each carry another field name would otherwise cost records x fields.
    """
    limit = min(config.MAX_FIELDS, max(1, config.MAX_TABLE_CELLS // max(n_records, 1)))
    if n_fields > limit:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("too_many_fields", n=n_fields, rows=n_records, max=limit)},
        )


def check_records_are_objects(records: Sequence[Any]) -> None:
    """Raise the contract's 400 naming every record (``data.3``) that is not an object.

    Parameters
    ----------
    records : sequence
        The request's ``data`` array.

    Raises
    ------
    InvalidRequestError
        Some record is not a mapping (at most ``MAX_DETAILS`` are listed).
    """
    if set(map(type, records)) == {dict}:
        return  # the common case, checked at C speed
    bad = [i for i, r in enumerate(records) if not isinstance(r, dict)]
    if bad:
        details = {f"data.{i}": Msg("record_not_object") for i in bad[:MAX_DETAILS]}
        raise InvalidRequestError(
            Msg("format_mismatch"),
            details,
            extra={"expected_format": "Array of objects with required fields"},
        )


def table_from_records(
    records: Sequence[Any],
    *,
    id_field: str = "id",
    schema: dict[str, tuple[str, str | None]] | None = None,
) -> Table:
    """Type the fields of a list of record objects.

    Parameters
    ----------
    records : sequence of dict
        One mapping per customer. Not modified.
    id_field : str
        The id field; when no record has it the zero-based index is used.
    schema : dict, optional
        ``{field: (kind, date_reference)}`` of a fitted model: only these fields are read, each
        must hold values of its fitted kind (others are errors), dates count from the fitted
        reference date, and fields not in the schema are ignored.

    Returns
    -------
    Table

    Raises
    ------
    InvalidRequestError
        A record is not an object (400).
    ValidationError
        A value of the wrong type, an infinite number, a nested value, a bad or duplicate id (422).
    """
    check_records_are_objects(records)
    errors = _Errors()
    # Fast path: every record has exactly the fields of the first one (same count, and an
    # itemgetter that finds them all), so one C-level pass gives every column.
    names = list(records[0])
    _check_table_size(len(names), len(records))
    by_name: dict[str, Sequence] | None = None
    ready: dict[str, tuple[np.ndarray, int]] = {}
    # Plain dicts only: a dict subclass (defaultdict, Counter) would answer a missing key itself.
    if len(names) > 1 and set(map(type, records)) == {dict} and set(map(len, records)) == {len(names)}:
        try:
            # Clean numeric fields converted in one numpy call; the rest read for the careful path.
            ready, by_name = numeric_fields(records, names, id_field, schema)
        except KeyError:
            ready, by_name = {}, None
    if by_name is None:
        names = _field_names(records)
        _check_table_size(len(names), len(records))
    ids, from_index = _ids_from_records(
        records, id_field, errors, None if by_name is None else by_name.get(id_field)
    )
    if from_index and id_field != "id":
        # A non-default id field that no record has is a typo, not "use the index".
        raise ValidationError(
            Msg("options_invalid"),
            {"options.id_field": Msg("id_field_missing", name=id_field)},
        )
    columns = []
    for name in names:
        if name == id_field:
            continue
        if not isinstance(name, str):
            continue
        if name in ready:
            columns.append(RawColumn(name, "numeric", *ready[name]))
            continue
        col = by_name[name] if by_name is not None else [r.get(name) for r in records]
        if schema is None:
            columns.append(_typed_column(name, col, errors))
        elif name in schema:
            kind, reference = schema[name]
            columns.append(_expected_column(name, col, kind, reference, errors))
    errors.raise_if_any()
    return Table(ids=ids, columns=columns, id_from_index=from_index)


def table_from_frame(
    frame: Any,
    *,
    id_field: str = "id",
    schema: dict[str, tuple[str, str | None]] | None = None,
) -> Table:
    """Type the columns of a pandas DataFrame (numeric, bool, datetime, string/category).

    Parameters
    ----------
    frame : pandas.DataFrame
        Not modified. When it has a column named ``id_field`` that column gives the ids, else
        the index does.
    id_field : str
        The id column.
    schema : dict, optional
        A fitted model's ``{field: (kind, date_reference)}``: the frame is then read like
        records against that schema (see :func:`table_from_records`).

    Returns
    -------
    Table
    """
    import pandas as pd  # optional extra: only needed when the caller passes a DataFrame

    duplicated = [str(c) for c in frame.columns[frame.columns.duplicated()]]
    if duplicated:
        # frame[name] would be a DataFrame, not a column: say which names clash.
        raise ValidationError(
            Msg("validation_failed"),
            {"X": f"Duplicate column names: {', '.join(sorted(set(duplicated)))}."},
        )
    if schema is not None:
        return table_from_records(_frame_records(frame, pd, id_field), id_field=id_field,
                                  schema=schema)
    errors = _Errors()
    if id_field not in frame.columns and id_field != "id" and frame.index.name != id_field:
        raise ValidationError(
            Msg("options_invalid"),
            {"options.id_field": Msg("id_field_missing", name=id_field)},
        )
    if id_field in frame.columns:
        ids, from_index = _ids_from_records(
            [{id_field: v} for v in frame[id_field].tolist()], id_field, errors
        )
    else:
        ids, from_index = _index_ids(frame, pd, errors)
    columns = []
    for name in frame.columns:
        if name == id_field:
            continue
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype):
            arr = series.astype("float64").to_numpy(copy=True)
            columns.append(RawColumn(str(name), "binary", arr, int(np.isnan(arr).sum())))
        elif pd.api.types.is_numeric_dtype(series.dtype):
            arr = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            for i in np.flatnonzero(np.isinf(arr))[:MAX_DETAILS]:
                errors.add(f"data.{i}.{name}", "must_be_finite", field=str(name))
            columns.append(RawColumn(str(name), "numeric", arr, int(np.isnan(arr).sum())))
        elif pd.api.types.is_datetime64_any_dtype(series.dtype):
            # Days since the epoch whatever the unit (pandas 2+ keeps s/ms/us/ns) and time zone.
            epoch = pd.Timestamp("1970-01-01", tz=getattr(series.dt, "tz", None))
            stamps = ((series - epoch) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)
            latest = np.nanmax(stamps) if np.isfinite(stamps).any() else np.nan
            reference = None if np.isnan(latest) else (datetime(1970, 1, 1) + _days(latest)).isoformat()
            arr = latest - stamps
            columns.append(RawColumn(str(name), "date", arr, int(np.isnan(arr).sum()), reference))
        else:
            col = [None if (v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA) else v
                   for v in series.tolist()]
            columns.append(_typed_column(str(name), col, errors))
    errors.raise_if_any()
    return Table(ids=ids, columns=columns, id_from_index=from_index)


def _index_ids(frame: Any, pd: Any, errors: _Errors) -> tuple[list[str], bool]:
    """Ids from a DataFrame's index (any kind of labels, as text); duplicates are errors."""
    ids = [str(v) for v in frame.index.tolist()]
    if not isinstance(frame.index, pd.RangeIndex) and len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for i, v in enumerate(ids):
            if v in seen:
                errors.add(f"data.{i}.id", "id_duplicate", value=v, first=f"data.{seen[v]}")
            else:
                seen[v] = i
    return ids, isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1


def _frame_records(frame: Any, pd: Any, id_field: str) -> list[dict]:
    """A DataFrame as JSON-like records: NA -> None, timestamps -> ISO text, numpy -> Python."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for name in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[name].dtype):
            out[name] = out[name].map(lambda t: None if pd.isna(t) else t.isoformat())
    out = out.astype(object).where(out.notna(), None)
    records = out.to_dict("records")
    if id_field not in out.columns:
        # The index gives the ids, exactly as at fit time (table_from_frame).
        for rec, idx in zip(records, frame.index.tolist()):
            rec[id_field] = str(idx)
    return records


def table_from_array(
    X: Any, *, feature_names: Sequence[str] | None = None
) -> Table:
    """Wrap a 2-D numeric array as numeric columns ``x0, x1, ...`` (or the given names).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numbers; NaN means missing. Not modified.
    feature_names : sequence of str, optional
        Column names.

    Returns
    -------
    Table
    """
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValidationError(
            Msg("validation_failed"),
            {"X": f"Expected a 2-D array, got {arr.ndim} dimensions."},
        )
    try:
        if np.iscomplexobj(arr):  # astype would silently drop the imaginary part
            raise TypeError("complex values")
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValidationError(
            Msg("validation_failed"),
            {"X": Msg("must_be_number", field="X")},
        ) from None
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(arr.shape[1])]
    errors = _Errors()
    rows, cols = np.nonzero(np.isinf(arr))
    for i, j in zip(rows[:MAX_DETAILS], cols[:MAX_DETAILS]):
        errors.add(f"data.{i}.{names[j]}", "must_be_finite", field=names[j])
    errors.raise_if_any()
    columns = [
        RawColumn(names[j], "numeric", np.ascontiguousarray(arr[:, j]), int(np.isnan(arr[:, j]).sum()))
        for j in range(arr.shape[1])
    ]
    return Table(ids=[str(i) for i in range(arr.shape[0])], columns=columns, id_from_index=True)

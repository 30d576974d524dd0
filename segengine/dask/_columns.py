"""From one pandas partition of a Dask DataFrame to segengine's typed columns.

A field's kind is decided once, from the Dask DataFrame's dtypes (every partition shares them):
booleans -> binary, numbers -> numeric, datetimes -> date, text / category -> categorical. This is
what :func:`segengine.table.table_from_frame` infers for a pandas DataFrame of those dtypes; a
text column holding anything else than strings is an error naming the field, never a guess that
could differ between partitions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from segengine.errors import ValidationError
from segengine.table import RawColumn, Table
from segengine.text.error_messages import error_text

# Values of a text field that look like ISO dates: such a field must be parsed by the caller.
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")

# Path errors listed per partition (the single-machine table lists at most 100 in all).
MAX_PATHS = 20


@dataclass(frozen=True)
class FieldSpec:
    """One feature field of the distributed table: its name (as text), dtype kind and source column."""

    name: str
    kind: str  # numeric, binary, date, categorical
    column: Any


def field_specs(meta: Any, id_field: str, language: str) -> list[FieldSpec]:
    """The feature fields of a DataFrame (its empty ``_meta``) and their kinds.

    Parameters
    ----------
    meta : pandas.DataFrame
        Zero-row frame with the dtypes of every partition.
    id_field : str
        Column holding the ids (not a feature).
    language : str
        Language of the error sentences.

    Returns
    -------
    list of FieldSpec
    """
    import pandas as pd

    duplicated = [str(c) for c in meta.columns[meta.columns.duplicated()]]
    if duplicated:
        raise ValidationError(
            error_text(language, "validation_failed"),
            {"X": f"Duplicate column names: {', '.join(sorted(set(duplicated)))}."},
        )
    specs = []
    for col in meta.columns:
        if col == id_field:
            continue
        dtype = meta[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            kind = "binary"
        elif pd.api.types.is_numeric_dtype(dtype):
            kind = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "date"
        elif (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
              or isinstance(dtype, pd.CategoricalDtype)):
            kind = "categorical"
        else:
            raise ValidationError(
                error_text(language, "validation_failed"),
                {f"data.{col}": f"Field {col} has dtype {dtype}, which segengine cannot segment on: "
                                "cast it to a number, a boolean, a datetime or text."},
            )
        specs.append(FieldSpec(str(col), kind, col))
    return specs


def date_stamps(series: Any) -> np.ndarray:
    """Days since 1970-01-01 of a datetime column, whatever its unit and time zone (NaN = missing)."""
    import pandas as pd

    epoch = pd.Timestamp("1970-01-01", tz=getattr(series.dt, "tz", None))
    return ((series - epoch) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64, na_value=np.nan)


def date_reference_text(latest_days: float) -> str:
    """ISO text of the latest date, as :func:`segengine.table.table_from_frame` writes it."""
    return (datetime(1970, 1, 1) + timedelta(days=float(latest_days))).isoformat()


def partition_columns(
    pdf: Any,
    specs: list[FieldSpec],
    *,
    latest: dict[str, float] | None = None,
    language: str = "en",
    check: bool = False,
) -> tuple[list[RawColumn], dict[str, str]]:
    """Typed columns of one partition.

    Parameters
    ----------
    pdf : pandas.DataFrame
        One partition.
    specs : list of FieldSpec
        The fields and their kinds.
    latest : dict, optional
        Per date field, the latest date of the whole dataset in days since 1970: date values
        become days before it (as in the single-machine table). Without it, date columns hold
        days since 1970.
    language : str
        Language of the error sentences.
    check : bool
        Collect path errors (infinite numbers, non-text values in text fields, dates as text)
        instead of raising on the first one.

    Returns
    -------
    columns : list of RawColumn
    errors : dict
        Path -> sentence (only with ``check``; paths use the partition's index labels).
    """
    errors: dict[str, str] = {}
    columns = []
    index = None
    for spec in specs:
        series = pdf[spec.column]
        if spec.kind == "binary":
            arr = series.to_numpy(dtype=np.float64, na_value=np.nan)
            columns.append(RawColumn(spec.name, "binary", arr, int(np.isnan(arr).sum())))
        elif spec.kind == "numeric":
            arr = series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            bad = np.flatnonzero(np.isinf(arr))
            if bad.size:
                if not check:
                    arr[bad] = np.nan
                else:
                    index = pdf.index if index is None else index
                    for i in bad[:MAX_PATHS]:
                        errors[f"data.{index[i]}.{spec.name}"] = error_text(language, "must_be_finite", field=spec.name)
            columns.append(RawColumn(spec.name, "numeric", arr, int(np.isnan(arr).sum())))
        elif spec.kind == "date":
            stamps = date_stamps(series)
            ref = None
            if latest is not None and spec.name in latest and math.isfinite(latest[spec.name]):
                stamps = latest[spec.name] - stamps
                ref = date_reference_text(latest[spec.name])
            columns.append(RawColumn(spec.name, "date", stamps, int(np.isnan(stamps).sum()), ref))
        else:
            values = series.astype(object).to_numpy()
            missing = series.isna().to_numpy()
            values = values.copy()
            values[missing] = None
            if check:
                present = values[~missing]
                kinds = set(map(type, present.tolist()))
                if kinds - {str}:
                    index = pdf.index if index is None else index
                    for i in np.flatnonzero(~missing)[:MAX_PATHS * 50]:
                        if not isinstance(values[i], str):
                            errors[f"data.{index[i]}.{spec.name}"] = error_text(
                                language, "must_be_string", field=spec.name)
                            if len(errors) >= MAX_PATHS:
                                break
                elif (present.size
                      and sum(bool(_ISO_DATE.match(v)) for v in present[:200]) >= 0.9 * min(200, present.size)):
                    errors[f"data.{spec.name}"] = (
                        f"Field {spec.name} holds dates as text: parse it first "
                        f"(dd.read_csv(..., parse_dates=[{spec.name!r}]) or dd.to_datetime).")
            columns.append(RawColumn(spec.name, "categorical", values, int(missing.sum())))
    return columns, errors


def partition_table(pdf: Any, specs: list[FieldSpec], latest: dict[str, float]) -> Table:
    """One partition as a :class:`~segengine.table.Table` ready for ``Preprocessor.transform``."""
    columns, _ = partition_columns(pdf, specs, latest=latest)
    return Table(ids=[""] * len(pdf), columns=columns, id_from_index=True)

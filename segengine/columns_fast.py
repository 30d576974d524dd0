"""Numeric fields of uniform records read at C speed (the common case of :mod:`segengine.table`).

Records that are plain dicts with the same keys are read one C call per record (an itemgetter
over every candidate field), their value types checked in one C pass, and converted to float64
by numpy in one call. Only a field that could hold a value the careful path would report or type
differently -- a string, a boolean, an all-missing field, an infinity, an int beyond float range,
anything but int / float / None -- is left to the careful path, which then sees exactly the values
it would have seen. Fields read here produce no error, so the careful fields' errors keep their
order. The values are those of the careful path: numpy converts None to NaN and ints with the
same rounding in both.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["LazyColumns", "numeric_fields"]

_NUMERIC = frozenset({float, int, type(None)})


class LazyColumns(dict):
    """Field name -> that field's values in record order, read on first use."""

    def __init__(self, records: Sequence[dict]) -> None:
        super().__init__()
        self._records = records

    def __missing__(self, name: Any) -> list:
        col = list(map(operator.itemgetter(name), self._records))
        self[name] = col
        return col


def _column_values(col: Sequence) -> tuple[np.ndarray, int] | None:
    """Float64 values and missing count of a field of ints, floats and None, or None.

    None when the careful path must see the field (other types, an overflow, an infinity, nothing
    but missing).
    """
    if not set(map(type, col)) <= _NUMERIC:
        return None
    try:
        arr = np.array(col, dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        return None
    return _checked(arr)


def _checked(arr: np.ndarray) -> tuple[np.ndarray, int] | None:
    if np.isinf(arr).any():
        return None  # the careful path reports each infinity by its path
    n_missing = int(np.isnan(arr).sum())
    if n_missing == arr.shape[0]:
        return None  # all missing: "empty" or "numeric" depends on None vs NaN; careful path
    return arr, n_missing


def numeric_fields(
    records: Sequence[dict],
    names: list,
    id_field: str,
    schema: dict[str, tuple[str, str | None]] | None = None,
) -> tuple[dict[str, tuple[np.ndarray, int]], LazyColumns]:
    """Read the clean numeric fields of uniform records in one pass.

    Parameters
    ----------
    records : sequence of dict
        Plain dicts that all have exactly the keys ``names`` (the caller checked).
    names : list
        The field names, in order.
    id_field : str
        The id field (never read as a number here).
    schema : dict, optional
        A fitted model's ``{field: (kind, date_reference)}``: only its numeric fields are read.

    Returns
    -------
    ready : dict
        ``{field: (float64 values, number missing)}`` for the fields read here.
    columns : LazyColumns
        Every other field's values as the careful path reads them.

    Raises
    ------
    KeyError
        A record lacks one of ``names`` (the caller then reads the table the careful way).
    """
    first = records[0]
    candidates = [
        name for name in names
        if type(name) is str and name != id_field and type(first[name]) in _NUMERIC
        and (schema is None or (name in schema and schema[name][0] == "numeric"))
    ]
    columns = LazyColumns(records)
    chosen = set(candidates)
    for name in names:
        if name not in chosen:
            # Read now: the careful path needs them, and a KeyError here (a record with other
            # keys than the first) sends the whole table to the careful path before any work.
            columns[name]
    ready: dict[str, tuple[np.ndarray, int]] = {}
    if not candidates:
        return ready, columns
    if len(candidates) == 1:
        out = _column_values(columns[candidates[0]])
        if out is not None:
            ready[candidates[0]] = out
        return ready, columns
    rows = list(map(operator.itemgetter(*candidates), records))
    matrix = None
    types = set(map(type, chain.from_iterable(rows)))
    if types <= _NUMERIC:
        try:
            if type(None) in types:
                # numpy reads None as NaN only through its nested-sequence path.
                matrix = np.array(rows, dtype=np.float64, order="F")
            else:
                # One flat pass, without the nested-sequence discovery: twice as fast, and each
                # value converted as np.array converts it (float(int), correctly rounded).
                flat = np.fromiter(chain.from_iterable(rows), np.float64, count=len(rows) * len(candidates))
                matrix = np.asfortranarray(flat.reshape(len(rows), len(candidates)))
            # Fortran order: each field's values are one contiguous column of the block.
        except (OverflowError, TypeError, ValueError):
            matrix = None  # an int beyond float range somewhere: field by field below
    for j, name in enumerate(candidates):
        if matrix is not None:
            out = _checked(matrix[:, j])
        else:
            col = list(map(operator.itemgetter(j), rows))
            out = _column_values(col)
            if out is None:
                columns[name] = col
        if out is not None:
            ready[name] = out
    return ready, columns

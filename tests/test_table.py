"""segengine.table: records, frames and arrays into typed columns, against a naive reading.

What a caller relies on: each field's kind is inferred from its values, the values arrive in
float64 (NaN = missing) or as text, ids are unique text, and every bad value is a typed error that
names its exact path (``data.3.spend``) without touching the caller's records.
"""

from __future__ import annotations

import copy
import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from segengine import table as tbl
from segengine.errors import InvalidRequestError, ValidationError
from segengine.table import table_from_array, table_from_frame, table_from_records


def _details(err: pytest.ExceptionInfo) -> dict[str, str]:
    """Path -> English sentence of a raised segengine error, as the contract renders it."""
    return err.value.to_dict().get("details", {})


def _column(table, name):
    (col,) = [c for c in table.columns if c.name == name]
    return col


# ------------------------------------------------------------------------------ kinds and values


def test_each_kind_is_inferred_from_the_values():
    records = [
        {"id": "a", "spend": 10, "rate": 0.5, "vip": True, "plan": "basic", "since": "2024-01-01", "note": None},
        {"id": "b", "spend": 20.5, "rate": None, "vip": False, "plan": "pro", "since": "2024-01-11", "note": None},
        {"id": "c", "spend": None, "rate": 1.5, "vip": None, "plan": None, "since": None, "note": None},
    ]
    t = table_from_records(records)
    assert t.ids == ["a", "b", "c"] and t.n_rows == 3 and not t.id_from_index
    assert [(c.name, c.kind, c.n_missing) for c in t.columns] == [
        ("spend", "numeric", 1), ("rate", "numeric", 1), ("vip", "binary", 1),
        ("plan", "categorical", 1), ("since", "date", 1), ("note", "empty", 3),
    ]
    np.testing.assert_array_equal(_column(t, "spend").values, [10.0, 20.5, np.nan])
    assert _column(t, "spend").values.dtype == np.float64
    np.testing.assert_array_equal(_column(t, "vip").values, [1.0, 0.0, np.nan])
    assert list(_column(t, "plan").values) == ["basic", "pro", None]
    # Dates count days before the latest date, which is the reference.
    since = _column(t, "since")
    np.testing.assert_array_equal(since.values, [10.0, 0.0, np.nan])
    assert since.date_reference.startswith("2024-01-11")
    assert np.isnan(_column(t, "note").values).all()


def test_fields_in_order_of_first_appearance_and_absent_means_missing():
    records = [{"id": 1, "b": 1.0}, {"id": 2, "a": "x", "b": 2.0}, {"id": 3, "c": True}]
    t = table_from_records(records)
    assert [c.name for c in t.columns] == ["b", "a", "c"]
    np.testing.assert_array_equal(_column(t, "b").values, [1.0, 2.0, np.nan])
    assert list(_column(t, "a").values) == [None, "x", None]
    assert _column(t, "c").n_missing == 2


def test_nan_is_missing_in_every_kind():
    nan = float("nan")
    records = [{"x": 1.0, "plan": "a", "vip": True, "since": "2024-03-01"},
               {"x": nan, "plan": nan, "vip": nan, "since": nan},
               {"x": 3.0, "plan": "b", "vip": False, "since": "2024-03-05"}]
    t = table_from_records(records)
    assert [(c.kind, c.n_missing) for c in t.columns] == [
        ("numeric", 1), ("categorical", 1), ("binary", 1), ("date", 1)]
    assert list(_column(t, "plan").values) == ["a", None, "b"]


def test_timestamps_and_time_zones_count_in_utc_days():
    records = [{"t": "2024-05-01T12:00:00Z"}, {"t": "2024-05-01T00:00:00+02:00"}, {"t": "2024-04-30"}]
    col = _column(table_from_records(records), "t")
    assert col.kind == "date"
    # Latest instant 2024-05-01 12:00 UTC; the others 14 h and 36 h before it.
    np.testing.assert_allclose(col.values, [0.0, 14 / 24, 36 / 24])
    assert col.date_reference.startswith("2024-05-01T12:00")


def test_mixed_field_follows_the_majority_and_names_each_outlier():
    records = [{"spend": v} for v in (1, 2, "three", 4, True, 6)]
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    details = _details(err)
    assert details == {
        "data.2.spend": "The spend field must be a number.",
        "data.4.spend": "The spend field must be a number.",
    }
    assert err.value.to_dict()["message"] == "Invalid data format"


def test_nested_and_infinite_values_are_errors_at_their_paths():
    records = [{"id": i, "spend": float(i), "tags": "a"} for i in range(6)]
    records[3]["spend"] = float("inf")
    records[1]["tags"] = ["x", "y"]
    records[5]["tags"] = {"k": 1}
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    details = _details(err)
    assert details["data.3.spend"] == "The spend field must be a finite number."
    assert details["data.1.tags"] == "The tags field must be a number, a string, a boolean or null, not an array."
    assert details["data.5.tags"] == "The tags field must be a number, a string, a boolean or null, not an object."
    assert set(details) == {"data.3.spend", "data.1.tags", "data.5.tags"}


def test_an_impossible_date_in_a_date_field_is_an_error_not_a_category():
    records = [{"d": f"2024-02-{day:02d}"} for day in range(1, 29)] + [{"d": "2024-02-30"}]
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    assert _details(err) == {"data.28.d": "The d field must be an ISO-8601 date (YYYY-MM-DD)."}


def test_mostly_text_with_a_few_dates_is_categorical():
    records = [{"d": "2024-01-01"}, {"d": "soon"}, {"d": "later"}]
    assert _column(table_from_records(records), "d").kind == "categorical"


def test_records_are_not_modified():
    nan = float("nan")
    records = [{"id": i, "x": [1.0, nan, 3.0][i % 3], "plan": ["a", nan, None][i % 3],
                "d": f"2024-01-0{1 + i % 9}"} for i in range(30)]
    before = copy.deepcopy(records)
    table_from_records(records)
    assert repr(records) == repr(before)


# ------------------------------------------------------------------------------ ids


def test_integer_and_integral_float_ids_become_text():
    t = table_from_records([{"id": 7, "x": 1.0}, {"id": 8.0, "x": 2.0}, {"id": "9", "x": 3.0}])
    assert t.ids == ["7", "8", "9"]


def test_without_an_id_field_the_index_is_the_id():
    t = table_from_records([{"x": 1.0}, {"x": 2.0}, {"x": 3.0}])
    assert t.ids == ["0", "1", "2"] and t.id_from_index


@pytest.mark.parametrize("bad, key", [
    (None, "The id field is required in every record when any record has it."),
    (True, "The id field must be a string or an integer."),
    (1.5, "The id field must be a string or an integer."),
    (10**30, "The id field must be a string or an integer."),
    ([1], "The id field must be a string or an integer."),
])
def test_bad_ids_are_named_by_path(bad, key):
    records = [{"id": f"r{i}", "x": float(i)} for i in range(5)]
    records[3]["id"] = bad
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    assert _details(err) == {"data.3.id": key}


def test_duplicate_ids_name_the_first_use():
    records = [{"id": i % 4, "x": float(i)} for i in range(6)]
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    assert _details(err) == {
        "data.4.id": "Duplicate id '0': it was already used by data.0.",
        "data.5.id": "Duplicate id '1': it was already used by data.1.",
    }


def test_a_custom_id_field_that_no_record_has_is_an_options_error():
    with pytest.raises(ValidationError) as err:
        table_from_records([{"x": 1.0}, {"x": 2.0}], id_field="customer_id")
    assert _details(err) == {"options.id_field": "No record has the id field 'customer_id'."}


def test_custom_id_field_is_not_a_column():
    t = table_from_records([{"cid": "a", "x": 1.0}, {"cid": "b", "x": 2.0}], id_field="cid")
    assert t.ids == ["a", "b"] and [c.name for c in t.columns] == ["x"]


# ------------------------------------------------------------------------------ shape and caps


def test_a_record_that_is_not_an_object_is_a_400_naming_it():
    with pytest.raises(InvalidRequestError) as err:
        table_from_records([{"x": 1.0}, [1.0], {"x": 2.0}, "x"])
    assert err.value.status == 400
    assert _details(err) == {"data.1": "Each record must be an object.", "data.3": "Each record must be an object."}


def test_errors_are_capped_and_the_rest_counted():
    n = tbl.MAX_DETAILS + 25
    records = [{"spend": 1.0} for _ in range(2 * n)]
    for i in range(n):
        records[2 * i + 1]["spend"] = float("inf")
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    details = _details(err)
    assert len(details) == tbl.MAX_DETAILS + 1
    assert details["data"] == "25 more invalid values are not listed."
    assert "data.1.spend" in details and f"data.{2 * (tbl.MAX_DETAILS - 1) + 1}.spend" in details


def test_too_many_fields_is_refused_before_any_column_is_built(monkeypatch):
    from segengine import config

    monkeypatch.setattr(config, "MAX_FIELDS", 5)
    records = [{f"f{j}": 1.0 for j in range(i, i + 3)} for i in range(4)]  # 6 distinct fields
    with pytest.raises(ValidationError) as err:
        table_from_records(records)
    assert _details(err) == {
        "data": "The records name 6 distinct fields; with 4 records at most 5 fields can be read."}


# ------------------------------------------------------------------------------ a naive reading


def _naive_kind(values: list) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "empty"
    if all(isinstance(v, bool) for v in present):
        return "binary"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "numeric"
    return "categorical"


_cell = {
    "numeric": st.one_of(st.none(), st.integers(-10**6, 10**6),
                         st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)),
    "binary": st.one_of(st.none(), st.booleans()),
    "categorical": st.one_of(st.none(), st.sampled_from(["north", "south", "", "é", "x y"])),
}


@st.composite
def _records(draw):
    n = draw(st.integers(1, 40))
    kinds = draw(st.lists(st.sampled_from(sorted(_cell)), min_size=1, max_size=5))
    return [{"id": f"c{i}", **{f"f{j}": draw(_cell[k]) for j, k in enumerate(kinds)}} for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(_records())
def test_columns_equal_a_naive_numpy_reading(records):
    t = table_from_records(records)
    assert t.ids == [r["id"] for r in records]
    for col in t.columns:
        raw = [r[col.name] for r in records]
        assert col.kind == _naive_kind(raw)
        assert col.n_missing == sum(v is None for v in raw)
        if col.kind in ("numeric", "binary", "empty"):
            expected = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
            np.testing.assert_array_equal(col.values, expected)
        else:
            assert list(col.values) == raw


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates(date(1900, 1, 1), date(2100, 12, 31))), min_size=1, max_size=30)
       .filter(lambda ds: any(d is not None for d in ds)))
def test_dates_equal_naive_day_differences(days):
    t = table_from_records([{"d": None if d is None else d.isoformat()} for d in days])
    col = _column(t, "d")
    latest = max(d for d in days if d is not None)
    expected = [np.nan if d is None else float((latest - d).days) for d in days]
    assert col.kind == "date"
    np.testing.assert_array_equal(col.values, expected)
    assert datetime.fromisoformat(col.date_reference).date() == latest


# ------------------------------------------------------------------------------ a fitted schema


def test_schema_reads_each_field_as_its_fitted_kind():
    schema = {"spend": ("numeric", None), "plan": ("categorical", None), "since": ("date", "2024-01-31T00:00:00")}
    records = [{"id": "n1", "spend": 5, "plan": "pro", "since": "2024-01-01", "new_field": 1},
               {"id": "n2", "spend": None, "plan": None, "since": "2024-02-10"}]
    t = table_from_records(records, schema=schema)
    assert [c.name for c in t.columns] == ["spend", "plan", "since"]  # fields outside the schema are ignored
    # Days before the fit's reference date (a later date counts negative), not this batch's latest.
    np.testing.assert_array_equal(_column(t, "since").values, [30.0, -10.0])
    assert list(_column(t, "plan").values) == ["pro", None]


def test_schema_names_values_of_another_kind():
    schema = {"spend": ("numeric", None), "vip": ("binary", None), "since": ("date", "2024-01-31T00:00:00")}
    records = [{"spend": "a lot", "vip": 1, "since": "yesterday"}]
    with pytest.raises(ValidationError) as err:
        table_from_records(records, schema=schema)
    assert _details(err) == {
        "data.0.spend": "The spend field must be a number.",
        "data.0.vip": "The vip field must be a boolean.",
        "data.0.since": "The since field must be an ISO-8601 date (YYYY-MM-DD).",
    }


# ------------------------------------------------------------------------------ arrays and frames


def test_array_columns_are_numbered_and_nan_is_missing():
    X = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 5.0]])
    t = table_from_array(X)
    assert [c.name for c in t.columns] == ["x0", "x1"] and t.ids == ["0", "1", "2"] and t.id_from_index
    np.testing.assert_array_equal(t.columns[1].values, X[:, 1])
    assert t.columns[1].n_missing == 1
    assert [c.name for c in table_from_array(X, feature_names=["a", "b"]).columns] == ["a", "b"]
    X[0, 0] = 99.0
    assert t.columns[0].values[0] == 1.0  # a copy, not a view of the caller's array


def test_array_errors():
    X = np.ones((4, 2))
    X[2, 1] = -np.inf
    with pytest.raises(ValidationError) as err:
        table_from_array(X)
    assert _details(err) == {"data.2.x1": "The x1 field must be a finite number."}
    with pytest.raises(ValidationError) as err:
        table_from_array(np.ones((2, 2, 2)))
    assert list(_details(err)) == ["X"]
    with pytest.raises(ValidationError):
        table_from_array(np.array([[1 + 2j, 3.0]]))
    with pytest.raises(ValidationError):
        table_from_array(np.array([["a", "b"]], dtype=object))


def test_frame_columns_by_dtype_and_index_ids():
    frame = pd.DataFrame({
        "spend": [1.5, np.nan, 3.0],
        "n": pd.array([1, None, 3], dtype="Int64"),
        "vip": [True, False, True],
        "plan": pd.Categorical(["a", None, "b"]),
        "when": pd.to_datetime(["2024-01-01", None, "2024-01-03"]),
    }, index=pd.Index([10, 20, 30], name="cid"))
    t = table_from_frame(frame)
    assert t.ids == ["10", "20", "30"] and not t.id_from_index
    assert [(c.name, c.kind, c.n_missing) for c in t.columns] == [
        ("spend", "numeric", 1), ("n", "numeric", 1), ("vip", "binary", 0),
        ("plan", "categorical", 1), ("when", "date", 1)]
    np.testing.assert_array_equal(_column(t, "when").values, [2.0, np.nan, 0.0])
    assert list(_column(t, "plan").values) == ["a", None, "b"]


def test_frame_errors_name_paths():
    frame = pd.DataFrame({"x": [1.0, np.inf, 2.0]}, index=["a", "b", "a"])
    with pytest.raises(ValidationError) as err:
        table_from_frame(frame)
    assert _details(err) == {
        "data.1.x": "The x field must be a finite number.",
        "data.2.id": "Duplicate id 'a': it was already used by data.0.",
    }
    clash = pd.DataFrame([[1.0, 2.0]], columns=["x", "x"])
    with pytest.raises(ValidationError) as err:
        table_from_frame(clash)
    assert "x" in _details(err)["X"]


def test_frame_with_a_range_index_uses_it_as_position():
    t = table_from_frame(pd.DataFrame({"x": [1.0, 2.0]}))
    assert t.ids == ["0", "1"] and t.id_from_index
    assert math.isclose(t.columns[0].values.sum(), 3.0)

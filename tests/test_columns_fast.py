"""The C-speed reading of numeric fields (segengine.columns_fast) gives exactly the careful path's
Tables and errors: same kinds, bit-identical values (-0.0, NaN, rounding of big ints), same
missing counts, same error sentences at the same paths in the same order."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import segengine.table as table_module
from segengine.columns_fast import numeric_fields
from segengine.errors import InvalidRequestError, ValidationError
from segengine.table import table_from_records

SPECIAL_FLOATS = [0.0, -0.0, 1e308, -1e308, 5e-324, 2.2250738585072014e-308, 1.5, math.nan,
                  math.inf, -math.inf, 0.1, 1.0]
BIG_INTS = [2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**63, 2**64, 2**64 + 1, -(2**63) - 1,
            10**30, 10**308, 10**400, -(10**400), 0, 1, -1]
ODD = [True, False, None, "1.5", "abc", "2024-01-02", [1.0], {"a": 1}, np.float64(2.5), np.int64(3)]


def _careful(records, **kw):
    """The careful path only: the fast reader is made to give up (as on records of other keys)."""
    def refuse(*args, **kwargs):
        raise KeyError("careful path")

    original = table_module.numeric_fields
    table_module.numeric_fields = refuse
    try:
        return _outcome(records, **kw)
    finally:
        table_module.numeric_fields = original


def _outcome(records, **kw):
    try:
        table = table_from_records(records, **kw)
    except (ValidationError, InvalidRequestError) as exc:
        return ("error", type(exc).__name__, str(exc), list(exc.details.items()))
    cols = [(c.name, c.kind, c.values.dtype.str, c.n_missing, c.date_reference,
             c.values.view(np.int64).tolist() if c.values.dtype == np.float64 else c.values.tolist())
            for c in table.columns]
    return ("table", table.ids, table.id_from_index, cols, table.warnings)


def _same(records, **kw):
    before = copy.deepcopy(records)
    fast = _outcome(records, **kw)
    careful = _careful(records, **kw)
    assert fast == careful
    assert records == before or _has_nan(records)  # never modified (NaN != NaN)


def _has_nan(records):
    return any(isinstance(v, float) and math.isnan(v) for r in records for v in r.values())


value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(SPECIAL_FLOATS + BIG_INTS + ODD),
)
clean_value = st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                        st.integers(min_value=-(2**60), max_value=2**60))


@st.composite
def tables(draw):
    n = draw(st.integers(1, 25))
    n_fields = draw(st.integers(1, 5))
    names = [f"f{j}" for j in range(n_fields)]
    # Each field mostly clean numbers, with a few draws of anything at random rows.
    dirt = {name: draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])) for name in names}
    id_kind = draw(st.sampled_from(["str", "int", "none", "dup", "mixed"]))
    records = []
    for i in range(n):
        rec = {}
        if id_kind == "str":
            rec["id"] = f"c{i}"
        elif id_kind == "int":
            rec["id"] = i * 7
        elif id_kind == "dup":
            rec["id"] = f"c{i % max(1, n - 1)}"
        elif id_kind == "mixed":
            rec["id"] = draw(st.sampled_from([f"c{i}", i, None, 1.5, True]))
        for name in names:
            dirty = draw(st.floats(0, 1)) < dirt[name]
            rec[name] = draw(value if dirty else clean_value)
        shape = draw(st.sampled_from(["same"] * 8 + ["missing", "extra", "reordered"]))
        if shape == "missing" and names:
            rec.pop(draw(st.sampled_from(names)))
        elif shape == "extra":
            rec["extra"] = draw(value)
        elif shape == "reordered":
            rec = dict(reversed(list(rec.items())))
        records.append(rec)
    return records


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
@example([{"id": "a", "x": 1.0, "y": True}, {"id": "b", "x": 2.0, "y": False}])
@example([{"id": "a", "x": 2**53 + 1, "y": 1.0}, {"id": "b", "x": 2**64 + 1, "y": -0.0}])
@example([{"id": "a", "x": 10**400, "y": 1.0}, {"id": "b", "x": 1.0, "y": math.inf}])
@example([{"id": "a", "x": None, "y": math.nan}, {"id": "b", "x": None, "y": math.nan}])
@example([{"id": "a", "x": 5e-324, "y": "1.5"}, {"id": "a", "x": 1e308, "y": "2"}])
def test_fast_and_careful_paths_agree(records):
    _same(records)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.lists(st.sampled_from(["numeric", "binary", "categorical", "date"]),
                          min_size=5, max_size=5))
def test_fast_and_careful_paths_agree_against_a_schema(records, kinds):
    schema = {f"f{j}": (kind, "2024-01-01T00:00:00" if kind == "date" else None)
              for j, kind in enumerate(kinds) if j != 3}  # f3 (when drawn) is not in the schema
    _same(records, schema=schema)


def test_error_paths_and_order_with_fast_fields_between_careful_ones():
    records = [{"id": f"c{i}", "a": float(i), "b": "x" if i == 3 else float(i), "c": float(i),
                "d": math.inf if i in (1, 4) else 2.0, "e": True if i == 2 else 1.0}
               for i in range(6)]
    with pytest.raises(ValidationError) as info:
        table_from_records(records)
    assert list(info.value.details) == ["data.3.b", "data.1.d", "data.4.d", "data.2.e"]
    _same(records)


def test_numeric_fields_reads_clean_fields_and_leaves_the_rest():
    records = [{"id": "a", "x": 1, "y": 0.5, "s": "u", "z": None, "b": True},
               {"id": "b", "x": 2**53 + 1, "y": None, "s": "v", "z": None, "b": 1.0}]
    ready, columns = numeric_fields(records, list(records[0]), "id")
    assert sorted(ready) == ["x", "y"]  # z: all missing; b: a boolean
    np.testing.assert_array_equal(ready["x"][0], [1.0, float(2**53 + 1)])
    assert ready["y"][1] == 1
    assert columns["s"] == ["u", "v"] and columns["id"] == ["a", "b"]
    assert columns["b"] == [True, 1.0] and columns["z"] == [None, None]


def test_records_with_other_keys_are_refused_before_any_work():
    records = [{"id": "a", "x": 1.0, "y": "u"}, {"id": "b", "x": 2.0, "w": "v"}]
    with pytest.raises(KeyError):
        numeric_fields(records, list(records[0]), "id")
    _same(records)


def test_a_large_uniform_table_is_identical_on_both_paths():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 6)) * 1e3
    X[rng.random(X.shape) < 0.01] = np.nan
    records = [{"id": f"r{i}", **{f"f{j}": (None if np.isnan(v) else float(v)) for j, v in enumerate(row)},
                "n": int(i) * 3} for i, row in enumerate(X)]
    _same(records)


def test_tables_without_missing_values_read_in_one_flat_pass_identically():
    # No None: the values go through np.fromiter instead of np.array; same bits either way.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 5)) * 10.0 ** rng.integers(-300, 300, size=(2000, 5))
    records = [{"id": i, **{f"f{j}": float(v) for j, v in enumerate(row)},
                "big": [2**53 + 1, -(2**63) - 1, 10**300, -0.0, 5e-324][i % 5], "n": i * 3}
               for i, row in enumerate(X)]
    ready, _ = numeric_fields(records, list(records[0]), "id")
    assert sorted(ready) == ["big", "f0", "f1", "f2", "f3", "f4", "n"]
    assert all(values.flags.c_contiguous for values, _ in ready.values())
    np.testing.assert_array_equal(ready["big"][0][:5], [float(2**53 + 1), float(-(2**63) - 1), 1e300, -0.0, 5e-324])
    assert math.copysign(1.0, ready["big"][0][3]) == -1.0
    _same(records)
    records[7]["big"] = 10**400  # beyond float range: that field goes to the careful path
    _same(records)

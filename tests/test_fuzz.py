"""Hostile input (issue #9): `handle_request` over random JSON-like bodies never raises, never answers
5xx, always returns a JSON-serialisable body, and reports a bad value at its exact path.

Bodies are drawn at every level with the wrong types, NaN/Infinity, huge and tiny numbers, huge
integers, deep nesting, unicode (including lone surrogates) ids and field names, long strings, 0/1/2
records, constant and all-missing columns, bytes that are not UTF-8, and bodies as str, bytes, dict
or list. Fixed seed (derandomize) and bounded examples keep the run short and reproducible.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import segengine as se
from segengine.options import OPTION_NAMES, camel_case

# Any RuntimeWarning (numpy's included) is an error: a service run with -W error must not 500.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

_SETTINGS = dict(derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- strategies -----------------------------------------------------------------------------------
def _nested(depth: int, leaf=1):
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


_SPECIAL_FLOATS = st.sampled_from([
    float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1.7976931348623157e308, 1e-308,
    -1e-308, 5e-324, 0.0, -0.0, 1e12, 1e-12, 2.0**63, -(2.0**63),
])
# (base, exponent, offset): 10**400, 2**63 - 1, -(2**63), 2**64, 2**1024 (kept symbolic: short reprs)
_HUGE_INTS = st.tuples(
    st.sampled_from([(10, 400, 0), (2, 63, -1), (2, 63, 0), (2, 64, 0), (2, 1024, 0)]), st.sampled_from([1, -1])
).map(lambda t: t[1] * (t[0][0] ** t[0][1] + t[0][2]))
_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=12
)  # any code point, lone surrogates included
_LONG_TEXT = st.integers(1_000, 100_000).map(lambda n: "é" * n)
_DEEP = st.integers(50, 3_000).map(_nested)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.integers(), _HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True), _SPECIAL_FLOATS, _TEXT, _LONG_TEXT,
    st.binary(max_size=8), st.sampled_from(["2024-01-05", "2024-02-30", "9999-12-31T23:59:59-14:00", "web"]),
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_TEXT, st.integers(), st.none()), inner, max_size=4),
    ),
    max_leaves=12,
)
values = st.one_of(scalars, json_like, _DEEP)
field_names = st.one_of(st.sampled_from(["x", "y", "id", "channel", "ï😀", ""]), _TEXT)


@st.composite
def records(draw):
    """A list of 0..6 records sharing a few fields; some columns constant, missing, or hostile."""
    n = draw(st.integers(0, 6))
    names = draw(st.lists(field_names, min_size=1, max_size=4, unique=True))
    column_kinds = {name: draw(st.sampled_from(["number", "constant", "missing", "any", "string"]))
                    for name in names}
    rows = []
    for i in range(n):
        row = {}
        if draw(st.booleans()):
            row["id"] = draw(st.one_of(st.integers(0, 3), st.just(i), _TEXT, values))
        for name, kind in column_kinds.items():
            if kind == "number":
                value = draw(st.one_of(st.floats(-1e6, 1e6), st.integers(-1000, 1000), _SPECIAL_FLOATS))
            elif kind == "constant":
                value = 7
            elif kind == "missing":
                value = None
            elif kind == "string":
                value = draw(st.sampled_from(["a", "b", "ü", "2024-01-01"]))
            else:
                value = draw(values)
            if draw(st.integers(0, 9)) > 0:  # sometimes the field is absent
                row[name] = value
        rows.append(row if draw(st.integers(0, 19)) > 0 else draw(values))  # rarely not an object
    return rows


option_keys = st.one_of(st.sampled_from(list(OPTION_NAMES) + [camel_case(n) for n in OPTION_NAMES]), _TEXT)
options = st.one_of(
    st.dictionaries(option_keys, values, max_size=4),
    st.fixed_dictionaries({}, optional={
        "k_max": st.one_of(st.integers(-3, 12), values), "k_min": st.integers(-3, 12),
        "n_clusters": st.one_of(st.none(), st.just("auto"), st.integers(-1, 8)),
        "algorithm": st.sampled_from(["auto", "kmeans", "gmm", "GMM", "x"]),
        "scaling": st.sampled_from(["auto", "standard", "robust", "minmax", "none"]),
        "features": st.one_of(st.lists(field_names, max_size=3), values),
        "random_state": st.one_of(st.integers(-1, 2**33), _SPECIAL_FLOATS),
        "time_budget_ms": st.one_of(st.none(), st.integers(-1, 5)),
        "max_records": st.one_of(st.integers(0, 8), _HUGE_INTS),
    }),
    values,
)
structured = st.fixed_dictionaries(
    {"data": st.one_of(records(), values)},
    optional={
        "options": options,
        "include_metadata": st.one_of(st.booleans(), values),
        "includeMetadata": st.one_of(st.booleans(), values),
        "extra": values,
    },
)


def _as_text(body):
    try:
        return json.dumps(body, allow_nan=True, default=repr)
    except RecursionError:  # a deeply nested value: send deeply nested JSON text instead
        return '{"data": ' + "[" * 5000 + "]" * 5000 + "}"


bodies = st.one_of(
    structured,
    structured.map(_as_text),                                       # JSON text (NaN/Infinity literals)
    structured.map(lambda b: _as_text(b).encode("utf-8", "surrogatepass")),  # bytes, maybe not UTF-8
    st.binary(max_size=64),                                         # arbitrary bytes
    st.binary(max_size=16).map(lambda b: b'{"data": [{"x": "' + b + b'"}]}'),
    st.text(max_size=64),                                           # arbitrary text
    json_like,                                                      # any shape (list, scalar, dict)
    _DEEP,
    st.integers(1, 100_000).map(lambda d: "[" * d + "]" * d),       # nested too deeply for json
)
headers = st.one_of(
    st.none(),
    st.fixed_dictionaries({"Accept-Language": st.one_of(st.sampled_from(["pt-BR,pt;q=0.9", "es", "*;q=x"]), values)}),
    st.lists(st.tuples(st.sampled_from(["accept-language", b"accept-language"]), values), max_size=2),
    values,
)


# -- checks ---------------------------------------------------------------------------------------
def _check_response(response) -> tuple[int, dict]:
    assert isinstance(response, tuple) and len(response) == 2
    status, body = response
    assert status in (200, 400, 422), body
    assert isinstance(body, dict)
    json.dumps(body, allow_nan=False)  # serialisable, no NaN/inf anywhere
    if status != 200:
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["message"], str) and body["message"]
        for key, sentence in body.get("details", {}).items():
            assert isinstance(key, str) and isinstance(sentence, str)
    else:
        n = len(body["results"])
        assert sum(s["size"] for s in body["segments"]) == n
        for r in body["results"]:
            assert 0.0 <= r["prediction"] <= 1.0 and 0.0 <= r["confidence"] <= 1.0
    return status, body


@settings(max_examples=250, **_SETTINGS)
@given(body=bodies, hdrs=headers)
def test_handle_request_never_fails_on_hostile_bodies(body, hdrs):
    status, _ = _check_response(se.handle_request(body, hdrs))
    event(f"status {status}")  # --hypothesis-show-statistics: how deep the bodies reach


_FINITE_EXTREMES = st.sampled_from([1e308, -1e308, 1e-308, 5e-324, 1e12, 1e-12, 2**63 - 1, -(2**63), 2**64, 0.0])


@st.composite
def near_valid_bodies(draw):
    """Bodies that mostly reach the model: 3..8 records, unicode ids and field names, numbers at
    the edges of float64, NaN (missing), constant / all-missing / categorical / bool / date columns."""
    n = draw(st.integers(3, 8))
    names = draw(st.lists(field_names.filter(lambda s: s != "id"), min_size=1, max_size=3, unique=True))
    kinds = {name: draw(st.sampled_from(["number", "number", "extreme", "constant", "missing",
                                         "string", "bool", "date"])) for name in names}
    ids = draw(st.lists(st.one_of(_TEXT, st.integers(0, 10**30)), min_size=n, max_size=n,
                        unique_by=lambda v: str(v)))
    rows = []
    for i in range(n):
        row = {"id": ids[i]}
        for name, kind in kinds.items():
            if kind == "number":
                value = draw(st.one_of(st.floats(-1e6, 1e6), st.integers(-10**6, 10**6), st.just(math.nan)))
            elif kind == "extreme":
                value = draw(st.one_of(_FINITE_EXTREMES, st.floats(allow_nan=False, allow_infinity=False)))
            elif kind == "constant":
                value = 3
            elif kind == "missing":
                value = None
            elif kind == "string":
                value = draw(st.sampled_from(["web", "store", "ü😀", "x" * 300]))
            elif kind == "bool":
                value = draw(st.booleans())
            else:
                value = draw(st.sampled_from(["2024-01-05", "2023-12-31T23:00:00Z", "0001-01-01", "9999-12-31"]))
            row[name] = value
        rows.append(row)
    opts = draw(st.fixed_dictionaries({}, optional={
        "k_max": st.integers(2, 6), "n_clusters": st.sampled_from([None, "auto", 2, 3]),
        "algorithm": st.sampled_from(["auto", "kmeans", "gmm"]),
        "covariance_type": st.sampled_from(["full", "diag", "tied", "spherical"]),
        "scaling": st.sampled_from(["auto", "standard", "robust", "minmax", "none"]),
        "random_state": st.integers(0, 2**32 - 1),
    }))
    body = {"data": rows, "options": opts, "include_metadata": draw(st.booleans())}
    form = draw(st.sampled_from(["dict", "text", "bytes"]))
    if form == "text":
        return json.dumps(body, allow_nan=True)
    if form == "bytes":
        return json.dumps(body, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return body


@settings(max_examples=120, **_SETTINGS)
@given(body=near_valid_bodies(), language=st.sampled_from(["pt-BR", "es", "en", "fr"]))
def test_near_valid_bodies_give_a_report_or_a_clear_error(body, language):
    status, _ = _check_response(se.handle_request(body, {"Accept-Language": language}))
    event(f"status {status}")


# -- a bad value is reported at its exact path ------------------------------------------------------
def _base_rows(n: int) -> list[dict]:
    return [{"id": f"r{i}", "x": float(i % 4), "y": float((i * 7) % 5), "c": "ab"[i % 2]} for i in range(n)]


_BAD_FOR_NUMBER = st.one_of(
    st.sampled_from([float("inf"), -float("inf"), 10**400, -(10**400), "text", True, [1], {"a": 1}]),
    _DEEP,
)


@settings(max_examples=60, **_SETTINGS)
@given(n=st.integers(6, 12), data=st.data(), as_text=st.booleans())
def test_bad_value_is_reported_at_its_exact_path(n, data, as_text):
    rows = _base_rows(n)
    i = data.draw(st.integers(0, n - 1), label="record")
    field = data.draw(st.sampled_from(["x", "y"]), label="field")
    bad = data.draw(_BAD_FOR_NUMBER, label="bad")
    rows[i][field] = bad
    body = {"data": rows}
    if as_text and not isinstance(bad, (dict, list)):  # deep values would fail as JSON text first
        body = json.dumps(body, allow_nan=True)
    status, out = _check_response(se.handle_request(body))
    assert status == 422
    assert f"data.{i}.{field}" in out["details"]


@settings(max_examples=40, **_SETTINGS)
@given(name=st.sampled_from(["k_max", "kMin", "n_init", "random_state", "max_records", "time_budget_ms",
                             "algorithm", "scaling", "silhouette", "id_field", "features", "n_clusters"]),
       bad=st.sampled_from([float("nan"), float("inf"), 1e308, 10**400, -5, "nope", [1], {"a": 1}, True]))
def test_bad_option_is_reported_at_its_exact_path(name, bad):
    if name == "id_field" and bad == "nope":
        return  # any string is a valid id field name
    status, out = _check_response(se.handle_request({"data": _base_rows(8), "options": {name: bad}}))
    assert status == 422
    path = f"options.{name}"
    # an unknown field name in a valid list is reported at its item ("options.features.0")
    assert any(key == path or key.startswith(path + ".") for key in out["details"]), out["details"]


@settings(max_examples=30, **_SETTINGS)
@given(n=st.integers(3, 9), data=st.data())
def test_record_that_is_not_an_object_is_400_at_its_path(n, data):
    rows = _base_rows(n)
    i = data.draw(st.integers(0, n - 1))
    rows[i] = data.draw(st.one_of(scalars, st.lists(scalars, max_size=3)))
    status, out = _check_response(se.handle_request({"data": rows}))
    assert status == 400 and out["error"] == "Invalid format"
    assert f"data.{i}" in out["details"]


def test_nan_is_missing_not_an_error():
    rows = _base_rows(8)
    rows[3]["x"] = math.nan
    status, out = _check_response(se.handle_request(json.dumps({"data": rows}, allow_nan=True)))
    assert status == 200


def test_duplicate_aliases_holding_deep_values_are_not_a_500():
    """Comparing two deeply nested values given under both spellings must not recurse to death."""
    deep = _nested(100_000)
    for body in ({"data": _base_rows(5), "include_metadata": deep, "includeMetadata": _nested(100_000)},
                 {"data": _base_rows(5), "options": {"k_max": deep, "kMax": _nested(100_000)}}):
        status, out = _check_response(se.handle_request(body))
        assert status == 422


@pytest.fixture(scope="module", params=["fitted", "loaded"])
def fitted_model(request, tmp_path_factory):
    rows = _base_rows(30)
    for i, row in enumerate(rows):  # every field kind the schema of a fitted model can hold
        row["d"] = f"2024-01-{i % 28 + 1:02d}"
        row["b"] = i % 3 == 0
    model = se.Segmenter(k_max=3).fit(rows)
    if request.param == "loaded":  # a model read back from its JSON file scores the same way
        path = tmp_path_factory.mktemp("model") / "model.json"
        model.save(path)
        model = se.Segmenter.load(path)
    return model


_MODEL_FIELDS = st.sampled_from(["x", "y", "c", "d", "b", "other"])


@st.composite
def model_records(draw):
    """New records for the fitted model: its own field names holding values of any kind."""
    n = draw(st.integers(0, 6))
    return [
        {name: draw(st.one_of(values, st.sampled_from(["2024-02-30", "9999-12-31T23:59:59-14:00", "zz"])))
         for name in draw(st.lists(_MODEL_FIELDS, max_size=4, unique=True))}
        if draw(st.integers(0, 9)) else draw(values)
        for _ in range(n)
    ]


@settings(max_examples=60, **_SETTINGS)
@given(rows=st.one_of(records(), model_records()))
def test_scoring_hostile_records_with_a_fitted_model(fitted_model, rows):
    """The same guarantees when new records are scored with a fitted model (no refit)."""
    status, _ = _check_response(se.handle_request({"data": rows}, model=fitted_model))
    event(f"status {status}")


@pytest.mark.parametrize("value", [[], 0, "", False, [1], "x", 3.5])
def test_options_that_are_not_an_object_are_a_422_on_options(value):
    """Falsy non-objects ([], 0, "", false) used to pass silently as "no options"."""
    status, out = _check_response(se.handle_request({"data": _base_rows(8), "options": value}))
    assert status == 422 and set(out["details"]) == {"options"}


def test_null_options_mean_defaults():
    status, _ = _check_response(se.handle_request({"data": _base_rows(8), "options": None}))
    assert status == 200


def test_excluding_the_id_field_is_a_no_op():
    """``exclude: ["id"]`` was a 422 claiming no record has the field."""
    status, out = _check_response(se.handle_request({"data": _base_rows(8), "options": {"exclude": ["id"]}}))
    assert status == 200
    assert "id" not in out["summary"]["features_used"]

"""segengine.json_fast gives json.loads' values and errors, with orjson or without it."""

from __future__ import annotations

import json
import math

import orjson  # the test extra installs it; a missing parser is a failure, not a skip)
import pytest
from hypothesis import given, settings, strategies as st

import segengine.json_fast as jf
from segengine.request import load_json_body


def _same_value(a, b) -> bool:
    """Equal, with the same types all the way down (1 is not 1.0), -0.0 apart from 0.0, NaN == NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def _outcome(fn, text):
    try:
        return ("value", fn(text))
    except json.JSONDecodeError as exc:
        return ("error", type(exc).__name__, exc.msg, exc.lineno, exc.colno)
    except (RecursionError, ValueError) as exc:
        return ("error", type(exc).__name__, str(exc))


def _check(text, monkeypatch=None):
    """json_fast.loads and json.loads agree on ``text``, also when it is short."""
    ref = _outcome(json.loads, text)
    for threshold in (jf.MIN_FAST_CHARS, 0):
        old = jf.MIN_FAST_CHARS
        jf.MIN_FAST_CHARS = threshold
        try:
            got = _outcome(jf.loads, text)
        finally:
            jf.MIN_FAST_CHARS = old
        assert got[0] == ref[0], (text[:200], got, ref)
        if ref[0] == "value":
            assert _same_value(got[1], ref[1]), text[:200]
        else:
            assert got == ref


def _padded(body: str) -> str:
    """``body`` as a record in a request large enough for the fast path."""
    pad = ",".join(f'{{"id":"p{i}","x":{i}.5}}' for i in range(300))
    return f'{{"data":[{pad},{{"id":"t","v":{body}}}],"options":{{"k_max":4}}}}'


EDGE_CASES = [
    "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "-0.0", "0.0", "4.9e-324",
    "2.4703282292062328e-324", "2.2250738585072011e-308", "1.7976931348623157e308",
    "1.7976931348623159e308", "9007199254740993", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    "123456789012345678901234567890", "1" * 5000, "0.1", "1.00000000000000011102230246251565404236316680908203125",
    "1E5", "1e+5", "1.5E-5", "01", "1.", ".5", "-", "+1", "0x10", "true", "false", "null", "True",
    '"\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '"\x01"', '"a\\x"', '"[{"', '"]}"', '"\u00e9\u4e2d"',
    "[" * 70 + "]" * 70, "[" * 1000 + "]" * 1000, "[" * 1025 + "]" * 1025,
    '{"a": ' * 70 + "1" + "}" * 70, '{"a":1,"a":2}', '{"a":1,"b":[1,2,{"c":[3]}]}', "[1,2,]", "{,}",
    " \t\n\r1 \t\n\r", "1 2", "\u00a01", "",
]


@pytest.mark.parametrize("body", EDGE_CASES)
def test_edge_cases_alone_and_inside_a_large_request(body):
    _check(body)
    _check(_padded(body))


def test_texts_from_lenient_writers_and_bytes():
    _check(_padded("[NaN, Infinity]"))
    _check("\ufeff" + _padded("1"))
    raw = _padded("1.25").encode()
    assert _same_value(jf.loads(raw), json.loads(raw))
    assert _same_value(jf.loads(b"\xef\xbb\xbf" + raw), json.loads(b"\xef\xbb\xbf" + raw))
    assert _same_value(jf.loads(_padded("1").encode("utf-16")), json.loads(_padded("1").encode("utf-16")))


def test_a_record_with_a_nested_value_is_proven_or_handed_over():
    # Records are counted, not walked: a nested value in one (a 422 later) goes to json.loads.
    text = _padded('{"deep": [[1, 2], {"e": [3]}]}')
    assert jf.standard_equivalent(text, orjson.loads(text)) is False
    _check(text)
    # Outside the records, nesting is walked and proven.
    nested = '{"data":[' + ",".join(f'{{"x":{i}}}' for i in range(400)) + '],"options":{"a":[[1],{"b":[2]}]}}'
    assert jf.standard_equivalent(nested, orjson.loads(nested)) is True
    deep = _padded("[" * 80 + "]" * 80)
    assert jf.standard_equivalent(deep, orjson.loads(deep)) is False
    _check(deep)


def test_the_proofs_reject_what_orjson_reads_differently():
    big = _padded("18446744073709551616")
    assert isinstance(orjson.loads(big)["data"][-1]["v"], float)  # what the proof guards against
    assert jf.standard_equivalent(big, orjson.loads(big)) is False
    assert isinstance(jf.loads(big)["data"][-1]["v"], int)
    bracket = _padded('"a [ in a string"')
    assert jf.standard_equivalent(bracket, orjson.loads(bracket)) is False
    plain = _padded("1.5")
    assert jf.standard_equivalent(plain, orjson.loads(plain)) is True


def test_request_bodies_keep_their_errors_and_duplicate_key_paths():
    from segengine.errors import InvalidRequestError, ValidationError

    text = _padded('{"a": 1, "a": 2}')
    with pytest.raises(ValidationError) as info:
        load_json_body(text)
    assert list(info.value.details) == ["data.300.v.a"]
    with pytest.raises(InvalidRequestError) as info:
        load_json_body(_padded("[1,"))
    assert "line 1 column" in info.value.details["body"]


def test_without_orjson_the_standard_library_parses(monkeypatch):
    monkeypatch.setattr(jf, "_orjson", False)
    text = _padded("[1.5, 18446744073709551616]")
    assert _same_value(jf.loads(text), json.loads(text))


def _scalar_text():
    floats = st.floats(allow_nan=False, allow_infinity=False).map(repr)
    decimals = st.tuples(
        st.sampled_from(["", "-"]), st.text("0123456789", min_size=1, max_size=25).filter(
            lambda s: s == "0" or not s.startswith("0")),
        st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=25).map(lambda s: "." + s)),
        st.one_of(st.just(""), st.integers(-330, 330).map(lambda e: f"e{e}")),
    ).map("".join)
    ints = st.integers(-(2**70), 2**70).map(str)
    strings = st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False))
    return st.one_of(floats, decimals, ints, strings, st.sampled_from(["null", "true", "false", "NaN", "-Infinity"]))


json_texts = st.recursive(
    _scalar_text(),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "c", "[", "x{"]), inner, max_size=3).map(
            lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"),
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(json_texts)
def test_random_documents_alone_and_in_a_large_request(text):
    _check(text)
    _check(_padded(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=400, max_size=400))
def test_float_literals_round_like_the_standard_library(values):
    text = json.dumps(values)
    got, ref = jf.loads(text), json.loads(text)
    assert all(_same_value(a, b) for a, b in zip(got, ref))

"""Segment profiles against pandas group-bys on realistic customer-like data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from segengine.profiling import CHARACTERISTIC_MIN_EFFECT, FieldColumn, SegmentProfiles, profile_segments

RTOL = 1e-5  # outputs carry 6 significant digits: relative rounding error <= 5e-6


def customer_like(n: int = 3000, seed: int = 0) -> tuple[list[FieldColumn], np.ndarray, int]:
    """Skewed spend, channel with missing, binary flag, constant column, a segment of size 1."""
    rng = np.random.default_rng(seed)
    k = 4
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    labels[rng.integers(n)] = 3  # a segment of exactly one record
    spend = rng.lognormal(4.0 + labels * 0.6, 1.0)
    spend[rng.random(n) < 0.05] = np.nan
    recency = np.where(labels == 1, rng.exponential(20, n), rng.exponential(120, n)).round()
    orders = 1.0 + rng.poisson(2 + 3 * (labels == 2))
    flag = (rng.random(n) < np.where(labels == 2, 0.8, 0.3)).astype(float)
    flag[rng.random(n) < 0.02] = np.nan
    const = np.full(n, 7.5)
    balance = rng.normal(0, 100, n)  # negative values: lift undefined
    chan_p = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.6, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    u = rng.random(n)[:, None] < np.cumsum(chan_p[labels], axis=1)
    channel = np.array(["web", "store", "app"], dtype=object)[u.argmax(axis=1)]
    channel[rng.random(n) < 0.04] = None
    email = np.array([f"c{i}@example.com" for i in range(n)], dtype=object)
    cols = [
        FieldColumn("monetary", "numeric", spend, True),
        FieldColumn("recencyDays", "numeric", recency, True),
        FieldColumn("orders", "numeric", orders, True),
        FieldColumn("loyalty_member", "binary", flag, True),
        FieldColumn("constant", "numeric", const, False),
        FieldColumn("balance", "numeric", balance, True),
        FieldColumn("channel", "categorical", channel, True),
        FieldColumn("email", "categorical", email, False),
    ]
    return cols, labels, k


def _close(a, b) -> bool:
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-9)


def _walk(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


@pytest.fixture(scope="module")
def data():
    cols, labels, k = customer_like()
    return cols, labels, k, profile_segments(cols, labels, k)


def test_numeric_profiles_match_pandas(data):
    cols, labels, k, prof = data
    df = pd.DataFrame({c.name: c.values for c in cols if c.kind != "categorical"})
    df["seg"] = labels
    g = df.groupby("seg")
    for c in cols:
        if c.kind == "categorical":
            continue
        col = g[c.name]
        expect = {
            "mean": col.mean(), "median": col.median(), "std": col.std(ddof=0),
            "p25": col.quantile(0.25), "p75": col.quantile(0.75), "min": col.min(), "max": col.max(),
        }
        pop_mean, pop_std = df[c.name].mean(), df[c.name].std(ddof=0)
        for s in range(k):
            p = prof.profiles[s][c.name]
            for key, ser in expect.items():
                assert _close(p[key], float(ser.loc[s])), (c.name, s, key, p[key], ser.loc[s])
            miss = df.loc[df.seg == s, c.name].isna().mean()
            assert _close(p["missing_rate"], float(miss))
            if c.name in ("constant",):
                assert p["effect_size"] is None
            else:
                assert _close(p["effect_size"], (col.mean().loc[s] - pop_mean) / pop_std)
            if c.name == "balance":
                assert p["lift"] is None
            else:
                assert _close(p["lift"], col.mean().loc[s] / pop_mean)
        assert _close(prof.overall[c.name]["mean"], float(pop_mean))
        assert _close(prof.overall[c.name]["std"], float(pop_std))


def test_size_one_segment(data):
    cols, labels, k, prof = data
    assert prof.sizes.tolist() == np.bincount(labels, minlength=k).tolist()
    assert prof.sizes[3] == 1
    p = prof.profiles[3]["orders"]
    assert p["std"] == 0.0 and p["min"] == p["max"] == p["median"] == p["p25"] == p["p75"] == p["mean"]


def test_categorical_profiles_match_pandas(data):
    cols, labels, k, prof = data
    ch = next(c for c in cols if c.name == "channel")
    df = pd.DataFrame({"channel": ch.values, "seg": labels})
    overall = df["channel"].value_counts(normalize=True)
    for s in range(k):
        sub = df.loc[df.seg == s, "channel"]
        shares = sub.value_counts(normalize=True)
        top = prof.profiles[s]["channel"]["top"]
        assert len(top) == len(shares)
        for entry in top:
            assert _close(entry["share"], float(shares[entry["value"]]))
            assert _close(entry["lift"], float(shares[entry["value"]] / overall[entry["value"]]))
        assert [e["share"] for e in top] == sorted((e["share"] for e in top), reverse=True)
        assert _close(prof.profiles[s]["channel"]["missing_rate"], float(sub.isna().mean()))
    assert set(prof.overall["channel"]["shares"]) == {"web", "store", "app"}


def test_high_cardinality_unused_field_is_not_profiled(data):
    cols, labels, k, prof = data
    assert "email" not in prof.overall
    assert all("email" not in p for p in prof.profiles)
    # the same field, used, is profiled (top 5 of many singletons)
    email = next(c for c in cols if c.name == "email")
    used = profile_segments([FieldColumn("email", "categorical", email.values, True)], labels, k)
    assert len(used.profiles[0]["email"]["top"]) == 5


def test_json_safe(data):
    *_, prof = data
    text = json.dumps([prof.profiles, prof.characteristics, prof.overall], allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    for v in _walk([prof.profiles, prof.characteristics, prof.overall]):
        assert v is None or isinstance(v, (str, int, float, bool))
        if isinstance(v, float):
            assert math.isfinite(v)


def test_characteristics_ranked(data):
    cols, labels, k, prof = data
    for s in range(k):
        chars = prof.characteristics[s]
        assert 1 <= len(chars)
        eff = [abs(c["effect_size"]) for c in chars]
        assert eff == sorted(eff, reverse=True)
        # threshold, except the single kept-anyway one
        assert all(e >= CHARACTERISTIC_MIN_EFFECT for e in eff) or len(chars) == 1
        for c in chars:
            assert c["direction"] in ("high", "low", "over")
            if c["kind"] != "categorical":
                assert c["direction"] == ("high" if c["effect_size"] > 0 else "low")
                assert c["effect_size"] == prof.profiles[s][c["feature"]]["effect_size"]
    # segment 1 was built with low recency, segment 2 with many orders and the flag
    feats1 = {c["feature"]: c for c in prof.characteristics[1]}
    assert feats1["recencyDays"]["direction"] == "low"
    assert feats1["channel"]["category"] == "app"
    feats2 = {c["feature"]: c["direction"] for c in prof.characteristics[2]}
    assert feats2["orders"] == "high" and feats2["loyalty_member"] == "high"


def test_revenue_share(data):
    cols, labels, k, prof = data
    spend = cols[0].values
    share = prof.overall["monetary"]["sum_share"]
    for s in range(k):
        assert _close(share[s], float(np.nansum(spend[labels == s]) / np.nansum(spend)))
    assert prof.overall["balance"]["sum_share"] is None


def test_permutation_invariant(data):
    cols, labels, k, prof = data
    perm = np.random.default_rng(5).permutation(labels.shape[0])
    cols2 = [FieldColumn(c.name, c.kind, c.values[perm], c.used) for c in cols]
    prof2 = profile_segments(cols2, labels[perm], k)
    assert prof2.profiles == prof.profiles
    assert prof2.characteristics == prof.characteristics


def test_empty_segment_and_all_missing():
    labels = np.array([0, 0, 1, 1, 1])
    cols = [
        FieldColumn("x", "numeric", np.array([1.0, 2.0, np.nan, np.nan, np.nan]), True),
        FieldColumn("c", "categorical", np.array(["a", None, None, None, None], dtype=object), True),
    ]
    prof = profile_segments(cols, labels, 3)
    assert prof.sizes.tolist() == [2, 3, 0]
    assert prof.profiles[1]["x"]["mean"] is None and prof.profiles[1]["x"]["missing_rate"] == 1.0
    assert prof.profiles[2]["x"]["missing_rate"] is None
    assert prof.profiles[1]["c"] == {"top": [], "missing_rate": 1.0}
    json.dumps(prof.profiles, allow_nan=False)


def test_bad_labels():
    with pytest.raises(ValueError):
        profile_segments([FieldColumn("x", "numeric", np.ones(3), True)], np.array([0, 1, 2]), 2)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 60),
    k=st.integers(1, 6),
    scale=st.sampled_from([1e-12, 1.0, 1e12]),
    seed=st.integers(0, 1000),
)
def test_matches_pandas_any_shape(n, k, scale, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    x = rng.normal(3, 1, n) * scale
    x[rng.random(n) < 0.2] = np.nan
    dup = np.repeat(x[:1], n)  # duplicate points / constant
    prof = profile_segments(
        [FieldColumn("x", "numeric", x, True), FieldColumn("d", "numeric", dup, True)], labels, k
    )
    g = pd.Series(x).groupby(labels)
    for s in range(k):
        p = prof.profiles[s]["x"]
        if s not in g.groups or pd.Series(x[labels == s]).isna().all():
            assert p["mean"] is None
            continue
        assert _close(p["mean"], float(g.mean()[s]))
        assert _close(p["median"], float(g.median()[s]))
        assert _close(p["std"], float(g.std(ddof=0)[s]))
        assert _close(p["p75"], float(g.quantile(0.75)[s]))
    json.dumps(prof.profiles, allow_nan=False)
    assert isinstance(prof, SegmentProfiles)


def test_quantiles_small_and_tied_segments():
    # the partition shortcut must equal numpy's linear interpolation for every small size and ties
    from segengine.profiling import _quantiles

    rng = np.random.default_rng(3)
    for m in [*range(1, 30), 257, 1000, 1001]:
        for ties in (False, True):
            x = rng.integers(0, 4, m).astype(float) if ties else rng.normal(size=m)
            got = _quantiles(x.copy())
            np.testing.assert_allclose(got, np.percentile(x, [0, 25, 50, 75, 100]), rtol=1e-12, atol=1e-12)


def test_labels_any_integer_dtype_and_many_segments():
    rng = np.random.default_rng(4)
    n, k = 2000, 300  # more segments than uint8 holds
    labels = rng.integers(0, k, n)
    x = rng.normal(size=n)
    ref = profile_segments([FieldColumn("x", "numeric", x, True)], labels, k)
    for dtype in (np.int32, np.uint16, np.float64):
        got = profile_segments([FieldColumn("x", "numeric", x, True)], labels.astype(dtype), k)
        assert got.profiles == ref.profiles
    g = pd.Series(x).groupby(labels).median()
    for s in g.index[:20]:
        assert _close(ref.profiles[s]["x"]["median"], float(g[s]))


def test_categorical_nan_is_missing_like_none():
    labels = np.array([0, 0, 0, 1, 1])
    vals = np.array(["a", float("nan"), None, "b", "a"], dtype=object)
    prof = profile_segments([FieldColumn("c", "categorical", vals, True)], labels, 2)
    assert prof.profiles[0]["c"] == {"top": [{"value": "a", "share": 1.0, "lift": 1.5}], "missing_rate": 0.666667}
    assert prof.overall["c"]["shares"] == {"a": 0.666667, "b": 0.333333}


def test_single_segment_has_no_characteristic():
    rng = np.random.default_rng(8)
    cols = [FieldColumn("x", "numeric", rng.normal(size=50), True),
            FieldColumn("c", "categorical", np.array(rng.choice(["a", "b"], 50), dtype=object), True)]
    cols.append(FieldColumn("y", "numeric", rng.lognormal(size=50) * 1e6 + 0.1, True))
    prof = profile_segments(cols, np.zeros(50, dtype=int), 1)
    assert prof.profiles[0]["y"]["effect_size"] == 0.0 and prof.profiles[0]["y"]["lift"] == 1.0
    assert prof.characteristics == [[]]
    assert prof.profiles[0]["x"]["effect_size"] == 0.0
    assert prof.overall["x"]["sum_share"] is None  # negative values


def test_fields_profiled_on_two_threads_give_the_same_profiles(monkeypatch):
    # Large inputs profile their numeric fields two at a time; nothing in the result (values,
    # field order, characteristics) may depend on it.
    import segengine.profiling as profiling
    from segengine import config

    cols, labels, k = customer_like(n=6000, seed=3)
    calls = []
    original = profiling.map_two_threads
    monkeypatch.setattr(profiling, "map_two_threads",
                        lambda fn, items: calls.append(len(items)) or original(fn, items))
    monkeypatch.setattr(config, "FIELD_THREADS_MIN_VALUES", 10**12)
    serial = profile_segments(cols, labels, k)
    assert calls == []
    monkeypatch.setattr(config, "FIELD_THREADS_MIN_VALUES", 0)
    threaded = profile_segments(cols, labels, k)
    assert calls == [6]  # the numeric and binary fields
    assert json.dumps(threaded.profiles) == json.dumps(serial.profiles)
    assert threaded.characteristics == serial.characteristics
    assert list(threaded.overall) == list(serial.overall) == [c.name for c in cols if c.name != "email"]
    assert threaded.overall == serial.overall


def test_a_bad_column_is_refused_before_any_profile():
    good = FieldColumn("x", "numeric", np.arange(4.0), True)
    with pytest.raises(ValueError, match="'short' has 3 values for 4 labels"):
        profile_segments([good, FieldColumn("short", "numeric", np.ones(3), True)], np.array([0, 1, 0, 1]), 2)
    with pytest.raises(ValueError, match="unknown field kind 'blob'"):
        profile_segments([good, FieldColumn("b", "blob", np.ones(4), True)], np.array([0, 1, 0, 1]), 2)

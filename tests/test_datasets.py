"""The embedded data sets: deterministic, JSON-able, realistic, from known segments."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from segengine.datasets import DEMO_REFERENCE_DATE, DEMO_SEGMENTS, load_demo_customers, make_numeric_customers

FIELDS = {
    "id",
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_months",
    "channel",
    "region",
    "loyalty_member",
    "email",
    "last_purchase_date",
}
SEG = {name: i for i, name in enumerate(DEMO_SEGMENTS)}


@pytest.fixture(scope="module")
def demo():
    return load_demo_customers(n=10_000, random_state=0)


def _column(records, field, truth=None, segment=None):
    return np.array(
        [
            r[field]
            for r, t in zip(records, truth if truth is not None else [None] * len(records))
            if r[field] is not None and (segment is None or t == segment)
        ],
        dtype=float,
    )


# ---------------------------------------------------------------- load_demo_customers


def test_demo_is_deterministic_and_seed_dependent():
    a, ta = load_demo_customers(n=500, random_state=3)
    b, tb = load_demo_customers(n=500, random_state=3)
    c, _ = load_demo_customers(n=500, random_state=4)
    assert a == b
    np.testing.assert_array_equal(ta, tb)
    assert a != c


def test_demo_records_are_plain_json(demo):
    records, _ = demo
    text = json.dumps(records)
    assert json.loads(text) == records
    allowed = (int, float, str, bool, type(None))
    for r in records[:500]:
        assert set(r) == FIELDS
        for value in r.values():
            # numpy scalars would pass json.dumps only by accident (np.float64 subclasses float)
            assert type(value) in allowed


def test_demo_field_types_and_ranges(demo):
    records, truth = demo
    assert truth.shape == (len(records),)
    assert truth.dtype == np.int64
    ids = [r["id"] for r in records]
    emails = [r["email"] for r in records]
    assert len(set(ids)) == len(ids)
    assert len(set(emails)) == len(emails)
    reference = dt.date.fromisoformat(DEMO_REFERENCE_DATE)
    for r in records:
        assert r["id"].startswith("C") and r["id"][1:].isdigit()
        assert r["email"] == f"{r['id'].lower()}@example.com"
        assert type(r["recency_days"]) is int and 0 <= r["recency_days"] <= 364
        assert type(r["frequency"]) is int and r["frequency"] >= 1
        assert type(r["monetary"]) is float and r["monetary"] > 0
        assert round(r["monetary"], 2) == r["monetary"]
        if r["avg_order_value"] is not None:
            assert type(r["avg_order_value"]) is float
            assert r["avg_order_value"] == pytest.approx(
                r["monetary"] / r["frequency"], abs=0.006
            )
        if r["tenure_months"] is not None:
            assert type(r["tenure_months"]) is int and r["tenure_months"] >= 1
            # nobody bought before joining
            assert r["tenure_months"] * 31 >= r["recency_days"]
        assert r["channel"] in (None, "web", "store", "app", "phone")
        assert r["region"] in ("north", "south", "east", "west", "central")
        assert type(r["loyalty_member"]) is bool
        last = dt.date.fromisoformat(r["last_purchase_date"])
        assert (reference - last).days == r["recency_days"]


def test_demo_missing_rate(demo):
    records, _ = demo
    n = len(records)
    for field in ("avg_order_value", "tenure_months", "channel"):
        rate = sum(r[field] is None for r in records) / n
        assert 0.015 <= rate <= 0.035, (field, rate)
    for field in ("id", "recency_days", "frequency", "monetary", "region", "loyalty_member"):
        assert all(r[field] is not None for r in records)


def test_demo_segment_sizes_are_exact_and_unequal(demo):
    _, truth = demo
    sizes = np.bincount(truth, minlength=len(DEMO_SEGMENTS))
    np.testing.assert_array_equal(sizes, [1200, 2300, 1500, 1800, 3200])
    # shuffled: the true segments are not in blocks
    assert np.count_nonzero(np.diff(truth)) > len(truth) // 2


def test_demo_segments_differ_in_the_expected_direction(demo):
    records, truth = demo

    def mean(field, name):
        return _column(records, field, truth, SEG[name]).mean()

    monetary = {s: mean("monetary", s) for s in DEMO_SEGMENTS}
    recency = {s: mean("recency_days", s) for s in DEMO_SEGMENTS}
    frequency = {s: mean("frequency", s) for s in DEMO_SEGMENTS}
    tenure = {s: mean("tenure_months", s) for s in DEMO_SEGMENTS}
    assert max(monetary, key=monetary.get) == "champions"
    assert min(monetary, key=monetary.get) == "hibernating"
    assert max(recency, key=recency.get) == "hibernating"
    assert max(frequency, key=frequency.get) == "champions"
    assert min(tenure, key=tenure.get) == "new"
    # at risk: used to buy, not recently
    assert recency["at_risk"] > 3 * recency["loyal"]
    assert frequency["at_risk"] > frequency["hibernating"]
    loyalty = {
        s: np.mean([r["loyalty_member"] for r, t in zip(records, truth) if t == SEG[s]])
        for s in DEMO_SEGMENTS
    }
    assert max(loyalty, key=loyalty.get) == "champions"
    app_share = np.mean(
        [r["channel"] == "app" for r, t in zip(records, truth) if t == SEG["champions"]]
    )
    assert app_share > 0.35


def test_demo_monetary_is_right_skewed(demo):
    records, _ = demo
    monetary = _column(records, "monetary")
    assert monetary.mean() > 1.5 * np.median(monetary)


@pytest.mark.parametrize("n", [1, 2, 10, 37])
def test_demo_small_n(n):
    records, truth = load_demo_customers(n=n)
    assert len(records) == n == len(truth)
    assert len({r["id"] for r in records}) == n
    json.dumps(records)


@pytest.mark.parametrize("bad", [0, -5])
def test_demo_rejects_non_positive_n(bad):
    with pytest.raises(ValueError):
        load_demo_customers(n=bad)


@pytest.mark.parametrize("bad", [2.5, "10", True, None])
def test_demo_rejects_non_integer_n(bad):
    with pytest.raises(TypeError):
        load_demo_customers(n=bad)


def test_demo_as_frame():
    import pandas as pd
    frame, truth = load_demo_customers(n=200, random_state=1, as_frame=True)
    records, truth2 = load_demo_customers(n=200, random_state=1)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(records[0])
    assert len(frame) == 200
    np.testing.assert_array_equal(truth, truth2)
    assert frame["id"].tolist() == [r["id"] for r in records]


# ---------------------------------------------------------------- make_numeric_customers


def test_numeric_shape_types_and_determinism():
    records, truth = make_numeric_customers(n=1000, n_features=10, n_segments=4, random_state=5)
    again, truth2 = make_numeric_customers(n=1000, n_features=10, n_segments=4, random_state=5)
    assert records == again
    np.testing.assert_array_equal(truth, truth2)
    assert len(records) == 1000
    assert list(records[0]) == ["id"] + [f"f{j}" for j in range(10)]
    assert len({r["id"] for r in records}) == 1000
    for r in records[:100]:
        assert all(type(r[f"f{j}"]) is float for j in range(10))
    json.dumps(records)
    sizes = np.bincount(truth)
    assert len(sizes) == 4
    assert list(sizes) == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


def test_numeric_segments_are_recoverable_but_overlap():
    import sklearn.cluster as sklearn_cluster
    from sklearn.metrics import adjusted_rand_score

    records, truth = make_numeric_customers(n=4000, n_features=10, n_segments=4, random_state=0)
    x = np.array([[r[f"f{j}"] for j in range(10)] for r in records])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    labels = sklearn_cluster.KMeans(4, n_init=3, random_state=0).fit_predict(x)
    assert adjusted_rand_score(truth, labels) > 0.8
    # realistic: features on very different scales, so scaling matters
    spread = x.std(axis=0)
    raw = np.array([[r[f"f{j}"] for j in range(10)] for r in records]).std(axis=0)
    assert raw.max() / raw.min() > 10
    assert np.allclose(spread, 1.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    n_features=st.integers(1, 6),
    n_segments=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_numeric_any_shape(n, n_features, n_segments, seed):
    records, truth = make_numeric_customers(n, n_features, n_segments, seed)
    assert len(records) == n == len(truth)
    assert all(len(r) == n_features + 1 for r in records)
    assert truth.min() >= 0 and truth.max() < n_segments
    x = np.array([[r[f"f{j}"] for j in range(n_features)] for r in records])
    assert np.isfinite(x).all()


@pytest.mark.parametrize(
    "kwargs", [{"n": 0}, {"n_features": 0}, {"n_segments": 0}, {"n": -1}]
)
def test_numeric_rejects_bad_sizes(kwargs):
    with pytest.raises(ValueError):
        make_numeric_customers(**kwargs)


def test_demo_segments_are_recoverable(demo):
    # The demo must show off segmentation: its five segments stand apart in the numeric
    # fields well enough for plain KMeans at k=5 to find them.
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    records, truth = demo
    fields = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_months")
    x = np.array([[np.nan if r[f] is None else r[f] for f in fields] for r in records], float)
    x = np.where(np.isnan(x), np.nanmedian(x, axis=0), x)
    x[:, 1:4] = np.log1p(x[:, 1:4])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    labels = KMeans(5, n_init=5, random_state=0).fit_predict(x)
    assert adjusted_rand_score(truth, labels) > 0.85

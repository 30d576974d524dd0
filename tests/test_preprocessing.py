"""segengine.preprocessing: typed columns into the model matrix, against a naive numpy reference.

What a caller relies on: each scaling is the textbook one, skewed non-negative fields are
log1p-transformed under ``scaling="auto"``, categorical levels become one-hot columns weighted
1/sqrt(2), missing values are imputed (median, observed mean, no level), unusable fields are left
out with a reason, new records are transformed exactly like the training records, and the fitted
state survives a JSON round trip.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from segengine.errors import ValidationError
from segengine.options import SegmentationOptions
from segengine.preprocessing import Preprocessor
from segengine.table import table_from_records

W = 1.0 / math.sqrt(2.0)


def _details(err: pytest.ExceptionInfo) -> dict[str, str]:
    """Path -> English sentence of a raised segengine error, as the contract renders it."""
    return err.value.to_dict().get("details", {})


def _fit(records, **options):
    pre = Preprocessor(SegmentationOptions(**options))
    X = pre.fit_transform(table_from_records(records))
    return pre, X


def _field(pre, name):
    (f,) = [f for f in pre.fields_ if f.name == name]
    return f


def _skewness(x):
    d = x - x.mean()
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)


def _naive_numeric(x: np.ndarray, scaling: str) -> np.ndarray:
    """Median imputation, then the textbook scaling (log1p first when "auto" finds skew)."""
    observed = x[~np.isnan(x)]
    x = np.where(np.isnan(x), np.median(observed), x)
    if scaling == "auto" and observed.min() >= 0 and _skewness(observed) > 2.0:
        x, observed = np.log1p(x), np.log1p(observed)
    if scaling in ("auto", "standard"):
        return (x - observed.mean()) / observed.std()
    if scaling == "robust":
        q1, med, q3 = np.percentile(observed, [25, 50, 75])
        return (x - med) / (q3 - q1)
    if scaling == "minmax":
        return (x - observed.min()) / (observed.max() - observed.min())
    return x


# ------------------------------------------------------------------------------ numeric fields


@pytest.mark.parametrize("scaling", ["auto", "standard", "robust", "minmax", "none"])
def test_numeric_scalings_equal_the_textbook_ones(scaling):
    rng = np.random.default_rng(4)
    normal = rng.normal(50, 10, 200)
    skewed = rng.exponential(1.0, 200) ** 3  # non-negative, skewness far above 2
    normal[[3, 17]] = np.nan
    records = [{"id": i, "normal": None if np.isnan(a) else float(a), "skewed": float(b)}
               for i, (a, b) in enumerate(zip(normal, skewed))]
    pre, X = _fit(records, scaling=scaling)
    assert pre.feature_names_out_ == ["normal", "skewed"]
    assert X.shape == (200, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_allclose(X[:, 0], _naive_numeric(normal, scaling), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X[:, 1], _naive_numeric(skewed, scaling), rtol=1e-12, atol=1e-12)
    assert _field(pre, "skewed").log1p is (scaling == "auto")
    assert _field(pre, "normal").log1p is False
    assert _field(pre, "normal").impute == pytest.approx(np.nanmedian(normal))


def test_log1p_needs_skew_and_no_negative_value():
    rng = np.random.default_rng(5)
    skewed = rng.exponential(1.0, 300) ** 3
    records = [{"pos": float(v), "neg": float(v) - 1.0, "flat": float(rng.uniform())} for v in skewed]
    pre, _ = _fit(records)
    assert _field(pre, "pos").log1p
    assert not _field(pre, "neg").log1p  # a negative value: log1p is not taken
    assert not _field(pre, "flat").log1p  # not skewed


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 60), st.integers(0, 2**32 - 1), st.sampled_from(["auto", "standard", "robust", "minmax", "none"]),
       st.floats(0.0, 0.4))
def test_random_numeric_fields_equal_the_reference(n, seed, scaling, missing_share):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, rng.uniform(0.1, 2.0), n) * rng.choice([-1.0, 1.0])
    x[rng.random(n) < missing_share] = np.nan
    observed = x[~np.isnan(x)]
    if observed.size < 2 or observed.min() == observed.max():
        return
    if scaling == "robust" and np.subtract(*np.percentile(observed, [75, 25])) == 0:
        return  # robust falls back to the standard deviation: covered by its own test
    pre, X = _fit([{"v": None if np.isnan(v) else float(v)} for v in x], scaling=scaling)
    np.testing.assert_allclose(X[:, 0], _naive_numeric(x, scaling), rtol=1e-10, atol=1e-10)


def test_robust_scaling_with_no_interquartile_range_uses_the_standard_deviation():
    values = [0.0] * 20 + [5.0, 9.0]
    pre, X = _fit([{"v": v} for v in values], scaling="robust")
    x = np.array(values)
    np.testing.assert_allclose(X[:, 0], (x - 0.0) / x.std())


def test_dates_are_days_scaled_like_numbers():
    records = [{"d": f"2024-01-{day:02d}"} for day in (1, 2, 4, 8, 16, 31)]
    pre, X = _fit(records, scaling="standard")
    days = np.array([30.0, 29.0, 27.0, 23.0, 15.0, 0.0])
    np.testing.assert_allclose(X[:, 0], (days - days.mean()) / days.std())
    assert _field(pre, "d").kind == "date" and _field(pre, "d").date_reference.startswith("2024-01-31")


# ------------------------------------------------------------------------------ binary and categorical


def test_binary_stays_zero_one_and_missing_takes_the_observed_mean():
    values = [True, False, True, None, True]
    pre, X = _fit([{"b": v} for v in values], scaling="standard")
    np.testing.assert_array_equal(X[:, 0], [1.0, 0.0, 1.0, 0.75, 1.0])


@pytest.mark.parametrize("scaling, weight", [("auto", W), ("minmax", W), ("none", 1.0)])
def test_one_hot_columns_by_frequency_then_text(scaling, weight):
    plans = ["pro", "basic", "pro", None, "team", "basic", "pro", "alpha"]
    pre, X = _fit([{"plan": p} for p in plans], scaling=scaling)
    # pro (3), basic (2), then alpha and team (1 each) in text order.
    assert pre.feature_names_out_ == ["plan=pro", "plan=basic", "plan=alpha", "plan=team"]
    order = ["pro", "basic", "alpha", "team"]
    expected = np.array([[weight * (p == level) for level in order] for p in plans])
    np.testing.assert_array_equal(X, expected)
    assert not X[3].any()  # a missing level is no level


def test_mixed_fields_make_one_matrix_in_field_order():
    records = [{"id": i, "x": float(i), "plan": "ab"[i % 2], "vip": i % 3 == 0} for i in range(12)]
    pre, X = _fit(records, scaling="minmax")
    assert pre.used_fields_ == ["x", "plan", "vip"]
    assert pre.feature_names_out_ == ["x", "plan=a", "plan=b", "vip"]
    np.testing.assert_allclose(X[:, 0], np.arange(12) / 11)
    np.testing.assert_array_equal(X[:, 1] + X[:, 2], np.full(12, W))
    np.testing.assert_array_equal(X[:, 3], [float(i % 3 == 0) for i in range(12)])


# ------------------------------------------------------------------------------ fields left out


def test_unusable_fields_are_left_out_with_their_reason():
    records = [{"id": i, "x": float(i % 7), "same": 3.0, "same_text": "a", "nothing": None,
                "email": f"u{i}@x.org", "skip": float(i)} for i in range(40)]
    pre, X = _fit(records, exclude=("skip",), max_categories=20)
    reasons = {f.name: (f.used, f.reason) for f in pre.fields_}
    assert reasons == {
        "x": (True, None), "same": (False, "constant"), "same_text": (False, "constant"),
        "nothing": (False, "empty"), "email": (False, "high_cardinality"), "skip": (False, "excluded"),
    }
    assert pre.used_fields_ == ["x"] and X.shape == (40, 1)
    assert _field(pre, "email").n_distinct == 40
    # Each notice carries a catalogue key and its parameters (rendered at the report's edge).
    notices = {key: params for key, params in pre.notices_}
    assert notices["warn_constant"]["field"] in ("same", "same_text")
    assert notices["warn_high_cardinality"] == {"field": "email", "n": 40, "max": 20}
    assert notices["warn_empty"] == {"field": "nothing"}


def test_features_choose_the_fields():
    records = [{"a": float(i), "b": float(i * i), "c": "xy"[i % 2]} for i in range(10)]
    pre, X = _fit(records, features=("c", "a"))
    assert pre.used_fields_ == ["a", "c"] and X.shape == (10, 3)
    assert _field(pre, "b").reason == "excluded"


def test_option_errors_name_the_option_path():
    records = [{"id": i, "a": float(i)} for i in range(5)]
    with pytest.raises(ValidationError) as err:
        _fit(records, features=("a", "nope", "id"))
    assert _details(err) == {
        "options.features.1": "Unknown field 'nope': no record has it.",
        "options.features.2": "'id' is the id field; it cannot be a feature.",
    }
    with pytest.raises(ValidationError) as err:
        _fit(records, exclude=("ghost",))
    assert _details(err) == {"options.exclude.0": "Unknown field 'ghost': no record has it."}
    _fit(records, exclude=("id",))  # excluding the id changes nothing


def test_no_usable_field_is_a_422_naming_data():
    with pytest.raises(ValidationError) as err:
        _fit([{"id": i, "c": 1.0} for i in range(5)])
    assert list(_details(err)) == ["data"]
    assert _details(err)["data"].startswith("No usable feature field")


def test_a_matrix_wider_than_the_cost_model_allows_is_refused(monkeypatch):
    from segengine import config

    monkeypatch.setattr(config, "MAX_MODEL_COLUMNS", 4)
    records = [{"plan": f"p{i % 6}"} for i in range(30)]
    with pytest.raises(ValidationError) as err:
        _fit(records)
    assert _details(err)["data"].startswith("The fields give 6 model columns")


# ------------------------------------------------------------------------------ new records


def test_new_records_are_transformed_like_the_training_records():
    rng = np.random.default_rng(9)
    train = [{"id": i, "x": float(rng.normal()), "plan": "abc"[i % 3], "vip": bool(i % 2)} for i in range(60)]
    pre, X = _fit(train)
    np.testing.assert_array_equal(pre.transform(table_from_records(train)), X)
    x_field = _field(pre, "x")
    new = [
        {"id": "n0", "x": 1.5, "plan": "zzz", "vip": True, "extra": 1},  # unseen level, unknown field
        {"id": "n1", "plan": "b"},  # x and vip absent: imputed
        {"id": "n2", "x": None, "plan": None, "vip": None},
    ]
    Y = pre.transform(table_from_records(new, schema={"x": ("numeric", None), "plan": ("categorical", None),
                                                      "vip": ("binary", None)}))
    assert Y.shape == (3, X.shape[1])
    names = pre.feature_names_out_
    at = {name: j for j, name in enumerate(names)}
    assert Y[0, at["x"]] == pytest.approx((1.5 - x_field.center) / x_field.scale)
    assert not Y[0, [at["plan=a"], at["plan=b"], at["plan=c"]]].any()  # an unseen level encodes as no level
    assert Y[1, at["plan=b"]] == pytest.approx(W)
    imputed_x = (x_field.impute - x_field.center) / x_field.scale
    assert Y[1, at["x"]] == pytest.approx(imputed_x) and Y[2, at["x"]] == pytest.approx(imputed_x)
    assert Y[1, at["vip"]] == pytest.approx(0.5) and Y[2, at["vip"]] == pytest.approx(0.5)
    # A used field absent from every new record is imputed too (a table without the column).
    Z = pre.transform(table_from_records([{"id": "n3", "plan": "a"}]))
    assert Z[0, at["x"]] == pytest.approx(imputed_x)


def test_a_far_new_value_is_clipped_not_infinite():
    pre, _ = _fit([{"x": float(i)} for i in range(10)], scaling="standard")
    Y = pre.transform(table_from_records([{"x": 1.7e308}, {"x": -1.7e308}]))
    assert np.isfinite(Y).all() and Y[0, 0] > 1e99 and Y[1, 0] < -1e99


# ------------------------------------------------------------------------------ persistence


def test_to_dict_from_dict_round_trip_through_json():
    rng = np.random.default_rng(2)
    records = [{"id": i, "x": float(rng.exponential() ** 3), "plan": "abcd"[i % 4], "vip": i % 5 == 0,
                "d": f"2024-02-{1 + i % 28:02d}", "same": 1} for i in range(80)]
    pre, X = _fit(records, exclude=("vip",), scaling="robust", max_categories=5)
    state = json.loads(json.dumps(pre.to_dict(), allow_nan=False))
    back = Preprocessor.from_dict(state)
    assert back.to_dict() == pre.to_dict()
    assert back.options == pre.options
    assert back.feature_names_out_ == pre.feature_names_out_ and back.used_fields_ == pre.used_fields_
    np.testing.assert_array_equal(back.transform(table_from_records(records)), X)


@pytest.mark.parametrize("scaling", ["auto", "standard", "robust", "minmax", "none"])
def test_fields_summarised_on_two_threads_give_the_same_transforms(monkeypatch, scaling):
    # Large inputs summarise their numeric fields two at a time; the fitted transforms, the
    # matrix (bit for bit) and the warnings in their order must not depend on it.
    from segengine import config

    rng = np.random.default_rng(11)
    n = 3000
    records = []
    for i in range(n):
        records.append({
            "id": i,
            "spend": float(rng.lognormal(3, 1.5)) if rng.random() > 0.05 else None,
            "score": float(rng.normal(50, 10)),
            "flag": int(rng.random() < 0.3) if rng.random() > 0.02 else None,
            "flat": 7.0,
            "none": None,
            "huge": float(rng.normal()) * 1e300,
            "plan": ["basic", "pro", None][i % 3],
            "since": f"2024-0{1 + i % 9}-1{i % 10}",
            "neg": float(rng.normal(-5, 2)) if i % 7 else None,
        })

    def fit(threshold):
        monkeypatch.setattr(config, "FIELD_THREADS_MIN_VALUES", threshold)
        pre = Preprocessor(SegmentationOptions(scaling=scaling, exclude=["neg"]))
        return pre, pre.fit_transform(table_from_records(records))

    calls = []
    import segengine.preprocessing as prep

    original = prep.map_two_threads
    monkeypatch.setattr(prep, "map_two_threads", lambda fn, items: calls.append(len(items)) or original(fn, items))
    serial, X1 = fit(10**12)
    assert calls == []
    threaded, X2 = fit(0)
    assert calls == [7]  # spend, score, flag, flat, huge, since, neg (neg excluded but summarised)
    assert serial.fields_ == threaded.fields_
    assert serial.notices_ == threaded.notices_
    assert X1.view(np.int64).tolist() == X2.view(np.int64).tolist()
    assert X2.flags.c_contiguous and X2.shape == (n, sum(f.width for f in serial.fields_))

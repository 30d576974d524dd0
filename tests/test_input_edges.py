"""Inputs that once gave wrong answers silently or a 500 (found in review), each pinned down."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import segengine as se
from segengine.errors import InvalidRequestError, ValidationError


def _rows(n=40):
    return [{"id": f"r{i}", "a": float(i % 4) * 3.0 + (i % 7) * 0.1, "d": f"2024-01-{i % 28 + 1:02d}"}
            for i in range(n)]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dataframe_datetimes_in_any_unit_profile_like_records(unit):
    rows = _rows()
    frame = pd.DataFrame(rows).set_index("id")
    frame["d"] = pd.to_datetime(frame["d"]).astype(f"datetime64[{unit}]")
    from_frame = se.Segmenter(n_clusters=2).fit(frame).report()
    from_records = se.Segmenter(n_clusters=2).fit(rows).report()
    prof = lambda r: sorted(s["profile"]["d"]["max"] for s in r["segments"])  # noqa: E731
    assert prof(from_frame) == prof(from_records)


def test_predict_on_a_dataframe_uses_the_fitted_schema():
    rows = _rows(80)
    frame = pd.DataFrame(rows)
    frame["d"] = pd.to_datetime(frame["d"])
    seg = se.Segmenter(n_clusters=3).fit(frame)
    old = frame[frame["d"] < pd.Timestamp("2024-01-10")]
    # Scored alone, old records keep their days counted from the fit's latest date.
    np.testing.assert_array_equal(seg.predict(old), seg.labels_[old.index])
    bad = frame.head(5).assign(a=lambda f: f["a"].astype(str))
    with pytest.raises(ValidationError) as info:
        seg.predict(bad)
    assert "data.0.a" in info.value.details


def test_scoring_arrays_of_another_width_or_records_without_model_fields_is_an_error():
    X = np.random.default_rng(0).normal(size=(60, 3))
    seg = se.Segmenter(n_clusters=2).fit(X)
    for wrong in (np.zeros((2, 7)), np.zeros((2, 1))):
        with pytest.raises(ValidationError) as info:
            seg.predict(wrong)
        assert "X" in info.value.details
    records_model = se.Segmenter(n_clusters=2).fit(_rows())
    status, body = se.handle_request({"data": [{"id": "x", "zzz": 1.0}]}, model=records_model)
    assert status == 422 and "data" in body["details"]


def test_integer_literals_past_pythons_limit_are_a_400_not_a_500():
    status, body = se.handle_request('{"data":[{"id":1,"a":' + "9" * 5000 + "}]}")
    assert status == 400 and body["error"] == "Invalid format"


def test_huge_integer_ids_are_a_422_at_their_path():
    rows = _rows()
    rows[3]["id"] = 10 ** 5000
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": rows})
    assert list(info.value.details) == ["data.3.id"]


def test_one_impossible_date_is_reported_and_the_field_stays_a_date():
    rows = _rows()
    rows[0]["d"] = "2024-02-30"
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": rows})
    assert list(info.value.details) == ["data.0.d"]
    rows[0]["d"] = "next tuesday"
    assert list(pytest.raises(ValidationError, se.segmentation_report, {"data": rows}).value.details) == ["data.0.d"]


def test_mostly_text_fields_with_a_date_or_two_stay_categorical():
    rows = _rows()
    for i, r in enumerate(rows):
        r["d"] = "2024-01-01" if i < 3 else ["web", "store"][i % 2]
    report = se.segmentation_report({"data": rows, "include_metadata": True})
    kinds = {f["field"]: f["kind"] for f in report["metadata"]["preprocessing"]}
    assert kinds["d"] == "categorical"


def test_duplicate_ids_in_a_dataframe_index_are_a_422():
    frame = pd.DataFrame({"a": np.arange(40) % 5 * 1.0}, index=pd.Index([0, 1] * 20, name="id"))
    with pytest.raises(ValidationError) as info:
        se.Segmenter(n_clusters=2).fit(frame)
    assert any("Duplicate" in v for v in info.value.details.values())


def test_a_mistyped_id_field_is_a_422_and_the_id_is_never_a_feature():
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": _rows(), "options": {"id_field": "customer_id"}})
    assert list(info.value.details) == ["options.id_field"]
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": _rows(), "options": {"features": ["id", "a"]}})
    assert "id field" in info.value.details["options.features.0"]


def test_options_that_a_fitted_model_cannot_honour_are_errors():
    seg = se.Segmenter(n_clusters=3).fit(_rows())
    status, body = se.handle_request({"data": _rows(10), "options": {"nClusters": 2}}, model=seg)
    assert status == 422 and list(body["details"]) == ["options.nClusters"]
    status, _ = se.handle_request({"data": _rows(10), "options": {"id_field": "id"}}, model=seg)
    assert status == 200


def test_the_same_option_spelled_twice_with_different_values_says_so():
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": _rows(), "options": {"k_max": 4, "kMax": 5}})
    (path, sentence), = info.value.details.items()
    assert "same parameter" in sentence
    assert info.value.message == "Invalid options"
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": _rows(), "include_metadata": True, "includeMetadata": False})
    assert "same parameter" in next(iter(info.value.details.values()))


def test_records_that_are_not_objects_with_a_model_are_a_400():
    seg = se.Segmenter(n_clusters=2).fit(_rows())
    with pytest.raises(InvalidRequestError):
        se.segmentation_report({"data": [1, 2, 3]}, model=seg)


def test_nearly_identical_records_above_the_search_subsample_give_a_report():
    rows = [{"id": i, "a": 0.0} for i in range(30_000)]
    rows[-1]["a"], rows[-2]["a"] = 1.0, 2.0
    status, body = se.handle_request({"data": rows})
    assert status == 200 and len(body["results"]) == 30_000


def test_id_field_is_honoured_when_scoring_with_a_model():
    seg = se.Segmenter(n_clusters=2).fit(_rows())
    body = {"data": [{"cid": "A", "a": 1.0}, {"cid": "B", "a": 9.0}], "options": {"id_field": "cid"}}
    status, out = se.handle_request(body, model=seg)
    assert status == 200 and [r["id"] for r in out["results"]] == ["A", "B"]
    body["options"]["id_field"] = "nope"
    status, out = se.handle_request(body, model=seg)
    assert status == 422 and "options.id_field" in out["details"]


def test_dataframes_with_integer_columns_datetime_or_sliced_index_score_like_they_fit():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(40, 2)))
    seg = se.Segmenter(n_clusters=3).fit(df)
    np.testing.assert_array_equal(seg.predict(df), seg.labels_)
    dated = df.set_index(pd.date_range("2024-01-01", periods=40))
    assert se.Segmenter(n_clusters=3).fit(dated).report()["results"][0]["id"].startswith("2024-01-01")
    part = df.iloc[10:]
    seg = se.Segmenter(n_clusters=3).fit(part)
    assert [r["id"] for r in seg.score_report(part)["results"]] == [r["id"] for r in seg.report()["results"]]
    with pytest.raises(ValidationError):
        seg.predict(pd.concat([part, part[[0]]], axis=1))


def test_exact_silhouette_option_is_honoured_in_the_report():
    from sklearn.datasets import make_blobs
    from sklearn.metrics import silhouette_score

    X, _ = make_blobs(n_samples=6000, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=0)
    seg = se.Segmenter(silhouette="exact", algorithm="gmm").fit(X)
    # Silhouettes are measured where the model clusters: in the preprocessed space.
    assert seg.report()["summary"]["silhouette"] == pytest.approx(silhouette_score(seg.X_, seg.labels_), abs=1e-4)


def test_dict_subclass_records_are_not_modified():
    from collections import defaultdict

    rows = [defaultdict(lambda: 0.0, r) for r in _rows()]
    rows[5] = defaultdict(lambda: 0.0, {"id": "r5", "a": 1.0, "zz": 2.0})
    before = [dict(r) for r in rows]
    se.segmentation_report({"data": rows})
    assert [dict(r) for r in rows] == before


def test_year_zero_and_all_impossible_dates_are_reported():
    rows = _rows()
    rows[2]["d"] = "0000-06-01"
    assert list(pytest.raises(ValidationError, se.segmentation_report, {"data": rows}).value.details) == ["data.2.d"]
    rows = [{"id": i, "a": float(i % 3), "d": "2024-02-30"} for i in range(10)]
    assert len(pytest.raises(ValidationError, se.segmentation_report, {"data": rows}).value.details) == 10


def test_empty_records_and_empty_id_field_say_what_is_wrong():
    seg = se.Segmenter(n_clusters=2).fit(_rows())
    with pytest.raises(InvalidRequestError):
        seg.predict([])
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": _rows(), "options": {"id_field": ""}})
    assert "non-empty" in info.value.details["options.id_field"]

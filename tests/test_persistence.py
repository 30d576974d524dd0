"""A fitted segmentation that scores new customers: predict, save, load, score_report (issue #7)."""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest

import segengine as se
from segengine.errors import ModelFileError, NotFittedError, ValidationError


@pytest.fixture(scope="module", params=["kmeans", "gmm"])
def fitted(request, demo_records):
    records, _ = demo_records
    seg = se.Segmenter(k_max=6, algorithm=request.param).fit(copy.deepcopy(records))
    return seg, records


def test_predict_on_training_data_equals_labels(fitted):
    seg, records = fitted
    assert np.array_equal(seg.predict(records), seg.labels_)


def test_predict_proba_rows_sum_to_one_and_match_prediction(fitted):
    seg, records = fitted
    proba = seg.predict_proba(records)
    assert proba.shape == (len(records), seg.n_clusters_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba[np.arange(len(records)), seg.labels_], seg.prediction_, atol=1e-12)


def test_round_trip_gives_identical_predictions(fitted, tmp_path):
    seg, records = fitted
    path = tmp_path / "model.json"
    seg.save(path)
    loaded = se.Segmenter.load(path)
    assert loaded.algorithm_ == seg.algorithm_ and loaded.n_clusters_ == seg.n_clusters_
    assert np.array_equal(loaded.predict(records), seg.predict(records))
    assert np.array_equal(loaded.predict_proba(records), seg.predict_proba(records))
    assert loaded.silhouette_scores_ == pytest.approx(seg.silhouette_scores_, abs=1e-6)


def test_saved_file_is_plain_json_with_versions(fitted, tmp_path):
    seg, _ = fitted
    path = tmp_path / "model.json"
    seg.save(path)
    state = json.loads(path.read_text())
    assert state["format"] == "segengine.segmenter"
    assert state["format_version"] == 1 and state["segengine_version"] == se.__version__
    assert not [p for p in os.listdir(tmp_path) if p != "model.json"], "no temporary file left behind"


def test_unseen_category_missing_and_new_fields_do_not_break_predict(fitted):
    seg, records = fitted
    new = copy.deepcopy(records[:20])
    new[0]["channel"] = "carrier pigeon"
    del new[1]["monetary"]
    new[2]["monetary"] = None
    new[3]["brand_new_field"] = 42
    labels = seg.predict(new)
    assert labels.shape == (20,)
    assert np.array_equal(labels[4:], seg.predict(records[4:20]))


def test_wrong_type_in_new_records_names_the_path(fitted):
    seg, records = fitted
    new = copy.deepcopy(records[:10])
    new[7]["monetary"] = "lots"
    with pytest.raises(ValidationError) as info:
        seg.predict(new)
    assert list(info.value.details) == ["data.7.monetary"]


def test_dates_in_new_records_count_from_the_fitted_reference():
    rows = [{"id": i, "last": f"2026-0{1 + i % 6}-1{i % 10}", "spend": float(i % 9) * (1 + i % 3)} for i in range(90)]
    seg = se.Segmenter(k_max=4).fit(rows)
    # Scoring a single record must not move its "days before the latest date" to 0.
    one = seg.transform_records([rows[5]])
    np.testing.assert_allclose(one, seg.X_[5:6])


def test_report_of_scored_records_with_model(fitted):
    seg, records = fitted
    body = {"data": copy.deepcopy(records[:50]), "include_metadata": True}
    report = se.segmentation_report(body, "es", model=seg)
    assert [r["id"] for r in report["results"]] == [r["id"] for r in records[:50]]
    assert [r["segment"] for r in report["results"]] == seg.predict(records[:50]).tolist()
    assert report["summary"]["n_segments"] == seg.n_clusters_
    json.dumps(report, allow_nan=False)


@pytest.mark.parametrize(
    "content",
    ["", "{", "[]", '{"format": "other"}', '{"format": "segengine.segmenter", "format_version": 99}',
     '{"format": "segengine.segmenter", "format_version": 1, "params": {}}'],
)
def test_corrupt_or_foreign_files_fail_cleanly(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelFileError):
        se.Segmenter.load(path)


def test_truncated_file_fails_cleanly(fitted, tmp_path):
    seg, _ = fitted
    path = tmp_path / "model.json"
    seg.save(path)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        se.Segmenter.load(path)


def test_missing_file_fails_cleanly(tmp_path):
    with pytest.raises(ModelFileError):
        se.Segmenter.load(tmp_path / "nope.json")


def test_newer_format_names_the_upgrade(fitted, tmp_path):
    seg, _ = fitted
    path = tmp_path / "model.json"
    seg.save(path)
    state = json.loads(path.read_text())
    state["format_version"] = 2
    path.write_text(json.dumps(state))
    with pytest.raises(ModelFileError, match="upgrade"):
        se.Segmenter.load(path)


def test_failed_save_leaves_previous_file_intact(fitted, tmp_path, monkeypatch):
    seg, _ = fitted
    path = tmp_path / "model.json"
    seg.save(path)
    before = path.read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError):
        seg.save(path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_unfitted_and_loaded_models_say_what_to_do(fitted, tmp_path):
    with pytest.raises(NotFittedError):
        se.Segmenter().predict([{"x": 1}])
    seg, _ = fitted
    seg.save(tmp_path / "m.json")
    with pytest.raises(NotFittedError, match="score_report"):
        se.Segmenter.load(tmp_path / "m.json").report()

"""The request contract (SPEC section 2): every error row, aliases, languages, determinism."""

from __future__ import annotations

import copy
import json
import math

import pytest

import segengine as se
from segengine.errors import InvalidRequestError, SegEngineError, ValidationError


def _error(payload, language="en"):
    with pytest.raises(SegEngineError) as info:
        se.segmentation_report(payload, language)
    return info.value


# -- 400 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", ["{not json", b"\xff\xfe", "[1, 2]", "42", '"text"', "null"])
def test_body_not_json_object_is_400_invalid_format(body):
    err = _error(body)
    assert isinstance(err, InvalidRequestError)
    assert err.status == 400 and err.error == "Invalid format"
    assert err.to_dict()["expected_format"] == "Array of objects with required fields"


def test_record_not_object_is_400_with_its_path():
    err = _error({"data": [{"id": 1, "x": 1}, [1, 2], {"id": 3, "x": 3}, "s"]})
    assert err.status == 400 and err.error == "Invalid format"
    assert set(err.details) == {"data.1", "data.3"}


def test_empty_data_is_400_invalid_parameters():
    err = _error({"data": []})
    assert err.status == 400 and err.error == "Invalid parameters"
    assert "data" in err.details


# -- 422 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [{}, {"data": {"id": 1}}, {"data": "x"}, {"data": None}, {"options": {}}])
def test_data_missing_or_not_array_is_422_on_data(body):
    err = _error(body)
    assert isinstance(err, ValidationError)
    assert err.status == 422 and err.error == "Validation failed"
    assert err.details["data"] == "The data field is required and must be an array."


def _rows(n=10, **extra):
    rows = [{"id": f"{i:03d}", "value": float(i % 5), "other": float((i * 7) % 11)} for i in range(n)]
    for (i, field), value in extra.items():
        rows[i][field] = value
    return rows


def test_wrong_value_type_names_the_exact_path():
    rows = _rows()
    rows[3]["value"] = "abc"
    err = _error({"data": rows})
    assert err.status == 422
    assert err.details == {"data.3.value": "The value field must be a number."}


def test_nested_values_are_422():
    rows = _rows()
    rows[2]["other"] = {"a": 1}
    rows[5]["value"] = [1, 2]
    err = _error({"data": rows})
    assert set(err.details) == {"data.2.other", "data.5.value"}


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_infinite_numbers_are_422(bad):
    rows = _rows()
    rows[4]["value"] = bad
    err = _error({"data": rows})
    assert list(err.details) == ["data.4.value"]


def test_infinity_literal_in_json_text_is_422_not_400():
    rows = _rows()
    text = json.dumps({"data": rows}).replace('"value": 4.0', '"value": Infinity', 1)
    err = _error(text)
    assert err.status == 422 and list(err.details) == ["data.4.value"]


def test_duplicate_ids_are_422():
    rows = _rows()
    rows[6]["id"] = rows[2]["id"]
    err = _error({"data": rows})
    assert list(err.details) == ["data.6.id"]
    assert "data.2" in err.details["data.6.id"]


def test_integer_and_string_ids_that_collide_are_duplicates():
    rows = _rows()
    rows[0]["id"], rows[1]["id"] = 7, "7"
    assert list(_error({"data": rows}).details) == ["data.1.id"]


@pytest.mark.parametrize("bad_id", [True, 1.5, [1], {"a": 1}])
def test_id_of_wrong_type_is_422(bad_id):
    rows = _rows()
    rows[1]["id"] = bad_id
    assert list(_error({"data": rows}).details) == ["data.1.id"]


@pytest.mark.parametrize(
    "options, path",
    [
        ({"k_maxx": 5}, "options.k_maxx"),
        ({"algorithm": "dbscan"}, "options.algorithm"),
        ({"k_min": 1}, "options.k_min"),
        ({"kMax": 1}, "options.kMax"),
        ({"k_min": 6, "k_max": 4}, "options.k_min"),
        ({"n_clusters": 1}, "options.n_clusters"),
        ({"nClusters": "many"}, "options.nClusters"),
        ({"covariance_type": "weird"}, "options.covariance_type"),
        ({"scaling": 3}, "options.scaling"),
        ({"random_state": -1}, "options.random_state"),
        ({"max_records": True}, "options.max_records"),
        ({"features": "value"}, "options.features"),
        ({"features": ["nope"]}, "options.features.0"),
        ({"exclude": ["value", "ghost"]}, "options.exclude.1"),
        ({"time_budget_ms": 0}, "options.time_budget_ms"),
    ],
)
def test_bad_options_are_422_with_their_path(options, path):
    err = _error({"data": _rows(), "options": options})
    assert err.status == 422
    assert path in err.details, err.details


def test_unknown_option_suggests_the_right_name():
    err = _error({"data": _rows(), "options": {"kmax": 4}})
    assert "k_max" in err.details["options.kmax"] or "kMax" in err.details["options.kmax"]


def test_unknown_top_level_parameter_is_422():
    err = _error({"data": _rows(), "include_metdata": True})
    assert "include_metdata" in err.details


def test_options_not_an_object_is_422():
    assert "options" in _error({"data": _rows(), "options": [1]}).details


def test_more_than_max_records_is_422():
    err = _error({"data": _rows(12), "options": {"max_records": 10}})
    assert err.status == 422 and "data" in err.details


def test_fewer_than_three_records_is_422():
    err = _error({"data": _rows(2)})
    assert err.status == 422 and "data" in err.details


def test_no_usable_feature_is_422():
    rows = [{"id": i, "name": f"person {i}", "k": 1} for i in range(30)]
    err = _error({"data": rows})
    assert err.status == 422 and "data" in err.details


def test_many_bad_values_are_capped_but_counted():
    rows = _rows(400)
    for r in rows[:300]:
        r["value"] = "x"
    rows_ok = [r for r in rows]
    err = _error({"data": rows_ok})
    # Majority is now strings: the numeric minority is what gets reported.
    assert err.status == 422
    assert len(err.details) <= 101


def test_error_messages_are_localized_but_categories_stay_english():
    rows = _rows()
    rows[3]["value"] = "abc"
    for lang, word in [("es", "número"), ("pt", "número"), ("en", "number")]:
        err = _error({"data": copy.deepcopy(rows)}, lang)
        assert err.error == "Validation failed"
        assert word in err.details["data.3.value"]


# -- 200 ------------------------------------------------------------------------------------------
def test_report_shape_and_ids_in_input_order(payload):
    report = se.segmentation_report(payload)
    ids = [r["id"] for r in payload["data"]]
    assert [r["id"] for r in report["results"]] == ids
    sizes = [s["size"] for s in report["segments"]]
    assert sizes == sorted(sizes, reverse=True), "segment 0 must be the largest"
    assert sum(sizes) == len(ids)
    assert report["summary"]["n_segments"] == len(report["segments"])
    for r in report["results"]:
        assert 0.0 <= r["prediction"] <= 1.0 and 0.0 <= r["confidence"] <= 1.0
        assert r["segment_name"] == report["segments"][r["segment"]]["name"]
    json.dumps(report, allow_nan=False)


def test_payload_is_never_mutated(payload):
    before = copy.deepcopy(payload)
    se.segmentation_report(payload)
    assert payload == before
    bad = copy.deepcopy(payload)
    bad["data"][5]["frequency"] = "many"
    snapshot = copy.deepcopy(bad)
    with pytest.raises(ValidationError):
        se.segmentation_report(bad)
    assert bad == snapshot


def test_camel_case_and_snake_case_give_the_same_report(payload):
    snake = copy.deepcopy(payload)
    snake["options"] = {"k_max": 5, "random_state": 3, "id_field": "id"}
    camel = copy.deepcopy(payload)
    del camel["include_metadata"]
    camel["includeMetadata"] = True
    camel["options"] = {"kMax": 5, "randomState": 3, "idField": "id"}
    a, b = se.segmentation_report(snake), se.segmentation_report(camel)
    a["metadata"].pop("processing_time_ms"), b["metadata"].pop("processing_time_ms")
    a["metadata"].pop("timings_ms"), b["metadata"].pop("timings_ms")
    assert a == b


def test_json_text_and_bytes_payloads(blobs_payload):
    a = se.segmentation_report(blobs_payload)
    b = se.segmentation_report(json.dumps(blobs_payload))
    c = se.segmentation_report(json.dumps(blobs_payload).encode())
    assert a == b == c


def test_same_input_same_output_bit_for_bit(payload):
    a = se.segmentation_report(copy.deepcopy(payload))
    b = se.segmentation_report(copy.deepcopy(payload))
    for r in (a, b):
        r["metadata"].pop("processing_time_ms")
        r["metadata"].pop("timings_ms")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_metadata_only_on_request(blobs_payload):
    assert "metadata" not in se.segmentation_report(blobs_payload)
    body = dict(blobs_payload, include_metadata=True)
    meta = se.segmentation_report(body)["metadata"]
    assert meta["model_version"] == se.__version__
    assert meta["k_selection"]["chosen"] == 3
    assert isinstance(meta["processing_time_ms"], int)


def test_well_separated_blobs_give_three_segments(blobs_payload):
    report = se.segmentation_report(blobs_payload)
    assert report["summary"]["n_segments"] == 3
    by_id = {r["id"]: r["segment"] for r in report["results"]}
    # Records i, i+3, i+6... come from the same blob: they must share a segment.
    for i in range(3):
        assert len({by_id[f"r{j:03d}"] for j in range(i, 300, 3)}) == 1


def test_ids_absent_everywhere_use_the_index(blobs_payload):
    rows = [{k: v for k, v in r.items() if k != "id"} for r in blobs_payload["data"]]
    report = se.segmentation_report({"data": rows})
    assert [r["id"] for r in report["results"]] == [str(i) for i in range(len(rows))]


def test_custom_id_field_and_integer_ids(blobs_payload):
    rows = [dict(r, customer=i * 10) for i, r in enumerate(blobs_payload["data"])]
    rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]
    report = se.segmentation_report({"data": rows, "options": {"idField": "customer"}})
    assert report["results"][3]["id"] == "30"
    assert "customer" not in report["summary"]["features_used"]


def test_missing_values_and_high_cardinality_are_warnings_not_errors(payload):
    report = se.segmentation_report(payload)
    warnings = " ".join(report["metadata"]["warnings"])
    assert "email" in warnings and "avg_order_value" in warnings
    assert "email" not in report["summary"]["features_used"]


def test_iso_dates_become_numeric_days():
    rows = [{"id": i, "last": f"2026-0{1 + i % 3}-1{i % 10}", "spend": float(i % 7)} for i in range(60)]
    report = se.segmentation_report({"data": rows, "include_metadata": True})
    kinds = {f["field"]: f["kind"] for f in report["metadata"]["preprocessing"]}
    assert kinds["last"] == "date"
    assert "last" in report["summary"]["features_used"]
    assert "mean" in report["segments"][0]["profile"]["last"]


@pytest.mark.parametrize("language", ["en", "es", "pt"])
def test_text_follows_language_and_enums_stay_english(payload, language):
    report = se.segmentation_report(payload, language)
    for seg in report["segments"]:
        for ins in seg["insights"]:
            assert ins["priority"] in ("high", "medium", "low")
            assert ins["action"].isascii() and ins["action"] == ins["action"].lower()
        for ch in seg["characteristics"]:
            assert ch["direction"] in ("high", "low", "over", "under")
    assert report["summary"]["algorithm"] in ("kmeans", "gmm")


def test_languages_produce_different_text(payload):
    texts = {lang: json.dumps([s["name"] for s in se.segmentation_report(copy.deepcopy(payload), lang)["segments"]]
                              + se.segmentation_report(copy.deepcopy(payload), lang)["summary"]["insights"])
             for lang in ("en", "es", "pt")}
    assert len(set(texts.values())) == 3


def test_fixed_n_clusters(blobs_payload):
    report = se.segmentation_report(dict(blobs_payload, options={"n_clusters": 4}))
    assert report["summary"]["n_segments"] == 4


def test_n_clusters_not_below_record_count_is_422(blobs_payload):
    rows = blobs_payload["data"][:5]
    err = _error({"data": rows, "options": {"n_clusters": 5}})
    assert "options.n_clusters" in err.details


def test_k_max_is_capped_at_records_minus_one():
    rows = [{"id": i, "x": float(i * i), "y": float(i % 2)} for i in range(4)]
    report = se.segmentation_report({"data": rows, "options": {"k_max": 10}, "include_metadata": True})
    assert report["summary"]["n_segments"] <= 3
    assert any("k_max" in w for w in report["metadata"]["warnings"])


# -- handle_request -------------------------------------------------------------------------------
def test_handle_request_maps_accept_language_and_statuses(blobs_payload):
    status, body = se.handle_request(json.dumps(blobs_payload), {"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.8"})
    assert status == 200 and body["summary"]["n_segments"] == 3
    status, body = se.handle_request("{", {"accept-language": "es"})
    assert status == 400 and body["error"] == "Invalid format"
    assert "JSON" in body["details"]["body"]
    status, body = se.handle_request({"data": []}, {"Accept-Language": "fr-FR"})
    assert status == 400 and body["error"] == "Invalid parameters"
    assert body["message"].startswith("The data field")
    status, body = se.handle_request({"data": "x"}, {"Accept-Language": "pt"})
    assert status == 422 and body["details"]["data"].startswith("O campo data")


def test_handle_request_turns_internal_failures_into_500(monkeypatch, blobs_payload):
    import segengine.api as api

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api, "parse_request", boom)
    status, body = se.handle_request(blobs_payload, {"Accept-Language": "es"})
    assert status == 500
    assert body["error"] == "Service error" and body["retry_after"] == 60
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)


@pytest.mark.parametrize(
    "header, expected",
    [("pt-BR,pt;q=0.9,en;q=0.8", "pt"), ("es-MX", "es"), ("fr, de;q=0.5", "en"), ("", "en"),
     ("en;q=0.2, es;q=0.8", "es"), ("pt;q=0, es", "es"), ("*", "en"), (None, "en")],
)
def test_accept_language_parsing(header, expected):
    from segengine.text.language import parse_accept_language

    assert parse_accept_language(header) == expected

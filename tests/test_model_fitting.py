"""The fitted model, the scored batch, the fitting steps and the pure report (issue #15), and the
estimator's ``random_state`` (None / int / RandomState) and ``sample_weight``."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import segengine as se
from segengine import config
from segengine.budget import Deadline
from segengine.datasets import make_numeric_customers
from segengine.errors import ValidationError
from segengine.fitting import check_sample_weight, check_sizes, fit_table, order_by_size, search_k
from segengine.model import (
    FittedModel,
    ScoredBatch,
    label_records,
    load_model,
    membership_matrix,
    record_confidence,
    score_table,
)
from segengine.options import SegmentationOptions, parse_options, seed_from_random_state
from segengine.report import build_report, report_inputs
from segengine.selection import AlgorithmChoice, KSelection, choose_algorithm
from segengine.table import table_from_array, table_from_records

ROOT = Path(__file__).resolve().parents[1]


def _strip(body):
    """The report without its measured timings (the only values that are not computed)."""
    if isinstance(body, dict):
        return {k: _strip(v) for k, v in body.items() if k not in ("processing_time_ms", "timings_ms")}
    if isinstance(body, list):
        return [_strip(v) for v in body]
    return body


def _bytes(body) -> bytes:
    return json.dumps(_strip(body), sort_keys=True, ensure_ascii=False, allow_nan=False).encode()


def _blobs(n_per: int = 60, seed: int = 0, d: int = 2, spread: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.eye(3, d) * spread
    return np.concatenate([c + rng.normal(size=(n_per, d)) for c in centers])


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


@pytest.fixture(scope="module")
def fitted():
    records, _ = make_numeric_customers(n=900, n_features=4, random_state=5)
    options = parse_options({"k_max": 6})
    table = table_from_records(records)
    return records, fit_table(table, options, started=time.perf_counter())


def _snapshot(model: FittedModel, batch: ScoredBatch):
    """Deep copies of everything build_report could write to."""
    sel = model.selection
    return (
        model.centers.copy(), model.weights.copy(), model.sigma2, copy.deepcopy(dict(model.algorithm_evidence)),
        json.dumps(sel.to_dict(), sort_keys=True), sorted(vars(sel)), copy.deepcopy(model.stability_info),
        [dataclasses.asdict(f) for f in model.preprocessor.fields_], sorted(vars(model.preprocessor)),
        batch.labels.copy(), batch.prediction.copy(), batch.confidence.copy(), batch.matrix.copy(),
        copy.deepcopy(list(batch.notices)), dict(batch.timings_ms), list(batch.ids),
        [c.values.copy() for c in batch.columns],
        None if batch.deadline is None else (batch.deadline.charged, list(batch.deadline.degraded)),
        sorted(vars(model)), sorted(vars(batch)),
    )


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        nan = a.dtype.kind == "f"
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=nan))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


# -- build_report is pure ------------------------------------------------------------------------


def test_build_report_does_not_change_its_inputs_and_repeats_byte_for_byte(fitted):
    _, fit = fitted
    before = _snapshot(fit.model, fit.batch)
    first = build_report(fit.model, fit.batch, "en")
    second = build_report(fit.model, fit.batch, "en")
    assert _same(before, _snapshot(fit.model, fit.batch))
    assert _bytes(first) == _bytes(second)
    # Other languages change sentences only, and also leave the inputs alone.
    es = build_report(fit.model, fit.batch, "es")
    assert _same(before, _snapshot(fit.model, fit.batch))
    assert [s["size"] for s in es["segments"]] == [s["size"] for s in first["segments"]]


def test_precomputed_inputs_give_the_same_report(fitted):
    _, fit = fitted
    inputs = report_inputs(fit.model, fit.batch)
    assert _bytes(build_report(fit.model, fit.batch, "pt", inputs=inputs)) == _bytes(
        build_report(fit.model, fit.batch, "pt"))


def test_the_budget_notice_is_derived_not_written_back():
    """Exact silhouettes that do not fit the deadline are sampled; the warning is in the report
    each time, and the batch's notices stay as they were (it was appended to the Segmenter)."""
    X = _blobs(n_per=1200, seed=3, d=3)
    fit = fit_table(table_from_array(X), parse_options({"n_clusters": 3}), started=time.perf_counter())
    assert fit.batch.matrix.shape[0] > config.SILHOUETTE_SAMPLE_SIZE
    spent = Deadline(1.0)
    spent.charge(10.0)
    batch = dataclasses.replace(fit.batch, deadline=spent, search_silhouettes=None)
    notices = list(batch.notices)
    bodies = [build_report(fit.model, batch, "en") for _ in range(2)]
    for body in bodies:
        assert sum("silhouettes of the report were estimated" in w for w in body["metadata"]["warnings"]) == 1
    assert list(batch.notices) == notices
    assert _bytes(bodies[0]) == _bytes(bodies[1])


def test_report_from_a_loaded_model_and_a_new_batch_equals_score_report(tmp_path):
    records, _ = make_numeric_customers(n=1200, n_features=5, random_state=3)
    seg = se.Segmenter().fit(records[:900])
    path = tmp_path / "model.json"
    seg.save(str(path))
    model, params = load_model(path)
    assert params == seg.get_params() | {"features": None, "exclude": []}
    table = table_from_records(records[900:], schema=model.field_schema)
    batch = score_table(model, table)
    loaded = se.Segmenter.load(str(path))
    for lang in ("en", "pt"):
        assert _bytes(build_report(model, batch, lang)) == _bytes(loaded.score_report(records[900:], lang))
    # The training report of the Segmenter is build_report of its model and batch.
    assert _bytes(seg.report("es")) == _bytes(build_report(seg.model_, seg.batch_, "es"))


def test_the_report_modules_do_not_import_the_estimator_nor_write_attributes():
    for name in ("report", "fitting", "model", "selection"):
        tree = ast.parse((ROOT / "segengine" / f"{name}.py").read_text())
        imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert "segengine.segmenter" not in imported, name
    tree = ast.parse((ROOT / "segengine" / "report.py").read_text())
    targets = [t for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
               for t in (node.targets if isinstance(node, ast.Assign) else [node.target])]
    assert not [t for t in targets if isinstance(t, ast.Attribute)]
    calls = [node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "setattr" not in calls


# -- the frozen values ----------------------------------------------------------------------------


def test_model_and_batch_are_frozen_and_their_numpy_only_arrays_read_only(fitted):
    _, fit = fitted
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.model.algorithm = "gmm"
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.batch.labels = fit.batch.labels[::-1]
    for a in (fit.model.centers, fit.model.weights, fit.batch.prediction, fit.batch.confidence):
        with pytest.raises(ValueError):
            a[0] = 0.0
    assert fit.model.stability is None or not fit.model.stability.flags.writeable


def test_model_state_round_trips(fitted, tmp_path):
    _, fit = fitted
    params = se.Segmenter(k_max=6).get_params()
    state = fit.model.to_state(params)
    again = FittedModel.from_state(json.loads(json.dumps(state)))
    assert again.to_state(params) == json.loads(json.dumps(state))


def test_segmenter_attributes_are_views_that_cannot_be_assigned(fitted):
    seg = se.Segmenter(n_clusters=3).fit(_blobs())
    assert seg.n_clusters_ == seg.model_.n_segments == 3
    assert seg.labels_ is seg.batch_.labels
    with pytest.raises(AttributeError):
        seg.labels_ = np.zeros(3)
    with pytest.raises(AttributeError):
        seg.centers_ = np.zeros((3, 2))
    assert not hasattr(se.Segmenter(), "labels_")


# -- the fitting steps ----------------------------------------------------------------------------


def test_check_sizes_names_the_option_or_the_data():
    with pytest.raises(ValidationError) as info:
        check_sizes(2, SegmentationOptions())
    assert set(info.value.details) == {"data"}
    with pytest.raises(ValidationError) as info:
        check_sizes(5, SegmentationOptions(n_clusters=5))
    assert set(info.value.details) == {"options.n_clusters"}
    with pytest.raises(ValidationError) as info:
        check_sizes(11, SegmentationOptions(max_records=10))
    assert "11" in info.value.details["data"]
    check_sizes(10, SegmentationOptions(max_records=10, n_clusters=3))


def test_search_k_caps_k_max_at_the_records_and_says_so():
    X = _blobs(n_per=3, seed=1)
    notices: list = []
    sel = search_k(X, SegmentationOptions(k_max=20), 2, time.perf_counter(), Deadline(None), notices)
    assert max(sel.scores) <= X.shape[0] - 1
    assert ("warn_k_max_capped", {"k": X.shape[0] - 1}) in notices


@pytest.mark.parametrize("seed", range(6))
def test_order_by_size_puts_the_largest_segment_first_and_keeps_centres_with_their_records(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    raw = rng.integers(0, k, size=200)
    raw[:k] = np.arange(k)  # every segment holds a record
    centers = rng.normal(size=(k, 3))
    X = rng.normal(size=(200, 3))
    choice = AlgorithmChoice("kmeans", None, None, 1.0, {}, raw, centers)
    sel = KSelection(k, {}, {}, True, None, {})
    labels, ordered, order = order_by_size(choice, sel, X, [])
    sizes = np.bincount(labels, minlength=k)
    assert np.all(np.diff(sizes) <= 0)
    for j in range(k):
        assert np.array_equal(raw[labels == j], np.full(sizes[j], order[j]))
        assert np.array_equal(ordered[j], centers[order[j]])
    # Equal sizes keep the engine's order.
    for j in range(k - 1):
        if sizes[j] == sizes[j + 1]:
            assert order[j] < order[j + 1]


def test_order_by_size_drops_empty_segments_with_a_notice():
    raw = np.array([0, 0, 2, 2, 2, 0, 2])
    choice = AlgorithmChoice("kmeans", None, None, 1.0, {}, raw, np.arange(6.0).reshape(3, 2))
    sel = KSelection(3, {}, {}, True, None, {})
    notices: list = []
    labels, centers, order = order_by_size(choice, sel, np.zeros((7, 2)), notices)
    assert list(order) == [2, 0] and sel.formed == 2 and centers.shape == (2, 2)
    assert notices[0][0] == "warn_segments_reduced" and notices[0][1]["m"] == 2
    assert np.array_equal(labels, [1, 1, 0, 0, 0, 1, 0])


def test_choose_algorithm_keeps_kmeans_on_indicator_columns_and_fits_the_mixture_when_asked():
    X = _blobs(n_per=80, seed=2, d=2)
    options = parse_options({"n_clusters": 3})
    table = table_from_array(X)
    fit = fit_table(table, options, started=time.perf_counter())
    assert fit.model.algorithm_evidence["continuous"] is True
    records = [{"a": float(x[0]), "b": float(x[1]), "flag": bool(x[0] > 5)} for x in X]
    fit_b = fit_table(table_from_records(records), options, started=time.perf_counter())
    assert fit_b.model.algorithm_evidence["continuous"] is False
    assert fit_b.model.algorithm == "kmeans" and "gmm_bic" not in fit_b.model.algorithm_evidence
    gmm = fit_table(table, parse_options({"n_clusters": 3, "algorithm": "gmm"}), started=time.perf_counter())
    assert gmm.model.algorithm == "gmm" and gmm.model.mixture is not None
    assert np.allclose(gmm.model.weights, gmm.model.mixture.weights)
    # The selection step on its own: the same choice from the same search.
    sel = KSelection(3, {}, {}, True, None, {3: fit.details.kmeans})
    pre = fit.model.preprocessor
    again = choose_algorithm(fit.batch.matrix, sel, options, pre.fields_, pre.feature_names_out_, Deadline(None))
    assert again.algorithm == fit.model.algorithm
    assert again.evidence == dict(fit.model.algorithm_evidence)


def test_the_training_batch_follows_the_model_scoring_rule(fitted):
    _, fit = fitted
    model, batch = fit.model, fit.batch
    resp = membership_matrix(model, batch.matrix)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(label_records(resp, batch.labels), batch.labels)
    np.testing.assert_array_equal(batch.prediction, resp[np.arange(batch.labels.size), batch.labels])
    np.testing.assert_array_equal(batch.confidence, record_confidence(batch.matrix, model.centers, batch.labels))
    assert np.array_equal(np.bincount(batch.labels), np.sort(np.bincount(batch.labels))[::-1])


# -- random_state -------------------------------------------------------------------------------


def test_random_state_none_draws_a_seed_that_the_report_shows_and_repeats():
    X = _blobs(seed=4)
    seg = se.Segmenter(random_state=None, k_max=4).fit(X)
    seed = seg.report()["metadata"]["random_state"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    again = se.Segmenter(random_state=seed, k_max=4).fit(X)
    assert _bytes(again.report()) == _bytes(seg.report())
    assert seg.get_params()["random_state"] is None  # the parameter stays as given


def test_random_state_accepts_a_random_state_object_and_numpy_integers():
    X = _blobs(seed=5)
    expected = int(np.random.RandomState(11).randint(0, 2**32 - 1, dtype=np.int64))
    seg = se.Segmenter(random_state=np.random.RandomState(11), k_max=4).fit(X)
    assert seg.options_.random_state == expected
    assert seg.report()["metadata"]["random_state"] == expected
    by_int = se.Segmenter(random_state=expected, k_max=4).fit(X)
    assert np.array_equal(seg.labels_, by_int.labels_)
    assert se.Segmenter(random_state=np.int64(7), k_max=4).fit(X).options_.random_state == 7
    assert seed_from_random_state("x") == "x"
    with pytest.raises(ValidationError) as info:
        se.Segmenter(random_state="seven").fit(X)
    assert "random_state" in info.value.details


def test_a_model_fitted_with_random_state_none_saves_the_seed_it_used(tmp_path):
    seg = se.Segmenter(random_state=None, k_max=4).fit(_blobs(seed=6))
    seg.save(str(tmp_path / "m.json"))
    loaded = se.Segmenter.load(str(tmp_path / "m.json"))
    assert loaded.random_state == seg.options_.random_state
    assert np.array_equal(loaded.predict(_blobs(seed=6)), seg.labels_)


# -- sample_weight ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_integer_weights_give_the_centres_of_duplicated_records(seed):
    X = _blobs(seed=seed, d=2 + seed % 2)
    w = np.random.default_rng(seed).integers(1, 5, size=len(X))
    weighted = se.Segmenter(n_clusters=3, scaling="none").fit(X, sample_weight=w)
    copies = se.Segmenter(n_clusters=3, scaling="none").fit(np.repeat(X, w, axis=0))
    a, b = _sorted_rows(weighted.centers_), _sorted_rows(copies.centers_)
    assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
    np.testing.assert_allclose(weighted.sigma2_, copies.sigma2_, rtol=1e-10)
    np.testing.assert_allclose(np.sort(weighted.weights_), np.sort(copies.weights_), rtol=1e-12)


def test_weighted_k_search_finds_the_k_of_the_duplicated_records():
    X = _blobs(seed=9)
    w = np.random.default_rng(9).integers(1, 4, size=len(X))
    weighted = se.Segmenter(k_max=6, scaling="none").fit(X, sample_weight=w)
    copies = se.Segmenter(k_max=6, scaling="none").fit(np.repeat(X, w, axis=0))
    assert weighted.n_clusters_ == copies.n_clusters_ == 3
    np.testing.assert_allclose(_sorted_rows(weighted.centers_), _sorted_rows(copies.centers_), rtol=1e-10, atol=1e-12)


def test_a_zero_weight_leaves_the_record_out_of_the_centres_but_in_the_report():
    X = _blobs(seed=2)
    X[:5] += 3.0  # moved: they would pull their segment's centre if they counted
    w = np.ones(len(X))
    w[:5] = 0.0
    weighted = se.Segmenter(n_clusters=3, scaling="none").fit(X, sample_weight=w)
    without = se.Segmenter(n_clusters=3, scaling="none").fit(X[5:])
    np.testing.assert_allclose(_sorted_rows(weighted.centers_), _sorted_rows(without.centers_), rtol=1e-10, atol=1e-12)
    body = weighted.report()
    assert len(body["results"]) == len(X) and sum(s["size"] for s in body["segments"]) == len(X)


@given(n=st.integers(30, 120), d=st.integers(1, 4), k=st.integers(2, 4), seed=st.integers(0, 10_000))
@settings(max_examples=15, deadline=None)
def test_weighted_centres_are_the_weighted_means_of_their_segments(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.uniform(0.0, 3.0, size=n)
    seg = se.Segmenter(n_clusters=k, scaling="none", algorithm="kmeans").fit(X, sample_weight=w)
    # At a KMeans fixed point every centre is the weighted mean of its records (naive reference).
    for j in range(seg.n_clusters_):
        members = seg.labels_ == j
        if w[members].sum() > 0:
            np.testing.assert_allclose(seg.centers_[j], np.average(X[members], axis=0, weights=w[members]),
                                       rtol=1e-9, atol=1e-9)


def test_unit_weights_fit_the_unweighted_kmeans_model():
    X = _blobs(seed=8)
    unweighted = se.Segmenter(n_clusters=3, algorithm="kmeans").fit(X)
    ones = se.Segmenter(n_clusters=3, algorithm="kmeans").fit(X, sample_weight=np.ones(len(X)))
    assert np.array_equal(unweighted.labels_, ones.labels_)
    np.testing.assert_array_equal(unweighted.centers_, ones.centers_)
    np.testing.assert_allclose(unweighted.sigma2_, ones.sigma2_, rtol=1e-12)


def test_weights_keep_kmeans_under_auto_and_say_so():
    X = _blobs(seed=1)
    seg = se.Segmenter(n_clusters=3).fit(X, sample_weight=np.full(len(X), 2.0))
    evidence = seg.report()["metadata"]["algorithm_selection"]
    assert seg.algorithm_ == "kmeans"
    assert evidence["sample_weight"] is True and evidence["gmm_considered"] is False
    assert evidence["chosen"] == "kmeans"


@pytest.mark.parametrize("weights, path", [
    (np.ones(10), "sample_weight"),
    (np.ones((180, 1)), "sample_weight"),
    (np.r_[np.ones(3), -1.0, np.ones(176)], "sample_weight.3"),
    (np.r_[np.ones(7), np.nan, np.ones(172)], "sample_weight.7"),
    (np.r_[np.ones(2), np.inf, np.ones(177)], "sample_weight.2"),
    (np.zeros(180), "sample_weight"),
    (["1"] * 180, "sample_weight.0"),
    ([1.0] * 4 + [None] + [1.0] * 175, "sample_weight.4"),
])
def test_bad_weights_are_a_validation_error_naming_the_path(weights, path):
    X = _blobs()
    with pytest.raises(ValidationError) as info:
        se.Segmenter(n_clusters=3).fit(X, sample_weight=weights)
    assert list(info.value.details) == [path]
    assert info.value.status == 422


def test_weights_with_the_mixture_are_a_validation_error_in_every_language():
    for lang in ("en", "es", "pt"):
        with pytest.raises(ValidationError) as info:
            se.Segmenter(n_clusters=3, algorithm="gmm").fit(_blobs(), sample_weight=np.ones(180), language=lang)
        assert list(info.value.details) == ["sample_weight"]
        assert "gmm" in info.value.details["sample_weight"] or "algorithm" in info.value.details["sample_weight"]
    assert check_sample_weight(None, 5, SegmentationOptions(algorithm="gmm")) is None


def test_unweighted_fits_are_unchanged_by_the_weight_path():
    """Without weights the evidence has no weight keys (the byte-identical guard is
    tools/report_digests.py; this is its quick unit version)."""
    seg = se.Segmenter(n_clusters=3).fit(_blobs(seed=3))
    assert "sample_weight" not in seg.algorithm_evidence_ and "kmeans_bic" in seg.algorithm_evidence_


def test_a_dask_fit_takes_random_state_none_and_reports_the_seed_it_drew():
    import dask.dataframe as dd
    import pandas as pd

    import segengine.dask as sd

    frame = pd.DataFrame(_blobs(seed=12), columns=["a", "b"])
    model = sd.fit(dd.from_pandas(frame, npartitions=2), n_clusters=3, random_state=None)
    seed = model.options_.random_state
    assert isinstance(seed, int) and model.report()["metadata"]["random_state"] == seed
    again = sd.fit(dd.from_pandas(frame, npartitions=2), n_clusters=3, randomState=seed)
    np.testing.assert_array_equal(again.centers_, model.centers_)

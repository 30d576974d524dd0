"""Reliability (issue #9): concurrent callers, the largest payloads, limits, numerical edge cases,
determinism across runs, threads and processes.

What a service embedding segengine relies on: the same request gives the same body whoever else is
calling at the same time, on whatever machine; every limit answers with a clear 4xx; no input makes
the engine emit NaN/inf or a 500.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import segengine as se
from segengine import concurrency
from segengine.datasets import load_demo_customers

THREADS = 8


# -- helpers --------------------------------------------------------------------------------------
def _stable(body: dict) -> dict:
    """The body without the parts that legitimately vary between runs (wall-clock timings)."""
    body = copy.deepcopy(body)
    meta = body.get("metadata")
    if meta is not None:
        meta.pop("processing_time_ms", None)
        meta.pop("timings_ms", None)
    return body


def _digest(body: dict) -> str:
    text = json.dumps(_stable(body), sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _assert_valid_report(body: dict, n: int) -> None:
    """A 200 body a client can consume: JSON without NaN/inf, one result per record, sane ranges."""
    json.dumps(body, allow_nan=False)
    assert len(body["results"]) == n
    sizes = [s["size"] for s in body["segments"]]
    assert sum(sizes) == n
    assert body["summary"]["n_segments"] == len(body["segments"])
    for r in body["results"]:
        assert 0 <= r["segment"] < len(sizes)
        assert 0.0 <= r["prediction"] <= 1.0
        assert 0.0 <= r["confidence"] <= 1.0


def _demo_payloads() -> list[dict]:
    """Eight different payloads: sizes on both sides of the parallel and exact-silhouette
    thresholds (6000 records: sampled silhouette), both algorithms."""
    payloads = []
    for i, n in enumerate((300, 450, 600, 800, 1000, 1500, 2500, 6000)):
        records, _ = load_demo_customers(n=n, random_state=100 + i)
        options = {"k_max": 6, "random_state": i}
        if i % 3 == 1:
            # Numeric fields only, forced mixture: the GMM kernels run concurrently too.
            keep = ("id", "recency_days", "frequency", "monetary", "tenure_months")
            records = [{k: r[k] for k in keep if k in r} for r in records]
            options["algorithm"] = "gmm"
        payloads.append({"data": records, "options": options, "include_metadata": True})
    return payloads


@pytest.fixture(scope="module")
def payloads():
    return _demo_payloads()


@pytest.fixture(scope="module")
def serial_digests(payloads):
    return [_digest(se.segmentation_report(p)) for p in payloads]


# -- 1. thread safety -----------------------------------------------------------------------------
def test_concurrent_reports_equal_serial(payloads, serial_digests):
    with cf.ThreadPoolExecutor(THREADS) as pool:
        bodies = list(pool.map(se.segmentation_report, payloads))
    assert [_digest(b) for b in bodies] == serial_digests


def test_concurrent_handle_request_same_payload(payloads, serial_digests):
    """Many callers sending the same body at once all get the serial answer (and 200)."""
    body = json.dumps(payloads[2])
    with cf.ThreadPoolExecutor(THREADS) as pool:
        out = list(pool.map(lambda _: se.handle_request(body), range(THREADS)))
    assert {status for status, _ in out} == {200}
    assert {_digest(b) for _, b in out} == {serial_digests[2]}


def test_concurrent_predict_and_score_report_equal_serial(payloads):
    records = payloads[3]["data"]
    seg = se.Segmenter(k_max=5).fit(records)
    chunks = [records[i::THREADS] for i in range(THREADS)]
    serial_labels = [seg.predict(c) for c in chunks]
    serial_reports = [_digest(seg.score_report(c)) for c in chunks]

    def work(i):
        return seg.predict(chunks[i]), _digest(seg.score_report(chunks[i])), seg.predict_proba(chunks[i])

    with cf.ThreadPoolExecutor(THREADS) as pool:
        out = list(pool.map(work, range(THREADS)))
    for i, (labels, digest, proba) in enumerate(out):
        np.testing.assert_array_equal(labels, serial_labels[i])
        assert digest == serial_reports[i]
        np.testing.assert_array_equal(proba, seg.predict_proba(chunks[i]))


def test_parallel_section_locks_only_when_the_layer_needs_it(monkeypatch):
    monkeypatch.setattr(concurrency, "_configured_layer", lambda: "default")
    for active, expected in (("omp", False), ("tbb", False), ("workqueue", True), (None, True)):
        monkeypatch.setattr(concurrency, "active_threading_layer", lambda a=active: a)
        assert concurrency.needs_serialising() is expected
    monkeypatch.setattr(concurrency, "active_threading_layer", lambda: "omp")
    monkeypatch.setattr(concurrency, "_configured_layer", lambda: "workqueue")
    assert concurrency.needs_serialising() is True


def test_parallel_section_is_reentrant_and_serialises_under_workqueue(monkeypatch):
    import threading
    import time

    monkeypatch.setattr(concurrency, "_configured_layer", lambda: "workqueue")
    with concurrency.parallel_section():
        with concurrency.parallel_section():  # nested in one thread: no deadlock
            pass
    inside, peak, lock = [0], [0], threading.Lock()

    def work(_):
        with concurrency.parallel_section():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.01)
            with lock:
                inside[0] -= 1

    with cf.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS * 2)))
    assert peak[0] == 1


def test_active_threading_layer_after_a_parallel_call():
    se.segmentation_report(_demo_payloads()[-1])  # 6000 records: parallel kernels ran
    layer = concurrency.active_threading_layer()
    assert layer in ("omp", "tbb", "workqueue")
    # On a thread-safe layer the guard costs nothing: sections run concurrently.
    assert concurrency.needs_serialising() is (layer == "workqueue" or concurrency._configured_layer() == "workqueue")


_SUBPROCESS_THREADS = textwrap.dedent(
    """
    import concurrent.futures as cf, hashlib, json, sys
    import numba
    import segengine as se
    from segengine.datasets import load_demo_customers

    def digest(body):
        meta = body.get("metadata") or {}
        meta.pop("processing_time_ms", None); meta.pop("timings_ms", None)
        return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()

    payloads = []
    for i, n in enumerate((4200, 4300, 4400, 4500, 4600, 4700, 4800, 5000)):
        records, _ = load_demo_customers(n=n, random_state=i)
        payloads.append({"data": records, "options": {"k_max": 4, "random_state": i},
                         "include_metadata": True})
    with cf.ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(se.segmentation_report, payloads))
    serial = [se.segmentation_report(p) for p in payloads]
    print(json.dumps({"layer": numba.threading_layer(), "threaded": [digest(b) for b in threaded],
                      "serial": [digest(b) for b in serial]}))
    """
)


def _run_subprocess(code: str, *args: str, env_extra: dict | None = None, timeout: int = 600):
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=timeout
    )
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_workqueue_layer_eight_threads_do_not_crash_and_match_serial():
    """The numba workqueue layer aborts the process on concurrent parallel launches; the guard in
    segengine.concurrency must serialise them (payloads above PARALLEL_MIN_ROWS so the parallel
    kernels really run)."""
    # One process runs the eight reports in eight threads, then one after another.
    out = _run_subprocess(_SUBPROCESS_THREADS, env_extra={"NUMBA_THREADING_LAYER": "workqueue"})
    assert out["layer"] == "workqueue"
    assert len(out["threaded"]) == 8 and out["threaded"] == out["serial"]


# -- 2. limits ------------------------------------------------------------------------------------
def test_more_than_default_max_records_is_422_on_data():
    record = {"id": None, "x": 1.0}
    status, body = se.handle_request({"data": [record] * (250_000 + 1)})
    assert status == 422 and body["error"] == "Validation failed"
    assert set(body["details"]) == {"data"}
    assert "250000" in body["details"]["data"] or "250,000" in body["details"]["data"]


def test_exactly_the_default_max_records_is_accepted():
    from segengine.request import parse_request

    request = parse_request({"data": [{"x": 1.0}] * 250_000})
    assert len(request.records) == 250_000 and request.options.max_records == 250_000


def test_max_records_option_is_enforced_at_its_boundary():
    rows = [{"id": i, "x": float(i % 4), "y": float(i % 3)} for i in range(12)]
    status, body = se.handle_request({"data": rows, "options": {"max_records": 11}})
    assert status == 422 and set(body["details"]) == {"data"}
    status, body = se.handle_request({"data": rows, "options": {"maxRecords": 12}})
    assert status == 200
    with pytest.raises(se.ValidationError) as info:
        se.Segmenter(max_records=11).fit(rows)
    assert "data" in info.value.details


def test_time_budget_stops_the_k_search_and_says_so():
    records, _ = load_demo_customers(n=3000, random_state=5)
    payload = {"data": records, "options": {"k_min": 2, "k_max": 10, "time_budget_ms": 1},
               "include_metadata": True}
    body = se.segmentation_report(payload)
    _assert_valid_report(body, 3000)
    ksel = body["metadata"]["k_selection"]
    assert len(ksel["scores"]) < 9
    assert ksel["stopped_early_after"] is not None
    assert any("time_budget_ms" in w for w in body["metadata"]["warnings"])
    full = se.segmentation_report({"data": records, "options": {"k_max": 10}, "include_metadata": True})
    assert len(full["metadata"]["k_selection"]["scores"]) == 9
    assert not any("time_budget_ms" in w for w in full["metadata"]["warnings"])


def test_memory_is_not_quadratic_at_20k_records():
    """Peak traced allocation of fitting and reporting 20,000 records (exact silhouette forced, so
    every pair is visited) stays far below the n*n*8 bytes a distance matrix would take (3.2 GB).
    The records arrive as an array: tracemalloc slows the per-record Python objects of a JSON
    payload tenfold without telling anything about the numeric part."""
    n = 20_000
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(4, 6))
    X = centres[np.arange(n) % 4] + rng.normal(size=(n, 6))
    se.Segmenter(k_max=4).fit(X[:500]).report()  # warm caches first
    tracemalloc.start()
    try:
        seg = se.Segmenter(k_max=4, silhouette="exact").fit(X)
        body = seg.report()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(body["results"]) == n
    assert body["metadata"]["k_selection"]["exact"] is True
    assert peak < n * n * 8 / 50, f"peak {peak / 2**20:.0f} MiB"


# -- 3. numerical robustness ----------------------------------------------------------------------
def _rows(columns: dict[str, list], n: int) -> list[dict]:
    return [{"id": f"c{i}", **{k: v[i] for k, v in columns.items()}} for i in range(n)]


def _robustness_cases():
    rng = np.random.default_rng(11)
    n = 200
    two = np.repeat([0.0, 1.0], n // 2)
    cases = {
        "all_identical_but_one": _rows({"a": [1.0] * (n - 1) + [2.0], "b": [3.0] * n}, n),
        "half_identical": _rows({
            "a": [1.0 if i % 2 else float(rng.normal()) for i in range(n)],
            "b": [3.0 if i % 2 else float(rng.normal()) for i in range(n)]}, n),
        "five_distinct_values_k_max_10": _rows({
            "a": [float(i % 5) for i in range(n)], "b": [float((i % 5) ** 2) for i in range(n)]}, n),
        "scales_1e-12_and_1e12": _rows({
            "tiny": (1e-12 * (rng.normal(size=n) + 6 * two)).tolist(),
            "huge": (1e12 * (rng.normal(size=n) + 6 * two)).tolist()}, n),
        "single_feature": _rows({"a": rng.normal(size=n).tolist()}, n),
        "one_outlier_1e15": _rows({
            "a": [1e15 if i == 7 else float(v) for i, v in enumerate(rng.normal(size=n))],
            "b": rng.normal(size=n).tolist()}, n),
        "ints_near_2_63": _rows({"a": [2**63 - 1 - i * 10**15 for i in range(n)]}, n),
        "ints_2_63_collapse_in_float": _rows({"a": [2**63 - 1 - i for i in range(n)],
                                              "b": rng.normal(size=n).tolist()}, n),
        "ints_plus_minus_2_63": _rows({"a": [2**63 - 1 if i % 2 else -(2**63) for i in range(n)]}, n),
        "values_1e308": _rows({"x": [1e308 * (i % 2) for i in range(n)], "y": rng.normal(size=n).tolist()}, n),
        "values_plus_minus_1.7e308": _rows({"x": [1.7e308 * (1 if i % 2 else -1) for i in range(n)]}, n),
        "values_1e-308": _rows({"x": [1e-308 * (i % 5) for i in range(n)]}, n),
        "subnormal": _rows({"x": [5e-324 * (i % 3) for i in range(n)]}, n),
        "random_1e307": _rows({"x": (rng.normal(size=n) * 1e307).tolist()}, n),
        "constant_plus_missing": _rows({"a": [None if i % 3 else 4.0 for i in range(n)],
                                        "b": rng.normal(size=n).tolist()}, n),
        "all_missing_column": _rows({"a": [None] * n, "b": rng.normal(size=n).tolist()}, n),
        "k_close_to_n": _rows({"a": [0.0, 1.0, 2.0, 3.0, 4.0]}, 5),
    }
    return cases


_CASES = _robustness_cases()
_OPTION_SETS = [
    {},
    {"algorithm": "gmm"},
    {"scaling": "robust", "k_max": 10},
    {"scaling": "minmax"},
    {"scaling": "none"},
    {"n_clusters": 8, "algorithm": "kmeans"},
]


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's too: services may run with -W error
@pytest.mark.parametrize("options", _OPTION_SETS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
@pytest.mark.parametrize("case", sorted(_CASES))
def test_numerical_edge_cases_give_a_valid_report_or_a_clear_422(case, options):
    rows = _CASES[case]
    status, body = se.handle_request({"data": rows, "options": options, "include_metadata": True})
    assert status in (200, 422), body
    json.dumps(body, allow_nan=False)
    if status == 422:
        assert body["error"] == "Validation failed" and body["details"]
        return
    _assert_valid_report(body, len(rows))


def test_huge_magnitudes_are_clustered_not_dropped_as_constant():
    """A field holding 0 and 1e308 (or +-1.7e308) has two values: its spread overflowed float64
    in the scaler, which used to drop it as "a single value"."""
    rng = np.random.default_rng(3)
    for values in ([1e308 * (i % 2) for i in range(60)], [1.7e308 * (1 if i % 2 else -1) for i in range(60)]):
        for scaling in ("auto", "standard", "robust", "minmax", "none"):
            rows = _rows({"x": values, "noise": rng.normal(scale=1e-3, size=60).tolist()}, 60)
            body = se.segmentation_report({"data": rows, "options": {"scaling": scaling},
                                           "include_metadata": True})
            assert "x" in body["summary"]["features_used"], (scaling, body["metadata"]["warnings"])
            big = {r["segment"] for r, v in zip(body["results"], values) if v > 0}
            small = {r["segment"] for r, v in zip(body["results"], values) if v <= 0}
            assert not big & small  # no segment mixes the two values of x


def test_tiny_magnitudes_are_clustered():
    """1e-307-scale values used to underflow to a zero variance (422 "no usable feature")."""
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(size=50), rng.normal(size=50) + 8.0]) * 1e-307
    body = se.segmentation_report({"data": _rows({"x": x.tolist()}, 100), "options": {"k_max": 4}})
    assert body["summary"]["n_segments"] == 2
    labels = [r["segment"] for r in body["results"]]
    assert len(set(labels[:50])) == 1 and len(set(labels[50:])) == 1


def test_far_outlier_under_robust_scaling_or_at_predict_time_stays_finite():
    rng = np.random.default_rng(5)
    rows = _rows({"a": [1e300 if i == 0 else float(v) for i, v in enumerate(rng.normal(size=100))],
                  "b": rng.normal(size=100).tolist()}, 100)
    status, body = se.handle_request({"data": rows, "options": {"scaling": "robust"}})
    assert status == 200
    _assert_valid_report(body, 100)
    seg = se.Segmenter(k_max=4).fit(_rows({"a": rng.normal(size=100).tolist(),
                                          "b": rng.normal(size=100).tolist()}, 100))
    proba = seg.predict_proba([{"id": "x", "a": 1e300, "b": -1e300}, {"id": "y", "a": 0.0, "b": 0.0}])
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_k_never_exceeds_distinct_points():
    rows = _CASES["five_distinct_values_k_max_10"]
    body = se.segmentation_report({"data": rows, "options": {"k_max": 10}, "include_metadata": True})
    assert body["summary"]["n_segments"] <= 5
    assert max(int(k) for k in body["metadata"]["k_selection"]["scores"]) <= 5
    assert any("distinct" in w for w in body["metadata"]["warnings"])


def test_scales_1e_minus_12_and_1e12_together_find_the_two_groups():
    body = se.segmentation_report({"data": _CASES["scales_1e-12_and_1e12"]})
    assert set(body["summary"]["features_used"]) == {"tiny", "huge"}
    labels = [r["segment"] for r in body["results"]]
    assert body["summary"]["n_segments"] == 2
    assert len(set(labels[:100])) == 1 and len(set(labels[100:])) == 1


@pytest.mark.parametrize("stamp", [
    "9999-12-31T23:59:59.999999",        # the reference date used to be rebuilt from float days
    "9999-12-31T23:59:59-14:00",         # past year 9999 once converted to UTC
    "0001-01-01T00:00:00+01:00",         # before year 1 in UTC
])
def test_extreme_dates_are_not_a_500(stamp):
    rows = [{"id": i, "d": stamp if i == 0 else f"2020-01-{i % 28 + 1:02d}", "x": float(i % 3)}
            for i in range(40)]
    status, body = se.handle_request({"data": rows})
    # A valid report, or -- for a date that cannot be represented once in UTC -- that value's
    # error like any bad value; never a 500.
    if status == 200:
        _assert_valid_report(body, 40)
    else:
        assert status == 422 and list(body["details"]) == ["data.0.d"], body


def test_extreme_date_when_scoring_new_records_is_a_422_at_its_path():
    rows = [{"id": i, "d": f"2020-01-{i % 28 + 1:02d}", "x": float(i % 3)} for i in range(40)]
    seg = se.Segmenter(k_max=3).fit(rows)
    status, body = se.handle_request(
        {"data": [{"id": "a", "d": "9999-12-31T23:59:59-14:00", "x": 1.0},
                  {"id": "b", "d": "2020-01-03", "x": 2.0}]}, model=seg)
    assert status == 422 and set(body["details"]) == {"data.0.d"}


@pytest.mark.parametrize("headers", [
    [("Accept-Language", "pt-BR")],                 # WSGI-style list of pairs
    [(b"accept-language", b"pt")],                  # ASGI-style bytes pairs
    {"ACCEPT-LANGUAGE": "pt"},
])
def test_headers_as_pairs_or_bytes_choose_the_language(headers):
    status, body = se.handle_request({"data": []}, headers)
    assert status == 400
    assert body["message"] != se.handle_request({"data": []})[1]["message"]


@pytest.mark.parametrize("headers", [5, "text", [1, 2], [("a",)], {1: 2}, {"Accept-Language": 5}])
def test_malformed_headers_are_ignored_not_a_500(headers):
    status, body = se.handle_request({"data": []}, headers)
    assert status == 400 and body["error"] == "Invalid parameters"


def test_profile_of_huge_values_keeps_its_mean():
    rows = _rows({"x": [1e308 * (i % 2) for i in range(40)]}, 40)
    body = se.segmentation_report({"data": rows})
    big = [s for s in body["segments"] if s["profile"]["x"]["min"] == 1e308][0]
    assert big["profile"]["x"]["mean"] == 1e308
    assert big["profile"]["x"]["std"] == 0.0


# -- 5. determinism -------------------------------------------------------------------------------
def test_same_request_twice_is_bit_identical(payloads):
    for p in payloads[:3]:
        assert _digest(se.segmentation_report(p)) == _digest(se.segmentation_report(copy.deepcopy(p)))


_SUBPROCESS_DIGEST = textwrap.dedent(
    """
    import hashlib, json, sys
    import segengine as se
    from segengine.datasets import load_demo_customers

    out = []
    for i, n in enumerate((600, 6000)):
        records, _ = load_demo_customers(n=n, random_state=100 + i)
        for algorithm in ("auto", "gmm"):
            body = se.segmentation_report({"data": records, "include_metadata": True,
                                           "options": {"k_max": 6, "random_state": 7, "algorithm": algorithm}})
            body["metadata"].pop("processing_time_ms"); body["metadata"].pop("timings_ms")
            out.append(hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest())
    print(json.dumps({"digests": out}))
    """
)


def _digest_payloads():
    out = []
    for i, n in enumerate((600, 6000)):
        records, _ = load_demo_customers(n=n, random_state=100 + i)
        for algorithm in ("auto", "gmm"):
            out.append({"data": records, "include_metadata": True,
                        "options": {"k_max": 6, "random_state": 7, "algorithm": algorithm}})
    return out


def test_reports_identical_across_processes_and_threads():
    # A fresh process (its own JIT cache load) with another string-hash seed than this one, so
    # nothing may depend on set/dict iteration order of strings.
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    first = _run_subprocess(_SUBPROCESS_DIGEST, env_extra={"PYTHONHASHSEED": seed})["digests"]
    local = _digest_payloads()
    # Threads here against the other process; serial against threads in this process is
    # test_concurrent_reports_equal_serial (eight payloads up to 6,000 records, both algorithms).
    with cf.ThreadPoolExecutor(len(local)) as pool:
        assert [_digest(b) for b in pool.map(se.segmentation_report, local)] == first


def test_report_identical_with_one_or_two_numba_threads(two_numba_threads):
    import numba

    local = _digest_payloads()[2:]  # 6000 records: parallel kernels, sampled silhouette, kmeans and gmm
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [_digest(se.segmentation_report(p)) for p in local]
        numba.set_num_threads(two_numba_threads)
        two = [_digest(se.segmentation_report(p)) for p in local]
    finally:
        numba.set_num_threads(before)
    assert one == two


def test_payload_is_not_modified_by_concurrent_callers(payloads):
    original = copy.deepcopy(payloads[0])
    with cf.ThreadPoolExecutor(4) as pool:
        list(pool.map(se.segmentation_report, [payloads[0]] * 4))
    assert payloads[0] == original


@pytest.mark.parametrize("n_new", [1, 2, 3])
def test_scoring_records_that_all_fall_in_one_segment(n_new):
    """score_report on a few new records of one segment used to be a 500 (the silhouette of a
    single present segment is undefined): it is reported as null."""
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 10.0])
    seg = se.Segmenter(k_max=3).fit(_rows({"a": X[:, 0].tolist(), "b": X[:, 1].tolist()}, 80))
    new = [{"id": f"n{i}", "a": 10.0 + 0.1 * i, "b": 10.0} for i in range(n_new)]
    status, body = se.handle_request({"data": new}, model=seg)
    assert status == 200, body
    json.dumps(body, allow_nan=False)
    assert len({r["segment"] for r in body["results"]}) == 1
    assert body["summary"]["silhouette"] is None


_SUBPROCESS_ENGINES = textwrap.dedent(
    """
    import concurrent.futures as cf, json
    import numpy as np
    import segengine as se

    X = np.random.default_rng(0).normal(size=(50_000, 8))  # above the parallel threshold of full-covariance GMM

    def work(engine, i):
        if engine == "gmm":
            gmm = se.GaussianMixture(n_components=4, max_iter=5, random_state=i)
            return float(gmm.fit(X).lower_bound_)
        if engine == "kmeans":
            return float(se.KMeans(n_clusters=8, random_state=i).fit(X).inertia_)
        return float(se.silhouette_score(X[:5000], np.arange(5000) % 3))

    out = {"layer": None}
    for engine in ("gmm", "kmeans", "silhouette"):
        # Four fits at once: the workqueue layer aborts on any two concurrent parallel launches.
        with cf.ThreadPoolExecutor(4) as pool:
            threaded = list(pool.map(lambda i: work(engine, i), range(4)))
        out[engine] = {"values": threaded, "serial": [work(engine, i) for i in range(4)]}
    import numba
    out["layer"] = numba.threading_layer()
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def engines_under_workqueue():
    # One process for the three engines (an interpreter start and a kernel load, not three).
    return _run_subprocess(_SUBPROCESS_ENGINES, env_extra={"NUMBA_THREADING_LAYER": "workqueue"})


@pytest.mark.slow  # a process fitting 24 mixtures and KMeans on 50,000 records: ~5 CPU-s
@pytest.mark.parametrize("engine", ["gmm", "kmeans", "silhouette"])
def test_public_estimators_from_threads_under_workqueue(engine, engines_under_workqueue):
    out = engines_under_workqueue
    assert out["layer"] == "workqueue"
    assert len(out[engine]["values"]) == 4 and out[engine]["values"] == out[engine]["serial"]


def test_estimator_rejects_duplicate_frame_columns_and_complex_arrays_with_a_422():
    """A DataFrame with two columns of one name was an AttributeError; a complex array silently
    lost its imaginary part."""
    import pandas as pd

    rng = np.random.default_rng(9)
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "a", "b"])
    with pytest.raises(se.ValidationError) as info:
        se.Segmenter(k_max=3).fit(frame)
    assert "a" in info.value.details["X"]
    with pytest.raises(se.ValidationError):
        se.Segmenter(k_max=3).fit(rng.normal(size=(30, 2)) + 1j)


def test_huge_int_in_a_mixed_or_scored_column_is_a_422_at_its_path():
    """float(10**400) raised OverflowError (a 500) in the mixed-type path and when scoring."""
    rows = [{"id": i, "x": float(i % 5), "y": float(i % 3)} for i in range(20)]
    mixed = copy.deepcopy(rows)
    mixed[0]["x"], mixed[1]["x"] = 10**400, "text"
    status, body = se.handle_request({"data": mixed})
    assert status == 422 and {"data.0.x", "data.1.x"} <= set(body["details"])
    seg = se.Segmenter(k_max=3).fit(rows)
    status, body = se.handle_request({"data": [{"id": "a", "x": 10**400, "y": 1.0}]}, model=seg)
    assert status == 422 and set(body["details"]) == {"data.0.x"}


def test_scoring_a_record_that_is_not_an_object_is_400_at_its_path():
    """With a model, a list whose first record is not an object went to the array reader (a 500)."""
    rows = [{"id": i, "x": float(i % 5), "y": float(i % 3)} for i in range(20)]
    seg = se.Segmenter(k_max=3).fit(rows)
    for data in ([[1, 2], {"x": 1.0}], [5, {"x": 1.0}], [{"x": 1.0}, "s"]):
        status, body = se.handle_request({"data": data}, model=seg)
        assert status == 400 and body["error"] == "Invalid format", body
        bad = {f"data.{i}" for i, r in enumerate(data) if not isinstance(r, dict)}
        assert set(body["details"]) == bad


def test_median_imputation_of_values_near_the_float_limit():
    """np.median averages the two middle values: 1.7e308 + 1.7e308 overflowed to an infinite
    imputation value (and a RuntimeWarning, an error for services running with -W error)."""
    import warnings

    rng = np.random.default_rng(12)
    x = [None if i % 7 == 0 else (1.7e308 if i % 3 else -1.7e308) for i in range(40)]
    rows = _rows({"x": x, "y": rng.normal(size=40).tolist()}, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        status, body = se.handle_request({"data": rows, "include_metadata": True})
    assert status == 200, body
    _assert_valid_report(body, 40)
    assert "x" in body["summary"]["features_used"]


def test_robust_scaling_with_a_tiny_spread_and_a_value_near_the_float_limit():
    """(x - centre) / IQR overflowed (a RuntimeWarning, an error under -W error) when the IQR is
    tiny and one value is near 1.7e308: the scaled value is clipped instead."""
    import warnings

    rng = np.random.default_rng(13)
    rows = _rows({"x": [i * 1e-6 for i in range(59)] + [1.7e308], "y": rng.normal(size=60).tolist()}, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        status, body = se.handle_request({"data": rows, "options": {"scaling": "robust"}})
    assert status == 200, body
    _assert_valid_report(body, 60)

"""The cyclic garbage collector is paused while a report runs and left as the caller had it."""

from __future__ import annotations

import gc
import threading

import pytest

import segengine as se
from segengine.datasets import make_numeric_customers
from segengine.errors import ValidationError


@pytest.fixture(scope="module")
def payload():
    records, _ = make_numeric_customers(n=300, n_features=3, random_state=0)
    return {"data": records}


def test_paused_during_the_report_and_enabled_after(payload, monkeypatch):
    import segengine.report as report

    seen = []
    original = report.build_report

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(report, "build_report", spy)
    assert gc.isenabled()
    se.segmentation_report(payload)
    assert seen == [False]
    assert gc.isenabled()


def test_enabled_again_after_a_validation_error():
    assert gc.isenabled()
    with pytest.raises(ValidationError):
        se.segmentation_report({"data": [{"a": 1.0}, {"a": "x"}, {"a": 3.0}]})
    assert gc.isenabled()


def test_a_caller_that_disabled_it_keeps_it_disabled(payload):
    gc.disable()
    try:
        se.segmentation_report(payload)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_concurrent_reports_enable_it_once_all_have_ended(payload):
    barrier = threading.Barrier(3)
    errors = []

    def run():
        try:
            barrier.wait()
            se.segmentation_report(payload)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gc.isenabled()


def test_overlapping_reports_never_keep_it_off_past_the_report_that_paused_it():
    # A service whose reports overlap without pause: the collector must come back when the
    # report that paused it ends, not when the process happens to be idle.
    from segengine.api import _collector_paused

    first, second = _collector_paused(), _collector_paused()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()  # starts while the first holds the pause
    first.__exit__(None, None, None)
    assert gc.isenabled()  # the second still runs, with the collector on
    second.__exit__(None, None, None)
    assert gc.isenabled()

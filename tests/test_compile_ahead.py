"""segengine.compile_ahead: a report waits for a stage its child compiles, and never hangs on it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from segengine import compile_ahead


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(compile_ahead, "_child", None)
    monkeypatch.setattr(compile_ahead, "_done", set())
    monkeypatch.setattr(compile_ahead, "_ended", False)
    yield compile_ahead


def _child(script: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_without_a_child_nothing_waits(fresh):
    t = time.perf_counter()
    fresh.wait_for("silhouette")
    assert time.perf_counter() - t < 0.05


def test_waits_until_the_stage_is_announced_and_not_for_the_rest(fresh):
    child = _child("import time; time.sleep(0.5); print('silhouette', flush=True); time.sleep(60)")
    try:
        assert fresh.follow(child)
        t = time.perf_counter()
        fresh.wait_for("silhouette")
        waited = time.perf_counter() - t
        assert 0.3 < waited < 30  # it waited for the announcement, not for the child's end
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_a_child_that_dies_releases_every_waiter(fresh):
    child = _child("import sys; print('silhouette', flush=True); sys.exit(3)")
    try:
        assert fresh.follow(child)
        fresh.wait_for("silhouette")
        t = time.perf_counter()
        fresh.wait_for("mixture")  # never announced: released at the end of the child's output
        assert time.perf_counter() - t < 30
    finally:
        child.wait()


def test_only_one_child_is_followed(fresh):
    first = _child("print('silhouette'); print('mixture')")
    second = _child("pass")
    try:
        assert fresh.follow(first)
        assert not fresh.follow(second)
    finally:
        first.wait()
        second.wait()


def test_a_stalled_child_costs_one_timeout_then_is_stopped(fresh, monkeypatch):
    monkeypatch.setattr(fresh, "TIMEOUT_S", 0.3)
    child = _child("import time; time.sleep(60)")
    try:
        assert fresh.follow(child)
        t = time.perf_counter()
        for _ in range(20):  # one per Lloyd restart in a real k search
            fresh.wait_for("lloyd")
        assert time.perf_counter() - t < 3.0  # one timeout, not twenty
        assert child.wait(timeout=10) is not None  # stopped and reaped
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

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


def test_the_early_child_is_the_one_followed(fresh, monkeypatch):
    # The command line starts the child before it imports numba; once it knows the kernels
    # need compiling it follows that child instead of starting a second one.
    from segengine import compile_stages

    started = []

    def spawn():
        started.append(_child("import time; time.sleep(0.3); print('lloyd', flush=True); time.sleep(60)"))
        return started[-1]

    monkeypatch.setattr(compile_stages, "_spawn", spawn)
    monkeypatch.setattr(compile_stages, "_early", None)
    try:
        compile_stages.start_early()
        compile_stages.start_early()  # once per process
        assert len(started) == 1
        assert compile_stages.start()
        assert fresh.followed() is started[0] and len(started) == 1
        fresh.wait_for("lloyd")
        compile_stages.start_early()  # a child is followed: no other
        assert len(started) == 1
    finally:
        for child in started:
            child.kill()
            child.wait()


def test_an_early_child_that_is_never_followed_is_stopped_at_exit(fresh, monkeypatch):
    from segengine import compile_stages

    child = _child("import time; time.sleep(60)")
    monkeypatch.setattr(compile_stages, "_spawn", lambda: child)
    monkeypatch.setattr(compile_stages, "_early", None)
    compile_stages.start_early()
    compile_stages._stop_early()  # what atexit runs
    assert child.poll() is not None


@pytest.mark.slow  # compiles the Lloyd and mixture kernels into an empty cache first
def test_the_child_compiles_nothing_when_its_kernels_are_cached(tmp_path):
    # A warm cache: the child started early exits at once, announcing no stage.
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    warm = subprocess.run([sys.executable, "-m", "segengine.compile_stages"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert warm.returncode == 0 and warm.stdout.split() == ["lloyd", "mixture"]  # it compiled
    t = time.perf_counter()
    again = subprocess.run([sys.executable, "-m", "segengine.compile_stages"], capture_output=True, text=True,
                           env=env, timeout=600)
    assert again.returncode == 0 and again.stdout == ""
    assert time.perf_counter() - t < 20


def test_a_failing_command_stops_its_early_child(fresh, monkeypatch, tmp_path):
    # An unreadable file: the command never reaches the report, so it never follows the child
    # it started; the child must not go on compiling after the command returned.
    from segengine import cli, compile_stages

    child = _child("import time; time.sleep(60)")
    monkeypatch.setattr(compile_stages, "_spawn", lambda: child)
    monkeypatch.setattr(compile_stages, "_early", None)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli.main(["report", str(bad)]) == 1
    assert child.poll() is not None


@pytest.mark.parametrize(("report_path_needs", "own_stages_cached", "nothing"), [
    (False, False, True),   # the command will not follow the child: compiling would be wasted
    (False, True, True),
    (True, True, True),     # its stages are cached already
    (True, False, False),   # a first run: compile Lloyd, then the mixture
])
def test_the_child_compiles_only_what_a_following_command_needs(monkeypatch, report_path_needs,
                                                                own_stages_cached, nothing):
    from segengine import compile_stages, kernel_cache

    monkeypatch.setattr(kernel_cache, "cache_enabled", lambda: True)
    monkeypatch.setattr(kernel_cache, "kernels_need_compiling", lambda: report_path_needs)
    monkeypatch.setattr(kernel_cache, "kernels_cached", lambda kernels: own_stages_cached)
    assert compile_stages._nothing_to_compile() is nothing


@pytest.mark.slow  # a first `segengine demo` compiles its kernels into an empty cache
def test_after_a_first_run_without_mixture_the_early_child_exits_at_once(tmp_path):
    # `segengine demo` fits KMeans only, so its first run leaves the mixture kernels uncompiled.
    # The child a later (warm) command starts early must not compile them on the report's
    # second core, only to be stopped when the command ends.
    import os

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-m", "segengine", "demo", "--n", "2000"], capture_output=True,
                           text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    # The first run stops its child when it ends, maybe midway through the mixture's kernels;
    # whatever the timing, start from none of them cached.
    for path in tmp_path.rglob("*_gmm_kernels*"):
        path.unlink()
    t = time.perf_counter()
    child = subprocess.run([sys.executable, "-m", "segengine.compile_stages"], capture_output=True, text=True,
                           env=env, timeout=600)
    assert child.returncode == 0 and child.stdout == ""
    assert time.perf_counter() - t < 20
    assert not list(tmp_path.rglob("*_gmm_kernels*.nbi"))

"""The console script's entry point: `segengine.cli.run` exits with `main`'s status, output whole.

`run` freezes the garbage collector before the interpreter's teardown (a warm `segengine demo`
spent a fifth of its wall time collecting numba's objects at exit). These tests hold what that
must not change: the exit status, every byte of the output on a pipe, `atexit` handlers, and a
collector left alone when `main` is called inside a longer-lived process.
"""

from __future__ import annotations

import gc
import importlib.metadata
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from segengine import cli


def _run_module(args: list[str], *, code: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "segengine", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def test_console_script_points_at_run():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")
               if ep.name == "segengine"}
    assert scripts == {"segengine": "segengine.cli:run"}


def test_run_exits_with_mains_status_and_writes_all_of_the_json(tmp_path):
    done = _run_module(["demo", "--n", "600", "--json"])
    assert done.returncode == 0, done.stderr[-3000:]
    body = json.loads(done.stdout)  # the whole body reached the pipe before the exit
    assert len(body["results"]) == 600
    assert sum(s["size"] for s in body["segments"]) == 600


@pytest.mark.parametrize(("args", "status"), [
    (["report", "no-such-file.csv"], 1),   # an error the user can fix
    (["demo", "--n", "zero"], 2),          # a usage error
    (["--help"], 0),
])
def test_run_keeps_the_exit_status(args, status):
    done = _run_module(args)
    assert done.returncode == status, done.stderr[-3000:]
    if status == 1:
        assert "no-such-file.csv" in done.stderr
        assert "Traceback" not in done.stderr


def test_run_still_runs_atexit_handlers_and_flushes_buffered_output():
    # A handler registered by the caller's process (coverage, a logging flush) still runs, and
    # text still buffered on stdout when `run` exits is written.
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('handler ran', file=sys.stderr))\n"
        "sys.stdout.write('buffered, no newline')\n"
        "sys.argv = ['segengine', '--version']\n"
        "from segengine.cli import run\n"
        "run()\n"
    )
    done = _run_module([], code=code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("buffered, no newline")
    assert "handler ran" in done.stderr


def test_main_in_process_leaves_the_collector_alone():
    frozen = gc.get_freeze_count()
    with redirect_stdout(io.StringIO()) as out:
        status = cli.main(["demo", "--n", "300", "--json"])
    assert status == 0
    assert len(json.loads(out.getvalue())["results"]) == 300
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()

"""The console script's entry point: `segengine.cli.run` exits with `main`'s status, output whole.

`run` freezes the garbage collector before the interpreter's teardown (a warm `segengine demo`
spent a fifth of its wall time collecting numba's objects at exit). These tests hold what that
must not change: the exit status, every byte of the output on a pipe, `atexit` handlers, and a
collector left alone when `main` is called inside a longer-lived process.
"""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from segengine import cli


def _run_module(args: list[str], *, code: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "segengine", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def test_console_script_points_at_run():
    # What `pip install` turns into the `segengine` command (read from the source tree, not from
    # an install that may predate it).
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    assert scripts == {"segengine": "segengine.cli:run"}
    main_module = (Path(__file__).resolve().parents[1] / "segengine" / "__main__.py").read_text()
    assert "run()" in main_module


def test_run_exits_with_mains_status_and_writes_all_of_the_json():
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
    # text still buffered on stdout when `run` exits is written. The handler also sees the
    # collector frozen: what spares the teardown its collection.
    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('handler ran, frozen:', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "sys.stdout.write('buffered, no newline')\n"
        "sys.argv = ['segengine', '--version']\n"
        "from segengine.cli import run\n"
        "run()\n"
    )
    done = _run_module([], code=code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("buffered, no newline")
    assert "handler ran, frozen: True" in done.stderr


def test_main_in_process_leaves_the_collector_alone():
    frozen = gc.get_freeze_count()
    with redirect_stdout(io.StringIO()) as out:
        status = cli.main(["demo", "--n", "300", "--json"])
    assert status == 0
    assert len(json.loads(out.getvalue())["results"]) == 300
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()

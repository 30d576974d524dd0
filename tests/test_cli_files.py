"""``--output`` and the user's own mistakes on the command line (issue 16, items 10, 17, 18).

Uses the real engine on small demo data. No test writes to a system device: FIFOs, symlinks
and hard links are made in a temporary folder.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from segengine.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ["demo", "--n", "300", "--options", '{"k_max": 3}']


def _report_in(path: Path) -> dict:
    body = json.loads(path.read_text())
    assert body["summary"]["n_records"] == 300
    return body


def test_output_keeps_the_mode_of_an_existing_file(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old")
    os.chmod(out, 0o600)
    assert main([*DEMO, "--output", str(out)]) == 0
    _report_in(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_output_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert main([*DEMO, "--output", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    _report_in(target)


def test_output_into_a_hard_linked_file_updates_every_name(tmp_path):
    first = tmp_path / "a.json"
    first.write_text("old")
    second = tmp_path / "b.json"
    os.link(first, second)
    assert main([*DEMO, "--output", str(first)]) == 0
    assert os.path.samefile(first, second)
    assert _report_in(second) == _report_in(first)


def test_output_into_a_fifo_is_written_directly(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        assert main([*DEMO, "--output", str(fifo)]) == 0
    finally:
        reader.join(timeout=60)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not a regular file
    assert json.loads(received[0])["summary"]["n_records"] == 300


def test_output_refuses_to_overwrite_its_input(tmp_path, capsys):
    data = tmp_path / "in.json"
    rows = [{"id": i, "x": float(i % 7), "y": float(i % 3)} for i in range(40)]
    data.write_text(json.dumps(rows))
    before = data.read_bytes()
    link = tmp_path / "alias.json"
    link.symlink_to(data)
    for target in (data, link):
        assert main(["report", str(data), "--output", str(target)]) == 1
        assert "input file" in capsys.readouterr().err
    assert data.read_bytes() == before


def test_new_output_file_gets_the_ordinary_mode(tmp_path):
    out = tmp_path / "new.json"
    umask = os.umask(0o022)
    try:
        assert main([*DEMO, "--output", str(out)]) == 0
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.mark.parametrize("options, expected", [
    ('{"k_max": %s}' % ("9" * 5000), "--options"),
    ("[" * 100_000 + "]" * 100_000, "--options"),
])
def test_malformed_options_are_the_users_mistake(capsys, options, expected):
    assert main(["demo", "--n", "300", "--options", options]) == 1
    err = capsys.readouterr().err
    assert expected in err and "internal error" not in err


def test_negative_random_state_is_a_usage_error(capsys):
    assert main(["demo", "--n", "300", "--random-state", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--random-state" in err and "internal error" not in err


def test_demo_size_is_checked_before_building_the_records(capsys):
    started = time.perf_counter()
    assert main(["demo", "--n", "1000000"]) == 1
    assert time.perf_counter() - started < 5.0  # building a million records takes ~10 s
    err = capsys.readouterr().err
    assert "250000" in err and "internal error" not in err


def _run_cli(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "segengine", *args], env=env, capture_output=False,
                          stderr=subprocess.PIPE, text=True, timeout=600, **kwargs)


def test_closed_stdout_is_reported():
    proc = _run_cli(DEMO, stdout=None, pass_fds=(), preexec_fn=lambda: os.close(1))
    assert proc.returncode == 1
    assert "standard output is closed" in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_stdout_is_reported():
    with open("/dev/full", "w") as full:
        proc = _run_cli([*DEMO, "--json"], stdout=full)
    assert proc.returncode == 1
    assert "No space left" in proc.stderr and "internal error" not in proc.stderr
    assert proc.stderr.count("segengine: error") == 1 and "Exception ignored" not in proc.stderr

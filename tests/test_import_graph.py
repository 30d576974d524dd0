"""The import graph follows the pipeline's layers (tools/import_graph.py), and the checker catches
each kind of import it claims to read."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "import_graph.py"

sys.path.insert(0, str(ROOT / "tools"))
import import_graph  # noqa: E402


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def _main(capsys, *args: str) -> subprocess.CompletedProcess:
    """The script's main() in this process (what _run does, without an interpreter start)."""
    code = import_graph.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def test_segengine_has_no_new_back_edge_and_no_cycle():
    # The script as CI and the lead run it: its own process, this checkout's segengine.
    done = _run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "layering holds" in done.stdout
    # The graph is printed layer by layer, bottom first.
    layers = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert [line.split("] ", 1)[1] for line in layers] == [name for name, _ in import_graph.LAYERS]


@pytest.fixture(scope="module")
def graph():
    return import_graph.read_edges(ROOT)


def test_every_module_is_in_exactly_the_layer_its_first_pattern_names(graph):
    modules, _ = graph
    assert "segengine.segmenter" in modules and "segengine.service.app" in modules
    for module in modules:
        index = import_graph.layer_of(module)
        assert index is not None, f"{module} is in no layer"
    assert import_graph.layer_of("segengine.config") < import_graph.layer_of("segengine.engines._kmeans_kernels")
    assert (import_graph.layer_of("segengine.engines.kmeans")
            < import_graph.layer_of("segengine.engines.kmeans_estimator"))
    assert import_graph.layer_of("segengine.preprocessing") < import_graph.layer_of("segengine.selection")
    assert import_graph.layer_of("segengine.report") < import_graph.layer_of("segengine.segmenter")
    assert import_graph.layer_of("segengine.segmenter") < import_graph.layer_of("segengine.api")
    assert import_graph.layer_of("segengine.api") < import_graph.layer_of("segengine.service.worker")


def test_known_back_edges_are_all_still_present(graph):
    # The set lists today's violations exactly: an entry whose edge is gone must be removed, so
    # that the set shrinks to empty as issue #15 lands (--strict fails on a stale entry).
    modules, edges = graph
    result = import_graph.check(modules, edges)
    present = {(e.source, e.target) for e in result.back_edges}
    stale = sorted(import_graph.KNOWN_BACK_EDGES - present)
    assert not stale, f"these back-edges are gone: remove them from KNOWN_BACK_EDGES in {SCRIPT}"
    assert present == import_graph.KNOWN_BACK_EDGES


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


_BASE = {
    "segengine/__init__.py": '"""pkg"""\n',
    "segengine/config.py": "X = 1\n",
    "segengine/errors.py": "from segengine import config\n",
    "segengine/api.py": "from segengine.errors import *\n",
    "segengine/segmenter.py": "import segengine.config\n",
    "segengine/report.py": "",
}


@pytest.mark.parametrize("kind, text", [
    ("module", "from segengine.api import handle_request\n"),
    ("module", "import segengine.api as api\n"),
    ("function", "def f():\n    from segengine import api\n    return api\n"),
    ("type", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from segengine.api import x\n"),
    ("getattr", "def __getattr__(name):\n    from segengine.api import thing\n    return thing\n"),
    ("lazy", "import importlib\n_LAZY = {'a': ('segengine.api', 'a')}\n"
             "def load(n):\n    return importlib.import_module(_LAZY[n][0])\n"),
    ("module", "from .api import handle_request\n"),
])
def test_each_kind_of_back_edge_fails_the_check(tmp_path, capsys, kind, text):
    root = _package(tmp_path, {**_BASE, "segengine/config.py": text})
    modules, edges = import_graph.read_edges(root)
    assert [(e.target, e.kind) for e in edges if e.source == "segengine.config"] == [("segengine.api", kind)]
    result = import_graph.check(modules, edges)
    assert [(e.source, e.target) for e in result.new_back_edges] == [("segengine.config", "segengine.api")]
    assert result.failed
    done = _main(capsys, "--root", str(root), "--quiet")
    assert done.returncode == 1
    assert "segengine.config -> segengine.api" in done.stdout and "FAILED" in done.stdout


def test_a_logger_name_is_not_an_import(tmp_path):
    text = "import logging\nlog = logging.getLogger('segengine.api')\n"
    root = _package(tmp_path, {**_BASE, "segengine/config.py": text})
    modules, edges = import_graph.read_edges(root)
    assert not import_graph.check(modules, edges).failed


def test_a_cycle_inside_one_layer_fails(tmp_path, capsys):
    root = _package(tmp_path, {
        **_BASE,
        "segengine/api.py": "from segengine import errors\n",
        "segengine/errors.py": "from segengine import config\n",
        "segengine/config.py": "def f():\n    from segengine import errors\n",
    })
    modules, edges = import_graph.read_edges(root)
    result = import_graph.check(modules, edges)
    assert result.cycles == [["segengine.config", "segengine.errors"]]
    assert not result.new_back_edges
    assert _main(capsys, "--root", str(root), "--quiet").returncode == 1


def test_a_module_in_no_layer_fails(tmp_path, capsys):
    root = _package(tmp_path, {**_BASE, "segengine/grab_bag.py": "from segengine import config\n"})
    done = _main(capsys, "--root", str(root), "--quiet")
    assert done.returncode == 1
    assert "segengine.grab_bag" in done.stdout and "no layer" in done.stdout


def test_downward_imports_pass(tmp_path, capsys):
    root = _package(tmp_path, _BASE)
    done = _main(capsys, "--root", str(root))
    assert done.returncode == 0, done.stdout
    assert "layering holds" in done.stdout

"""First run and thread scaling: what compiles, the CLI's compiling note, kernels that release the GIL.

The subprocesses get their own empty ``NUMBA_CACHE_DIR`` so that they compile exactly as on a new
machine, whatever this test process (or an earlier test) already compiled or cached.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "segengine"


def _run(args: list[str], cache_dir: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)


def _kernel_modules() -> list[str]:
    """Every segengine module that defines numba kernels (found by source, so new ones count)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "numba.njit" in text or "@njit" in text or "numba.jit" in text:
            names.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return names


def test_every_kernel_releases_the_gil_and_is_cached():
    modules = _kernel_modules()
    assert {"segengine.engines._kmeans_kernels", "segengine.engines._gmm_kernels",
            "segengine.metrics._silhouette_kernels"} <= set(modules)
    seen = 0
    for name in modules:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, numba.core.registry.CPUDispatcher) and value.py_func.__module__ == name:
                seen += 1
                assert value.targetoptions.get("nogil") is True, f"{name}.{attr} holds the GIL"
                assert value._cache.__class__.__name__ != "NullCache", f"{name}.{attr} is not cached"
    assert seen >= 40


_PRUNING = """
import json, numpy as np
from segengine.engines import _kmeans_kernels as K
rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 4)); C = X[:5].copy(); w = np.ones(3000)
labels = K.assign_labels(X, C, 512, None)
serial = K.inertia(X, C, w, labels, 512, None)
before = [len(K._inertia_par.signatures), len(K._assign_par.signatures)]
labels_par = K.assign_labels(X, C, 512, K.parallel_flag(True))
parallel = K.inertia(X, C, w, labels, 512, K.parallel_flag(True))
plain_bool = K.inertia(X, C, w, labels, 512, False)
after = [len(K._inertia_par.signatures), len(K._assign_par.signatures)]
print(json.dumps({"before": before, "after": after, "same_labels": bool((labels == labels_par).all()),
                  "values": [serial.hex(), parallel.hex(), plain_bool.hex()]}))
"""


@pytest.mark.slow  # a cold compile of eight kernels (a warm cache links them in and hides the count)
def test_serial_calls_never_compile_the_parallel_twins(tmp_path):
    proc = _run(["-c", _PRUNING], tmp_path / "numba-cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["before"] == [0, 0]  # serial path (None): the prange kernels were not compiled
    assert out["after"] == [1, 1]  # compiled lazily, on the first parallel call
    assert out["same_labels"]
    assert len(set(out["values"])) == 1  # bit-identical serial, parallel and plain-bool paths


def test_parallel_flag():
    from segengine.engines._kmeans_kernels import parallel_flag

    assert parallel_flag(True) is True
    assert parallel_flag(False) is None
    assert parallel_flag(np.bool_(False)) is None


@pytest.mark.slow  # a cold compile of the whole report path
def test_cli_notes_compiling_only_when_it_compiles(tmp_path):
    cache = tmp_path / "numba-cache"
    cold = _run(["-m", "segengine", "demo", "--n", "400", "--language", "pt"], cache)
    assert cold.returncode == 0, cold.stderr[-3000:]
    assert "segengine: compilando os núcleos, só na primeira execução..." in cold.stderr.splitlines()
    assert "compiling" not in cold.stdout and "compilando" not in cold.stdout
    warm = _run(["-m", "segengine", "demo", "--n", "400"], cache)
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert "compil" not in warm.stderr


@pytest.mark.slow  # a cold compile of the whole report path
def test_kernels_need_compiling_reads_numbas_cache(tmp_path):
    code = ("from segengine.kernel_cache import kernels_need_compiling as f; a = f();"
            "from segengine.datasets import make_numeric_customers as m; import segengine as se;"
            "se.segmentation_report({'data': m(n=300, n_features=3, random_state=0)[0]});"
            "print(a, f())")
    cache = tmp_path / "numba-cache"
    first = _run(["-c", code], cache)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.split()[-2:] == ["True", "False"]
    second = _run(["-c", code], cache)
    assert second.stdout.split()[-2:] == ["False", "False"]


def test_threading_layer_known_before_any_parallel_kernel(tmp_path):
    # A process whose reports all run serial kernels must not serialise its request threads.
    code = ("from segengine import concurrency as c; n = c.needs_serialising();"
            "print(n, c.active_threading_layer(), c._configured_layer())")
    proc = _run(["-c", code], tmp_path / "numba-cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    needs, layer, configured = proc.stdout.split()
    assert layer in ("tbb", "omp", "workqueue")
    assert needs == str(layer == "workqueue" or configured == "workqueue")


@pytest.mark.slow  # a cold compile of the whole report path
def test_first_cli_run_loads_lloyd_and_mixture_kernels_compiled_by_its_child(tmp_path):
    # The CLI's first run starts segengine.compile_stages on the second core; the report's own
    # process must then load the Lloyd and mixture kernels from numba's cache instead of
    # compiling them again.
    code = (
        "import contextlib, io, json\n"
        "from segengine.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['demo', '--n', '3000', '--options', '{\"algorithm\": \"gmm\"}'])\n"
        "from segengine.engines import _kmeans_kernels as K\n"
        "from segengine.engines import _gmm_kernels as G\n"
        "out = {}\n"
        "for name, d in [('lloyd', K.lloyd), ('em', G.em_pass_serial)]:\n"
        "    s = d.stats\n"
        "    out[name] = [sum(s.cache_hits.values()), sum(s.cache_misses.values())]\n"
        "print(json.dumps(out))\n"
    )
    proc = _run(["-c", code], tmp_path / "numba-cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "compiling kernels, first run only" in proc.stderr
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats == {"lloyd": [1, 0], "em": [1, 0]}, stats

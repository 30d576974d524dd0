"""Reported results must not depend on whether a kernel was compiled or loaded from numba's cache.

A fresh compile and a kernel linked from the on-disk cache could differ in the last bit when the
kernels allowed fast-math reassociation (issue 16, item 19). Each subprocess below computes report
digests with its own NUMBA_CACHE_DIR: the first run compiles every kernel (cold cache), the second
loads them all from that cache (warm), and this process uses the package's own cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import segengine as se

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

_PAYLOADS = textwrap.dedent(
    """
    from segengine.datasets import load_demo_customers

    def payloads():
        out = []
        for i, n in enumerate((600, 6000)):
            records, _ = load_demo_customers(n=n, random_state=40 + i)
            for options in ({"algorithm": "kmeans", "silhouette": "exact"},
                            {"algorithm": "gmm", "covariance_type": "full"},
                            {"algorithm": "gmm", "covariance_type": "diag"},
                            {"algorithm": "auto"}):
                out.append({"data": records, "include_metadata": True,
                            "options": {"k_max": 6, "random_state": 3, **options}})
        return out
    """
)

_DIGESTS = _PAYLOADS + textwrap.dedent(
    """
    import hashlib, json
    import segengine as se

    def digest(body):
        body["metadata"].pop("processing_time_ms", None)
        body["metadata"].pop("timings_ms", None)
        return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()

    print(json.dumps([digest(se.segmentation_report(p)) for p in payloads()]))
    """
)


def _digests_in_subprocess(cache_dir: Path) -> list[str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _DIGESTS], capture_output=True, text=True,
                          env=env, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_report_identical_with_cold_and_warm_numba_cache(tmp_path):
    cache_dir = tmp_path / "numba-cache"
    cold = _digests_in_subprocess(cache_dir)
    # The cold run really compiled and wrote the kernels of all three kernel modules.
    written = {p.name.split(".")[0] for p in cache_dir.rglob("*.nbi")}
    assert {"_kmeans_kernels", "_gmm_kernels", "_silhouette_kernels"} <= written
    warm = _digests_in_subprocess(cache_dir)
    assert warm == cold

    namespace: dict = {}
    exec(_PAYLOADS, namespace)
    local = []
    for payload in namespace["payloads"]():
        body = se.segmentation_report(payload)
        body["metadata"].pop("processing_time_ms", None)
        body["metadata"].pop("timings_ms", None)
        local.append(hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest())
    assert local == cold

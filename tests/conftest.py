"""Shared fixtures: small realistic payloads built from the embedded demo data."""

from __future__ import annotations

import copy
import os

import numpy as np
import pytest
from hypothesis import settings

from segengine.datasets import load_demo_customers

# The HTTP service tests share one `segengine serve` process (fixture "service", session scope).
from service_helpers import service_fixture  # noqa: F401

# Property tests draw the same examples on every run (derandomized, no example database), so a
# red CI is always a regression, never a newly drawn example. HYPOTHESIS_PROFILE=explore
# searches afresh (then pin any failure it finds as an explicit example or test).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(scope="session")
def demo_records():
    records, truth = load_demo_customers(n=600, random_state=3)
    return records, truth


@pytest.fixture()
def payload(demo_records):
    """A fresh deep copy of a 600-record request body, so tests may not leak mutations."""
    records, _ = demo_records
    return {"data": copy.deepcopy(records), "options": {"k_max": 6}, "include_metadata": True}


@pytest.fixture(scope="session")
def blobs_payload():
    rng = np.random.default_rng(7)
    centers = np.array([[0.0, 0.0, 0.0], [8.0, 8.0, 0.0], [0.0, 8.0, 8.0]])
    rows = []
    for i in range(300):
        c = centers[i % 3]
        x = c + rng.normal(size=3)
        rows.append({"id": f"r{i:03d}", "a": float(x[0]), "b": float(x[1]), "c": float(x[2])})
    return {"data": rows}


@pytest.fixture()
def two_numba_threads():
    """Skip a test that compares one numba thread with two on a runner that has only one.

    ``numba.set_num_threads(2)`` is refused above ``NUMBA_NUM_THREADS`` (the CPU count by
    default), the sweep's worker threads are capped at ``os.cpu_count()``, and comparing one
    thread with one proves nothing.
    """
    import numba

    available = min(numba.config.NUMBA_NUM_THREADS, os.cpu_count() or 1)
    if available < 2:
        pytest.skip(f"needs at least 2 CPU threads; this runner has {available}")
    return 2

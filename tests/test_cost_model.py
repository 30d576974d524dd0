"""The cost model at its limits (README "Cost model"; rows in benchmarks/cost_model.py).

Each row's body -- the worst of one dimension within 20 MB and 250,000 records -- runs in a fresh
process. The bounds here are looser than the README's figures (CPU time, not wall time, so a
busy machine does not fail them; three times the five-second model) but far below what the
unbounded code cost: 25-35 s and 2-2.5 GB, or a 500.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import cost_model  # noqa: E402

pytestmark = pytest.mark.slow

CPU_BOUND_S = 3 * cost_model.TIME_LIMIT_S


@pytest.mark.parametrize("row", cost_model.ROWS, ids=[r.builder.removeprefix("_body_") for r in cost_model.ROWS])
def test_request_at_the_limit_of_one_dimension_is_bounded(row):
    rec = cost_model.run_row(row)
    assert rec.get("status") == row.expected_status, rec.get("failure") or rec
    assert rec["body_mb"] <= cost_model.BODY_LIMIT / 2**20
    assert rec["cpu_seconds"] <= CPU_BOUND_S, rec
    assert rec["peak_mb"] <= cost_model.MEMORY_LIMIT_MB, rec

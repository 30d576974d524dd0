"""Every sentence of a report is re-derived from its numbers (tests/consistency.py).

Run over the demo, over a realistic one-time-buyer-heavy table, and over many random customer
tables (hypothesis, derandomized so CI is reproducible), in English, Spanish and Portuguese. The
checker itself is tested on reports with a planted contradiction: it must find each one.
"""

from __future__ import annotations

import copy
import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import segengine as se
from segengine.datasets import load_demo_customers
from segengine.text.language import LANGUAGES

from consistency import check_report
from customer_tables import one_time_buyers, random_customers


def _report(records, options=None, language="en"):
    return se.segmentation_report({"data": records, "options": options or {}, "include_metadata": True}, language)


@pytest.fixture(scope="module")
def demo_records():
    return load_demo_customers(6000, random_state=0)[0]


@pytest.fixture(scope="module")
def buyers():
    return one_time_buyers(6000, seed=0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_demo_report_is_consistent(demo_records, language):
    report = _report(demo_records, language=language)
    assert check_report(report, language) == []
    assert report["summary"]["n_segments"] == 5


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("options", [{}, {"n_clusters": 4}, {"n_clusters": 6}, {"n_clusters": 8},
                                     {"n_clusters": 6, "naming": "generic"},
                                     {"n_clusters": 6, "features": ["recency_days", "frequency", "monetary_total"]}])
def test_one_time_buyer_table_is_consistent(buyers, language, options):
    report = _report(buyers, {"id_field": "customer_id", **options}, language)
    assert check_report(report, language) == []


@st.composite
def customer_tables(draw):
    return random_customers(draw)


def _random_table_is_consistent(table, language):
    records, options = table
    try:
        report = _report(records, options, language)
    except se.ValidationError as exc:
        # a random table may have no usable field or fewer distinct records than n_clusters
        assert set(exc.details) <= {"data", "options.n_clusters"}, exc.details
        return
    assert check_report(report, language) == []


# About 25 ms a table: sixty drawn tables by default, three hundred others under -m slow.
_TABLE_SETTINGS = dict(deadline=None, derandomize=True,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=60, **_TABLE_SETTINGS)
@given(table=customer_tables(), language=st.sampled_from(LANGUAGES))
def test_random_customer_tables_are_consistent(table, language):
    _random_table_is_consistent(table, language)


@pytest.mark.slow
@settings(max_examples=300, **_TABLE_SETTINGS)
@given(table=customer_tables(), language=st.sampled_from(LANGUAGES))
def test_random_customer_tables_are_consistent_many_tables(table, language):
    _random_table_is_consistent(table, language)


# ---------------------------------------------------------------- the checker finds planted lies


@pytest.fixture(scope="module")
def demo_report(demo_records):
    return _report(demo_records)


def _segment(report, name):
    return next(s for s in report["segments"] if s["name"] == name)


def test_checker_finds_a_wrong_number(demo_report):
    bad = copy.deepcopy(demo_report)
    seg = _segment(bad, "Champions")
    seg["characteristics"][0]["text"] = re.sub(r"is [\d.]+x", "is 3.1x", seg["characteristics"][0]["text"])
    assert any("ratio" in e for e in check_report(bad, "en"))


def test_checker_finds_a_wrong_direction(demo_report):
    bad = copy.deepcopy(demo_report)
    seg = _segment(bad, "Hibernating")
    c = next(c for c in seg["characteristics"] if c["feature"] == "avg_order_value")
    c["text"] = re.sub(r"is [\d.]+% below average \((.*)\)", r"is above average: \1", c["text"])
    assert "above average" in c["text"]
    assert any("above average" in e for e in check_report(bad, "en"))


def test_checker_finds_a_name_the_ranks_contradict(demo_report):
    bad = copy.deepcopy(demo_report)
    hib, champ = _segment(bad, "Hibernating"), _segment(bad, "Champions")
    hib["name"], champ["name"] = "Champions", "Hibernating"
    errors = check_report(bad, "en")
    assert any("most recent" in e for e in errors) and any("dormant" in e for e in errors)
    bad = copy.deepcopy(demo_report)
    _segment(bad, "Loyal customers")["name"] = "High monetary"  # Champions have more
    assert any("not the highest on monetary" in e for e in check_report(bad, "en"))


def test_checker_finds_insights_that_do_not_belong(demo_report):
    bad = copy.deepcopy(demo_report)
    hib, champ = _segment(bad, "Hibernating"), _segment(bad, "Champions")
    hib["insights"][0]["text"] = champ["insights"][0]["text"]
    errors = check_report(bad, "en")
    assert any("ins.champions in a segment named 'Hibernating'" in e for e in errors)
    assert any("size" in e for e in errors)
    bad = copy.deepcopy(demo_report)
    seg = _segment(bad, "Champions")
    seg["insights"].append({"priority": "low", "action": "target",
                            "text": "Reach this segment through region 'north': 22% of its customers vs 22% overall."})
    assert any("channel role" in e for e in check_report(bad, "en"))


def test_checker_finds_summary_tautologies_and_wrong_facts(demo_report):
    bad = copy.deepcopy(demo_report)
    bad["summary"]["insights"].append("The smallest segment, 'Hibernating', has 1,911 customers (32%).")
    errors = check_report(bad, "en")
    assert any("not the smallest" in e for e in errors)
    two = _report(load_demo_customers(600, random_state=3)[0], {"n_clusters": 2})
    name = two["segments"][1]["name"]
    two["summary"]["insights"].append(
        f"'{name}' is the most distinct segment: frequency lies 1.2 standard deviations from the average.")
    assert any("true by construction" in e for e in check_report(two, "en"))


def test_checker_finds_raw_column_names_in_names(buyers):
    report = _report(buyers, {"id_field": "customer_id", "n_clusters": 6, "naming": "generic"})
    report["segments"][0]["name"] = "Low tenure_days, mostly Mar"
    report["metadata"]["roles"]["tenure_days"] = {"role": "tenure", "source": "guessed", "label": "tenure"}
    assert any("raw column name 'tenure_days'" in e for e in check_report(report, "en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_scored_report_is_consistent(buyers, language):
    # a model scoring other records: segments keep their numbering, some may be nearly empty
    seg = se.Segmenter(n_clusters=6, id_field="customer_id").fit(buyers[:4000])
    report = seg.score_report(buyers[4000:4300], language)
    assert check_report(report, language) == []
    few = seg.score_report([r for r in buyers[4000:] if r["frequency"] == 1][:40], language)
    assert check_report(few, language) == []

"""Issue #12, findings 5, 6, 7, 8 and 10: one test each that failed before the fix.

Written against the public API only (segmentation_report, Segmenter, the command line), so that
they ran -- and failed -- on the code before roles, rank-based names, scoring warnings and
decimal commas existed.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import segengine as se
from segengine.cli import main

from customer_tables import one_time_buyers

PRAISE = {"Champions", "Loyal customers", "Big spenders", "Promising"}


@pytest.fixture(scope="module")
def buyers():
    return one_time_buyers(6000, seed=0)


def _report(records, options=None, language="en"):
    return se.segmentation_report({"data": records, "options": options or {}, "include_metadata": True}, language)


# ---------------------------------------------------------------- finding 5: roles from names


def test_days_since_signup_is_tenure_so_old_accounts_are_not_dormant():
    rng = np.random.default_rng(5)
    n = 1200
    old = rng.random(n) < 0.5
    # no recency field: a name-guesser that reads "since" as recency takes the signup age for it
    records = [{"id": i, "frequency": int(2 + rng.poisson(3)),
                "monetary": float(rng.lognormal(4, 0.3)),
                "days_since_signup": float(rng.normal(1500, 100) if old[i] else rng.normal(90, 30))}
               for i in range(n)]
    report = _report(records, {"n_clusters": 2})
    names = {s["name"] for s in report["segments"]}
    assert not names & {"Hibernating", "At risk"}, names
    assert not any("dormant" in i["text"] for s in report["segments"] for i in s["insights"])
    roles = {f: (r["role"], r["source"]) for f, r in report["metadata"]["roles"].items()}
    assert roles["days_since_signup"] == ("tenure", "guessed")


def test_cost_fields_never_make_a_segment_look_valuable(buyers):
    report = _report(buyers, {"id_field": "customer_id"})
    troubled = max(report["segments"], key=lambda s: s["profile"]["n_returns"]["mean"])
    lowest = min(s["profile"]["n_returns"]["mean"] for s in report["segments"])
    assert troubled["profile"]["n_returns"]["mean"] > 5 * lowest
    assert troubled["name"] not in PRAISE, troubled["name"]
    for seg in report["segments"]:
        for ins in seg["insights"]:
            if ins["action"] in ("retain", "upsell"):
                assert not any(w in ins["text"] for w in ("refund", "return", "ticket")), ins["text"]


# ---------------------------------------------------------------- finding 6: names by rank


def test_high_and_low_names_follow_the_ranks_among_segments():
    rng = np.random.default_rng(6)
    # five segments on a neutral field b: only the top one may be called "High b", only the
    # bottom one "Low b" (4.3 is above average but below 6 and 10: "Above-average b")
    means = [10.0, 6.0, 4.3, 2.0, 1.0]
    sizes = [150, 200, 500, 300, 400]
    records = []
    for g, (mu, size) in enumerate(zip(means, sizes)):
        for _ in range(size):
            records.append({"id": len(records), "b": float(rng.normal(mu, 0.15)), "group": float(g)})
    report = _report(records, {"n_clusters": 5, "features": ["b"], "exclude": ["group"]})
    by_mean = sorted(report["segments"], key=lambda s: s["profile"]["b"]["mean"])
    for seg in by_mean[1:]:
        assert not seg["name"].startswith("Low b"), (seg["name"], seg["profile"]["b"]["mean"])
    for seg in by_mean[:-1]:
        assert not seg["name"].startswith("High b"), (seg["name"], seg["profile"]["b"]["mean"])


# ---------------------------------------------------------------- finding 7: sentences vs numbers


def test_new_customers_have_few_orders():
    rng = np.random.default_rng(7)
    n = 1500
    recent = rng.random(n) < 0.5
    records = [{"id": i,
                "recency_days": float(rng.uniform(5, 40) if recent[i] else rng.uniform(200, 400)),
                "frequency": int(rng.poisson(4.2) if recent[i] else rng.poisson(5)),
                "monetary": float(rng.lognormal(4, 0.3)),
                "tenure_days": float(rng.normal(481, 40) if recent[i] else rng.normal(1500, 100))}
               for i in range(n)]
    report = _report(records, {"n_clusters": 2})
    for seg in report["segments"]:
        if seg["name"] == "New customers":
            assert seg["profile"]["frequency"]["mean"] <= 2, seg["profile"]["frequency"]
        assert not any("second purchase" in i["text"] for i in seg["insights"])


def test_no_most_distinct_segment_with_two_segments():
    records, _ = se.datasets.load_demo_customers(2000, random_state=0)
    for lang, word in (("en", "most distinct"), ("es", "más diferenciado"), ("pt", "mais distinto")):
        report = _report(records, {"n_clusters": 2}, lang)
        assert not any(word in s for s in report["summary"]["insights"]), report["summary"]["insights"]


def test_a_cohort_is_not_a_channel_and_names_show_labels(buyers):
    rng = np.random.default_rng(8)
    rows = [dict(r) for r in buyers[:3000]]
    for r in rows:  # the cohort follows the customer type, so a segment over-uses one month
        in_march = r["frequency"] == 1 and rng.random() < 0.8
        r["signup_cohort"] = "Mar" if in_march else str(rng.choice(["Jan", "Feb", "Apr"]))
    report = _report(rows, {"id_field": "customer_id", "n_clusters": 6})
    texts = [i["text"] for s in report["segments"] for i in s["insights"]]
    assert not any("Reach this segment" in t for t in texts), texts
    for seg in report["segments"]:
        assert "_" not in seg["name"], seg["name"]
    given = _report(rows, {"id_field": "customer_id", "n_clusters": 6, "roles": {"signup_cohort": "channel"}})
    assert any("through signup cohort 'Mar'" in i["text"] for s in given["segments"] for i in s["insights"])


def test_champions_are_the_few_most_recent(buyers):
    # the real table's "Champions" were a third of the base with a mean recency of 164 days
    for options in ({}, {"n_clusters": 4}, {"n_clusters": 6}, {"n_clusters": 8}):
        report = _report(buyers, {"id_field": "customer_id", **options})
        for seg in report["segments"]:
            if seg["name"] == "Champions":
                assert seg["share"] <= 0.25, (options, seg["share"])
                recency = seg["profile"]["recency_days"]["mean"]
                assert recency == min(s["profile"]["recency_days"]["mean"] for s in report["segments"])


# ---------------------------------------------------------------- finding 8: scoring warnings


def test_fields_missing_at_scoring_are_said(buyers):
    seg = se.Segmenter(n_clusters=4, id_field="customer_id").fit(buyers[:3000])
    new = [{k: v for k, v in r.items() if k not in ("monetary_total", "frequency")} for r in buyers[3000:4000]]
    with pytest.warns(UserWarning) as caught:
        seg.predict(new)
    messages = [str(w.message) for w in caught]
    assert any("monetary_total" in m and "1000" in m for m in messages), messages
    assert any("frequency" in m for m in messages)
    with pytest.warns(se.ScoringFieldsWarning) as caught:
        seg.predict_proba(new)
    assert {str(w.message).split()[1] for w in caught} == {"monetary_total", "frequency"}
    nulls = [{**r, "frequency": None} for r in buyers[3000:3100]]
    with pytest.warns(UserWarning, match="null in all 100"):
        seg.predict(nulls)
    report = se.segmentation_report({"data": new, "include_metadata": True}, model=seg)
    assert any("monetary_total" in w and "1000" in w for w in report["metadata"]["warnings"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seg.predict(buyers[3000:3100])  # every field present: silent


# ---------------------------------------------------------------- finding 10: CSV in every locale


def _pt_csv(path, rows):
    fields = list(rows[0])
    lines = [";".join(fields)]
    for r in rows:
        cells = []
        for f in fields:
            v = r[f]
            cells.append(f"{v:.2f}".replace(".", ",") if isinstance(v, float) else str(v))
        lines.append(";".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_semicolon_csv_with_decimal_commas_reads_money_as_numbers(buyers, tmp_path, capsys):
    src = tmp_path / "clientes.csv"
    _pt_csv(src, buyers[:1500])
    out = tmp_path / "out.json"
    assert main(["report", str(src), "--language", "pt", "--output", str(out), "--options",
                 '{"id_field": "customer_id"}']) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"monetary_total", "avg_order_value", "refund_value"} <= set(report["summary"]["features_used"])
    assert "mean" in report["segments"][0]["profile"]["monetary_total"]
    warnings_text = " ".join(report["metadata"]["warnings"])
    assert "valores distintos" not in warnings_text
    assert "separador decimal" in warnings_text and "detectado" in warnings_text

"""The ``roles`` and ``naming`` options: validation at exact paths, given roles win, metadata."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import segengine as se
from segengine.roles import assign_roles, field_label, field_labels

from consistency import check_report

ARCHETYPE_NAMES = {"Champions", "Loyal customers", "New customers", "At risk", "Hibernating", "Big spenders",
                   "Promising", "Occasional buyers", "Low-value customers"}


def _neutral_rfm(n=1500, seed=0):
    """RFM customers under names nobody could guess: a1 (days since last order), a2 (orders), a3 (spend)."""
    rng = np.random.default_rng(seed)
    g = rng.choice(3, n, p=[0.15, 0.45, 0.4])  # 0 best (few), 1 middle, 2 dormant
    return [{"id": i, "a1": float(rng.normal([8, 60, 300][g[i]], 4)), "a2": int(rng.poisson([20, 6, 1][g[i]]) + 1),
             "a3": float(rng.lognormal([7, 5.5, 4][g[i]], 0.2)), "web": ["app", "store", "phone"][g[i]]}
            for i in range(n)]


def _report(records, options, language="en"):
    return se.segmentation_report({"data": records, "options": options, "include_metadata": True}, language)


def test_given_roles_name_segments_and_are_reported_as_given():
    records = _neutral_rfm()
    plain = _report(records, {"n_clusters": 3})
    assert not {s["name"] for s in plain["segments"]} & ARCHETYPE_NAMES
    roles = {"a1": "recency", "a2": "frequency", "a3": "monetary", "web": "channel"}
    report = _report(records, {"n_clusters": 3, "roles": roles})
    names = {s["name"] for s in report["segments"]}
    assert "Champions" in names and "Hibernating" in names, names
    meta = {f: (r["role"], r["source"]) for f, r in report["metadata"]["roles"].items()}
    assert meta == {f: (r, "given") for f, r in roles.items()}
    assert any("through web 'app'" in i["text"] for s in report["segments"] for i in s["insights"])
    for lang in ("en", "es", "pt"):
        assert check_report(_report(records, {"n_clusters": 3, "roles": roles}, lang), lang) == []


def test_role_none_switches_a_guess_off_and_generic_naming_turns_archetypes_off():
    records, _ = se.datasets.load_demo_customers(3000, random_state=1)
    report = _report(records, {"roles": {"recency_days": "none", "last_purchase_date": "none"}})
    names = {s["name"] for s in report["segments"]}
    assert not names & {"Champions", "At risk", "Hibernating", "Promising"}, names
    meta = {f: (r["role"], r["source"]) for f, r in report["metadata"]["roles"].items()}
    assert meta["recency_days"] == ("none", "given") and meta["frequency"] == ("frequency", "guessed")
    generic = _report(records, {"naming": "generic"})
    assert generic["metadata"]["naming"] == "generic"
    assert not {s["name"] for s in generic["segments"]} & ARCHETYPE_NAMES
    assert all(i["action"] in ("monitor", "target") for s in generic["segments"] for i in s["insights"])
    assert check_report(generic, "en") == []
    # recency in words, never "High recency" (upside down to a marketer), and said once
    names = [s["name"] for s in generic["segments"]]
    assert "Least recent buyers, low avg order value" in names, names
    assert not any("recency" in n or n.count("recent") > 1 for n in names), names
    bad = copy.deepcopy(generic)
    dormant = max(bad["segments"], key=lambda s: s["profile"]["recency_days"]["mean"])
    dormant["name"] = "Most recent buyers"
    assert any("not 'name.recency_low'" in e for e in check_report(bad, "en"))


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"roles": {"spend": "money"}}, "options.roles.spend"),
        ({"roles": ["recency"]}, "options.roles"),
        ({"roles": {"spend": 3}}, "options.roles.spend"),
        ({"naming": "fancy"}, "options.naming"),
        ({"roles": {"nope": "recency"}}, "options.roles.nope"),
        ({"roles": {"web": "recency"}}, "options.roles.web"),  # a category cannot be recency
        ({"roles": {"a1": "channel"}}, "options.roles.a1"),  # a number cannot be a channel
    ],
)
def test_bad_roles_are_422_at_their_exact_path(options, path):
    records = _neutral_rfm(60)
    payload = {"data": records, "options": options}
    status, body = se.handle_request(payload, {"Accept-Language": "es"})
    assert status == 422 and list(body["details"]) == [path], body
    assert body["details"][path] and "Traceback" not in body["details"][path]
    assert payload["options"] == options  # not mutated


def test_segmenter_parameters_roles_and_naming(tmp_path):
    records = _neutral_rfm(900)
    roles = {"a1": "recency", "a2": "frequency", "a3": "monetary"}
    seg = se.Segmenter(n_clusters=3, roles=roles, naming="archetype").fit(records)
    assert seg.get_params()["roles"] == roles and seg.get_params()["naming"] == "archetype"
    names = [s["name"] for s in seg.report()["segments"]]
    assert "Champions" in names
    path = tmp_path / "m.json"
    seg.save(path)
    loaded = se.Segmenter.load(path)
    assert loaded.options_.roles == tuple(roles.items())
    assert [s["name"] for s in loaded.score_report(records)["segments"]] == names
    with pytest.raises(se.ValidationError) as err:
        se.Segmenter(roles={"a1": "age"}).fit(records)
    assert list(err.value.details) == ["roles.a1"]
    generic = se.Segmenter(n_clusters=3, roles=roles, naming="generic").fit(records)
    assert not {s["name"] for s in generic.report()["segments"]} & ARCHETYPE_NAMES
    import sklearn.base as sklearn_base
    clone = sklearn_base.clone(seg)
    assert clone.get_params()["roles"] == roles


def test_labels_and_role_priority():
    assert field_label("tenure_days") == "tenure"
    assert field_label("recencyDays") == "recency"
    assert field_label("avg_order_value") == "avg order value"
    assert field_label("days_since_signup") == "days since signup"
    assert field_label("x") == "x"
    assert field_label("tenure_months") == "tenure (months)"
    # labels that would collide keep the raw names
    assert field_labels(["recency_days", "recency"]) == {"recency_days": "recency_days", "recency": "recency"}

    class Col:
        def __init__(self, name, kind="numeric", used=True):
            self.name, self.kind, self.used = name, kind, used

    fr = assign_roles([Col("avg_order_value"), Col("monetary_total"), Col("last_seen_days", used=False),
                       Col("recency"), Col("channel", "categorical"), Col("cohort", "categorical")],
                      {"cohort": "channel"})
    assert fr.monetary == "monetary_total" and fr.aov == "avg_order_value"
    assert fr.recency == "recency"  # used before unused
    assert fr.channels == ("channel", "cohort")
    assert fr.by_field["cohort"] == ("channel", "given") and fr.by_field["channel"] == ("channel", "guessed")

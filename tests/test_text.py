"""What the customer reads: catalogues, number formats, names, characteristics and insights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from test_profiling import customer_like

from segengine.datasets import DEMO_SEGMENTS, load_demo_customers
from segengine.profiling import FieldColumn, profile_segments
from segengine.roles import field_label, guess_role as _role_of
from segengine.text.catalog import (
    LANGUAGES,
    MESSAGES,
    format_int,
    format_number,
    format_percent,
    format_ratio,
    placeholders,
    text,
)
from segengine.text.insights import segment_texts, summary_insights
from segengine.text.naming import name_segments, segment_archetypes

DIGIT = re.compile(r"\d")
ACTIONS = {"retain", "upsell", "win_back", "onboard", "reactivate", "nurture", "monitor", "target", "cross_sell"}


# ---------------------------------------------------------------- catalogues and numbers


def test_every_language_has_every_key_with_the_same_placeholders():
    assert set(MESSAGES) == set(LANGUAGES) == {"en", "es", "pt"}
    keys = set(MESSAGES["en"])
    for lang in LANGUAGES:
        assert set(MESSAGES[lang]) == keys, lang
        for key in keys:
            assert placeholders(MESSAGES[lang][key]) == placeholders(MESSAGES["en"][key]), (lang, key)
            assert MESSAGES[lang][key].strip()


def test_languages_differ():
    for key in MESSAGES["en"]:
        if key.startswith(("char.", "ins.", "sum.")):
            assert MESSAGES["en"][key] != MESSAGES["es"][key] != MESSAGES["pt"][key], key


@pytest.mark.parametrize(
    ("x", "en", "es"),
    [
        (1234.5, "1,234", "1.234"),  # no decimals from 100 up
        (1234567.0, "1,234,567", "1.234.567"),
        (12.34, "12.3", "12,3"),
        (3.0, "3", "3"),
        (2.345, "2.35", "2,35"),
        (0.0123, "0.012", "0,012"),
        (-45.67, "-45.7", "-45,7"),
        (0.0, "0", "0"),
        (None, "-", "-"),
    ],
)
def test_format_number(x, en, es):
    assert format_number(x, "en") == en
    assert format_number(x, "es") == es
    assert format_number(x, "pt") == es


def test_format_percent_ratio_int():
    assert format_percent(0.48, "en") == "48%"
    assert format_percent(0.48, "es") == "48 %"
    assert format_percent(0.48, "pt") == "48%"
    assert format_percent(0.045, "en") == "4.5%"
    assert format_percent(0.045, "pt") == "4,5%"
    assert format_percent(0.0012, "en") == "0.12%"
    assert format_ratio(2.34, "en") == "2.3" and format_ratio(2.34, "es") == "2,3"
    assert format_ratio(14.6, "pt") == "15"
    assert format_int(1234567, "en") == "1,234,567" and format_int(1234567, "pt") == "1.234.567"
    assert text("es", "sum.count", n="10", k="3") == "10 clientes se agruparon en 3 segmentos."
    with pytest.raises(ValueError):
        format_percent(0.5, "fr")


# ---------------------------------------------------------------- role recognition


@pytest.mark.parametrize(
    ("name", "kind", "role"),
    [
        ("recency", "numeric", "recency"),
        ("recencyDays", "numeric", "recency"),
        ("days_since_last_purchase", "numeric", "recency"),
        ("recência", "numeric", "recency"),
        ("dias_desde_ultima_compra", "numeric", "recency"),
        ("last_purchase_date", "date", "recency"),
        ("last_purchase_date", "numeric", "recency"),  # a caller may pass dates as numeric days
        ("dataUltimaCompra", "numeric", "recency"),
        ("purchase_date", "numeric", None),
        ("fecha_alta", "numeric", "tenure"),
        ("frequency", "numeric", "frequency"),
        ("frecuencia", "numeric", "frequency"),
        ("frequência", "numeric", "frequency"),
        ("numPedidos", "numeric", "frequency"),
        ("total_purchases", "numeric", "frequency"),
        ("compras", "numeric", "frequency"),
        ("monetary", "numeric", "monetary"),
        ("totalSpent", "numeric", "monetary"),
        ("revenue", "numeric", "monetary"),
        ("gasto_total", "numeric", "monetary"),
        ("receita", "numeric", "monetary"),
        ("ingresos", "numeric", "monetary"),
        ("avg_order_value", "numeric", "monetary"),  # an average backs the total (roles.is_average)
        ("ticket_medio", "numeric", "monetary"),
        ("tenure_months", "numeric", "tenure"),
        ("months_active", "numeric", "tenure"),
        ("antigüedad", "numeric", "tenure"),
        ("antiguidade", "numeric", "tenure"),
        ("signup_date", "date", "tenure"),
        ("churned", "binary", "churn"),
        ("channel", "numeric", None),
        ("channel", "categorical", "channel"),
        ("signup_cohort", "categorical", None),
        ("x1", "numeric", None),
        # whole tokens, and the start of the relationship before "since" (issue #12, finding 5)
        ("days_since_signup", "numeric", "tenure"),
        ("days_since_first_purchase", "numeric", "tenure"),
        ("support_tickets", "numeric", "none"),
        ("n_returns", "numeric", "none"),
        ("refund_value", "numeric", "none"),
        ("cds_bought", "numeric", None),
        ("customer_lifetime_value", "numeric", "monetary"),
        ("monetary_total", "numeric", "monetary"),
    ],
)
def test_field_roles(name, kind, role):
    assert _role_of(name, kind) == role


# ---------------------------------------------------------------- names and texts on generated data


@pytest.fixture(scope="module")
def generated():
    cols, labels, k = customer_like()
    return cols, labels, k, profile_segments(cols, labels, k)


def _all_texts(segs, summary):
    for seg in segs:
        yield seg["name"]
        for c in seg["characteristics"]:
            yield c["text"]
        for i in seg["insights"]:
            yield i["text"]
    yield from summary


def test_texts_shape_numbers_and_json(generated):
    cols, labels, k, prof = generated
    for lang in LANGUAGES:
        segs = segment_texts(prof, cols, lang)
        summary = summary_insights(prof, cols, lang)
        assert len(segs) == k
        assert 2 <= len(summary) <= 4
        json.dumps([segs, summary], allow_nan=False)
        for seg in segs:
            assert 1 <= len(seg["insights"]) <= 3
            for ins in seg["insights"]:
                assert ins["priority"] in ("high", "medium", "low")
                assert ins["action"] in ACTIONS
                assert DIGIT.search(ins["text"]), ins["text"]
                assert "{" not in ins["text"] and "None" not in ins["text"]
            for c in seg["characteristics"]:
                # sentences show the field's readable label (recencyDays -> "recency")
                assert DIGIT.search(c["text"]) and field_label(c["feature"]) in c["text"]
                assert set(c) == {"feature", "direction", "effect_size", "text"}
        for sentence in summary:
            assert DIGIT.search(sentence), sentence
        assert len(set(s["name"] for s in segs)) == k
        for t in _all_texts(segs, summary):
            assert "nan" not in t.lower().split() and "inf" not in t.lower().split()


def test_languages_actually_differ(generated):
    cols, labels, k, prof = generated
    out = {lang: segment_texts(prof, cols, lang) for lang in LANGUAGES}
    for a, b in (("en", "es"), ("en", "pt"), ("es", "pt")):
        for sa, sb in zip(out[a], out[b]):
            for ia, ib in zip(sa["insights"], sb["insights"]):
                assert ia["text"] != ib["text"]
                assert (ia["priority"], ia["action"]) == (ib["priority"], ib["action"])


def test_names_and_texts_stable_under_record_permutation(generated):
    cols, labels, k, prof = generated
    perm = np.random.default_rng(11).permutation(labels.shape[0])
    cols2 = [FieldColumn(c.name, c.kind, c.values[perm], c.used) for c in cols]
    prof2 = profile_segments(cols2, labels[perm], k)
    for lang in LANGUAGES:
        assert name_segments(prof2, cols2, lang) == name_segments(prof, cols, lang)
        assert segment_texts(prof2, cols2, lang) == segment_texts(prof, cols, lang)
        assert summary_insights(prof2, cols2, lang) == summary_insights(prof, cols, lang)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(1, 8), n=st.integers(1, 80), seed=st.integers(0, 10_000), named=st.booleans())
def test_names_distinct_on_any_data(k, n, seed, named):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    names = ("recency", "frequency", "monetary") if named else ("a", "b", "c")
    cols = [FieldColumn(nm, "numeric", rng.lognormal(0, 1, n), True) for nm in names]
    cols.append(FieldColumn("flat", "numeric", np.ones(n), True))
    cols.append(FieldColumn("cat", "categorical", np.array(rng.choice(["u", "v"], n), dtype=object), True))
    prof = profile_segments(cols, labels, k)
    for lang in LANGUAGES:
        got = name_segments(prof, cols, lang)
        assert len(set(got)) == k and all(got)
        assert 2 <= len(summary_insights(prof, cols, lang)) <= 4
        for seg in segment_texts(prof, cols, lang):
            assert all(DIGIT.search(i["text"]) for i in seg["insights"])


def test_generic_names_from_characteristics():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [300, 200])
    a = np.where(labels == 1, rng.normal(10, 1, 500), rng.normal(0, 1, 500))
    b = np.where(labels == 1, rng.normal(-5, 1, 500), rng.normal(0, 1, 500))
    cols = [FieldColumn("alpha", "numeric", a, True), FieldColumn("beta", "numeric", b, True)]
    prof = profile_segments(cols, labels, 2)
    assert name_segments(prof, cols, "en")[1] == "High alpha, low beta"
    assert name_segments(prof, cols, "es")[1] == "alpha alto, beta bajo"
    assert name_segments(prof, cols, "pt")[1] == "alpha alto, beta baixo"


def test_churn_field_triggers_win_back():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [400, 100])
    churn = (rng.random(500) < np.where(labels == 1, 0.7, 0.1)).astype(float)
    other = rng.normal(0, 1, 500)
    cols = [FieldColumn("churned", "binary", churn, True), FieldColumn("score", "numeric", other, True)]
    prof = profile_segments(cols, labels, 2)
    segs = segment_texts(prof, cols, "en")
    assert segs[1]["insights"][0]["action"] == "win_back" and segs[1]["insights"][0]["priority"] == "high"
    assert segs[1]["name"] == "At risk"


def test_empty_segment_has_a_name_and_no_insight():
    cols = [FieldColumn("x", "numeric", np.array([1.0, 2.0, 3.0, 10.0]), True)]
    prof = profile_segments(cols, np.array([0, 0, 0, 1]), 3)
    for lang in LANGUAGES:
        segs = segment_texts(prof, cols, lang)
        assert len({s["name"] for s in segs}) == 3
        assert segs[2]["insights"] == []
        assert all(DIGIT.search(s) for s in summary_insights(prof, cols, lang))


def test_spanish_and_portuguese_field_names_give_rfm_names():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], [800, 200])
    best = labels == 1
    for fields in (("recencia", "frecuencia", "gasto"), ("dias_desde_ultima_compra", "pedidos", "receita")):
        cols = [
            FieldColumn(fields[0], "numeric",
                        np.where(best, rng.exponential(10, 1000), rng.exponential(100, 1000)), True),
            FieldColumn(fields[1], "numeric", np.where(best, 10.0, 2.0) + rng.poisson(2, 1000), True),
            FieldColumn(fields[2], "numeric",
                        np.where(best, rng.lognormal(7, 0.5, 1000), rng.lognormal(5, 0.5, 1000)), True),
        ]
        prof = profile_segments(cols, labels, 2)
        assert name_segments(prof, cols, "es")[1] == "Campeones"
        assert name_segments(prof, cols, "pt")[1] == "Campeões"
        assert name_segments(prof, cols, "en")[1] == "Champions"


# ---------------------------------------------------------------- the demo customers, true segments


def demo_columns(n: int, seed: int, date_kind: str = "date") -> tuple[list[FieldColumn], np.ndarray]:
    records, truth = load_demo_customers(n, seed)

    def numeric(key):
        return np.array([np.nan if r[key] is None else float(r[key]) for r in records])

    dates = np.array([r["last_purchase_date"] for r in records], dtype="datetime64[D]")
    cols = [FieldColumn(k, "numeric", numeric(k), True)
            for k in ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_months")]
    cols += [FieldColumn(k, "categorical", np.array([r[k] for r in records], dtype=object), k != "email")
             for k in ("channel", "region", "email")]
    cols.append(FieldColumn("loyalty_member", "binary", np.array([float(r["loyalty_member"]) for r in records]), True))
    cols.append(FieldColumn("last_purchase_date", date_kind, (dates.max() - dates).astype(float), date_kind != "date"))
    return cols, truth


EXPECTED = {
    "champions": ("Champions", "Campeones", "Campeões"),
    "loyal": ("Loyal customers", "Clientes leales", "Clientes fiéis"),
    "new": ("New customers", "Clientes nuevos", "Clientes novos"),
    "at_risk": ("At risk", "En riesgo", "Em risco"),
    "hibernating": ("Hibernating", "Hibernando", "Hibernando"),
}


@pytest.mark.parametrize(("seed", "date_kind"), [(0, "date"), (1, "date"), (2, "numeric")])
def test_demo_true_segments_get_rfm_names(seed, date_kind):
    cols, truth = demo_columns(4000, seed, date_kind)
    # segment 0 is the largest, as the report numbers them
    order = np.argsort(-np.bincount(truth), kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(order.shape[0])
    labels = remap[truth]
    prof = profile_segments(cols, labels, len(order))
    assert "email" not in prof.overall
    for li, lang in enumerate(LANGUAGES):
        names = name_segments(prof, cols, lang)
        for s, true_index in enumerate(order):
            assert names[s] == EXPECTED[DEMO_SEGMENTS[true_index]][li], (lang, DEMO_SEGMENTS[true_index], names)
    segs = segment_texts(prof, cols, "en")
    actions = {DEMO_SEGMENTS[order[s]]: segs[s]["insights"][0]["action"] for s in range(len(order))}
    assert actions["champions"] == "retain" and actions["at_risk"] == "win_back"
    assert actions["new"] == "onboard" and actions["hibernating"] == "reactivate"
    summary = summary_insights(prof, cols, "en")
    assert summary[0].startswith("'Champions' holds")


def test_no_distinguishing_field_still_reads_well():
    # only constant fields: no characteristic, numbered names, insights still carry numbers
    n = 30
    cols = [FieldColumn("flat", "numeric", np.full(n, 2.0), True),
            FieldColumn("cat", "categorical", np.array(["a"] * n, dtype=object), True)]
    labels = np.repeat([0, 1, 2], 10)
    prof = profile_segments(cols, labels, 3)
    assert prof.characteristics == [[], [], []]
    for lang in LANGUAGES:
        names = name_segments(prof, cols, lang)
        assert len(set(names)) == 3
        for seg in segment_texts(prof, cols, lang):
            assert seg["insights"] and all(DIGIT.search(i["text"]) for i in seg["insights"])
        assert all(DIGIT.search(t) for t in summary_insights(prof, cols, lang))
    assert name_segments(prof, cols, "pt") == ["Segmento 1", "Segmento 2", "Segmento 3"]


def test_channel_targeting_and_priority():
    cols, truth = demo_columns(3000, 0)
    prof = profile_segments(cols, truth, 5)
    champions = DEMO_SEGMENTS.index("champions")
    ins = segment_texts(prof, cols, "en")[champions]["insights"]
    target = [i for i in ins if i["action"] == "target"]
    assert target and "channel 'app'" in target[0]["text"] and target[0]["priority"] == "medium"
    assert archetypes_ok(prof, cols)


def archetypes_ok(prof, cols) -> bool:
    return segment_archetypes(prof, cols) == list(DEMO_SEGMENTS)


def test_date_names_and_extreme_magnitudes():
    n = 400
    labels = np.repeat([0, 1], [300, 100])
    rng = np.random.default_rng(9)
    days = np.where(labels == 1, 300.0, 10.0) + rng.random(n)
    huge = np.where(labels == 1, 3e12, 1e12) * (1 + 0.01 * rng.random(n))
    tiny = np.where(labels == 1, 1e-12, 5e-12) * (1 + 0.01 * rng.random(n))
    cols = [FieldColumn("event_date", "date", days, True), FieldColumn("big", "numeric", huge, True),
            FieldColumn("small", "numeric", tiny, True)]
    prof = profile_segments(cols, labels, 2)
    names = {lang: name_segments(prof, cols, lang) for lang in LANGUAGES}
    assert names["en"][1].startswith("Old event date") and names["en"][0].startswith("Recent event date")
    assert names["pt"][1].startswith("event date antigo")
    # a date named like a last purchase is recency: long ago and nothing else -> dormant
    as_recency = [FieldColumn("last_seen", "date", days, True)] + cols[1:]
    assert name_segments(profile_segments(as_recency, labels, 2), as_recency, "en")[1] == "Hibernating"
    for lang in LANGUAGES:
        for seg in segment_texts(prof, cols, lang):
            for c in seg["characteristics"]:
                assert "e+" not in c["text"] and "e-" not in c["text"] and DIGIT.search(c["text"])
    assert format_number(3e12, "es") == "3.000.000.000.000"
    assert format_number(1.5e-12, "en") == "0.0000000000015"


def test_a_one_customer_segment_is_spoken_of_in_the_singular():
    import segengine as se

    rows = [{"id": i, "a": float(i % 3), "b": float((i * 7) % 5)} for i in range(30)]
    rows.append({"id": 99, "a": 100.0, "b": 100.0})
    for lang, word in [("en", "single customer"), ("es", "único cliente"), ("pt", "único cliente")]:
        report = se.segmentation_report({"data": rows, "options": {"n_clusters": 4}}, lang)
        single = [s for s in report["segments"] if s["size"] == 1]
        assert single and all(word in i["text"] for s in single for i in s["insights"])
        text_all = " ".join(report["summary"]["insights"])
        assert " 1 customers" not in text_all and " 1 clientes" not in text_all

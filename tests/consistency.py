"""A checker that re-derives every claim of a report's sentences from the report's own numbers.

`check_report(report, language)` reads a response body made with ``include_metadata`` (the
checker needs ``metadata.roles`` to know which field plays which role) and returns the list of
contradictions it found (empty when every sentence is true). Each sentence is matched back to
its catalogue template (so the checker works in every language), its placeholders are parsed,
and each claim is recomputed from the segment profiles:

- a characteristic: its direction, its numbers (the segment's mean, the population mean
  recomputed from all segments, the ratio, the percentage), the field it names;
- a segment name: an archetype's definition against the ranks of the segments on the role
  fields (Champions the most recent and among the best on frequency or monetary, New below
  average on tenure and not above on frequency, ...); "High X" the highest mean of X, "Low X" the
  lowest, "Above-average X" above the mean, "Mostly <value>" at least half of the segment; no raw
  column name where a label exists;
- an insight: the size and share it quotes, that its action belongs to the segment's archetype,
  that the evidence it cites is a true characteristic of that segment pointing the archetype's
  way, that a "reach it through" sentence names a channel field and true shares;
- a summary insight: the segment it names, the sizes, shares and totals it quotes, and that it is
  not true by construction (no "most distinct segment" with fewer than three segments).
"""

from __future__ import annotations

import re

from segengine.roles import is_average, is_cost
from segengine.text.catalog import MESSAGES, format_int, format_percent

ARCHETYPE_CODES = ("champions", "at_risk", "new", "loyal", "big_spenders", "hibernating",
                   "promising", "occasional", "low_value")
# The direction each archetype claims on its role fields (+1 more / -1 less), as read in the
# unit of the field (recency in days: -1 means fewer days, i.e. more recent).
ARCHETYPE_CLAIMS = {
    "champions": {"recency": -1, "frequency": +1, "monetary": +1},
    "at_risk": {"recency": +1},
    "new": {"tenure": -1},
    "loyal": {"frequency": +1},
    "big_spenders": {"monetary": +1},
    "hibernating": {"recency": +1},
    "promising": {"recency": -1},
    "occasional": {"frequency": -1},
    "low_value": {"monetary": -1},
}
INSIGHT_ARCHETYPE = {
    "ins.champions": "champions", "ins.champions.upsell": "champions", "ins.loyal": "loyal",
    "ins.new": "new", "ins.at_risk": "at_risk", "ins.hibernating": "hibernating",
    "ins.big_spenders": "big_spenders", "ins.big_spenders.upsell": "big_spenders",
    "ins.promising": "promising", "ins.occasional": "occasional", "ins.low_value": "low_value",
}
_MARKS = {"en": (",", "."), "es": (".", ","), "pt": (".", ",")}


def _regex(template: str, feature: str | None = None) -> re.Pattern:
    parts = re.split(r"(\{[a-z_]+\})", template)
    out = []
    for p in parts:
        if p == "{feature}" and feature is not None:
            out.append(f"(?P<feature>{re.escape(feature)})")
        elif p.startswith("{") and p.endswith("}"):
            out.append(f"(?P<{p[1:-1]}>.+?)")
        else:
            out.append(re.escape(p))
    return re.compile("^" + "".join(out) + "$", re.S)


_COMPILED = {lang: {key: _regex(t) for key, t in msgs.items()} for lang, msgs in MESSAGES.items()}


_WITH_LABEL: dict = {}


def match(language: str, sentence: str, prefix: str, labels=None) -> list[tuple[str, dict]]:
    """Every (key, placeholders) of the catalogue under ``prefix`` that reads ``sentence``.

    With ``labels``, a ``{feature}`` placeholder only reads one of them (a label may contain
    spaces, so "Mostly signup cohort Jan" must not split as feature "signup").
    """
    out = []
    for key, rx in _COMPILED[language].items():
        if not key.startswith(prefix):
            continue
        template = MESSAGES[language][key]
        if labels is not None and "{feature}" in template:
            for label in labels:
                cache_key = (language, key, label)
                if cache_key not in _WITH_LABEL:
                    _WITH_LABEL[cache_key] = _regex(template, label)
                m = _WITH_LABEL[cache_key].match(sentence)
                if m:
                    out.append((key, m.groupdict()))
            continue
        m = rx.match(sentence)
        if m:
            out.append((key, m.groupdict()))
    return out


def parse_number(s: str, language: str) -> tuple[float, float]:
    """A number written by the catalogue's formatters, and half a unit of its last digit."""
    group, point = _MARKS[language]
    s = s.strip().replace("\u00a0", " ").rstrip("%").strip()
    body = s.replace(group, "")
    decimals = len(body.split(point, 1)[1]) if point in body else 0
    return float(body.replace(point, ".")), 0.5 * 10.0 ** (-decimals)


def close(shown: str, true: float | None, language: str, *, scale: float = 1.0) -> bool:
    """Whether ``shown`` (formatted, possibly a percentage) is ``true`` after rounding."""
    if true is None:
        return shown.strip() == "-"
    try:
        x, half = parse_number(shown, language)
    except ValueError:
        return False
    return abs(x - scale * true) <= half * 1.02 + 2e-4 * abs(scale * true) + 1e-12


class Report:
    """Numbers of a report, recomputed where the report does not state them."""

    def __init__(self, report: dict, language: str) -> None:
        self.language = language
        self.segments = report["segments"]
        self.summary = report["summary"]
        meta = report.get("metadata") or {}
        self.roles = dict(meta.get("roles", {}))
        self.labels = {f: r["label"] for f, r in self.roles.items()}
        self.by_label = {lab: f for f, lab in self.labels.items()}
        used = {p["field"]: p["used"] for p in meta.get("preprocessing", [])}
        self.used = used
        self.sizes = [s["size"] for s in self.segments]
        self.n = sum(self.sizes)
        self.live = [i for i, s in enumerate(self.sizes) if s > 0]
        self.names = [s["name"] for s in self.segments]

    # -- population numbers, from the segments ------------------------------------------------
    def valid(self, s: int, field: str) -> float:
        p = self.segments[s]["profile"].get(field) or {}
        return self.sizes[s] * (1.0 - (p.get("missing_rate") or 0.0))

    def overall_mean(self, field: str) -> float | None:
        num = den = 0.0
        for s in self.live:
            m = self.segments[s]["profile"][field].get("mean")
            if m is not None:
                w = self.valid(s, field)
                num, den = num + w * m, den + w
        return num / den if den else None

    def mean(self, s: int, field: str) -> float | None:
        return (self.segments[s]["profile"].get(field) or {}).get("mean")

    def means(self, field: str) -> list[float]:
        return [self.mean(s, field) for s in self.live if self.mean(s, field) is not None]

    def sum_share(self, s: int, field: str) -> float | None:
        tot = sum(self.valid(t, field) * self.mean(t, field) for t in self.live if self.mean(t, field) is not None)
        m = self.mean(s, field)
        return None if not tot or m is None else self.valid(s, field) * m / tot

    def role_field(self, role: str) -> str | None:
        """The field that speaks for ``role``: given before guessed, used before unused, totals
        before averages (monetary), then report order -- the order the engine documents."""
        fields = [f for f, r in self.roles.items() if r["role"] == role and f in self.segments[0]["profile"]]
        fields = [f for f in fields if "mean" in self.segments[0]["profile"][f]]
        if not fields:
            return None
        order = list(self.roles)
        return sorted(fields, key=lambda f: (self.roles[f]["source"] != "given", not self.used.get(f, False),
                                             role == "monetary" and is_average(f), order.index(f)))[0]

    def field_of_label(self, label: str) -> str | None:
        return self.by_label.get(label)


def _check_characteristic(R: Report, s: int, sentence: str, errors: list, where: str, want=None) -> str | None:
    """Check one characteristic sentence of segment s; returns the field it is about."""
    lang = R.language
    found = match(lang, sentence, "char.", R.by_label)
    if not found:
        errors.append(f"{where}: no characteristic template reads {sentence!r}")
        return None
    key, g = found[0]
    field = R.field_of_label(g["feature"])
    if field is None:
        errors.append(f"{where}: {g['feature']!r} is not the label of any field")
        return None
    prof = R.segments[s]["profile"][field]
    if key == "char.category":
        top = {t["value"]: t for t in prof["top"]}
        t = top.get(g["category"])
        if t is None:
            errors.append(f"{where}: category {g['category']!r} not in the segment's profile")
            return field
        if not (close(g["value"], t["share"], lang, scale=100) and close(g["ratio"], t["lift"], lang)
                and t["lift"] > 1):
            errors.append(f"{where}: category numbers do not match ({t}) in {sentence!r}")
        return field
    mean, ref = prof["mean"], R.overall_mean(field)
    scale = 100 if key == "char.rate" else 1
    if not close(g["value"], mean, lang, scale=scale):
        errors.append(f"{where}: value {g['value']} is not the segment mean {mean} in {sentence!r}")
    if not close(g["reference"], ref, lang, scale=scale):
        errors.append(f"{where}: reference {g['reference']} is not the population mean {ref} in {sentence!r}")
    direction = 1 if mean > ref else -1
    if key in ("char.ratio", "char.high") and direction < 0:
        errors.append(f"{where}: says above average but {mean} < {ref}: {sentence!r}")
    if key in ("char.low", "char.low_pct") and direction > 0:
        errors.append(f"{where}: says below average but {mean} > {ref}: {sentence!r}")
    if key == "char.ratio" and not (close(g["ratio"], mean / ref, lang) and mean / ref >= 1.45):
        errors.append(f"{where}: ratio {g['ratio']} is not {mean / ref:.3f}: {sentence!r}")
    if key == "char.low_pct" and not close(g["pct"], 1 - mean / ref, lang, scale=100):
        errors.append(f"{where}: percentage {g['pct']} is not {1 - mean / ref:.3f}: {sentence!r}")
    if want is not None and field in want and want[field] != direction:
        errors.append(f"{where}: evidence on {field} points the wrong way for the archetype: {sentence!r}")
    return field


def _rank(R: Report, s: int, field: str, more: bool = True) -> tuple[int, int]:
    """(how many live segments have strictly more (less) of ``field``, how many have a value)."""
    m = R.mean(s, field)
    vals = R.means(field)
    return sum(1 for v in vals if (v > m if more else v < m)), len(vals)


def _check_archetype(R: Report, s: int, code: str, errors: list, where: str) -> None:
    rec, freq, money = R.role_field("recency"), R.role_field("frequency"), R.role_field("monetary")
    ten = R.role_field("tenure")
    worth = [f for f in (freq, money) if f is not None]

    def above(f):
        return f is not None and R.mean(s, f) is not None and R.mean(s, f) > R.overall_mean(f)

    def below(f):
        return f is not None and R.mean(s, f) is not None and R.mean(s, f) < R.overall_mean(f)

    def fail(msg):
        means = {f: (R.mean(s, f), R.overall_mean(f), R.means(f)) for f in (rec, freq, money, ten) if f}
        errors.append(f"{where}: '{R.names[s]}' {msg} (segment, overall and all means: {means})")

    good = ("champions", "loyal", "big_spenders", "promising")
    top = R.segments[s]["characteristics"][:1]
    if code in good and top and top[0]["direction"] == "high" and is_cost(top[0]["feature"]) \
            and R.roles[top[0]["feature"]]["role"] == "none":
        fail(f"is praised while its strongest trait is the cost field {top[0]['feature']}")
    if code == "champions":
        if R.sizes[s] > 0.25 * R.n:
            fail(f"holds {R.sizes[s] / R.n:.0%} of the customers: not the few best")
        if rec is None or _rank(R, s, rec, more=False)[0] != 0 or not below(rec):
            fail(f"is not the most recent segment ({rec})")
        if not any(above(f) and _rank(R, s, f)[0] <= (_rank(R, s, f)[1] - 1) // 3 for f in worth):
            fail("is not among the best on frequency or monetary")
    elif code == "at_risk":
        churn = [f for f, r in R.roles.items() if r["role"] == "churn"]
        money_fields = [f for f, r in R.roles.items() if r["role"] == "monetary"]
        if not (any(above(f) for f in churn) or (above(rec) and any(above(f) for f in worth + money_fields))):
            fail("is not less recent than average while valuable (or churning)")
    elif code == "new":
        if freq is not None and R.mean(s, freq) > 2.0:
            fail(f"has {R.mean(s, freq)} purchases on average: not new")
        if ten is not None:
            r, n = _rank(R, s, ten, more=False)
            if not below(ten) or r != 0 or above(freq):
                fail("is not the lowest on tenure and low on frequency")
        elif freq is None or not below(freq) or _rank(R, s, freq, more=False)[0] != 0:
            fail("is not the lowest on frequency")
    elif code == "loyal":
        if not above(freq) or _rank(R, s, freq)[0] > (_rank(R, s, freq)[1] - 1) // 2:
            fail("is not in the upper half, above average, on frequency")
    elif code == "big_spenders":
        if not above(money) or _rank(R, s, money)[0] > (_rank(R, s, money)[1] - 1) // 2:
            fail("is not in the upper half, above average, on monetary")
    elif code == "hibernating":
        if not above(rec) or above(freq) or above(money):
            fail("is not dormant and low value")
    elif code == "promising":
        if not below(rec):
            fail("is not recent")
    elif code == "occasional":
        if not below(freq):
            fail("is not below average on frequency")
    elif code == "low_value":
        if not below(money):
            fail("is not below average on monetary")


def _check_recency_part(R: Report, s: int, key: str, errors: list, where: str) -> None:
    """A recency name part ("Most recent buyers"): true on at least one recency field."""
    word = key[len("name.recency_"):].removesuffix("_next")
    fields = [f for f, r in R.roles.items() if r["role"] == "recency" and "mean" in R.segments[s]["profile"].get(f, {})]
    for f in fields:
        mean, ref = R.mean(s, f), R.overall_mean(f)
        if mean is None:
            continue
        if ((word == "high" and _rank(R, s, f)[0] == 0 and mean > ref)
                or (word == "low" and _rank(R, s, f, more=False)[0] == 0 and mean < ref)
                or (word == "above" and mean > ref) or (word == "below" and mean < ref)):
            return
    errors.append(f"{where}: '{R.names[s]}' is not '{key}' on any recency field {fields}")


def _check_name_part(R: Report, s: int, part: str, errors: list, where: str) -> None:
    lang = R.language
    recency = [k for k, _ in match(lang, part, "name.recency_")]
    if recency:
        _check_recency_part(R, s, recency[0], errors, where)
        return
    found = [(k, g) for k, g in match(lang, part, "name.", R.by_label)
             if k not in ("name.pair", "name.qualified", "name.numbered", "name.segment") and "feature" in g]
    if not found:
        errors.append(f"{where}: name part {part!r} matches no template")
        return
    # A label may itself contain the words of a template: keep the readings that name a field.
    found = [(k, g) for k, g in found if R.field_of_label(g["feature"]) is not None] or found
    key, g = found[0]
    field = R.field_of_label(g["feature"])
    if field is None:
        errors.append(f"{where}: {g['feature']!r} in the name is not a field label")
        return
    word = key[len("name."):].removesuffix("_next").removeprefix("date_")
    prof = R.segments[s]["profile"][field]
    if word in ("over", "often"):
        t = {x["value"]: x for x in prof.get("top", [])}.get(g["category"])
        if t is None or t["lift"] is None or t["lift"] <= 1:
            errors.append(f"{where}: {g['category']!r} is not over-represented in '{R.names[s]}'")
        elif word == "over" and t["share"] < 0.5:
            errors.append(f"{where}: 'mostly' {g['category']!r} but only {t['share']} of '{R.names[s]}'")
        return
    mean, ref = prof["mean"], R.overall_mean(field)
    if word == "high" and (_rank(R, s, field)[0] != 0 or mean <= ref):
        errors.append(f"{where}: '{R.names[s]}' is not the highest on {field} ({mean} vs {R.means(field)})")
    if word == "low" and (_rank(R, s, field, more=False)[0] != 0 or mean >= ref):
        errors.append(f"{where}: '{R.names[s]}' is not the lowest on {field} ({mean} vs {R.means(field)})")
    if word == "above" and mean <= ref:
        errors.append(f"{where}: '{R.names[s]}' is not above average on {field}")
    if word == "below" and mean >= ref:
        errors.append(f"{where}: '{R.names[s]}' is not below average on {field}")


def _archetype_of(R: Report, name: str) -> str | None:
    for code in ARCHETYPE_CODES:
        if name == MESSAGES[R.language][f"name.{code}"]:
            return code
    return None


def _check_name(R: Report, s: int, errors: list) -> str | None:
    lang, name = R.language, R.names[s]
    where = f"segment {s} name"
    for f, lab in R.labels.items():
        if lab != f and re.search(rf"(?<![\w]){re.escape(f)}(?![\w])", name):
            errors.append(f"{where}: raw column name {f!r} in {name!r} (label {lab!r})")
    code = _archetype_of(R, name)
    if code is not None:
        _check_archetype(R, s, code, errors, where)
        return code
    if match(lang, name, "name.segment"):
        return None
    base = name
    numbered = re.fullmatch(r"(.+) (\d[\d.,]*)", base)
    if numbered and numbered.group(2) == format_int(s + 1, lang):
        base = numbered.group(1)
    # A label may end in "(months)": read the name whole first, then as "<name> (<qualifier>)".
    readings = [(base, None)]
    qualified = re.fullmatch(r"(.+) \((.+)\)", base)
    if qualified:
        readings.append((qualified.group(1), qualified.group(2)))
    first_errors = None
    for body, qualifier in readings:
        found: list = []
        if qualifier is not None:
            _check_name_part(R, s, qualifier, found, where)
        code = _archetype_of(R, body)
        if code is not None:
            _check_archetype(R, s, code, found, where)
        elif not match(lang, body, "name.segment"):
            for part in body.split(", ", 1):  # name.pair is "{first}, {second}" in every language
                _check_name_part(R, s, part, found, where)
        if not found:
            return code
        if first_errors is None:
            first_errors = found
    errors.extend(first_errors)
    return _archetype_of(R, readings[-1][0])


def _check_insight(R: Report, s: int, i: int, ins: dict, code: str | None, errors: list) -> None:
    lang = R.language
    where = f"segment {s} insight {i}"
    found = match(lang, ins["text"], "ins.", R.by_label)
    if not found:
        errors.append(f"{where}: no template reads {ins['text']!r}")
        return
    key, g = found[0]
    if "size" in g and g["size"] != format_int(R.sizes[s], lang):
        errors.append(f"{where}: size {g['size']} is not {R.sizes[s]}")
    if "share" in g and key != "ins.evidence_share" and g["share"] != format_percent(R.sizes[s] / R.n, lang):
        errors.append(f"{where}: share {g['share']} is not {R.sizes[s] / R.n}")
    if key in INSIGHT_ARCHETYPE and INSIGHT_ARCHETYPE[key] != code:
        errors.append(f"{where}: {key} in a segment named {R.names[s]!r}")
    if key == "ins.generic" and code is not None:
        errors.append(f"{where}: generic advice for archetype {code}")
    if key == "ins.single" and R.sizes[s] != 1:
        errors.append(f"{where}: single-customer advice for {R.sizes[s]} customers")
    if key == "ins.target":
        field = R.field_of_label(g["feature"])
        if field is None or R.roles[field]["role"] != "channel":
            errors.append(f"{where}: 'reach through' a field without the channel role: {ins['text']!r}")
            return
        t = {x["value"]: x for x in R.segments[s]["profile"][field]["top"]}.get(g["category"])
        if t is None or not close(g["value"], t["share"], lang, scale=100) \
                or not close(g["reference"], t["share"] / t["lift"], lang, scale=100) or t["lift"] <= 1:
            errors.append(f"{where}: channel shares do not match: {ins['text']!r}")
        return
    if "evidence" in g:
        want = {}
        for role, sign in ARCHETYPE_CLAIMS.get(INSIGHT_ARCHETYPE.get(key, ""), {}).items():
            for f, r in R.roles.items():
                if r["role"] == role and not (role == "monetary" and is_average(f)):
                    want[f] = sign
        ev = g["evidence"]
        share_ev = match(lang, ev, "ins.evidence_share")
        if share_ev:
            if share_ev[0][1]["share"] != format_percent(R.sizes[s] / R.n, lang):
                errors.append(f"{where}: evidence share is wrong: {ev!r}")
            return
        for part in ev.split("; "):
            _check_characteristic(R, s, part, errors, where, want)


def _check_summary(R: Report, errors: list, codes: list) -> None:
    lang = R.language
    for i, sentence in enumerate(R.summary["insights"]):
        where = f"summary {i}"
        found = match(lang, sentence, "sum.")
        if not found:
            errors.append(f"{where}: no template reads {sentence!r}")
            continue
        key, g = found[0]
        if key == "sum.count":
            if g["n"] != format_int(R.n, lang) or g["k"] != format_int(len(R.sizes), lang):
                errors.append(f"{where}: wrong counts in {sentence!r}")
            continue
        if g["name"] not in R.names:
            errors.append(f"{where}: names no segment: {sentence!r}")
            continue
        s = R.names.index(g["name"])
        if "share" in g and g["share"] != format_percent(R.sizes[s] / R.n, lang):
            errors.append(f"{where}: share is wrong in {sentence!r}")
        if "size" in g and g["size"] != format_int(R.sizes[s], lang):
            errors.append(f"{where}: size is wrong in {sentence!r}")
        if key == "sum.concentration":
            field = R.field_of_label(g["feature"])
            if field is None or R.roles[field]["role"] != "monetary":
                errors.append(f"{where}: concentration of a non-monetary field: {sentence!r}")
                continue
            total = R.sum_share(s, field)
            if (g["customers"] != format_percent(R.sizes[s] / R.n, lang)
                    or not close(g["total"], total, lang, scale=100) or total <= R.sizes[s] / R.n):
                errors.append(f"{where}: concentration numbers are wrong ({total}): {sentence!r}")
        elif key.startswith("sum.at_risk"):
            if codes[s] != "at_risk":
                errors.append(f"{where}: {g['name']!r} is not an at-risk segment")
        elif key.startswith("sum.distinct"):
            if len(R.live) < 3:
                errors.append(f"{where}: 'most distinct' with {len(R.live)} segments is true by construction")
            tops = {t: abs(R.segments[t]["characteristics"][0]["effect_size"]) for t in R.live
                    if R.segments[t]["characteristics"]}
            if tops.get(s) != max(tops.values()):
                errors.append(f"{where}: {g['name']!r} is not the most distinct segment")
            elif not close(g["effect"], tops[s], lang):
                errors.append(f"{where}: effect {g['effect']} is not {tops[s]}")
        elif key.startswith("sum.smallest") and R.sizes[s] != min(R.sizes[t] for t in R.live):
            errors.append(f"{where}: {g['name']!r} is not the smallest segment")
        elif key.startswith("sum.largest") and R.sizes[s] != max(R.sizes[t] for t in R.live):
            errors.append(f"{where}: {g['name']!r} is not the largest segment")


def check_report(report: dict, language: str) -> list[str]:
    """Every contradiction between the sentences of ``report`` and its numbers.

    Parameters
    ----------
    report : dict
        A response body with ``metadata`` (``include_metadata=True``).
    language : str
        The language it was written in.

    Returns
    -------
    list of str
        One line per contradiction; empty when the report is consistent.
    """
    R = Report(report, language)
    errors: list[str] = []
    codes = []
    for s in range(len(R.segments)):
        code = _check_name(R, s, errors)
        codes.append(code)
        seg = R.segments[s]
        for j, c in enumerate(seg["characteristics"]):
            field = _check_characteristic(R, s, c["text"], errors, f"segment {s} characteristic {j}")
            if field is not None and field != c["feature"]:
                errors.append(f"segment {s} characteristic {j}: text is about {field}, key says {c['feature']}")
        for i, ins in enumerate(seg["insights"]):
            _check_insight(R, s, i, ins, code, errors)
    _check_summary(R, errors, codes)
    if len(set(R.names)) != len(R.names):
        errors.append(f"names are not distinct: {R.names}")
    return errors

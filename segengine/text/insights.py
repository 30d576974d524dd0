"""Characteristic sentences, per-segment recommendations and report-level insights (en/es/pt).

Reads the numbers of `segengine.profiling.SegmentProfiles` and writes sentences from the
catalogues of `segengine.text.catalog`; it computes no statistics of its own. Every sentence
states at least one number of the profile (a size, a share, a mean, a ratio).
"""

from __future__ import annotations

from collections.abc import Mapping

from segengine.profiling import FieldColumn, SegmentProfiles
from segengine.roles import tokens as _tokens
from segengine.text.catalog import format_int, format_number, format_percent, format_ratio, text
from segengine.text.naming import FieldRoles, field_roles, name_segments, segment_archetypes

__all__ = ["characteristic_text", "segment_texts", "summary_insights"]

# Numeric lifts from which a characteristic reads "N x the average" / "P % below average".
RATIO_FROM = 1.5
BELOW_PCT_UNTIL = 0.8
# A category's lift from which a segment gets a "reach it through ..." recommendation.
TARGET_MIN_LIFT = 1.3
TARGET_MIN_SHARE = 0.2
# Revenue must concentrate at least this much (share of total / share of customers) to be said.
CONCENTRATION_MIN_RATIO = 1.2
# A churn-like field this many population stds above average triggers a churn recommendation.
CHURN_MIN_EFFECT = 0.3
MAX_INSIGHTS = 3
# Evidence for a recommendation only cites fields where the segment differs at least this much.
EVIDENCE_MIN_EFFECT = 0.2
# "Most distinct segment" is said only when its strongest effect beats every other segment's by
# this factor, and only with three segments or more (with two, the smaller one is always the
# farther from the average: a tautology).
DISTINCT_MIN_MARGIN = 1.25

_DAY_TOKENS = {"days", "day", "dias", "dia"}


def characteristic_text(char: dict, language: str, label: str | None = None) -> str:
    """The sentence of one characteristic (a dict from ``SegmentProfiles.characteristics``).

    Parameters
    ----------
    char : dict
        ``feature, kind, direction, value, reference, lift`` (+ ``category`` for categories).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    label : str, optional
        The field's readable label (``segengine.roles.field_label``); the raw name otherwise.

    Returns
    -------
    str
        E.g. ``"monetary is 2.3x the average (812 vs 353)"``.
    """
    kind, lift = char["kind"], char.get("lift")
    shown = label if label is not None else char["feature"]
    if kind == "categorical":
        return text(
            language, "char.category", feature=shown, category=char["category"],
            ratio=format_ratio(lift, language), value=format_percent(char["value"], language),
            reference=format_percent(char["reference"], language),
        )
    if kind == "binary":
        return text(
            language, "char.rate", feature=shown,
            value=format_percent(char["value"], language), reference=format_percent(char["reference"], language),
        )
    values = {
        "feature": shown,
        "value": format_number(char["value"], language),
        "reference": format_number(char["reference"], language),
    }
    if kind == "date":
        return text(language, "char.date", **values)
    if _tokens(char["feature"]) & _DAY_TOKENS:
        return text(language, "char.days", **values)
    if lift is not None and lift >= RATIO_FROM:
        return text(language, "char.ratio", ratio=format_ratio(lift, language), **values)
    if char["direction"] == "high":
        return text(language, "char.high", **values)
    if lift is not None and 0 <= lift <= BELOW_PCT_UNTIL:
        return text(language, "char.low_pct", pct=format_percent(1.0 - lift, language), **values)
    return text(language, "char.low", **values)


def _field_char(profiles: SegmentProfiles, columns_by_name: dict, s: int, field: str | None) -> dict | None:
    """The segment's characteristic on `field`, or one read from its profile when not ranked."""
    if field is None:
        return None
    for c in profiles.characteristics[s]:
        if c["feature"] == field:
            return c
    p = profiles.profiles[s].get(field)
    ov = profiles.overall.get(field)
    if not p or not ov or p.get("mean") is None or ov.get("mean") is None:
        return None
    eff = p.get("effect_size") or 0.0
    return {
        "feature": field, "kind": columns_by_name[field].kind, "direction": "high" if eff > 0 else "low",
        "effect_size": eff, "value": p["mean"], "reference": ov["mean"], "lift": p.get("lift"),
    }


# The direction each archetype claims on its role fields (+1: more than average, -1: less; a
# recency field counts days, so -1 is "more recent"). Evidence pointing the other way is never
# cited in that archetype's recommendation ("Retain and reward ... frequency is 22 % below").
ARCHETYPE_CLAIMS = {
    "champions": {"recency": -1, "frequency": 1, "monetary": 1},
    "at_risk": {"recency": 1},
    "new": {"tenure": -1},
    "loyal": {"frequency": 1},
    "big_spenders": {"monetary": 1},
    "hibernating": {"recency": 1},
    "promising": {"recency": -1},
    "occasional": {"frequency": -1},
    "low_value": {"monetary": -1},
}


def _claims(archetype: str | None, fr: FieldRoles) -> dict[str, int]:
    """Field -> the direction the archetype claims on it."""
    claims = ARCHETYPE_CLAIMS.get(archetype or "", {})
    return {f: claims[role] for f, (role, _) in fr.by_field.items() if role in claims}


def _agrees(char: dict, want: dict[str, int]) -> bool:
    sign = want.get(char["feature"])
    return sign is None or char["kind"] == "categorical" or (char["effect_size"] > 0) == (sign > 0)


def _evidence(profiles, columns_by_name, s, fields, language, fr: FieldRoles, want: dict | None = None) -> str:
    """Sentences backing a recommendation: the segment on the archetype's own fields.

    A field on which the segment is ordinary (|effect| < EVIDENCE_MIN_EFFECT) is left out
    ("tenure is 39.2 vs 39.3" backs nothing), and so is one pointing against the archetype
    (``want``); when nothing is left, the segment's top characteristic that does not contradict
    the archetype speaks instead.
    """
    want = want or {}
    found = [c for c in (_field_char(profiles, columns_by_name, s, f) for f in fields)
             if c is not None and _agrees(c, want)]
    chars = [c for c in found if abs(c["effect_size"]) >= EVIDENCE_MIN_EFFECT]
    if not chars:
        chars = [c for c in profiles.characteristics[s] if _agrees(c, want)][:1] or found[:1]
    if not chars:
        n = int(profiles.sizes.sum())
        return text(language, "ins.evidence_share", share=format_percent(int(profiles.sizes[s]) / n if n else 0.0, language))
    return "; ".join(characteristic_text(c, language, fr.label(c["feature"])) for c in chars)


def _strongest(profiles: SegmentProfiles, s: int, fields: list[str | None]) -> str | None:
    """The field among `fields` on which segment s is highest (effect size)."""
    best, best_eff = None, None
    for f in fields:
        if f is None:
            continue
        eff = profiles.profiles[s].get(f, {}).get("effect_size")
        if eff is not None and (best_eff is None or eff > best_eff):
            best, best_eff = f, eff
    return best


def _plan(archetype: str | None, roles: FieldRoles, profiles: SegmentProfiles, s: int) -> list[tuple[str, str, str, list]]:
    """(priority, action, catalogue key, evidence fields) recommendations for one segment."""
    r, f, m, aov, ten = roles.recency, roles.frequency, roles.monetary, roles.aov, roles.tenure
    top = [profiles.characteristics[s][0]["feature"]] if profiles.characteristics[s] else []
    plans = {
        "champions": [("high", "retain", "ins.champions", [m or aov, f]), ("medium", "upsell", "ins.champions.upsell", [r])],
        "at_risk": [("high", "win_back", "ins.at_risk", [r, _strongest(profiles, s, [m, aov, f])])],
        "new": [("high", "onboard", "ins.new", [ten, r] if ten else [r, f])],
        "loyal": [("medium", "upsell", "ins.loyal", [f, ten])],
        "big_spenders": [("high", "retain", "ins.big_spenders", [m or aov]), ("medium", "upsell", "ins.big_spenders.upsell", [aov if m else f])],
        "hibernating": [("low", "reactivate", "ins.hibernating", [r])],
        "promising": [("medium", "nurture", "ins.promising", [r])],
        "occasional": [("medium", "nurture", "ins.occasional", [f])],
        "low_value": [("low", "monitor", "ins.low_value", [m or aov])],
    }
    return list(plans.get(archetype, [("low", "monitor", "ins.generic", top)]))


def _target_category(profiles: SegmentProfiles, columns: list[FieldColumn], s: int, fr: FieldRoles) -> tuple | None:
    """(field, value, share, overall share) of the channel this segment over-uses most.

    Only fields with the channel role speak (a signup cohort is not a way to reach anyone), and
    only values that are common in the segment (``TARGET_MIN_SHARE``) and over-represented
    (``TARGET_MIN_LIFT``), so the recommendation reaches a sizeable part of it.
    """
    best, best_key = None, None
    for col in columns:
        if col.kind != "categorical" or col.name not in fr.channels or col.name not in profiles.overall:
            continue
        shares = profiles.overall[col.name]["shares"]
        for entry in profiles.profiles[s][col.name]["top"]:
            lift, share = entry["lift"], entry["share"]
            if lift is None or share is None or lift < TARGET_MIN_LIFT or share < TARGET_MIN_SHARE:
                continue
            key = (lift, share, col.name, entry["value"])
            if best_key is None or key > best_key:
                best_key = key
                best = (col.name, entry["value"], share, shares.get(entry["value"]))
    return best


def segment_texts(
    profiles: SegmentProfiles, columns: list[FieldColumn], language: str,
    roles: Mapping[str, str] | None = None, naming: str = "archetype",
) -> list[dict]:
    """Name, characteristic sentences and 1-3 recommendations per segment.

    Parameters
    ----------
    profiles : SegmentProfiles
        From `segengine.profiling.profile_segments`.
    columns : list of FieldColumn
        The same fields.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    roles : mapping, optional
        field -> role given by the caller (others are guessed from names).
    naming : {"archetype", "generic"}
        Whether archetypes (Champions, At risk...) may name and drive a segment's insights.

    Returns
    -------
    list of dict
        Per segment ``{"name", "characteristics": [{"feature", "direction", "effect_size",
        "text"}], "insights": [{"priority", "action", "text"}]}``. Actions: ``retain, upsell,
        win_back, onboard, reactivate, nurture, monitor, target`` (reach through a channel or
        category the segment over-uses).
    """
    names = name_segments(profiles, columns, language, roles, naming)
    archetypes = segment_archetypes(profiles, columns, roles, naming)
    fr = field_roles(columns, profiles, roles)
    roles = fr
    by_name = {c.name: c for c in columns}
    n = int(profiles.sizes.sum())
    out = []
    for s, name in enumerate(names):
        size = int(profiles.sizes[s])
        chars = [
            {"feature": c["feature"], "direction": c["direction"], "effect_size": c["effect_size"],
             "text": characteristic_text(c, language, fr.label(c["feature"]))}
            for c in profiles.characteristics[s]
        ]
        insights = []
        if size > 0:
            plan = _plan(archetypes[s], roles, profiles, s)
            churn_eff = profiles.profiles[s].get(roles.churn, {}).get("effect_size") if roles.churn else None
            if churn_eff is not None and churn_eff >= CHURN_MIN_EFFECT and archetypes[s] != "at_risk":
                plan.insert(0, ("high", "win_back", "ins.churn", [roles.churn]))
            common = {"size": format_int(size, language), "share": format_percent(size / n, language)}
            for priority, action, key, fields in plan:
                evidence = _evidence(profiles, by_name, s, [f for f in fields if f], language, fr,
                                     _claims(archetypes[s], fr) if key != "ins.churn" else None)
                if size == 1:
                    # One customer is a case to look at, not a segment to run a campaign on.
                    insights.append({"priority": "low", "action": "monitor",
                                     "text": text(language, "ins.single", evidence=evidence)})
                    break
                insights.append({"priority": priority, "action": action, "text": text(language, key, evidence=evidence, **common)})
            cat = _target_category(profiles, columns, s, fr)
            if cat is not None:
                feature, category, value, reference = cat
                # Reaching a segment is worth no more than acting on it.
                priority = "low" if plan[0][0] == "low" else "medium"
                insights.append({"priority": priority, "action": "target", "text": text(
                    language, "ins.target", feature=fr.label(feature), category=category,
                    value=format_percent(value, language), reference=format_percent(reference, language))})
        out.append({"name": name, "characteristics": chars, "insights": insights[:MAX_INSIGHTS]})
    return out


def _one(key: str, count: int) -> str:
    """The singular variant of a catalogue key when ``count`` is 1."""
    return f"{key}.one" if count == 1 else key


def summary_insights(
    profiles: SegmentProfiles, columns: list[FieldColumn], language: str,
    roles: Mapping[str, str] | None = None, naming: str = "archetype",
) -> list[str]:
    """Two to four report-level insights.

    In order, when they apply: where the monetary field's total concentrates, the largest
    at-risk segment, the most distinct segment, the smallest and the largest segment (size facts
    only about segments not named yet, unless needed to reach two); padded with the overall count
    so there are always at least two.

    Parameters
    ----------
    profiles : SegmentProfiles
        From `segengine.profiling.profile_segments`.
    columns : list of FieldColumn
        The same fields.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    roles : mapping, optional
        field -> role given by the caller.
    naming : {"archetype", "generic"}

    Returns
    -------
    list of str
        2 to 4 sentences.
    """
    names = name_segments(profiles, columns, language, roles, naming)
    archetypes = segment_archetypes(profiles, columns, roles, naming)
    roles = field_roles(columns, profiles, roles)
    sizes = [int(x) for x in profiles.sizes]
    n = sum(sizes)
    k = len(sizes)
    live = [s for s in range(k) if sizes[s] > 0]

    def share(s):
        return format_percent(sizes[s] / n if n else 0.0, language)

    out: list[str] = []
    money = roles.monetary
    sum_share = profiles.overall.get(money, {}).get("sum_share") if money else None
    if sum_share is not None and len(live) > 1:
        ratios = [(sum_share[s] / (sizes[s] / n), s) for s in live if sum_share[s] is not None]
        if ratios:
            ratio, s = max(ratios, key=lambda t: (t[0], -t[1]))
            if ratio >= CONCENTRATION_MIN_RATIO:
                out.append(text(language, "sum.concentration", name=names[s], customers=share(s),
                                total=format_percent(sum_share[s], language), feature=roles.label(money)))
    risky = [s for s in live if archetypes[s] == "at_risk"]
    if risky:
        s = max(risky, key=lambda t: (sizes[t], -t))
        out.append(text(language, _one("sum.at_risk", sizes[s]), name=names[s], size=format_int(sizes[s], language), share=share(s)))
    tops = sorted(((abs(profiles.characteristics[s][0]["effect_size"]), -s) for s in live
                   if profiles.characteristics[s]), reverse=True)
    if len(live) >= 3 and tops and (len(tops) == 1 or tops[0][0] >= DISTINCT_MIN_MARGIN * tops[1][0]):
        s = -tops[0][1]
        c = profiles.characteristics[s][0]
        label = roles.label(c["feature"])
        feature = f"{label} '{c['category']}'" if c["kind"] == "categorical" else label
        effect = format_ratio(abs(c["effect_size"]), language)
        out.append(text(language, "sum.distinct.one" if effect == "1" else "sum.distinct",
                        name=names[s], feature=feature, effect=effect))
    # Size facts are said about segments not named yet, so the summary covers more of the report.
    mentioned = {names[s] for s in live if any(f"'{names[s]}'" in sentence for sentence in out)}
    if len(live) > 1:
        s = min(live, key=lambda t: (sizes[t], -t))
        if names[s] not in mentioned or len(out) < 2:
            out.append(text(language, _one("sum.smallest", sizes[s]), name=names[s], size=format_int(sizes[s], language), share=share(s)))
            mentioned.add(names[s])
    if live and len(out) < 4:
        s = max(live, key=lambda t: (sizes[t], -t))
        if names[s] not in mentioned or len(out) < 2:
            out.append(text(language, _one("sum.largest", sizes[s]), name=names[s], size=format_int(sizes[s], language), share=share(s)))
    if len(out) < 2:
        out.append(text(language, "sum.count", n=format_int(n, language), k=format_int(k, language)))
    return out[:4]

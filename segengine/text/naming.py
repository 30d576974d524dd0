"""Segment names decided by each segment's RANK among the segments, with absolute guardrails.

Roles come from `segengine.roles` (given by the caller, else guessed from whole tokens of the
field names). A name must stay true when read next to the OTHER segments, not only against the
overall mean, so every claim a name makes is a rank plus a minimum distance from the average:

- "Champions": the best segment on recency, at least ``ARCHETYPE_MIN_EFFECT`` population
  standard deviations better than average, and among the best third on frequency or monetary
  (and that far above average there), holding at most ``CHAMPIONS_MAX_SHARE`` of the customers;
- no praising archetype (Champions, Loyal, Big spenders, Promising) for a segment whose
  strongest trait is a cost field above average (returns, refunds, support tickets);
- "At risk": less recent than average while in the upper half, and above average, on frequency,
  monetary or average order value (or a churn-like field well above average);
- "New customers": the lowest tenure, well below average, not above average on frequency and
  at most ``NEW_MAX_FREQUENCY`` purchases on average (without a tenure field: the lowest
  frequency, well below average, and recent);
- "Loyal" / "Big spenders": upper half and above average on frequency / monetary, not dormant;
- "Hibernating": lower half on recency and well below average there, above average on neither
  frequency nor monetary;
- "Promising", "Occasional buyers", "Low-value customers": the same on one role.

Without an archetype (or with ``naming="generic"``) a segment is named after its top two
characteristics, worded by rank: "High X" only for the segment with the highest mean of X, "Low
X" only for the lowest, "Above-average X" / "Below-average X" in between (a recency field in
words: "Most recent buyers", "Less recent than average"...); "Mostly <field>
<value>" only when that value is at least half of the segment. Field names are shown as readable
labels (``tenure_days`` -> "tenure"). Names are distinct within a report, and everything is a pure
function of the profiles (permuting the records does not change a name).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from segengine.profiling import FieldColumn, SegmentProfiles
from segengine.roles import FieldRoles, assign_roles, is_cost
from segengine.text.catalog import format_int, text

__all__ = [
    "ARCHETYPES", "ARCHETYPE_MIN_EFFECT", "FieldRoles", "field_roles", "segment_archetypes",
    "name_segments", "Standing", "standings", "value_rank",
]

# A segment is "high"/"low" on a role field from this many population standard deviations.
ARCHETYPE_MIN_EFFECT = 0.4
# "At risk" is the archetype a business least wants to miss, and both its signals are diluted by
# the dormant segment that dominates recency, so it is called from this weaker evidence.
AT_RISK_MIN_EFFECT = 0.25
# "Champions" are the few best customers: a segment holding more of the base than this is not.
CHAMPIONS_MAX_SHARE = 0.25
# Archetypes that praise a segment; never given to one whose strongest trait is a cost field
# (returns, refunds, support tickets) above average.
GOOD_ARCHETYPES = ("champions", "loyal", "big_spenders", "promising")
# "New customers" have made at most this many purchases on average (a segment with four orders
# each is past onboarding, whatever its tenure).
NEW_MAX_FREQUENCY = 2.0
# "Mostly <value>" needs at least this share of the segment; below it reads "Often <value>".
MOSTLY_MIN_SHARE = 0.5

ARCHETYPES = (
    "champions", "at_risk", "new", "loyal", "big_spenders",
    "hibernating", "promising", "occasional", "low_value",
)


def field_roles(
    columns: list[FieldColumn], profiles: SegmentProfiles, roles: Mapping[str, str] | None = None
) -> FieldRoles:
    """Roles of the profiled fields: ``roles`` as given, the rest guessed from names.

    Parameters
    ----------
    columns : list of FieldColumn
        The report's fields.
    profiles : SegmentProfiles
        The profiles (fields absent from them play no role).
    roles : mapping, optional
        field -> role given by the caller.

    Returns
    -------
    FieldRoles
    """
    return assign_roles([c for c in columns if c.name in profiles.overall], roles)


@dataclass(frozen=True)
class Standing:
    """Where one segment stands on one field among the segments.

    Parameters
    ----------
    effect : float
        Effect size oriented so that positive is "more" (recency: more recent).
    rank : int
        0 for the segment with the most (recency: the most recent); ties share a rank.
    n : int
        Segments with a value on the field.
    """

    effect: float
    rank: int
    n: int

    @property
    def best(self) -> bool:
        """Whether the segment ranks first on the field."""
        return self.rank == 0

    @property
    def worst(self) -> bool:
        """Whether the segment ranks last on the field (or is the only one with a value)."""
        return self.rank == self.n - 1 or self.n == 1

    @property
    def upper(self) -> bool:
        """Whether the segment ranks in the upper half (of an odd count, the middle rank is in both)."""
        return self.rank <= (self.n - 1) // 2

    @property
    def lower(self) -> bool:
        """Whether the segment ranks in the lower half (of an odd count, the middle rank is in both)."""
        return self.rank >= self.n // 2

    @property
    def top(self) -> bool:
        """Among the best third (the best of two or three)."""
        return self.rank <= (self.n - 1) // 3


def value_rank(values: list[float | None], s: int, descending: bool = True) -> int | None:
    """Rank of ``values[s]`` among the non-null values: how many are strictly greater (smaller).

    Parameters
    ----------
    values : list of float or None
    s : int
    descending : bool
        True: rank 0 is the largest value.

    Returns
    -------
    int or None
        None when ``values[s]`` is None.
    """
    v = values[s]
    if v is None:
        return None
    if descending:
        return sum(1 for x in values if x is not None and x > v)
    return sum(1 for x in values if x is not None and x < v)


def standings(profiles: SegmentProfiles, field: str | None, *, invert: bool = False) -> list[Standing | None]:
    """Every segment's standing on ``field`` (``invert`` for recency: fewer days is more recent).

    Parameters
    ----------
    profiles : SegmentProfiles
    field : str or None
    invert : bool

    Returns
    -------
    list of Standing or None
        None for an empty segment, a field without values, or no field.
    """
    k = len(profiles.profiles)
    if field is None:
        return [None] * k
    means: list[float | None] = []
    effects: list[float | None] = []
    for s in range(k):
        p = profiles.profiles[s].get(field) or {}
        live = int(profiles.sizes[s]) > 0 and p.get("mean") is not None and p.get("effect_size") is not None
        means.append((-p["mean"] if invert else p["mean"]) if live else None)
        effects.append((-p["effect_size"] if invert else p["effect_size"]) if live else None)
    n = sum(1 for m in means if m is not None)
    return [
        None if means[s] is None else Standing(float(effects[s]), value_rank(means, s), n)
        for s in range(k)
    ]


def _candidates(r, f, m, ten, churn_eff, aov=None, f_mean=None) -> list[tuple[str, float]]:
    """Archetypes one segment qualifies for, in priority order, each with its evidence score."""
    t, w = ARCHETYPE_MIN_EFFECT, AT_RISK_MIN_EFFECT

    def hi(x: Standing | None) -> bool:
        return x is not None and x.effect >= t

    def lo(x: Standing | None) -> bool:
        return x is not None and x.effect <= -t

    def v(x: Standing | None) -> float:
        return x.effect if x is not None else 0.0

    def above(x: Standing | None) -> bool:
        return x is not None and x.effect > 0

    churn_high = churn_eff is not None and churn_eff >= t
    out: list[tuple[str, float]] = []
    worth = [x for x in (f, m) if x is not None]
    if r is not None and r.best and hi(r) and any(hi(x) and x.top for x in worth) and not churn_high:
        out.append(("champions", v(r) + max(v(x) for x in worth)))
    # Worth for "at risk" may also be the size of each order (customers who used to buy big).
    valuable = [x for x in worth + ([aov] if aov is not None else []) if x.effect >= w and x.upper]
    if (r is not None and r.effect <= -w and not r.best and valuable) or (churn_high and not lo(m)):
        out.append(("at_risk", -v(r) + max((x.effect for x in valuable), default=0.0) + (churn_eff or 0.0)))
    few_orders = f_mean is None or f_mean <= NEW_MAX_FREQUENCY
    if ten is not None:
        if lo(ten) and ten.worst and not above(f) and (f is None or f.lower) and not lo(r) and few_orders:
            out.append(("new", -v(ten) - v(f)))
    elif f is not None and lo(f) and f.worst and hi(r) and r.upper and few_orders:
        out.append(("new", v(r) - v(f)))
    if hi(f) and f.upper and not lo(r):
        out.append(("loyal", v(f) + max(v(ten), 0.0)))
    if hi(m) and m.upper and not lo(r):
        out.append(("big_spenders", v(m)))
    if lo(r) and r.lower and not above(f) and not above(m):
        out.append(("hibernating", -v(r) - v(m)))
    if hi(r) and r.upper and not lo(f) and not lo(m):
        out.append(("promising", v(r)))
    if lo(f) and f.lower and not lo(r):
        out.append(("occasional", -v(f)))
    if lo(m) and m.lower and not hi(f):
        out.append(("low_value", -v(m)))
    return out


def segment_archetypes(
    profiles: SegmentProfiles, columns: list[FieldColumn], roles: Mapping[str, str] | None = None,
    naming: str = "archetype",
) -> list[str | None]:
    """One distinct archetype code per segment (see ARCHETYPES), or None when none fits.

    Conflicts are settled by evidence: when several segments qualify for the same archetype the
    one with the largest score keeps it (ties: the larger segment, i.e. the lower index) and the
    others move on to their next candidate.

    Parameters
    ----------
    profiles : SegmentProfiles
        The profiles.
    columns : list of FieldColumn
        The fields.
    roles : mapping, optional
        field -> role given by the caller (others are guessed).
    naming : {"archetype", "generic"}
        "generic" gives no archetype at all.

    Returns
    -------
    list of str or None
        Per segment.
    """
    k = len(profiles.profiles)
    if naming == "generic":
        return [None] * k
    fr = field_roles(columns, profiles, roles)
    rec = standings(profiles, fr.recency, invert=True)
    freq = standings(profiles, fr.frequency)
    money = standings(profiles, fr.monetary)
    ten = standings(profiles, fr.tenure)
    aov = standings(profiles, fr.aov if fr.aov != fr.monetary else None)
    cands = []
    n = int(profiles.sizes.sum())
    for s in range(k):
        if int(profiles.sizes[s]) == 0:
            cands.append([])
            continue
        churn = profiles.profiles[s].get(fr.churn, {}).get("effect_size") if fr.churn else None
        f_mean = profiles.profiles[s].get(fr.frequency, {}).get("mean") if fr.frequency else None
        found = _candidates(rec[s], freq[s], money[s], ten[s], churn, aov[s], f_mean)
        if int(profiles.sizes[s]) > CHAMPIONS_MAX_SHARE * n:
            found = [c for c in found if c[0] != "champions"]
        top = profiles.characteristics[s][:1]
        # (unless the caller gave that field a role of its own: then it is not a cost to them)
        if top and top[0]["direction"] == "high" and is_cost(top[0]["feature"]) \
                and fr.by_field.get(top[0]["feature"], ("none", ""))[0] == "none":
            found = [c for c in found if c[0] not in GOOD_ARCHETYPES]
        cands.append(found)
    pos = [0] * k
    result: list[str | None] = [None] * k
    while True:
        claims: dict[str, list[tuple[float, int]]] = {}
        for s in range(k):
            if result[s] is None and pos[s] < len(cands[s]):
                code, score = cands[s][pos[s]]
                claims.setdefault(code, []).append((score, s))
        if not claims:
            break
        taken = {c for c in result if c is not None}
        for code, who in claims.items():
            if code in taken:
                for _, s in who:
                    pos[s] += 1
                continue
            winner = min(who, key=lambda w: (-w[0], w[1]))[1]
            result[winner] = code
            for _, s in who:
                if s != winner:
                    pos[s] += 1
    return result


def word_for(profiles: SegmentProfiles, s: int, char: dict) -> str:
    """How a name words one characteristic: high, low, above, below (numeric), over, often.

    Parameters
    ----------
    profiles : SegmentProfiles
    s : int
        The segment.
    char : dict
        One of its characteristics.

    Returns
    -------
    str
        ``"high"`` (the highest mean of all segments), ``"low"`` (the lowest), ``"above"`` /
        ``"below"`` (the average's side, in between), ``"over"`` (the value is at least
        ``MOSTLY_MIN_SHARE`` of the segment) or ``"often"``.
    """
    if char["kind"] == "categorical":
        return "over" if (char.get("value") or 0.0) >= MOSTLY_MIN_SHARE else "often"
    st = standings(profiles, char["feature"])[s]
    if st is None:
        return "above" if char["direction"] == "high" else "below"
    if char["direction"] == "high":
        return "high" if st.best and st.n > 1 else "above"
    return "low" if st.worst and st.n > 1 else "below"


def _part(profiles: SegmentProfiles, s: int, char: dict, fr: FieldRoles, language: str, first: bool) -> str:
    suffix = "" if first else "_next"
    word = word_for(profiles, s, char)
    label = fr.label(char["feature"])
    if word in ("over", "often"):
        return text(language, f"name.{word}{suffix}", feature=label, category=char["category"])
    if fr.by_field.get(char["feature"], ("none", ""))[0] == "recency":
        return text(language, f"name.recency_{word}{suffix}")
    # A date field holds days before the latest date: "high" reads as long ago.
    prefix = "name.date_" if char["kind"] == "date" else "name."
    return text(language, f"{prefix}{word}{suffix}", feature=label)


def _name_chars(chars: list[dict], fr: FieldRoles) -> list[dict]:
    """The two characteristics a name uses: the top one, then the next that says something new.

    Two recency fields (e.g. days since the last order and its date) would say it twice.
    """
    if not chars:
        return []

    def role(c):
        r = fr.by_field.get(c["feature"], ("none", ""))[0]
        return r if r == "recency" else c["feature"]

    second = next((c for c in chars[1:] if role(c) != role(chars[0])), None)
    return [chars[0]] + ([second] if second is not None else [])


def _feature_name(profiles, s, chars, fr, language) -> str | None:
    if not chars:
        return None
    first = _part(profiles, s, chars[0], fr, language, True)
    if len(chars) == 1:
        return first
    return text(language, "name.pair", first=first, second=_part(profiles, s, chars[1], fr, language, False))


def name_segments(
    profiles: SegmentProfiles, columns: list[FieldColumn], language: str,
    roles: Mapping[str, str] | None = None, naming: str = "archetype",
) -> list[str]:
    """A short, distinct, deterministic name per segment in ``language``.

    Parameters
    ----------
    profiles : SegmentProfiles
        The profiles (characteristics drive feature-based names).
    columns : list of FieldColumn
        The fields.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    roles : mapping, optional
        field -> role given by the caller.
    naming : {"archetype", "generic"}

    Returns
    -------
    list of str
        One name per segment, all different.
    """
    archetypes = segment_archetypes(profiles, columns, roles, naming)
    fr = field_roles(columns, profiles, roles)
    k = len(profiles.profiles)
    names: list[str] = []
    for s in range(k):
        if archetypes[s] is not None:
            name = text(language, f"name.{archetypes[s]}")
        else:
            name = _feature_name(profiles, s, _name_chars(profiles.characteristics[s], fr), fr, language)
            if name is None:
                name = text(language, "name.segment", number=format_int(s + 1, language))
        names.append(name)
    # Duplicates (feature-based names only, archetypes are already unique): qualify every copy
    # after the first with its next characteristic, then number what is still duplicated.
    seen: set[str] = set()
    for s in range(k):
        if names[s] in seen:
            chars = profiles.characteristics[s]
            used = set() if archetypes[s] is not None else {c["feature"] for c in _name_chars(chars, fr)}
            extra = next((c for c in chars if c["feature"] not in used), None)
            if extra is not None:
                qualified = text(language, "name.qualified", name=names[s],
                                 qualifier=_part(profiles, s, extra, fr, language, False))
                if qualified not in seen and qualified not in names:
                    names[s] = qualified
        seen.add(names[s])
    seen = set()
    for s in range(k):
        if names[s] in seen:
            names[s] = text(language, "name.numbered", name=names[s], number=format_int(s + 1, language))
        seen.add(names[s])
    return names

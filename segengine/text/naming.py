"""Segment names: RFM-style archetypes when the fields say what they are, feature-based otherwise.

Fields are recognised by name in English, Spanish and Portuguese, snake or camel case, with or
without accents (``recencyDays``, ``dias_desde_ultima_compra``, ``frequência``, ``total_spent``,
``antigüedad``...). A segment gets an archetype (Champions, At risk, New customers...) only when
its effect sizes on those fields support it (``|effect| >= ARCHETYPE_MIN_EFFECT`` population
standard deviations, see `segengine.profiling`); otherwise it is named after its top
characteristics ("High monetary, low recency"). Names are distinct within a report: when two
segments qualify for the same archetype the stronger evidence keeps it and the other falls back to
its next candidate; remaining duplicates get a qualifier, then a number. Everything is a pure
function of the profiles, so permuting the records does not change a name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from segengine.profiling import FieldColumn, SegmentProfiles
from segengine.text.catalog import format_int, text

__all__ = ["ARCHETYPES", "ARCHETYPE_MIN_EFFECT", "FieldRoles", "field_roles", "segment_archetypes", "name_segments"]

# A segment is "high"/"low" on a role field from this many population standard deviations.
ARCHETYPE_MIN_EFFECT = 0.4
# "At risk" (less recent than average while worth more than average) is the archetype a business
# least wants to miss, and both signals are diluted by the dormant segment that dominates
# recency, so it is called from this weaker evidence.
AT_RISK_MIN_EFFECT = 0.25

ARCHETYPES = (
    "champions", "at_risk", "new", "loyal", "big_spenders",
    "hibernating", "promising", "occasional", "low_value",
)

_NUMERIC_KINDS = ("numeric", "binary", "date")

_AVG = {"avg", "average", "mean", "promedio", "medio", "media", "medio"}
_AOV_OBJ = {"order", "orders", "ticket", "pedido", "basket", "cesta", "compra", "value", "valor", "purchase"}
_TENURE = {"tenure", "antiguedad", "antiguidade", "seniority", "lifetime", "longevity"}
_TENURE_UNITS = {"months", "meses", "years", "anos", "days", "dias"}
_TENURE_WITH = {"active", "activo", "ativo", "customer", "cliente", "client", "account", "conta", "cuenta", "member", "membership"}
_TENURE_DATE = {"signup", "registration", "registro", "cadastro", "first", "primera", "primeira", "joined", "created", "alta"}
_RECENCY = {"recency", "recencia", "recent"}
_RECENCY_WITH = {"since", "desde", "ago", "hace"}
_LAST = {"last", "ultima", "ultimo", "latest"}
_MONETARY = {
    "monetary", "spend", "spent", "spending", "revenue", "value", "sales", "amount", "gasto", "gastos",
    "valor", "receita", "ingresos", "ingreso", "ventas", "vendas", "ltv", "clv", "importe", "montante",
    "faturamento", "facturacion",
}
_FREQUENCY = {
    "frequency", "freq", "frecuencia", "frequencia", "orders", "order", "purchases", "purchase",
    "compras", "pedidos", "transactions", "transacciones", "transacoes", "visits", "visitas", "count",
    "n", "num", "number", "numero",
}
_CHURN = {"churn", "churned", "abandono", "cancelled", "canceled", "cancelado", "cancelou", "baja", "attrition"}


def _tokens(name: str) -> set[str]:
    """Lower-case, accent-free word tokens of a snake/camel/kebab-case field name."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", spaced) if not unicodedata.combining(ch))
    return {t for t in re.split(r"[^a-z0-9]+", plain.lower()) if t}


_DATE_WORDS = {"date", "fecha", "data", "dt", "timestamp"}


def _role_of(name: str, kind: str) -> str | None:
    tok = _tokens(name)
    if tok & _DATE_WORDS:
        # A date reaches profiling as days before the latest date, whatever kind the caller
        # gave it; its name says which date it is, never a count or an amount.
        kind = "date"
    if tok & _CHURN:
        return "churn"
    if "aov" in tok or (tok & _AVG and tok & _AOV_OBJ) or "ticket" in tok:
        return "aov"
    if tok & _TENURE or (tok & _TENURE_UNITS and tok & _TENURE_WITH) or (kind == "date" and tok & _TENURE_DATE):
        return "tenure"
    if tok & _RECENCY or tok & _RECENCY_WITH or (tok & _LAST and (kind == "date" or tok & {"days", "dias"})):
        return "recency"
    if kind == "date":
        return None
    if tok & _MONETARY:
        return "monetary"
    if tok & _FREQUENCY:
        return "frequency"
    return None


@dataclass(frozen=True)
class FieldRoles:
    """Which field plays which customer role (None when no field is recognised).

    Parameters
    ----------
    recency, frequency, monetary, aov, tenure, churn : str or None
        Field names.
    """

    recency: str | None = None
    frequency: str | None = None
    monetary: str | None = None
    aov: str | None = None
    tenure: str | None = None
    churn: str | None = None


def field_roles(columns: list[FieldColumn], profiles: SegmentProfiles) -> FieldRoles:
    """Recognise recency / frequency / monetary / aov / tenure / churn fields by name.

    Only numeric, binary and date fields that were profiled qualify. When several fields match
    a role, a field used in clustering wins over an unused one, then the first in column order.

    Parameters
    ----------
    columns : list of FieldColumn
        The report's fields.
    profiles : SegmentProfiles
        The profiles (fields absent from them are ignored).

    Returns
    -------
    FieldRoles
        The role fields.
    """
    found: dict[str, str] = {}
    for used_pass in (True, False):
        for col in columns:
            if col.used != used_pass or col.kind not in _NUMERIC_KINDS or col.name not in profiles.overall:
                continue
            role = _role_of(col.name, col.kind)
            if role is not None and role not in found:
                found[role] = col.name
    return FieldRoles(**found)


def _effect(profile: dict, field: str | None) -> float | None:
    if field is None:
        return None
    return profile.get(field, {}).get("effect_size")


def _candidates(profile: dict, roles: FieldRoles) -> list[tuple[str, float]]:
    """Archetypes this segment qualifies for, in priority order, each with its evidence score."""
    t = ARCHETYPE_MIN_EFFECT
    rec = _effect(profile, roles.recency)
    r = -rec if rec is not None else None  # fewer days since the last purchase is better
    f = _effect(profile, roles.frequency)
    m = _effect(profile, roles.monetary)
    aov = _effect(profile, roles.aov)
    if m is None:
        m = aov
    ten = _effect(profile, roles.tenure)
    churn = _effect(profile, roles.churn)

    def hi(x):
        return x is not None and x >= t

    def lo(x):
        return x is not None and x <= -t

    def v(x):
        return x if x is not None else 0.0

    out: list[tuple[str, float]] = []
    known = [x for x in (r, f, m) if x is not None]
    if len(known) >= 2 and all(x >= t for x in known) and not hi(churn):
        out.append(("champions", sum(known)))
    worth = max((x for x in (f, m, aov) if x is not None), default=None)
    w = AT_RISK_MIN_EFFECT
    if (r is not None and r <= -w and worth is not None and worth >= w) or (hi(churn) and not lo(m)):
        out.append(("at_risk", -v(r) + v(worth) + v(churn)))
    if hi(r) and (lo(ten) or (ten is None and lo(f))):
        out.append(("new", v(r) - v(ten) - (v(f) if ten is None else 0.0)))
    if hi(f) and not lo(r):
        out.append(("loyal", v(f) + v(ten)))
    if hi(m) and not lo(r):
        out.append(("big_spenders", v(m)))
    if lo(r) and not hi(f) and not hi(m):
        out.append(("hibernating", -v(r) - v(m)))
    if hi(r) and not lo(f) and not lo(m):
        out.append(("promising", v(r)))
    if lo(f) and not lo(r):
        out.append(("occasional", -v(f)))
    if lo(m) and not hi(f):
        out.append(("low_value", -v(m)))
    return out


def segment_archetypes(profiles: SegmentProfiles, columns: list[FieldColumn]) -> list[str | None]:
    """One distinct archetype code per segment (see ARCHETYPES), or None when none fits.

    Conflicts are settled by evidence: when several segments qualify for the same archetype the
    one with the largest score keeps it (ties: the larger segment, i.e. the lower index) and the
    others move on to their next candidate.

    Parameters
    ----------
    profiles : SegmentProfiles
        The profiles.
    columns : list of FieldColumn
        The fields (their names tell the roles).

    Returns
    -------
    list of str or None
        Per segment.
    """
    roles = field_roles(columns, profiles)
    k = len(profiles.profiles)
    cands = [
        _candidates(p, roles) if int(profiles.sizes[s]) > 0 else []
        for s, p in enumerate(profiles.profiles)
    ]
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


def _part(char: dict, language: str, first: bool) -> str:
    suffix = "" if first else "_next"
    if char["direction"] == "over":
        return text(language, "name.over" + suffix, category=char["category"])
    # A date field holds days before the latest date: "high" reads as long ago.
    prefix = "name.date_" if char["kind"] == "date" else "name."
    return text(language, f"{prefix}{char['direction']}{suffix}", feature=char["feature"])


def _feature_name(chars: list[dict], language: str) -> str | None:
    if not chars:
        return None
    first = _part(chars[0], language, True)
    if len(chars) == 1:
        return first
    return text(language, "name.pair", first=first, second=_part(chars[1], language, False))


def name_segments(profiles: SegmentProfiles, columns: list[FieldColumn], language: str) -> list[str]:
    """A short, distinct, deterministic name per segment in ``language``.

    Parameters
    ----------
    profiles : SegmentProfiles
        The profiles (characteristics drive feature-based names).
    columns : list of FieldColumn
        The fields (their names tell the customer roles).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    list of str
        One name per segment, all different.
    """
    archetypes = segment_archetypes(profiles, columns)
    k = len(profiles.profiles)
    names: list[str] = []
    for s in range(k):
        if archetypes[s] is not None:
            name = text(language, f"name.{archetypes[s]}")
        else:
            name = _feature_name(profiles.characteristics[s][:2], language)
            if name is None:
                name = text(language, "name.segment", number=format_int(s + 1, language))
        names.append(name)
    # Duplicates (feature-based names only, archetypes are already unique): qualify every copy
    # after the first with its next characteristic, then number what is still duplicated.
    seen: set[str] = set()
    for s in range(k):
        if names[s] in seen:
            chars = profiles.characteristics[s]
            used = 0 if archetypes[s] is not None else 2
            if len(chars) > used:
                qualified = text(language, "name.qualified", name=names[s], qualifier=_part(chars[used], language, False))
                if qualified not in seen and qualified not in names:
                    names[s] = qualified
        seen.add(names[s])
    seen = set()
    for s in range(k):
        if names[s] in seen:
            names[s] = text(language, "name.numbered", name=names[s], number=format_int(s + 1, language))
        seen.add(names[s])
    return names

"""Business roles of fields (recency, frequency, monetary, tenure, channel): given, then guessed.

A segment can only be called "Champions" or "At risk" when the report knows which field holds
the days since the last purchase, which one the number of orders and which one the money. The
caller says so with the ``roles`` option (``{"last_seen": "recency", "spend": "monetary"}``);
every field the caller leaves out is guessed from the WHOLE word tokens of its name
(``days_since_signup`` is tenure, not recency; ``support_tickets``, ``n_returns`` and
``refund_value`` are costs, not frequency or money). The assignment, and whether each role was
given or guessed, is reported in the metadata so that a wrong guess is visible and can be
overridden.

Conventions the text relies on:

- a recency field measures time elapsed since the last purchase (more = less recent); a date
  field reaches profiling as days before the latest date, which is the same thing;
- a tenure field measures how long the customer has been one (more = older customer);
- frequency and monetary fields are "more is better"; a monetary field whose name says it is an
  average (``avg_order_value``, ``ticket_medio``) backs a total when there is one;
- a channel field is categorical; it alone can back a "reach this segment through ..." sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "ROLES",
    "FieldRoles",
    "assign_roles",
    "field_label",
    "field_labels",
    "guess_role",
    "is_average",
    "is_cost",
    "role_errors",
    "tokens",
]

# What a caller may give (SPEC section 2). "churn" is never given, only recognised by name.
ROLES = ("recency", "frequency", "monetary", "tenure", "channel", "none")
_NUMERIC_KINDS = ("numeric", "binary", "date")
# Which field kinds each role accepts.
ROLE_KINDS = {
    "recency": ("numeric", "date"),
    "frequency": ("numeric",),
    "monetary": ("numeric",),
    "tenure": ("numeric", "date"),
    "channel": ("categorical",),
    "none": ("numeric", "binary", "date", "categorical", "empty"),
}

# Costs and complaints: a segment high on them is not a good customer, so their names never
# make a field frequency- or money-like ("n_returns", "refund_value", "support_tickets").
_NEGATIVE = {
    "return", "returns", "returned", "refund", "refunds", "refunded", "chargeback", "chargebacks",
    "complaint", "complaints", "support", "tickets", "incident", "incidents", "claims", "claim",
    "devolucion", "devoluciones", "devolucao", "devolucoes", "reembolso", "reembolsos",
    "queja", "quejas", "reclamacao", "reclamacoes", "reclamo", "reclamos", "chamados", "fraud",
    "discount", "discounts", "descuento", "descuentos", "desconto", "descontos", "cost", "costs",
    "custo", "custos", "coste", "costes", "error", "errors", "failed", "bounce", "bounces",
}
_CHURN = {"churn", "churned", "abandono", "cancelled", "canceled", "cancelado", "cancelou", "baja", "attrition"}
_AVG = {"avg", "average", "mean", "promedio", "medio", "media", "per"}
_AOV_OBJ = {"order", "orders", "ticket", "pedido", "basket", "cesta", "compra", "value", "valor", "purchase",
            "transaction"}
_MONEY_STRONG = {
    "monetary", "spend", "spent", "spending", "revenue", "sales", "amount", "gasto", "gastos",
    "receita", "ingresos", "ingreso", "ventas", "vendas", "ltv", "clv", "importe", "montante",
    "faturamento", "facturacion", "aov", "money", "dinero", "dinheiro",
}
_MONEY_WEAK = {"value", "valor"}
_TENURE = {"tenure", "antiguedad", "antiguidade", "seniority", "longevity"}
_TENURE_UNITS = {"months", "meses", "years", "anos", "days", "dias", "weeks", "semanas"}
_TENURE_WITH = {"active", "activo", "ativo", "customer", "cliente", "client", "account", "conta", "cuenta",
                "member", "membership", "lifetime"}
# The start of the relationship: "days_since_signup", "signup_date", "first_purchase_date".
_START = {"signup", "registration", "registro", "cadastro", "first", "primera", "primeira", "primer",
          "joined", "join", "created", "creation", "alta", "onboarding", "inscricao"}
_RECENCY = {"recency", "recencia", "recent"}
_SINCE = {"since", "desde", "ago", "hace"}
_LAST = {"last", "ultima", "ultimo", "latest"}
_ACTIVITY = {"purchase", "purchases", "order", "orders", "compra", "pedido", "transaction", "visit",
             "seen", "activity", "login", "bought"}
_FREQUENCY = {
    "frequency", "freq", "frecuencia", "frequencia", "orders", "purchases", "compras", "pedidos",
    "transactions", "transacciones", "transacoes", "visits", "visitas",
}
_CHANNEL = {"channel", "channels", "canal", "canales", "canais"}
_DATE_WORDS = {"date", "fecha", "data", "dt", "timestamp"}
_DAY_UNITS = ("days", "day", "dias", "dia")
_OTHER_UNITS = ("months", "month", "meses", "mes", "years", "year", "anos", "ano", "weeks", "week", "semanas")


# Names are few and asked about many times per report (every sentence shows a label): cached.
_CACHE = 4096


@lru_cache(maxsize=_CACHE)
def _words(name: str) -> tuple[str, ...]:
    """Word tokens of a snake/camel/kebab-case name, in order, case and accents as written."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return tuple(t for t in re.split(r"[\W_]+", spaced) if t)


def _plain(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)).lower()


@lru_cache(maxsize=_CACHE)
def tokens(name: str) -> frozenset[str]:
    """Lower-case, accent-free whole-word tokens of a field name (``recencyDays`` -> recency, days).

    Parameters
    ----------
    name : str
        A field name.

    Returns
    -------
    frozenset of str
    """
    return frozenset(_plain(w) for w in _words(name))


@lru_cache(maxsize=_CACHE)
def guess_role(name: str, kind: str) -> str | None:
    """The role a field's name suggests, from whole tokens only; None when it suggests none.

    Parameters
    ----------
    name : str
        Field name.
    kind : str
        ``"numeric"``, ``"binary"``, ``"date"`` or ``"categorical"``.

    Returns
    -------
    str or None
        ``recency``, ``frequency``, ``monetary``, ``tenure``, ``channel``, ``churn`` or ``none``
        (a cost or complaint field, named so that it is never taken for a good-customer role),
        or None.
    """
    tok = tokens(name)
    if kind == "categorical":
        return "channel" if tok & _CHANNEL else None
    if kind == "empty":
        return None
    if tok & _NEGATIVE:
        return "none"
    if tok & _CHURN:
        return "churn" if kind in ("binary", "numeric") else None
    if tok & _DATE_WORDS:
        # A date reaches profiling as days before the latest date, whatever kind the caller gave
        # it; its name says which date it is, never a count or an amount.
        kind = "date"
    if kind != "date" and ("aov" in tok or (tok & _AVG and tok & _AOV_OBJ) or "ticket" in tok):
        return "monetary"
    if kind != "date" and (tok & _MONEY_STRONG or (tok & _MONEY_WEAK and not tok & _TENURE_UNITS)):
        return "monetary"
    if tok & _START:
        return "tenure"
    if tok & _TENURE or (tok & _TENURE_UNITS and tok & _TENURE_WITH):
        return "tenure"
    if tok & _RECENCY:
        return "recency"
    if tok & _LAST and (kind == "date" or tok & set(_DAY_UNITS) or tok & _SINCE):
        return "recency"
    if tok & _SINCE and (tok & _ACTIVITY or tok & _LAST):
        return "recency"
    if kind == "date":
        return None
    if tok & _FREQUENCY:
        return "frequency"
    return None


def is_cost(name: str) -> bool:
    """Whether a field's name says it counts costs or complaints (returns, refunds, tickets...)."""
    return bool(tokens(name) & _NEGATIVE)


def is_average(name: str) -> bool:
    """Whether a monetary field's name says it is a per-order average (it then backs a total)."""
    tok = tokens(name)
    return "aov" in tok or "ticket" in tok or bool(tok & _AVG)


@lru_cache(maxsize=_CACHE)
def field_label(name: str) -> str:
    """A readable label of a field name: words separated by spaces, a trailing day unit dropped.

    ``tenure_days`` -> ``tenure``, ``avg_order_value`` -> ``avg order value``, ``recencyDays``
    -> ``recency``, ``tenure_months`` -> ``tenure (months)``. The words stay the user's own (no
    translation); the day unit is dropped because the sentences of a day field already say
    "days", other units are kept in parentheses.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    words = list(_words(name))
    unit = None
    if len(words) > 1 and _plain(words[-1]) in _DAY_UNITS:
        words = words[:-1]
    elif len(words) > 1 and _plain(words[-1]) in _OTHER_UNITS:
        unit = words.pop().lower()
    if not words:
        return name
    lowered = [w if (w.isupper() and len(w) > 1) else w.lower() for w in words]
    return " ".join(lowered) + (f" ({unit})" if unit else "")


def field_labels(names: Iterable[str]) -> dict[str, str]:
    """Labels of several fields; fields whose labels would collide keep their raw names.

    Parameters
    ----------
    names : iterable of str

    Returns
    -------
    dict
        name -> label.
    """
    names = list(names)
    labels = {n: field_label(n) for n in names}
    count: dict[str, int] = {}
    for lab in labels.values():
        count[lab] = count.get(lab, 0) + 1
    # A label equal to another field's raw name would also be ambiguous.
    raw = set(names)
    return {n: (lab if count[lab] == 1 and (lab == n or lab not in raw) else n) for n, lab in labels.items()}


@dataclass(frozen=True)
class FieldRoles:
    """The role of every field and the field that speaks for each role.

    Parameters
    ----------
    recency, frequency, monetary, aov, tenure, churn : str or None
        The primary field of each role (``aov``: a per-order average money field that backs
        the monetary total, or the monetary field itself when it is the only one).
    channels : tuple of str
        Categorical fields with the channel role.
    by_field : dict
        field -> ``(role, source)`` with source ``"given"`` or ``"guessed"``; role ``"none"``
        when the field plays no role.
    labels : dict
        field -> readable label (see :func:`field_labels`).
    """

    recency: str | None = None
    frequency: str | None = None
    monetary: str | None = None
    aov: str | None = None
    tenure: str | None = None
    churn: str | None = None
    channels: tuple[str, ...] = ()
    by_field: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)

    def label(self, name: str) -> str:
        """The readable label of ``name``."""
        return self.labels.get(name, name)

    def to_metadata(self) -> dict[str, dict[str, str]]:
        """``{field: {"role", "source", "label"}}`` in field order, for ``metadata.roles``."""
        return {
            f: {"role": role, "source": source, "label": self.label(f)}
            for f, (role, source) in self.by_field.items()
        }


def assign_roles(columns: Iterable[Any], given: Mapping[str, str] | None = None) -> FieldRoles:
    """Roles of the report's fields: the given ones, then guesses from names for the rest.

    When several fields share a role, a given field wins over a guessed one, a field used in
    clustering over an unused one, then (monetary) a total over an average, then column order.

    Parameters
    ----------
    columns : iterable of objects with ``name``, ``kind`` and ``used``
        The report's fields (``segengine.profiling.FieldColumn``).
    given : mapping, optional
        field -> role from the ``roles`` option (already validated).

    Returns
    -------
    FieldRoles
    """
    given = dict(given or {})
    cols = [c for c in columns if c.kind != "empty"]
    by_field: dict[str, tuple[str, str]] = {}
    for c in cols:
        if c.name in given:
            by_field[c.name] = (given[c.name], "given")
        else:
            by_field[c.name] = (guess_role(c.name, c.kind) or "none", "guessed")
    order = {c.name: i for i, c in enumerate(cols)}
    used = {c.name: bool(c.used) for c in cols}
    kinds = {c.name: c.kind for c in cols}

    def pick(role: str, prefer_total: bool = False) -> list[str]:
        names = [f for f, (r, _) in by_field.items() if r == role and kinds[f] in ROLE_KINDS.get(role, _NUMERIC_KINDS)]
        return sorted(names, key=lambda f: (
            by_field[f][1] != "given", not used[f], prefer_total and is_average(f), order[f]))

    money = pick("monetary", prefer_total=True)
    averages = [f for f in money if is_average(f)]
    primary_money = money[0] if money else None
    aov = next((f for f in averages if f != primary_money), None) or (
        primary_money if primary_money is not None and is_average(primary_money) else None)
    first = {role: (pick(role) or [None])[0] for role in ("recency", "frequency", "tenure")}
    churn = [f for f, (r, _) in by_field.items() if r == "churn" and kinds[f] in ("binary", "numeric")]
    return FieldRoles(
        recency=first["recency"], frequency=first["frequency"], monetary=primary_money, aov=aov,
        tenure=first["tenure"], churn=churn[0] if churn else None,
        channels=tuple(f for f, (r, _) in by_field.items() if r == "channel" and kinds[f] == "categorical"),
        by_field=by_field, labels=field_labels(order),
    )


def role_errors(
    given: Mapping[str, str], kinds: Mapping[str, str], *, prefix: str = "options.roles."
) -> dict[str, tuple[str, dict]]:
    """Problems of the ``roles`` option against the data: an unknown field, a role its kind cannot play.

    Parameters
    ----------
    given : mapping
        field -> role (values already checked to be in ``ROLES``).
    kinds : mapping
        field -> kind of every field of the data.
    prefix : str
        Path prefix of the problems.

    Returns
    -------
    dict
        path -> (error catalogue key, parameters); empty when everything is fine.
    """
    out: dict[str, tuple[str, dict]] = {}
    for name, role in given.items():
        path = f"{prefix}{name}"
        if name not in kinds:
            out[path] = ("role_unknown_field", {"name": name})
        elif kinds[name] not in ROLE_KINDS[role]:
            out[path] = ("role_wrong_kind", {"name": name, "role": role, "kind": kinds[name]})
    return out

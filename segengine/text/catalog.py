"""Message catalogues (en, es, pt) and locale number formatting for everything a customer reads.

Every sentence of a report (segment names, characteristics, insights, summary) comes from a
template here, filled with ``str.format``. Every language has exactly the same keys and every
template of a key has the same placeholders in every language (a test enforces both).

Number conventions, per language:

- grouping and decimal marks: en ``1,234.5``; es and pt ``1.234,5``.
- percentages: en and pt ``48%`` (no space), es ``48 %`` (space before the sign, as the RAE
  recommends). Shares of 10 % or more get no decimals, smaller ones one decimal, below 1 % two.
- ratios: one decimal below 10 (``2.3``), none above; templates add the "x" / "veces" / "vezes".
- other values: no decimals from 100 up, one from 10, two below 10 (trailing zeros dropped);
  under 1, two significant digits.
- feature names and category values are quoted exactly as the user wrote them.
"""

from __future__ import annotations

import math
import string

from segengine.text.language import LANGUAGES

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "text",
    "format_number",
    "format_int",
    "format_percent",
    "format_ratio",
    "format_fixed",
    "placeholders",
]

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        # characteristics
        "char.ratio": "{feature} is {ratio}x the average ({value} vs {reference})",
        "char.high": "{feature} is above average: {value} vs {reference}",
        "char.low": "{feature} is below average: {value} vs {reference}",
        "char.low_pct": "{feature} is {pct} below average ({value} vs {reference})",
        "char.days": "{feature} is {value} days vs {reference} on average",
        "char.date": "{feature}: {value} days before the latest date vs {reference} on average",
        "char.rate": "{feature}: {value} vs {reference} on average",
        "char.category": "{feature} '{category}' is {ratio}x more common ({value} vs {reference})",
        # names
        "name.champions": "Champions",
        "name.loyal": "Loyal customers",
        "name.new": "New customers",
        "name.at_risk": "At risk",
        "name.hibernating": "Hibernating",
        "name.big_spenders": "Big spenders",
        "name.promising": "Promising",
        "name.occasional": "Occasional buyers",
        "name.low_value": "Low-value customers",
        "name.high": "High {feature}",
        "name.low": "Low {feature}",
        "name.over": "Mostly {feature} {category}",
        "name.high_next": "high {feature}",
        "name.low_next": "low {feature}",
        "name.over_next": "mostly {feature} {category}",
        "name.often": "Often {feature} {category}",
        "name.often_next": "often {feature} {category}",
        "name.above": "Above-average {feature}",
        "name.below": "Below-average {feature}",
        "name.above_next": "above-average {feature}",
        "name.below_next": "below-average {feature}",
        "name.date_above": "Older {feature}",
        "name.date_below": "More recent {feature}",
        "name.date_above_next": "older {feature}",
        "name.date_below_next": "more recent {feature}",
        # a recency field counts days since the last purchase: "High recency" would read upside
        # down to a marketer (a high RFM recency score means recent), so it is said in words
        "name.recency_high": "Least recent buyers",
        "name.recency_low": "Most recent buyers",
        "name.recency_above": "Less recent than average",
        "name.recency_below": "More recent than average",
        "name.recency_high_next": "least recent",
        "name.recency_low_next": "most recent",
        "name.recency_above_next": "less recent than average",
        "name.recency_below_next": "more recent than average",
        "name.date_high": "Old {feature}",
        "name.date_low": "Recent {feature}",
        "name.date_high_next": "old {feature}",
        "name.date_low_next": "recent {feature}",
        "name.pair": "{first}, {second}",
        "name.qualified": "{name} ({qualifier})",
        "name.numbered": "{name} {number}",
        "name.segment": "Segment {number}",
        # segment insights
        "ins.champions": "Retain and reward these {size} customers ({share} of the base) with loyalty perks and early access — {evidence}.",
        "ins.champions.upsell": "Invite these {size} customers to referral and premium programmes: {evidence}.",
        "ins.loyal": "Upsell and cross-sell to these {size} loyal customers ({share} of the base) with bundles and recommendations — {evidence}.",
        "ins.new": "Onboard these {size} new customers ({share} of the base) with a welcome journey that drives the next purchase — {evidence}.",
        "ins.at_risk": "Win back these {size} valuable customers ({share} of the base) with personalised offers before they churn — {evidence}.",
        "ins.hibernating": "Reactivate these {size} dormant customers ({share} of the base) with low-cost campaigns and cap the spend on them — {evidence}.",
        "ins.big_spenders": "Protect the revenue of these {size} big spenders ({share} of the base) with dedicated service — {evidence}.",
        "ins.big_spenders.upsell": "Offer premium products to these {size} customers: {evidence}.",
        "ins.promising": "Nurture these {size} promising customers ({share} of the base) with targeted recommendations to build frequency — {evidence}.",
        "ins.occasional": "Raise the purchase frequency of these {size} occasional buyers ({share} of the base) with reminders and bundles — {evidence}.",
        "ins.low_value": "Serve these {size} low-value customers ({share} of the base) through low-cost channels and test entry offers — {evidence}.",
        "ins.generic": "Monitor this segment of {size} customers ({share} of the base) and test offers aimed at its defining trait — {evidence}.",
        "ins.churn": "Churn signal: {evidence}; prioritise these {size} customers in retention campaigns.",
        "ins.evidence_share": "{share} of all customers",
        "ins.target": "Reach this segment through {feature} '{category}': {value} of its customers vs {reference} overall.",
        # report summary
        "sum.concentration": "'{name}' holds {customers} of customers but {total} of {feature}.",
        "sum.at_risk": "The largest at-risk segment, '{name}', has {size} customers ({share}).",
        "sum.distinct": "'{name}' is the most distinct segment: {feature} lies {effect} standard deviations from the average.",
        "sum.smallest": "The smallest segment, '{name}', has {size} customers ({share}).",
        "sum.largest": "The largest segment, '{name}', has {size} customers ({share}).",
        "ins.single": "Look at this single customer individually rather than as a segment — {evidence}.",
        "sum.at_risk.one": "The largest at-risk segment, '{name}', is a single customer ({share}).",
        "sum.distinct.one": "'{name}' is the most distinct segment: {feature} lies {effect} standard deviation from the average.",
        "sum.smallest.one": "The smallest segment, '{name}', is a single customer ({share}).",
        "sum.largest.one": "The largest segment, '{name}', is a single customer ({share}).",
        "sum.count": "{n} customers were grouped into {k} segments.",
    },
    "es": {
        "char.ratio": "{feature} es {ratio} veces la media ({value} frente a {reference})",
        "char.high": "{feature} está por encima de la media: {value} frente a {reference}",
        "char.low": "{feature} está por debajo de la media: {value} frente a {reference}",
        "char.low_pct": "{feature} está un {pct} por debajo de la media ({value} frente a {reference})",
        "char.days": "{feature} es de {value} días frente a {reference} de media",
        "char.date": "{feature}: {value} días antes de la fecha más reciente frente a {reference} de media",
        "char.rate": "{feature}: {value} frente a {reference} de media",
        "char.category": "{feature} '{category}' es {ratio} veces más frecuente ({value} frente a {reference})",
        "name.champions": "Campeones",
        "name.loyal": "Clientes leales",
        "name.new": "Clientes nuevos",
        "name.at_risk": "En riesgo",
        "name.hibernating": "Hibernando",
        "name.big_spenders": "Grandes compradores",
        "name.promising": "Prometedores",
        "name.occasional": "Compradores ocasionales",
        "name.low_value": "Clientes de bajo valor",
        "name.high": "{feature} alto",
        "name.low": "{feature} bajo",
        "name.over": "Sobre todo {feature} {category}",
        "name.high_next": "{feature} alto",
        "name.low_next": "{feature} bajo",
        "name.over_next": "sobre todo {feature} {category}",
        "name.often": "A menudo {feature} {category}",
        "name.often_next": "a menudo {feature} {category}",
        "name.above": "{feature} sobre la media",
        "name.below": "{feature} bajo la media",
        "name.above_next": "{feature} sobre la media",
        "name.below_next": "{feature} bajo la media",
        "name.date_above": "{feature} más lejano",
        "name.date_below": "{feature} más reciente",
        "name.date_above_next": "{feature} más lejano",
        "name.date_below_next": "{feature} más reciente",
        "name.recency_high": "Compradores menos recientes",
        "name.recency_low": "Compradores más recientes",
        "name.recency_above": "Menos recientes que la media",
        "name.recency_below": "Más recientes que la media",
        "name.recency_high_next": "menos recientes",
        "name.recency_low_next": "más recientes",
        "name.recency_above_next": "menos recientes que la media",
        "name.recency_below_next": "más recientes que la media",
        "name.date_high": "{feature} lejano",
        "name.date_low": "{feature} reciente",
        "name.date_high_next": "{feature} lejano",
        "name.date_low_next": "{feature} reciente",
        "name.pair": "{first}, {second}",
        "name.qualified": "{name} ({qualifier})",
        "name.numbered": "{name} {number}",
        "name.segment": "Segmento {number}",
        "ins.champions": "Retener y premiar a estos {size} clientes ({share} de la base) con ventajas de fidelidad y acceso anticipado — {evidence}.",
        "ins.champions.upsell": "Invitar a estos {size} clientes a programas de referidos y premium: {evidence}.",
        "ins.loyal": "Vender más y productos complementarios a estos {size} clientes leales ({share} de la base) con packs y recomendaciones — {evidence}.",
        "ins.new": "Acompañar a estos {size} clientes nuevos ({share} de la base) con un recorrido de bienvenida que impulse la siguiente compra — {evidence}.",
        "ins.at_risk": "Recuperar a estos {size} clientes valiosos ({share} de la base) con ofertas personalizadas antes de que se vayan — {evidence}.",
        "ins.hibernating": "Reactivar a estos {size} clientes inactivos ({share} de la base) con campañas de bajo coste y limitar la inversión en ellos — {evidence}.",
        "ins.big_spenders": "Proteger los ingresos de estos {size} grandes compradores ({share} de la base) con atención dedicada — {evidence}.",
        "ins.big_spenders.upsell": "Ofrecer productos premium a estos {size} clientes: {evidence}.",
        "ins.promising": "Cultivar a estos {size} clientes prometedores ({share} de la base) con recomendaciones dirigidas para aumentar su frecuencia — {evidence}.",
        "ins.occasional": "Aumentar la frecuencia de compra de estos {size} compradores ocasionales ({share} de la base) con recordatorios y packs — {evidence}.",
        "ins.low_value": "Atender a estos {size} clientes de bajo valor ({share} de la base) por canales de bajo coste y probar ofertas de entrada — {evidence}.",
        "ins.generic": "Seguir este segmento de {size} clientes ({share} de la base) y probar ofertas dirigidas a su rasgo distintivo — {evidence}.",
        "ins.churn": "Señal de abandono: {evidence}; priorizar a estos {size} clientes en las campañas de retención.",
        "ins.evidence_share": "{share} del total de clientes",
        "ins.target": "Llegar a este segmento a través de {feature} '{category}': {value} de sus clientes frente a {reference} en total.",
        "sum.concentration": "'{name}' reúne el {customers} de los clientes pero el {total} de {feature}.",
        "sum.at_risk": "El mayor segmento en riesgo, '{name}', tiene {size} clientes ({share}).",
        "sum.distinct": "'{name}' es el segmento más diferenciado: {feature} se aleja {effect} desviaciones estándar de la media.",
        "sum.smallest": "El segmento más pequeño, '{name}', tiene {size} clientes ({share}).",
        "sum.largest": "El segmento más grande, '{name}', tiene {size} clientes ({share}).",
        "ins.single": "Analizar a este único cliente de forma individual y no como segmento — {evidence}.",
        "sum.at_risk.one": "El mayor segmento en riesgo, '{name}', es un único cliente ({share}).",
        "sum.distinct.one": "'{name}' es el segmento más diferenciado: {feature} se aleja {effect} desviación estándar de la media.",
        "sum.smallest.one": "El segmento más pequeño, '{name}', es un único cliente ({share}).",
        "sum.largest.one": "El segmento más grande, '{name}', es un único cliente ({share}).",
        "sum.count": "{n} clientes se agruparon en {k} segmentos.",
    },
    "pt": {
        "char.ratio": "{feature} é {ratio} vezes a média ({value} contra {reference})",
        "char.high": "{feature} está acima da média: {value} contra {reference}",
        "char.low": "{feature} está abaixo da média: {value} contra {reference}",
        "char.low_pct": "{feature} está {pct} abaixo da média ({value} contra {reference})",
        "char.days": "{feature} é de {value} dias contra {reference} na média",
        "char.date": "{feature}: {value} dias antes da data mais recente contra {reference} na média",
        "char.rate": "{feature}: {value} contra {reference} na média",
        "char.category": "{feature} '{category}' é {ratio} vezes mais frequente ({value} contra {reference})",
        "name.champions": "Campeões",
        "name.loyal": "Clientes fiéis",
        "name.new": "Clientes novos",
        "name.at_risk": "Em risco",
        "name.hibernating": "Hibernando",
        "name.big_spenders": "Grandes compradores",
        "name.promising": "Promissores",
        "name.occasional": "Compradores ocasionais",
        "name.low_value": "Clientes de baixo valor",
        "name.high": "{feature} alto",
        "name.low": "{feature} baixo",
        "name.over": "Principalmente {feature} {category}",
        "name.high_next": "{feature} alto",
        "name.low_next": "{feature} baixo",
        "name.over_next": "principalmente {feature} {category}",
        "name.often": "Frequentemente {feature} {category}",
        "name.often_next": "frequentemente {feature} {category}",
        "name.above": "{feature} acima da média",
        "name.below": "{feature} abaixo da média",
        "name.above_next": "{feature} acima da média",
        "name.below_next": "{feature} abaixo da média",
        "name.date_above": "{feature} mais antigo",
        "name.date_below": "{feature} mais recente",
        "name.date_above_next": "{feature} mais antigo",
        "name.date_below_next": "{feature} mais recente",
        "name.recency_high": "Compradores menos recentes",
        "name.recency_low": "Compradores mais recentes",
        "name.recency_above": "Menos recentes que a média",
        "name.recency_below": "Mais recentes que a média",
        "name.recency_high_next": "menos recentes",
        "name.recency_low_next": "mais recentes",
        "name.recency_above_next": "menos recentes que a média",
        "name.recency_below_next": "mais recentes que a média",
        "name.date_high": "{feature} antigo",
        "name.date_low": "{feature} recente",
        "name.date_high_next": "{feature} antigo",
        "name.date_low_next": "{feature} recente",
        "name.pair": "{first}, {second}",
        "name.qualified": "{name} ({qualifier})",
        "name.numbered": "{name} {number}",
        "name.segment": "Segmento {number}",
        "ins.champions": "Reter e recompensar estes {size} clientes ({share} da base) com benefícios de fidelidade e acesso antecipado — {evidence}.",
        "ins.champions.upsell": "Convidar estes {size} clientes para programas de indicação e premium: {evidence}.",
        "ins.loyal": "Fazer upsell e venda cruzada para estes {size} clientes fiéis ({share} da base) com kits e recomendações — {evidence}.",
        "ins.new": "Integrar estes {size} clientes novos ({share} da base) com uma jornada de boas-vindas que estimule a próxima compra — {evidence}.",
        "ins.at_risk": "Reconquistar estes {size} clientes valiosos ({share} da base) com ofertas personalizadas antes que abandonem — {evidence}.",
        "ins.hibernating": "Reativar estes {size} clientes inativos ({share} da base) com campanhas de baixo custo e limitar o investimento neles — {evidence}.",
        "ins.big_spenders": "Proteger a receita destes {size} grandes compradores ({share} da base) com atendimento dedicado — {evidence}.",
        "ins.big_spenders.upsell": "Oferecer produtos premium a estes {size} clientes: {evidence}.",
        "ins.promising": "Nutrir estes {size} clientes promissores ({share} da base) com recomendações direcionadas para aumentar a frequência — {evidence}.",
        "ins.occasional": "Aumentar a frequência de compra destes {size} compradores ocasionais ({share} da base) com lembretes e kits — {evidence}.",
        "ins.low_value": "Atender estes {size} clientes de baixo valor ({share} da base) por canais de baixo custo e testar ofertas de entrada — {evidence}.",
        "ins.generic": "Acompanhar este segmento de {size} clientes ({share} da base) e testar ofertas voltadas ao seu traço distintivo — {evidence}.",
        "ins.churn": "Sinal de abandono: {evidence}; priorizar estes {size} clientes nas campanhas de retenção.",
        "ins.evidence_share": "{share} do total de clientes",
        "ins.target": "Alcançar este segmento por {feature} '{category}': {value} dos seus clientes contra {reference} no total.",
        "sum.concentration": "'{name}' reúne {customers} dos clientes, mas {total} de {feature}.",
        "sum.at_risk": "O maior segmento em risco, '{name}', tem {size} clientes ({share}).",
        "sum.distinct": "'{name}' é o segmento mais distinto: {feature} fica a {effect} desvios-padrão da média.",
        "sum.smallest": "O menor segmento, '{name}', tem {size} clientes ({share}).",
        "sum.largest": "O maior segmento, '{name}', tem {size} clientes ({share}).",
        "ins.single": "Analisar este único cliente individualmente, e não como segmento — {evidence}.",
        "sum.at_risk.one": "O maior segmento em risco, '{name}', é um único cliente ({share}).",
        "sum.distinct.one": "'{name}' é o segmento mais distinto: {feature} fica a {effect} desvio-padrão da média.",
        "sum.smallest.one": "O menor segmento, '{name}', é um único cliente ({share}).",
        "sum.largest.one": "O maior segmento, '{name}', é um único cliente ({share}).",
        "sum.count": "{n} clientes foram agrupados em {k} segmentos.",
    },
}

# The labels of the HTML report and the plots live in their own module (segengine.text.chart_labels).
from segengine.text.chart_labels import CHART_LABELS  # noqa: E402

for _language, _labels in CHART_LABELS.items():
    MESSAGES[_language].update(_labels)

# The command line's terminal headings and messages (segengine.terminal): ``term.`` keys.
from segengine.text.terminal_labels import TERMINAL_LABELS  # noqa: E402

for _language, _labels in TERMINAL_LABELS.items():
    MESSAGES[_language].update(_labels)

# One sentence per segmentation option (segengine.options.OPTIONS): ``opt.`` keys.
from segengine.text.option_help import OPTION_HELP  # noqa: E402

for _language, _labels in OPTION_HELP.items():
    MESSAGES[_language].update(_labels)

_MARKS = {"en": (",", "."), "es": (".", ","), "pt": (".", ",")}
_PERCENT = {"en": "{}%", "es": "{} %", "pt": "{}%"}


def _check_language(language: str) -> str:
    if language not in MESSAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    return language


def text(language: str, key: str, **values: object) -> str:
    """Fill the template ``key`` of ``language`` with ``values``.

    Parameters
    ----------
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    key : str
        Catalogue key, e.g. ``"char.ratio"``.
    **values
        Placeholder values, already formatted for the locale.

    Returns
    -------
    str
        The sentence.
    """
    return MESSAGES[_check_language(language)][key].format(**values)


def placeholders(template: str) -> set[str]:
    """Names of the ``str.format`` fields of ``template``.

    Parameters
    ----------
    template : str
        A catalogue template.

    Returns
    -------
    set of str
        Field names.
    """
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def _fixed(x: float, decimals: int, language: str, strip: bool = True) -> str:
    s = f"{x:,.{decimals}f}"
    if strip and "." in s:
        s = s.rstrip("0").rstrip(".")
    if s in ("-0", "-0.0"):
        s = "0"
    group, point = _MARKS[_check_language(language)]
    return s.replace(",", "\x00").replace(".", point).replace("\x00", group)


def format_number(x: float | None, language: str) -> str:
    """A value in the user's units, with magnitude-dependent decimals and locale marks.

    Parameters
    ----------
    x : float or None
        The value (None gives ``"-"``).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        ``1,234.5``-style text (``1.234,5`` in es/pt).
    """
    if x is None or not math.isfinite(x):
        return "-"
    a = abs(x)
    if a >= 100:
        decimals = 0
    elif a >= 10:
        decimals = 1
    elif a >= 1 or a == 0:
        decimals = 2
    else:
        decimals = max(2, 1 - math.floor(math.log10(a)))
    return _fixed(x, decimals, language)


def format_int(n: int, language: str) -> str:
    """An integer count with locale grouping (``12,345`` / ``12.345``).

    Parameters
    ----------
    n : int
        The count.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        The formatted count.
    """
    return _fixed(int(n), 0, language)


def format_percent(share: float | None, language: str) -> str:
    """A share in [0, 1] as a percentage written the locale's way (``48%``, ``48 %``).

    Parameters
    ----------
    share : float or None
        The share (None gives ``"-"``).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        The percentage.
    """
    if share is None or not math.isfinite(share):
        return "-"
    p = 100.0 * share
    a = abs(p)
    decimals = 0 if a >= 10 or a == 0 else (1 if a >= 1 else 2)
    return _PERCENT[_check_language(language)].format(_fixed(p, decimals, language))


def format_ratio(r: float | None, language: str) -> str:
    """A ratio such as a lift: one decimal below 10, none above (``2.3``, ``2,3``, ``14``).

    Parameters
    ----------
    r : float or None
        The ratio (None gives ``"-"``).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        The formatted ratio (the template adds "x" / "veces" / "vezes").
    """
    if r is None or not math.isfinite(r):
        return "-"
    return _fixed(r, 1 if abs(r) < 10 else 0, language)


def format_fixed(x: float | None, decimals: int, language: str) -> str:
    """A value with exactly ``decimals`` decimals and locale marks (``0.483`` / ``0,483``).

    Unlike :func:`format_number`, the number of decimals is the caller's and trailing zeros stay:
    for columns of scores, where every value has the same precision.

    Parameters
    ----------
    x : float or None
        The value (None gives ``"-"``).
    decimals : int
        Digits after the decimal mark.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        ``1,234.50``-style text (``1.234,50`` in es/pt).
    """
    if x is None:
        return "-"
    return _fixed(x, decimals, language, strip=False)

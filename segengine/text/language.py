"""Language tags: the three languages segengine writes, and how callers' tags map onto them."""

from __future__ import annotations

# The one definition of the languages segengine writes; every other module imports it.
LANGUAGES = ("en", "es", "pt")
SUPPORTED = LANGUAGES
DEFAULT = "en"


def normalize_language(tag: object) -> str:
    """Map a language tag (``"pt-BR"``, ``"es_ES"``, ``"EN"``) to ``"en"``, ``"es"`` or ``"pt"``.

    Parameters
    ----------
    tag : object
        Anything a caller passes; non-strings and unsupported languages give ``"en"``.

    Returns
    -------
    str
        One of :data:`SUPPORTED`.
    """
    if not isinstance(tag, str):
        return DEFAULT
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else DEFAULT


def parse_accept_language(header: str | None) -> str:
    """Choose the response language from an HTTP ``Accept-Language`` header.

    The supported language with the highest quality wins; ties keep header order; ``q=0`` means
    "not acceptable". ``"pt-BR,pt;q=0.9,en;q=0.8"`` gives ``"pt"``; anything unsupported gives ``"en"``.

    Parameters
    ----------
    header : str or None
        The raw header value.

    Returns
    -------
    str
        One of :data:`SUPPORTED`.
    """
    if not isinstance(header, str) or not header.strip():
        return DEFAULT
    best, best_q = DEFAULT, -1.0
    for part in header.split(",")[:50]:
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        if q <= 0.0 or not tag:
            continue
        primary = tag.replace("_", "-").split("-", 1)[0].lower()
        if primary in SUPPORTED and q > best_q:
            best, best_q = primary, q
    return best

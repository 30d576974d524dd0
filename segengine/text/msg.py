"""A sentence not yet written: a catalogue key and its parameters, rendered at the contract edge.

Layers below the contract (table, options, request, preprocessing) raise errors and keep notices
as :class:`Msg` values; only the contract layer (api, cli, report, service) chooses the language and
renders them through :func:`segengine.text.error_messages.error_text`. A parameter that is itself a
``Msg`` is rendered in the same language; a parameter named ``how`` holding a string is a
catalogue key too (``"how_median"``), as the report's notices always had it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Msg", "render"]


class Msg:
    """The catalogue key of a sentence and the values of its placeholders.

    Parameters
    ----------
    key : str
        A key of :data:`segengine.text.error_messages.ERROR_MESSAGES`.
    **params
        Placeholder values: plain values, or ``Msg`` for a localized part.

    Examples
    --------
    >>> Msg("must_be_number", field="spend").render("es")
    'El campo spend debe ser un número.'
    """

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params

    def render(self, language: str = "en") -> str:
        """The sentence in ``language``.

        Parameters
        ----------
        language : str
            ``"en"``, ``"es"`` or ``"pt"`` (anything else gives English).

        Returns
        -------
        str
        """
        from segengine.text.error_messages import error_text

        values = {}
        for name, value in self.params.items():
            if isinstance(value, Msg):
                value = value.render(language)
            elif name == "how" and isinstance(value, str):
                value = error_text(language, value)
            values[name] = value
        return error_text(language, self.key, **values)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Msg({self.key!r}{params})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)

    def __reduce__(self) -> tuple:
        # Picklable (errors cross process boundaries in the service's workers).
        return (_rebuild, (self.key, self.params))


def _rebuild(key: str, params: dict[str, Any]) -> Msg:
    return Msg(key, **params)


def render(value: Any, language: str = "en") -> str:
    """Render a :class:`Msg` in ``language``; any other value is returned as text unchanged.

    Parameters
    ----------
    value : Msg or str
        A sentence, written or not yet.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
    """
    if isinstance(value, Msg):
        return value.render(language)
    return value if isinstance(value, str) else str(value)

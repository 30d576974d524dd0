"""Small building blocks for inline SVG.

Escaping, fixed-precision coordinates, linear scales, readable axis ticks and the segment colours.

Output is text assembled in a fixed order with coordinates rounded to 0.1 px, so the same numbers
always give the same bytes. The SVG is meant to sit inside an HTML5 page (no XML namespace
declaration is needed there, so the page contains no URL at all).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

__all__ = ["esc", "num", "nums", "LinearScale", "nice_ticks", "segment_color", "diverging_color", "text_color_on",
           "PALETTE", "HEATMAP_COLORS"]

# Ten colours that stay distinguishable for the common colour-vision deficiencies and in grey print.
PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#b07aa1", "#edc948", "#9c755f", "#ff9da7", "#7f7f7f",
)


def esc(text: object) -> str:
    """Escape text for HTML/SVG element content and double-quoted attributes.

    Parameters
    ----------
    text : object
        Anything; converted with ``str``.

    Returns
    -------
    str
    """
    return html.escape(str(text), quote=True)


def num(x: float) -> str:
    """A coordinate with at most one decimal and no trailing zeros (``12``, ``12.5``, ``-3``).

    Parameters
    ----------
    x : float

    Returns
    -------
    str
    """
    r = round(float(x), 1)
    if r == 0:
        return "0"
    s = f"{r:.1f}"
    return s[:-2] if s.endswith(".0") else s


def nums(values) -> list[str]:
    """:func:`num` for a whole array at once (the projection writes thousands of coordinates).

    Parameters
    ----------
    values : array-like of float

    Returns
    -------
    list of str
    """
    import numpy as np

    rounded = np.round(np.asarray(values, dtype=np.float64), 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return [t[:-2] if t.endswith(".0") else t for t in np.char.mod("%.1f", rounded).tolist()]


@dataclass(frozen=True)
class LinearScale:
    """Maps the data interval [lo, hi] onto the pixel interval [start, end] (end may be < start)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, x: float) -> float:
        """Pixel position of ``x``."""
        span = self.hi - self.lo
        t = 0.5 if span == 0 else (float(x) - self.lo) / span
        return self.start + t * (self.end - self.start)


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[float, float, list[float]]:
    """Round axis limits enclosing [lo, hi] and about ``count`` evenly spaced ticks on them.

    Parameters
    ----------
    lo, hi : float
        Data range (any order; equal values get a unit-wide range around them).
    count : int
        Desired number of intervals.

    Returns
    -------
    (float, float, list of float)
        Axis minimum, axis maximum (both multiples of the step) and the ticks between them.
    """
    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        pad = abs(lo) * 0.1 if abs(lo) > 1e-9 else 0.5
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    # Whole multiples of the step, cleaned of binary noise (0.30000000000000004) at the step's scale.
    digits = 3 - math.floor(math.log10(step))
    ticks = [round(m * step, digits) for m in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def segment_color(j: int) -> str:
    """Colour of segment ``j`` (cycles after ten segments).

    Parameters
    ----------
    j : int

    Returns
    -------
    str
        ``#rrggbb``.
    """
    return PALETTE[j % len(PALETTE)]


_NEGATIVE = (33, 102, 172)   # blue: below average
_POSITIVE = (214, 96, 77)    # orange-red: above average
_NEUTRAL = (247, 247, 247)
# The same ramp for matplotlib (segengine.plots): below, neutral, above.
HEATMAP_COLORS = ("#2166ac", "#f7f7f7", "#d6604d")


def diverging_color(value: float | None, limit: float = 1.5) -> str:
    """Fill of a heatmap cell: blue below zero, white at zero, orange above, saturated at ``limit``.

    Parameters
    ----------
    value : float or None
        None gives a light grey (unknown).
    limit : float
        |value| at which the colour is fully saturated.

    Returns
    -------
    str
        ``#rrggbb``.
    """
    if value is None or not math.isfinite(value):
        return "#e0e0e0"
    t = max(-1.0, min(1.0, value / limit))
    end = _POSITIVE if t > 0 else _NEGATIVE
    a = abs(t)
    rgb = [round(n + (e - n) * a) for n, e in zip(_NEUTRAL, end)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def text_color_on(fill: str) -> str:
    """Black or white text, whichever reads better on ``fill`` (relative luminance)."""
    r, g, b = (int(fill[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111" if lum > 0.45 else "#fff"

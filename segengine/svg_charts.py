"""The report's charts as inline SVG.

Silhouette per k, segment sizes, profile heatmap, projection and confidence distribution.

Each function takes the numbers of `segengine.chart_data` and a label function and returns one
``<svg>`` element. Marks carry their numbers in ``data-*`` attributes and each plot area states its
axis range (``data-x-min`` ...), so tests can check the drawing against the numbers; ``<title>``
children give the tooltips. No script, no external reference.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segengine.chart_data import ConfidenceDistribution, KCurve, ProfileRow, Projection, SegmentBar
from segengine.svg import LinearScale, diverging_color, esc, nice_ticks, num, nums, segment_color, text_color_on
from segengine.text.catalog import format_int, format_number, format_percent, format_ratio

__all__ = ["silhouette_svg", "sizes_svg", "heatmap_svg", "projection_svg", "confidence_svg"]

Label = Callable[..., str]
WIDTH = 720
HEATMAP_LIMIT = 1.5


def _open(chart: str, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="chart" data-chart="{chart}" viewBox="0 0 {WIDTH} {num(height)}" '
        f'role="img" aria-labelledby="{chart}-title {chart}-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart}-title">{esc(title)}</title><desc id="{chart}-desc">{esc(desc)}</desc>',
    ]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _signed(x: float, language: str) -> str:
    s = format_number(round(x, 1) if abs(x) >= 0.05 else 0.0, language)
    return ("+" + s) if x >= 0.05 else s


def _y_axis(parts: list[str], scale: LinearScale, ticks: list[float], left: float, right: float,
            language: str) -> None:
    for t in ticks:
        y = num(scale(t))
        parts.append(f'<line class="grid" x1="{num(left)}" x2="{num(right)}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="tick" x="{num(left - 6)}" y="{y}" text-anchor="end" '
                     f'dominant-baseline="middle">{esc(format_number(t, language))}</text>')


def _x_ticks(parts: list[str], scale: LinearScale, ticks: list[float], y: float, language: str,
             labels: list[str] | None = None) -> None:
    for i, t in enumerate(ticks):
        x = num(scale(t))
        parts.append(f'<line class="axis" x1="{x}" x2="{x}" y1="{num(y)}" y2="{num(y + 4)}"/>')
        text = labels[i] if labels else format_number(t, language)
        parts.append(f'<text class="tick" x="{x}" y="{num(y + 16)}" text-anchor="middle">{esc(text)}</text>')


# ------------------------------------------------------------------------------ silhouette per k


def silhouette_svg(curve: KCurve, t: Label, language: str) -> str:
    """Mean silhouette of every k with error bars; the chosen k and the near-ties marked.

    Parameters
    ----------
    curve : KCurve
    t : callable
        ``t(key, **values)`` -> localized label.
    language : str

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    height, left, right, top, bottom = 320.0, 64.0, WIDTH - 24.0, 34.0, 320.0 - 52.0
    lows = [s - e for s, e in zip(curve.scores, curve.errors)]
    highs = [s + e for s, e in zip(curve.scores, curve.errors)]
    y_min, y_max, ticks = nice_ticks(min(lows), max(highs), 5)
    y = LinearScale(y_min, y_max, bottom, top)
    band = (right - left) / len(curve.ks)

    def x(i: int) -> float:
        return left + (i + 0.5) * band

    parts = _open("silhouette", height, t("html.k_title"), t("html.k_desc"))
    parts.append(f'<g class="plot" data-y-min="{y_min!r}" data-y-max="{y_max!r}" '
                 f'data-top="{num(top)}" data-bottom="{num(bottom)}">')
    _y_axis(parts, y, ticks, left, right, language)
    parts.append(f'<line class="axis" x1="{num(left)}" x2="{num(right)}" y1="{num(bottom)}" y2="{num(bottom)}"/>')
    for i, k in enumerate(curve.ks):
        parts.append(f'<text class="tick" x="{num(x(i))}" y="{num(bottom + 18)}" text-anchor="middle">{k}</text>')
    points = " ".join(f"{num(x(i))},{num(y(s))}" for i, s in enumerate(curve.scores))
    parts.append(f'<polyline class="k-line" points="{points}"/>')
    for i, (k, s, e) in enumerate(zip(curve.ks, curve.scores, curve.errors)):
        if e > 0:
            cx, y0, y1 = num(x(i)), num(y(s - e)), num(y(s + e))
            parts.append(
                f'<path class="error-bar" data-k="{k}" '
                f'd="M{cx} {y0}V{y1}M{num(x(i) - 5)} {y0}h10M{num(x(i) - 5)} {y1}h10"/>'
            )
    for i, (k, s, e) in enumerate(zip(curve.ks, curve.scores, curve.errors)):
        chosen = k == curve.chosen
        tie = k in curve.near_ties
        cls = "k-point chosen" if chosen else "k-point"
        tip = f"k = {k}: {format_number(s, language)}" + (f" ± {format_number(e, language)}" if e > 0 else "")
        if tie:
            parts.append(f'<circle class="near-tie" data-k="{k}" cx="{num(x(i))}" cy="{num(y(s))}" r="10"/>')
        parts.append(f'<circle class="{cls}" data-k="{k}" data-score="{s!r}" data-error="{e!r}" '
                     f'cx="{num(x(i))}" cy="{num(y(s))}" r="{7 if chosen else 4}"><title>{esc(tip)}</title></circle>')
        if chosen or tie:
            word = t("html.k_chosen") if chosen else t("html.k_near_tie")
            parts.append(f'<text class="mark-label{" chosen" if chosen else ""}" x="{num(x(i))}" '
                         f'y="{num(y(s + e) - 12)}" text-anchor="middle">{esc(word)}</text>')
    parts.append("</g>")
    parts.append(f'<text class="axis-title" x="{num((left + right) / 2)}" y="{num(height - 10)}" '
                 f'text-anchor="middle">{esc(t("html.k_axis_x"))}</text>')
    parts.append(f'<text class="axis-title" transform="translate(16 {num((top + bottom) / 2)}) rotate(-90)" '
                 f'text-anchor="middle">{esc(t("html.k_axis_y"))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------ sizes


def sizes_svg(bars: list[SegmentBar], t: Label, language: str) -> str:
    """Horizontal bars: records per segment, with count and share written beside each bar.

    Parameters
    ----------
    bars : list of SegmentBar
    t : callable
    language : str

    Returns
    -------
    str
    """
    row, left, right, top = 30.0, 230.0, WIDTH - 120.0, 10.0
    height = top + row * len(bars) + 10.0
    largest = max((b.size for b in bars), default=0) or 1
    x = LinearScale(0.0, float(largest), left, right)
    parts = _open("sizes", height, t("html.sizes_title"), t("html.sizes_desc"))
    parts.append(f'<g class="plot" data-x-min="0" data-x-max="{largest}" '
                 f'data-left="{num(left)}" data-right="{num(right)}">')
    for i, b in enumerate(bars):
        y0 = top + i * row
        label = f"{b.segment} · {_short(b.name, 30)}"
        value = f"{format_int(b.size, language)} ({format_percent(b.share, language)})"
        parts.append(f'<text class="bar-label" x="{num(left - 8)}" y="{num(y0 + row / 2)}" text-anchor="end" '
                     f'dominant-baseline="middle">{esc(label)}<title>{esc(b.name)}</title></text>')
        parts.append(
            f'<rect class="bar" data-segment="{b.segment}" data-size="{b.size}" data-share="{b.share!r}" '
            f'x="{num(left)}" y="{num(y0 + 5)}" width="{num(x(b.size) - left)}" height="{num(row - 10)}" '
            f'fill="{segment_color(b.segment)}"><title>{esc(b.name)}: {esc(value)}</title></rect>'
        )
        parts.append(f'<text class="bar-value" x="{num(x(b.size) + 6)}" y="{num(y0 + row / 2)}" '
                     f'dominant-baseline="middle">{esc(value)}</text>')
    parts.append(f'<line class="axis" x1="{num(left)}" x2="{num(left)}" y1="{num(top)}" y2="{num(height - 10)}"/>')
    parts.append("</g></svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------ profile heatmap


def row_value_text(row: ProfileRow, value: float | None, language: str) -> str:
    """A heatmap value in the field's own units: a share for levels and yes/no fields, else a number."""
    if value is None:
        return "-"
    if row.kind in ("categorical", "binary"):
        return format_percent(value, language)
    return format_number(value, language)


def heatmap_svg(rows: list[ProfileRow], bars: list[SegmentBar], t: Label, language: str) -> str:
    """Effect size of every field (and category level) in every segment as coloured cells.

    Parameters
    ----------
    rows : list of ProfileRow
    bars : list of SegmentBar
        The segments (columns), for their names.
    t : callable
    language : str

    Returns
    -------
    str
    """
    k = len(bars)
    label_w, top, cell_h = 200.0, 54.0, 24.0
    cell_w = min(96.0, (WIDTH - label_w - 10.0) / max(k, 1))
    legend_y = top + cell_h * len(rows) + 18.0
    unknown = any(e is None for row in rows for e in row.effects[:k])
    height = legend_y + (50.0 if unknown else 32.0)
    parts = _open("heatmap", height, t("html.heatmap_title"), t("html.heatmap_desc"))
    parts.append(f'<g class="plot" data-rows="{len(rows)}" data-columns="{k}" data-limit="{HEATMAP_LIMIT!r}">')
    for j, b in enumerate(bars):
        cx = label_w + (j + 0.5) * cell_w
        limit = max(4, int(cell_w / 7))
        parts.append(f'<text class="col-head" x="{num(cx)}" y="{num(top - 30)}" '
                     f'text-anchor="middle">{b.segment}</text>')
        parts.append(f'<text class="col-name" x="{num(cx)}" y="{num(top - 12)}" text-anchor="middle">'
                     f'{esc(_short(b.name, limit))}<title>{esc(b.name)}</title></text>')
        parts.append(f'<rect class="col-key" x="{num(label_w + j * cell_w + 2)}" y="{num(top - 6)}" '
                     f'width="{num(cell_w - 4)}" height="3" fill="{segment_color(b.segment)}"/>')
    for i, row in enumerate(rows):
        y0 = top + i * cell_h
        parts.append(f'<text class="row-label" x="{num(label_w - 8)}" y="{num(y0 + cell_h / 2)}" '
                     f'text-anchor="end" dominant-baseline="middle">{esc(_short(row.label, 30))}'
                     f'<title>{esc(row.label)}</title></text>')
        for j, b in enumerate(bars):
            effect = row.effects[j] if j < len(row.effects) else None
            value = row.values[j] if j < len(row.values) else None
            lift = row.lifts[j] if j < len(row.lifts) else None
            fill = diverging_color(effect, HEATMAP_LIMIT)
            x0 = label_w + j * cell_w
            if effect is None:
                tip = f"{b.name} · {row.label}: {t('html.legend_unknown')}"
            else:
                tip = t("html.cell_tip", segment=b.name, field=row.label,
                        value=row_value_text(row, value, language),
                        reference=row_value_text(row, row.reference, language),
                        effect=format_number(effect, language), lift=format_ratio(lift, language))
            data_effect = "" if effect is None else f' data-effect="{effect!r}"'
            parts.append(f'<rect class="cell" data-row="{i}" data-segment="{b.segment}"{data_effect} '
                         f'x="{num(x0 + 1)}" y="{num(y0 + 1)}" width="{num(cell_w - 2)}" '
                         f'height="{num(cell_h - 2)}" fill="{fill}"><title>{esc(tip)}</title></rect>')
            if effect is not None and cell_w >= 34:
                parts.append(f'<text class="cell-text" x="{num(x0 + cell_w / 2)}" y="{num(y0 + cell_h / 2)}" '
                             f'text-anchor="middle" dominant-baseline="middle" fill="{text_color_on(fill)}">'
                             f'{esc(_signed(effect, language))}</text>')
    # Legend: the colour ramp from -limit to +limit.
    steps, ramp_w = 12, 240.0
    x_start = label_w
    for s in range(steps):
        v = -HEATMAP_LIMIT + (s + 0.5) * (2 * HEATMAP_LIMIT / steps)
        parts.append(f'<rect class="legend-step" x="{num(x_start + s * ramp_w / steps)}" y="{num(legend_y)}" '
                     f'width="{num(ramp_w / steps + 0.3)}" height="10" fill="{diverging_color(v, HEATMAP_LIMIT)}"/>')
    # Words beside the ramp's ends, numbers under them: long labels (es, pt) cannot collide.
    parts.append(f'<text class="tick" x="{num(x_start - 8)}" y="{num(legend_y + 9)}" text-anchor="end">'
                 f'{esc(t("html.legend_low"))}</text>')
    parts.append(f'<text class="tick" x="{num(x_start + ramp_w + 8)}" y="{num(legend_y + 9)}">'
                 f'{esc(t("html.legend_high"))}</text>')
    for value, anchor, x_pos in ((-HEATMAP_LIMIT, "start", x_start), (0.0, "middle", x_start + ramp_w / 2),
                                 (HEATMAP_LIMIT, "end", x_start + ramp_w)):
        parts.append(f'<text class="tick" x="{num(x_pos)}" y="{num(legend_y + 24)}" text-anchor="{anchor}">'
                     f'{esc(_signed(value, language))}</text>')
    if unknown:
        parts.append(f'<rect class="legend-step" x="{num(x_start)}" y="{num(legend_y + 32)}" width="14" '
                     f'height="10" fill="{diverging_color(None)}"/>')
        parts.append(f'<text class="tick" x="{num(x_start + 20)}" y="{num(legend_y + 41)}">'
                     f'{esc(t("html.legend_unknown"))}</text>')
    parts.append("</g></svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------ projection


def projection_svg(proj: Projection, bars: list[SegmentBar], t: Label, language: str) -> str:
    """The drawn records as dots coloured by segment, the segment centres as crosses.

    Parameters
    ----------
    proj : Projection
    bars : list of SegmentBar
        The segments, for names and colours of the legend.
    t : callable
    language : str

    Returns
    -------
    str
    """
    height, left, right, top, bottom = 500.0, 64.0, WIDTH - 190.0, 16.0, 500.0 - 52.0
    every = np.vstack([proj.xy, proj.centers]) if proj.xy.size else proj.centers
    x_min, x_max, x_ticks = nice_ticks(float(every[:, 0].min()), float(every[:, 0].max()), 6)
    y_min, y_max, y_ticks = nice_ticks(float(every[:, 1].min()), float(every[:, 1].max()), 6)
    x = LinearScale(x_min, x_max, left, right)
    y = LinearScale(y_min, y_max, bottom, top)
    desc = t("html.projection_desc", m=format_int(len(proj.labels), language),
             n=format_int(proj.n_records, language))
    parts = _open("projection", height, t("html.projection_title"), desc)
    parts.append(f'<g class="plot" data-x-min="{x_min!r}" data-x-max="{x_max!r}" data-y-min="{y_min!r}" '
                 f'data-y-max="{y_max!r}" data-left="{num(left)}" data-right="{num(right)}" '
                 f'data-top="{num(top)}" data-bottom="{num(bottom)}" data-points="{len(proj.labels)}">')
    _y_axis(parts, y, y_ticks, left, right, language)
    parts.append(f'<line class="axis" x1="{num(left)}" x2="{num(right)}" y1="{num(bottom)}" y2="{num(bottom)}"/>')
    _x_ticks(parts, x, x_ticks, bottom, language)
    xs = nums(x.start + (proj.xy[:, 0] - x.lo) * ((x.end - x.start) / ((x.hi - x.lo) or 1.0)))
    ys = nums(y.start + (proj.xy[:, 1] - y.lo) * ((y.end - y.start) / ((y.hi - y.lo) or 1.0)))
    labels = proj.labels
    for b in bars:
        members = np.flatnonzero(labels == b.segment)
        if not members.size:
            continue
        dots = "".join(f'<circle cx="{xs[i]}" cy="{ys[i]}" r="2.2"/>' for i in members)
        parts.append(f'<g class="points" data-segment="{b.segment}" fill="{segment_color(b.segment)}">{dots}</g>')
    parts.append('<g class="centers">')
    for b in bars:
        if b.segment >= proj.centers.shape[0]:
            continue
        cx, cy = x(proj.centers[b.segment, 0]), y(proj.centers[b.segment, 1])
        d = (f"M{num(cx - 7)} {num(cy - 7)}L{num(cx + 7)} {num(cy + 7)}"
             f"M{num(cx - 7)} {num(cy + 7)}L{num(cx + 7)} {num(cy - 7)}")
        parts.append(f'<path class="center-halo" d="{d}"/><path class="center" data-segment="{b.segment}" '
                     f'd="{d}" stroke="{segment_color(b.segment)}"><title>{esc(b.name)}</title></path>')
    parts.append("</g></g>")
    for i, b in enumerate(bars):
        ly = top + 8 + i * 20
        parts.append(f'<circle class="legend-dot" cx="{num(right + 24)}" cy="{num(ly)}" r="5" '
                     f'fill="{segment_color(b.segment)}"/>'
                     f'<text class="legend" x="{num(right + 34)}" y="{num(ly)}" dominant-baseline="middle">'
                     f'{esc(_short(f"{b.segment} · {b.name}", 22))}<title>{esc(b.name)}</title></text>')
    pc = [format_percent(s, language) for s in proj.explained]
    parts.append(f'<text class="axis-title" x="{num((left + right) / 2)}" y="{num(height - 10)}" '
                 f'text-anchor="middle">{esc(t("html.pc_axis", i=1, share=pc[0]))}</text>')
    parts.append(f'<text class="axis-title" transform="translate(16 {num((top + bottom) / 2)}) rotate(-90)" '
                 f'text-anchor="middle">{esc(t("html.pc_axis", i=2, share=pc[1]))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------ confidence


def confidence_svg(dist: ConfidenceDistribution, bars: list[SegmentBar], t: Label, language: str) -> str:
    """One histogram of the records' confidence per segment, the median marked.

    Each histogram is scaled to its own largest bin.

    Parameters
    ----------
    dist : ConfidenceDistribution
    bars : list of SegmentBar
    t : callable
    language : str

    Returns
    -------
    str
    """
    row, left, right, top = 46.0, 230.0, WIDTH - 24.0, 8.0
    k = len(bars)
    bottom = top + row * k
    height = bottom + 52.0
    x = LinearScale(0.0, 1.0, left, right)
    bins = dist.counts.shape[1] if dist.counts.ndim == 2 else 0
    parts = _open("confidence", height, t("html.confidence_title"), t("html.confidence_desc"))
    parts.append(f'<g class="plot" data-x-min="0" data-x-max="1" data-left="{num(left)}" data-right="{num(right)}" '
                 f'data-bins="{bins}">')
    for j, b in enumerate(bars):
        y0 = top + j * row
        base = y0 + row - 6
        parts.append(f'<text class="bar-label" x="{num(left - 8)}" y="{num(y0 + row / 2)}" text-anchor="end" '
                     f'dominant-baseline="middle">{esc(_short(f"{b.segment} · {b.name}", 30))}'
                     f'<title>{esc(b.name)}</title></text>')
        parts.append(f'<line class="baseline" x1="{num(left)}" x2="{num(right)}" y1="{num(base)}" y2="{num(base)}"/>')
        counts = dist.counts[j] if j < dist.counts.shape[0] else np.zeros(bins, dtype=np.int64)
        peak = int(counts.max()) if counts.size else 0
        for i in range(bins):
            c = int(counts[i])
            if not c:
                continue
            h = (row - 12) * c / peak
            x0, x1 = x(dist.edges[i]), x(dist.edges[i + 1])
            parts.append(f'<rect class="bin" data-segment="{b.segment}" data-bin="{i}" data-count="{c}" '
                         f'x="{num(x0 + 0.5)}" y="{num(base - h)}" width="{num(x1 - x0 - 1)}" height="{num(h)}" '
                         f'fill="{segment_color(b.segment)}"><title>{esc(format_number(dist.edges[i], language))}–'
                         f'{esc(format_number(dist.edges[i + 1], language))}: '
                         f'{esc(format_int(c, language))}</title></rect>')
        q = dist.quartiles[j] if j < len(dist.quartiles) else None
        if q is not None:
            mx = num(x(q[1]))
            parts.append(f'<line class="median" data-segment="{b.segment}" data-median="{q[1]!r}" '
                         f'x1="{mx}" x2="{mx}" y1="{num(y0 + 3)}" y2="{num(base)}"/>')
    parts.append(f'<line class="axis" x1="{num(left)}" x2="{num(right)}" y1="{num(bottom)}" y2="{num(bottom)}"/>')
    _x_ticks(parts, x, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], bottom, language)
    parts.append("</g>")
    parts.append(f'<text class="axis-title" x="{num((left + right) / 2)}" y="{num(height - 8)}" '
                 f'text-anchor="middle">{esc(t("html.confidence_axis"))}</text>')
    parts.append("</svg>")
    return "".join(parts)

"""The report's charts as matplotlib figures for notebooks (extra ``[plots]``).

One function per chart of the HTML report, each drawing on a given Axes (or a new one) and
returning it. They take a fitted :class:`~segengine.Segmenter` or, where the chart needs no
training matrix, a report dict; the numbers are those of `segengine.chart_data`, so a plot and
the HTML page show the same thing. matplotlib is imported only when a function is called.

>>> import segengine as se, segengine.plots as sp
>>> seg = se.Segmenter().fit(se.datasets.load_demo_customers(n=2000)[0])
>>> ax = sp.plot_silhouette(seg)          # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from segengine import chart_data
from segengine.svg import HEATMAP_COLORS, segment_color
from segengine.text.catalog import text
from segengine.text.language import normalize_language

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from segengine.segmenter import Segmenter

__all__ = ["plot_silhouette", "plot_sizes", "plot_profile", "plot_projection", "plot_confidence"]


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "segengine.plots needs matplotlib: pip install 'segengine[plots]'"
        ) from None
    return plt


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=size)
    return ax


def _literal(label: str) -> str:
    r"""A label from the data (field, level or segment name) that matplotlib draws as written.

    Matplotlib reads text between two ``$`` as mathtext, so ``"$5 - $10"`` would be drawn as math
    and ``"spend $ (\x) $"`` would raise when the figure is drawn.
    """
    return label.replace("$", "\\$")


def _report(source: Any, language: str) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    if hasattr(source, "report") and hasattr(source, "labels_"):
        return source.report(language, include_metadata=True)
    raise TypeError(f"expected a fitted Segmenter or a report dict, got {type(source).__name__}")


def plot_silhouette(source: Segmenter | dict, ax: Axes | None = None, *, language: str = "en") -> Axes:
    """Mean silhouette of every k tried, with one-standard-error bars; chosen k and near-ties marked.

    Parameters
    ----------
    source : Segmenter or dict
        A fitted Segmenter or a report with ``metadata``.
    ax : matplotlib Axes, optional
    language : str
        Language of the labels.

    Returns
    -------
    matplotlib Axes
    """
    lang = normalize_language(language)
    curve = chart_data.k_curve(_report(source, lang))
    if curve is None or not curve.ks:
        raise ValueError("the report has no k-selection metadata (use include_metadata=True)")
    ax = _axes(ax, (7, 3.5))
    ax.plot(curve.ks, curve.scores, color="#9aa7b8", zorder=1)
    ax.errorbar(curve.ks, curve.scores, yerr=curve.errors, fmt="o", color="#4e79a7", capsize=4, zorder=2)
    for k, s, e in zip(curve.ks, curve.scores, curve.errors):
        if k in curve.near_ties:
            ax.scatter([k], [s], s=220, facecolors="none", edgecolors="#f28e2b", linestyles="--", zorder=3)
            ax.annotate(text(lang, "html.k_near_tie"), (k, s + e), textcoords="offset points",
                        xytext=(0, 8), ha="center", color="#8a4a00")
        if k == curve.chosen:
            ax.scatter([k], [s], s=110, color="#e15759", edgecolors="white", zorder=4)
            ax.annotate(text(lang, "html.k_chosen"), (k, s + e), textcoords="offset points",
                        xytext=(0, 8), ha="center", color="#b3261e", fontweight="bold")
    ax.set_xticks(curve.ks)
    ax.set_xlabel(text(lang, "html.k_axis_x"))
    ax.set_ylabel(text(lang, "html.k_axis_y"))
    ax.set_title(text(lang, "html.k_title"))
    ax.grid(axis="y", color="#e6e9ee")
    return ax


def plot_sizes(source: Segmenter | dict, ax: Axes | None = None, *, language: str = "en") -> Axes:
    """Records per segment as horizontal bars, labelled with count and share.

    Parameters
    ----------
    source : Segmenter or dict
    ax : matplotlib Axes, optional
    language : str

    Returns
    -------
    matplotlib Axes
    """
    from segengine.text.catalog import format_int, format_percent

    lang = normalize_language(language)
    bars = chart_data.segment_bars(_report(source, lang))
    ax = _axes(ax, (7, 0.5 * len(bars) + 1))
    y = np.arange(len(bars))
    ax.barh(y, [b.size for b in bars], color=[segment_color(b.segment) for b in bars])
    ax.set_yticks(y, [_literal(f"{b.segment} · {b.name}") for b in bars])
    ax.invert_yaxis()
    for i, b in enumerate(bars):
        ax.annotate(f"{format_int(b.size, lang)} ({format_percent(b.share, lang)})", (b.size, i),
                    textcoords="offset points", xytext=(4, 0), va="center", fontsize=9)
    ax.set_xlabel(text(lang, "html.col_size"))
    ax.set_title(text(lang, "html.sizes_title"))
    ax.margins(x=0.18)
    return ax


def plot_profile(source: Segmenter | dict, ax: Axes | None = None, *, language: str = "en",
                 limit: float = 1.5) -> Axes:
    """Heatmap of the effect size of every field (and category level) in every segment.

    Parameters
    ----------
    source : Segmenter or dict
    ax : matplotlib Axes, optional
    language : str
    limit : float
        |effect size| at which the colours saturate.

    Returns
    -------
    matplotlib Axes
    """
    from matplotlib.colors import LinearSegmentedColormap

    lang = normalize_language(language)
    report = _report(source, lang)
    rows = chart_data.profile_rows(report)
    bars = chart_data.segment_bars(report)
    matrix = np.array([[np.nan if e is None else e for e in r.effects] for r in rows],
                      dtype=float).reshape(len(rows), len(bars))
    ax = _axes(ax, (1.1 * len(bars) + 3, 0.32 * len(rows) + 1.5))
    cmap = LinearSegmentedColormap.from_list("segengine_effect", HEATMAP_COLORS).with_extremes(bad="#e0e0e0")
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(np.arange(len(bars)), [_literal(f"{b.segment} · {b.name}") for b in bars], rotation=30, ha="right")
    ax.set_yticks(np.arange(len(rows)), [_literal(r.label) for r in rows])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            if np.isfinite(matrix[i, j]):
                value = round(float(matrix[i, j]), 1) + 0.0  # no "-0.0"
                ax.text(j, i, f"{value:+.1f}" if value else "0", ha="center", va="center", fontsize=8,
                        color="white" if abs(matrix[i, j]) > 0.9 * limit else "#111")
    ax.figure.colorbar(image, ax=ax, label=text(lang, "html.col_effect"), shrink=0.8)
    ax.set_title(text(lang, "html.heatmap_title"))
    return ax


def plot_projection(segmenter: Segmenter, ax: Axes | None = None, *, language: str = "en",
                    max_points: int = chart_data.PROJECTION_MAX_POINTS) -> Axes:
    """The preprocessed records on their first two principal components, coloured by segment.

    Centres are drawn as crosses; the records are a seeded sample of about ``max_points``,
    stratified by segment.

    Parameters
    ----------
    segmenter : Segmenter
        Fitted on records (the projection needs its preprocessed matrix).
    ax : matplotlib Axes, optional
    language : str
    max_points : int

    Returns
    -------
    matplotlib Axes
    """
    from segengine.text.catalog import format_percent

    lang = normalize_language(language)
    if isinstance(segmenter, dict):
        raise TypeError("plot_projection needs the fitted Segmenter (a report holds no preprocessed records)")
    proj = chart_data.projection(segmenter, max_points=max_points)
    ax = _axes(ax, (7, 5))
    report_names = _names(segmenter, lang)
    for j in range(proj.centers.shape[0]):
        pts = proj.xy[proj.labels == j]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, alpha=0.55, color=segment_color(j), linewidths=0,
                   label=_literal(f"{j} · {report_names[j]}"))
    for j in range(proj.centers.shape[0]):
        ax.scatter([proj.centers[j, 0]], [proj.centers[j, 1]], marker="X", s=160, color=segment_color(j),
                   edgecolors="white", linewidths=1.5, zorder=3)
    ax.set_xlabel(text(lang, "html.pc_axis", i=1, share=format_percent(proj.explained[0], lang)))
    ax.set_ylabel(text(lang, "html.pc_axis", i=2, share=format_percent(proj.explained[1], lang)))
    ax.set_title(text(lang, "html.projection_title"))
    ax.legend(loc="best", fontsize=8, markerscale=2)
    return ax


def _names(segmenter: Segmenter, language: str) -> list[str]:
    try:
        return [s["name"] for s in segmenter.report(language, include_metadata=False)["segments"]]
    except Exception:  # noqa: BLE001 - names are decoration; the numbers do not depend on them
        return [str(j) for j in range(int(segmenter.n_clusters_))]


def plot_confidence(source: Segmenter | dict, ax: Axes | None = None, *, language: str = "en") -> Axes:
    """Distribution of the records' confidence in every segment.

    Box plots from the histogram quartiles, whiskers at the lowest and highest non-empty bins.

    Parameters
    ----------
    source : Segmenter or dict
    ax : matplotlib Axes, optional
    language : str

    Returns
    -------
    matplotlib Axes
    """
    lang = normalize_language(language)
    report = _report(source, lang)
    dist = chart_data.confidence_distribution(report)
    bars = chart_data.segment_bars(report)
    stats = []
    for j, b in enumerate(bars):
        q = dist.quartiles[j]
        if q is None:
            continue
        nonzero = np.flatnonzero(dist.counts[j])
        stats.append({"label": _literal(f"{b.segment} · {b.name}"), "q1": q[0], "med": q[1], "q3": q[2],
                      "whislo": float(dist.edges[nonzero[0]]), "whishi": float(dist.edges[nonzero[-1] + 1]),
                      "mean": dist.means[j], "fliers": []})
    if not stats:
        raise ValueError("the report has no per-record results to draw confidences from "
                         "(a model fitted with segengine.dask keeps its records on the cluster)")
    ax = _axes(ax, (7, 0.55 * len(bars) + 1.2))
    try:
        boxes = ax.bxp(stats, orientation="horizontal", patch_artist=True, showmeans=True,
                       medianprops={"color": "#1d2430", "linewidth": 2})
    except TypeError:  # matplotlib < 3.10
        boxes = ax.bxp(stats, vert=False, patch_artist=True, showmeans=True,
                       medianprops={"color": "#1d2430", "linewidth": 2})
    for patch, b in zip(boxes["boxes"], bars):
        patch.set_facecolor(segment_color(b.segment))
        patch.set_alpha(0.8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel(text(lang, "html.confidence_axis"))
    ax.set_title(text(lang, "html.confidence_title"))
    return ax

"""The segmentation report as one self-contained HTML page.

Inline CSS, inline SVG, no script and no external reference, so it opens offline, mails as one
file and prints.

Every chart has its numbers in a table beside it (print, screen readers). The page is a pure
function of the report dict (and, for the projection, the fitted Segmenter): no clock, no
timings, seeded subsampling, so the same input gives the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from segengine import chart_data
from segengine._version import __version__
from segengine.html_style import STYLE
from segengine.svg import esc, segment_color
from segengine.svg_charts import confidence_svg, heatmap_svg, projection_svg, row_value_text, silhouette_svg, sizes_svg
from segengine.text.catalog import MESSAGES, format_int, format_number, format_percent, text
from segengine.text.language import normalize_language

__all__ = ["render_html", "segmenter_html", "write_html"]

# Segment keys the page lays out itself; any other key a report carries (e.g. ``stability``) is
# shown generically among the segment's facts.
_KNOWN_SEGMENT_KEYS = {"segment", "name", "size", "share", "silhouette", "profile", "characteristics", "insights"}
_KNOWN_SUMMARY_KEYS = {"n_records", "n_segments", "algorithm", "silhouette", "features_used", "insights"}


def _labels(language: str) -> Callable[..., str]:
    def t(key: str, **values: Any) -> str:
        return text(language, key, **values)
    return t


def _item_text(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("text", ""))
    return str(item)


def _fact_value(value: Any, language: str) -> str:
    if isinstance(value, bool):
        return text(language, "html.yes" if value else "html.no")
    if isinstance(value, int):
        return format_int(value, language)
    if isinstance(value, float):
        return format_number(value, language)
    if value is None:
        return text(language, "html.no_data")
    if isinstance(value, (list, tuple)):
        return ", ".join(_fact_value(v, language) for v in value)
    return str(value)


def _fact_label(key: str, language: str) -> str:
    return MESSAGES[language].get(f"html.{key}", key)


def _readable(value: Any) -> bool:
    """Whether a value can be shown as one short fact (a scalar, or a list of scalars / texts)."""
    if isinstance(value, (list, tuple)):
        return all(not isinstance(v, (dict, list, tuple)) or (isinstance(v, dict) and "text" in v) for v in value)
    return not isinstance(value, dict)


def _extra_facts(entry: dict[str, Any], known: set[str], language: str) -> list[tuple[str, str]]:
    """Facts for the keys of ``entry`` the page does not lay out itself (e.g. ``stability``)."""
    facts = []
    for key, value in entry.items():
        if key in known:
            continue
        if isinstance(value, dict):
            for sub, v in value.items():
                if _readable(v):
                    facts.append((f"{_fact_label(key, language)} · {sub}", _fact_value(v, language)))
        elif _readable(value):
            if isinstance(value, (list, tuple)):
                value = [_item_text(v) if isinstance(v, dict) else v for v in value]
            facts.append((_fact_label(key, language), _fact_value(value, language)))
    return facts


_NUMERIC_CELL = re.compile(r"^[-+]?[0-9][0-9.,]*( ?%)?( \(.*\))?$")


def _signed_text(x: float, language: str) -> str:
    s = format_number(x, language)
    return "+" + s if x > 0 else s


def _table(caption: str, head: list[str], rows: list[list[str]], *, row_headers: bool = True,
           cls: str = "numbers") -> str:
    out = [f'<div class="table-wrap"><table class="{cls}"><caption>{esc(caption)}</caption><thead><tr>']
    out.extend(f'<th scope="col">{esc(h)}</th>' for h in head)
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            if i == 0 and row_headers:
                out.append(f'<th scope="row">{esc(cell)}</th>')
            elif _NUMERIC_CELL.match(cell):
                out.append(f'<td class="n">{esc(cell)}</td>')
            else:
                out.append(f"<td>{esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure(section_id: str, title: str, svg: str, note: str, table: str, *, stacked: bool = False) -> str:
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    cls = "chart-section stacked" if stacked else "chart-section"
    return (f'<section id="{section_id}" class="{cls}"><h2>{esc(title)}</h2>'
            f'<figure>{svg}<figcaption>{note_html}</figcaption></figure>{table}</section>')


# ------------------------------------------------------------------------------ sections


def _overview(report: dict[str, Any], t: Callable[..., str], language: str) -> str:
    summary = report.get("summary") or {}
    facts = [
        (t("html.records"), format_int(summary.get("n_records", 0), language)),
        (t("html.segments"), str(summary.get("n_segments", len(report.get("segments") or [])))),
        (t("html.algorithm"), str(summary.get("algorithm", "-"))),
        (t("html.silhouette"), format_number(summary.get("silhouette"), language)),
    ] + _extra_facts(summary, _KNOWN_SUMMARY_KEYS, language) + [
        (t("html.features_used"), ", ".join(str(f) for f in summary.get("features_used") or [])),
    ]
    out = [f'<section id="overview"><h2>{esc(t("html.overview"))}</h2><dl class="facts">']
    for label, value in facts:
        out.append(f"<div><dt>{esc(label)}</dt><dd>{esc(value)}</dd></div>")
    out.append("</dl>")
    warnings = (report.get("metadata") or {}).get("warnings") or []
    if warnings:
        out.append(f'<p class="warning-link"><a href="#warnings">{esc(t("html.warnings_title"))} '
                   f'({len(warnings)})</a></p>')
    insights = [_item_text(i) for i in summary.get("insights") or []]
    if insights:
        out.append(f'<h3>{esc(t("html.summary_insights"))}</h3><ul class="key-insights">')
        out.extend(f"<li>{esc(i)}</li>" for i in insights)
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _k_section(curve: chart_data.KCurve, t: Callable[..., str], language: str) -> str:
    note = t("html.k_exact") if curve.exact else t("html.k_sampled", s=format_int(curve.sample_size or 0, language))
    rows = []
    for k, s, e in zip(curve.ks, curve.scores, curve.errors):
        mark = t("html.k_chosen") if k == curve.chosen else (t("html.k_near_tie") if k in curve.near_ties else "")
        rows.append([str(k), format_number(s, language), format_number(e, language), mark])
    table = _table(t("html.chart_table"), [t("html.col_k"), t("html.silhouette"), t("html.col_error"),
                                           t("html.col_note")], rows)
    return _figure("k-selection", t("html.k_title"), silhouette_svg(curve, t, language), note, table)


def _sizes_section(bars: list[chart_data.SegmentBar], t: Callable[..., str], language: str) -> str:
    rows = [[str(b.segment), b.name, format_int(b.size, language), format_percent(b.share, language)] for b in bars]
    table = _table(t("html.chart_table"), [t("html.col_segment"), t("html.col_name"), t("html.col_size"),
                                           t("html.col_share")], rows)
    return _figure("sizes", t("html.sizes_title"), sizes_svg(bars, t, language), "", table)


def _heatmap_section(rows: list[chart_data.ProfileRow], bars: list[chart_data.SegmentBar],
                     t: Callable[..., str], language: str) -> str:
    head = [t("html.col_field"), t("html.col_reference")] + [f"{b.segment} · {b.name}" for b in bars]
    body = []
    for row in rows:
        cells = [row.label, row_value_text(row, row.reference, language)]
        for j in range(len(bars)):
            value, effect = row.values[j], row.effects[j]
            part = row_value_text(row, value, language)
            if effect is not None:
                part += f" ({_signed_text(effect, language)})"
            cells.append(part)
        body.append(cells)
    table = _table(t("html.heatmap_table"), head, body)
    return _figure("profile", t("html.heatmap_title"), heatmap_svg(rows, bars, t, language), "", table,
                   stacked=True)


def _projection_section(proj: chart_data.Projection, bars: list[chart_data.SegmentBar],
                        t: Callable[..., str], language: str) -> str:
    counts = {b.segment: 0 for b in bars}
    for label in proj.labels.tolist():
        counts[label] = counts.get(label, 0) + 1
    rows = []
    for b in bars:
        c = proj.centers[b.segment] if b.segment < proj.centers.shape[0] else (None, None)
        rows.append([f"{b.segment} · {b.name}", format_int(counts.get(b.segment, 0), language),
                     format_number(c[0], language), format_number(c[1], language)])
    head = [t("html.col_segment"), t("html.col_points"),
            t("html.col_center", i=1), t("html.col_center", i=2)]
    table = _table(t("html.chart_table"), head, rows)
    return _figure("projection", t("html.projection_title"), projection_svg(proj, bars, t, language), "", table)


def _confidence_section(dist: chart_data.ConfidenceDistribution, report: dict[str, Any],
                        bars: list[chart_data.SegmentBar], t: Callable[..., str], language: str) -> str:
    segments = report.get("segments") or []
    rows = []
    for j, b in enumerate(bars):
        q = dist.quartiles[j] if j < len(dist.quartiles) else None
        sil = segments[j].get("silhouette") if j < len(segments) else None
        rows.append([f"{b.segment} · {b.name}", format_number(sil, language),
                     format_number(dist.means[j], language) if j < len(dist.means) else "-",
                     *(format_number(v, language) for v in (q or (None, None, None)))])
    head = [t("html.col_segment"), t("html.silhouette"), t("html.col_mean_conf"),
            t("html.col_p25"), t("html.col_median"), t("html.col_p75")]
    table = _table(t("html.chart_table"), head, rows)
    return _figure("confidence", t("html.confidence_title"), confidence_svg(dist, bars, t, language), "", table,
                   stacked=True)


def _segments_section(report: dict[str, Any], t: Callable[..., str], language: str) -> str:
    out = [f'<section id="segments"><h2>{esc(t("html.segments_title"))}</h2><div class="cards">']
    for seg in report.get("segments") or []:
        j = int(seg["segment"])
        out.append(f'<article class="segment" id="segment-{j}" style="border-top-color:{segment_color(j)}">')
        out.append(f'<h3><span class="swatch" style="background:{segment_color(j)}"></span>'
                   f'{j} · {esc(seg.get("name", ""))}</h3><dl class="segment-facts">')
        facts = [
            (t("html.col_size"), format_int(seg.get("size", 0), language)),
            (t("html.col_share"), format_percent(seg.get("share"), language)),
            (t("html.silhouette"), format_number(seg.get("silhouette"), language)),
        ] + _extra_facts(seg, _KNOWN_SEGMENT_KEYS, language)
        out.extend(f"<div><dt>{esc(a)}</dt><dd>{esc(b)}</dd></div>" for a, b in facts)
        out.append("</dl>")
        chars = [_item_text(c) for c in seg.get("characteristics") or []]
        if chars:
            out.append(f'<h4>{esc(t("html.characteristics"))}</h4><ul>')
            out.extend(f"<li>{esc(c)}</li>" for c in chars)
            out.append("</ul>")
        insights = seg.get("insights") or []
        if insights:
            out.append(f'<h4>{esc(t("html.insights"))}</h4><ul class="insights">')
            for ins in insights:
                priority = ins.get("priority") if isinstance(ins, dict) else None
                badge = ""
                if priority in ("high", "medium", "low"):
                    badge = f'<span class="badge {priority}">{esc(t("html.priority." + priority))}</span> '
                out.append(f"<li>{badge}{esc(_item_text(ins))}</li>")
            out.append("</ul>")
        out.append("</article>")
    out.append("</div></section>")
    return "".join(out)


def _fields_section(metadata: dict[str, Any], t: Callable[..., str], language: str) -> str:
    pre = [p for p in metadata.get("preprocessing") or [] if isinstance(p, dict)]
    if not pre:
        return ""
    roles = metadata.get("roles") if isinstance(metadata.get("roles"), dict) else {}
    with_roles = bool(roles) or any("role" in p for p in pre)
    rows = []
    for p in pre:
        kind = str(p.get("kind", ""))
        kind_text = MESSAGES[language].get(f"html.kind.{kind}", kind)
        used = t("html.yes") if p.get("used") else t("html.no") + (f" ({p['reason']})" if p.get("reason") else "")
        row = [str(p.get("field")), kind_text, used, t("html.log1p") if p.get("log1p") else "-"]
        if with_roles:
            role = p.get("role", roles.get(p.get("field")))
            if isinstance(role, dict):
                role = role.get("role")
            row.append(_fact_value(role, language) if role not in (None, "none") else "-")
        rows.append(row)
    head = [t("html.col_field"), t("html.col_kind"), t("html.col_used"), t("html.col_transform")]
    if with_roles:
        head.append(t("html.col_role"))
    table = _table(t("html.fields_title"), head, rows)
    return f'<section id="fields"><h2>{esc(t("html.fields_title"))}</h2>{table}</section>'


def _warnings_section(metadata: dict[str, Any], t: Callable[..., str]) -> str:
    warnings = [str(w) for w in metadata.get("warnings") or []]
    body = ("<ul class=\"warnings\">" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
            if warnings else f'<p>{esc(t("html.no_warnings"))}</p>')
    return f'<section id="warnings"><h2>{esc(t("html.warnings_title"))}</h2>{body}</section>'


# ------------------------------------------------------------------------------ the page


def render_html(report: dict[str, Any], segmenter: Any = None, *,
                language: str = "en") -> str:
    """The whole report as one HTML page.

    Parameters
    ----------
    report : dict
        A segmentation report (``Segmenter.report()`` or ``segmentation_report``); with
        ``metadata`` the page also shows the k selection, the fields and the warnings.
    segmenter : Segmenter, optional
        The fitted Segmenter the report came from; needed for the projection of the records
        (without it that chart is left out).
    language : str
        Language of the headings and labels ("en", "es", "pt"); the report's own sentences are
        in the language it was made in.

    Returns
    -------
    str
        The page (UTF-8 text).
    """
    lang = normalize_language(language)
    t = _labels(lang)
    metadata = report.get("metadata") or {}
    summary = report.get("summary") or {}
    bars = chart_data.segment_bars(report)
    sections: list[tuple[str, str, str]] = [("overview", t("html.overview"), _overview(report, t, lang))]
    curve = chart_data.k_curve(report)
    if bars:
        # Marketers first (who the segments are, where they lie, how they differ), then the
        # evidence behind the segmentation (confidence, the choice of k).
        sections.append(("sizes", t("html.sizes_title"), _sizes_section(bars, t, lang)))
        if segmenter is not None and getattr(segmenter, "X_", None) is not None \
                and len(segmenter.labels_) == summary.get("n_records", len(segmenter.labels_)):
            proj = chart_data.projection(segmenter)
            sections.append(("projection", t("html.projection_title"), _projection_section(proj, bars, t, lang)))
        rows = chart_data.profile_rows(report)
        if rows:
            sections.append(("profile", t("html.heatmap_title"), _heatmap_section(rows, bars, t, lang)))
        sections.append(("segments", t("html.segments_title"), _segments_section(report, t, lang)))
        if report.get("results"):
            dist = chart_data.confidence_distribution(report)
            sections.append(("confidence", t("html.confidence_title"),
                             _confidence_section(dist, report, bars, t, lang)))
    if curve is not None and curve.ks:
        sections.append(("k-selection", t("html.k_title"), _k_section(curve, t, lang)))
    if metadata:
        fields = _fields_section(metadata, t, lang)
        if fields:
            sections.append(("fields", t("html.fields_title"), fields))
        sections.append(("warnings", t("html.warnings_title"), _warnings_section(metadata, t)))
    version = metadata.get("model_version", __version__)
    subtitle = t("html.subtitle", n=format_int(summary.get("n_records", 0), lang),
                 k=format_int(summary.get("n_segments", len(bars)), lang))
    nav = "".join(f'<li><a href="#{sid}">{esc(title)}</a></li>' for sid, title, _ in sections)
    return "".join([
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="segengine {esc(version)}">'
        f"<title>{esc(t('html.title'))}</title><style>{STYLE}</style></head><body>",
        f'<header><h1>{esc(t("html.title"))}</h1><p class="subtitle">{esc(subtitle)}</p></header>',
        f'<nav aria-label="{esc(t("html.contents"))}"><ul>{nav}</ul></nav><main>',
        "".join(body for _, _, body in sections),
        f'</main><footer><p>{esc(t("html.footer", version=version))}</p></footer></body></html>\n',
    ])


def segmenter_html(seg: Any, language: str = "en") -> str:
    """The HTML page of a fitted Segmenter's report in ``language``.

    Parameters
    ----------
    seg : Segmenter
        Fitted on records.
    language : str

    Returns
    -------
    str
    """
    lang = normalize_language(language)
    return render_html(seg.report(lang, include_metadata=True), seg, language=lang)


def write_html(path: str | os.PathLike, page: str) -> None:
    """Write ``page`` to ``path`` atomically (:func:`segengine.files.write_output`).

    A temporary file in the same folder, then renamed; an existing file keeps its mode.

    Parameters
    ----------
    path : path-like
    page : str

    Raises
    ------
    OSError
        The folder does not exist or is not writable (nothing is left behind).
    """
    from segengine.files import write_output

    write_output(path, page)

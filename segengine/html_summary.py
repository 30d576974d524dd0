"""A compact HTML summary of a Segmenter for Jupyter (``Segmenter._repr_html_``).

Inline styles only (notebook front ends may drop ``<style>`` blocks of untrusted output).
"""

from __future__ import annotations

from typing import Any

from segengine.svg import esc, segment_color
from segengine.text.catalog import format_int, format_number, format_percent

__all__ = ["summary_html"]


def _item_text(item: object) -> str:
    return str(item.get("text", "")) if isinstance(item, dict) else str(item)


def summary_html(seg: Any) -> str:
    """A compact HTML summary of a Segmenter for Jupyter (``_repr_html_``): never raises.

    Parameters
    ----------
    seg : Segmenter

    Returns
    -------
    str
    """
    head = f"<code>{esc(repr(seg))}</code>"
    if not hasattr(seg, "labels_"):
        return f'<div class="segengine-summary">{head}<p>not fitted</p></div>'
    try:
        k = int(seg.n_clusters_)
        scores = " ".join(
            (f"<b>{key}={format_number(v, 'en')}</b>" if key == k else f"{key}={format_number(v, 'en')}")
            for key, v in sorted(seg.silhouette_scores_.items())
        )
        rows = []
        if hasattr(seg, "table_"):
            report = seg.report("en", include_metadata=False)
            segments = report["segments"]
            for s in segments:
                top = _item_text((s.get("characteristics") or [""])[0]) if s.get("characteristics") else ""
                rows.append((int(s["segment"]), str(s["name"]), int(s["size"]), float(s["share"] or 0.0),
                             format_number(s.get("silhouette"), "en"), top))
        else:
            for j, w in enumerate(seg.weights_.tolist()):
                rows.append((j, f"segment {j}", None, float(w), "-", ""))
        cell = 'style="padding:2px 8px;text-align:left;border-bottom:1px solid #ddd"'
        table = ['<table style="border-collapse:collapse;font-size:12px"><thead><tr>'
                 + "".join(f"<th {cell}>{h}</th>"
                           for h in ("", "segment", "records", "share", "silhouette", "top characteristic"))
                 + "</tr></thead><tbody>"]
        for j, name, size, share, sil, top in rows:
            bar = (f'<span style="display:inline-block;width:{round(80 * share)}px;height:8px;'
                   f'background:{segment_color(j)};margin-right:4px"></span>')
            table.append(
                f"<tr><td {cell}><span style=\"display:inline-block;width:10px;height:10px;"
                f"background:{segment_color(j)}\"></span></td>"
                f"<td {cell}>{j} · {esc(name)}</td><td {cell}>{'-' if size is None else format_int(size, 'en')}</td>"
                f"<td {cell}>{bar}{format_percent(share, 'en')}</td><td {cell}>{sil}</td>"
                f"<td {cell}>{esc(top)}</td></tr>"
            )
        table.append("</tbody></table>")
        title = f"<p><b>{k} segments</b> ({esc(seg.algorithm_)}); silhouette by k: {scores}</p>"
        return f'<div class="segengine-summary">{head}{title}{"".join(table)}</div>'
    except Exception as exc:  # noqa: BLE001 - a notebook display must never fail
        return f'<div class="segengine-summary">{head}<p>{esc(type(exc).__name__)}: {esc(exc)}</p></div>'

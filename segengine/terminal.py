"""What the command line prints on a terminal: the report summary, progress lines, the warm-up table.

Every heading comes from the one catalogue system (``term.`` keys of
:data:`segengine.text.catalog.MESSAGES`) and every number from its formatters, so the terminal, the
HTML page and the report write numbers the same way. The terminal keeps its own layout of shares
(``32.2%`` / ``32,2 %``: one decimal, a space before the sign in es and pt) through the
``term.percent`` template.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from segengine.text.catalog import format_fixed, format_int, text
from segengine.text.language import LANGUAGES

__all__ = [
    "PROG",
    "WIDTH",
    "format_options",
    "format_summary",
    "format_warmup",
    "label",
    "progress",
    "use_color",
    "written_line",
]

PROG = "segengine"
WIDTH = 100


def label(language: str, key: str, **values: Any) -> str:
    """The terminal message ``term.<key>`` in ``language`` (English for an unknown language).

    Parameters
    ----------
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    key : str
        The key without its ``term.`` prefix (``"written"``, ``"reading"``).
    **values
        Placeholder values, already formatted.

    Returns
    -------
    str
        The sentence or heading.
    """
    return text(language if language in LANGUAGES else "en", f"term.{key}", **values)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def count_text(value: Any, language: str) -> str:
    """A count with locale grouping (``12,345`` / ``12.345``); anything else as given (``?``).

    Parameters
    ----------
    value : object
        The count (a float is truncated like ``int()``).
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
    """
    if not _is_number(value):
        return str(value)
    return format_int(int(value), language if language in LANGUAGES else "en")


def _decimal(value: Any, digits: int, language: str) -> str:
    if not _is_number(value):
        return "-" if value is None else str(value)
    return format_fixed(value, digits, language if language in LANGUAGES else "en")


def _share(share: Any, language: str) -> str:
    if not _is_number(share):
        return "-"
    return label(language, "percent", value=_decimal(100.0 * share, 1, language))


def progress(line: str) -> None:
    """Print one progress line (``segengine: ...``) on stderr.

    Parameters
    ----------
    line : str
        The message, already localized.
    """
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


def written_line(path: str, report: Any, language: str, n_default: Any = "?") -> str:
    """The confirmation line: ``Report written to PATH (N records, K segments).``.

    Parameters
    ----------
    path : str
        Where the report (or page) was written.
    report : mapping
        The response body; its ``summary`` gives the counts.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    n_default : object
        The record count to show when the summary has none.

    Returns
    -------
    str
    """
    summary = (report.get("summary") or {}) if isinstance(report, Mapping) else {}
    return label(language, "written", path=path,
                 n=count_text(summary.get("n_records", n_default), language),
                 k=summary.get("n_segments", "?"))


def use_color(stream: TextIO | None) -> bool:
    """Whether to print bold headings on ``stream``: a terminal, and ``NO_COLOR`` unset.

    Parameters
    ----------
    stream : file object or None

    Returns
    -------
    bool
    """
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _texts(items: Any) -> list[str]:
    """Text of characteristics/insights, which are dicts with "text" (or plain strings)."""
    out = []
    for item in items or []:
        if isinstance(item, Mapping):
            sentence = item.get("text")
            if sentence:
                out.append(str(sentence))
        elif item is not None:
            out.append(str(item))
    return out


class _Style:
    """Bold headings on a terminal; plain text when piped or when NO_COLOR is set."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bold(self, line: str) -> str:
        return f"\033[1m{line}\033[0m" if self.enabled else line


def _bullets(lines: Sequence[str], indent: int, width: int, marker: str = "- ") -> list[str]:
    out = []
    for line in lines:
        out.extend(
            textwrap.wrap(
                line,
                width=width,
                initial_indent=" " * indent + marker,
                subsequent_indent=" " * (indent + len(marker)),
                break_on_hyphens=False,
            )
            or [" " * indent + marker.rstrip()]
        )
    return out


def _k_order(k: Any) -> tuple[int, Any]:
    # JSON object keys are strings: "10" must follow "9", not "1".
    try:
        return (0, int(k))
    except (TypeError, ValueError):
        return (1, str(k))


def format_summary(
    report: Mapping[str, Any],
    language: str = "en",
    *,
    source: str | None = None,
    color: bool = False,
    width: int = WIDTH,
) -> str:
    """Render a report (the contract's response body) as a plain-text terminal summary.

    Parameters
    ----------
    report : mapping
        The response of ``segmentation_report`` (``summary``, ``segments``, ``metadata``).
    language : {"en", "es", "pt"}, default="en"
        Language of the headings and number format.
    source : str, optional
        What was segmented (a file name), shown under the title.
    color : bool, default=False
        Bold headings with ANSI codes (only for a terminal).
    width : int, default=100
        Maximum line width.

    Returns
    -------
    str
        The summary, lines at most ``width`` characters (plus ANSI codes when ``color``).
    """
    if language not in LANGUAGES:
        language = "en"

    def msg(key: str) -> str:
        return label(language, key)

    style = _Style(color)
    summary = report.get("summary") or {}
    segments = report.get("segments") or []
    metadata = report.get("metadata") or {}
    lines: list[str] = []

    lines.append(style.bold(msg("title")))
    lines.append("=" * len(msg("title")))

    rows: list[tuple[str, str]] = []
    if source:
        rows.append((msg("source"), source))
    rows.append((msg("records"), count_text(summary.get("n_records", len(report.get("results") or [])), language)))
    rows.append((msg("segments"), count_text(summary.get("n_segments", len(segments)), language)))
    rows.append((msg("algorithm"), str(summary.get("algorithm", "-"))))
    rows.append((msg("silhouette"), _decimal(summary.get("silhouette"), 3, language)))
    features = summary.get("features_used")
    if features:
        rows.append((msg("features"), ", ".join(str(f) for f in features)))
    k_selection = metadata.get("k_selection") or {}
    scores = k_selection.get("scores") or {}
    if scores:
        chosen = str(k_selection.get("chosen", ""))
        parts = [
            f"{k}={_decimal(v, 3, language)}{'*' if str(k) == chosen else ''}"
            for k, v in sorted(scores.items(), key=lambda kv: _k_order(kv[0]))
        ]
        method = k_selection.get("method")
        suffix = f" ({method})" if method else ""
        rows.append((msg("k_selection") + suffix, "  ".join(parts)))
    label_width = max(len(name) for name, _ in rows) + 2
    value_width = max(20, width - label_width)
    for name, value in rows:
        wrapped = textwrap.wrap(value, width=value_width, break_on_hyphens=False) or [""]
        lines.append(f"{name:<{label_width}}{wrapped[0]}")
        lines.extend(" " * label_width + more for more in wrapped[1:])

    size_width = max((len(count_text(s.get("size", 0), language)) for s in segments), default=1)
    for seg in segments:
        lines.append("")
        index = seg.get("segment", "?")
        name = str(seg.get("name", ""))
        head = f"{msg('segment')} {index}: {name}"
        lines.extend(
            style.bold(part)
            for part in textwrap.wrap(head, width=width, subsequent_indent="    ")
        )
        stats = (
            f"    {count_text(seg.get('size', 0), language):>{size_width}} {msg('records_unit')}"
            f"  ({_share(seg.get('share'), language)})"
        )
        if isinstance(seg.get("silhouette"), (int, float)):
            stats += f"  {msg('silhouette').lower()} {_decimal(seg['silhouette'], 2, language)}"
        lines.append(stats)
        characteristics = _texts(seg.get("characteristics"))[:3]
        if characteristics:
            lines.append(f"    {msg('characteristics')}:")
            lines.extend(_bullets(characteristics, 6, width))
        insights = _texts(seg.get("insights"))
        if insights:
            lines.append(f"    {msg('insights')}:")
            lines.extend(_bullets(insights, 6, width))

    summary_insights = _texts(summary.get("insights"))
    if summary_insights:
        lines.append("")
        lines.append(style.bold(msg("summary_insights")))
        lines.extend(_bullets(summary_insights, 2, width))

    warnings = [str(w) for w in metadata.get("warnings") or []]
    if warnings:
        lines.append("")
        lines.append(style.bold(msg("warnings")))
        lines.extend(_bullets(warnings, 2, width))

    elapsed = metadata.get("processing_time_ms")
    if elapsed is not None:
        lines.append("")
        lines.append(f"{msg('time')}: {count_text(round(elapsed), language)} ms")
    return "\n".join(lines) + "\n"


def format_warmup(sizes: Sequence[int], timings_ms: Sequence[float], total_s: float, language: str) -> str:
    """The table ``segengine warmup`` prints: one line per report run and the total.

    Parameters
    ----------
    sizes : sequence of int
        Records of each run (the first compiles or loads the kernels).
    timings_ms : sequence of float
        Milliseconds of each run.
    total_s : float
        Seconds of the whole warm-up.
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.

    Returns
    -------
    str
        The lines, each ending with a newline.
    """
    lines = [label(language, "warmup_title")]
    notes = [label(language, "warmup_first"), "", label(language, "warmup_warm")]
    labels = [label(language, "warmup_run", n=count_text(n, language)) for n in sizes]
    label_width = max(len(name) for name in labels) + 2
    for name, ms, note in zip(labels, timings_ms, notes):
        tail = f"  ({note})" if note else ""
        lines.append(f"  {name:<{label_width}}{count_text(round(ms), language):>8} ms{tail}")
    lines.append(f"{label(language, 'warmup_total')}: {_decimal(total_s, 2, language)} s")
    return "\n".join(lines) + "\n"


def format_options(language: str = "en", width: int = WIDTH) -> str:
    """The option table (:data:`segengine.options.OPTIONS`) as ``segengine options`` prints it.

    Each option with its camelCase spelling, its default and its help sentence.

    Parameters
    ----------
    language : str
        ``"en"``, ``"es"`` or ``"pt"``.
    width : int
        Maximum line width.

    Returns
    -------
    str
        The lines, each ending with a newline.
    """
    import json

    from segengine.options import OPTIONS, camel_case

    language = language if language in LANGUAGES else "en"
    lines = []
    for option in OPTIONS:
        default = list(option.default) if isinstance(option.default, tuple) else option.default
        spelling = camel_case(option.name)
        names = option.name if spelling == option.name else f"{option.name} / {spelling}"
        lines.append(f"{names}  (default: {json.dumps(default)})")
        lines.extend(textwrap.wrap(text(language, option.help_key), width=width, initial_indent="    ",
                                   subsequent_indent="    ", break_on_hyphens=False))
    return "\n".join(lines) + "\n"

"""The ``segengine`` command line: a report on a CSV/JSON file or on the embedded demo data.

::

    segengine demo   [--language {en,es,pt}] [--n N] [--options JSON] [--json] [--output FILE] [--html FILE]
    segengine report FILE.csv|FILE.json [--language es] [--options JSON] [--json] [--output FILE] [--html FILE]
    segengine warmup

The engine (``segengine.api``) is imported only inside the commands, so ``--help`` and argument
errors answer at once. Every failure a user can cause (a missing or malformed file, bad
``--options``, data the engine rejects) ends with ``segengine: error: ...`` on stderr and exit
status 1, never with a traceback; argparse usage errors keep their conventional status 2.
Set ``SEGENGINE_DEBUG=1`` to see the traceback of an unexpected internal failure.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import math
import os
import re
import sys
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from segengine.errors import SegEngineError

__all__ = ["main", "read_records_file", "parse_csv_cell", "format_summary"]

PROG = "segengine"
LANGUAGES = ("en", "es", "pt")
WIDTH = 100
# Above this many records the commands report progress on stderr.
PROGRESS_MIN_RECORDS = 50_000
# Files larger than this announce "reading..." before their record count is known
# (about 50,000 records of a 10-field table).
PROGRESS_MIN_BYTES = 4_000_000

# Headings of the terminal summary and the command's own messages. Report text itself
# (names, characteristics, insights) is already localized by the engine.
_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Segmentation report",
        "source": "Source",
        "demo_source": "demo customers",
        "records": "Records",
        "segments": "Segments found",
        "algorithm": "Algorithm",
        "silhouette": "Silhouette",
        "features": "Features used",
        "k_selection": "k selection",
        "segment": "Segment",
        "records_unit": "records",
        "characteristics": "Characteristics",
        "insights": "Insights",
        "summary_insights": "Key insights",
        "warnings": "Warnings",
        "time": "Processing time",
        "written": "Report written to {path} ({n} records, {k} segments).",
        "reading": "reading {path}...",
        "read": "read {n} records in {ms} ms",
        "generating": "generating {n} demo customers...",
        "segmenting": "segmenting {n} records...",
        "done": "done in {ms} ms",
        "compiling": "compiling kernels, first run only...",
        "warmup_title": "Warm-up: numba kernels compiled or loaded from the cache",
        "warmup_run": "report on {n} records",
        "warmup_first": "first call",
        "warmup_warm": "warm",
        "warmup_total": "Total",
    },
    "es": {
        "title": "Informe de segmentación",
        "source": "Origen",
        "demo_source": "clientes de demostración",
        "records": "Registros",
        "segments": "Segmentos encontrados",
        "algorithm": "Algoritmo",
        "silhouette": "Silueta",
        "features": "Variables usadas",
        "k_selection": "Selección de k",
        "segment": "Segmento",
        "records_unit": "registros",
        "characteristics": "Características",
        "insights": "Recomendaciones",
        "summary_insights": "Conclusiones principales",
        "warnings": "Advertencias",
        "time": "Tiempo de procesamiento",
        "written": "Informe guardado en {path} ({n} registros, {k} segmentos).",
        "reading": "leyendo {path}...",
        "read": "{n} registros leídos en {ms} ms",
        "generating": "generando {n} clientes de demostración...",
        "segmenting": "segmentando {n} registros...",
        "done": "terminado en {ms} ms",
        "compiling": "compilando los núcleos, solo la primera vez...",
        "warmup_title": "Preparación: núcleos numba compilados o cargados de la caché",
        "warmup_run": "informe de {n} registros",
        "warmup_first": "primera llamada",
        "warmup_warm": "en caliente",
        "warmup_total": "Total",
    },
    "pt": {
        "title": "Relatório de segmentação",
        "source": "Origem",
        "demo_source": "clientes de demonstração",
        "records": "Registros",
        "segments": "Segmentos encontrados",
        "algorithm": "Algoritmo",
        "silhouette": "Silhueta",
        "features": "Variáveis usadas",
        "k_selection": "Seleção de k",
        "segment": "Segmento",
        "records_unit": "registros",
        "characteristics": "Características",
        "insights": "Recomendações",
        "summary_insights": "Principais conclusões",
        "warnings": "Avisos",
        "time": "Tempo de processamento",
        "written": "Relatório salvo em {path} ({n} registros, {k} segmentos).",
        "reading": "lendo {path}...",
        "read": "{n} registros lidos em {ms} ms",
        "generating": "gerando {n} clientes de demonstração...",
        "segmenting": "segmentando {n} registros...",
        "done": "concluído em {ms} ms",
        "compiling": "compilando os núcleos, só na primeira execução...",
        "warmup_title": "Aquecimento: núcleos numba compilados ou carregados do cache",
        "warmup_run": "relatório de {n} registros",
        "warmup_first": "primeira chamada",
        "warmup_warm": "aquecido",
        "warmup_total": "Total",
    },
}


class CLIError(Exception):
    """A failure the user can fix; rendered as one ``segengine: error:`` line, exit status 1."""


# ------------------------------------------------------------------------------ number format


def _fmt_int(value: Any, language: str) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return str(value)
    text = f"{int(value):,}"
    return text.replace(",", ".") if language in ("es", "pt") else text


def _fmt_float(value: Any, digits: int, language: str) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-" if value is None else str(value)
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language in ("es", "pt") else text


def _fmt_share(share: Any, language: str) -> str:
    if not isinstance(share, (int, float)) or isinstance(share, bool):
        return "-"
    text = _fmt_float(100.0 * share, 1, language)
    # Spanish and Portuguese typography put a space before the percent sign.
    return f"{text} %" if language in ("es", "pt") else f"{text}%"


# ------------------------------------------------------------------------------ reading input

def parse_csv_cell(text: str) -> Any:
    """Convert one CSV cell to the JSON value it stands for.

    Parameters
    ----------
    text : str
        The raw cell text.

    Returns
    -------
    int, float, bool, str or None
        ``None`` for an empty (or blank) cell; ``True``/``False`` for "true"/"false" in any case;
        an int or a float when the text is a finite number in plain decimal notation (blanks
        around it allowed); otherwise the text itself ("nan", "inf", "1_000", "0x10" stay text).
        Integers written with leading zeros ("007", "01234") stay strings, as they are codes
        (ids, postal codes) whose zeros matter.
    """
    # float() first: one C call settles most cells of a numeric table, and this runs for
    # every cell, millions of times on a large file.
    try:
        value = float(text)
    except ValueError:
        stripped = text.strip()
        if not stripped:
            return None
        lowered = stripped.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        return text
    # float() also reads "nan", "inf", "1_000" and non-ASCII digits: not plain numbers.
    if not math.isfinite(value) or "_" in text or not text.isascii():
        return text
    stripped = text.strip()
    digits = stripped[1:] if stripped[0] in "+-" else stripped
    if digits.isdigit():
        if len(digits) > 1 and digits[0] == "0":
            return text
        return int(stripped)
    return value


def _sniff_delimiter(header_line: str) -> str:
    """Choose the delimiter from the header: the most frequent of , ; tab | outside quotes."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: outside.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _os_error(path: str, exc: OSError) -> CLIError:
    if isinstance(exc, FileNotFoundError):
        return CLIError(f"cannot read '{path}': no such file")
    if isinstance(exc, IsADirectoryError):
        return CLIError(f"cannot read '{path}': it is a directory")
    if isinstance(exc, PermissionError):
        return CLIError(f"cannot read '{path}': permission denied")
    return CLIError(f"cannot read '{path}': {exc.strerror or exc}")


def _decode_error(path: str, exc: UnicodeDecodeError) -> CLIError:
    return CLIError(f"cannot read '{path}': not UTF-8 text (byte {exc.start}); save it as UTF-8")


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except OSError as exc:
        raise _os_error(path, exc) from None


def _read_csv(path: str) -> list[dict[str, Any]]:
    # Streamed rather than read whole: a 250,000-row file would otherwise sit in memory twice.
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
            handle.seek(0)
            return _parse_csv_rows(path, handle, _sniff_delimiter(first_line))
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except OSError as exc:
        raise _os_error(path, exc) from None


def _parse_csv_rows(path: str, handle: TextIO, delimiter: str) -> list[dict[str, Any]]:
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise CLIError(f"invalid CSV in '{path}': the file is empty")
        names = [name.strip() for name in header]
        if any(not name for name in names):
            column = names.index("") + 1
            raise CLIError(f"invalid CSV in '{path}': column {column} of the header has no name")
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise CLIError(f"invalid CSV in '{path}': the header repeats the column '{name}'")
            seen.add(name)
        width = len(names)
        records: list[dict[str, Any]] = []
        chunk: list[list[str]] = []
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                raise CLIError(
                    f"invalid CSV in '{path}': line {reader.line_num} has {len(row)} cells, "
                    f"the header has {width}"
                )
            chunk.append(row)
            if len(chunk) == _CSV_CHUNK_ROWS:
                _convert_chunk(names, chunk, records)
                chunk = []
        _convert_chunk(names, chunk, records)
    except csv.Error as exc:
        raise CLIError(f"invalid CSV in '{path}': line {reader.line_num}: {exc}") from None
    return records


# Rows converted together: large enough for the column fast path to pay, small enough that
# the raw strings of only one chunk are alive beside the converted records.
_CSV_CHUNK_ROWS = 8192
_LEADING_ZERO = re.compile(r"(?:^|\x00)\s*[+-]?0\d")


def _convert_column(cells: tuple[str, ...]) -> list[Any]:
    """``[parse_csv_cell(c) for c in cells]``, with a shortcut for all-number columns."""
    joined = "\x00".join(cells)
    if joined.isascii() and "_" not in joined:
        try:
            values = list(map(float, cells))
        except ValueError:
            values = None
        if values is not None and all(map(math.isfinite, values)):
            if not any(ch in joined for ch in ".eE"):
                # every cell is an integer literal; codes with leading zeros stay text
                if not _LEADING_ZERO.search(joined):
                    return list(map(int, cells))
            elif joined.count(".") == len(cells):
                # a float literal holds at most one ".", so every cell has exactly one: all
                # are decimal fractions, which parse_csv_cell would also return as floats
                return values
    return list(map(parse_csv_cell, cells))


def _convert_chunk(names: list[str], chunk: list[list[str]], out: list[dict[str, Any]]) -> None:
    if not chunk:
        return
    columns = [_convert_column(column) for column in zip(*chunk)]
    out.extend(dict(zip(names, values)) for values in zip(*columns))


def _read_json(path: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"invalid JSON in '{path}': {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise CLIError(f"invalid JSON in '{path}': nested too deeply") from None


def read_records_file(path: str) -> dict[str, Any]:
    """Read a ``.csv`` or ``.json`` file into a request body of the report contract.

    Parameters
    ----------
    path : str
        A ``.json`` file holding either a request body (an object with ``data``) or a bare
        array of records, or a ``.csv`` file with a header row (delimiter , ; tab or |,
        guessed from the header; cells converted by :func:`parse_csv_cell`).

    Returns
    -------
    dict
        A request body ``{"data": [...], ...}``; the file's own ``options`` are kept.

    Raises
    ------
    CLIError
        The file is missing, unreadable, not UTF-8, malformed, or of another type.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".csv", ".json"):
        shown = f"'{extension}'" if extension else "no extension"
        raise CLIError(f"cannot read '{path}': unsupported file type ({shown}); use .csv or .json")
    if extension == ".csv":
        return {"data": _read_csv(path)}
    body = _read_json(path, _read_text(path))
    if isinstance(body, list):
        return {"data": body}
    if isinstance(body, dict) and "data" in body:
        return dict(body)
    raise CLIError(
        f"invalid input in '{path}': expected an array of records or an object with a "
        f"'data' array, found {_json_type(body)}"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "an object without 'data'"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _parse_options(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(
            f"--options is not valid JSON: {exc.msg} (column {exc.colno}); "
            """example: --options '{"k_max": 8}'"""
        ) from None
    if not isinstance(options, dict):
        raise CLIError(
            f"--options must be a JSON object, found {_json_type(options)}; "
            """example: --options '{"k_max": 8}'"""
        )
    return options


def _build_payload(body: dict[str, Any], options: dict[str, Any] | None) -> dict[str, Any]:
    """Merge ``--options`` over the file's options and ask for metadata (time, k scores)."""
    payload = dict(body)
    if options is not None:
        file_options = payload.get("options")
        if file_options is None:
            file_options = {}
        if not isinstance(file_options, Mapping):
            raise CLIError("the file's 'options' must be an object to merge --options into it")
        payload["options"] = {**file_options, **options}
    # The contract accepts both spellings; keep one so they cannot disagree.
    payload.pop("includeMetadata", None)
    payload["include_metadata"] = True
    return payload


# ------------------------------------------------------------------------------ running the engine


def _engine() -> Any:
    # Lazy: importing the engine pulls numba and loads kernels; --help must stay instant.
    return importlib.import_module("segengine.api")


def _note_compiling(msg: dict[str, str]) -> None:
    """One line on stderr when this run compiles the kernels (numba's cache has none yet)."""
    from segengine.kernel_cache import kernels_need_compiling

    if kernels_need_compiling():
        _progress(msg["compiling"])


def _run_report(payload: dict[str, Any], language: str, progress: bool, msg: dict[str, str]) -> Any:
    _note_compiling(msg)
    n = len(payload["data"]) if isinstance(payload.get("data"), list) else 0
    if progress:
        _progress(msg["segmenting"].format(n=_fmt_int(n, "en")))
    start = time.perf_counter()
    report = _engine().segmentation_report(payload, language=language)
    if progress:
        _progress(msg["done"].format(ms=_fmt_int(round(1000 * (time.perf_counter() - start)), "en")))
    return report


def _run_report_html(payload: dict[str, Any], args: argparse.Namespace, progress: bool, msg: dict[str, str]) -> Any:
    """Like _run_report, and also write the HTML page (it needs the fitted model, not only the body)."""
    from segengine.html_report import fit_and_report, render_html

    _note_compiling(msg)
    n = len(payload["data"]) if isinstance(payload.get("data"), list) else 0
    if progress:
        _progress(msg["segmenting"].format(n=_fmt_int(n, "en")))
    start = time.perf_counter()
    report, segmenter = fit_and_report(payload, language=args.language)
    _write_atomic(args.html, render_html(report, segmenter, language=args.language))
    summary = report.get("summary") or {}
    # On stderr: stdout keeps the summary or the JSON body exactly as without --html.
    print(msg["written"].format(path=args.html, n=_fmt_int(summary.get("n_records", n), args.language),
                                k=summary.get("n_segments", "?")), file=sys.stderr)
    if progress:
        _progress(msg["done"].format(ms=_fmt_int(round(1000 * (time.perf_counter() - start)), "en")))
    return report


def _progress(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ output


def _finite(value: Any) -> Any:
    """Replace non-finite floats by None so that the output stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _dump_json(report: Any) -> str:
    try:
        return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(report), ensure_ascii=False, indent=2, allow_nan=False)


def _write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"cannot write '{path}': the directory '{directory}' does not exist")
    if os.path.isdir(path):
        raise CLIError(f"cannot write '{path}': it is a directory")
    tmp_path = None
    try:
        fd, tmp_path = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
        )
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the report the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
        tmp_path = None
    except OSError as exc:
        raise CLIError(f"cannot write '{path}': {exc.strerror or exc}") from None
    finally:
        if tmp_path is not None and os.path.exists(tmp_path):
            os.unlink(tmp_path)


def _texts(items: Any) -> list[str]:
    """Text of characteristics/insights, which are dicts with "text" (or plain strings)."""
    out = []
    for item in items or []:
        if isinstance(item, Mapping):
            text = item.get("text")
            if text:
                out.append(str(text))
        elif item is not None:
            out.append(str(item))
    return out


class _Style:
    """Bold headings on a terminal; plain text when piped or when NO_COLOR is set."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bold(self, text: str) -> str:
        return f"\033[1m{text}\033[0m" if self.enabled else text


def _bullets(lines: Sequence[str], indent: int, width: int, marker: str = "- ") -> list[str]:
    out = []
    for text in lines:
        out.extend(
            textwrap.wrap(
                text,
                width=width,
                initial_indent=" " * indent + marker,
                subsequent_indent=" " * (indent + len(marker)),
                break_on_hyphens=False,
            )
            or [" " * indent + marker.rstrip()]
        )
    return out


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
    msg = _MESSAGES.get(language, _MESSAGES["en"])
    style = _Style(color)
    summary = report.get("summary") or {}
    segments = report.get("segments") or []
    metadata = report.get("metadata") or {}
    lines: list[str] = []

    lines.append(style.bold(msg["title"]))
    lines.append("=" * len(msg["title"]))

    rows: list[tuple[str, str]] = []
    if source:
        rows.append((msg["source"], source))
    rows.append((msg["records"], _fmt_int(summary.get("n_records", len(report.get("results") or [])), language)))
    rows.append((msg["segments"], _fmt_int(summary.get("n_segments", len(segments)), language)))
    rows.append((msg["algorithm"], str(summary.get("algorithm", "-"))))
    rows.append((msg["silhouette"], _fmt_float(summary.get("silhouette"), 3, language)))
    features = summary.get("features_used")
    if features:
        rows.append((msg["features"], ", ".join(str(f) for f in features)))
    k_selection = metadata.get("k_selection") or {}
    scores = k_selection.get("scores") or {}
    if scores:
        chosen = str(k_selection.get("chosen", ""))
        parts = [
            f"{k}={_fmt_float(v, 3, language)}{'*' if str(k) == chosen else ''}"
            for k, v in sorted(scores.items(), key=lambda kv: _k_order(kv[0]))
        ]
        method = k_selection.get("method")
        suffix = f" ({method})" if method else ""
        rows.append((msg["k_selection"] + suffix, "  ".join(parts)))
    label_width = max(len(label) for label, _ in rows) + 2
    value_width = max(20, width - label_width)
    for label, value in rows:
        wrapped = textwrap.wrap(value, width=value_width, break_on_hyphens=False) or [""]
        lines.append(f"{label:<{label_width}}{wrapped[0]}")
        lines.extend(" " * label_width + more for more in wrapped[1:])

    size_width = max((len(_fmt_int(s.get("size", 0), language)) for s in segments), default=1)
    for seg in segments:
        lines.append("")
        index = seg.get("segment", "?")
        name = str(seg.get("name", ""))
        head = f"{msg['segment']} {index}: {name}"
        lines.extend(
            style.bold(part)
            for part in textwrap.wrap(head, width=width, subsequent_indent="    ")
        )
        stats = (
            f"    {_fmt_int(seg.get('size', 0), language):>{size_width}} {msg['records_unit']}"
            f"  ({_fmt_share(seg.get('share'), language)})"
        )
        if isinstance(seg.get("silhouette"), (int, float)):
            stats += f"  {msg['silhouette'].lower()} {_fmt_float(seg['silhouette'], 2, language)}"
        lines.append(stats)
        characteristics = _texts(seg.get("characteristics"))[:3]
        if characteristics:
            lines.append(f"    {msg['characteristics']}:")
            lines.extend(_bullets(characteristics, 6, width))
        insights = _texts(seg.get("insights"))
        if insights:
            lines.append(f"    {msg['insights']}:")
            lines.extend(_bullets(insights, 6, width))

    summary_insights = _texts(summary.get("insights"))
    if summary_insights:
        lines.append("")
        lines.append(style.bold(msg["summary_insights"]))
        lines.extend(_bullets(summary_insights, 2, width))

    warnings = [str(w) for w in metadata.get("warnings") or []]
    if warnings:
        lines.append("")
        lines.append(style.bold(msg["warnings"]))
        lines.extend(_bullets(warnings, 2, width))

    elapsed = metadata.get("processing_time_ms")
    if elapsed is not None:
        lines.append("")
        lines.append(f"{msg['time']}: {_fmt_int(round(elapsed), language)} ms")
    return "\n".join(lines) + "\n"


def _k_order(k: Any) -> tuple[int, Any]:
    # JSON object keys are strings: "10" must follow "9", not "1".
    try:
        return (0, int(k))
    except (TypeError, ValueError):
        return (1, str(k))


def _use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _emit(report: Any, args: argparse.Namespace, msg: dict[str, str], source: str | None) -> None:
    if args.output:
        _write_atomic(args.output, _dump_json(report) + "\n")
    if args.json:
        sys.stdout.write(_dump_json(report) + "\n")
    elif not args.output:
        sys.stdout.write(
            format_summary(report, args.language, source=source, color=_use_color(sys.stdout))
        )
    if args.output:
        summary = (report.get("summary") or {}) if isinstance(report, Mapping) else {}
        line = msg["written"].format(
            path=args.output,
            n=_fmt_int(summary.get("n_records", "?"), args.language),
            k=summary.get("n_segments", "?"),
        )
        # With --json the JSON owns stdout; the confirmation must not corrupt it.
        print(line, file=sys.stderr if args.json else sys.stdout)


# ------------------------------------------------------------------------------ commands


def _cmd_demo(args: argparse.Namespace) -> int:
    from segengine.datasets import load_demo_customers

    msg = _MESSAGES[args.language]
    options = _parse_options(args.options)
    progress = args.n > PROGRESS_MIN_RECORDS
    if progress:
        _progress(msg["generating"].format(n=_fmt_int(args.n, "en")))
    records, _ = load_demo_customers(n=args.n, random_state=args.random_state)
    payload = _build_payload({"data": records}, options)
    report = _run_report_html(payload, args, progress, msg) if args.html else _run_report(payload, args.language, progress, msg)
    _emit(report, args, msg, f"{msg['demo_source']} (n={args.n}, random_state={args.random_state})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    msg = _MESSAGES[args.language]
    options = _parse_options(args.options)
    start = time.perf_counter()
    announced = False
    try:
        announced = os.path.getsize(args.file) > PROGRESS_MIN_BYTES
    except OSError:
        pass  # read_records_file gives the proper message
    if announced:
        _progress(msg["reading"].format(path=args.file))
    body = read_records_file(args.file)
    n = len(body["data"]) if isinstance(body.get("data"), list) else 0
    progress = n > PROGRESS_MIN_RECORDS
    if progress:
        if not announced:
            _progress(msg["reading"].format(path=args.file))
        ms = round(1000 * (time.perf_counter() - start))
        _progress(msg["read"].format(n=_fmt_int(n, "en"), ms=_fmt_int(ms, "en")))
    payload = _build_payload(body, options)
    report = _run_report_html(payload, args, progress, msg) if args.html else _run_report(payload, args.language, progress, msg)
    _emit(report, args, msg, os.path.basename(args.file))
    return 0


def _cmd_warmup(args: argparse.Namespace) -> int:
    from segengine import config
    from segengine.datasets import load_demo_customers

    msg = _MESSAGES[args.language]
    engine = _engine()
    # The small run compiles the serial kernels; the second one crosses PARALLEL_MIN_ROWS so
    # that the parallel silhouette is compiled (or loaded from the cache) too. The KMeans
    # parallel twins compile on the first report large enough to use them (parallel_flag).
    sizes = [300, 2 * int(getattr(config, "PARALLEL_MIN_ROWS", 4096)), 300]
    total_start = time.perf_counter()
    timings = []
    for n in sizes:
        records, _ = load_demo_customers(n=n, random_state=0)
        start = time.perf_counter()
        engine.segmentation_report({"data": records, "include_metadata": True}, language="en")
        timings.append(1000 * (time.perf_counter() - start))
    total = time.perf_counter() - total_start
    print(msg["warmup_title"])
    notes = [msg["warmup_first"], "", msg["warmup_warm"]]
    labels = [msg["warmup_run"].format(n=_fmt_int(n, args.language)) for n in sizes]
    label_width = max(len(label) for label in labels) + 2
    for label, ms, note in zip(labels, timings, notes):
        tail = f"  ({note})" if note else ""
        print(f"  {label:<{label_width}}{_fmt_int(round(ms), args.language):>8} ms{tail}")
    print(f"{msg['warmup_total']}: {_fmt_float(total, 2, args.language)} s")
    return 0


# ------------------------------------------------------------------------------ parser and main


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Customer segmentation reports: automatic k, KMeans/GMM, profiles and "
        "insights in English, Spanish or Portuguese.",
    )
    from segengine._version import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def output_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--language", "-l", choices=LANGUAGES, default="en",
            help="language of the report text and headings (default: en)",
        )
        p.add_argument(
            "--options", metavar="JSON",
            help="""report options as a JSON object, e.g. '{"k_max": 8, "algorithm": "kmeans"}'""",
        )
        p.add_argument(
            "--json", action="store_true", help="print the exact JSON response body instead of a summary"
        )
        p.add_argument(
            "--output", "-o", metavar="FILE", help="write the JSON response body to FILE (atomically)"
        )
        p.add_argument(
            "--html", metavar="FILE",
            help="also write the report as one offline HTML page with charts to FILE (atomically)",
        )

    demo = sub.add_parser(
        "demo", help="report on the embedded demo customers",
        description="Segment the embedded demo customers (synthetic, five known segments).",
    )
    demo.add_argument(
        "--n", type=_positive_int, default=10_000, metavar="N",
        help="number of demo customers (default: 10000)",
    )
    demo.add_argument(
        "--random-state", type=int, default=0, metavar="SEED",
        help="seed of the demo data (default: 0)",
    )
    output_args(demo)
    demo.set_defaults(func=_cmd_demo)

    report = sub.add_parser(
        "report", help="report on a CSV or JSON file",
        description="Segment the records of a CSV file (header row) or a JSON file (an array "
        "of records, or a request body with 'data' and 'options').",
    )
    report.add_argument("file", metavar="FILE", help="a .csv or .json file")
    output_args(report)
    report.set_defaults(func=_cmd_report)

    warmup = sub.add_parser(
        "warmup", help="compile or load the numba kernels and say how long it took",
        description="Run small reports once so that the numba kernels are compiled (or loaded "
        "from the on-disk cache); later reports in new processes start fast.",
    )
    warmup.add_argument("--language", "-l", choices=LANGUAGES, default="en", help=argparse.SUPPRESS)
    warmup.set_defaults(func=_cmd_warmup)
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``segengine`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on an error the user can fix (bad file, bad options,
        data rejected by the engine), 2 on a usage error, 130 when interrupted.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: return instead of exiting
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except CLIError as exc:
        _error(str(exc))
        return 1
    except SegEngineError as exc:
        _error(exc.message)
        for path, sentence in exc.details.items():
            print(f"  {path}: {sentence}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error worth a message.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback
        if os.environ.get("SEGENGINE_DEBUG"):
            raise
        _error(
            f"internal error ({type(exc).__name__}: {exc}); "
            "run again with SEGENGINE_DEBUG=1 to see the traceback"
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

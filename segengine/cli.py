"""The ``segengine`` command line: a report on a CSV/JSON file or on the embedded demo data.

::

    segengine demo   [--language {en,es,pt}] [--n N] [--options JSON] [--json] [--output FILE] [--html FILE]
    segengine report FILE.csv|FILE.json [--language es] [--options JSON] [--json] [--output FILE] [--html FILE]
    segengine warmup
    segengine serve [--host H] [--port P] [--workers N] [--tenants FILE]      (extra [service])
    segengine tenants add|revoke|list FILE [--tenant UUID --token T --secret S --rate-limit N]

The engine (``segengine.api``) is imported only inside the commands, so ``--help`` and argument
errors answer at once. Every failure a user can cause (a missing or malformed file, bad
``--options``, data the engine rejects) ends with ``segengine: error: ...`` on stderr and exit
status 1, never with a traceback; argparse usage errors keep their conventional status 2.
Set ``SEGENGINE_DEBUG=1`` to see the traceback of an unexpected internal failure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from segengine.errors import SegEngineError
from segengine.text.language import LANGUAGES

__all__ = ["main", "read_records_file", "parse_csv_cell", "format_summary"]

PROG = "segengine"
WIDTH = 100
# Above this many records the commands report progress on stderr.
PROGRESS_MIN_RECORDS = 50_000
# Files larger than this announce "reading..." before their record count is known
# (about 50,000 records of a 10-field table).
PROGRESS_MIN_BYTES = 4_000_000
# Largest demo: its records are built in memory (about 1.1 KB each) before the report.
DEMO_MAX_N = 1_000_000

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
# The file readers live in segengine.readers; imported here for the commands (and for callers
# that imported them from the command line module).
from segengine.readers import (  # noqa: F401 - re-exported
    CsvFormat,
    ReadError,
    _convert_column,
    _json_type,
    parse_csv_cell,
    read_records,
    read_records_file,
)


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
    except RecursionError:
        raise CLIError("--options is nested too deeply to be options") from None
    except ValueError as exc:  # an integer literal past Python's digit limit
        raise CLIError(f"--options is not usable JSON: {str(exc).split(';')[0][:120]}") from None
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


def _write_atomic(path: str, text: str, input_path: str | None = None) -> None:
    """Write ``--output`` (segengine.files: atomic for regular files, keeping their mode;
    devices and FIFOs written directly; never over the command's own input)."""
    from segengine.files import OutputError, write_output

    try:
        write_output(path, text, input_path=input_path)
    except OutputError as exc:
        raise CLIError(str(exc)) from None


def _stdout() -> TextIO:
    # Started with stdout closed (`>&-`), Python sets sys.stdout to None.
    if sys.stdout is None:
        raise CLIError("standard output is closed; use --output FILE")
    return sys.stdout


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
    _note_csv_format(report, getattr(args, "csv_format", None), args.language)
    if args.output:
        _write_atomic(args.output, _dump_json(report) + "\n", getattr(args, "file", None))
    if args.json:
        _stdout().write(_dump_json(report) + "\n")
    elif not args.output:
        _stdout().write(
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
        print(line, file=sys.stderr if args.json else _stdout())
    if sys.stdout is not None:
        sys.stdout.flush()  # a full device (/dev/full) fails here, where main() can say so


# ------------------------------------------------------------------------------ commands


def _cmd_demo(args: argparse.Namespace) -> int:
    from segengine.datasets import load_demo_customers

    msg = _MESSAGES[args.language]
    options = _parse_options(args.options)
    progress = args.n > PROGRESS_MIN_RECORDS
    if progress:
        _progress(msg["generating"].format(n=_fmt_int(args.n, "en")))
    _check_demo_size(args.n, options)  # before building the records (1.1 GB at a million)
    records, _ = load_demo_customers(n=args.n, random_state=args.random_state)
    payload = _build_payload({"data": records}, options)
    report = _run_report_html(payload, args, progress, msg) if args.html else _run_report(payload, args.language, progress, msg)
    _emit(report, args, msg, f"{msg['demo_source']} (n={args.n}, random_state={args.random_state})")
    return 0


def _check_demo_size(n: int, options: dict[str, Any] | None) -> None:
    from segengine import config

    limit = config.DEFAULT_MAX_RECORDS
    wanted = (options or {}).get("max_records", (options or {}).get("maxRecords"))
    if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 < wanted < 10**8:
        limit = wanted
    limit = min(limit, DEMO_MAX_N)
    if n > limit:
        raise CLIError(f"--n {n} is more than the {limit} records a report accepts "
                       f"(max_records; the demo builds at most {DEMO_MAX_N})")


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
    body, csv_format = read_records(args.file, args.decimal)
    args.csv_format = csv_format  # said in the report's warnings by _emit
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


def _note_csv_format(report: Any, fmt: CsvFormat | None, language: str) -> None:
    """Say in the report's warnings how a CSV file other than plain comma-and-point was read."""
    if fmt is None or (fmt.delimiter == "," and fmt.decimal == "." and fmt.decimal_detected):
        return
    if not isinstance(report, dict) or not isinstance(report.get("metadata"), dict):
        return
    from segengine.text.error_messages import error_text

    how = error_text(language, "csv_decimal_detected" if fmt.decimal_detected else "csv_decimal_given")
    sentence = error_text(language, "warn_csv_decimal", delimiter=fmt.delimiter, decimal=fmt.decimal, how=how)
    report["metadata"].setdefault("warnings", []).insert(0, sentence)


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


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text[:40]}'") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {text[:40]}")
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
        "--random-state", type=_seed, default=0, metavar="SEED",
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
    report.add_argument(
        "--decimal", choices=(".", ","), default=None,
        help="decimal mark of a CSV file (default: detected; ',' needs ';', tab or '|' between fields)",
    )
    output_args(report)
    report.set_defaults(func=_cmd_report)

    warmup = sub.add_parser(
        "warmup", help="compile or load the numba kernels and say how long it took",
        description="Run small reports once so that the numba kernels are compiled (or loaded "
        "from the on-disk cache); later reports in new processes start fast.",
    )
    warmup.add_argument("--language", "-l", choices=LANGUAGES, default="en", help=argparse.SUPPRESS)
    warmup.set_defaults(func=_cmd_warmup)

    # HTTP service (extra [service]): serve, tenants. The module imports no web framework.
    from segengine.service.commands import add_subcommands as add_service_subcommands

    add_service_subcommands(sub)
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
    except (CLIError, ReadError) as exc:
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
    except OSError as exc:
        # Writing the result failed (stdout on a full device, a closed descriptor).
        _error(f"cannot write the output: {exc.strerror or exc}")
        _silence_stdout()
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI promises no traceback
        if os.environ.get("SEGENGINE_DEBUG"):
            raise
        _error(
            f"internal error ({type(exc).__name__}: {exc}); "
            "run again with SEGENGINE_DEBUG=1 to see the traceback"
        )
        return 1


def _silence_stdout() -> None:
    # What is still buffered would fail again at interpreter exit, with a second message.
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

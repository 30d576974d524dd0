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
import gc
import importlib
import os
import sys
import time
from typing import Any, NoReturn, TextIO

from segengine.arguments import CLIError, build_payload, parse_options_json, positive_int, seed
from segengine.errors import SegEngineError
from segengine.readers import (  # noqa: F401 - re-exported for callers of the command line module
    CsvFormat,
    ReadError,
    _convert_column,
    _json_type,
    csv_format_notice,
    parse_csv_cell,
    read_records,
    read_records_file,
)
from segengine.terminal import (  # noqa: F401 - format_summary re-exported
    PROG,
    WIDTH,
    count_text,
    format_options,
    format_summary,
    format_warmup,
    label,
    progress,
    use_color,
    written_line,
)
from segengine.text.language import LANGUAGES

__all__ = ["main", "run", "read_records_file", "parse_csv_cell", "format_summary"]

# Above this many records the commands report progress on stderr.
PROGRESS_MIN_RECORDS = 50_000
# Files larger than this announce "reading..." before their record count is known
# (about 50,000 records of a 10-field table).
PROGRESS_MIN_BYTES = 4_000_000
# Largest demo: its records are built in memory (about 1.1 KB each) before the report.
DEMO_MAX_N = 1_000_000

# One definition of each argument type (segengine.arguments); the old private names stay.
_positive_int = positive_int
_seed = seed


# ------------------------------------------------------------------------------ running the engine


def _engine() -> Any:
    # Lazy: importing the engine pulls numba and loads kernels; --help must stay instant.
    return importlib.import_module("segengine.api")


def _note_compiling(language: str, n_records: int) -> None:
    """One line on stderr when this run compiles the kernels (numba's cache has none yet)."""
    from segengine.kernel_cache import cache_enabled, kernels_need_compiling

    if kernels_need_compiling():
        progress(label(language, "compiling"))
        # Two cores compile: a child process the Lloyd and mixture kernels, this one the rest.
        from segengine import compile_stages

        if cache_enabled() and compile_stages.start():
            compile_stages.compile_here(n_records)


def _elapsed_ms(start: float) -> str:
    return count_text(round(1000 * (time.perf_counter() - start)), "en")


def _run_report(payload: dict[str, Any], language: str, show_progress: bool) -> Any:
    n = len(payload["data"]) if isinstance(payload.get("data"), list) else 0
    _note_compiling(language, n)
    if show_progress:
        progress(label(language, "segmenting", n=count_text(n, "en")))
    start = time.perf_counter()
    report = _engine().segmentation_report(payload, language=language)
    if show_progress:
        progress(label(language, "done", ms=_elapsed_ms(start)))
    return report


def _run_report_html(payload: dict[str, Any], args: argparse.Namespace, show_progress: bool) -> Any:
    """Like _run_report, and also write the HTML page (it needs the fitted model, not only the body)."""
    from segengine.api import fit_and_report
    from segengine.html_report import render_html

    n = len(payload["data"]) if isinstance(payload.get("data"), list) else 0
    _note_compiling(args.language, n)
    if show_progress:
        progress(label(args.language, "segmenting", n=count_text(n, "en")))
    start = time.perf_counter()
    report, segmenter = fit_and_report(payload, language=args.language)
    _write_atomic(args.html, render_html(report, segmenter, language=args.language))
    # On stderr: stdout keeps the summary or the JSON body exactly as without --html.
    print(written_line(args.html, report, args.language, n_default=n), file=sys.stderr)
    if show_progress:
        progress(label(args.language, "done", ms=_elapsed_ms(start)))
    return report


# ------------------------------------------------------------------------------ output


def _write_atomic(path: str, text: str, input_path: str | None = None) -> None:
    """Write ``--output`` / ``--html`` through :mod:`segengine.files`.

    Atomic for regular files, keeping their mode; devices and FIFOs are written directly; never
    over the command's own input.
    """
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


def _emit(report: Any, args: argparse.Namespace, source: str | None) -> None:
    from segengine.files import report_json

    _note_csv_format(report, getattr(args, "csv_format", None), args.language)
    if args.output:
        _write_atomic(args.output, report_json(report) + "\n", getattr(args, "file", None))
    if args.json:
        _stdout().write(report_json(report) + "\n")
    elif not args.output:
        _stdout().write(
            format_summary(report, args.language, source=source, color=use_color(sys.stdout))
        )
    if args.output:
        line = written_line(args.output, report, args.language)
        # With --json the JSON owns stdout; the confirmation must not corrupt it.
        print(line, file=sys.stderr if args.json else _stdout())
    if sys.stdout is not None:
        sys.stdout.flush()  # a full device (/dev/full) fails here, where main() can say so


def _note_csv_format(report: Any, fmt: CsvFormat | None, language: str) -> None:
    """Say in the report's warnings how a CSV file other than plain comma-and-point was read."""
    notice = csv_format_notice(fmt)
    if notice is None or not isinstance(report, dict) or not isinstance(report.get("metadata"), dict):
        return
    report["metadata"].setdefault("warnings", []).insert(0, notice.render(language))


# ------------------------------------------------------------------------------ commands


def _start_compiling_early() -> None:
    # Before anything imports numba: on a first run the child's compiling is the longest chain.
    from segengine import compile_stages

    compile_stages.start_early()


def _cmd_demo(args: argparse.Namespace) -> int:
    options = parse_options_json(args.options)
    show_progress = args.n > PROGRESS_MIN_RECORDS
    if show_progress:
        progress(label(args.language, "generating", n=count_text(args.n, "en")))
    _check_demo_size(args.n, options)  # before building the records (1.1 GB at a million)
    _start_compiling_early()
    from segengine.datasets import load_demo_customers

    records, _ = load_demo_customers(n=args.n, random_state=args.random_state)
    payload = build_payload({"data": records}, options)
    if args.html:
        report = _run_report_html(payload, args, show_progress)
    else:
        report = _run_report(payload, args.language, show_progress)
    _emit(report, args, f"{label(args.language, 'demo_source')} (n={args.n}, random_state={args.random_state})")
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
    options = parse_options_json(args.options)
    _start_compiling_early()
    start = time.perf_counter()
    announced = False
    try:
        announced = os.path.getsize(args.file) > PROGRESS_MIN_BYTES
    except OSError:
        pass  # read_records_file gives the proper message
    if announced:
        progress(label(args.language, "reading", path=args.file))
    body, csv_format = read_records(args.file, args.decimal)
    args.csv_format = csv_format  # said in the report's warnings by _emit
    n = len(body["data"]) if isinstance(body.get("data"), list) else 0
    show_progress = n > PROGRESS_MIN_RECORDS
    if show_progress:
        if not announced:
            progress(label(args.language, "reading", path=args.file))
        progress(label(args.language, "read", n=count_text(n, "en"), ms=_elapsed_ms(start)))
    payload = build_payload(body, options)
    if args.html:
        report = _run_report_html(payload, args, show_progress)
    else:
        report = _run_report(payload, args.language, show_progress)
    _emit(report, args, os.path.basename(args.file))
    return 0


def _cmd_warmup(args: argparse.Namespace) -> int:
    _start_compiling_early()
    from segengine import config
    from segengine.datasets import load_demo_customers

    engine = _engine()
    # The small run compiles the serial kernels; the second one crosses PARALLEL_MIN_ROWS so
    # that the parallel silhouette is compiled (or loaded from the cache) too. The KMeans
    # parallel twins compile on the first report large enough to use them (parallel_flag).
    sizes = [300, 2 * int(getattr(config, "PARALLEL_MIN_ROWS", 4096)), 300]
    total_start = time.perf_counter()
    _note_compiling(args.language, sizes[0])  # on a first run, both cores compile
    timings = []
    for n in sizes:
        records, _ = load_demo_customers(n=n, random_state=0)
        start = time.perf_counter()
        engine.segmentation_report({"data": records, "include_metadata": True}, language="en")
        timings.append(1000 * (time.perf_counter() - start))
    total = time.perf_counter() - total_start
    sys.stdout.write(format_warmup(sizes, timings, total, args.language))
    return 0


def _cmd_options(args: argparse.Namespace) -> int:
    _stdout().write(format_options(args.language))
    return 0


def _options_help() -> str:
    # The names come from the option table (segengine.options), like the request's validation.
    from segengine.options import OPTION_NAMES

    return ("""report options as a JSON object, e.g. '{"k_max": 8, "algorithm": "kmeans"}'; """
            f"names (snake_case or camelCase): {', '.join(OPTION_NAMES)}; "
            "'segengine options' lists their defaults and meaning")


# ------------------------------------------------------------------------------ parser and main


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
            help=_options_help(),
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

    options = sub.add_parser(
        "options", help="list the report options with their defaults and meaning",
        description="List every report option (--options, the request's 'options' object, the "
        "Segmenter's parameters) with its camelCase spelling, default and meaning.",
    )
    options.add_argument("--language", "-l", choices=LANGUAGES, default="en",
                         help="language of the explanations (default: en)")
    options.set_defaults(func=_cmd_options)

    # HTTP service (extra [service]): serve, tenants. The module imports no web framework.
    from segengine.service.commands import add_subcommands as add_service_subcommands

    add_service_subcommands(sub)
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``segengine`` command line.

    An early compiling child that the command never followed (a warm cache, an unreadable
    file) does not outlive it.

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
    try:
        return _main(argv)
    finally:
        stages = sys.modules.get("segengine.compile_stages")
        if stages is not None:
            stages.stop_unfollowed()


def run() -> NoReturn:
    """Entry point of the ``segengine`` console script and of ``python -m segengine``.

    Runs :func:`main` on ``sys.argv`` and exits with its status. Before exiting it freezes the
    garbage collector's generations: the interpreter's teardown would otherwise walk numba's
    and LLVM's object graphs to free memory the operating system reclaims anyway (0.2-0.3 s
    of every command that imports numba, a fifth of a warm ``segengine demo``). Buffered
    output, ``atexit`` handlers, ``weakref.finalize`` callbacks and threads still end as in a
    normal exit; what no longer runs is ``__del__`` of objects caught in reference cycles at
    exit, on which no part of segengine relies (its files are written and closed before
    :func:`main` returns). Callers of :func:`main` in a long-lived process (tests, notebooks)
    keep their collector untouched.

    Raises
    ------
    SystemExit
        Always, with :func:`main`'s exit status.
    """
    status = main()
    gc.freeze()
    sys.exit(status)


def _main(argv: list[str] | None = None) -> int:
    """`main` without the early child's cleanup."""
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
    except ReadError as exc:
        _error(exc.render(getattr(args, "language", "en")))
        return 1
    except SegEngineError as exc:
        # The engine's errors carry message keys: said in the language of --language.
        exc = exc.localized(getattr(args, "language", "en"))
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
    run()

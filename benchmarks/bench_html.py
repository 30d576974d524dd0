"""Size and speed of the HTML report (issue 14): the 10k demo page under 1 MB and written in under
200 ms beyond the report itself; a 250k-record report still gives a small page.

    python benchmarks/bench_html.py            # 10k and 250k demo customers
    python benchmarks/bench_html.py --quick    # CI: 10k only, fewer rounds

"Beyond the report" is what ``Segmenter.to_html`` adds to ``Segmenter.report``: the projection
(PCA of the preprocessed matrix, seeded stratified sample), the charts, the tables and the atomic
write. Both are timed in the same run on the same fitted model (medians); exits 1 above a bar.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segengine as se  # noqa: E402
from segengine.html_report import render_html, write_html  # noqa: E402

MAX_BYTES_10K = 1_000_000
MAX_EXTRA_MS_10K = 200.0
MAX_BYTES_250K = 1_000_000


def _median_ms(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def measure(n: int, rounds: int, folder: str) -> dict[str, float]:
    records, _ = se.datasets.load_demo_customers(n=n, random_state=0)
    t0 = time.perf_counter()
    seg = se.Segmenter().fit(records)
    fit_ms = (time.perf_counter() - t0) * 1000.0
    report = seg.report("en")  # warm: profiles are cached after the first call, as in to_html
    report_ms = _median_ms(lambda: seg.report("en"), rounds)
    path = os.path.join(folder, f"report-{n}.html")

    def html_only():
        write_html(path, render_html(report, seg, language="en"))

    html_only()
    html_ms = _median_ms(html_only, rounds)
    to_html_ms = _median_ms(lambda: seg.to_html(path), rounds)
    return {"n": n, "fit_ms": fit_ms, "report_ms": report_ms, "html_ms": html_ms,
            "to_html_ms": to_html_ms, "bytes": os.path.getsize(path)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k only, fewer rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    sizes = [10_000] if args.quick else [10_000, 250_000]
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        se.Segmenter().fit(se.datasets.load_demo_customers(n=500)[0]).to_html(os.path.join(folder, "warm.html"))
        print(f"{'records':>8} {'fit':>9} {'report':>9} {'html':>9} {'to_html':>9} {'html/report':>11} {'page':>10}")
        for n in sizes:
            m = measure(n, 1 if n > 50_000 else rounds, folder)
            print(f"{n:>8,} {m['fit_ms']:>7.0f}ms {m['report_ms']:>7.1f}ms {m['html_ms']:>7.1f}ms "
                  f"{m['to_html_ms']:>7.1f}ms {m['html_ms'] / m['report_ms']:>10.2f}x {m['bytes'] / 1e3:>8.0f}kB")
            if n == 10_000:
                if m["bytes"] >= MAX_BYTES_10K:
                    failures.append(f"10k page is {m['bytes']:,} bytes (bar {MAX_BYTES_10K:,})")
                if m["html_ms"] >= MAX_EXTRA_MS_10K:
                    failures.append(
                        f"10k page takes {m['html_ms']:.0f} ms beyond the report (bar {MAX_EXTRA_MS_10K:.0f})")
            elif m["bytes"] >= MAX_BYTES_250K:
                failures.append(f"{n:,}-record page is {m['bytes']:,} bytes (bar {MAX_BYTES_250K:,})")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

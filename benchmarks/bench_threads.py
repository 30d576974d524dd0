"""Throughput of reports served from one thread versus two threads at once (the GIL is released).

A service answers requests from a thread pool; the numba kernels run with ``nogil=True``, so two
reports can compute at the same time on two cores. This script runs the same batch of reports
on one thread and then split over two threads, alternately for several rounds (the machine is
shared: only figures taken side by side are compared), and prints reports per second and the
two-thread / one-thread ratio (2.0 is the ideal on two free cores).

    python benchmarks/bench_threads.py                 # 1k and 10k records, 10 fields
    python benchmarks/bench_threads.py --kernel-threads 1

``--kernel-threads 1`` limits numba to one thread per report (numba's setting is per calling
thread), so that a single report cannot already use both cores through its parallel kernels
or its k search workers; the ratio then isolates what releasing the GIL buys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numba

import segengine as se
from segengine.datasets import make_numeric_customers


def _batch_seconds(payloads: list[dict], workers: int, kernel_threads: int | None) -> float:
    def serve(chunk: list[dict]) -> None:
        if kernel_threads:
            numba.set_num_threads(kernel_threads)
        for payload in chunk:
            se.segmentation_report(payload)

    chunks = [payloads[i::workers] for i in range(workers)]
    start = time.perf_counter()
    if workers == 1:
        serve(chunks[0])
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(serve, chunks))
    return time.perf_counter() - start


def measure(n: int, reports: int, rounds: int, kernel_threads: int | None) -> dict[str, float]:
    """Median reports per second on one and on two threads, measured alternately.

    Parameters
    ----------
    n : int
        Records per report (10 numeric fields).
    reports : int
        Reports per batch (the same batch for both thread counts).
    rounds : int
        Alternating rounds; medians are reported.
    kernel_threads : int or None
        numba threads per serving thread (None: numba's default).

    Returns
    -------
    dict
        ``one`` and ``two`` (reports per second) and ``ratio`` (two / one).
    """
    payloads = []
    for i in range(reports):
        records, _ = make_numeric_customers(n=n, n_features=10, random_state=i % 4)
        payloads.append({"data": records})
    _batch_seconds(payloads[:2], 2, kernel_threads)  # load kernels, start numba's threads
    one, two = [], []
    for _ in range(rounds):
        one.append(reports / _batch_seconds(payloads, 1, kernel_threads))
        two.append(reports / _batch_seconds(payloads, 2, kernel_threads))
    ratios = [b / a for a, b in zip(one, two)]
    return {"one": statistics.median(one), "two": statistics.median(two), "ratio": statistics.median(ratios)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="records per report, comma separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kernel-threads", type=int, default=None)
    args = parser.parse_args(argv)
    print(f"numba threads {numba.get_num_threads()}, layer after warm-up shown below; "
          f"kernel threads per report: {args.kernel_threads or 'default'}")
    for n in (int(s) for s in args.sizes.split(",")):
        reports = 16 if n <= 2_000 else 6
        fig = measure(n, reports, args.rounds, args.kernel_threads)
        print(f"{n:>7} records: 1 thread {fig['one']:7.1f} reports/s, 2 threads {fig['two']:7.1f} reports/s, "
              f"ratio {fig['ratio']:.2f}x  (median of {args.rounds} alternating rounds)", flush=True)
    from segengine.concurrency import active_threading_layer

    print("threading layer:", active_threading_layer(), "| active Python threads:", threading.active_count())
    return 0


if __name__ == "__main__":
    sys.exit(main())

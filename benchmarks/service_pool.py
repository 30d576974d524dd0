"""Thread pool versus process pool for the service's report workers, side by side in one run.

Each pool computes the same requests (``handle_request`` + JSON encoding of the body, as the
service's worker does) with 1 and 2 workers; the table gives requests per second and the speed-up
of 2 workers over 1. The GMM, KMeans and silhouette kernels release the GIL (``nogil=True``), so
threads can overlap the numeric work; what stays under the GIL is the Python part of the pipeline
(reading records, profiling, text).

    python benchmarks/service_pool.py [--records 1000] [--requests 40]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _work(body: bytes) -> int:
    import orjson

    from segengine.api import handle_request

    status, payload = handle_request(body, {"accept-language": "en"})
    return status + 0 * len(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


def _warm() -> None:
    from segengine.datasets import load_demo_customers

    records, _ = load_demo_customers(n=300, random_state=0)
    _work(json.dumps({"data": records}).encode())


def _bodies(n_records: int, n_requests: int) -> list[bytes]:
    from segengine.datasets import load_demo_customers

    out = []
    for i in range(4):
        records, _ = load_demo_customers(n=n_records, random_state=i)
        out.append(json.dumps({"data": records}).encode())
    return [out[i % 4] for i in range(n_requests)]


def _run(pool: cf.Executor, bodies: list[bytes]) -> float:
    list(pool.map(_work, bodies[:4]))  # warm every worker
    start = time.perf_counter()
    statuses = list(pool.map(_work, bodies))
    elapsed = time.perf_counter() - start
    assert set(statuses) == {200}, statuses
    return len(bodies) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args(argv)
    _warm()
    bodies = _bodies(args.records, args.requests)
    rows = []
    for kind in ("thread", "process"):
        rates = {}
        for workers in (1, 2):
            if kind == "thread":
                pool: cf.Executor = cf.ThreadPoolExecutor(workers)
            else:
                # spawn, not fork: forking a process whose numba kernels already ran on GNU
                # OpenMP threads aborts the child ("fork() called from a process already using
                # GNU OpenMP"), which is one more reason the service uses threads.
                pool = cf.ProcessPoolExecutor(workers, initializer=_warm, mp_context=mp.get_context("spawn"))
            with pool:
                rates[workers] = _run(pool, bodies)
        rows.append((kind, rates[1], rates[2]))
    print(f"{args.records} records per request, {args.requests} requests, {os.cpu_count()} cores")
    print(f"{'pool':<8} {'1 worker req/s':>15} {'2 workers req/s':>16} {'speed-up':>9}")
    for kind, one, two in rows:
        print(f"{kind:<8} {one:>15.1f} {two:>16.1f} {two / one:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load benchmark of the HTTP service: a real ``segengine serve`` on loopback, an open-loop
asyncio load generator at a fixed arrival rate.

Latency is measured from each request's *scheduled* send time, not from when the client got round
to sending it, so a server that falls behind is charged for the queue it causes (no coordinated
omission). The generator is bounded: at most ``--max-outstanding`` requests in flight; a request
that would exceed it counts as "client-dropped" instead of piling up.

Sections (all in one run, on the same machine state):

1. seed: the seed's 100 requests per minute per tenant, 4 tenants at once, 1k-record bodies;
2. 10k: 10k-record bodies from several tenants;
3. ramp: 1k-record bodies at rising rates; the highest rate with no 503 (and no 5xx) is reported;
4. overhead: the same 1k-record body sent one at a time over HTTP versus ``handle_request`` called
   directly in this process, interleaved; the difference of medians is the service's overhead
   (HTTP client and server, auth, limits, thread hand-off, JSON encoding);
5. gzip: response compression time and ratio by level (the service uses level 1).

    python benchmarks/load_service.py            # about 3 minutes
    python benchmarks/load_service.py --quick    # about 1 minute
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from segengine.api import handle_request  # noqa: E402
from segengine.datasets import load_demo_customers  # noqa: E402

from service_helpers import start_server  # noqa: E402


def _bodies(n: int, count: int = 4) -> list[bytes]:
    out = []
    for seed in range(count):
        records, _ = load_demo_customers(n=n, random_state=seed)
        out.append(orjson.dumps({"data": records, "options": {}, "include_metadata": True}))
    return out


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _open_loop(server, keys, bodies, rate: float, duration: float, max_outstanding: int) -> dict:
    """Send at ``rate`` requests per second for ``duration`` seconds, round-robin over tenants."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    outstanding = 0
    limits = httpx.Limits(max_connections=max_outstanding, max_keepalive_connections=max_outstanding)
    async with httpx.AsyncClient(limits=limits, timeout=120.0) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        n = int(rate * duration)
        tasks = []

        async def one(i: int, scheduled: float) -> None:
            nonlocal outstanding
            key = keys[i % len(keys)]
            try:
                response = await client.post(server.endpoint, content=bodies[i % len(bodies)],
                                             headers=key.headers(**{"Accept-Encoding": "gzip"}))
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    latencies.append(loop.time() - scheduled)
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            finally:
                outstanding -= 1

        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if outstanding >= max_outstanding:
                statuses["client-dropped"] += 1
                continue
            outstanding += 1
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    ok = statuses.get(200, 0)
    return {
        "rate": rate, "sent": n, "throughput": ok / elapsed, "p50_ms": 1000 * _pct(latencies, 0.5),
        "p99_ms": 1000 * _pct(latencies, 0.99), "max_ms": 1000 * max(latencies, default=float("nan")),
        "statuses": dict(sorted(statuses.items(), key=lambda kv: str(kv[0]))),
    }


def _line(label: str, r: dict) -> str:
    return (f"{label:<28} {r['rate']:>6.2f}/s {r['sent']:>5} sent {r['throughput']:>6.2f}/s ok  "
            f"p50 {r['p50_ms']:>7.1f} ms  p99 {r['p99_ms']:>7.1f} ms  statuses {r['statuses']}")


def _process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _overhead(server, key, body: bytes, rounds: int) -> dict[str, float]:
    """The same body over HTTP and as a direct call, interleaved: median wall time of each, and
    CPU time per request (the server process's versus this process's for the direct call), which
    other processes competing for the cores do not inflate."""
    headers = key.headers(**{"Accept-Encoding": "gzip"})
    http_times, direct_times = [], []
    server_cpu = direct_cpu = 0.0
    with httpx.Client(timeout=60.0) as client:
        for _ in range(3):  # warm both paths
            client.post(server.endpoint, content=body, headers=headers)
            handle_request(body, {"Accept-Language": "en"})
        for _ in range(rounds):
            t0, c0 = time.perf_counter(), time.process_time()
            status, payload = handle_request(body, {"Accept-Language": "en"})
            orjson.dumps(payload)  # a caller of the function must encode the body too
            direct_times.append(time.perf_counter() - t0)
            direct_cpu += time.process_time() - c0
            s0 = _process_cpu_s(server.process.pid)
            t0 = time.perf_counter()
            response = client.post(server.endpoint, content=body, headers=headers)
            response.read()
            http_times.append(time.perf_counter() - t0)
            server_cpu += _process_cpu_s(server.process.pid) - s0
            assert response.status_code == status == 200
    return {
        "http_ms": 1000 * statistics.median(http_times), "direct_ms": 1000 * statistics.median(direct_times),
        "server_cpu_ms": 1000 * server_cpu / rounds, "direct_cpu_ms": 1000 * direct_cpu / rounds,
    }


def _round_trips(server, key, rounds: int) -> dict[str, float]:
    """Median round trip of requests that compute no report: the probe, and an authenticated
    request the engine refuses at once (empty data, 400)."""
    out = {}
    with httpx.Client(timeout=30.0) as client:
        for name, send in (
            ("GET /healthz", lambda: client.get(server.url + "/healthz")),
            ("POST empty data (400)", lambda: client.post(server.endpoint, content=b'{"data": []}',
                                                          headers=key.headers())),
        ):
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                send()
                times.append(time.perf_counter() - t0)
            out[name] = 1000 * statistics.median(times)
    return out


def _gzip_table(body: bytes) -> list[str]:
    _, payload = handle_request(body, {})
    raw = orjson.dumps(payload)
    lines = [f"response of {len(raw) / 1024:.0f} KiB"]
    for level in (1, 6, 9):
        t0 = time.perf_counter()
        for _ in range(5):
            c = zlib.compressobj(level, zlib.DEFLATED, 31)
            packed = c.compress(raw) + c.flush()
        ms = 1000 * (time.perf_counter() - t0) / 5
        assert gzip.decompress(packed) == raw
        lines.append(f"  level {level}: {ms:6.2f} ms, {len(raw) / len(packed):5.1f}x smaller")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter sections")
    parser.add_argument("--workers", type=int, default=None, help="server report workers (default: cores)")
    parser.add_argument("--max-outstanding", type=int, default=64)
    parser.add_argument("--ramp", default="2,4,6,8,10,14,18,24,32",
                        help="rates (requests per second) of the ramp, 1k records")
    args = parser.parse_args(argv)
    duration = 12.0 if args.quick else 30.0
    step = 6.0 if args.quick else 12.0

    print(f"segengine service load benchmark: {os.cpu_count()} cores, loopback, "
          f"{'quick' if args.quick else 'full'} run, load average before the run "
          f"{os.getloadavg()[0]:.1f} (other processes share the cores)")
    body_1k = _bodies(1000)
    body_10k = _bodies(10_000, count=2)
    env = {"SEGENGINE_WARMUP": "1"}
    if args.workers:
        env["SEGENGINE_WORKERS"] = str(args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        # Seed tenants at the seed's 100 per minute; ramp tenants unlimited, so that only the
        # server's capacity (503) stops them.
        limits = {f"seed{i}": 100 for i in range(4)}
        limits.update({f"ramp{i}": 10**7 for i in range(4)})
        server = start_server(Path(tmp), limits, env=env)
        try:
            seed_keys = [server.keys[f"seed{i}"] for i in range(4)]
            ramp_keys = [server.keys[f"ramp{i}"] for i in range(4)]
            print("\n1. the seed's load: 4 tenants x 100 requests/min, 1,000 records")
            r = asyncio.run(_open_loop(server, seed_keys, body_1k, 4 * 100 / 60, duration, args.max_outstanding))
            print(_line("4 x 100/min, 1k records", r))
            print("\n2. 10,000-record bodies, 4 tenants")
            r10 = asyncio.run(_open_loop(server, ramp_keys, body_10k, 1.0, duration / 2, args.max_outstanding))
            print(_line("10k records", r10))
            print("\n3. ramp, 1,000 records, 4 tenants: highest rate before 503s")
            best = None
            for rate in (float(x) for x in args.ramp.split(",")):
                rr = asyncio.run(_open_loop(server, ramp_keys, body_1k, rate, step, args.max_outstanding))
                print(_line(f"ramp {rate:g}/s", rr))
                bad = sum(v for k, v in rr["statuses"].items() if k != 200)
                if bad:
                    break
                best = rr
                time.sleep(1.0)
            if best is None:
                print("highest sustained rate without 503: below the first step")
            else:
                print(f"highest sustained rate without 503 or 5xx: {best['rate']:g} requests/s "
                      f"({60 * best['rate']:.0f}/min), p99 {best['p99_ms']:.0f} ms")
            time.sleep(2.0)
            print("\n4. service overhead over a direct handle_request call, 1,000 records, one at a time")
            o = _overhead(server, ramp_keys[0], body_1k[0], 12 if args.quick else 30)
            print(f"wall time, median: over HTTP {o['http_ms']:.1f} ms, direct call {o['direct_ms']:.1f} ms, "
                  f"overhead {o['http_ms'] - o['direct_ms']:.1f} ms")
            print(f"CPU time per request: server process {o['server_cpu_ms']:.1f} ms, direct call "
                  f"{o['direct_cpu_ms']:.1f} ms, overhead {o['server_cpu_ms'] - o['direct_cpu_ms']:.1f} ms")
            trivial = _round_trips(server, ramp_keys[0], 30)
            print("round trips without a report (the HTTP stack, auth and limits alone): "
                  + ", ".join(f"{name} {ms:.1f} ms" for name, ms in trivial.items()))
        finally:
            server.stop()
    print("\n5. gzip of the response by level (1,000 and 10,000 records)")
    for line in _gzip_table(body_1k[0]) + _gzip_table(body_10k[0]):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

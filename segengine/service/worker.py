"""The report workers: ``handle_request`` on a bounded thread pool, off the event loop.

Threads, not processes (measured with ``benchmarks/service_pool.py``, README "HTTP service"): the
numeric kernels release the GIL, a thread shares the warm JIT-compiled kernels and the parsed body
without pickling, and a process pool gave no more throughput on 2 cores.

A worker decodes the body, computes the report and encodes the response, so the event loop only
moves bytes. Decoding tries orjson first and falls back to the raw bytes, which ``handle_request``
decodes itself: any body orjson refuses (NaN, huge integers, a BOM, invalid UTF-8, bad JSON) gets
exactly the library's answer, and bodies both accept decode to the same objects.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from segengine.api import handle_request
from segengine.json_fast import standard_equivalent
from segengine.json_keys import no_key_dropped

__all__ = ["Outcome", "ReportWorkers", "encode_json", "warm_kernels"]

_log = logging.getLogger("segengine.service")


@dataclass(frozen=True)
class Outcome:
    """A computed response: status, encoded JSON body, records in the request (None if unknown)."""

    status: int
    body: bytes
    n_records: int | None
    seconds: float
    gzipped: bool = False


def encode_json(body: Any) -> bytes:
    """Encode a response body as compact UTF-8 JSON (non-finite floats become null).

    Parameters
    ----------
    body : object

    Returns
    -------
    bytes
    """
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # a type orjson does not know: the standard library's slower path
        return json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")


def _decode(raw: bytes) -> tuple[Any, int | None]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw, None
    if not standard_equivalent(raw, value) or not no_key_dropped(raw, value):  # big ints, depth
        # orjson keeps the last of two equal keys; handle_request reports duplicates as a 422
        return raw, None
    if isinstance(value, dict):
        data = value.get("data")
        return value, (len(data) if isinstance(data, list) else None)
    return value, None


def _fault(spec: str | None) -> None:
    """Test-only faults (``ServiceConfig.fault_injection``): ``error`` raises, ``sleep=MS`` waits."""
    if not spec:
        return
    if spec == "error":
        raise RuntimeError("fault injected by X-Segengine-Fault")
    if spec.startswith("sleep="):
        try:
            ms = float(spec[6:])
        except ValueError:
            return
        time.sleep(min(max(ms, 0.0), 60_000.0) / 1000.0)


def gzip_bytes(data: bytes, level: int) -> bytes:
    """Compress as one gzip member.

    Parameters
    ----------
    data : bytes
    level : int
        1 (fastest) to 9.

    Returns
    -------
    bytes
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def compute(raw: bytes, language: str, fault: str | None = None, gzip_level: int | None = None,
            gzip_min_bytes: int = 0) -> Outcome:
    """Compute one response in a worker: decode, ``handle_request``, encode and gzip.

    Compressing here means the event loop never spends milliseconds compressing a large report.

    Parameters
    ----------
    raw : bytes
        The (decompressed) request body.
    language : str
        The ``Accept-Language`` header as sent ("" when absent).
    fault : str, optional
        A test-only fault to inject.
    gzip_level : int, optional
        Compress the body at this level when the client accepts gzip (None: never).
    gzip_min_bytes : int
        Bodies shorter than this are sent as they are.

    Returns
    -------
    Outcome
    """
    started = time.perf_counter()
    _fault(fault)
    body, n_records = _decode(raw)
    status, payload = handle_request(body, {"accept-language": language} if language else None)
    encoded = encode_json(payload)
    gzipped = gzip_level is not None and len(encoded) >= gzip_min_bytes
    if gzipped:
        encoded = gzip_bytes(encoded, gzip_level)
    return Outcome(status, encoded, n_records, time.perf_counter() - started, gzipped)


def warm_kernels() -> float:
    """Compile or load every kernel the request path uses; returns the seconds it took.

    A small report runs the serial kernels and one above ``PARALLEL_MIN_ROWS`` the parallel ones.

    Returns
    -------
    float
    """
    from segengine import config
    from segengine.datasets import load_demo_customers

    started = time.perf_counter()
    # k_max = 3 on the large run: the same kernels as any k, a fraction of the time.
    for n, options in ((300, {}), (2 * config.PARALLEL_MIN_ROWS, {"k_max": 3})):
        records, _ = load_demo_customers(n=n, random_state=0)
        status, _ = handle_request(orjson.dumps({"data": records, "options": options}))
        if status != 200:  # pragma: no cover - the demo data always segments
            raise RuntimeError(f"warm-up report answered {status}")
    return time.perf_counter() - started


class ReportWorkers:
    """A fixed pool of report threads.

    Parameters
    ----------
    workers : int
        Threads; :class:`~segengine.service.limits.Admission` bounds what waits for them.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="segengine-report")

    def submit(self, raw: bytes, language: str, fault: str | None = None, gzip_level: int | None = None,
               gzip_min_bytes: int = 0) -> cf.Future[Outcome]:
        """Queue one request (arguments of :func:`compute`).

        Returns
        -------
        concurrent.futures.Future
        """
        return self._pool.submit(compute, raw, language, fault, gzip_level, gzip_min_bytes)

    def submit_warmup(self) -> cf.Future[float]:
        """Queue the kernel warm-up.

        Returns
        -------
        concurrent.futures.Future
        """
        return self._pool.submit(warm_kernels)

    def shutdown(self) -> None:
        """Wait for running reports, then stop the threads."""
        self._pool.shutdown(wait=True, cancel_futures=False)

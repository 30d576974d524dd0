"""The ASGI application: ``create_app(config)``.

One route does the work, in this order, each step refusing as early and as cheaply as it can:
draining (503) -> authentication (401/403) -> encoding and type (415) -> declared size (413) ->
rate limit (429) -> body read with limits (413/400) -> admission to the workers (429/503) ->
``handle_request`` on a worker thread under the time limit (its own 200/400/422/500, or 500 when
the time limit passes) -> gzip when the client accepts it. One JSON log line per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
import zlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from segengine.service.auth import AuthError, authenticate
from segengine.service.body import BodyError, content_encoding, is_json_type, read_body
from segengine.service.config import ROUTE, ServiceConfig
from segengine.service.limits import Admission, BodyReads, RateLimiter, Verdict
from segengine.service.logs import log_request
from segengine.service.messages import service_error_body, text
from segengine.service.openapi import openapi_document
from segengine.service.worker import Outcome, ReportWorkers, encode_json, gzip_bytes
from segengine.text.error_messages import error_text
from segengine.text.language import parse_accept_language

__all__ = ["create_app"]

_log = logging.getLogger("segengine.service")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class _State:
    """What the route shares between requests (all touched on the event loop only)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.limiter = RateLimiter()
        self.admission = Admission(config.n_workers, config.n_queue, config.n_tenant_in_flight)
        self.body_reads = BodyReads(config.n_workers + config.n_queue, config.n_tenant_in_flight)
        self.workers: ReportWorkers | None = None
        self.ready = False
        self.draining = False
        self.warmup_s: float | None = None


def _accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "*"):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def create_app(config: ServiceConfig | None = None) -> Starlette:
    """Build the ASGI application of the segmentation-report endpoint.

    Parameters
    ----------
    config : ServiceConfig, optional
        Settings; :meth:`ServiceConfig.from_env` when None.

    Returns
    -------
    starlette.applications.Starlette
        Routes: ``POST`` the report route, ``GET /healthz``, ``/readyz``, ``/openapi.json``.
        ``app.state.segengine`` holds the runtime state (``draining`` may be set to refuse new work).
    """
    config = config if config is not None else ServiceConfig.from_env()
    state = _State(config)
    openapi_bytes = encode_json(openapi_document())

    def respond(
        request: Request, status: int, body: bytes, headers: dict[str, str] | None = None,
        *, compress: bool = True, gzipped: bool = False,
    ) -> Response:
        out = {"X-Request-ID": request.state.request_id, "Vary": "Accept-Encoding"}
        out.update(headers or {})
        if not gzipped and compress and len(body) >= config.gzip_min_bytes and _accepts_gzip(
                request.headers.get("accept-encoding")):
            body = gzip_bytes(body, config.gzip_level)
            gzipped = True
        if gzipped:
            out["Content-Encoding"] = "gzip"
        return Response(body, status_code=status, headers=out, media_type="application/json")

    def problem(request: Request, status: int, language: str, key: str, details: dict[str, str] | None = None,
                *, retry_after: int | None = None, headers: dict[str, str] | None = None, **params: Any) -> Response:
        body = service_error_body(status, language, key, details, retry_after=retry_after, **params)
        request.state.error = body["error"]
        extra = dict(headers or {})
        if retry_after is not None and status in (429, 500, 503):
            extra["Retry-After"] = str(int(retry_after))
        return respond(request, status, encode_json(body), extra)

    def service_error(request: Request, language: str, key: str) -> Response:
        body = {"error": "Service error", "message": error_text(language, "service_error")
                if key == "service_error" else text(language, key), "retry_after": config.retry_after_s}
        request.state.error = "Service error"
        return respond(request, 500, encode_json(body), {"Retry-After": str(config.retry_after_s)})

    def refused(request: Request, language: str, tenant_id: str, verdict: Verdict) -> Response:
        # Not admitted: the request does not count against the tenant's rate limit.
        state.limiter.refund(tenant_id)
        if verdict.status == 429:
            return problem(request, 429, language, "tenant_busy", retry_after=verdict.retry_after,
                           limit=state.admission.per_tenant)
        return problem(request, 503, language, "busy", retry_after=verdict.retry_after)

    async def report(request: Request) -> Response:
        headers = request.headers
        raw_language = headers.get("accept-language", "")
        language = parse_accept_language(raw_language) if raw_language else "en"
        if state.draining:
            return problem(request, 503, language, "draining", retry_after=1, headers={"Connection": "close"})
        config.tenants.refresh()
        try:
            identity = authenticate(config.tenants, headers, config.default_tenant)
        except AuthError as exc:
            extra = {"WWW-Authenticate": 'Bearer realm="segengine"'} if exc.status == 401 else None
            if exc.status == 401 and "bad_token" in exc.details.values():
                extra = {"WWW-Authenticate": 'Bearer realm="segengine", error="invalid_token"'}
            return problem(request, exc.status, language, exc.message_key, exc.details, headers=extra)
        tenant = identity.tenant
        request.state.tenant = tenant.tenant_id
        try:
            encoding = content_encoding(headers.get("content-encoding"))
        except BodyError:
            return problem(request, 415, language, "bad_encoding", {"headers.Content-Encoding": "bad_encoding_detail"})
        if not is_json_type(headers.get("content-type")):
            return problem(request, 415, language, "bad_type", {"headers.Content-Type": "bad_type_detail"})
        mb = round(config.max_body_bytes / 2**20, 1)
        mb_text = f"{mb:g}"
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body_bytes:
            return problem(request, 413, language, "too_large", {"body": "too_large_detail"}, mb=mb_text, after="",
                           headers={"Connection": "close"})
        wait = state.limiter.acquire(tenant.tenant_id, tenant.rate_limit)
        if wait:
            return problem(request, 429, language, "rate_limited", retry_after=wait, limit=tenant.rate_limit)
        # Refuse before receiving the body what admission would refuse after it: a refusal gives the
        # rate-limit token back, so it must cost no more than the authentication.
        early = state.admission.check(tenant.tenant_id)
        if early.status:
            return refused(request, language, tenant.tenant_id, early)
        reading = state.body_reads.try_start(tenant.tenant_id)
        if reading:
            return refused(request, language, tenant.tenant_id, Verdict(reading, 1))
        try:
            raw = await read_body(request.stream(), encoding, config.max_body_bytes)
        except ClientDisconnect:
            # Nobody is left to answer; the status is for the log line only.
            request.state.error = "Client disconnected"
            return Response(status_code=499)
        except BodyError as exc:
            if exc.status == 413:
                after = text(language, "after_gzip") if exc.reason == "decoded" else ""
                return problem(request, 413, language, "too_large", {"body": "too_large_detail"}, mb=mb_text,
                               after=after, headers={"Connection": "close"})
            return problem(request, 400, language, "bad_gzip", {"body": "bad_gzip_detail"})
        finally:
            state.body_reads.done(tenant.tenant_id)
        request.state.bytes_in = len(raw)
        verdict = state.admission.try_admit(tenant.tenant_id)
        if verdict.status:
            return refused(request, language, tenant.tenant_id, verdict)
        assert state.workers is not None
        fault = headers.get("x-segengine-fault") if config.fault_injection else None
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        gzip_level = config.gzip_level if _accepts_gzip(headers.get("accept-encoding")) else None
        try:
            future = state.workers.submit(raw, raw_language, fault, gzip_level, config.gzip_min_bytes)
        except BaseException:
            state.admission.release(tenant.tenant_id)  # never leak a place
            raise

        def finished(_: Any) -> None:
            # The place is given back when the worker is really free, also after a time-out.
            with contextlib.suppress(RuntimeError):  # the loop is gone: the server has stopped
                loop.call_soon_threadsafe(state.admission.release, tenant.tenant_id,
                                          time.perf_counter() - started)

        future.add_done_callback(finished)
        try:
            outcome: Outcome = await asyncio.wait_for(asyncio.wrap_future(future), config.request_timeout_s)
        except asyncio.TimeoutError:
            _log.error("report exceeded the time limit of %.1f s", config.request_timeout_s,
                       extra={"segengine_fields": {"request_id": request.state.request_id, "tenant": tenant.tenant_id}})
            return service_error(request, language, "timeout")
        except Exception:  # noqa: BLE001 - the service boundary: a fault is a 500, the server goes on
            _log.exception("report worker failed",
                           extra={"segengine_fields": {"request_id": request.state.request_id,
                                                       "tenant": tenant.tenant_id}})
            return service_error(request, language, "service_error")
        request.state.records = outcome.n_records
        if outcome.status >= 400:
            request.state.error = _error_category(outcome.body, outcome.gzipped)
        extra = {"Retry-After": str(config.retry_after_s)} if outcome.status == 500 else None
        return respond(request, outcome.status, outcome.body, extra, compress=False, gzipped=outcome.gzipped)

    async def healthz(request: Request) -> Response:
        return respond(request, 200, b'{"status":"ok"}', compress=False)

    async def readyz(request: Request) -> Response:
        if state.draining:
            return respond(request, 503, b'{"status":"draining"}', compress=False)
        if not state.ready:
            return respond(request, 503, b'{"status":"warming up"}', compress=False)
        return respond(request, 200, b'{"status":"ready"}', compress=False)

    async def openapi(request: Request) -> Response:
        return respond(request, 200, openapi_bytes)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        language = parse_accept_language(request.headers.get("accept-language", "") or "en")
        if status == 405:
            allow = getattr(exc, "headers", None) or {}
            return problem(request, 405, language, "method", headers=dict(allow))
        return problem(request, 404 if status == 404 else status, language, "not_found")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.workers = ReportWorkers(config.n_workers)
        if config.warmup:
            future = state.workers.submit_warmup()

            def warmed(f: Any) -> None:
                def mark() -> None:
                    if f.exception() is None:
                        state.warmup_s = f.result()
                        state.ready = True
                        _log.info("kernels warm in %.2f s; ready", state.warmup_s)
                    else:
                        _log.error("warm-up failed", exc_info=f.exception())
                        state.ready = True  # requests still work; they compile on first use
                with contextlib.suppress(RuntimeError):  # stopped before the warm-up ended
                    loop.call_soon_threadsafe(mark)

            loop = asyncio.get_running_loop()
            future.add_done_callback(warmed)
        else:
            state.ready = True
        try:
            yield
        finally:
            state.draining = True
            await asyncio.to_thread(state.workers.shutdown)

    async def unexpected(request: Request, exc: Exception) -> Response:
        _log.error("unexpected error in the service", exc_info=exc)
        language = parse_accept_language(request.headers.get("accept-language", "") or "en")
        return service_error(request, language, "service_error")

    app = Starlette(
        routes=[
            Route(ROUTE, report, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: unexpected},
        middleware=[Middleware(_RequestLog)],
        lifespan=lifespan,
    )
    app.state.segengine = state
    return app


def _error_category(body: bytes, gzipped: bool) -> str | None:
    if gzipped:
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    match = re.match(rb'\{"error":"([^"]{1,64})"', body)
    return match.group(1).decode() if match else None


class _RequestLog:
    """ASGI middleware: request id in and out, one log line per HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID.match(candidate):
                    request_id = candidate
                break
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})
        scope["state"].update(request_id=request_id, tenant=None, records=None, error=None, bytes_in=None)
        status = {"code": 500, "bytes": 0}

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            st = scope["state"]
            log_request({
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "tenant": st.get("tenant"),
                "status": status["code"],
                "error": st.get("error"),
                "records": st.get("records"),
                "bytes_in": st.get("bytes_in"),
                "bytes_out": status["bytes"],
                "ms": round(1000 * (time.perf_counter() - started), 1),
            })

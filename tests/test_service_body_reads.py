"""Bodies being received count against a tenant's share: one tenant opening many slow uploads of
up to 20 MB each must not hold gigabytes of memory nor every place, and another tenant still gets
its body read. Driven in process through the ASGI interface, with bodies that stall on purpose."""

from __future__ import annotations

import asyncio
import json

import pytest

from segengine.service import create_app, tenants as t
from segengine.service.config import ROUTE, ServiceConfig
from segengine.service.store import TenantStore

A = "00000001-1111-4111-8111-000000000001"
B = "00000002-1111-4111-8111-000000000002"


def _app():
    document = {"format": t.FORMAT, "version": t.VERSION, "tenants": {}}
    keys = {}
    for tenant in (A, B):
        token, secret = t.new_token(), t.new_secret()
        t.add_key(document, tenant, token, secret, 1000)
        keys[tenant] = (token, secret)
    store = TenantStore(t.parse_document(document, "test"))
    config = ServiceConfig(tenants=store, workers=2, queue_size=4, warmup=False)
    return create_app(config), keys, config


async def _start(app, tenant, keys, reads: list, gate: asyncio.Event):
    token, secret = keys[tenant]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": ROUTE, "raw_path": ROUTE.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"x-customer-api-id", tenant.encode()),
                    (b"x-secret", secret.encode()), (b"content-type", b"application/json")],
    }
    sent: list[dict] = []
    first = [True]

    async def receive():
        if first[0]:
            first[0] = False
            reads.append(tenant)
            return {"type": "http.request", "body": b'{"data": [' + b" " * 1024, "more_body": True}
        await gate.wait()  # the rest of the body never comes during the test
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    task = asyncio.create_task(app(scope, receive, send))
    return task, sent


def _status(sent: list[dict]) -> int | None:
    for message in sent:
        if message["type"] == "http.response.start":
            return message["status"]
    return None


def test_one_tenants_stalled_uploads_are_capped_and_another_tenant_is_still_read():
    app, keys, config = _app()

    async def scenario():
        gate = asyncio.Event()
        reads: list[str] = []
        started = []
        for _ in range(config.n_tenant_in_flight + 5):
            started.append(await _start(app, A, keys, reads, gate))
        await asyncio.sleep(0.05)
        refused = [sent for _, sent in started if _status(sent) is not None]
        other_task, other_sent = await _start(app, B, keys, reads, gate)
        await asyncio.sleep(0.05)
        snapshot = (list(reads), [_status(s) for s in refused], [json.loads(s[1]["body"]) for s in refused],
                    _status(other_sent))
        gate.set()
        for task, _ in [*started, (other_task, other_sent)]:
            task.cancel()
        await asyncio.gather(*[task for task, _ in started], other_task, return_exceptions=True)
        return snapshot

    reads, statuses, bodies, other = asyncio.run(scenario())
    # Tenant A holds at most its in-flight share of bodies in memory; the others are refused at once,
    # before their bodies are read, with the contract's 429.
    assert reads.count(A) == config.n_tenant_in_flight
    assert statuses == [429] * 5
    assert all(body["error"] == "Too many requests" and body["retry_after"] >= 1 for body in bodies)
    # Tenant B is not starved: its body is being read.
    assert reads.count(B) == 1 and other is None


@pytest.mark.parametrize("full", ["tenant", "server"])
def test_a_request_that_admission_would_refuse_is_refused_before_its_body_is_read(full):
    # A refused admission gives the rate-limit token back; were the body read first, a tenant at its
    # in-flight cap could send unlimited 20 MB bodies (decoded on the event loop) at no quota cost.
    app, keys, config = _app()
    state = app.state.segengine
    if full == "tenant":
        for _ in range(config.n_tenant_in_flight):
            assert state.admission.try_admit(A).status == 0
    else:
        for i in range(config.n_workers + config.n_queue):
            assert state.admission.try_admit(f"other-{i}").status == 0

    async def scenario():
        gate = asyncio.Event()
        reads: list[str] = []
        task, sent = await _start(app, A, keys, reads, gate)
        await asyncio.sleep(0.05)
        gate.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return reads, sent

    reads, sent = asyncio.run(scenario())
    assert reads == []
    expected = 429 if full == "tenant" else 503
    assert _status(sent) == expected
    body = json.loads(sent[1]["body"])
    assert body["error"] == ("Too many requests" if full == "tenant" else "Service unavailable")
    assert body["retry_after"] >= 1

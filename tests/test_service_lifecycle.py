"""The service's life cycle and its parts: SIGTERM drains requests in flight, ``segengine serve``
without the extra, the ``tenants`` command, and the units (rate limiter, admission, body reader,
authentication, tenants store, settings) checked directly."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import httpx
import pytest

from segengine.cli import main
from segengine.service import tenants as t
from segengine.service.auth import AuthError, authenticate
from segengine.service.body import BodyError, content_encoding, is_json_type, read_body
from segengine.service.config import ConfigError, ServiceConfig
from segengine.service.limits import Admission, RateLimiter
from segengine.service.store import TenantStore

from service_helpers import ROOT, start_server

TENANT = "3f1c2b9e-8d4a-4c7e-9b1a-2d5e6f7a8b9c"
OTHER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


# ------------------------------------------------------------------------------ a real process


def test_sigterm_lets_the_request_in_flight_complete(tmp_path):
    server = start_server(tmp_path, {"a": 1000}, env={"SEGENGINE_WARMUP": "0", "SEGENGINE_FAULT_INJECTION": "1"})
    try:
        key = server.keys["a"]
        body = json.dumps({"data": [{"id": i, "x": float(i % 7), "y": float(i % 3)} for i in range(40)]}).encode()
        # A generous time-out: on a cold numba cache the first report compiles its kernels.
        assert httpx.post(server.endpoint, content=body, headers=key.headers(), timeout=300).status_code == 200
        result: dict[str, httpx.Response] = {}

        def slow() -> None:
            result["r"] = httpx.post(server.endpoint, content=body, timeout=60,
                                     headers=key.headers(**{"X-Segengine-Fault": "sleep=2500"}))

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(1.0)  # the request is in the worker now
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        try:  # no new work once draining: the socket is closed or the answer is 503
            late = httpx.post(server.endpoint, content=body, headers=key.headers(), timeout=10).status_code
        except httpx.TransportError:
            late = None
        assert late in (None, 503)
        thread.join(30)
        assert result["r"].status_code == 200 and len(result["r"].json()["results"]) == 40
        assert server.process.wait(30) in (0, -signal.SIGTERM)
        assert any('"Shutting down"' in line for line in server.log_lines())
    finally:
        server.stop()


def test_500_when_the_time_limit_passes_and_the_server_keeps_serving(tmp_path):
    server = start_server(tmp_path, {"a": 1000}, env={
        "SEGENGINE_WARMUP": "0", "SEGENGINE_FAULT_INJECTION": "1", "SEGENGINE_REQUEST_TIMEOUT_S": "1.5",
        "SEGENGINE_WORKERS": "1"})
    try:
        key = server.keys["a"]
        started = time.monotonic()
        response = httpx.post(server.endpoint, content=b'{"data": []}', timeout=30,
                              headers=key.headers(**{"X-Segengine-Fault": "sleep=3000", "Accept-Language": "es"}))
        elapsed = time.monotonic() - started
        assert response.status_code == 500 and response.headers["retry-after"] == "60"
        body = response.json()
        assert body["error"] == "Service error" and body["retry_after"] == 60 and "tiempo" in body["message"]
        assert 1.4 <= elapsed < 2.9  # answered at the limit, not when the work ended
        # The only worker is busy until the slow request ends (at about 3 s); then the server
        # answers again, and both of the tenant's places are free.
        time.sleep(2.0)
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(httpx.post(
            server.endpoint, content=b'{"data": []}', headers=key.headers(), timeout=30).status_code))
            for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert statuses == [400, 400]
    finally:
        server.stop()


def test_serve_without_the_extra_says_how_to_install(tmp_path):
    code = ("import sys; sys.modules['uvicorn'] = None; sys.modules['starlette'] = None\n"
            "from segengine.cli import main; sys.exit(main(['serve', '--port', '0']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=False)
    assert out.returncode == 1
    assert 'pip install "segengine[service]"' in out.stderr and "Traceback" not in out.stderr


def test_the_library_and_the_cli_never_import_the_web_stack():
    code = ("import sys, io, contextlib\n"
            "import segengine\n"
            "from segengine.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['demo', '--n', '200', '--json']) == 0\n"
            "    assert main(['tenants', 'list', '--help']) == 0\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'orjson', 'httpx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ------------------------------------------------------------------------------ segengine tenants


def test_tenants_add_list_revoke(tmp_path, capsys):
    path = str(tmp_path / "tenants.json")
    assert main(["tenants", "add", path, "--tenant", TENANT, "--rate-limit", "50"]) == 0
    out = capsys.readouterr().out
    token = out.split("token: ")[1].split()[0]
    secret = out.split("secret: ")[1].split()[0]
    assert len(secret) == 64 and len(token) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        text = handle.read()
    assert token not in text and secret not in text  # digests only
    second_token, second_secret = "t" * 40, "s" * 64
    assert main(["tenants", "add", path, "--tenant", TENANT.upper(), "--token", second_token,
                 "--secret", second_secret]) == 0
    out = capsys.readouterr().out
    assert second_token not in out and second_secret not in out  # given keys are not echoed
    assert main(["tenants", "add", path, "--tenant", OTHER, "--token", second_token, "--secret", second_secret]) == 1
    assert "already a key" in capsys.readouterr().err
    store = TenantStore.from_file(path)
    assert store.get(TENANT).rate_limit == 50 and len(store.get(TENANT).keys) == 2
    assert store.lookup_token(token)[0].tenant_id == TENANT
    assert TenantStore.secret_matches(store.lookup_token(token)[1], secret)
    assert not TenantStore.secret_matches(store.lookup_token(token)[1], second_secret)

    assert main(["tenants", "list", path]) == 0
    listing = capsys.readouterr().out
    assert TENANT in listing and "50" in listing and token not in listing and secret not in listing
    assert "sha256" not in listing
    assert main(["tenants", "list", path, "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed[0]["tenant"] == TENANT and len(parsed[0]["keys"]) == 2

    assert main(["tenants", "revoke", path, "--tenant", TENANT, "--token", token]) == 0
    capsys.readouterr()
    store = TenantStore.from_file(path)
    assert store.lookup_token(token) is None and store.lookup_token(second_token) is not None
    assert main(["tenants", "revoke", path, "--tenant", TENANT, "--token", token]) == 1
    assert main(["tenants", "revoke", path, "--tenant", TENANT]) == 0
    assert len(TenantStore.from_file(path)) == 0


@pytest.mark.parametrize("args, message", [
    (["--tenant", "not-a-uuid"], "not a UUID"),
    (["--tenant", "3f1c2b9e-8d4a-1c7e-9b1a-2d5e6f7a8b9c"], "version 4"),
    (["--tenant", TENANT, "--token", "short"], "at least 32"),
    (["--tenant", TENANT, "--secret", "x" * 63], "exactly 64"),
    (["--tenant", TENANT, "--token", "a b" * 20], "without spaces"),
])
def test_tenants_add_refuses_bad_values(tmp_path, capsys, args, message):
    path = str(tmp_path / "tenants.json")
    assert main(["tenants", "add", path, *args]) == 1
    assert message in capsys.readouterr().err
    assert not os.path.exists(path)


def test_tenants_file_errors_are_clear(tmp_path, capsys):
    path = tmp_path / "tenants.json"
    path.write_text("{not json")
    assert main(["tenants", "list", str(path)]) == 1
    assert "is not JSON" in capsys.readouterr().err
    path.write_text(json.dumps({"format": "segengine-tenants", "version": 1,
                                "tenants": {TENANT: {"rate_limit": 0, "keys": []}}}))
    assert main(["tenants", "list", str(path)]) == 1
    assert "rate_limit" in capsys.readouterr().err
    assert main(["tenants", "list", str(tmp_path / "missing.json")]) == 1


# ------------------------------------------------------------------------------ units


def _store(tmp_path=None):
    document = {"format": t.FORMAT, "version": t.VERSION, "tenants": {}}
    t.add_key(document, TENANT, "A" * 40, "a" * 64)
    t.add_key(document, OTHER, "B" * 40, "b" * 64)
    if tmp_path is None:
        return TenantStore(t.parse_document(document, "test"))
    path = str(tmp_path / "tenants.json")
    t.save_document(path, document)
    return TenantStore.from_file(path), path, document


def test_authenticate_rules():
    store = _store()
    good = {"authorization": "Bearer " + "A" * 40, "x-customer-api-id": TENANT, "x-secret": "a" * 64}
    assert authenticate(store, good).tenant.tenant_id == TENANT
    assert authenticate(store, {**good, "x-customer-api-id": TENANT.upper()}).tenant.tenant_id == TENANT

    def status(headers, default=None):
        try:
            authenticate(store, headers, default)
        except AuthError as exc:
            return exc.status, exc.details
        return 200, None

    assert status({})[0] == 401
    assert status({**good, "authorization": "bearer " + "A" * 40})[0] == 200  # scheme is case-insensitive
    assert status({**good, "authorization": "Token " + "A" * 40})[0] == 401
    assert status({**good, "authorization": "Bearer " + "C" * 40})[0] == 401
    # A wrong secret, another tenant, a tenant that does not exist: the same answer.
    wrong = [status({**good, "x-secret": "b" * 64}), status({**good, "x-customer-api-id": OTHER}),
             status({**good, "x-customer-api-id": "00000000-0000-4000-8000-000000000000"})]
    assert wrong[0] == wrong[1] == wrong[2] == (403, {"headers": "tenant_mismatch"})
    no_headers = {"authorization": good["authorization"]}
    assert status(no_headers) == (403, {"headers.X-Customer-Api-Id": "tenant_missing"})
    assert status(no_headers, default=TENANT)[0] == 200
    assert status(no_headers, default=OTHER)[0] == 403
    assert status({**no_headers, "x-secret": "b" * 64}, default=TENANT)[0] == 403  # a given secret is checked
    assert status({**no_headers, "x-customer-api-id": TENANT})[1] == {"headers.X-Secret": "secret_missing"}
    assert status({**good, "x-secret": "é" * 64})[0] == 403  # non-ASCII never breaks the comparison


def test_tenant_store_reloads_a_changed_file_and_keeps_keys_when_it_breaks(tmp_path):
    store, path, document = _store(tmp_path)
    store._interval = 0.0
    t.add_key(document, TENANT, "N" * 40, "n" * 64)
    time.sleep(0.01)
    t.save_document(path, document)
    store.refresh()
    assert store.lookup_token("N" * 40) is not None
    with open(path, "w") as handle:
        handle.write("{broken")
    store.refresh()
    assert store.lookup_token("N" * 40) is not None and store.lookup_token("A" * 40) is not None


def test_rate_limiter_is_a_token_bucket_per_tenant():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.acquire("a", 6) for _ in range(6)] == [0] * 6   # a burst of one minute's worth
    assert limiter.acquire("a", 6) == 10                            # then one every 10 s
    assert limiter.acquire("b", 6) == 0                             # b has its own bucket
    now[0] = 9.0
    assert limiter.acquire("a", 6) == 1
    now[0] = 10.0
    assert limiter.acquire("a", 6) == 0
    now[0] = 1000.0
    assert [limiter.acquire("a", 6) for _ in range(7)] == [0] * 6 + [10]  # never more than the burst
    limiter.refund("a")
    assert limiter.acquire("a", 6) == 0


def test_admission_bounds_places_and_the_tenant_share():
    admission = Admission(workers=2, queue=2, per_tenant=3)
    assert [admission.try_admit("a").status for _ in range(4)] == [0, 0, 0, 429]
    assert admission.try_admit("b").status == 0
    verdict = admission.try_admit("c")
    assert verdict.status == 503 and verdict.retry_after >= 1
    admission.release("a", 0.05)
    assert admission.try_admit("c").status == 0
    assert admission.in_flight == 4


def _chunks(*parts: bytes):
    async def gen():
        for part in parts:
            yield part
    return gen()


def _read(encoding: str, limit: int, *parts: bytes) -> bytes:
    return asyncio.run(read_body(_chunks(*parts), encoding, limit))


def test_read_body_limits_and_gzip():
    doc = b'{"data": [' + b"1, " * 1000 + b"1]}"
    packed = gzip.compress(doc)
    assert _read("gzip", 10**6, packed[:10], packed[10:]) == doc
    assert _read("gzip", 10**6, gzip.compress(b"ab") + gzip.compress(b"cd")) == b"abcd"  # two members
    assert _read("identity", 100, b"x" * 60, b"y" * 40) == b"x" * 60 + b"y" * 40
    with pytest.raises(BodyError) as err:
        _read("identity", 100, b"x" * 60, b"y" * 41)
    assert err.value.status == 413
    with pytest.raises(BodyError) as err:
        _read("gzip", len(doc) - 1, packed)
    assert (err.value.status, err.value.reason) == (413, "decoded")
    with pytest.raises(BodyError) as err:
        _read("gzip", 10**6, packed[:-9])
    assert err.value.status == 400
    assert content_encoding(None) == content_encoding("identity") == "identity"
    assert content_encoding("GZIP") == content_encoding("identity, gzip") == "gzip"
    for bad in ("br", "gzip, gzip", "deflate"):
        with pytest.raises(BodyError):
            content_encoding(bad)
    assert is_json_type(None) and is_json_type("application/json; charset=utf-8")
    assert is_json_type("application/vnd.api+json") and not is_json_type("text/plain")


def test_settings_from_the_environment(tmp_path):
    _, path, _ = _store(tmp_path)
    config = ServiceConfig.from_env({"SEGENGINE_TENANTS_FILE": path, "SEGENGINE_WORKERS": "3",
                                     "SEGENGINE_DEFAULT_TENANT": TENANT.upper(), "SEGENGINE_GZIP_LEVEL": "6"})
    assert len(config.tenants) == 2 and config.n_workers == 3 and config.n_queue == 6
    assert config.n_tenant_in_flight == 4 and config.default_tenant == TENANT and config.gzip_level == 6
    with open(path) as handle:
        inline = ServiceConfig.from_env({"SEGENGINE_TENANTS": handle.read()})
    assert inline.tenants.lookup_token("A" * 40) is not None
    assert config.fault_injection is False and ServiceConfig().max_body_bytes == 20 * 1024 * 1024
    for env in ({"SEGENGINE_WORKERS": "two"}, {"SEGENGINE_WORKERS": "0"}, {"SEGENGINE_DEFAULT_TENANT": "x"},
                {"SEGENGINE_TENANTS_FILE": str(tmp_path / "missing.json")}, {"SEGENGINE_GZIP_LEVEL": "12"}):
        with pytest.raises(ConfigError):
            ServiceConfig.from_env(env)


def test_serve_with_an_unreadable_tenants_file_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "segengine", "serve", "--port", "0", "--tenants",
                          str(tmp_path / "missing.json")], capture_output=True, text=True, env=_env(),
                         check=False, timeout=60)
    assert out.returncode == 1
    assert "cannot read" in out.stderr and "Traceback" not in out.stderr


def test_fault_injection_is_off_unless_configured():
    from segengine.service import create_app

    store = _store()
    headers = {"Authorization": "Bearer " + "A" * 40, "X-Customer-Api-Id": TENANT, "X-Secret": "a" * 64,
               "X-Segengine-Fault": "error"}

    async def status(enabled: bool) -> int:
        app = create_app(ServiceConfig(tenants=store, warmup=False, fault_injection=enabled))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
                response = await client.post("/api/v1/ai/echointel/customer-intelligence/segmentation-report",
                                             content=b'{"data": []}', headers=headers)
                return response.status_code

    assert asyncio.run(status(False)) == 400
    assert asyncio.run(status(True)) == 500


def test_generated_tokens_never_start_with_a_dash():
    # A token starting with "-" cannot follow --token on a command line (argparse reads it as an
    # option), so `segengine tenants revoke --token ...` would fail for one key in 64.
    from segengine.service.tenants import new_token

    assert not any(new_token().startswith("-") for _ in range(2000))

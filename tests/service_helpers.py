"""A real ``segengine serve`` process on a free loopback port, for the service tests.

Not a test module: ``tests/conftest.py`` imports the ``service`` fixture from here, so that one
server (session scope) serves every service test module; importing this module imports no web
stack (httpx is imported when a server is waited for).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from segengine.service import tenants as t

ROOT = Path(__file__).resolve().parent.parent
ROUTE = "/api/v1/ai/echointel/customer-intelligence/segmentation-report"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class TenantKey:
    tenant: str
    token: str
    secret: str
    rate_limit: int

    def headers(self, **extra: str) -> dict[str, str]:
        out = {
            "Authorization": f"Bearer {self.token}",
            "X-Customer-Api-Id": self.tenant,
            "X-Secret": self.secret,
            "Content-Type": "application/json",
        }
        out.update(extra)
        return out


def make_tenants(path: Path, limits: dict[str, int]) -> dict[str, TenantKey]:
    """A tenants file with one tenant per name (fixed UUIDs v4, fresh random keys)."""
    document = {"format": t.FORMAT, "version": t.VERSION, "tenants": {}}
    keys = {}
    for i, (name, limit) in enumerate(limits.items()):
        tenant = f"{i + 1:08x}-1111-4111-8111-{i + 1:012x}"
        token, secret = t.new_token(), t.new_secret()
        t.add_key(document, tenant, token, secret, limit)
        keys[name] = TenantKey(tenant, token, secret, limit)
    t.save_document(str(path), document)
    return keys


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    tenants_path: Path
    keys: dict[str, TenantKey] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.url + ROUTE

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def wait_ready(self, timeout: float = 300.0) -> None:  # a cold numba cache compiles at warm-up
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited:\n" + "\n".join(self.log_lines()[-30:]))
            try:
                if httpx.get(self.url + "/readyz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready in time:\n" + "\n".join(self.log_lines()[-30:]))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(tmp: Path, limits: dict[str, int], env: dict[str, str] | None = None,
                 args: list[str] | None = None, wait: bool = True) -> Server:
    """``python -m segengine serve`` as the README says, with a fresh tenants file."""
    tmp.mkdir(parents=True, exist_ok=True)
    tenants_path = tmp / "tenants.json"
    keys = make_tenants(tenants_path, limits)
    port = free_port()
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    full_env.update(env or {})
    log_path = tmp / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - kept open for the process's lifetime
    process = subprocess.Popen(
        [sys.executable, "-m", "segengine", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--tenants", str(tenants_path), *(args or [])],
        stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=str(tmp),
    )
    server = Server(process, port, log_path, tenants_path, keys)
    if wait:
        try:
            server.wait_ready()
        except Exception:
            server.stop()
            raise
    return server


# ------------------------------------------------------------------------------ the shared server

import pytest  # noqa: E402  (only the shared-server fixtures below need pytest)

# Tenants of the shared server: name -> requests per minute.
LIMITS = {
    "main": 100_000, "default": 100_000, "other": 100_000, "limited": 3,
    "hammer_a": 4, "hammer_b": 7, "busy_a": 100_000, "busy_b": 100_000, "schema": 1_000_000,
    "rotation": 100_000,
}
MAX_BODY = 4 * 1024 * 1024


@pytest.fixture(scope="session", name="service")
def service_fixture(tmp_path_factory):
    """One ``segengine serve`` for the service test modules: 2 workers, 1 queue place (3 places,
    at most 3 per tenant), 4 MB bodies, test-only fault injection. The time limit stays at its
    default (60 s): on a cold numba cache a first report may compile kernels for seconds."""
    tmp = tmp_path_factory.mktemp("service")
    # The default tenant is the second one make_tenants creates ("default").
    default_tenant = "00000002-1111-4111-8111-000000000002"
    server = start_server(tmp, LIMITS, env={
        "SEGENGINE_WORKERS": "2",
        "SEGENGINE_QUEUE_SIZE": "1",
        "SEGENGINE_MAX_BODY_BYTES": str(MAX_BODY),
        "SEGENGINE_FAULT_INJECTION": "1",
        "SEGENGINE_DEFAULT_TENANT": default_tenant,
    })
    assert server.keys["default"].tenant == default_tenant
    yield server
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after draining

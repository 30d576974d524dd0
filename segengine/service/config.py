"""Every setting of the HTTP service, with its default and environment variable.

The defaults follow the seed: 20 MB bodies, 100 requests per minute per tenant, ``retry_after``
of 60 s on a service error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from segengine.service.store import TenantStore
from segengine.service.tenants import TenantsFileError, check_tenant_id

__all__ = ["ROUTE", "ConfigError", "ServiceConfig"]

ROUTE = "/api/v1/ai/echointel/customer-intelligence/segmentation-report"
MB = 1024 * 1024


class ConfigError(ValueError):
    """A setting that cannot be used (bad value, unreadable tenants file)."""


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of :func:`segengine.service.create_app`.

    Parameters
    ----------
    tenants : TenantStore
        The tenants and keys accepted. An empty store refuses every request (401).
    default_tenant : str, optional
        A UUID v4: requests without ``X-Customer-Api-Id`` and ``X-Secret`` act as this tenant
        (their bearer token must still be one of its keys).
    workers : int, optional
        Reports computed at once (threads); the number of cores when None.
    queue_size : int, optional
        Admitted requests waiting for a worker before new ones get 503; ``2 * workers`` when None.
    tenant_max_in_flight : int, optional
        Requests of one tenant running or waiting at once (429 above); ``workers + 1`` when None,
        so that one tenant cannot fill the queue while others wait.
    max_body_bytes : int
        Largest request body, as sent and after gzip decoding (413 above).
    request_timeout_s : float
        Time limit of one report, queueing included (500 ``Service error`` above).
    retry_after_s : int
        ``retry_after`` of a 500 (the seed's 60 s).
    gzip_min_bytes, gzip_level : int
        Responses at least this long are gzipped when the client accepts it, at this level.
    drain_timeout_s : float
        How long SIGTERM waits for requests in flight before exiting anyway.
    warmup : bool
        Compile or load the numba kernels at start-up; ``/readyz`` answers 503 until done.
    fault_injection : bool
        Test only: honour the ``X-Segengine-Fault`` header (``error``, ``sleep=MS``) so that tests
        can produce a 500, a time-out or a busy server on purpose. Never enable in production.
    """

    tenants: TenantStore = field(default_factory=lambda: TenantStore({}))
    default_tenant: str | None = None
    workers: int | None = None
    queue_size: int | None = None
    tenant_max_in_flight: int | None = None
    max_body_bytes: int = 20 * MB
    request_timeout_s: float = 60.0
    retry_after_s: int = 60
    gzip_min_bytes: int = 1024
    gzip_level: int = 1
    drain_timeout_s: float = 90.0
    warmup: bool = True
    fault_injection: bool = False

    def __post_init__(self) -> None:
        if self.default_tenant is not None:
            try:
                object.__setattr__(self, "default_tenant", check_tenant_id(self.default_tenant))
            except TenantsFileError as exc:
                raise ConfigError(f"default tenant: {exc}") from None
        for name in ("workers", "queue_size", "tenant_max_in_flight"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < (0 if name == "queue_size" else 1)):
                raise ConfigError(f"{name} must be a positive whole number, got {value!r}")
        if self.max_body_bytes < 1 or self.request_timeout_s <= 0 or not 1 <= self.gzip_level <= 9:
            raise ConfigError("max_body_bytes and request_timeout_s must be positive, gzip_level 1..9")

    @property
    def n_workers(self) -> int:
        """Worker threads in use."""
        return self.workers or max(1, os.cpu_count() or 1)

    @property
    def n_queue(self) -> int:
        """Waiting places in use."""
        return 2 * self.n_workers if self.queue_size is None else self.queue_size

    @property
    def n_tenant_in_flight(self) -> int:
        """Per-tenant cap in use."""
        return self.tenant_max_in_flight or self.n_workers + 1

    def with_overrides(self, **changes: Any) -> ServiceConfig:
        """A copy with some settings changed (None values are ignored).

        Returns
        -------
        ServiceConfig
        """
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, tenants_file: str | None = None) -> ServiceConfig:
        """Settings from ``SEGENGINE_*`` environment variables.

        ``SEGENGINE_TENANTS_FILE`` (or ``tenants_file``) names the tenants file;
        ``SEGENGINE_TENANTS`` may hold the document itself as JSON. The others:
        ``SEGENGINE_DEFAULT_TENANT``, ``SEGENGINE_WORKERS``, ``SEGENGINE_QUEUE_SIZE``,
        ``SEGENGINE_TENANT_MAX_IN_FLIGHT``, ``SEGENGINE_MAX_BODY_BYTES``,
        ``SEGENGINE_REQUEST_TIMEOUT_S``, ``SEGENGINE_GZIP_LEVEL``, ``SEGENGINE_DRAIN_TIMEOUT_S``,
        ``SEGENGINE_WARMUP`` (0/1), ``SEGENGINE_FAULT_INJECTION`` (0/1, tests only).

        Parameters
        ----------
        env : mapping, optional
            ``os.environ`` when None.
        tenants_file : str, optional
            Takes precedence over ``SEGENGINE_TENANTS_FILE``.

        Returns
        -------
        ServiceConfig

        Raises
        ------
        ConfigError
        """
        env = os.environ if env is None else env
        path = tenants_file or env.get("SEGENGINE_TENANTS_FILE")
        try:
            if path:
                store = TenantStore.from_file(path)
            elif env.get("SEGENGINE_TENANTS"):
                store = TenantStore.from_json(env["SEGENGINE_TENANTS"])
            else:
                store = TenantStore({})
        except TenantsFileError as exc:
            raise ConfigError(str(exc)) from None

        def number(name: str, kind: type) -> Any:
            text = env.get(name)
            if text is None or text == "":
                return None
            try:
                return kind(text)
            except ValueError:
                raise ConfigError(f"{name}={text!r} is not a {kind.__name__}") from None

        def flag(name: str) -> bool | None:
            text = env.get(name)
            if text is None or text == "":
                return None
            return text.strip().lower() in ("1", "true", "yes", "on")

        return cls(tenants=store).with_overrides(
            default_tenant=env.get("SEGENGINE_DEFAULT_TENANT") or None,
            workers=number("SEGENGINE_WORKERS", int),
            queue_size=number("SEGENGINE_QUEUE_SIZE", int),
            tenant_max_in_flight=number("SEGENGINE_TENANT_MAX_IN_FLIGHT", int),
            max_body_bytes=number("SEGENGINE_MAX_BODY_BYTES", int),
            request_timeout_s=number("SEGENGINE_REQUEST_TIMEOUT_S", float),
            gzip_level=number("SEGENGINE_GZIP_LEVEL", int),
            drain_timeout_s=number("SEGENGINE_DRAIN_TIMEOUT_S", float),
            warmup=flag("SEGENGINE_WARMUP"),
            fault_injection=flag("SEGENGINE_FAULT_INJECTION"),
        )

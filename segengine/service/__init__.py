"""The seed's endpoint as an HTTP service (extra ``[service]``: starlette, uvicorn, orjson).

``create_app(config)`` returns the ASGI application; ``segengine serve`` runs it under uvicorn.
Only this package imports the web stack, and only when an application is built:
``segengine.service.tenants`` and ``segengine.service.commands`` work without the extra (the
``tenants`` subcommand manages keys on a machine without a server).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ServiceConfig", "TenantStore", "create_app"]

_LAZY = {
    "create_app": ("segengine.service.app", "create_app"),
    "ServiceConfig": ("segengine.service.config", "ServiceConfig"),
    "TenantStore": ("segengine.service.store", "TenantStore"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'segengine.service' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attr)
    globals()[name] = value
    return value

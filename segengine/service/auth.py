"""Authentication of a request from the seed's headers.

``Authorization: Bearer <token>`` names a key (401 when missing or unknown); ``X-Customer-Api-Id``
and ``X-Secret`` must be the key's tenant and secret (403 otherwise). With a default tenant
configured on the server, a request may leave out both tenant headers (the seed's "required if not
configured on the server"); its token must still be one of that tenant's keys.

Every comparison of a secret value is constant-time, and the tenant and secret are both checked
before deciding, so the answer time does not tell which of them was wrong, nor whether a tenant
exists.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from segengine.service.store import Identity, TenantStore

__all__ = ["AuthError", "authenticate"]


@dataclass
class AuthError(Exception):
    """401 or 403, with the catalogue keys of the message and of each header's detail."""

    status: int
    message_key: str
    details: dict[str, str] = field(default_factory=dict)


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def authenticate(store: TenantStore, headers: Mapping[str, str], default_tenant: str | None = None) -> Identity:
    """Identify the tenant of a request.

    Parameters
    ----------
    store : TenantStore
    headers : mapping
        Request headers with lower-case names (Starlette's ``Headers`` are case-insensitive).
    default_tenant : str, optional
        The server's default tenant id.

    Returns
    -------
    Identity

    Raises
    ------
    AuthError
        401 (no bearer token, unknown token) or 403 (missing or mismatched tenant or secret).
    """
    authorization = headers.get("authorization")
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError(401, "unauthorized", {"headers.Authorization": "no_bearer"})
    found = store.lookup_token(token)
    if found is None:
        raise AuthError(401, "unauthorized", {"headers.Authorization": "bad_token"})
    tenant, key = found
    claimed = headers.get("x-customer-api-id")
    secret = headers.get("x-secret")
    if claimed is None:
        if default_tenant is None:
            raise AuthError(403, "forbidden", {"headers.X-Customer-Api-Id": "tenant_missing"})
        claimed = default_tenant
    claimed = claimed.strip().lower()
    if secret is None and claimed != default_tenant:
        raise AuthError(403, "forbidden", {"headers.X-Secret": "secret_missing"})
    tenant_ok = hmac.compare_digest(_bytes(claimed), _bytes(tenant.tenant_id))
    secret_ok = store.secret_matches(key, secret.strip()) if secret is not None else True
    if not (tenant_ok and secret_ok):
        raise AuthError(403, "forbidden", {"headers": "tenant_mismatch"})
    return Identity(tenant, key.key_id)

"""Tenants and their keys: a JSON document holding only hashes of tokens and secrets.

The server's view of the file (look-up by token, constant-time checks, reloading) is
:mod:`segengine.service.store`.

A tenant (the seed's ``X-Customer-Api-Id``, a UUID v4) has one or more keys, each a bearer token
with its secret (the seed's ``X-Secret``). Several keys per tenant let a key be rotated without
downtime: add the new key, move the clients, revoke the old one. The server re-reads the file when
it changes.

Tokens and secrets are stored as SHA-256 digests, with a domain prefix per kind. A fast hash is
the right tool here, not a password KDF: keys are long random strings (at least 32 characters for a
token, exactly 64 for a secret; ``tenants add`` generates 256-bit ones), so there is nothing to
brute-force, and verification runs on every request.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import secrets
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Key",
    "Tenant",
    "TenantsFileError",
    "add_key",
    "check_secret",
    "check_tenant_id",
    "check_token",
    "hash_secret",
    "hash_token",
    "load_document",
    "new_secret",
    "new_token",
    "revoke",
    "save_document",
]

FORMAT = "segengine-tenants"
VERSION = 1
DEFAULT_RATE_LIMIT = 100  # requests per minute (the seed's 50-100 per tenant)
MIN_TOKEN_LENGTH = 32
SECRET_LENGTH = 64
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII, no spaces: what fits in a header


class TenantsFileError(ValueError):
    """A tenants document that cannot be read or an invalid tenant, token, secret or limit."""


def hash_token(token: str) -> str:
    """SHA-256 digest (hex) of a bearer token, as stored in the tenants document.

    Parameters
    ----------
    token : str

    Returns
    -------
    str
    """
    return hashlib.sha256(b"segengine/token\0" + token.encode("utf-8")).hexdigest()


def hash_secret(secret: str) -> str:
    """SHA-256 digest (hex) of a tenant secret, as stored in the tenants document.

    Parameters
    ----------
    secret : str

    Returns
    -------
    str
    """
    return hashlib.sha256(b"segengine/secret\0" + secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random bearer token (256 bits, URL-safe, 43 characters).

    Returns
    -------
    str
    """
    while True:
        token = secrets.token_urlsafe(32)
        # One in 64 URL-safe tokens starts with "-", which a command line then reads as an option
        # (`segengine tenants revoke --token -Ab...` fails): draw again.
        if not token.startswith("-"):
            return token


def new_secret() -> str:
    """A new random secret: 64 hexadecimal characters (256 bits), the seed's X-Secret length.

    Returns
    -------
    str
    """
    return secrets.token_hex(32)


def check_tenant_id(value: str) -> str:
    """Validate a tenant id: a UUID v4 in canonical form; returns it lower-cased.

    Parameters
    ----------
    value : str

    Returns
    -------
    str

    Raises
    ------
    TenantsFileError
    """
    try:
        parsed = uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise TenantsFileError(f"tenant id '{value}' is not a UUID") from None
    if parsed.version != 4 or str(parsed) != value.lower():
        raise TenantsFileError(f"tenant id '{value}' is not a canonical UUID version 4")
    return str(parsed)


def check_token(token: str) -> str:
    """Validate a bearer token: visible ASCII, at least 32 characters.

    Parameters
    ----------
    token : str

    Returns
    -------
    str

    Raises
    ------
    TenantsFileError
    """
    if not isinstance(token, str) or not _PRINTABLE.match(token) or len(token) < MIN_TOKEN_LENGTH:
        raise TenantsFileError(
            f"a token must be at least {MIN_TOKEN_LENGTH} visible ASCII characters without spaces"
        )
    return token


def check_secret(secret: str) -> str:
    """Validate a secret: exactly 64 visible ASCII characters.

    Parameters
    ----------
    secret : str

    Returns
    -------
    str

    Raises
    ------
    TenantsFileError
    """
    if not isinstance(secret, str) or not _PRINTABLE.match(secret) or len(secret) != SECRET_LENGTH:
        raise TenantsFileError(
            f"a secret must be exactly {SECRET_LENGTH} visible ASCII characters without spaces"
        )
    return secret


@dataclass(frozen=True)
class Key:
    """One key of a tenant: digests only, an id to name it, its creation time."""

    key_id: str
    token_sha256: str
    secret_sha256: str
    created: str


@dataclass(frozen=True)
class Tenant:
    """A tenant: its id, rate limit (requests per minute) and keys."""

    tenant_id: str
    rate_limit: int
    keys: tuple[Key, ...] = field(default_factory=tuple)


# ------------------------------------------------------------------------------ the document


def _empty_document() -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "tenants": {}}


def parse_document(document: Any, source: str) -> dict[str, Tenant]:
    """Validate a tenants document and return its tenants by id.

    Parameters
    ----------
    document : object
        The decoded JSON.
    source : str
        Where it came from, for error messages.

    Returns
    -------
    dict of str to Tenant

    Raises
    ------
    TenantsFileError
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TenantsFileError(f"{source}: not a segengine tenants document (format '{FORMAT}')")
    if document.get("version") != VERSION:
        raise TenantsFileError(f"{source}: version {document.get('version')!r} is not supported (expected {VERSION})")
    raw = document.get("tenants")
    if not isinstance(raw, dict):
        raise TenantsFileError(f"{source}: 'tenants' must be an object")
    out: dict[str, Tenant] = {}
    for tenant_id, entry in raw.items():
        where = f"{source}: tenants.{tenant_id}"
        try:
            tid = check_tenant_id(tenant_id)
        except TenantsFileError as exc:
            raise TenantsFileError(f"{where}: {exc}") from None
        if not isinstance(entry, dict):
            raise TenantsFileError(f"{where}: must be an object")
        rate = entry.get("rate_limit", DEFAULT_RATE_LIMIT)
        if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
            raise TenantsFileError(f"{where}.rate_limit: must be a whole number of requests per minute >= 1")
        keys = []
        for i, k in enumerate(entry.get("keys", [])):
            if not isinstance(k, dict) or not all(
                isinstance(k.get(name), str) for name in ("id", "token_sha256", "secret_sha256")
            ):
                raise TenantsFileError(f"{where}.keys.{i}: needs 'id', 'token_sha256' and 'secret_sha256'")
            for name in ("token_sha256", "secret_sha256"):
                if not re.fullmatch(r"[0-9a-f]{64}", k[name]):
                    raise TenantsFileError(f"{where}.keys.{i}.{name}: must be a SHA-256 hex digest")
            keys.append(Key(k["id"], k["token_sha256"], k["secret_sha256"], str(k.get("created", ""))))
        out[tid] = Tenant(tid, rate, tuple(keys))
    return out


def load_document(path: str, *, missing_ok: bool = False) -> dict[str, Any]:
    """Read a tenants file as a document (an empty one when missing and ``missing_ok``).

    Parameters
    ----------
    path : str
    missing_ok : bool

    Returns
    -------
    dict

    Raises
    ------
    TenantsFileError
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        if missing_ok:
            return _empty_document()
        raise TenantsFileError(f"cannot read '{path}': no such file") from None
    except OSError as exc:
        raise TenantsFileError(f"cannot read '{path}': {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TenantsFileError(f"'{path}' is not JSON ({exc.msg} at line {exc.lineno})") from None
    parse_document(document, path)
    return document


def save_document(path: str, document: dict[str, Any]) -> None:
    """Write a tenants document atomically, readable by its owner only (mode 0600).

    Parameters
    ----------
    path : str
    document : dict

    Raises
    ------
    TenantsFileError
    """
    parse_document(document, path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise TenantsFileError(f"cannot write '{path}': {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def add_key(
    document: dict[str, Any],
    tenant_id: str,
    token: str,
    secret: str,
    rate_limit: int | None = None,
) -> str:
    """Add a key to a tenant (created when new) in a document; returns the key id.

    Parameters
    ----------
    document : dict
        Modified in place.
    tenant_id, token, secret : str
        Validated with :func:`check_tenant_id`, :func:`check_token`, :func:`check_secret`.
    rate_limit : int, optional
        Requests per minute; kept when None (100 for a new tenant).

    Returns
    -------
    str

    Raises
    ------
    TenantsFileError
        Invalid values, or a token already used by any key.
    """
    tid = check_tenant_id(tenant_id)
    check_token(token)
    check_secret(secret)
    if rate_limit is not None and (isinstance(rate_limit, bool) or not isinstance(rate_limit, int) or rate_limit < 1):
        raise TenantsFileError("the rate limit must be a whole number of requests per minute >= 1")
    digest = hash_token(token)
    for other_id, entry in document["tenants"].items():
        if any(k["token_sha256"] == digest for k in entry.get("keys", [])):
            raise TenantsFileError(f"this token is already a key of tenant {other_id}")
    entry = document["tenants"].setdefault(tid, {"rate_limit": DEFAULT_RATE_LIMIT, "keys": []})
    if rate_limit is not None:
        entry["rate_limit"] = rate_limit
    key_id = "k_" + digest[:12]
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    entry["keys"].append(
        {"id": key_id, "token_sha256": digest, "secret_sha256": hash_secret(secret), "created": created}
    )
    return key_id


def revoke(document: dict[str, Any], tenant_id: str, token: str | None = None) -> int:
    """Remove one key (by its token) or the whole tenant from a document; returns keys removed.

    Parameters
    ----------
    document : dict
        Modified in place.
    tenant_id : str
    token : str, optional
        The key to revoke; all keys and the tenant itself when None.

    Returns
    -------
    int

    Raises
    ------
    TenantsFileError
        Unknown tenant or token.
    """
    tid = check_tenant_id(tenant_id)
    entry = document["tenants"].get(tid)
    if entry is None:
        raise TenantsFileError(f"no tenant {tid}")
    if token is None:
        del document["tenants"][tid]
        return len(entry.get("keys", []))
    digest = hash_token(token)
    kept = [k for k in entry["keys"] if k["token_sha256"] != digest]
    removed = len(entry["keys"]) - len(kept)
    if removed == 0:
        raise TenantsFileError(f"this token is not a key of tenant {tid}")
    entry["keys"] = kept
    return removed

"""The server's view of the tenants.

Look-up by bearer token, constant-time secret checks, and re-reading the tenants file when it
changes (so keys rotate without a restart).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from dataclasses import dataclass

from segengine.service.tenants import (
    Key,
    Tenant,
    TenantsFileError,
    hash_secret,
    hash_token,
    load_document,
    parse_document,
)

__all__ = ["Identity", "TenantStore"]

# Compared against when the token is unknown, so that a miss costs what a hit costs.
_DUMMY_DIGEST = hashlib.sha256(b"segengine/dummy").hexdigest()


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the tenant and the key used."""

    tenant: Tenant
    key_id: str


class TenantStore:
    """The tenants a server accepts, re-read from its file when the file changes.

    Parameters
    ----------
    tenants : dict of str to Tenant
    path : str, optional
        The file they come from; checked for changes at most once per ``reload_interval_s``.
    reload_interval_s : float
    """

    def __init__(self, tenants: dict[str, Tenant], path: str | None = None, reload_interval_s: float = 1.0) -> None:
        self._path = path
        self._interval = reload_interval_s
        self._lock = threading.Lock()
        self._install(tenants)
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()

    @classmethod
    def from_file(cls, path: str) -> TenantStore:
        """Load a tenants file (see :func:`load_document`).

        Parameters
        ----------
        path : str

        Returns
        -------
        TenantStore
        """
        return cls(parse_document(load_document(path), path), path=path)

    @classmethod
    def from_json(cls, text: str, source: str = "SEGENGINE_TENANTS") -> TenantStore:
        """Load a tenants document given as JSON text (e.g. an environment variable).

        Parameters
        ----------
        text : str
        source : str

        Returns
        -------
        TenantStore
        """
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TenantsFileError(f"{source} is not JSON ({exc.msg})") from None
        return cls(parse_document(document, source))

    def _install(self, tenants: dict[str, Tenant]) -> None:
        by_token: dict[str, tuple[Tenant, Key]] = {}
        for tenant in tenants.values():
            for key in tenant.keys:
                by_token[key.token_sha256] = (tenant, key)
        self._tenants = tenants
        self._by_token = by_token

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def refresh(self) -> None:
        """Re-read the file if it changed since the last look (a broken file keeps the old keys)."""
        if self._path is None or time.monotonic() - self._checked < self._interval:
            return
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._file_stamp()
            if stamp is None or stamp == self._stamp:
                return
            try:
                tenants = parse_document(load_document(self._path), self._path)
            except TenantsFileError:
                logging.getLogger("segengine.service").exception(
                    "tenants file changed but cannot be read; keeping the previous keys"
                )
                self._stamp = stamp
                return
            self._install(tenants)
            self._stamp = stamp

    def __len__(self) -> int:
        return len(self._tenants)

    def get(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id, or None.

        Parameters
        ----------
        tenant_id : str

        Returns
        -------
        Tenant or None
        """
        return self._tenants.get(tenant_id)

    def lookup_token(self, token: str) -> tuple[Tenant, Key] | None:
        """The tenant and key of a bearer token, or None; the digest comparison is constant-time.

        Parameters
        ----------
        token : str

        Returns
        -------
        (Tenant, Key) or None
        """
        digest = hash_token(token)
        found = self._by_token.get(digest)
        stored = found[1].token_sha256 if found else _DUMMY_DIGEST
        same = hmac.compare_digest(stored, digest)
        return found if (found and same) else None

    @staticmethod
    def secret_matches(key: Key | None, secret: str) -> bool:
        """Whether a secret belongs to a key (constant-time; a missing key costs the same).

        Parameters
        ----------
        key : Key or None
        secret : str

        Returns
        -------
        bool
        """
        stored = key.secret_sha256 if key is not None else _DUMMY_DIGEST
        same = hmac.compare_digest(stored, hash_secret(secret))
        return key is not None and same

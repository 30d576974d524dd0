"""Per-tenant rate limits and admission to the report workers.

Both live on the event loop (one thread), so they need no locks.

- :class:`RateLimiter`: a token bucket per tenant holding up to ``rate`` tokens (one minute's worth)
  and refilled continuously at ``rate / 60`` per second: "N requests per minute" allows a burst of
  N, then one request every 60/N seconds, with no window edge where 2N pass in a few seconds.
- :class:`Admission`: at most ``workers + queue`` requests computed or waiting (503 above: the
  server is saturated) and at most ``per_tenant`` of them from one tenant (429 above), so one
  tenant's burst cannot take every place while the others wait.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Admission", "BodyReads", "RateLimiter", "Verdict"]


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    rate: int


class RateLimiter:
    """Token buckets per tenant.

    Parameters
    ----------
    clock : callable, optional
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, tenant_id: str, rate_per_minute: int) -> int:
        """Take one request from the tenant's bucket.

        Parameters
        ----------
        tenant_id : str
        rate_per_minute : int
            The tenant's current limit (a changed limit applies at once).

        Returns
        -------
        int
            0 when allowed, else the seconds to wait before one request is available again (>= 1).
        """
        now = self._clock()
        bucket = self._buckets.get(tenant_id)
        if bucket is None:
            bucket = self._buckets[tenant_id] = _Bucket(float(rate_per_minute), now, rate_per_minute)
        per_second = rate_per_minute / 60.0
        bucket.tokens = min(float(rate_per_minute), bucket.tokens + (now - bucket.stamp) * per_second)
        bucket.stamp = now
        bucket.rate = rate_per_minute
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / per_second))

    def refund(self, tenant_id: str) -> None:
        """Give back the request of a refused admission (a 503 should not cost the tenant quota).

        Parameters
        ----------
        tenant_id : str
        """
        bucket = self._buckets.get(tenant_id)
        if bucket is not None:
            bucket.tokens = min(float(bucket.rate), bucket.tokens + 1.0)


@dataclass(frozen=True)
class Verdict:
    """Outcome of :meth:`Admission.try_admit`: ``status`` 0 (admitted), 429 or 503."""

    status: int
    retry_after: int = 0


class Admission:
    """Bounded places for requests computed or waiting, with a per-tenant share.

    Parameters
    ----------
    workers : int
        Reports computed at once.
    queue : int
        Places for requests waiting for a worker.
    per_tenant : int
        Places one tenant may hold at once.
    """

    def __init__(self, workers: int, queue: int, per_tenant: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.per_tenant = per_tenant
        self.in_flight = 0
        self._by_tenant: dict[str, int] = {}
        # Exponentially weighted mean service time, for Retry-After when saturated.
        self._mean_s = 0.1

    def check(self, tenant_id: str) -> Verdict:
        """What :meth:`try_admit` would answer now, without taking a place.

        To refuse a request before its body is received.

        Parameters
        ----------
        tenant_id : str

        Returns
        -------
        Verdict
        """
        if self._by_tenant.get(tenant_id, 0) >= self.per_tenant:
            return Verdict(429, self._retry_after(self.per_tenant))
        if self.in_flight >= self.capacity:
            return Verdict(503, self._retry_after(self.in_flight))
        return Verdict(0)

    def try_admit(self, tenant_id: str) -> Verdict:
        """Take a place for a tenant's request if there is one.

        Parameters
        ----------
        tenant_id : str

        Returns
        -------
        Verdict
        """
        verdict = self.check(tenant_id)
        if verdict.status:
            return verdict
        self.in_flight += 1
        self._by_tenant[tenant_id] = self._by_tenant.get(tenant_id, 0) + 1
        return Verdict(0)

    def release(self, tenant_id: str, seconds: float | None = None) -> None:
        """Give a place back when a report is finished (also after a time-out: the worker is free only then).

        Parameters
        ----------
        tenant_id : str
        seconds : float, optional
            How long the report took, to estimate waits.
        """
        self.in_flight -= 1
        left = self._by_tenant.get(tenant_id, 1) - 1
        if left:
            self._by_tenant[tenant_id] = left
        else:
            self._by_tenant.pop(tenant_id, None)
        if seconds is not None:
            self._mean_s = 0.8 * self._mean_s + 0.2 * seconds

    def _retry_after(self, ahead: int) -> int:
        return max(1, math.ceil(self._mean_s * ahead / max(1, self.workers)))


class BodyReads:
    """Bodies being received at once, per tenant and in all, before admission to the workers.

    A body is held in memory while it arrives (up to the body limit, 20 MB), so without a bound a
    tenant within its rate limit (a burst of 100) could hold 100 slow uploads, gigabytes, at once
    and starve every other tenant of memory; with it, at most ``per_tenant`` of a tenant's bodies and
    ``capacity`` in all are received at once (429 and 503 above, answered before reading).

    Parameters
    ----------
    capacity : int
        Bodies received at once in all.
    per_tenant : int
        Bodies of one tenant received at once.
    """

    def __init__(self, capacity: int, per_tenant: int) -> None:
        self.capacity = capacity
        self.per_tenant = per_tenant
        self.reading = 0
        self._by_tenant: dict[str, int] = {}

    def try_start(self, tenant_id: str) -> int:
        """Take a place to receive a tenant's body.

        Parameters
        ----------
        tenant_id : str

        Returns
        -------
        int
            0 when taken (give it back with :meth:`done`), else the status to answer (429 or 503).
        """
        if self._by_tenant.get(tenant_id, 0) >= self.per_tenant:
            return 429
        if self.reading >= self.capacity:
            return 503
        self.reading += 1
        self._by_tenant[tenant_id] = self._by_tenant.get(tenant_id, 0) + 1
        return 0

    def done(self, tenant_id: str) -> None:
        """Give back the place of a body received, refused or abandoned.

        Parameters
        ----------
        tenant_id : str
        """
        self.reading -= 1
        left = self._by_tenant.get(tenant_id, 1) - 1
        if left:
            self._by_tenant[tenant_id] = left
        else:
            self._by_tenant.pop(tenant_id, None)

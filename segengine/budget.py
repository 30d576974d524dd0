"""The work one report may do: a deadline carried through the stages, cost estimates, k bounds.

Two kinds of bound keep any request within the seed's limits to a few seconds:

* **Work bounds on k** (deterministic, from the sizes only): one KMeans pass on all records, the
  k search and the per-segment profiles grow with k, so k is bounded by :func:`k_cap` (an
  explicit ``n_clusters`` or ``k_min`` above it is a 422 that says why; ``k_max`` above it is
  lowered with a warning) and the search range by :func:`search_k_cap`. Both are never below
  ``config.K_CAP_FLOOR`` (the default ``k_max``), so ordinary requests never meet them.
* **A time budget** (:class:`Deadline`): ``time_budget_ms`` when the caller sets it, otherwise the
  server-side ``config.DEFAULT_TIME_BUDGET_MS``, never above ``config.MAX_TIME_BUDGET_MS``. Each
  stage that can degrade asks the deadline whether its estimated cost fits what is left, at one
  clear point, and records what it gave up (a warning in ``metadata.warnings``):

  ======================== ==================================================================
  stage                    degraded form
  ======================== ==================================================================
  k search (caller budget) stops after the last k fitted in time (``stopped_early_after``)
  KMeans repairs           skipped once the budget is spent
  search silhouettes       sampled instead of exact when the exact pass would not fit
  refinement on all rows   fewer Lloyd passes (at least one)
  Gaussian mixture         fewer EM iterations; skipped (KMeans kept) when none fits
  report silhouettes       sampled instead of exact when the exact pass would not fit
  ======================== ==================================================================

  Reading the records, preprocessing and profiling are linear in the body and always run.
  Decisions compare *estimates* (``config.COST_*`` throughputs, measured conservatively on the
  project's 2-core machine) with the time left. What counts as time spent differs: under the
  caller's ``time_budget_ms`` it is the wall clock (the caller asked for a latency); under the
  server default it is the estimated cost of the work done so far (:meth:`Deadline.charge`), so
  the same request takes the same path on an idle and on a loaded machine and reports stay
  deterministic. The refinement on all records takes at most half the time left, so the
  mixture and the report keep a share.
"""

from __future__ import annotations

import math
import time

from segengine import config

__all__ = [
    "Deadline",
    "gmm_iteration_ms",
    "k_cap",
    "kmeans_pass_ms",
    "search_k_cap",
    "silhouette_exact_ms",
]


class Deadline:
    """Wall-clock budget of one request, passed through its stages.

    Parameters
    ----------
    budget_ms : float or None
        Total budget from ``started``; None means unbounded.
    started : float, optional
        ``time.perf_counter()`` when the request's work started (default: now).
    requested : bool
        Whether the caller set the budget (``time_budget_ms``) rather than the server default.

    Attributes
    ----------
    degraded : list of str
        Catalogue keys (``budget_*``) of the stages that gave up work, in order, each once.
    """

    __slots__ = ("budget_ms", "charged", "degraded", "requested", "started")

    def __init__(self, budget_ms: float | None, started: float | None = None, *, requested: bool = False) -> None:
        self.budget_ms = None if budget_ms is None else float(budget_ms)
        self.started = time.perf_counter() if started is None else float(started)
        self.requested = bool(requested)
        self.degraded: list[str] = []
        self.charged = 0.0

    @classmethod
    def for_request(cls, time_budget_ms: int | None, started: float | None = None) -> Deadline:
        """The deadline of a report: the caller's budget, else the server default, capped.

        Parameters
        ----------
        time_budget_ms : int or None
            The ``time_budget_ms`` option.
        started : float, optional
            ``time.perf_counter()`` at the start of the request.

        Returns
        -------
        Deadline
        """
        if time_budget_ms is None:
            budget = config.DEFAULT_TIME_BUDGET_MS
        else:
            budget = min(int(time_budget_ms), config.MAX_TIME_BUDGET_MS)
        return cls(budget, started, requested=time_budget_ms is not None)

    def elapsed_ms(self) -> float:
        """Milliseconds spent so far.

        Wall clock under the caller's budget; under the server default, the estimated cost of the
        work done so far (:meth:`charge`), so that the same request takes the same path however
        loaded the machine is (reports stay deterministic).
        """
        if not self.requested:
            return self.charged
        return (time.perf_counter() - self.started) * 1000.0

    def charge(self, cost_ms: float) -> None:
        """Count the estimated cost of work just done (what the server default budget spends)."""
        self.charged += float(cost_ms)

    def remaining_ms(self) -> float:
        """Milliseconds left (``inf`` when unbounded, never negative)."""
        if self.budget_ms is None:
            return math.inf
        return max(0.0, self.budget_ms - self.elapsed_ms())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.remaining_ms() <= 0.0

    def affords(self, cost_ms: float) -> bool:
        """Whether work estimated at ``cost_ms`` fits in what is left."""
        return cost_ms <= self.remaining_ms()

    def passes(self, pass_ms: float, most: int, least: int = 1) -> int:
        """How many passes of ``pass_ms`` each fit in what is left, within ``[least, most]``.

        Parameters
        ----------
        pass_ms : float
            Estimated cost of one pass (a Lloyd or an EM iteration).
        most : int
            The stage's own limit.
        least : int
            Passes run whatever the budget (a result needs at least one).

        Returns
        -------
        int
        """
        left = self.remaining_ms()
        if math.isinf(left) or pass_ms <= 0.0:
            return int(most)
        return int(max(least, min(most, math.floor(left / pass_ms))))

    def degrade(self, what: str) -> None:
        """Record that a stage gave up work (``what`` is a ``budget_*`` catalogue key)."""
        if what not in self.degraded:
            self.degraded.append(what)


# -- cost estimates (milliseconds on the project's machine, conservative) ----------------------

def kmeans_pass_ms(n: int, d: int, k: int) -> float:
    """Estimated milliseconds of one Lloyd pass over ``n`` rows, ``d`` columns, ``k`` centres."""
    return n * d * k / config.COST_KMEANS_UNITS_PER_MS


def gmm_iteration_ms(n: int, d: int, k: int, covariance_type: str) -> float:
    """Estimated milliseconds of one EM iteration of a ``k``-component mixture."""
    per_row = d * (d + 1) // 2 if covariance_type in ("full", "tied") else d
    return n * k * (per_row + 20) / config.COST_GMM_UNITS_PER_MS


def silhouette_exact_ms(n: int, d: int, n_labelings: int = 1) -> float:
    """Estimated milliseconds of the exact silhouette of ``n_labelings`` labelings of ``n`` rows."""
    return float(n) * n * (d + 8 * n_labelings) / config.COST_SILHOUETTE_UNITS_PER_MS


# -- bounds on k -------------------------------------------------------------------------------

def k_cap(n: int, n_columns: int, n_fields: int) -> int:
    """Largest number of segments one report may fit and profile.

    ``k * n * n_columns <= config.K_MAX_PASS_WORK`` (one KMeans pass on all records) and
    ``k * n_fields <= config.K_MAX_PROFILE_CELLS`` (per-segment profiles and sentences) and
    ``k * n <= config.K_MAX_MEMBERSHIP_CELLS`` (the records x segments matrices), but never below
    ``config.K_CAP_FLOOR``.

    Parameters
    ----------
    n : int
        Records.
    n_columns : int
        Columns of the model's input (after one-hot encoding).
    n_fields : int
        Fields profiled per segment.

    Returns
    -------
    int
    """
    by_pass = config.K_MAX_PASS_WORK // max(1, n * n_columns)
    by_profile = config.K_MAX_PROFILE_CELLS // max(1, n_fields)
    by_memberships = config.K_MAX_MEMBERSHIP_CELLS // max(1, n)
    return int(max(config.K_CAP_FLOOR, min(by_pass, by_profile, by_memberships)))


def search_k_cap(n: int, n_columns: int, k_min: int, k_max: int, n_init: int) -> int:
    """Largest ``k_max`` the k search may use.

    The search fits every k of ``k_min..k_max`` (``n_init`` restarts each) and scores every
    labeling, so it is bounded by ``n * n_columns * n_init * sum(k) <= config.SEARCH_MAX_WORK``
    and by ``config.SEARCH_MAX_CANDIDATES`` values of k; never below ``min(k_max,
    max(k_min, config.K_CAP_FLOOR))``.

    Parameters
    ----------
    n : int
        Records the search runs on (at most ``config.SEARCH_MAX_N``).
    n_columns : int
        Columns of the model's input.
    k_min, k_max : int
        The requested range.
    n_init : int
        KMeans restarts per k.

    Returns
    -------
    int
    """
    floor = min(k_max, max(k_min, config.K_CAP_FLOOR))
    per_k = max(1, n * n_columns * max(1, n_init))
    budget = config.SEARCH_MAX_WORK // per_k  # largest sum of k
    # sum(k_min..c) = (c - k_min + 1)(c + k_min) / 2 <= budget  ->  c by the quadratic formula.
    c = math.floor((-1.0 + math.sqrt(1.0 + 4.0 * (k_min * k_min - k_min + 2.0 * budget))) / 2.0)
    c = min(c, k_min + config.SEARCH_MAX_CANDIDATES - 1)
    return int(max(floor, min(k_max, c)))

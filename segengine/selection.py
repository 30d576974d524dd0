"""Choosing k (silhouette over a KMeans fit per k) and the algorithm (KMeans or Gaussian mixture).

k: every k in k_min..k_max gets a KMeans fit (one data copy, one set of row norms); their labelings
are scored together -- exactly in one pass over the pairs while that is cheap, otherwise on one
random sample of records scored against all records, with standard errors. The best score wins;
within the error (and for exact ties) the smaller k wins, and near-ties are reported.

Algorithm: silhouette favours round segments and cannot judge a mixture, so KMeans and the Gaussian
mixture are compared like with like, by BIC: the mixture against the equal-variance spherical
mixture that the KMeans fit implies (its centres, its segment shares, the pooled within-segment
variance). The mixture must win by ``config.GMM_BIC_MARGIN`` nats per record to be chosen.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segengine import config
from segengine.budget import Deadline, kmeans_pass_ms, silhouette_exact_ms
from segengine.concurrency import guarded, map_two_threads, needs_serialising
from segengine.engines.kmeans import KMeansResult, feature_variance, kmeans_fit, kmeans_fit_many
from segengine.engines.memberships import equal_variance_loglik, sq_distances
from segengine.metrics.silhouette import count_cells, silhouette_rows_multi, silhouette_rows_multi_kept

__all__ = ["KSelection", "select_k", "kmeans_mixture_loglik", "n_distinct_rows", "AlgorithmChoice", "choose_algorithm"]

NEAR_TIE = config.NEAR_TIE


@dataclass
class KSelection:
    """The outcome of the k search, with its evidence.

    Attributes
    ----------
    k : int
        The chosen number of segments.
    scores : dict[int, float]
        Mean silhouette of every scored k.
    errors : dict[int, float]
        Standard error of each score (0.0 when exact).
    exact : bool
        Whether the scores are exact.
    sample_size : int or None
        Records in the silhouette sample when not exact.
    fits : dict[int, KMeansResult]
        The KMeans fit of every k that was tried (above ``config.SEARCH_MAX_N`` records, on the
        search subsample; the chosen k refined on all records).
    resolved_exactly : list of int
        The k whose sampled scores were too close to tell apart and were then scored exactly.
    near_ties : list of (int, int, float)
        Pairs (chosen k, other k, gap) closer than the error or 0.003.
    stopped_early_after : int or None
        The last k fitted when ``time_budget_ms`` stopped the search.
    """

    k: int
    scores: dict[int, float]
    errors: dict[int, float]
    exact: bool
    sample_size: int | None
    fits: dict[int, KMeansResult] = field(repr=False)
    near_ties: list[tuple[int, int, float]] = field(default_factory=list)
    stopped_early_after: int | None = None
    distinct_cap: int | None = None
    rows: np.ndarray | None = field(default=None, repr=False)
    chosen_values: np.ndarray | None = field(default=None, repr=False)
    resolved_exactly: list[int] = field(default_factory=list)
    restarts: dict[str, Any] = field(default_factory=dict)
    # Segments that received records when fewer than k did (fitting._reduced_segments).
    formed: int | None = None
    # The sampled rows' distance sums per cell of the labelings (metrics.silhouette.RowSums),
    # when the search scored a sample of all records: the final labels' silhouette on the same
    # rows is folded from them.
    row_sums: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready evidence for ``metadata.k_selection``."""
        return {
            "method": "silhouette",
            "scores": {str(k): _round(v) for k, v in self.scores.items()},
            "standard_errors": None if self.exact else {str(k): _round(v) for k, v in self.errors.items()},
            "chosen": self.k if self.formed is None else self.formed,
            "exact": self.exact,
            "sample_size": self.sample_size,
            "near_ties": [{"k": b, "gap": _round(g)} for _, b, g in self.near_ties],
            "stopped_early_after": self.stopped_early_after,
            "resolved_exactly": list(self.resolved_exactly),
            "restarts": self.restarts,
        }


def _round(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def n_distinct_rows(X: np.ndarray, limit: int) -> int:
    """Number of distinct rows of X, counted up to ``limit`` (cheap: hashes rows to one float).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    limit : int
        Counting stops mattering above this; returns ``min(distinct, limit)``.

    Returns
    -------
    int
    """
    if X.shape[0] <= limit:
        return int(np.unique(X, axis=0).shape[0])
    # A random projection: distinct rows collide with probability ~0, and a 1-D sort is cheap.
    # (A collision could only under-count, which at worst lowers the largest k tried.)
    proj = X @ np.random.default_rng(12345).standard_normal(X.shape[1])
    proj.sort()
    keys = 1 + int(np.count_nonzero(proj[1:] != proj[:-1]))
    return int(min(keys, limit))


@guarded
def select_k(
    X: np.ndarray,
    k_min: int = 2,
    k_max: int = 10,
    *,
    silhouette: str = "auto",
    random_state: int | None = 0,
    n_init: int | None = None,
    sample_size: int = config.SILHOUETTE_SAMPLE_SIZE,
    time_budget_ms: float | None = None,
    started_at: float | None = None,
    deadline: Deadline | None = None,
    sample_weight: np.ndarray | None = None,
) -> KSelection:
    """Fit KMeans for every k in ``k_min..k_max`` and choose k by silhouette.

    Parameters
    ----------
    X : numpy.ndarray of shape (n_samples, n_features)
        Preprocessed data (float64).
    k_min, k_max : int
        The range of k; ``k_max`` is capped at ``n_samples - 1`` and at the number of distinct rows.
    silhouette : {"auto", "exact", "sampled"}
        "auto" is exact up to ``config.SILHOUETTE_EXACT_MAX_N`` records, sampled above.
    random_state : int or None
        Seed of KMeans and of the silhouette sample.
    n_init : int or None
        KMeans restarts per k; None chooses by size (:func:`auto_n_init`).
    sample_size : int
        Records in the silhouette sample when sampled.
    time_budget_ms : float or None
        Stop fitting further k once this much time has passed since ``started_at``.
    started_at : float or None
        ``time.perf_counter()`` at the start of the caller's work (default: now).
    deadline : Deadline, optional
        The request's total budget (:mod:`segengine.budget`): repairs are skipped once it is
        spent, exact silhouettes that would not fit are sampled, and the refinement on all
        records runs the passes that fit; each degradation is recorded on it.
    sample_weight : numpy.ndarray of shape (n_samples,), optional
        Non-negative record weights of every KMeans fit (silhouettes score records unweighted).

    Returns
    -------
    KSelection

    Raises
    ------
    ValueError
        When the range is empty after capping (fewer than 3 records or 2 distinct rows).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n = X.shape[0]
    distinct = n_distinct_rows(X, k_max + 1)
    distinct_cap = distinct if distinct <= k_max else None
    k_max = min(k_max, n - 1, distinct)
    if k_max < 2:
        raise ValueError(f"no k >= 2 can be fitted to {n} records with {distinct} distinct rows")
    k_min = min(k_min, k_max)
    started = time.perf_counter() if started_at is None else started_at
    auto_restarts = n_init is None
    if n_init is None:
        n_init = auto_n_init(min(n, config.SEARCH_MAX_N))
    # Large inputs: the whole k search (fits, restarts, silhouettes) runs on a seeded
    # subsample -- centres and silhouettes barely move with more records -- and only the
    # chosen k is refined on all records, from its subsample centres.
    # silhouette="exact" means exact: the search then runs on every record (issue #12).
    if n > config.SEARCH_MAX_N and silhouette != "exact":
        pick = np.random.default_rng([0 if random_state is None else int(random_state), 7])
        sub = np.sort(pick.choice(n, size=config.SEARCH_MAX_N, replace=False))
        Xs = np.ascontiguousarray(X[sub])
    else:
        sub, Xs = None, X
    ws = sample_weight if sample_weight is None or sub is None else np.ascontiguousarray(sample_weight[sub])
    ns = Xs.shape[0]
    if auto_restarts and ns <= config.KMEANS_SCREEN_SAMPLE:
        # Small inputs: the restarts on all records are as cheap as screening would be.
        n_init = max(n_init, config.KMEANS_SMALL_RESTARTS)
    xs_sq = np.einsum("ij,ij->i", Xs, Xs)
    # The scale of every fit's tol, computed once: the search fits the same records a dozen times.
    xs_var = feature_variance(Xs)
    fits: dict[int, KMeansResult] = {}
    stopped = None
    # Weighted fits keep the full-fit search: the screening's provisional passes are unweighted.
    screen_first = (config.KMEANS_SCREEN_REPLACES_FIRST_FIT and auto_restarts and sample_weight is None
                    and time_budget_ms is None and ns > config.KMEANS_SCREEN_SAMPLE)
    pending: set[int] = set()
    if screen_first:
        # The restarts run on the sample only; every k then gets a few Lloyd passes on all
        # records from its best centres, and only the k that can win are run to convergence
        # below, each against a second opinion seeded on all records.
        ks = list(range(k_min, k_max + 1))
        fits, pending, screening = _screen_first(Xs, (xs_sq, xs_var), ks, random_state)
    elif time_budget_ms is None:
        # All k at once: the engine shares the norms and runs the k side by side on the cores.
        fits = kmeans_fit_many(Xs, range(k_min, k_max + 1), n_init=n_init, random_state=random_state,
                               sample_weight=ws)
    for k in range(k_min, k_max + 1):
        if k in fits or screen_first:
            continue
        fits[k] = kmeans_fit(Xs, k, n_init=n_init, random_state=random_state, x_sq_norms=xs_sq,
                             x_mean_var=xs_var, sample_weight=ws)
        if time_budget_ms is not None and k < k_max:
            if (time.perf_counter() - started) * 1000.0 > time_budget_ms:
                stopped = k
                break
    ks = list(range(k_min, k_max + 1)) if screen_first else sorted(fits)
    restarts: dict[str, Any] = {"per_k": 0 if screen_first else int(n_init), "screening": None}
    if deadline is not None:
        deadline.charge(sum(kmeans_pass_ms(ns, Xs.shape[1], k) * max(1, fits[k].n_iter)
                            * (1 if screen_first else (n_init or 1)) for k in ks if k in fits))

    def over_budget() -> bool:
        if deadline is not None and deadline.expired():
            return True
        return time_budget_ms is not None and (time.perf_counter() - started) * 1000.0 > time_budget_ms

    if screen_first:
        restarts["screening"] = screening
    elif auto_restarts and not over_budget():
        restarts["screening"] = _screen_restarts(Xs, (xs_sq, xs_var), fits, ks, random_state, ws)
    if deadline is not None and deadline.expired():
        deadline.degrade("budget_repair_skipped")
        restarts["repaired"] = []
    else:
        restarts["repaired"] = _repair_nonconvex(Xs, fits, ks, random_state, pending, (xs_sq, xs_var), ws)
    labelings = np.stack([fits[k].labels for k in ks])
    exact = silhouette == "exact" or (
        silhouette == "auto"
        and ns <= config.SILHOUETTE_EXACT_MAX_N
        and count_cells(labelings) <= config.SILHOUETTE_EXACT_MAX_CELLS
    )
    if exact and sample_size < ns and deadline is not None \
            and not deadline.affords(silhouette_exact_ms(ns, Xs.shape[1], len(ks))):
        exact = False
        deadline.degrade("budget_search_sampled")
    if sample_size >= ns:
        sample_rows = None
    else:
        rng = np.random.default_rng(0 if random_state is None else random_state)
        sample_rows = np.sort(rng.choice(ns, size=sample_size, replace=False)).astype(np.int64)
    if exact or sample_size >= ns:
        rows = None
        used_sample = None
    else:
        rows = sample_rows
        used_sample = int(sample_size)
    # A sample of all records keeps its distance sums (see KSelection.row_sums).
    keep_sums = rows is not None and sub is None
    row_sums = None
    if pending:
        # The sampled scores of the provisional labelings say which k can win; those are run
        # to convergence on all records and scored again (the others keep their scores).
        if keep_sums:
            per_point, row_sums = silhouette_rows_multi_kept(Xs, labelings, sample_rows)
        else:
            per_point = silhouette_rows_multi(Xs, labelings, sample_rows)
        fpc = math.sqrt(max(0.0, 1.0 - (ns if sample_rows is None else sample_rows.size) / ns))
        finish = [ks[i] for i in _contenders(per_point, fpc, config.KMEANS_FINISH_MARGIN)
                  if ks[i] in pending]
        _finish_pending(Xs, (xs_sq, xs_var), fits, finish, pending, random_state)
        restarts["screening"]["finished"] = sorted(finish)
        # A finished fit that labels every record as its provisional one did keeps its scores
        # (silhouettes depend on the labels only).
        again = [ks.index(k) for k in sorted(finish)
                 if not np.array_equal(fits[k].labels, labelings[ks.index(k)])]
        if again:
            labelings[again] = np.stack([fits[ks[i]].labels for i in again])
        if rows is None and sample_rows is not None:
            per_point = silhouette_rows_multi(Xs, labelings, None)  # exact: every labeling once
        elif again:
            per_point[again] = silhouette_rows_multi(Xs, labelings[again], rows)
    elif keep_sums:
        per_point, row_sums = silhouette_rows_multi_kept(Xs, labelings, rows)
    else:
        per_point = silhouette_rows_multi(Xs, labelings, rows)
    if deadline is not None:
        deadline.charge(silhouette_exact_ms(ns, Xs.shape[1], len(ks)) * (1.0 if rows is None else rows.size / ns))
    exact = rows is None and sub is None
    means = per_point.mean(axis=1)
    if rows is None:
        errs = np.zeros_like(means)
    else:
        fpc = math.sqrt(max(0.0, 1.0 - sample_size / ns))
        errs = per_point.std(axis=1, ddof=1) / math.sqrt(sample_size) * fpc
    resolved: list[int] = []
    exact_values: dict[int, np.ndarray] = {}
    if rows is not None and ns <= config.SILHOUETTE_RESOLVE_MAX_N and not over_budget():
        # Candidates the sample cannot tell apart are scored exactly: otherwise which of two
        # close k wins follows the sample, i.e. the seed (issue #12, finding 1).
        fpc = math.sqrt(max(0.0, 1.0 - sample_size / ns))
        contenders = _contenders(per_point, fpc)
        if len(contenders) > 1:
            exact_pp = silhouette_rows_multi(Xs, labelings[contenders], None)
            for j, i in enumerate(contenders):
                if math.isfinite(exact_pp[j].mean()):
                    means[i], errs[i] = exact_pp[j].mean(), 0.0
                    resolved.append(ks[i])
                    exact_values[ks[i]] = exact_pp[j]
    scores = {k: float(m) for k, m in zip(ks, means) if math.isfinite(m)}
    errors = {k: float(e) for k, e, m in zip(ks, errs, means) if math.isfinite(m)}
    if scores:
        best = max(scores, key=lambda k: (scores[k], -k))
        # Scores closer than config.SILHOUETTE_TIE are a tie even when exact: converged fits of
        # the same partition from other seeds move a silhouette by up to ~0.001 (issue #12: two
        # blob sets where k = 4 and 5, or 2 and 3, were 0.0002-0.0008 apart and swapped with
        # the seed). Ties go to the smaller k.
        tolerance = max(errors[best], config.SILHOUETTE_TIE)
        chosen = min(k for k in scores if scores[k] >= scores[best] - tolerance - 1e-12)
        ties = [
            (chosen, k, abs(scores[chosen] - scores[k]))
            for k in sorted(scores)
            if k != chosen and abs(scores[chosen] - scores[k]) < max(NEAR_TIE, errors[chosen] + errors[k])
        ]
        if chosen in exact_values:
            rows, values = None, exact_values[chosen]
        else:
            values = per_point[ks.index(chosen)]
    else:
        # Every labeling degenerate (e.g. all records equal but a few): the smallest k.
        chosen, ties, values, rows = ks[0], [], None, None
    if chosen in pending:
        # Not a contender by its provisional score, yet chosen (a tie or degenerate scores):
        # its fit is finished, and the report scores its final labels itself.
        _finish_pending(Xs, (xs_sq, xs_var), fits, [chosen], pending, random_state)
        restarts["screening"]["finished"] = sorted([*restarts["screening"]["finished"], chosen])
        rows = values = None
    if sub is not None:
        refine_iter = config.REFINE_MAX_ITER
        if deadline is not None:
            # At most half the time left: the mixture and the report need the rest.
            refine_iter = deadline.passes(2.0 * kmeans_pass_ms(n, X.shape[1], chosen), config.REFINE_MAX_ITER)
        fits[chosen] = kmeans_fit(
            X, chosen, init=fits[chosen].centers, n_init=1, max_iter=refine_iter,
            random_state=random_state, x_sq_norms=np.einsum("ij,ij->i", X, X), sample_weight=sample_weight,
        )
        if deadline is not None:
            deadline.charge(kmeans_pass_ms(n, X.shape[1], chosen) * max(1, fits[chosen].n_iter))
        if refine_iter < config.REFINE_MAX_ITER and fits[chosen].n_iter >= refine_iter:
            deadline.degrade("budget_refine_cut")  # the cap, not convergence, ended it
        rows = values = None  # the report scores the refined labels on all records itself
    return KSelection(chosen, scores, errors, exact, used_sample, fits, ties, stopped, distinct_cap,
                      rows, values, sorted(resolved), restarts, row_sums=row_sums)


def _contenders(per_point: np.ndarray, fpc: float, margin: float = 0.0) -> list[int]:
    """Labelings whose sampled silhouette is not clearly below the best one's.

    The same sample scores every k, so the difference to the best is judged by its paired
    standard error (much smaller than either score's own): within the tie tolerance plus
    ``config.SILHOUETTE_CONTENDER_Z`` of them, or within the near-tie gap, a labeling is a
    contender. ``margin`` widens the tolerance (provisional labelings move when finished).
    """
    means = per_point.mean(axis=1)
    finite = np.flatnonzero(np.isfinite(means))
    if finite.size < 2:
        return []
    best = int(finite[np.argmax(means[finite])])
    s = per_point.shape[1]
    out = []
    for i in finite:
        diff = per_point[best] - per_point[i]
        se = float(diff.std(ddof=1)) / math.sqrt(s) * fpc if s > 1 else 0.0
        if means[best] - means[i] <= max(config.SILHOUETTE_TIE + config.SILHOUETTE_CONTENDER_Z * se, NEAR_TIE) + margin:
            out.append(int(i))
    return out


def auto_n_init(n: int) -> int:
    """KMeans restarts per k for ``n`` records: many where a fit costs next to nothing.

    One restart lands in a poor local optimum now and then (standardized wine, k = 3: ARI 0.846
    with one restart, 0.897 at the optimum); below a few thousand records restarts are cheap
    enough to make that rare. Returns ``clip(4000 // n, 1, 10)``.
    """
    return int(min(10, max(1, 4000 // max(n, 1))))


def _screen_restarts(X: np.ndarray, norms: tuple[np.ndarray, float], fits: dict, ks: list, random_state,
                     sample_weight: np.ndarray | None = None) -> dict[str, Any]:
    """Give every k ``config.KMEANS_SCREEN_RESTARTS`` restarts on a small sample, refine the best.

    One k-means++ restart lands in a poor local optimum often enough to move the chosen k with
    the seed (issue #12: 5 overlapping blobs, 4,000 records, k = 4 was 13 % above the optimum in
    3 seeds of 8, and k = 3 won in those). Restarts on ``config.KMEANS_SCREEN_SAMPLE`` records
    find the good basin nearly as reliably as restarts on all records (the basins are a property
    of the blobs, not of the sample) at a fraction of the cost; the best screening centres of
    each k are then refined on all records and kept when they beat the fit at hand. Every k,
    the endpoints included, is treated alike. Inputs no larger than the sample get these
    restarts on all records instead (in :func:`select_k`).

    ``norms`` is ``(squared row norms, feature_variance(X))``.

    Returns
    -------
    dict
        ``restarts``, ``sample_size`` and the k whose fit the screening improved.
    """
    x_sq, x_var = norms
    ns = X.shape[0]
    m = config.KMEANS_SCREEN_SAMPLE
    improved = []
    seed = _seed_for(random_state, 2000)
    if ns <= m:
        # select_k already gave every k this many restarts on all records.
        return {"restarts": config.KMEANS_SMALL_RESTARTS, "sample_size": None, "improved": improved}
    pick = np.random.default_rng([0 if random_state is None else int(random_state), 11])
    rows = np.sort(pick.choice(ns, size=m, replace=False))
    S = np.ascontiguousarray(X[rows])
    ws = None if sample_weight is None else np.ascontiguousarray(sample_weight[rows])
    screened = kmeans_fit_many(S, ks, n_init=config.KMEANS_SCREEN_RESTARTS, random_state=seed, sample_weight=ws)
    todo = []
    for k in ks:
        if k in fits:
            # The fit at hand, run to convergence on the same sample, is compared with the
            # screening's best there (like with like): when the screening found no better basin
            # (the common case), the refinement on all records is skipped.
            here = kmeans_fit(S, k, init=fits[k].centers, n_init=1, random_state=seed, sample_weight=ws)
            if screened[k].inertia >= here.inertia * (1.0 - 1e-6):
                continue
        todo.append(k)

    def refine(k: int) -> KMeansResult:
        return kmeans_fit(X, k, init=screened[k].centers, n_init=1, random_state=seed, x_sq_norms=x_sq,
                          x_mean_var=x_var, sample_weight=sample_weight)

    # The refinements are independent serial fits (the kernels release the GIL): two at a time
    # on the target's 2 cores, largest k first -- but not while the caller holds the lock of a
    # threading layer that cannot run parallel regions from several threads (the engines'
    # entry points take it, and worker threads would wait for it forever).
    done = _two_at_a_time(refine, todo, X.shape[0] * X.shape[1])
    for k in todo:
        refined = done[k]
        if k not in fits:
            fits[k] = refined
        elif refined.inertia < fits[k].inertia * (1.0 - 1e-9):
            fits[k] = refined
            improved.append(k)
    return {"restarts": config.KMEANS_SCREEN_RESTARTS, "sample_size": m, "improved": improved}


def _screen_first(X: np.ndarray, norms: tuple[np.ndarray, float], ks: list, random_state) -> tuple[dict, set, dict]:
    """Every k's restarts on the sample, then a few Lloyd passes on all records from the best.

    ``config.KMEANS_SCREEN_RESTARTS`` k-means++ restarts per k on a seeded sample of
    ``config.KMEANS_SCREEN_SAMPLE`` records; the best gets at most
    ``config.KMEANS_PROVISIONAL_ITER`` Lloyd passes on all records: enough to score its labeling,
    while convergence (and a second opinion from a fit seeded on all records, see
    :func:`_finish_pending`) is paid only for the k that can win. ``norms`` is ``(squared row
    norms, feature_variance(X))``.

    Returns
    -------
    fits : dict
        A fit on all records per k.
    pending : set
        The k whose fit stopped at the pass cap rather than converging.
    screening : dict
        ``restarts``, ``sample_size`` and ``finished`` (filled in by the caller).
    """
    x_sq, x_var = norms
    ns = X.shape[0]
    m = config.KMEANS_SCREEN_SAMPLE
    seed = _seed_for(random_state, 2000)
    pick = np.random.default_rng([0 if random_state is None else int(random_state), 11])
    rows = np.sort(pick.choice(ns, size=m, replace=False))
    S = np.ascontiguousarray(X[rows])
    # kmeans_fit_many runs the k two at a time, largest first (ten restarts each pay a thread).
    screened = kmeans_fit_many(S, ks, n_init=config.KMEANS_SCREEN_RESTARTS, random_state=seed)
    cap = config.KMEANS_PROVISIONAL_ITER

    def one(k: int) -> KMeansResult:
        return kmeans_fit(X, k, init=screened[k].centers, n_init=1, max_iter=cap, random_state=seed,
                          x_sq_norms=x_sq, x_mean_var=x_var)

    fits = _two_at_a_time(one, ks, X.shape[0] * X.shape[1])
    # Every k goes through _finish_pending before it can be chosen: a fit that converged within
    # the cap still gets the second opinion there.
    pending = set(ks)
    screening = {"restarts": config.KMEANS_SCREEN_RESTARTS, "sample_size": m, "finished": []}
    return fits, pending, screening


def _two_at_a_time(fn, ks: list, n_cells: int) -> dict:
    """``{k: fn(k)}``, two k at a time on the target's 2 cores (largest first) when that pays."""
    if len(ks) > 1 and _threads_pay(n_cells):
        order = sorted(ks, reverse=True)
        return dict(zip(order, map_two_threads(fn, order)))
    return {k: fn(k) for k in ks}


def _finish_pending(X: np.ndarray, norms: tuple[np.ndarray, float], fits: dict, ks: list, pending: set,
                    random_state) -> None:
    """Finish the provisional fits of ``ks``: converged on all records, against a second opinion.

    The second opinion is a k-means++ fit seeded and run on all records: the sample's restarts
    can miss the basin of a small or thin segment that a seed drawn from all records finds
    (issue #12: 2 of 40 blob sets changed k with the seed without it). The lower inertia wins.
    ``norms`` is ``(squared row norms, feature_variance(X))``.
    """
    x_sq, x_var = norms
    todo = [k for k in ks if k in pending]
    if not todo:
        return
    seed = _seed_for(random_state, 2000)

    def finish(item: tuple[int, bool]) -> KMeansResult:
        k, second = item
        if second:
            return kmeans_fit(X, k, n_init=1, random_state=random_state, x_sq_norms=x_sq, x_mean_var=x_var)
        return kmeans_fit(X, k, init=fits[k].centers, n_init=1, random_state=seed, x_sq_norms=x_sq,
                          x_mean_var=x_var)

    items = [(k, second) for k in todo for second in (False, True)]
    done = _two_at_a_time(finish, items, X.shape[0] * X.shape[1])
    for k in todo:
        a, b = done[(k, False)], done[(k, True)]
        fits[k] = b if b.inertia < a.inertia * (1.0 - 1e-9) else a
        pending.discard(k)


def _threads_pay(n_cells: int) -> bool:
    # Two worker threads on the target's 2 cores -- but not while the caller holds the lock of a
    # threading layer that cannot run parallel regions from several threads (the engines' entry
    # points take it, and worker threads would wait for it forever).
    return n_cells >= 20_000 and (os.cpu_count() or 1) > 1 and not needs_serialising()


def _repair_nonconvex(X, fits, ks, random_state, pending: set | None = None, norms=None,
                      sample_weight=None) -> list[int]:
    """Refit the k whose inertia breaks the convexity of the inertia curve.

    Good KMeans fits have an inertia that falls with k by ever smaller steps; a step clearly
    smaller than the next one (below ``config.KMEANS_REPAIR_RATIO`` of it; small wiggles are
    common and harmless) marks a poor local optimum at that k (seen on the demo data at k = 5
    with one restart: inertia 23,350 against 18,125 for the better optimum, which silhouette then
    prefers). Those k get a few more restarts, with their own seeds, and keep the best fit. The
    cost is a handful of extra fits instead of multiplying every fit by ``n_init``. A flagged
    k whose fit is still provisional (in ``pending``) is finished first, so that the restarts
    compete with a converged fit.
    """
    inertia = {k: fits[k].inertia for k in ks}
    if ks and ks[0] == 2:
        # k = 1 costs nothing (the total sum of squares), so k_min = 2 gets a left neighbour and
        # is checked like the k inside the range. (k_max has no right neighbour: the restarts of
        # _screen_restarts are what protect it.)
        if sample_weight is None:
            inertia[1] = float(((X - X.mean(axis=0)) ** 2).sum())
        else:
            mean = np.average(X, axis=0, weights=sample_weight)
            inertia[1] = float(np.dot(sample_weight, ((X - mean) ** 2).sum(axis=1)))
    seq = sorted(inertia)
    flagged = [
        seq[i] for i in range(1, len(seq) - 1)
        if inertia[seq[i - 1]] - inertia[seq[i]]
        < config.KMEANS_REPAIR_RATIO * (inertia[seq[i]] - inertia[seq[i + 1]])
    ]
    if not flagged:
        return []
    if pending:
        _finish_pending(X, norms, fits, [k for k in flagged if k in pending], pending, random_state)
    # Side by side on the cores, with seeds of their own (per k, derived from this seed).
    retries = kmeans_fit_many(
        X, flagged, n_init=config.KMEANS_REPAIR_RESTARTS, random_state=_seed_for(random_state, 1000),
        sample_weight=sample_weight,
    )
    for k, retry in retries.items():
        if retry.inertia < fits[k].inertia:
            fits[k] = retry
    return flagged


def _seed_for(random_state: int | None, k: int) -> int | None:
    """A seed per k, so that the fit for k does not depend on which other k are tried."""
    if random_state is None:
        return None
    return int(np.random.SeedSequence([int(random_state), int(k)]).generate_state(1)[0])


def kmeans_mixture_loglik(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Log-likelihood of the equal-variance spherical Gaussian mixture implied by a KMeans fit.

    Component weights are the segment shares, means the centres and the single variance the pooled
    within-segment variance per dimension (inertia / (n * d)).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    centers : numpy.ndarray of shape (k, d)
    labels : numpy.ndarray of shape (n,)

    Returns
    -------
    loglik : float
        Total log-likelihood.
    resp : numpy.ndarray of shape (n, k)
        Posterior responsibilities.
    sigma2 : float
        The pooled variance.
    """
    return equal_variance_loglik(sq_distances(X, centers), labels, X.shape[1])


def _sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k): `segengine.engines.memberships.sq_distances`."""
    return sq_distances(X, centers)


def kmeans_bic(loglik: float, n: int, d: int, k: int) -> float:
    """BIC of the KMeans-implied mixture: k*d means, k-1 weights, one shared variance."""
    n_params = k * d + (k - 1) + 1
    return -2.0 * loglik + n_params * math.log(n)


# -- the algorithm: KMeans or a Gaussian mixture -------------------------------------------------
# (Moved here from segmenter.py by issue #15; the k search above is untouched by it.)

_GMM_MAX_ITER = 100
# E-step passes of the mixture outside EM: the initial M-step, the BIC, the labels, the memberships.
_GMM_EXTRA_PASSES = 2


@dataclass
class AlgorithmChoice:
    """The final model of the chosen k, before its segments are put in size order.

    Attributes
    ----------
    algorithm : str
        ``"kmeans"`` or ``"gmm"``.
    kmeans : KMeansResult
        The KMeans fit of the chosen k (refit on a rescaled copy when squares over- or underflow).
    mixture : Any or None
        The mixture fit (``gmm_em_from_labels``' result) when chosen, else None.
    sigma2 : float
        Pooled variance of the KMeans-implied mixture (weighted when record weights are given).
    evidence : dict
        ``metadata.algorithm_selection``.
    labels : numpy.ndarray of shape (n,)
        The engine's labels (engine segment numbers).
    centers : numpy.ndarray of shape (k, d)
        The engine's centres (mixture means for ``"gmm"``), in engine order.
    notices : list of (str, dict)
        Warnings of this step (mixture failed, degenerate, emptied a segment).
    sq : numpy.ndarray of shape (n, k) or None
        Squared distances of the records to the KMeans centres (engine order), from the BIC
        comparison: the memberships and confidences of a KMeans model reuse them instead of a
        second and third pass over the records.
    """

    algorithm: str
    kmeans: KMeansResult
    mixture: Any
    sigma2: float
    evidence: dict[str, Any]
    labels: np.ndarray
    centers: np.ndarray
    notices: list = field(default_factory=list)
    sq: np.ndarray | None = field(default=None, repr=False)


def choose_algorithm(
    X: np.ndarray,
    sel: KSelection,
    options: Any,
    fields: list,
    column_names: list[str],
    deadline: Deadline,
    *,
    sample_weight: np.ndarray | None = None,
) -> AlgorithmChoice:
    """KMeans or a Gaussian mixture for the chosen k, by BIC (see the module docstring).

    ``algorithm="auto"`` tries the mixture only when every used field is continuous (a Gaussian
    density on 0/1 columns is degenerate) and there are ``config.GMM_MIN_RECORDS_PER_PARAMETER``
    records per mixture parameter; it is chosen when it wins by ``config.GMM_BIC_MARGIN`` nats
    per record and no component collapsed onto a lumpy field (:mod:`segengine.mixture_checks`).
    A mixture that empties a segment KMeans fills gives way to KMeans. The mixture takes no
    record weights: with ``sample_weight`` the model is KMeans (the evidence says so).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        The preprocessed records.
    sel : KSelection
        The k search; its fit of the chosen k is replaced when a rescaled refit fills more
        segments.
    options : SegmentationOptions
        Uses ``algorithm``, ``covariance_type``, ``n_init`` and ``random_state``.
    fields : list of FieldTransform
        The preprocessor's fields (which are continuous).
    column_names : list of str
        Names of the columns of ``X`` (the degeneracy evidence names them).
    deadline : Deadline
        The request's budget: the mixture's EM runs the iterations that fit, or is skipped.
    sample_weight : numpy.ndarray of shape (n,), optional
        Non-negative record weights of the KMeans fits.

    Returns
    -------
    AlgorithmChoice
    """
    from segengine.engines.gmm import n_mixture_parameters

    n, d = X.shape
    k = sel.k
    notices: list = []
    if _filled(sel.fits[k].labels, k) < k:  # squares over- or underflow: refit
        sel.fits[k] = _rescaled_kmeans(X, k, options, sel.fits[k], sample_weight)
    km = sel.fits[k]
    if sample_weight is not None:
        sigma2 = _weighted_sigma2(X, km.centers, km.labels, sample_weight)
        evidence: dict[str, Any] = {"sample_weight": True, "gmm_considered": False,
                                    "margin": config.GMM_BIC_MARGIN, "chosen": "kmeans"}
        return AlgorithmChoice("kmeans", km, None, sigma2, evidence, km.labels, km.centers, notices)
    sq = sq_distances(X, km.centers)
    loglik, _, sigma2 = equal_variance_loglik(sq, km.labels, d)
    evidence = {"kmeans_bic": kmeans_bic(loglik, n, d, k)}
    algorithm, gmm = "kmeans", None
    # A Gaussian density on 0/1 columns (binary fields, one-hot levels) is degenerate: a
    # component's variance along an indicator collapses to reg_covar and its likelihood grows
    # without bound, so BIC would always "prefer" the mixture. "auto" therefore considers the
    # mixture only when every column is continuous.
    continuous = all(f.kind in ("numeric", "date") for f in fields if f.used)
    evidence["continuous"] = continuous
    # Too few records per mixture parameter (wide data) make its BIC meaningless and its fit
    # slow; "auto" then keeps KMeans without trying.
    n_params = n_mixture_parameters(k, d, options.covariance_type)
    evidence["records_per_parameter"] = n / n_params
    enough = n >= config.GMM_MIN_RECORDS_PER_PARAMETER * n_params
    gmm_labels = None
    if options.algorithm == "gmm" or (options.algorithm == "auto" and continuous and enough):
        gmm, algorithm, gmm_labels = _try_mixture(X, km, k, options, column_names, deadline, evidence, notices)
    evidence["margin"] = config.GMM_BIC_MARGIN
    evidence["chosen"] = algorithm
    if algorithm == "gmm":
        raw_labels = gmm_labels
        centers = np.asarray(gmm.means, dtype=np.float64)
    else:
        raw_labels = km.labels
        centers = km.centers
    if algorithm == "gmm" and _filled(raw_labels, k) < _filled(km.labels, k):
        # The mixture emptied a segment KMeans fills (collapsed components): KMeans honours k.
        notices.append(("warn_gmm_empty", {"e": k - _filled(raw_labels, k), "k": k}))
        algorithm, gmm, raw_labels, centers = "kmeans", None, km.labels, km.centers
        evidence["chosen"] = algorithm
    return AlgorithmChoice(algorithm, km, gmm if algorithm == "gmm" else None, sigma2, evidence,
                           raw_labels, centers, notices, sq if algorithm == "kmeans" else None)


def _try_mixture(X, km, k, options, column_names, deadline, evidence, notices) -> tuple[Any, str, Any]:
    """Fit the mixture within the deadline, record its BIC and degeneracy.

    Returns (mixture, algorithm, the mixture's label of every record): one E-step serves the
    BIC and the labels.
    """
    from segengine.budget import gmm_iteration_ms

    n, d = X.shape
    algorithm = "kmeans"
    gmm_iter = _gmm_iterations(deadline, n, d, k, options.covariance_type)
    gmm, reason = _fit_gmm(X, km.labels, k, options, max_iter=gmm_iter) if gmm_iter else (None, None)
    if gmm is not None:
        deadline.charge(gmm_iteration_ms(n, d, k, options.covariance_type) * (gmm.n_iter + _GMM_EXTRA_PASSES))
    if gmm is not None and gmm_iter < _GMM_MAX_ITER and not gmm.converged and gmm.n_iter >= gmm_iter:
        deadline.degrade("budget_gmm_cut")
    if gmm is None:
        if reason is not None:
            notices.append(("warn_gmm_failed", {"reason": reason}))
        return None, algorithm, None
    lpn, log_resp = gmm.log_prob_resp(X)
    evidence["gmm_bic"] = float(-2.0 * lpn.sum() + gmm.n_parameters() * math.log(n))
    labels = log_resp.argmax(axis=1)
    del lpn, log_resp  # n x k: not held through the checks below (peak memory at 250k records)
    evidence["delta_bic_per_record"] = (evidence["kmeans_bic"] - evidence["gmm_bic"]) / (2.0 * n)
    collapsed = _mixture_degeneracy(X, column_names, gmm, evidence, options.random_state)
    if collapsed and options.algorithm == "gmm":
        first = collapsed[0]
        notices.append(("warn_gmm_degenerate", {"field": first["field"], "n": len(collapsed)}))
    if options.algorithm == "gmm" or (evidence["delta_bic_per_record"] > config.GMM_BIC_MARGIN and not collapsed):
        algorithm = "gmm"
    return gmm, algorithm, labels


def _weighted_sigma2(X: np.ndarray, centers: np.ndarray, labels: np.ndarray, weight: np.ndarray) -> float:
    """Pooled within-segment variance per dimension with record weights (as duplicated records)."""
    n, d = X.shape
    sq = _sq_distances(X, centers)[np.arange(n), labels]
    return max(float(np.dot(weight, sq)) / (float(weight.sum()) * d), 1e-12)


def _fit_gmm(X: np.ndarray, labels: np.ndarray, k: int, options: Any, max_iter: int = 100):
    """Gaussian mixture initialised from the KMeans labels; (None, reason) when it cannot be fitted."""
    import warnings

    from segengine.engines.gmm import gmm_em_from_labels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm = gmm_em_from_labels(X, labels, k, covariance_type=options.covariance_type, max_iter=max_iter)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return None, str(exc).split("\n")[0][:200]
    if not np.all(np.isfinite(gmm.means)) or not np.isfinite(gmm.lower_bound):
        return None, "non-finite parameters"
    return gmm, ""


def _mixture_degeneracy(X: np.ndarray, names: list[str], gmm, evidence: dict, random_state) -> list:
    """Record lumpy fields and collapsed mixture components in ``evidence``; return the latter.

    See :mod:`segengine.mixture_checks`: a component sitting on one value of a point-mass or
    discrete field has an unbounded density there, so its BIC gain is an artefact.
    """
    from segengine.mixture_checks import collapsed_components, component_variances, lumpy_fields

    lumpy = lumpy_fields(X, names, random_state)
    k, d = np.asarray(gmm.means).shape
    variances = component_variances(gmm.covariance_type, gmm.covariances, k, d)
    collapsed = collapsed_components(variances, lumpy, names)
    evidence["point_mass_fields"] = [
        {"field": e["field"], "top_share": e["top_share"]} for e in lumpy
        if e["top_share"] >= config.POINT_MASS_SHARE]
    evidence["discrete_fields"] = [
        {"field": e["field"], "levels": e["levels"]} for e in lumpy if e["levels"] <= config.DISCRETE_MAX_LEVELS]
    evidence["collapsed_components"] = [
        {"component": c["component"], "field": c["field"], "std": round(c["std"], 8),
         "floor": round(c["floor"], 8)} for c in collapsed]
    evidence["gmm_degenerate"] = bool(collapsed)
    return collapsed


def _gmm_iterations(deadline: Deadline, n: int, d: int, k: int, covariance_type: str) -> int:
    """EM iterations the deadline leaves for the mixture (0: skip it, recorded on the deadline)."""
    from segengine.budget import gmm_iteration_ms

    per_iter = gmm_iteration_ms(n, d, k, covariance_type)
    iters = deadline.passes(per_iter, _GMM_MAX_ITER + _GMM_EXTRA_PASSES, least=0) - _GMM_EXTRA_PASSES
    if iters < 1:
        deadline.degrade("budget_gmm_skipped")
        return 0
    return int(iters)


def _filled(labels: np.ndarray, k: int) -> int:
    """Segments of ``0..k-1`` that hold at least one record."""
    return int(np.count_nonzero(np.bincount(labels, minlength=k)))


def _rescaled_kmeans(X: np.ndarray, k: int, options: Any, fallback: Any,
                     sample_weight: np.ndarray | None = None) -> Any:
    """KMeans on a power-of-two rescaled, uncentred copy, for data whose squared distances overflow.

    For overflow or underflow: values ~1e154 and above, or differences ~1e-154 and below, next to
    large ones.

    Scaling by a power of two is exact and KMeans is scale-invariant, so the labels are those of
    the original records; the centres are mapped back exactly. Centring is skipped on purpose:
    subtracting a mean of ~1e120 would erase the small values. Returns ``fallback`` when the
    refit fills no more segments.
    """
    shift = int(np.frexp(float(np.abs(X).max()))[1]) - 400  # largest |value| ~ 2**400 after
    Y = np.ascontiguousarray(np.ldexp(X, -shift))
    fit = kmeans_fit(Y, k, n_init=max(4, options.n_init or 1), random_state=options.random_state,
                     x_sq_norms=np.einsum("ij,ij->i", Y, Y), sample_weight=sample_weight)
    if _filled(fit.labels, k) <= _filled(fallback.labels, k):
        return fallback
    with np.errstate(over="ignore"):
        inertia = float(np.ldexp(fit.inertia, 2 * shift))
    return KMeansResult(centers=np.ldexp(fit.centers, shift), labels=fit.labels, inertia=inertia,
                        n_iter=fit.n_iter)

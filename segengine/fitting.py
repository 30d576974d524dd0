"""The fitting pipeline as small steps.

Records -> :class:`~segengine.model.FittedModel` and the training
:class:`~segengine.model.ScoredBatch`.

:func:`fit_table` runs the steps in order -- sizes, preprocessing, the k search and its notices,
the algorithm (:func:`segengine.selection.choose_algorithm`), segments in size order, memberships
and confidences, stability -- and is what :class:`~segengine.segmenter.Segmenter` and the
request contract (:mod:`segengine.api`) both call. Every step returns values; notices are
(catalogue key, params) pairs collected in the order they arise, rendered by the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from segengine import config
from segengine.budget import Deadline, k_cap, search_k_cap
from segengine.errors import ValidationError
from segengine.model import (
    FittedModel,
    MixtureParameters,
    ScoredBatch,
    field_columns,
    label_records,
    membership_matrix,
    record_confidence,
)
from segengine.options import SegmentationOptions
from segengine.preprocessing import Preprocessor
from segengine.selection import AlgorithmChoice, KSelection, auto_n_init, choose_algorithm, select_k
from segengine.table import Table
from segengine.text.msg import Msg

__all__ = [
    "FitDetails", "FitResult", "check_sample_weight", "check_sizes", "fit_table", "measure_stability",
    "order_by_size", "preprocess", "search_k",
]


@dataclass(frozen=True)
class FitDetails:
    """What a fit computed on the way that the model does not keep (not saved).

    Attributes
    ----------
    kmeans : KMeansResult
        The KMeans fit of the chosen k, in engine order.
    mixture : Any or None
        The engine's mixture fit when the algorithm is ``"gmm"``.
    segment_order : numpy.ndarray of int
        Engine segment of every reported segment (segment 0 is the largest).
    """

    kmeans: Any
    mixture: Any
    segment_order: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit_table`.

    Attributes
    ----------
    model : FittedModel
    batch : ScoredBatch
        The training records, scored by the model.
    details : FitDetails
    """

    model: FittedModel
    batch: ScoredBatch
    details: FitDetails


def fit_table(
    table: Table,
    options: SegmentationOptions,
    *,
    started: float,
    sample_weight: Any = None,
) -> FitResult:
    """Fit a segmentation to typed records.

    Parameters
    ----------
    table : Table
        The records (:mod:`segengine.table`).
    options : SegmentationOptions
        Validated options (``random_state`` an integer seed).
    started : float
        ``time.perf_counter()`` when the caller's work began (budgets and ``processing_time_ms``).
    sample_weight : array-like of shape (n_records,), optional
        Non-negative finite record weights of the KMeans fits (:func:`check_sample_weight`).

    Returns
    -------
    FitResult

    Raises
    ------
    ValidationError
        Sizes, weights, roles or options that do not fit the records, with the path of each.
    """
    n = table.n_rows
    check_sizes(n, options)
    weight = check_sample_weight(sample_weight, n, options)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pre, X, notices = preprocess(table, options)
    t1 = time.perf_counter()
    timings["preprocessing"] = (t1 - t0) * 1000.0

    deadline = Deadline.for_request(options.time_budget_ms, started)
    sel = search_k(X, options, len(table.columns), started, deadline, notices, weight)
    t2 = time.perf_counter()
    timings["model_search"] = (t2 - t1) * 1000.0

    choice = choose_algorithm(X, sel, options, pre.fields_, pre.feature_names_out_, deadline,
                              sample_weight=weight)
    notices.extend(choice.notices)
    labels, centers, order = order_by_size(choice, sel, X, notices)
    t3 = time.perf_counter()
    timings["final_model"] = (t3 - t2) * 1000.0

    model = _model(options, pre, choice, sel, centers, order, n, weight)
    # KMeans: one pass of distances (the BIC comparison's) serves memberships and confidences;
    # each distance is computed on its own, so the columns in segment order are the same numbers.
    sq = None if choice.sq is None else choice.sq[:, order]
    choice.sq = None  # the engine-order copy is not needed again: free it before the memberships
    resp = membership_matrix(model, X, sq)
    best = label_records(resp, labels)
    search_silhouettes = None
    if choice.algorithm == "kmeans" and sel.chosen_values is not None:
        search_silhouettes = (sel.rows, sel.chosen_values)
    if not np.array_equal(best, labels):
        # GMM: the final E-step; KMeans: records on a float tie between two centres (the
        # kernel's ||c||^2 - 2 x.c rounding), which then take the more probable segment.
        if choice.algorithm == "kmeans":
            sel.rows = sel.chosen_values = None  # the search's silhouettes were of other labels
            search_silhouettes = None
        labels = best
    prediction = resp[np.arange(n), labels]
    confidence = record_confidence(X, model.centers, labels, sq)
    t4 = time.perf_counter()
    timings["final_model"] += (t4 - t3) * 1000.0

    if deadline.expired():
        deadline.degrade("budget_stability_skipped")
        model = model.with_stability(None, {"method": "bootstrap_jaccard", "resamples": 0})
    else:
        model = measure_stability(model, X, labels, started, notices)
    timings["stability"] = (time.perf_counter() - t4) * 1000.0
    notices.extend(("warn_budget", {"ms": int(deadline.budget_ms), "how": key}) for key in deadline.degraded)
    batch = ScoredBatch(
        table=table, columns=field_columns(pre, table), matrix=X, ids=table.ids, labels=labels,
        prediction=prediction, confidence=confidence, notices=tuple(notices), timings_ms=timings,
        started=started, deadline=deadline, search_silhouettes=search_silhouettes,
        search_sums=sel.row_sums if search_silhouettes is None else None,
    )
    sel.row_sums = None  # the model keeps its selection: the sums are the batch's alone
    return FitResult(model, batch, FitDetails(choice.kmeans, choice.mixture, order))


# -- the steps ----------------------------------------------------------------------------------


def check_sizes(n: int, options: SegmentationOptions) -> None:
    """422 for too many or too few records, ``n_clusters >= n`` or an exact silhouette too large.

    Parameters
    ----------
    n : int
        Records.
    options : SegmentationOptions

    Raises
    ------
    ValidationError
    """
    if n > options.max_records:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("too_many_records", n=n, max=options.max_records)},
        )
    if n < config.MIN_RECORDS:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("too_few_records", min=config.MIN_RECORDS, n=n)},
        )
    if options.n_clusters is not None and options.n_clusters >= n:
        raise ValidationError(
            Msg("options_invalid"),
            {"options.n_clusters": Msg("n_clusters_too_large", k=options.n_clusters, n=n)},
        )
    if options.silhouette == "exact" and n > config.SILHOUETTE_EXACT_LIMIT:
        raise ValidationError(
            Msg("options_invalid"),
            {"options.silhouette": Msg(
                "exact_silhouette_too_large", max=config.SILHOUETTE_EXACT_LIMIT,
                seconds=config.SILHOUETTE_EXACT_LIMIT_SECONDS, n=n)},
        )


def check_sample_weight(
    sample_weight: Any, n: int, options: SegmentationOptions
) -> np.ndarray | None:
    """Record weights as a float64 array, or None for unweighted.

    Parameters
    ----------
    sample_weight : array-like of shape (n,) or None
        Non-negative finite numbers, not all zero.
    n : int
        Records.
    options : SegmentationOptions
        ``algorithm="gmm"`` takes no weights (the mixture is unweighted).

    Returns
    -------
    numpy.ndarray of shape (n,) or None

    Raises
    ------
    ValidationError
        At ``sample_weight`` (shape, all zero, with ``algorithm="gmm"``) or
        ``sample_weight.<i>`` (the first bad value).
    """
    if sample_weight is None:
        return None

    def fail(path: str, key: str, **params: Any) -> ValidationError:
        return ValidationError(Msg("validation_failed"),
                               {path: Msg(key, **params)})

    if options.algorithm == "gmm":
        raise fail("sample_weight", "sample_weight_gmm")
    try:
        raw = np.asarray(sample_weight)
    except (TypeError, ValueError):
        raise fail("sample_weight", "sample_weight_shape", n=n) from None
    if raw.ndim != 1 or raw.shape[0] != n:
        raise fail("sample_weight", "sample_weight_shape", n=n)
    if raw.dtype.kind in "biuf":
        weight = np.ascontiguousarray(raw, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0.0))
        if bad.size:
            raise fail(f"sample_weight.{int(bad[0])}", "sample_weight_value")
    else:  # text, objects: the first value that is not a number is named
        for i, value in enumerate(raw.tolist()):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise fail(f"sample_weight.{i}", "sample_weight_value")
        weight = np.ascontiguousarray(raw, dtype=np.float64)
    if not weight.sum() > 0.0:
        raise fail("sample_weight", "sample_weight_zero")
    return weight


def preprocess(table: Table, options: SegmentationOptions) -> tuple[Preprocessor, np.ndarray, list]:
    """Fit the field transforms and check the roles against the fields.

    Parameters
    ----------
    table : Table
    options : SegmentationOptions

    Returns
    -------
    (Preprocessor, numpy.ndarray, list)
        The fitted preprocessor, the model matrix and the preprocessing notices.

    Raises
    ------
    ValidationError
        Bad field values, or a role given to an unknown field or to a field of the wrong kind.
    """
    pre = Preprocessor(options)
    X = pre.fit_transform(table)
    notices = list(pre.notices_)
    _check_roles_against(table, options)
    return pre, X, notices


def search_k(
    X: np.ndarray, options: SegmentationOptions, n_fields: int, started: float, deadline: Deadline,
    notices: list, sample_weight: np.ndarray | None = None,
) -> KSelection:
    """The k search within the work and time bounds, with its notices appended to ``notices``.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    options : SegmentationOptions
    n_fields : int
        Fields of the input (the work cap counts them).
    started : float
    deadline : Deadline
    notices : list
        Appended to: k range capped, work bounds, time budget, sampled, near ties.
    sample_weight : numpy.ndarray, optional

    Returns
    -------
    KSelection

    Raises
    ------
    ValidationError
        A fixed k above the work cap, or no usable field.
    """
    n = X.shape[0]
    if options.n_clusters is not None:
        k_min = k_max = options.n_clusters
    else:
        k_min, k_max = options.k_min, options.k_max
        if k_max > n - 1:
            notices.append(("warn_k_max_capped", {"k": n - 1}))
    k_max, n_init = _bounded_k(options, k_min, min(k_max, n - 1), n, X.shape[1], n_fields, notices)
    try:
        sel = select_k(
            X, k_min, k_max, silhouette=options.silhouette,
            random_state=options.random_state, n_init=n_init,
            time_budget_ms=options.time_budget_ms, started_at=started, deadline=deadline,
            sample_weight=sample_weight,
        )
    except ValueError:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("no_features")},
        ) from None
    notices.extend(search_notices(sel, n, options))
    return sel


def search_notices(sel: KSelection, n: int, options: SegmentationOptions) -> list:
    """The warnings a k search leaves for the report, as (catalogue key, params).

    Parameters
    ----------
    sel : KSelection
        The search's outcome.
    n : int
        Records searched (all of them, not the search's subsample).
    options : SegmentationOptions

    Returns
    -------
    list of tuple
        Capped k range, a search stopped by the time budget, sampled silhouettes, near ties.
    """
    notices: list = []
    if sel.distinct_cap is not None:
        notices.append(("warn_k_range_capped", {"distinct": sel.distinct_cap, "k": max(sel.fits)}))
    if sel.stopped_early_after is not None:
        notices.append(("warn_time_budget", {"k": sel.stopped_early_after, "ms": options.time_budget_ms}))
    if not sel.exact and sel.sample_size is not None:
        notices.append(("warn_sampled", {"s": sel.sample_size, "n": n}))
    for _, other, gap in sel.near_ties:
        notices.append(("warn_near_tie", {"a": sel.k, "b": other, "gap": f"{gap:.4f}"}))
    return notices


def order_by_size(
    choice: AlgorithmChoice, sel: KSelection, X: np.ndarray, notices: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renumber segments by size (segment 0 the largest; ties keep the engine's order).

    Segments that received no record are dropped, with a notice (or a 422 below two).

    Parameters
    ----------
    choice : AlgorithmChoice
    sel : KSelection
        ``formed`` is set when fewer segments than k hold records.
    X : numpy.ndarray
    notices : list

    Returns
    -------
    (labels, centers, order)
        Labels and centres in segment order, and the engine segment of every segment.
    """
    k = sel.k
    sizes = np.bincount(choice.labels, minlength=k)
    order = np.lexsort((np.arange(k), -sizes))
    order = order[sizes[order] > 0]
    if order.size < k:
        _reduced_segments(sel, X, int(order.size), notices)
    remap = np.full(k, -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    labels = remap[choice.labels]
    centers = np.ascontiguousarray(choice.centers[order])
    return labels, centers, order


def _model(options, pre, choice: AlgorithmChoice, sel, centers, order, n: int, weight) -> FittedModel:
    mixture = None
    if choice.algorithm == "gmm":
        mixture = MixtureParameters.in_segment_order(choice.mixture, order, options.covariance_type)
        weights = mixture.weights
    elif weight is None:
        weights = (np.bincount(choice.kmeans.labels, minlength=sel.k)[order] / n).astype(np.float64)
    else:
        weights = (np.bincount(choice.kmeans.labels, weights=weight, minlength=sel.k)[order]
                   / float(weight.sum())).astype(np.float64)
    return FittedModel(
        options=options, preprocessor=pre, algorithm=choice.algorithm, centers=centers, weights=weights,
        sigma2=choice.sigma2, mixture=mixture, selection=sel, algorithm_evidence=choice.evidence,
    )


def measure_stability(model: FittedModel, X: np.ndarray, labels: np.ndarray, started: float,
                      notices: list) -> FittedModel:
    """Bootstrap stability of every segment (:mod:`segengine.stability`), warnings below 0.6.

    Parameters
    ----------
    model : FittedModel
    X : numpy.ndarray of shape (n, d)
        The records the model was fitted on (unweighted: the bootstrap resamples records).
    labels : numpy.ndarray of shape (n,)
    started : float
        Start of the caller's work (``time_budget_ms`` counts from it).
    notices : list
        Appended to: ``warn_unstable_segment``.

    Returns
    -------
    FittedModel
        ``model`` with ``stability`` and ``stability_info``.
    """
    from segengine.stability import UNSTABLE_BELOW, segment_stability

    options = model.options
    deadline = None
    if options.time_budget_ms is not None:
        deadline = started + options.time_budget_ms / 1000.0
    result = segment_stability(
        X, labels, model.n_segments, algorithm=model.algorithm,
        covariance_type=options.covariance_type, random_state=options.random_state,
        deadline=deadline,
    )
    if result is None:
        return model.with_stability(None, {"method": "bootstrap_jaccard", "resamples": 0})
    for j, value in enumerate(result.stability):
        if np.isfinite(value) and value < UNSTABLE_BELOW:
            notices.append(("warn_unstable_segment", {"segment": j, "pct": int(round(100 * value))}))
    return model.with_stability(result.stability, result.to_dict())


# -- helpers (moved from segmenter.py) ------------------------------------------------------------


def _check_roles_against(table: Table, options: SegmentationOptions) -> None:
    """A 422 at ``options.roles.<field>`` for a role given to an unknown field or a wrong kind."""
    if not options.roles:
        return
    from segengine.roles import role_errors

    problems = role_errors(dict(options.roles), {c.name: c.kind for c in table.columns})
    if problems:
        raise ValidationError(
            Msg("options_invalid"),
            {path: Msg(key, **params) for path, (key, params) in problems.items()},
        )


def _bounded_k(
    options: SegmentationOptions, k_min: int, k_max: int, n: int, n_columns: int, n_fields: int,
    notices: list,
) -> tuple[int, int | None]:
    """The k range and restarts the search may use (:func:`segengine.budget.k_cap`).

    A fixed ``n_clusters`` (or a ``k_min``) above the cap is a 422 that says why; ``k_max``
    above the search's cap is lowered, and restarts that would exceed the search's work are
    reduced, each with a warning.

    Returns
    -------
    (int, int or None)
        The largest k to search and ``n_init`` for :func:`segengine.selection.select_k`.
    """
    cap = k_cap(n, n_columns, n_fields)
    if k_min > cap:
        name = "n_clusters" if options.n_clusters is not None else "k_min"
        raise ValidationError(
            Msg("options_invalid"),
            {f"options.{name}": Msg("k_over_work_cap", name=name, k=k_min, n=n,
                                           d=n_columns, f=n_fields, cap=cap)},
        )
    n_search = min(n, config.SEARCH_MAX_N)
    n_init = options.n_init if options.n_init is not None else auto_n_init(n_search)
    bounded = min(k_max, cap, search_k_cap(n_search, n_columns, k_min, k_max, n_init))
    if bounded < k_max:
        notices.append(("warn_k_max_work", {"k": bounded, "n": n, "d": n_columns}))
    sum_k = (bounded - k_min + 1) * (bounded + k_min) // 2
    affordable = max(1, config.SEARCH_MAX_WORK // max(1, n_search * n_columns * sum_k))
    if n_init > affordable:
        notices.append(("warn_n_init_work", {"r": affordable, "n": n, "d": n_columns}))
        return bounded, affordable
    return bounded, options.n_init


def _reduced_segments(sel: Any, X: np.ndarray, m: int, notices: list) -> None:
    """Fewer segments hold records than were chosen: say why, or 422 when fewer than two.

    KMeans leaves a centre without records only when the arithmetic cannot tell the records
    apart: squared distances overflow (values near 1e154 and above, unscaled) or the records
    differ in the last bits only. The report then has the segments that hold records, and
    ``metadata.k_selection`` says so (``chosen`` is the reported number, ``searched_k`` the k
    that was fitted).
    """
    how = "reduced_overflow" if _overflows(X) else "reduced_degenerate"
    if m < 2:
        raise ValidationError(
            Msg("validation_failed"),
            {"data": Msg("one_segment_only", how=how)},
        )
    notices.append(("warn_segments_reduced", {"m": m, "k": sel.k, "how": how}))
    sel.formed = m


def _overflows(X: np.ndarray) -> bool:
    """Whether squared distances between the records overflow float64 (unscaled values ~1e154+)."""
    with np.errstate(over="ignore", invalid="ignore"):
        span = X.max(axis=0) - X.min(axis=0)
        return not np.isfinite(float(np.dot(span, span)) * X.shape[0])

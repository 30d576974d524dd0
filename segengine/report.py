"""Assembling the response body (SPEC section 2) from a fitted model and a scored batch.

:func:`build_report` is pure: numbers come from the :class:`~segengine.model.FittedModel`, the
:class:`~segengine.model.ScoredBatch` and profiling; sentences from `segengine.text`; this module
only arranges them, rounds floats and keeps the body JSON-safe (no NaN, no numpy scalars).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from segengine import config
from segengine._version import __version__
from segengine.text.msg import Msg

if TYPE_CHECKING:  # pragma: no cover
    from segengine.model import FittedModel, ScoredBatch

__all__ = ["ReportInputs", "build_report", "render_notices", "report_inputs", "segment_silhouettes"]


def _r(x: Any, digits: int = 4) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def rounded_shares(sizes: Any, digits: int = 4) -> list[float]:
    """Shares ``sizes / sizes.sum()`` rounded to ``digits`` so that they still sum to 1.

    Largest-remainder rounding: every share is floored to a whole number of units of
    10**-digits, and the units still missing are given to the largest remainders (ties to the
    lower segment index). Rounding each share on its own drifts: 0.9743 in all at 20,001
    records with many segments.

    Parameters
    ----------
    sizes : array-like of int
        Records per segment (a positive total).
    digits : int
        Decimal places.

    Returns
    -------
    list of float
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    scale = 10**digits
    total = int(sizes.sum())
    exact = sizes * scale  # integer numerators over `total`: no floating-point drift
    units = exact // total
    remainders = exact - units * total
    missing = scale - int(units.sum())
    order = np.lexsort((np.arange(sizes.size), -remainders))
    units[order[:missing]] += 1
    return [round(int(u) / scale, digits) for u in units]


def render_notices(notices: list, language: str) -> list[str]:
    """Render (key, params) warnings in ``language``; params named ``how`` are catalogue keys too."""
    return [Msg(key, **params).render(language) for key, params in notices]


@dataclass(frozen=True)
class ReportInputs:
    """The numbers of a report that cost the most: profiles and silhouettes of a scored batch.

    A caller that reports on one batch several times (in several languages) computes them once
    with :func:`report_inputs` and passes them to :func:`build_report`.

    Attributes
    ----------
    profiles : SegmentProfiles
        Per-segment statistics (:func:`segengine.profiling.profile_segments`).
    silhouette : float or None
        Mean silhouette of the labelling.
    segment_silhouettes : list of (float or None)
        Mean silhouette per segment.
    sampled_for_budget : bool
        Whether the silhouettes were estimated on a sample because the exact ones did not fit the
        request's budget (the report then says so).
    ms : float
        Milliseconds spent computing them, counted in the report's ``profiling`` time.
    """

    profiles: Any
    silhouette: float | None
    segment_silhouettes: list
    sampled_for_budget: bool = False
    ms: float = 0.0


def report_inputs(model: FittedModel, batch: ScoredBatch) -> ReportInputs:
    """Profiles and silhouettes of a scored batch (pure: reads its arguments only).

    Parameters
    ----------
    model : FittedModel
    batch : ScoredBatch
        Records with their columns, matrix and labels.

    Returns
    -------
    ReportInputs
    """
    from segengine.profiling import profile_segments

    t0 = time.perf_counter()
    # Statistics of values near the float64 limit (1e308) overflow; profiling reports every
    # non-finite statistic as null by design, so numpy's warnings are noise here (and an
    # error for services run with warnings as errors).
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        profiles = profile_segments(list(batch.columns), batch.labels, model.n_segments)
    overall, per, sampled = segment_silhouettes(model, batch)
    return ReportInputs(profiles, overall, per, sampled, (time.perf_counter() - t0) * 1000.0)


def segment_silhouettes(model: FittedModel, batch: ScoredBatch) -> tuple[float | None, list[float | None], bool]:
    """Mean silhouette of a batch's labelling, overall and per segment.

    Reuses the per-record values of the k search when the batch carries them (the training
    labels are that KMeans labelling: the same records, exact or the same sample); otherwise
    scores the labels the same way: exactly up to ``config.SILHOUETTE_EXACT_MAX_N`` records (when
    that fits the batch's deadline), else on a seeded sample scored against all records (against
    a seeded reference subsample above ``config.SILHOUETTE_REFERENCE_MAX_N`` records).

    Parameters
    ----------
    model : FittedModel
    batch : ScoredBatch

    Returns
    -------
    (float or None, list of (float or None), bool)
        Overall, per segment, and whether the exact values were replaced by a sample for the
        budget.
    """
    from segengine.metrics.silhouette import silhouette_rows, silhouette_rows_from_sums, silhouette_samples

    X, labels, k = batch.matrix, batch.labels, model.n_segments
    n = X.shape[0]
    options = model.options
    present = int(np.count_nonzero(np.bincount(labels, minlength=k)))
    if present < 2 or present >= n:
        # Silhouette is undefined with one segment (e.g. new records that all fall in one
        # segment) or with one record per segment.
        return None, [None] * k, False
    sampled_for_budget = False
    if batch.search_silhouettes is not None:
        rows, s = batch.search_silhouettes
    else:
        wants_exact = (options.silhouette == "exact"
                       or (options.silhouette == "auto" and n <= config.SILHOUETTE_EXACT_MAX_N)
                       or n <= config.SILHOUETTE_SAMPLE_SIZE)
        if wants_exact and not _exact_fits_budget(batch.deadline, X):
            wants_exact, sampled_for_budget = False, True
        if wants_exact:
            rows, s = None, silhouette_samples(X, labels)
        else:
            rng = np.random.default_rng(options.random_state)
            if n > config.SILHOUETTE_REFERENCE_MAX_N:
                ref = np.sort(rng.choice(n, size=config.SILHOUETTE_REFERENCE_MAX_N, replace=False))
                X, labels, n = np.ascontiguousarray(X[ref]), labels[ref], ref.size
            rows = np.sort(rng.choice(n, size=config.SILHOUETTE_SAMPLE_SIZE, replace=False))
            if np.count_nonzero(np.bincount(labels, minlength=k)) < 2:
                return None, [None] * k, sampled_for_budget
            s = None
            kept = batch.search_sums
            if kept is not None and X is batch.matrix and np.array_equal(kept.rows, rows):
                # The k search scored these very rows: fold its per-cell sums (issue #18).
                s = silhouette_rows_from_sums(X, labels, kept)
            if s is None:
                s = silhouette_rows(X, labels, rows)
    seg_labels = labels if rows is None else labels[rows]
    sums = np.bincount(seg_labels, weights=s, minlength=k)
    counts = np.bincount(seg_labels, minlength=k)
    per = [(_r(sums[j] / counts[j]) if counts[j] else None) for j in range(k)]
    return _r(float(s.mean())), per, sampled_for_budget


def _roles_metadata(profiles, columns, roles: dict, naming: str) -> dict[str, Any]:
    """``roles`` (which field plays which role, given or guessed, and its label) and ``naming``."""
    from segengine.text.naming import field_roles

    return {"roles": field_roles(columns, profiles, roles).to_metadata(), "naming": naming}


def _exact_fits_budget(deadline: Any, X: np.ndarray) -> bool:
    """Whether the exact silhouette of the labels fits the request's deadline (segengine.budget).

    When it does not, the sampled estimate is used and a warning says so.
    """
    from segengine.budget import silhouette_exact_ms

    n = X.shape[0]
    return (deadline is None or n <= config.SILHOUETTE_SAMPLE_SIZE
            or deadline.affords(silhouette_exact_ms(n, X.shape[1])))


def build_report(
    model: FittedModel,
    batch: ScoredBatch,
    language: str,
    *,
    include_metadata: bool = True,
    inputs: ReportInputs | None = None,
    extra_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The response body (SPEC section 2) of a batch scored by a model.

    A pure function: it reads its arguments and writes nothing back onto them; the same
    arguments give the same body (timings aside).

    Parameters
    ----------
    model : FittedModel
    batch : ScoredBatch
        The records reported on (the training records, or new ones).
    language : str
        Normalised language ("en", "es", "pt").
    include_metadata : bool
        Whether to add ``metadata``.
    inputs : ReportInputs, optional
        Profiles and silhouettes computed beforehand (:func:`report_inputs`, or merged from
        partial statistics by the Dask backend); computed here when omitted.
    extra_metadata : dict, optional
        Further ``metadata`` entries (the Dask backend's ``distributed``).

    Returns
    -------
    dict
        ``results``, ``segments``, ``summary`` and, on request, ``metadata``.
    """
    from segengine.text.insights import segment_texts, summary_insights

    t0 = time.perf_counter()
    k = model.n_segments
    columns = list(batch.columns)
    if inputs is None:
        inputs = report_inputs(model, batch)
        t_inputs = 0.0  # counted in t0..t1 below
    else:
        t_inputs = inputs.ms
    profiles = inputs.profiles
    roles, naming = dict(model.options.roles), model.options.naming
    texts = segment_texts(profiles, columns, language, roles, naming)
    overall_sil, per_segment_sil = inputs.silhouette, inputs.segment_silhouettes
    t1 = time.perf_counter()

    names = [t["name"] for t in texts]
    labels = batch.labels.tolist()
    pred = np.round(batch.prediction, 4).tolist()
    conf = np.round(batch.confidence, 4).tolist()
    results = [
        {"id": i, "segment": s, "segment_name": names[s], "prediction": p, "confidence": c}
        for i, s, p, c in zip(batch.ids, labels, pred, conf)
    ]
    n = batch.size
    sizes = batch.sizes(k)
    stability = model.stability
    segments = []
    shares = rounded_shares(sizes)
    for j in range(k):
        segments.append({
            "segment": j,
            "name": names[j],
            "size": int(sizes[j]),
            "share": shares[j],
            "silhouette": per_segment_sil[j],
            "stability": None if stability is None or j >= len(stability) else _r(stability[j]),
            "profile": profiles.profiles[j],
            "characteristics": texts[j]["characteristics"],
            "insights": texts[j]["insights"],
        })
    summary = {
        "n_records": n,
        "n_segments": k,
        "algorithm": model.algorithm,
        "silhouette": overall_sil,
        "features_used": model.preprocessor.used_fields_,
        "insights": summary_insights(profiles, columns, language, roles, naming),
    }
    body: dict[str, Any] = {"results": results, "segments": segments, "summary": summary}
    t2 = time.perf_counter()
    if include_metadata:
        notices = list(batch.notices)
        if inputs.sampled_for_budget:
            notices.append(("warn_budget", {"ms": int(batch.deadline.budget_ms), "how": "budget_report_sampled"}))
        timings = {key: int(round(v)) for key, v in batch.timings_ms.items()}
        # A batch profiled elsewhere (the Dask backend's profile pass) keeps its own time.
        timings.setdefault("profiling", int(round(t_inputs + (t1 - t0) * 1000.0)))
        timings["response"] = int(round((t2 - t1) * 1000.0))
        evidence = {key: (_r(v, 6) if isinstance(v, float) else v) for key, v in model.algorithm_evidence.items()}
        body["metadata"] = {
            "model_version": __version__,
            "processing_time_ms": int(round((time.perf_counter() - batch.started) * 1000.0)),
            "random_state": model.options.random_state,
            "k_selection": model.selection.to_dict(),
            "algorithm_selection": evidence,
            "stability": None if model.stability_info is None else dict(model.stability_info),
            "preprocessing": [
                {"field": f.name, "kind": f.kind, "used": f.used, "reason": f.reason, "log1p": f.log1p}
                for f in model.preprocessor.fields_
            ],
            "timings_ms": timings,
            "warnings": render_notices(notices, language),
        }
        if extra_metadata:
            body["metadata"].update(extra_metadata)
        body["metadata"].update(_roles_metadata(profiles, columns, roles, naming))
    return body

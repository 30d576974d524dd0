"""The distributed pipeline: mergeable summaries, k on a sample, refinement and profiles on all records.

Passes over the source partitions (each partition read once per pass, in parallel on the cluster):

1. field summaries (counts, moments, min/max, missing, levels, quantile summaries);
2. exact order statistics (medians, quartiles) inside the summaries' brackets, log1p moments;
3. the preprocessed matrix, kept in the workers' memory (8 bytes x columns per record);
4. profiles: labels, per-segment statistics and the silhouette sums.

Between 3 and 4 every pass runs on the in-memory matrix: the seeded sample for the k search, one
pass per Lloyd iteration, the KMeans likelihood, and the EM passes when a mixture is tried.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from segengine import config
from segengine.concurrency import guarded
from segengine.dask import _fields, _profiles, _refine
from segengine.dask._columns import FieldSpec, field_specs, partition_table
from segengine.engines.gmm import n_mixture_parameters
from segengine.engines.kmeans import KMeansResult
from segengine.errors import ValidationError
from segengine.fitting import FitDetails, measure_stability, search_notices
from segengine.mergeable import Moments
from segengine.model import FittedModel, MixtureParameters, ScoredBatch
from segengine.options import SegmentationOptions
from segengine.profiling import FieldColumn
from segengine.selection import kmeans_bic, select_k
from segengine.text.error_messages import error_text

# -- per-partition tasks ----------------------------------------------------------------------


@guarded
def _summary_task(pdf, specs, language):
    return _fields.field_summary(pdf, specs, language)


@guarded
def _bracket_task(pdf, specs, plan):
    return _fields.bracket_pass(pdf, specs, plan)


@guarded
def _transform_task(pdf, pre, specs, latest):
    return np.ascontiguousarray(pre.transform(partition_table(pdf, specs, latest)))


@guarded
def _moments_task(X):
    return Moments.of(X) if X.shape[0] else Moments.empty(X.shape[1])


def _rows_task(summary):
    return summary.n_rows


def _take_task(X, rows):
    return X[rows]


@guarded
def _profile_task(pdf, X, scorer, specs, latest, numeric, categorical, sample):
    return _profiles.profile_partition(pdf, X, scorer, specs, latest, numeric, categorical, sample)


def _merge_summaries_task(parts):
    return _fields.merge_summaries(parts)


def _merge_profiles_task(parts):
    return _profiles.merge_profiles(parts)


# -- helpers ----------------------------------------------------------------------------------


def _tree_reduce(tasks: list, merge, fanin: int = 8):
    """Merge delayed results on the cluster in fixed groups of consecutive partitions."""
    import dask

    level = list(tasks)
    while len(level) > 1:
        level = [dask.delayed(merge, pure=True)(level[i:i + fanin]) for i in range(0, len(level), fanin)]
    return level[0]


def _runner(xparts: list):
    import dask

    def run(fn, args, per_partition=()):
        dfn = dask.delayed(fn, pure=True)
        tasks = [dfn(xp, *args, *(v[i] for v in per_partition)) for i, xp in enumerate(xparts)]
        return list(dask.compute(*tasks))

    return run


def as_dataframe(data: Any) -> Any:
    """A Dask DataFrame from a Dask DataFrame or a 2-D Dask array (columns ``x0, x1, ...``)."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(data, dd.DataFrame):
        return data
    if isinstance(data, da.Array):
        if data.ndim != 2:
            raise ValidationError("Validation failed", {"X": f"Expected a 2-D array, got {data.ndim} dimensions."})
        return dd.from_dask_array(data.astype(np.float64), columns=[f"x{j}" for j in range(data.shape[1])])
    raise TypeError(f"segengine.dask expects a dask DataFrame or a 2-D dask Array, got {type(data).__name__}")


# -- the pipeline -----------------------------------------------------------------------------


def fit_frame(ddf: Any, options: SegmentationOptions, *, language: str, started: float, seg: Any) -> Any:
    """Fit ``seg`` (a Segmenter subclass instance) on a Dask DataFrame; see :func:`segengine.dask.fit`."""
    import dask

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    specs = field_specs(ddf._meta, options.id_field, language)
    if options.id_field != "id" and options.id_field not in ddf.columns and ddf._meta.index.name != options.id_field:
        raise ValidationError(error_text(language, "options_invalid"),
                              {"options.id_field": error_text(language, "id_field_missing", name=options.id_field)})
    _fields.check_names(specs, options, language)
    parts = ddf.to_delayed()
    n_partitions = len(parts)

    # Pass 1: mergeable field summaries.
    summary_tasks = [dask.delayed(_summary_task, pure=True)(p, specs, language) for p in parts]
    # One graph: the partition lengths (for global row numbers) come from the same summary tasks.
    summary, *lengths = dask.compute(_tree_reduce(summary_tasks, _merge_summaries_task),
                                     *[dask.delayed(_rows_task, pure=True)(t) for t in summary_tasks])
    if summary.errors:
        raise ValidationError(error_text(language, "validation_failed"), dict(summary.errors))
    n = summary.n_rows
    if n < config.MIN_RECORDS:
        raise ValidationError(error_text(language, "validation_failed"),
                              {"data": error_text(language, "too_few_records", min=config.MIN_RECORDS, n=n)})
    if options.n_clusters is not None and options.n_clusters >= n:
        raise ValidationError(error_text(language, "options_invalid"),
                              {"options.n_clusters": error_text(language, "n_clusters_too_large",
                                                                k=options.n_clusters, n=n)})
    plan = _fields.plan_fields(summary, specs, options)

    # Pass 2: exact medians / quartiles and log1p moments.
    bracket_parts = dask.compute(*[dask.delayed(_bracket_task, pure=True)(p, specs, plan) for p in parts])
    pre = _fields.build_preprocessor(plan, list(bracket_parts), summary, specs, options)
    if not any(f.used for f in pre.fields_):
        raise ValidationError(error_text(language, "validation_failed"), {"data": error_text(language, "no_features")})
    notices = list(pre.notices_)

    # Pass 3: the matrix, kept on the workers.
    xparts = [dask.delayed(_transform_task, pure=True)(p, pre, specs, plan.latest) for p in parts]
    xparts = list(dask.persist(*xparts))
    run = _runner(xparts)
    xmom = Moments.merge_all(run(_moments_task, []))
    d = int(xmom.n.shape[0])
    t1 = time.perf_counter()
    timings["preprocessing"] = (t1 - t0) * 1000.0

    # k on the seeded sample the single-machine search would draw (the same records).
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    if n > config.SEARCH_MAX_N:
        pick = np.random.default_rng([int(options.random_state), 7])
        sub = np.sort(pick.choice(n, size=config.SEARCH_MAX_N, replace=False))
    else:
        sub = np.arange(n)
    takes = []
    for p in range(n_partitions):
        lo, hi = np.searchsorted(sub, [offsets[p], offsets[p + 1]])
        if hi > lo:
            takes.append(dask.delayed(_take_task, pure=True)(xparts[p], sub[lo:hi] - offsets[p]))
    Xs = np.ascontiguousarray(np.concatenate(dask.compute(*takes)))
    if options.n_clusters is not None:
        k_min = k_max = options.n_clusters
    else:
        k_min, k_max = options.k_min, options.k_max
        if k_max > n - 1:
            notices.append(("warn_k_max_capped", {"k": n - 1}))
    try:
        sel = select_k(Xs, k_min, min(k_max, n - 1), silhouette=options.silhouette,
                       random_state=options.random_state, n_init=options.n_init,
                       time_budget_ms=options.time_budget_ms, started_at=started)
    except ValueError:
        raise ValidationError(error_text(language, "validation_failed"),
                              {"data": error_text(language, "no_features")}) from None
    notices.extend(search_notices(sel, n, options))
    t2 = time.perf_counter()
    timings["model_search"] = (t2 - t1) * 1000.0

    # The chosen k refined on all records: Lloyd passes, then the KMeans-implied mixture.
    k = sel.k
    mean_var = float(np.mean(xmom.var))
    centers, n_iter = _refine.lloyd(run, sel.fits[k].centers, list(offsets[:-1]),
                                    tol=1e-4 * mean_var, max_iter=config.REFINE_MAX_ITER)
    finals = run(_refine.final_partition, [centers])
    counts = _refine._add([f[0] for f in finals])
    sums = _refine._add([f[1] for f in finals])
    inertia = float(sum(f[2] for f in finals))
    sigma2 = max(inertia / (n * d), 1e-12)
    log_w = np.log(np.maximum(counts / n, 1e-300))
    loglik = float(sum(run(_refine.loglik_partition, [centers, log_w, sigma2])))
    evidence: dict[str, Any] = {"kmeans_bic": kmeans_bic(loglik, n, d, k)}
    continuous = all(f.kind in ("numeric", "date") for f in pre.fields_ if f.used)
    evidence["continuous"] = continuous
    n_params = n_mixture_parameters(k, d, options.covariance_type)
    evidence["records_per_parameter"] = n / n_params
    enough = n >= config.GMM_MIN_RECORDS_PER_PARAMETER * n_params
    algorithm, gmm = "kmeans", None
    raw_counts = counts
    if options.algorithm == "gmm" or (options.algorithm == "auto" and continuous and enough):
        gmm, reason = _refine.gmm_em(run, centers, counts, sums, n, options.covariance_type, xmom.mean)
        if gmm is None:
            notices.append(("warn_gmm_failed", {"reason": reason}))
        else:
            scored = run(_refine.gmm_score_partition, [gmm.weights, gmm.means, gmm.precisions_cholesky,
                                                       gmm.covariance_type])
            lpn = float(sum(s[0] for s in scored))
            evidence["gmm_bic"] = float(-2.0 * lpn + gmm.n_parameters() * math.log(n))
            evidence["delta_bic_per_record"] = (evidence["kmeans_bic"] - evidence["gmm_bic"]) / (2.0 * n)
            if options.algorithm == "gmm" or evidence["delta_bic_per_record"] > config.GMM_BIC_MARGIN:
                algorithm = "gmm"
                raw_counts = _refine._add([s[1] for s in scored])
    evidence["margin"] = config.GMM_BIC_MARGIN
    evidence["chosen"] = algorithm
    order = np.lexsort((np.arange(k), -raw_counts))
    order = order[raw_counts[order] > 0]
    final_centers = np.asarray(gmm.means if algorithm == "gmm" else centers, dtype=np.float64)
    t3 = time.perf_counter()
    timings["final_model"] = (t3 - t2) * 1000.0

    mixture = MixtureParameters.in_segment_order(gmm, order, options.covariance_type) if algorithm == "gmm" else None
    model = FittedModel(
        options=options, preprocessor=pre, algorithm=algorithm,
        centers=np.ascontiguousarray(final_centers[order]),
        weights=mixture.weights if mixture is not None else (counts[order] / n).astype(np.float64),
        sigma2=sigma2, mixture=mixture, selection=sel, algorithm_evidence=evidence,
    )

    # Pass 4: profiles and silhouettes, labelled with the fitted model.
    scorer = scoring_copy(model)
    rng = np.random.default_rng(options.random_state)
    s = min(config.SILHOUETTE_SAMPLE_SIZE, Xs.shape[0])
    sample = np.ascontiguousarray(Xs[np.sort(rng.choice(Xs.shape[0], size=s, replace=False))])
    sample_labels = _profiles.model_labels(scorer, sample)
    numeric = [i for i, sp in enumerate(specs) if sp.kind != "categorical"]
    categorical = [i for i, sp in enumerate(specs)
                   if sp.kind == "categorical" and pre.fields_[i].kind == "categorical"
                   and (pre.fields_[i].used
                        or (summary.levels[_level_index(specs, i)] is not None
                            and len(summary.levels[_level_index(specs, i)]) <= _profiles.MAX_PROFILED_CATEGORIES))]
    dscorer = dask.delayed(scorer, traverse=False)
    dsample = dask.delayed(sample, traverse=False)
    prof_tasks = [
        dask.delayed(_profile_task, pure=True)(p, xp, dscorer, specs, plan.latest, numeric, categorical, dsample)
        for p, xp in zip(parts, xparts)
    ]
    merged = dask.compute(_tree_reduce(prof_tasks, _merge_profiles_task))[0]
    profiles, rank_error = _profiles.assemble(merged, specs, pre.fields_, numeric, categorical, n)
    overall_sil, per_sil, _ = _profiles.silhouettes(merged.sil_sums, sample_labels, merged.sizes)
    t4 = time.perf_counter()
    timings["profiling"] = (t4 - t3) * 1000.0
    model = _fit_stability(model, scorer, Xs, started, notices)
    timings["stability"] = (time.perf_counter() - t4) * 1000.0
    del xparts

    field_kinds = [(sp.name, "empty" if pre.fields_[i].kind == "empty" else sp.kind, pre.fields_[i].used)
                   for i, sp in enumerate(specs)]
    # The records stay on the cluster: the batch has their counts, not their rows.
    batch = ScoredBatch(
        table=None,
        columns=tuple(FieldColumn(name, kind, np.zeros(0), used) for name, kind, used in field_kinds
                      if kind != "empty"),
        matrix=None, ids=[], labels=np.zeros(0, dtype=np.int64), prediction=np.zeros(0),
        confidence=np.zeros(0), notices=tuple(notices), timings_ms=timings, started=started,
        segment_sizes=merged.sizes, n_records=n,
    )
    details = FitDetails(
        kmeans=KMeansResult(centers=centers, labels=np.zeros(0, np.int64), inertia=inertia, n_iter=n_iter),
        mixture=gmm if algorithm == "gmm" else None, segment_order=order)
    seg._adopt(model, batch, details)
    seg.n_records_ = n
    seg.segment_sizes_ = merged.sizes
    seg.profiles_ = profiles
    seg.segment_silhouettes_ = (overall_sil, per_sil)
    seg.quantile_rank_error_ = rank_error
    seg.distributed_ = {"n_partitions": n_partitions, "lloyd_passes": n_iter,
                        "em_passes": int(gmm.n_iter) if gmm is not None else 0,
                        "silhouette_sample": int(s)}
    seg.field_kinds_ = field_kinds
    return seg


def _level_index(specs: list[FieldSpec], i: int) -> int:
    return sum(1 for sp in specs[:i] if sp.kind == "categorical")


def scoring_copy(seg: Any) -> Any:
    """A light Segmenter for the workers: what scoring needs, no search evidence.

    Parameters
    ----------
    seg : Segmenter or FittedModel
        Fitted.

    Returns
    -------
    Segmenter
    """
    from segengine.segmenter import Segmenter

    model = seg if isinstance(seg, FittedModel) else seg.model_
    out = Segmenter.from_options(model.options)
    out._adopt(model.for_scoring(), None)
    return out


def _fit_stability(model: FittedModel, scorer: Any, Xs: np.ndarray, started: float, notices: list) -> FittedModel:
    """Bootstrap stability of every segment on the driver's seeded sample.

    As on one machine, where it also runs on a subsample: the same method, resamples and warning
    below 0.6.
    """
    return measure_stability(model, Xs, _profiles.model_labels(scorer, Xs), started, notices)

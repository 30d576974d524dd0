"""Segment profiles and silhouettes from one labelling pass over the partitions.

Each partition labels its records with the fitted model and returns, per segment: exact counts,
moments (mean, std), min and max of every numeric field, level counts of text fields, a quantile
summary of every numeric field (median and quartiles: approximate, with a rank error bound), and
the sums of distances from a broadcast sample of records to its records (the sampled silhouette,
scored against all records). The driver merges them in partition order and assembles the same
:class:`~segengine.profiling.SegmentProfiles` the single-machine profiling returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from segengine.dask._columns import FieldSpec, partition_table
from segengine.mergeable import Moments, QuantileSummary
from segengine.metrics import _silhouette_kernels as _sk
from segengine.profiling import (
    _NUMERIC_STATS,
    MAX_PROFILED_CATEGORIES,
    TOP_CATEGORIES,
    SegmentProfiles,
    _num,
    _nums,
    _rank,
    pool_segments,
)


@dataclass
class PartitionProfile:
    """What one partition (or several, merged) contributes to the profiles."""

    sizes: np.ndarray  # (k,)
    moments: list[Moments]  # per segment, over the numeric fields
    sketches: list[list[QuantileSummary]]  # [segment][numeric field]
    levels: list[dict]  # per categorical field: level -> counts (k,)
    sil_sums: np.ndarray  # (s, k): distances from each sample record to this partition's records


def model_labels(scorer: Any, X: np.ndarray) -> np.ndarray:
    """``Segmenter.predict``'s labels of a preprocessed matrix: the most probable segment."""
    return scorer._labels_for(X, scorer._proba_matrix(X))


def profile_partition(pdf: Any, X: np.ndarray, scorer: Any, specs: list[FieldSpec], latest: dict,
                      numeric: list[int], categorical: list[int], sample: np.ndarray) -> PartitionProfile:
    """Label one partition and summarise every segment on every profiled field."""
    k = scorer.n_clusters_
    n = X.shape[0]
    table = partition_table(pdf, specs, latest)
    if n:
        labels = model_labels(scorer, X)
    else:
        labels = np.zeros(0, np.int64)
    sizes = np.bincount(labels, minlength=k)
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(sizes)))
    cols = table.columns
    if numeric:
        V = np.column_stack([cols[i].values for i in numeric])[order]
    else:
        V = np.zeros((n, 0))
    moments, sketches = [], []
    for s in range(k):
        block = V[bounds[s]:bounds[s + 1]]
        moments.append(Moments.of(block) if block.shape[0] else Moments.empty(V.shape[1]))
        sketches.append([QuantileSummary.of(block[:, j]) for j in range(V.shape[1])])
    levels = []
    for i in categorical:
        values = cols[i].values
        present = np.not_equal(values, None)
        counts: dict = {}
        if present.any():
            uniq, inverse = np.unique(values[present].astype(str), return_inverse=True)
            table2 = np.bincount(inverse * k + labels[present], minlength=uniq.size * k).reshape(uniq.size, k)
            counts = {u: table2[j] for j, u in enumerate(uniq.tolist())}
        levels.append(counts)
    return PartitionProfile(sizes, moments, sketches, levels, _silhouette_sums(X, labels, sample, k))


def _silhouette_sums(X: np.ndarray, labels: np.ndarray, sample: np.ndarray, k: int) -> np.ndarray:
    """Sums of distances from every sample record to this partition's records of each segment.

    The silhouette kernel's group sums, with the sample appended after the groups' records (the
    kernel compares the scored rows with the groups' columns only).
    """
    s = sample.shape[0]
    if X.shape[0] == 0 or s == 0:
        return np.zeros((s, k))
    order = np.argsort(labels, kind="stable")
    starts = np.zeros(k + 1, np.int64)
    np.cumsum(np.bincount(labels, minlength=k), out=starts[1:])
    XT = np.ascontiguousarray(np.vstack([X[order], sample]).T)
    rows = np.arange(X.shape[0], X.shape[0] + s, dtype=np.int64)
    buf = np.empty((s, k))
    _sk._group_sums_block(XT, rows, starts, 0, s, buf)
    return buf


def merge_profiles(parts: list[PartitionProfile]) -> PartitionProfile:
    """Merge partition profiles in the given order."""
    parts = list(parts)
    k = parts[0].sizes.shape[0]
    sizes = sum((p.sizes for p in parts[1:]), parts[0].sizes.copy())
    moments = [Moments.merge_all([p.moments[s] for p in parts]) for s in range(k)]
    n_num = len(parts[0].sketches[0]) if k else 0
    sketches = [[QuantileSummary.merge_all([p.sketches[s][j] for p in parts]) for j in range(n_num)]
                for s in range(k)]
    levels = []
    for j in range(len(parts[0].levels)):
        acc: dict = {}
        for p in parts:
            for key, cnt in p.levels[j].items():
                acc[key] = acc[key] + cnt if key in acc else cnt.copy()
        levels.append(acc)
    sil = parts[0].sil_sums.copy()
    for p in parts[1:]:
        sil = sil + p.sil_sums
    return PartitionProfile(sizes, moments, sketches, levels, sil)


def silhouettes(sil_sums: np.ndarray, sample_labels: np.ndarray, sizes: np.ndarray):
    """Mean silhouette (overall, per segment) of the sample records against all records.

    Returns ``(overall or None, [per segment or None], per-record values)``.
    """
    k = sizes.shape[0]
    present = np.flatnonzero(sizes > 0)
    s = sample_labels.shape[0]
    if present.size < 2 or s == 0:
        return None, [None] * k, np.zeros(0)
    values = np.zeros(s)
    for i in range(s):
        own = sample_labels[i]
        if sizes[own] <= 1:
            continue  # a one-record segment scores 0 (scikit-learn's convention)
        a = sil_sums[i, own] / (sizes[own] - 1)
        b = min(sil_sums[i, j] / sizes[j] for j in present if j != own)
        top = max(a, b)
        values[i] = (b - a) / top if top > 0 else 0.0
    sums = np.bincount(sample_labels, weights=values, minlength=k)
    cnt = np.bincount(sample_labels, minlength=k)
    per = [round(float(sums[j] / cnt[j]), 4) if cnt[j] else None for j in range(k)]
    return round(float(values.mean()), 4), per, values


def assemble(merged: PartitionProfile, specs: list[FieldSpec], fields: list, numeric: list[int],
             categorical: list[int], n: int) -> tuple[SegmentProfiles, float]:
    """SegmentProfiles from the merged summaries, and the quantiles' largest rank error.

    The profiles use profiling.py's formulas; the rank error is a fraction of a segment's records.
    """
    k = merged.sizes.shape[0]
    sizes = merged.sizes
    profiles: list[dict] = [{} for _ in range(k)]
    cands: list[list[dict]] = [[] for _ in range(k)]
    overall: dict[str, dict] = {}
    worst = 0.0
    pos = {idx: j for j, idx in enumerate(numeric)}
    cat_pos = {idx: j for j, idx in enumerate(categorical)}
    for idx, spec in enumerate(specs):
        if idx in pos:
            j = pos[idx]
            kind = fields[idx].kind if fields[idx].kind != "empty" else spec.kind
            prof, cand, ov, err = _numeric(spec.name, kind, merged, j, n)
            worst = max(worst, err)
        elif idx in cat_pos:
            out = _categorical(spec.name, merged.levels[cat_pos[idx]], sizes, fields[idx].used, n)
            if out is None:
                continue
            prof, cand, ov = out
        else:
            continue
        overall[spec.name] = ov
        for s in range(k):
            profiles[s][spec.name] = prof[s]
            if cand[s] is not None:
                cands[s].append(cand[s])
    return SegmentProfiles(sizes=sizes, profiles=profiles, characteristics=[_rank(c) for c in cands],
                           overall=overall), worst


def _numeric(name: str, kind: str, merged: PartitionProfile, j: int, n: int):
    k = merged.sizes.shape[0]
    stats = np.full((k, 9), np.nan)
    n_seg = np.zeros(k, np.int64)
    worst = 0.0
    for s in range(k):
        m = merged.moments[s]
        cnt = int(m.n[j])
        n_seg[s] = cnt
        if cnt == 0:
            continue
        sk = merged.sketches[s][j]
        worst = max(worst, sk.rank_error)
        stats[s, 0] = m.mean[j]
        stats[s, 2] = math.sqrt(max(float(m.m2[j]) / cnt, 0.0))
        stats[s, 5], stats[s, 6] = m.min[j], m.max[j]
        stats[s, 3], stats[s, 1], stats[s, 4] = sk.quantile(0.25), sk.quantile(0.5), sk.quantile(0.75)
    n_valid = int(n_seg.sum())
    sums, total, pmean, pstd, pmin, pmax = pool_segments(stats, n_seg, n_valid)
    overall: dict[str, Any] = {
        "kind": kind, "missing_rate": _num((n - n_valid) / n) if n else None,
        "mean": _num(pmean), "std": _num(pstd), "min": _num(pmin), "max": _num(pmax),
        "sum_share": (
            [_num(x) if cnt else 0.0 for x, cnt in zip((sums / total).tolist(), n_seg.tolist())]
            if n_valid and pmin >= 0 and total > 0 else None
        ),
    }
    sizes = merged.sizes
    with np.errstate(invalid="ignore", divide="ignore"):
        missing = np.where(sizes > 0, (sizes - n_seg) / np.maximum(sizes, 1), np.nan)
    flat = _nums(np.column_stack((stats, missing)).ravel().tolist())
    width = len(_NUMERIC_STATS) + 1
    profiles, cands = [], []
    for s in range(k):
        prof = dict(zip(_NUMERIC_STATS + ("missing_rate",), flat[s * width:(s + 1) * width]))
        profiles.append(prof)
        if prof["effect_size"] is None:
            cands.append(None)
        else:
            cands.append({
                "feature": name, "kind": kind,
                "direction": "high" if prof["effect_size"] > 0 else "low",
                "effect_size": prof["effect_size"], "value": prof["mean"],
                "reference": overall["mean"], "lift": prof["lift"],
            })
    return profiles, cands, overall, worst


def _categorical(name: str, levels: dict, sizes: np.ndarray, used: bool, n: int):
    k = sizes.shape[0]
    cats = sorted(levels)
    c = len(cats)
    if not used and c > MAX_PROFILED_CATEGORIES:
        return None
    counts = np.stack([levels[v] for v in cats], axis=1) if c else np.zeros((k, 0), np.int64)
    seg_valid = counts.sum(axis=1)
    pop_counts = counts.sum(axis=0)
    n_valid = int(pop_counts.sum())
    pop_share = pop_counts / n_valid if n_valid else np.zeros(c)
    pop_order = np.argsort(-pop_counts, kind="stable")
    overall = {
        "kind": "categorical",
        "missing_rate": _num((n - n_valid) / n) if n else None,
        "shares": {str(cats[j]): _num(pop_share[j]) for j in pop_order},
    }
    profiles, cands = [], []
    denom = np.sqrt(pop_share * (1.0 - pop_share))
    for s in range(k):
        size = int(sizes[s])
        m = int(seg_valid[s])
        miss = _num((size - m) / size) if size else None
        if m == 0:
            profiles.append({"top": [], "missing_rate": miss})
            cands.append(None)
            continue
        share = counts[s] / m
        order = np.argsort(-counts[s], kind="stable")[:TOP_CATEGORIES]
        top = [{"value": str(cats[j]), "share": _num(share[j]), "lift": _num(share[j] / pop_share[j])}
               for j in order if counts[s, j] > 0]
        profiles.append({"top": top, "missing_rate": miss})
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(denom > 0, (share - pop_share) / np.where(denom > 0, denom, 1.0), 0.0)
        jj = int(np.argmax(eff))
        if eff[jj] > 0:
            cands.append({
                "feature": name, "kind": "categorical", "direction": "over",
                "effect_size": _num(eff[jj]), "category": str(cats[jj]),
                "value": _num(share[jj]), "reference": _num(pop_share[jj]),
                "lift": _num(share[jj] / pop_share[jj]),
            })
        else:
            cands.append(None)
    return profiles, cands, overall

"""The preprocessing decisions of :class:`segengine.preprocessing.Preprocessor`, from mergeable summaries.

Pass 1 (:func:`field_summary`, one per partition, merged in partition order): per field the
count, missing count, moments (mean, variance, skewness), min/max and a quantile summary of the
numeric values, the level counts of text fields. That decides everything the single-machine
``_fit_field`` decides from the whole column -- used or not and why, log1p, the one-hot levels and
their order -- except two exact order statistics: the median that imputes missing values and the
quartiles of robust scaling. Pass 2 (:func:`bracket_pass`) settles them exactly: the quantile
summary brackets each wanted order statistic between two values, every partition counts its
values below the bracket and returns those inside it (a few per thousand), and the driver selects
the exact one. The same pass takes the moments of log1p(x) for the fields that get the log.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segengine import config
from segengine.dask._columns import FieldSpec, partition_columns
from segengine.mergeable import Moments, QuantileSummary
from segengine.options import SegmentationOptions
from segengine.preprocessing import _ONE_HOT_WEIGHT, FieldTransform, Preprocessor

# Distinct levels tracked exactly per text field; beyond, the field is high-cardinality for any
# max_categories the options allow below it, and its count is reported as "more than" this.
CATEGORY_TRACK_CAP = 100_000

_NUMERIC = ("numeric", "date")


@dataclass
class FieldSummary:
    """Pass-1 summary of one partition (or of several, merged)."""

    n_rows: int
    n_missing: list[int]
    moments: Moments  # over the numeric-like fields (numeric, binary, date), in spec order
    sketches: list[QuantileSummary]  # one per numeric/date field
    levels: list[dict | None]  # per text field: level -> count; None once past the cap
    errors: dict[str, str] = field(default_factory=dict)


def field_summary(pdf: Any, specs: list[FieldSpec], language: str) -> FieldSummary:
    """Pass 1 on one partition (dates in days since 1970; see :mod:`._columns`)."""
    columns, errors = partition_columns(pdf, specs, language=language, check=True)
    numeric = [c for c in columns if c.kind != "categorical"]
    if numeric:
        X = np.column_stack([c.values for c in numeric])
        X = np.where(np.isinf(X), np.nan, X)
        moments = Moments.of(X) if X.shape[0] else Moments.empty(X.shape[1])
    else:
        moments = Moments.empty(0)
    sketches = [QuantileSummary.of(np.where(np.isinf(c.values), np.nan, c.values))
                for c in columns if c.kind in _NUMERIC]
    levels: list[dict | None] = []
    for c in columns:
        if c.kind != "categorical":
            continue
        present = c.values[np.not_equal(c.values, None)]
        if present.size:
            uniq, counts = np.unique(present.astype(str), return_counts=True)
            levels.append(dict(zip(uniq.tolist(), counts.tolist())) if uniq.size <= CATEGORY_TRACK_CAP else None)
        else:
            levels.append({})
    return FieldSummary(len(pdf), [c.n_missing for c in columns], moments, sketches, levels, errors)


def merge_summaries(parts: list[FieldSummary]) -> FieldSummary:
    """Merge pass-1 summaries in the given (partition) order."""
    out_levels: list[dict | None] = []
    for j in range(len(parts[0].levels)):
        acc: dict | None = {}
        for p in parts:
            lv = p.levels[j]
            if acc is None or lv is None:
                acc = None
                continue
            for key, cnt in lv.items():
                acc[key] = acc.get(key, 0) + cnt
            if len(acc) > CATEGORY_TRACK_CAP:
                acc = None
        out_levels.append(acc)
    errors: dict[str, str] = {}
    for p in parts:
        for key, msg in p.errors.items():
            if len(errors) < 100:
                errors[key] = msg
    return FieldSummary(
        n_rows=sum(p.n_rows for p in parts),
        n_missing=[int(sum(v)) for v in zip(*(p.n_missing for p in parts))] if parts[0].n_missing else [],
        moments=Moments.merge_all([p.moments for p in parts]),
        sketches=[QuantileSummary.merge_all(list(s)) for s in zip(*(p.sketches for p in parts))],
        levels=out_levels,
        errors=errors,
    )


@dataclass
class Plan:
    """Decisions after pass 1 and what pass 2 must settle."""

    fields: list[FieldTransform]
    field_notices: list[list]  # per field, in field order (as Preprocessor emits them)
    latest: dict[str, float]  # per date field: the latest date, days since 1970
    # per numeric/date field (index into specs): wanted order statistics (0-based ranks of the
    # values as the single machine sees them) and a bracket (lo, hi] around each
    wanted: dict[int, list[int]]
    brackets: dict[int, list[tuple[float, float]]]
    log_fields: list[int]
    counts: dict[int, int]  # observed values per numeric/date field
    constant: set = field(default_factory=set)


def _lerp(a: float, b: float, t: float) -> float:
    # numpy's linear interpolation, term for term, so np.percentile's result is reproduced exactly.
    diff = b - a
    if t >= 0.5:
        return b - diff * (1.0 - t)
    return a + diff * t


def plan_fields(summary: FieldSummary, specs: list[FieldSpec], options: SegmentationOptions) -> Plan:
    """Pass-1 decisions, mirroring ``Preprocessor._fit_field`` field by field.

    Parameters
    ----------
    summary : FieldSummary
        The merged pass-1 summary.
    specs : list of FieldSpec
    options : SegmentationOptions

    Returns
    -------
    Plan
    """
    from segengine.dask._columns import date_reference_text

    selected = set(options.features) if options.features is not None else None
    excluded = set(options.exclude)
    plan = Plan([], [], {}, {}, {}, [], {})
    mi = si = li = 0
    for idx, spec in enumerate(specs):
        reason = "excluded" if (spec.name in excluded or (selected is not None and spec.name not in selected)) else None
        n_missing = summary.n_missing[idx]
        notes: list = []
        plan.field_notices.append(notes)
        if spec.kind == "categorical":
            levels = summary.levels[li]
            li += 1
            if n_missing == summary.n_rows:
                # No value at all: an "empty" column, as the single-machine table types it.
                plan.fields.append(FieldTransform(name=spec.name, kind="empty", used=False, reason=reason or "empty"))
                if reason is None:
                    notes.append(("warn_empty", {"field": spec.name}))
                continue
            ft = FieldTransform(name=spec.name, kind="categorical", used=reason is None, reason=reason)
            plan.fields.append(ft)
            if levels is None:
                n_text: Any = f">{CATEGORY_TRACK_CAP}"
                many = True
            else:
                ft.n_distinct = len(levels)
                n_text = len(levels)
                many = len(levels) > options.max_categories
            if ft.used and many:
                ft.used, ft.reason = False, "high_cardinality"
                notes.append(("warn_high_cardinality",
                              {"field": spec.name, "n": n_text, "max": options.max_categories}))
                continue
            ordered = sorted(levels.items(), key=lambda kv: (-kv[1], kv[0])) if levels is not None else []
            if ft.used and len(ordered) < 2:
                ft.used, ft.reason = False, "constant"
                notes.append(("warn_constant", {"field": spec.name}))
                continue
            ft.categories = [key for key, _ in ordered]
            ft.scale = 1.0 if options.scaling == "none" else _ONE_HOT_WEIGHT
            if ft.used and n_missing:
                notes.append(("warn_missing", {"field": spec.name, "n": n_missing, "how": "how_none"}))
            continue

        j = mi
        mi += 1
        if spec.kind in _NUMERIC:
            sketch = summary.sketches[si]
            si += 1
        m = summary.moments
        n_obs = int(m.n[j])
        date_ref = None
        if spec.kind == "date" and n_obs:
            plan.latest[spec.name] = float(m.max[j])
            date_ref = date_reference_text(m.max[j])
        ft = FieldTransform(name=spec.name, kind=spec.kind, used=reason is None, reason=reason,
                            date_reference=date_ref)
        plan.fields.append(ft)
        if n_obs == 0:
            # A typed column without values: left out silently (as Preprocessor does).
            ft.used, ft.reason = False, reason or "empty"
            continue
        if spec.kind == "binary":
            ft.impute = float(m.mean[j])
        if ft.used and n_missing:
            notes.append(("warn_missing", {"field": spec.name, "n": n_missing,
                                           "how": "how_mean" if spec.kind == "binary" else "how_median"}))
        lo, hi = float(m.min[j]), float(m.max[j])
        constant = lo == hi
        if constant and ft.used:
            ft.used, ft.reason = False, "constant"
            notes.append(("warn_constant", {"field": spec.name}))
        if spec.kind == "binary":
            continue
        plan.counts[idx] = n_obs
        ranks = [(n_obs - 1) // 2, n_obs // 2]  # the median that imputes (computed for every field)
        if constant:
            plan.constant.add(idx)
        else:
            skew = float(m.skewness[j])
            if spec.kind == "date":
                skew = -skew  # days before the latest date mirror the stamps
            nonneg = lo >= 0.0 if spec.kind == "numeric" else True
            if options.scaling == "auto" and nonneg and skew > config.SKEW_THRESHOLD:
                ft.log1p = True
                plan.log_fields.append(idx)
            elif options.scaling == "robust":
                for q in (0.25, 0.5, 0.75):
                    h = int(math.floor(q * (n_obs - 1)))
                    ranks += [h, min(h + 1, n_obs - 1)]
        ranks = sorted(set(ranks))
        plan.wanted[idx] = ranks
        if spec.kind == "date":
            # Days before the latest date run opposite to the stamps: rank r of the days is rank
            # n - 1 - r of the stamps, and (lo, hi] of the stamps is [latest - hi, latest - lo).
            # The half-open side flips, so widen by one ulp to keep (lo', hi'] valid.
            top = plan.latest[spec.name]
            bl = []
            for r in ranks:
                a, b = sketch.bracket(n_obs - 1 - r)
                bl.append((np.nextafter(top - b, -np.inf), top - a))
            plan.brackets[idx] = bl
        else:
            plan.brackets[idx] = [sketch.bracket(r) for r in ranks]
    return plan


def bracket_pass(pdf: Any, specs: list[FieldSpec], plan: Plan) -> tuple[dict, dict]:
    """Pass 2 on one partition: order-statistic brackets and the log fields' moments.

    Per wanted order statistic, the count of values at or below the bracket's low end and the
    values inside it; and the moments of log1p(x) of the log fields.
    """
    columns, _ = partition_columns(pdf, specs, latest=plan.latest)
    found: dict[int, list[tuple[int, np.ndarray]]] = {}
    for idx, bl in plan.brackets.items():
        v = columns[idx].values
        v = v[~np.isnan(v)]
        found[idx] = [(int(np.count_nonzero(v <= lo)), np.sort(v[(v > lo) & (v <= hi)])) for lo, hi in bl]
    logs: dict[int, Moments] = {}
    for idx in plan.log_fields:
        v = columns[idx].values
        v = v[~np.isnan(v)]
        logs[idx] = Moments.of(np.log1p(v)) if v.size else Moments.empty(1)
    return found, logs


def build_preprocessor(plan: Plan, parts: list[tuple[dict, dict]], summary: FieldSummary,
                       specs: list[FieldSpec], options: SegmentationOptions) -> Preprocessor:
    """The fitted Preprocessor from the pass-1 plan and the pass-2 results (in partition order).

    Parameters
    ----------
    plan : Plan
    parts : list of (dict, dict)
        :func:`bracket_pass` of every partition, in partition order.
    summary : FieldSummary
        The merged pass-1 summary.
    specs : list of FieldSpec
    options : SegmentationOptions

    Returns
    -------
    Preprocessor
        Fitted: ``fields_`` and ``notices_`` as ``Preprocessor.fit_transform`` would set them.
    """
    exact: dict[int, dict[int, float]] = {}
    for idx, ranks in plan.wanted.items():
        exact[idx] = {}
        for q, r in enumerate(ranks):
            below = sum(p[0][idx][q][0] for p in parts)
            inside = np.sort(np.concatenate([p[0][idx][q][1] for p in parts]))
            pos = r - below
            if not 0 <= pos < inside.size:  # impossible while the summary's bound holds
                raise RuntimeError(f"exact quantile bracket missed rank {r} of field {specs[idx].name}")
            exact[idx][r] = float(inside[pos])
    log_moments = {idx: Moments.merge_all([p[1][idx] for p in parts]) for idx in plan.log_fields}
    m = summary.moments
    numeric_pos: dict[int, int] = {}
    for idx, spec in enumerate(specs):
        if spec.kind != "categorical":
            numeric_pos[idx] = len(numeric_pos)
    fields = [FieldTransform(**vars(f)) for f in plan.fields]
    notices: list = []
    for idx, f in enumerate(fields):
        notices.extend(plan.field_notices[idx])
        if idx not in plan.wanted:
            continue
        n_obs = plan.counts[idx]
        stat = exact[idx]
        a, b = stat[(n_obs - 1) // 2], stat[n_obs // 2]
        # np.median: the middle value, or the mean of the two middle values.
        f.impute = float(np.mean(np.array([a, b]))) if n_obs % 2 == 0 else a
        if idx in plan.constant:
            continue
        jj = numeric_pos[idx]
        lo, hi = float(m.min[jj]), float(m.max[jj])
        mean, std = float(m.mean[jj]), math.sqrt(float(m.var[jj]))
        if specs[idx].kind == "date":
            latest = plan.latest[specs[idx].name]
            lo, hi, mean = latest - hi, latest - lo, latest - mean
        scaling = options.scaling
        if f.log1p:
            lm = log_moments[idx]
            center, scale = float(lm.mean[0]), math.sqrt(float(lm.var[0]))
        elif scaling in ("auto", "standard"):
            center, scale = mean, std
        elif scaling == "robust":
            q = []
            for p in (0.25, 0.5, 0.75):
                h = p * (n_obs - 1)
                k0 = int(math.floor(h))
                q.append(_lerp(stat[k0], stat[min(k0 + 1, n_obs - 1)], h - k0))
            center, scale = float(q[1]), float(q[2] - q[0])
            if scale <= 0.0:
                scale = std
        elif scaling == "minmax":
            center, scale = lo, hi - lo
        else:
            center, scale = 0.0, 1.0
        scale = min(scale, sys.float_info.max)
        if not (scale > 0.0 and math.isfinite(scale)):
            if f.used:
                f.used, f.reason = False, "constant"
                notices.append(("warn_constant", {"field": f.name}))
            continue
        f.center, f.scale = center, scale
    pre = Preprocessor(options)
    pre.fields_ = fields
    pre.notices_ = notices
    return pre


def check_names(specs: list[FieldSpec], options: SegmentationOptions, language: str) -> None:
    """Unknown names in ``features`` / ``exclude`` and the id among the features, as on one machine."""
    from segengine.errors import ValidationError
    from segengine.text.error_messages import error_text

    names = [s.name for s in specs]
    details = {}
    for key in ("features", "exclude"):
        for i, name in enumerate(getattr(options, key) or ()):
            if key == "exclude" and name == options.id_field:
                continue
            if name == options.id_field:
                details[f"options.{key}.{i}"] = error_text(language, "id_field_in_features", name=name)
            elif name not in names:
                details[f"options.{key}.{i}"] = error_text(language, "unknown_field", name=name)
    if details:
        raise ValidationError(error_text(language, "options_invalid"), details)


__all__ = ["FieldSummary", "Plan", "field_summary", "merge_summaries", "plan_fields", "bracket_pass",
           "build_preprocessor", "check_names"]

"""The numbers behind every picture of a report (HTML charts and notebook plots).

Numbers only, read from a report dict (or, for the projection, a fitted Segmenter) without
changing them: the SVG charts (`segengine.svg_charts`) and the matplotlib plots
(`segengine.plots`) draw exactly these, so both show the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from segengine.profiling import TOP_CATEGORIES

if TYPE_CHECKING:  # pragma: no cover
    from segengine.segmenter import Segmenter

__all__ = [
    "KCurve", "SegmentBar", "ProfileRow", "Projection", "ConfidenceDistribution",
    "k_curve", "segment_bars", "profile_rows", "projection", "confidence_distribution",
    "PROJECTION_MAX_POINTS",
]

# Records drawn in the projection: enough to show each segment's shape, few enough that the
# page stays small (~40 bytes per point) at any input size.
PROJECTION_MAX_POINTS = 3_000
# Every segment keeps at least this many points (or all of its records), so small segments
# stay visible after subsampling.
PROJECTION_MIN_PER_SEGMENT = 30
CONFIDENCE_BINS = 20


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ------------------------------------------------------------------------------ k selection


@dataclass(frozen=True)
class KCurve:
    """Mean silhouette of every k tried.

    Attributes
    ----------
    ks : list of int
        The k tried, ascending (those with a finite score).
    scores, errors : list of float
        Mean silhouette and its standard error (0.0 when exact).
    chosen : int or None
    near_ties : list of int
        The k whose score is within the near-tie gap of the chosen one.
    exact : bool
    sample_size : int or None
    """

    ks: list[int]
    scores: list[float]
    errors: list[float]
    chosen: int | None
    near_ties: list[int]
    exact: bool
    sample_size: int | None


def k_curve(report: dict[str, Any]) -> KCurve | None:
    """The k-selection evidence of ``report["metadata"]["k_selection"]``.

    Parameters
    ----------
    report : dict
        A segmentation report with metadata.

    Returns
    -------
    KCurve or None
        None when the report has no k-selection metadata.
    """
    sel = (report.get("metadata") or {}).get("k_selection")
    if not isinstance(sel, dict) or not isinstance(sel.get("scores"), dict):
        return None
    errors = sel.get("standard_errors") or {}
    rows = []
    for key, score in sel["scores"].items():
        s = _finite(score)
        try:
            k = int(key)
        except (TypeError, ValueError):
            continue
        if s is not None:
            rows.append((k, s, _finite(errors.get(key)) or 0.0))
    rows.sort()
    ties = sorted({int(t["k"]) for t in sel.get("near_ties") or [] if isinstance(t, dict) and "k" in t})
    chosen = sel.get("chosen")
    return KCurve(
        ks=[r[0] for r in rows], scores=[r[1] for r in rows], errors=[r[2] for r in rows],
        chosen=int(chosen) if chosen is not None else None, near_ties=ties,
        exact=bool(sel.get("exact")), sample_size=sel.get("sample_size"),
    )


# ------------------------------------------------------------------------------ segments


@dataclass(frozen=True)
class SegmentBar:
    """One segment's size.

    Attributes
    ----------
    segment : int
    name : str
    size : int
    share : float
    """

    segment: int
    name: str
    size: int
    share: float


def segment_bars(report: dict[str, Any]) -> list[SegmentBar]:
    """Size and share of every segment, in report order (segment 0 is the largest).

    Parameters
    ----------
    report : dict

    Returns
    -------
    list of SegmentBar
    """
    n = sum(int(s.get("size") or 0) for s in report.get("segments", []))
    out = []
    for s in report.get("segments", []):
        size = int(s.get("size") or 0)
        share = _finite(s.get("share"))
        out.append(SegmentBar(int(s["segment"]), str(s.get("name", s["segment"])), size,
                              share if share is not None else (size / n if n else 0.0)))
    return out


@dataclass(frozen=True)
class ProfileRow:
    """One row of the profile heatmap: a numeric field, or one level of a categorical field.

    Attributes
    ----------
    field : str
    level : str or None
        The category value (None for numeric, binary and date fields).
    kind : str
        "numeric", "binary", "date" or "categorical".
    effects : list of float or None
        Per segment: (segment mean - overall mean) / overall std; for a level, the same on its
        0/1 indicator. None when unknown (a level outside a segment's listed top values).
    values : list of float or None
        Per segment: mean in the field's units, or the level's share.
    reference : float or None
        Overall mean (from the segments' means weighted by their non-missing records) or the
        level's overall share.
    lifts : list of float or None
        Per segment: value / reference as the report gives it.
    """

    field: str
    level: str | None
    kind: str
    effects: list[float | None]
    values: list[float | None]
    reference: float | None
    lifts: list[float | None]

    @property
    def label(self) -> str:
        """``field`` or ``field = level``."""
        return self.field if self.level is None else f"{self.field} = {self.level}"


def _kinds(report: dict[str, Any]) -> dict[str, str]:
    pre = (report.get("metadata") or {}).get("preprocessing") or []
    return {p["field"]: p.get("kind", "numeric") for p in pre if isinstance(p, dict) and "field" in p}


def profile_rows(report: dict[str, Any]) -> list[ProfileRow]:
    """Rows of the profile heatmap, fields in profile order, levels most common first.

    Parameters
    ----------
    report : dict

    Returns
    -------
    list of ProfileRow
    """
    segments = report.get("segments") or []
    if not segments:
        return []
    kinds = _kinds(report)
    fields: list[str] = []
    for s in segments:
        for name in (s.get("profile") or {}):
            if name not in fields:
                fields.append(name)
    rows: list[ProfileRow] = []
    for name in fields:
        stats = [(s.get("profile") or {}).get(name) or {} for s in segments]
        if any("top" in st for st in stats):
            rows.extend(_level_rows(name, stats, segments))
        else:
            rows.append(_numeric_row(name, kinds.get(name, "numeric"), stats, segments))
    return rows


def _numeric_row(name: str, kind: str, stats: list[dict], segments: list[dict]) -> ProfileRow:
    means = [_finite(st.get("mean")) for st in stats]
    weights = [int(s.get("size") or 0) * (1.0 - (_finite(st.get("missing_rate")) or 0.0))
               for s, st in zip(segments, stats)]
    total = sum(w for w, m in zip(weights, means) if m is not None)
    reference = (sum(w * m for w, m in zip(weights, means) if m is not None) / total) if total > 0 else None
    return ProfileRow(
        field=name, level=None, kind=kind,
        effects=[_finite(st.get("effect_size")) for st in stats], values=means,
        reference=reference, lifts=[_finite(st.get("lift")) for st in stats],
    )


def _level_rows(name: str, stats: list[dict], segments: list[dict]) -> list[ProfileRow]:
    # The population share of a level is share / lift in any segment that lists it; the largest
    # such segment gives it with the most precision.
    population: dict[str, float] = {}
    for st in stats:
        for entry in st.get("top") or []:
            share, lift = _finite(entry.get("share")), _finite(entry.get("lift"))
            value = str(entry.get("value"))
            if value not in population and share and lift:
                population[value] = share / lift
    levels = sorted(population, key=lambda v: (-population[v], v))
    rows = []
    for level in levels:
        p = population[level]
        denom = math.sqrt(p * (1.0 - p)) if 0.0 < p < 1.0 else 0.0
        effects, values, lifts = [], [], []
        for st in stats:
            top = st.get("top") or []
            entry = next((e for e in top if str(e.get("value")) == level), None)
            if entry is not None:
                share = _finite(entry.get("share"))
                lift = _finite(entry.get("lift"))
            elif top and len(top) < TOP_CATEGORIES:
                share, lift = 0.0, 0.0  # every level present in the segment is listed
            else:
                share = lift = None
            values.append(share)
            lifts.append(lift)
            effects.append((share - p) / denom if share is not None and denom > 0 else None)
        rows.append(ProfileRow(name, level, "categorical", effects, values, p, lifts))
    return rows


# ------------------------------------------------------------------------------ projection


@dataclass(frozen=True)
class Projection:
    """A 2-D principal-component projection of the preprocessed records.

    Attributes
    ----------
    xy : numpy.ndarray of shape (m, 2)
        The drawn records, grouped by segment (segment 0 first), record order within a segment.
    labels : numpy.ndarray of shape (m,)
    rows : numpy.ndarray of shape (m,)
        Their record indices.
    centers : numpy.ndarray of shape (k, 2)
        The segment centres, projected the same way.
    explained : tuple of float
        Share of the total variance along each component.
    n_records : int
    """

    xy: np.ndarray
    labels: np.ndarray
    rows: np.ndarray
    centers: np.ndarray
    explained: tuple[float, float]
    n_records: int


def _principal_axes(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the two leading unit eigenvectors (d, 2) of the covariance, and the variance shares."""
    mean = X.mean(axis=0)
    d = X.shape[1]
    cov = np.zeros((d, d))
    # In blocks, so that a 250k-record matrix needs no full centred copy.
    for start in range(0, X.shape[0], 65_536):
        block = X[start:start + 65_536] - mean
        cov += block.T @ block
    cov /= max(X.shape[0], 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1]
    values, vectors = np.clip(values[order], 0.0, None), vectors[:, order]
    axes = np.zeros((d, 2))
    axes[:, : min(2, d)] = vectors[:, :2]
    # Eigenvectors have no sign: make the largest loading positive so the picture is stable.
    for j in range(min(2, d)):
        i = int(np.argmax(np.abs(axes[:, j])))
        if axes[i, j] < 0:
            axes[:, j] = -axes[:, j]
    total = float(values.sum())
    shares = np.zeros(2)
    if total > 0:
        shares[: min(2, d)] = values[:2] / total
    return mean, axes, shares


def _drawn_rows(labels: np.ndarray, k: int, max_points: int, random_state: int | None) -> np.ndarray:
    n = labels.shape[0]
    if n <= max_points:
        return np.lexsort((np.arange(n), labels))
    rng = np.random.default_rng(random_state)
    sizes = np.bincount(labels, minlength=k)
    quota = np.maximum(np.rint(max_points * sizes / n).astype(np.int64),
                       np.minimum(sizes, PROJECTION_MIN_PER_SEGMENT))
    quota = np.minimum(quota, sizes)
    by_segment = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parts = []
    for j in range(k):
        members = by_segment[bounds[j]:bounds[j + 1]]
        if quota[j]:
            parts.append(np.sort(rng.choice(members, size=int(quota[j]), replace=False)))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def projection(seg: Segmenter, *, max_points: int = PROJECTION_MAX_POINTS,
               random_state: int | None = None) -> Projection:
    """Project a fitted Segmenter's preprocessed records on their first two principal components.

    Parameters
    ----------
    seg : Segmenter
        Fitted on records (``X_`` and ``labels_`` present; a loaded model has none).
    max_points : int
        About this many records are drawn: a seeded sample stratified by segment, each segment
        keeping at least ``PROJECTION_MIN_PER_SEGMENT`` records (or all of them).
    random_state : int, optional
        Seed of the sample (default: the Segmenter's ``random_state``).

    Returns
    -------
    Projection
    """
    X = getattr(seg, "X_", None)
    if X is None:
        raise ValueError("the projection needs the training records: fit the Segmenter on records first")
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(seg.labels_, dtype=np.int64)
    k = int(seg.n_clusters_)
    mean, axes, shares = _principal_axes(X)
    seed = seg.options_.random_state if random_state is None else random_state
    rows = _drawn_rows(labels, k, max_points, seed)
    xy = (X[rows] - mean) @ axes
    centers = (np.asarray(seg.centers_, dtype=np.float64) - mean) @ axes
    return Projection(xy, labels[rows], rows, centers, (float(shares[0]), float(shares[1])), X.shape[0])


# ------------------------------------------------------------------------------ confidence


@dataclass(frozen=True)
class ConfidenceDistribution:
    """Per-segment histogram and quartiles of the records' confidence.

    Attributes
    ----------
    edges : numpy.ndarray of shape (bins + 1,)
        Bin edges over [0, 1] (the last bin includes 1).
    counts : numpy.ndarray of shape (k, bins)
    sizes : numpy.ndarray of shape (k,)
    means : list of float or None
    quartiles : list of tuple or None
        (25th percentile, median, 75th percentile) per segment; None for an empty segment.
    """

    edges: np.ndarray
    counts: np.ndarray
    sizes: np.ndarray
    means: list[float | None]
    quartiles: list[tuple[float, float, float] | None]


def confidence_distribution(report: dict[str, Any], *, bins: int = CONFIDENCE_BINS) -> ConfidenceDistribution:
    """Histogram the ``confidence`` of ``report["results"]`` per segment.

    Parameters
    ----------
    report : dict
    bins : int
        Equal-width bins over [0, 1].

    Returns
    -------
    ConfidenceDistribution
    """
    k = len(report.get("segments") or [])
    results = report.get("results") or []
    labels = np.fromiter((r["segment"] for r in results), dtype=np.int64, count=len(results))
    conf = np.fromiter((r["confidence"] if r["confidence"] is not None else np.nan for r in results),
                       dtype=np.float64, count=len(results))
    keep = np.isfinite(conf) & (labels >= 0) & (labels < k)
    labels, conf = labels[keep], np.clip(conf[keep], 0.0, 1.0)
    # i / bins is the double nearest the decimal edge (0.15, not linspace's 0.15000000000000002),
    # so a confidence written as 0.15 falls in the bin that starts at 0.15.
    edges = np.arange(bins + 1) / bins
    # Against the edges themselves (not conf * bins, where 0.15 * 20 = 2.9999...).
    idx = np.minimum(np.searchsorted(edges, conf, side="right") - 1, bins - 1)
    counts = np.bincount(labels * bins + idx, minlength=k * bins).reshape(k, bins)
    sizes = counts.sum(axis=1)
    order = np.lexsort((conf, labels))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    means: list[float | None] = []
    quartiles: list[tuple[float, float, float] | None] = []
    for j in range(k):
        v = conf[order[bounds[j]:bounds[j + 1]]]
        if v.size:
            q = np.percentile(v, [25, 50, 75])
            means.append(float(v.mean()))
            quartiles.append((float(q[0]), float(q[1]), float(q[2])))
        else:
            means.append(None)
            quartiles.append(None)
    return ConfidenceDistribution(edges, counts, sizes, means, quartiles)

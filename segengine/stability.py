"""Stability of every segment: bootstrap Jaccard recovery, as Hennig's clusterboot measures it.

A segment is worth acting on only if it is a property of the customers, not of the seed or of
the particular records at hand. Hennig (2007, "Cluster-wise assessment of cluster stability",
Computational Statistics & Data Analysis 52) resamples the records, clusters each resample
afresh with the same method, and scores each original cluster by the Jaccard similarity to its
best match among the new clusters (on the records the resample holds); the mean over resamples
is its stability. He reads a mean below 0.6 as an unstable cluster, above 0.75 as a valid one.

Here the resamples are bootstraps of a seeded subsample of ``config.STABILITY_SAMPLE_SIZE``
records (the whole input when smaller), which keeps the cost flat in n: each resample is one
small KMeans fit with a few restarts (and, for a mixture, EM from it). A subsample makes the
estimate somewhat conservative for small segments, which are then represented by fewer records.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from segengine import config
from segengine.concurrency import map_two_threads, needs_serialising
from segengine.engines.kmeans import kmeans_fit

__all__ = ["StabilityResult", "segment_stability", "best_match_jaccard"]

UNSTABLE_BELOW = 0.6


@dataclass(frozen=True)
class StabilityResult:
    """Per-segment bootstrap stability and how it was measured.

    Attributes
    ----------
    stability : numpy.ndarray of shape (k,)
        Mean best-match Jaccard similarity of each segment over the resamples (NaN for a
        segment no resample contained).
    resamples : int
        Resamples actually fitted (fewer than asked when the deadline passed).
    sample_size : int
        Records each resample draws (with replacement).
    dissolved : numpy.ndarray of shape (k,)
        Resamples in which the segment's best Jaccard was below 0.5 (Hennig: "dissolved").
    """

    stability: np.ndarray
    resamples: int
    sample_size: int
    dissolved: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description for ``metadata.stability``."""
        return {
            "method": "bootstrap_jaccard",
            "reference": "Hennig (2007), clusterboot",
            "resamples": int(self.resamples),
            "sample_size": int(self.sample_size),
            "unstable_below": UNSTABLE_BELOW,
            "dissolved": [int(v) for v in self.dissolved],
        }


def best_match_jaccard(original: np.ndarray, refit: np.ndarray, k: int, k_refit: int) -> np.ndarray:
    """Jaccard similarity of every original segment to its best match among the refit segments.

    Parameters
    ----------
    original : numpy.ndarray of shape (m,), int
        Original segment of each record of the resample (0..k-1).
    refit : numpy.ndarray of shape (m,), int
        Segment of the same records in the resample's own fit (0..k_refit-1).
    k, k_refit : int
        Numbers of segments.

    Returns
    -------
    numpy.ndarray of shape (k,)
        NaN for an original segment absent from the resample.
    """
    table = np.bincount(original * k_refit + refit, minlength=k * k_refit).reshape(k, k_refit)
    table = table.astype(np.float64)
    rows = table.sum(axis=1, keepdims=True)
    cols = table.sum(axis=0, keepdims=True)
    union = rows + cols - table
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, table / union, 0.0)
    out = jac.max(axis=1)
    out[rows[:, 0] == 0] = np.nan
    return out


def _refit_labels(X: np.ndarray, k: int, algorithm: str, covariance_type: str, seed: int) -> np.ndarray:
    fit = kmeans_fit(X, k, n_init=config.STABILITY_RESTARTS, random_state=seed)
    if algorithm != "gmm":
        return fit.labels
    import warnings

    from segengine.engines.gmm import gmm_em_from_labels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm = gmm_em_from_labels(X, fit.labels, k, covariance_type=covariance_type,
                                     max_iter=config.STABILITY_GMM_MAX_ITER)
        return gmm.log_prob_resp(X)[1].argmax(axis=1)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError):
        return fit.labels


def segment_stability(
    X: np.ndarray,
    labels: np.ndarray,
    k: int,
    *,
    algorithm: str = "kmeans",
    covariance_type: str = "full",
    random_state: int | None = 0,
    n_resamples: int = config.STABILITY_RESAMPLES,
    sample_size: int = config.STABILITY_SAMPLE_SIZE,
    deadline: float | None = None,
) -> StabilityResult | None:
    """Bootstrap stability of every segment (Hennig's clusterboot, on a subsample).

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        The model's input matrix.
    labels : numpy.ndarray of shape (n,)
        The final segment of every record (0..k-1).
    k : int
        Number of segments.
    algorithm : {"kmeans", "gmm"}
        How each resample is refitted (the method that produced ``labels``).
    covariance_type : str
        Of the mixture, when ``algorithm="gmm"``.
    random_state : int or None
        Seed of the subsample, the resamples and their fits.
    n_resamples : int
        Bootstrap resamples.
    sample_size : int
        Records per resample (drawn with replacement from a subsample of that size).
    deadline : float, optional
        ``time.perf_counter()`` value after which no further resample starts.

    Returns
    -------
    StabilityResult or None
        None when fewer than two resamples could be fitted (k < 2, or the deadline).
    """
    n = X.shape[0]
    labels = np.asarray(labels, dtype=np.int64)
    if k < 2 or n < 2 * k:
        return None
    rng = np.random.default_rng([0 if random_state is None else int(random_state), 17])
    m = min(n, int(sample_size))
    base = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    Xb, lb = np.ascontiguousarray(X[base], dtype=np.float64), labels[base]
    # Distinct rows are counted as select_k counts them (n_distinct_rows: distinct values of one
    # seeded random projection), but the subsample's projection is found and ranked once and a
    # resample counts its ranks (was a projection and a sort per resample).
    proj = Xb @ np.random.default_rng(12345).standard_normal(Xb.shape[1])
    row_id = np.unique(proj, return_inverse=True)[1].reshape(-1)
    n_ids = int(row_id.max()) + 1 if m else 0
    # Every resample's rows and seed are drawn up front, so the result does not depend on how
    # the resamples are spread over threads.
    plan = [(np.sort(rng.integers(0, m, size=m)), int(rng.integers(2**31 - 1))) for _ in range(int(n_resamples))]

    def one(item):
        idx, seed = item
        if deadline is not None and time.perf_counter() > deadline:
            return None
        if np.count_nonzero(np.bincount(row_id[idx], minlength=n_ids)) <= k:
            return None  # too few distinct records for k segments (heavily duplicated input)
        Xr = np.ascontiguousarray(Xb[idx])
        refit = _refit_labels(Xr, k, algorithm, covariance_type, seed)
        return best_match_jaccard(lb[idx], refit, k, k)

    # The kernels release the GIL: two resamples at a time use both cores of the target machine.
    # Not while the caller holds the process-wide lock of a layer that cannot run parallel
    # regions from several threads (workqueue): the engines' entry points take that lock, and
    # worker threads would wait for it forever.
    workers = min(2, os.cpu_count() or 1, len(plan))
    if workers > 1 and m * X.shape[1] >= config.STABILITY_THREAD_MIN_WORK and not needs_serialising():
        done = map_two_threads(one, plan)
    else:
        done = [one(item) for item in plan]
    scores = [v for v in done if v is not None]
    if len(scores) < 2:
        return None
    S = np.vstack(scores)
    with np.errstate(invalid="ignore"):
        present = np.isfinite(S)
        counts = present.sum(axis=0)
        mean = np.where(counts > 0, np.nansum(S, axis=0) / np.maximum(counts, 1), np.nan)
    dissolved = (np.where(present, S, 1.0) < 0.5).sum(axis=0)
    return StabilityResult(mean, len(scores), m, dissolved)

"""How much each record belongs to each KMeans segment, from one pass of squared distances.

A KMeans model is read as a mixture of spherical Gaussians with one shared variance (the pooled
within-segment variance per dimension, inertia / (n d)). From the (n, k) squared distances of the
records to the centres follow, without another pass over the data:

- `equal_variance_loglik`: the log-likelihood of that mixture with the segment shares as weights,
  its memberships and the variance (what the algorithm choice compares against a Gaussian
  mixture by BIC);
- `equal_weight_memberships`: the memberships with equal weights (what a report shows: a record
  is always most probable in its nearest segment, whatever the segment sizes);
- `confidence_from_sq`: the simplified silhouette of every record against its own and the
  nearest other centre.

`kmeans_memberships` computes all of them from a single `sq_distances` pass. The distances run
in one small numba kernel (``_membership_kernels``, in a fixed summation order); what follows from
them is a few vectorised numpy operations on the (n, k) matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from segengine.engines import _membership_kernels as _mk

__all__ = [
    "KMeansMemberships",
    "confidence",
    "confidence_from_sq",
    "equal_variance_log_prob",
    "equal_variance_loglik",
    "equal_weight_likelihood_ratios",
    "equal_weight_memberships",
    "kmeans_memberships",
    "log_sum_exp_rows",
    "sq_distances",
]


def _f64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of every record to every centre.

    Computed from coordinate differences (precise also far from the origin, unlike
    ``||x||^2 - 2 x.c + ||c||^2``), in float64.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Records.
    centers : ndarray of shape (k, d)
        Centres.

    Returns
    -------
    ndarray of shape (n, k), float64
    """
    X = _f64(X)
    C = _f64(centers)
    if C.ndim != 2 or X.ndim != 2 or C.shape[1] != X.shape[1]:
        raise ValueError(f"centres of shape {C.shape} do not fit records of shape {X.shape}")
    out = np.empty((X.shape[0], C.shape[0]))
    _mk.sq_distances(_readonly(X), _readonly(C), out)
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    # numba types a read-only array apart from a writable one: model centres are read-only,
    # freshly fitted ones are not, and the kernel was compiled twice on a first run (0.3 s).
    # A read-only view of every input gives it one signature; the view copies nothing.
    v = a.view()
    v.flags.writeable = False
    return v


def _check_labels(labels: np.ndarray, n: int, k: int) -> np.ndarray:
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if labels.shape != (n,):
        raise ValueError(f"labels of shape {labels.shape} do not fit {n} records")
    if n and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in [0, {k})")
    return labels


def confidence(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Confidence of every record in its segment: the simplified silhouette, in [0, 1].

    ``(b - a) / max(a, b)`` with ``a`` the distance to the record's own centre and ``b`` to the
    nearest other centre (0 when both are 0, clipped to [0, 1]: a record nearer another centre
    than its own scores 0). All ones when there is a single centre.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Records.
    centers : ndarray of shape (k, d)
        Centres.
    labels : ndarray of shape (n,)
        Segment of every record, in [0, k).

    Returns
    -------
    ndarray of shape (n,), float64
    """
    if np.shape(centers)[0] < 2:
        return np.ones(np.shape(X)[0])
    return confidence_from_sq(sq_distances(X, centers), labels)


def confidence_from_sq(sq: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`confidence` from the squared distances of `sq_distances` (no second pass over the records).

    Parameters
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the centres (not modified).
    labels : ndarray of shape (n,)
        Segment of every record, in [0, k).

    Returns
    -------
    ndarray of shape (n,), float64
    """
    n, k = sq.shape
    if k < 2:
        return np.ones(n)
    labels = _check_labels(labels, n, k)
    rows = np.arange(n)
    a = np.sqrt(sq[rows, labels])
    others = np.array(sq, dtype=np.float64, copy=True)
    others[rows, labels] = np.inf
    b = np.sqrt(others.min(axis=1))
    top = np.maximum(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(top > 0, (b - a) / top, 0.0)
    return np.clip(conf, 0.0, 1.0)


def equal_variance_log_prob(sq: np.ndarray, log_weights: np.ndarray, sigma2: float, n_features: int) -> np.ndarray:
    """Log-density of every record under every component of a spherical, equal-variance mixture.

    Parameters
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the component means (the centres).
    log_weights : ndarray of shape (k,)
        Log of the component weights.
    sigma2 : float
        The shared variance per dimension (> 0).
    n_features : int
        Dimension d of the records.

    Returns
    -------
    ndarray of shape (n, k)
        ``log w_j + log N(x_i; c_j, sigma2 I)``.
    """
    d = int(n_features)
    return log_weights - sq / (2.0 * sigma2) - 0.5 * d * math.log(2.0 * math.pi * sigma2)


def log_sum_exp_rows(log_p: np.ndarray) -> np.ndarray:
    """``log(sum_j exp(log_p[i, j]))`` of every row, shifted by the row maximum (no overflow).

    Parameters
    ----------
    log_p : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n,)
    """
    top = log_p.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))


def equal_variance_loglik(sq: np.ndarray, labels: np.ndarray, n_features: int) -> tuple[float, np.ndarray, float]:
    """Log-likelihood of the equal-variance spherical Gaussian mixture implied by a KMeans fit.

    Component weights are the segment shares, means the centres and the single variance the
    pooled within-segment variance per dimension (inertia / (n d), at least 1e-12).

    Parameters
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the centres (`sq_distances`).
    labels : ndarray of shape (n,)
        Segment of every record, in [0, k).
    n_features : int
        Dimension d of the records.

    Returns
    -------
    loglik : float
        Total log-likelihood.
    resp : ndarray of shape (n, k)
        Posterior memberships.
    sigma2 : float
        The pooled variance.
    """
    n, k = sq.shape
    d = int(n_features)
    labels = _check_labels(labels, n, k)
    inertia = float(sq[np.arange(n), labels].sum())
    sigma2 = max(inertia / (n * d), 1e-12)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    log_w = np.log(np.maximum(counts / n, 1e-300))
    log_p = equal_variance_log_prob(sq, log_w, sigma2, d)
    log_norm = log_sum_exp_rows(log_p)
    resp = np.exp(log_p - log_norm[:, None])
    return float(log_norm.sum()), resp, sigma2


def equal_weight_likelihood_ratios(sq: np.ndarray, sigma2: float) -> np.ndarray:
    """Equal-weight memberships before normalisation: the largest of every row is 1.

    ``exp(-(sq_ij - min_j sq_ij) / (2 sigma2))``, computed as a shifted log so that no row
    underflows to all zeros. Divide by the row sums for `equal_weight_memberships`.

    Parameters
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the centres.
    sigma2 : float
        The shared variance per dimension (> 0).

    Returns
    -------
    ndarray of shape (n, k)
    """
    log_p = -sq / (2.0 * sigma2)
    log_p -= log_p.max(axis=1, keepdims=True)
    return np.exp(log_p)


def equal_weight_memberships(sq: np.ndarray, sigma2: float) -> np.ndarray:
    """Memberships under the equal-variance mixture with equal weights (rows sum to 1).

    With equal weights a record is most probable in its nearest segment whatever the segment
    sizes (with the shares as weights a record near the border of a small segment could be
    more probable in its big neighbour; issue #12).

    Parameters
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the centres.
    sigma2 : float
        The shared variance per dimension (> 0).

    Returns
    -------
    ndarray of shape (n, k)
    """
    resp = equal_weight_likelihood_ratios(sq, sigma2)
    resp /= resp.sum(axis=1, keepdims=True)
    return resp


@dataclass(frozen=True)
class KMeansMemberships:
    """Everything a KMeans model says about its records, from one pass of distances.

    Attributes
    ----------
    sq : ndarray of shape (n, k)
        Squared distances of the records to the centres.
    loglik : float
        Log-likelihood of the equal-variance mixture with the segment shares as weights.
    sigma2 : float
        Its pooled variance per dimension.
    memberships : ndarray of shape (n, k)
        Equal-weight memberships (rows sum to 1; the largest is the nearest centre).
    confidence : ndarray of shape (n,)
        Simplified silhouette of every record in its segment.
    """

    sq: np.ndarray
    loglik: float
    sigma2: float
    memberships: np.ndarray
    confidence: np.ndarray


def kmeans_memberships(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> KMeansMemberships:
    """Log-likelihood, memberships and confidences of a KMeans model from one distance pass.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Records.
    centers : ndarray of shape (k, d)
        Centres.
    labels : ndarray of shape (n,)
        Segment of every record, in [0, k).

    Returns
    -------
    KMeansMemberships
    """
    sq = sq_distances(X, centers)
    loglik, _, sigma2 = equal_variance_loglik(sq, labels, np.shape(X)[1])
    return KMeansMemberships(sq=sq, loglik=loglik, sigma2=sigma2,
                             memberships=equal_weight_memberships(sq, sigma2),
                             confidence=confidence_from_sq(sq, labels))


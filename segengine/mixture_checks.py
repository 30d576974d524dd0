"""Checks that keep the KMeans-versus-mixture choice honest: lumpy fields and collapsed components.

A Gaussian density on a field with a point mass (51 % of a retailer's customers have frequency
exactly 1) or with a few discrete levels is unbounded: a component can sit on one value, its
variance along that field collapses to ``reg_covar`` and its log-density there grows without
limit. BIC then "prefers" the mixture by several nats per record, an artefact of the data's
discreteness, not evidence of structure (issue #12: 3.9 nats per record on the real table).

So the choice looks at the fields first (:func:`lumpy_fields`: the share of the most common
value and the number of distinct levels, on a seeded sample) and at the fitted mixture after
(:func:`collapsed_components`): a component whose standard deviation along a field is below
half the spacing of that field's levels (or, on a continuous field, whose variance is within a
few ``reg_covar`` of zero) sits on one value, and such a mixture is never chosen by "auto".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from segengine import config

__all__ = ["lumpy_fields", "collapsed_components", "component_variances"]


def lumpy_fields(X: np.ndarray, names: Sequence[str], random_state: int | None = 0) -> list[dict[str, Any]]:
    """Fields with a point mass or few discrete levels.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
        The model's input matrix (one column per field).
    names : sequence of str
        The name of each column.
    random_state : int or None
        Seed of the row sample (at most ``config.LUMPY_SAMPLE_SIZE`` rows) the counts use.

    Returns
    -------
    list of dict
        One entry per lumpy column: ``column`` (index), ``field``, ``top_share`` (share of the
        most common value), ``levels`` (distinct values in the sample), ``spacing`` (median gap
        between consecutive distinct values, in the matrix's units).
    """
    n, d = X.shape
    if n > config.LUMPY_SAMPLE_SIZE:
        rng = np.random.default_rng([0 if random_state is None else int(random_state), 13])
        X = X[np.sort(rng.choice(n, size=config.LUMPY_SAMPLE_SIZE, replace=False))]
    m = X.shape[0]
    out = []
    for j in range(d):
        values, counts = np.unique(X[:, j], return_counts=True)
        top = counts.max() / m
        if top < config.POINT_MASS_SHARE and values.size > config.DISCRETE_MAX_LEVELS:
            continue
        gaps = np.diff(values)
        out.append({
            "column": j,
            "field": str(names[j]),
            "top_share": round(float(top), 4),
            "levels": int(values.size),
            "spacing": float(np.median(gaps)) if gaps.size else 0.0,
        })
    return out


def component_variances(covariance_type: str, covariances: np.ndarray, k: int, d: int) -> np.ndarray:
    """Variance of every mixture component along every column, shape (k, d).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}
    covariances : numpy.ndarray
        In the layout of ``GaussianMixture.covariances_``.
    k, d : int
        Components and columns.

    Returns
    -------
    numpy.ndarray of shape (k, d)
    """
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return np.diagonal(c, axis1=1, axis2=2).copy()
    if covariance_type == "tied":
        return np.broadcast_to(np.diag(c), (k, d)).copy()
    if covariance_type == "diag":
        return c.reshape(k, d).copy()
    return np.broadcast_to(c.reshape(k, 1), (k, d)).copy()


def collapsed_components(
    variances: np.ndarray, lumpy: list[dict[str, Any]], names: Sequence[str], reg_covar: float = 1e-6,
) -> list[dict[str, Any]]:
    """Components whose variance along some field has collapsed onto a single value.

    Parameters
    ----------
    variances : numpy.ndarray of shape (k, d)
        From :func:`component_variances`.
    lumpy : list of dict
        From :func:`lumpy_fields`.
    names : sequence of str
        Column names.
    reg_covar : float
        The regularisation the mixture added to its covariances.

    Returns
    -------
    list of dict
        ``component``, ``field``, ``std`` and the ``floor`` it fell below, one entry per
        collapsed (component, field) pair.
    """
    d = variances.shape[1]
    floor = np.full(d, config.GMM_COLLAPSE_REG_FACTOR * reg_covar)
    for entry in lumpy:
        # Standard deviation below half a level spacing: the component covers one level.
        floor[entry["column"]] = max(floor[entry["column"]], (0.5 * entry["spacing"]) ** 2)
    out = []
    for c, j in zip(*np.nonzero(variances < floor[None, :])):
        out.append({"component": int(c), "field": str(names[j]),
                    "std": float(np.sqrt(max(variances[c, j], 0.0))),
                    "floor": float(np.sqrt(floor[j]))})
    return out

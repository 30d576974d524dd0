"""Shape checks at the boundary where numba kernels receive parameters they did not compute.

Kernels index without bounds checks (numba's default): a means array one column wider than the
data, or precision factors of the wrong layout, would make them read or write past the end of an
array -- memory corruption, not an exception. Parameters that come from outside a fit (a loaded
model, an estimator whose attributes were set by hand) pass through these checks first; they cost
microseconds and raise ``ValueError`` naming the mismatch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_centers", "check_mixture"]

_PREC_SHAPES = {
    "full": lambda k, d: (k, d, d),
    "tied": lambda k, d: (d, d),
    "diag": lambda k, d: (k, d),
    "spherical": lambda k, d: (k,),
}


def _data_shape(X: np.ndarray) -> tuple[int, int]:
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError("the data must be a 2-D array")
    return X.shape


def check_centers(X: np.ndarray, centers: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``centers`` is a non-empty (k, d) array for ``X`` of width d.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    centers : numpy.ndarray
    """
    _, d = _data_shape(X)
    if not isinstance(centers, np.ndarray) or centers.ndim != 2 or centers.shape[0] < 1 \
            or centers.shape[1] != d:
        raise ValueError(f"centres of shape {np.shape(centers)} do not fit data with {d} features")


def check_mixture(X: np.ndarray, weights: np.ndarray, means: np.ndarray, prec_chol: np.ndarray,
                  cov_type: str) -> None:
    """Raise ``ValueError`` unless the mixture parameters fit ``X`` and each other.

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    weights : numpy.ndarray of shape (k,)
    means : numpy.ndarray of shape (k, d)
    prec_chol : numpy.ndarray
        (k, d, d) full, (d, d) tied, (k, d) diag, (k,) spherical.
    cov_type : str
    """
    if cov_type not in _PREC_SHAPES:
        raise ValueError(f"unknown covariance type {cov_type!r}")
    check_centers(X, means)
    k, d = means.shape
    if np.shape(weights) != (k,):
        raise ValueError(f"{np.shape(weights)} weights for {k} components")
    expected = _PREC_SHAPES[cov_type](k, d)
    if np.shape(prec_chol) != expected:
        raise ValueError(f"precision factors of shape {np.shape(prec_chol)}; {cov_type} needs {expected}")

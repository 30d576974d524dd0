"""KMeans: a centre left without records moves to the record farthest from its own centre.

The rule (as scikit-learn's): after a Lloyd assignment, every empty cluster in turn takes the
record farthest from its assigned centre (ties to the lower row), which leaves its old cluster's
mean. Checked against a plain numpy reading of that rule on integer data, where ties are common.
"""

from __future__ import annotations

import numpy as np
import pytest

from segengine.engines.kmeans import kmeans_fit


def _one_pass_reference(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    labels = d2.argmin(axis=1)
    dist = d2[np.arange(len(X)), labels]
    order = np.lexsort((np.arange(len(X)), -dist))  # farthest first, lower row on ties
    members = [list(np.flatnonzero(labels == j)) for j in range(len(C))]
    new = np.empty_like(C)
    taken = 0
    for j in range(len(C)):
        if not members[j]:
            idx = int(order[taken])
            taken += 1
            donor = labels[idx]
            if idx in members[donor]:
                members[donor].remove(idx)
            new[j] = X[idx]
    for j in range(len(C)):
        if np.any(labels == j):
            new[j] = X[members[j]].mean(axis=0)
    return new


def _one_pass(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    # Uncentred (row norms given): the distances, and so their ties, are those of the reference.
    fit = kmeans_fit(X, len(C), init=C, n_init=1, max_iter=1, random_state=0,
                     x_sq_norms=np.einsum("ij,ij->i", X, X), algorithm="lloyd")
    return fit.centers


def test_the_farthest_record_and_the_lower_row_on_a_tie():
    X = np.array([[0., 0.], [1., 0.], [0., 1.], [10., 10.], [11., 10.], [10., 13.], [10., 7.]])
    C = np.array([[0.5, 0.5], [10., 10.], [100., 100.]])
    # (10, 13) and (10, 7) are both 3 from their centre: row 5 wins; its cluster loses it.
    np.testing.assert_array_equal(_one_pass(X, C)[2], [10., 13.])
    np.testing.assert_allclose(_one_pass(X, C)[1], [31 / 3, 9.0])


@pytest.mark.parametrize("seed", range(40))
def test_random_integer_data_with_far_away_centres(seed):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(6, 40)), int(rng.integers(1, 4))
    X = rng.integers(0, 5, size=(n, d)).astype(np.float64)  # many duplicates and ties
    k_near = int(rng.integers(1, 4))
    n_far = int(rng.integers(1, 3))
    near = X[rng.choice(n, size=k_near, replace=False)] + 0.25
    far = 1000.0 + 100.0 * np.arange(n_far)[:, None] + np.zeros((n_far, d))
    C = np.ascontiguousarray(rng.permutation(np.vstack([near, far])))
    if np.unique(X, axis=0).shape[0] <= len(C):
        pytest.skip("as many clusters as distinct rows: relocation is skipped by design")
    np.testing.assert_allclose(_one_pass(X, C), _one_pass_reference(X, C), rtol=1e-12, atol=1e-12)

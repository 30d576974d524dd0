"""Brute-force references the fast kernels are tested against (shared; one section per module)."""


# ==============================================================================================
# Silhouette (segengine.metrics.silhouette)
# ==============================================================================================


def silhouette_distances_naive(X):
    """Full n x n Euclidean distance matrix from coordinate differences (float64, exact
    for duplicates and far-from-origin data, unlike the dot-product formula)."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def silhouette_samples_naive(X, labels):
    """Rousseeuw's silhouette of every point, straight from the definition (O(n^2) memory).

    A point alone in its cluster scores 0; a point with a = b = 0 scores 0 (scikit-learn).
    """
    import numpy as np

    D = silhouette_distances_naive(X)
    labels = np.asarray(labels)
    uniq = np.unique(labels)
    n = labels.shape[0]
    s = np.zeros(n)
    for i in range(n):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = D[i, own].sum() / (own.sum() - 1)
        b = min(D[i, labels == c].mean() for c in uniq if c != labels[i])
        top = max(a, b)
        s[i] = (b - a) / top if top > 0 else 0.0
    return s

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


# ==============================================================================================
# Gaussian mixture (segengine.engines.gmm)
# ==============================================================================================


def gmm_full_covariances_naive(covariances, cov_type, n_components, n_features):
    """Expand any covariance layout to (K, d, d) full matrices."""
    import numpy as np

    c = np.asarray(covariances, dtype=np.float64)
    if cov_type == "full":
        return c.copy()
    if cov_type == "tied":
        return np.repeat(c[None], n_components, axis=0)
    if cov_type == "diag":
        return np.stack([np.diag(row) for row in c])
    return np.stack([v * np.eye(n_features) for v in c])


def gmm_weighted_log_prob_naive(X, weights, means, covariances, cov_type):
    """Weighted log densities, log w_k + log N(x_i | mu_k, Sigma_k), from the textbook formula (slogdet + solve)."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = len(weights)
    covs = gmm_full_covariances_naive(covariances, cov_type, k, d)
    out = np.empty((n, k))
    for j in range(k):
        diff = X - means[j]
        _, logdet = np.linalg.slogdet(covs[j])
        maha = np.einsum("ij,ij->i", diff, np.linalg.solve(covs[j], diff.T).T)
        out[:, j] = np.log(weights[j]) - 0.5 * (d * np.log(2 * np.pi) + logdet + maha)
    return out


def gmm_score_samples_naive(X, weights, means, covariances, cov_type):
    """Log density of the mixture, log p(x_i), per record."""
    from scipy.special import logsumexp

    return logsumexp(gmm_weighted_log_prob_naive(X, weights, means, covariances, cov_type), axis=1)


def gmm_n_parameters_naive(n_components, n_features, cov_type):
    """Free parameters: K-1 weights, K*d means, and the covariance entries of the type."""
    k, d = n_components, n_features
    cov = {"full": k * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": k * d,
           "spherical": k}[cov_type]
    return (k - 1) + k * d + cov


def gmm_bic_aic_naive(X, weights, means, covariances, cov_type):
    """(BIC, AIC) = (-2 log L + p log n, -2 log L + 2 p)."""
    import numpy as np

    ll = gmm_score_samples_naive(X, weights, means, covariances, cov_type).sum()
    p = gmm_n_parameters_naive(len(weights), np.shape(X)[1], cov_type)
    n = np.shape(X)[0]
    return -2 * ll + p * np.log(n), -2 * ll + 2 * p


def gmm_m_step_naive(X, resp, cov_type, reg_covar):
    """(weights, means, covariances) from responsibilities, by explicit per-component loops."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = resp.shape[1]
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ X) / nk[:, None]
    full = np.empty((k, d, d))
    for j in range(k):
        diff = X - means[j]
        full[j] = (resp[:, j, None] * diff).T @ diff / nk[j]
    if cov_type == "full":
        cov = full + reg_covar * np.eye(d)
    elif cov_type == "tied":
        cov = (full * nk[:, None, None]).sum(axis=0) / nk.sum() + reg_covar * np.eye(d)
    elif cov_type == "diag":
        cov = np.diagonal(full, axis1=1, axis2=2) + reg_covar
    else:
        cov = np.diagonal(full, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return nk / nk.sum(), means, cov


# ==============================================================================================
# KMeans (segengine.engines.kmeans)
# ==============================================================================================


def kmeans_sq_distances_naive(X, centers):
    """(n, k) squared Euclidean distances from coordinate differences in float64."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64)
    diff = X[:, None, :] - C[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def kmeans_nearest_two_naive(X, centers):
    """Labels, squared distance to the nearest and second-nearest centre (inf when k == 1)."""
    import numpy as np

    D = kmeans_sq_distances_naive(X, centers)
    labels = np.argmin(D, axis=1)
    d1 = D[np.arange(D.shape[0]), labels]
    if D.shape[1] == 1:
        return labels, d1, np.full(D.shape[0], np.inf)
    d2 = np.partition(D, 1, axis=1)[:, 1]
    return labels, d1, d2


def kmeans_inertia_naive(X, centers, labels, sample_weight=None):
    """Weighted sum of squared distances of every row to its own centre."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    C = np.asarray(centers, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    return float(np.sum(w * ((X - C[labels]) ** 2).sum(axis=1)))

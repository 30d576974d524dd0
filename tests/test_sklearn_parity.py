"""Drop-in behaviour shared with scikit-learn: sparse input, parameters, warnings, metrics.

scikit-learn's own test files run against segengine in tests/conformance/ (see the README);
these tests pin the same behaviour on many more shapes, with explicit seeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances, silhouette_samples as sk_silhouette_samples

from segengine.engines.gmm_estimator import GaussianMixture
from segengine.engines.kmeans_estimator import KMeans, k_means, kmeans_plusplus
from segengine.metrics.silhouette import silhouette_samples, silhouette_score

from naive import kmeans_inertia_naive

sys.path.insert(0, str(Path(__file__).parent / "conformance"))
import run_sklearn_suites as conformance  # noqa: E402

# (n, d, k, density, dtype, weighted, layout): explicit cases, so CI always runs the same ones.
SPARSE_CASES = [
    (200, 30, 4, 0.1, np.float64, False, "csr"),
    (500, 8, 7, 0.5, np.float64, True, "csc"),
    (1000, 120, 12, 0.02, np.float64, False, "csr"),
    (300, 5, 3, 1.0, np.float32, True, "csr"),
    (64, 40, 10, 0.3, np.float32, False, "csc"),
    (5000, 60, 20, 0.05, np.float64, True, "csr"),
    (40, 3, 40, 0.6, np.float64, False, "csr"),
    (700, 1, 5, 0.7, np.float64, False, "csr"),
]


def _sparse_data(n, d, density, dtype, weighted, layout, seed):
    rng = np.random.default_rng(seed)
    X, _ = make_blobs(n, d, centers=5, cluster_std=2.0, random_state=seed)
    X[rng.random((n, d)) > density] = 0.0
    X = X.astype(dtype)
    w = rng.integers(0, 4, size=n).astype(np.float64) if weighted else None
    if w is not None and w.sum() == 0:
        w[0] = 1.0
    M = sp.csr_matrix(X) if layout == "csr" else sp.csc_matrix(X)
    return X, M, w


@pytest.mark.parametrize("case", range(len(SPARSE_CASES)))
def test_sparse_kmeans_equals_dense(case):
    n, d, k, density, dtype, weighted, layout = SPARSE_CASES[case]
    X, M, w = _sparse_data(n, d, density, dtype, weighted, layout, seed=case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = KMeans(k, n_init=2, random_state=case, algorithm="lloyd").fit(X, sample_weight=w)
        sparse = KMeans(k, n_init=2, random_state=case).fit(M, sample_weight=w)
    # Same seeds, same Lloyd steps: the same clustering (centres up to rounding).
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    assert sparse.n_iter_ == dense.n_iter_
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_, rtol=rtol,
                               atol=rtol * np.abs(X).max())
    assert sparse.cluster_centers_.dtype == dtype and sparse.labels_.dtype == np.int64
    ref = kmeans_inertia_naive(X.astype(np.float64), sparse.cluster_centers_.astype(np.float64),
                               sparse.labels_, w)
    assert sparse.inertia_ == pytest.approx(ref, rel=rtol, abs=1e-9 * (ref + 1))
    # predict / transform / score on sparse input agree with the dense ones.
    np.testing.assert_array_equal(sparse.predict(M), sparse.labels_)
    np.testing.assert_allclose(sparse.transform(M), dense.transform(X), rtol=rtol * 10,
                               atol=1e-6 * np.abs(X).max())
    assert sparse.score(M, sample_weight=w) == pytest.approx(-sparse.inertia_, rel=rtol)
    # A model fitted on sparse data predicts dense rows too.
    np.testing.assert_array_equal(sparse.predict(X), sparse.labels_)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_kmeans_inertia_not_worse_than_sklearn(seed):
    X, M, w = _sparse_data(2000, 50, 0.1, np.float64, seed == 1, "csr", seed)
    ours = KMeans(8, n_init=10, random_state=seed).fit(M, sample_weight=w)
    theirs = SKKMeans(8, n_init=10, random_state=seed).fit(M, sample_weight=w)
    assert ours.inertia_ <= 1.01 * theirs.inertia_


def test_sparse_input_is_never_densified():
    # 30,000 x 2,000,000 with 60k stored values: 480 GB dense, a few MB sparse.
    rng = np.random.default_rng(5)
    n, d = 30_000, 2_000_000
    rows = np.repeat(np.arange(n), 2)
    cols = rng.integers(0, 50, size=2 * n)
    M = sp.csr_matrix((rng.random(2 * n) + 1.0, (rows, cols)), shape=(n, d))
    km = KMeans(3, random_state=0, n_init=1).fit(M)
    assert km.cluster_centers_.shape == (3, d)
    np.testing.assert_array_equal(km.predict(M[:100]), km.labels_[:100])


def test_sparse_matches_sklearn_lloyd_from_same_centres():
    X, M, _ = _sparse_data(800, 25, 0.3, np.float64, False, "csr", 11)
    init = X[[3, 50, 400, 700]]
    ours = KMeans(4, init=init, n_init=1, tol=0.0).fit(M)
    theirs = SKKMeans(4, init=init, n_init=1, tol=0.0).fit(M)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_


@pytest.mark.parametrize("sparse", [False, True])
def test_kmeans_plusplus_indices_and_weights(sparse):
    X, M, _ = _sparse_data(400, 6, 0.6, np.float64, False, "csr", 3)
    w = np.random.default_rng(3).random(400)
    w[::2] = 0.0
    centers, idx = kmeans_plusplus(M if sparse else X, 9, sample_weight=w, random_state=4)
    assert idx.shape == (9,) and len(set(idx.tolist())) == 9
    np.testing.assert_allclose(centers, X[idx])
    assert np.all(idx % 2 == 1)  # zero-weight rows are never drawn
    other, idx2 = kmeans_plusplus(X if sparse else M, 9, sample_weight=w, random_state=4)
    np.testing.assert_array_equal(idx2, idx)  # dense and sparse draw the same seeds
    with pytest.raises(ValueError, match="The length of x_squared_norms 3 should be equal"):
        kmeans_plusplus(X, 2, x_squared_norms=np.ones(3))


def test_k_means_function_equals_estimator():
    X, _ = make_blobs(300, 3, centers=4, random_state=2)
    c, labels, inertia, n_iter = k_means(X, 4, random_state=1, return_n_iter=True)
    est = KMeans(4, random_state=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(labels, est.labels_)
    np.testing.assert_allclose(c, est.cluster_centers_)
    assert inertia == est.inertia_ and n_iter == est.n_iter_


@pytest.mark.parametrize("sparse", [False, True])
def test_verbose_prints_iterations_and_gives_the_silent_result(sparse, capsys):
    X, M, _ = _sparse_data(600, 10, 0.5, np.float64, False, "csr", 8)
    data = M if sparse else X
    loud = KMeans(5, n_init=2, random_state=3, verbose=1, algorithm="lloyd").fit(data)
    out = capsys.readouterr().out
    assert out.count("Initialization complete") == 2
    assert re.search(r"Iteration \d+, inertia [0-9.e+-]+\.", out)
    assert re.search(r"Converged at iteration \d+: (strict convergence|center shift .* within tolerance)", out)
    quiet = KMeans(5, n_init=2, random_state=3, algorithm="lloyd").fit(data)
    np.testing.assert_array_equal(loud.labels_, quiet.labels_)
    np.testing.assert_allclose(loud.cluster_centers_, quiet.cluster_centers_, rtol=1e-12)
    assert loud.n_iter_ == quiet.n_iter_


@pytest.mark.parametrize("sparse", [False, True])
def test_callable_init(sparse):
    X, M, _ = _sparse_data(300, 4, 1.0, np.float64, False, "csr", 6)
    calls = []

    def init(data, k, random_state):
        calls.append((data.shape, k, type(random_state)))
        return X[random_state.choice(300, k, replace=False)]

    km = KMeans(3, init=init, random_state=0).fit(M if sparse else X)
    assert km._n_init == 10 and len(calls) == 10  # n_init="auto" gives 10 for a callable
    assert calls[0] == ((300, 4), 3, np.random.RandomState)
    assert km.inertia_ == pytest.approx(kmeans_inertia_naive(X, km.cluster_centers_, km.labels_, None))
    with pytest.raises(ValueError,
                       match=r"The shape of the initial centers \(2, 4\) does not match the number of clusters 3"):
        KMeans(3, init=lambda data, k, random_state: X[:2]).fit(X)


def test_scikit_learn_warnings():
    X, _ = make_blobs(200, 2, centers=3, random_state=0)
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense for a single cluster"):
        KMeans(1, algorithm="elkan").fit(X)
    with pytest.warns(RuntimeWarning, match="Explicit initial center position passed"):
        KMeans(3, init=X[:3], n_init=5).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(3, init=X[:3], n_init="auto").fit(X)  # "auto" with explicit centres: no warning
    dup = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    for data in (dup, sp.csr_matrix(dup)):
        km = KMeans(5, init=dup)
        with pytest.warns(ConvergenceWarning,
                          match=r"Number of distinct clusters \(4\) found smaller than n_clusters \(5\)"):
            km.fit(data)
        assert km.n_iter_ == 1  # nothing to relocate: every row sits on its centre


def test_init_centroids_uses_sample_weight():
    X, _ = make_blobs(200, 5, centers=6, random_state=1)
    w = np.random.default_rng(1).random(200)
    w[::2] = 0.0
    for init in ("k-means++", "random"):
        c = KMeans()._init_centroids(X, None, init, np.random.RandomState(0), w, n_centroids=10)
        assert c.shape == (10, 5)
        d = pairwise_distances(X[::2], c)
        assert not np.any(np.isclose(d, 0.0))


def test_feature_names_out_and_sparse_tag():
    km = KMeans(3, random_state=0).fit(np.random.default_rng(0).random((50, 2)))
    assert list(km.get_feature_names_out()) == ["kmeans0", "kmeans1", "kmeans2"]
    assert km.__sklearn_tags__().input_tags.sparse


# ----------------------------------------------------------------------------------------------
# silhouette


SIL_CASES = [(60, 3, 2), (200, 7, 4), (333, 1, 5), (150, 12, 9)]


@pytest.mark.parametrize("metric", ["manhattan", "cityblock", "cosine", "euclidean", "chebyshev"])
@pytest.mark.parametrize("layout", ["dense", "csr", "csc", "lil"])
@pytest.mark.parametrize("case", range(len(SIL_CASES)))
def test_silhouette_metrics_match_sklearn(metric, layout, case):
    n, d, k = SIL_CASES[case]
    rng = np.random.default_rng(case)
    X = rng.normal(size=(n, d)) * rng.random(d) * 10
    X[rng.random((n, d)) < 0.3] = 0.0
    X[0] = 0.0  # a zero row (cosine treats its norm as 1, like scikit-learn)
    labels = rng.integers(0, k, size=n)
    labels[:k] = np.arange(k)
    if layout == "dense":
        data = X
    elif metric == "chebyshev":
        pytest.skip("scikit-learn's pairwise_distances refuses sparse input for scipy metrics")
    else:
        data = getattr(sp, f"{layout}_matrix")(X)
    ours = silhouette_samples(data, labels, metric=metric)
    theirs = sk_silhouette_samples(data, labels, metric=metric)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layout", ["dense", "csr", "dok"])
def test_silhouette_precomputed(layout):
    rng = np.random.default_rng(9)
    X = rng.random((120, 4))
    labels = rng.integers(0, 3, size=120)
    D = pairwise_distances(X, metric="manhattan")
    D[rng.random(D.shape) < 0.2] = 0.0  # sparse input: missing entries are distance 0
    np.fill_diagonal(D, 0.0)
    data = D if layout == "dense" else getattr(sp, f"{layout}_matrix")(D)
    np.testing.assert_allclose(silhouette_samples(data, labels, metric="precomputed"),
                               sk_silhouette_samples(D, labels, metric="precomputed"), rtol=1e-12)
    assert silhouette_score([[0, 1, 2], [1, 0, 1], [2, 1, 0]], [0, 0, 1], metric="precomputed") == \
        pytest.approx(1 / 6)
    D[5, 5] = 1e-3
    with pytest.raises(ValueError, match="contains non-zero elements on the diagonal"):
        silhouette_samples(D, labels, metric="precomputed")


def test_silhouette_callable_metric_and_sampled_score():
    rng = np.random.default_rng(4)
    X = rng.random((90, 3))
    labels = rng.integers(0, 3, size=90)

    def l_inf(a, b):
        return float(np.abs(a - b).max())

    np.testing.assert_allclose(silhouette_samples(X, labels, metric=l_inf),
                               sk_silhouette_samples(X, labels, metric="chebyshev"), rtol=1e-12)
    # A sample scores each sampled point against all points, whatever the metric.
    full = silhouette_samples(X, labels, metric="manhattan")
    rows = np.sort(np.random.default_rng(0).choice(90, size=30, replace=False))
    assert silhouette_score(X, labels, metric="manhattan", sample_size=30, random_state=0) == \
        pytest.approx(full[rows].mean(), rel=1e-12)


def test_numba_metrics_never_import_sklearn():
    code = (
        "import sys, numpy as np, scipy.sparse as sp\n"
        "from segengine.metrics.silhouette import silhouette_samples as s\n"
        "X = np.random.default_rng(0).random((40, 3)); y = np.arange(40) % 3\n"
        "for m in ('manhattan', 'cosine', 'euclidean'):\n"
        "    s(X, y, metric=m); s(sp.csr_matrix(X), y, metric=m)\n"
        "s(np.abs(X[:, :1] - X[:, :1].T), y, metric='precomputed')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------
# GaussianMixture


@pytest.mark.parametrize("cov_type", ["full", "tied", "diag", "spherical"])
def test_gmm_float32_fit_keeps_float32(cov_type):
    X, _ = make_blobs(400, 3, centers=3, random_state=2)
    g32 = GaussianMixture(3, covariance_type=cov_type, random_state=0).fit(X.astype(np.float32))
    g64 = GaussianMixture(3, covariance_type=cov_type, random_state=0).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(g32, name).dtype == np.float32
        np.testing.assert_allclose(getattr(g32, name), getattr(g64, name), rtol=1e-3, atol=1e-4)
    assert g32.score_samples(X.astype(np.float32)).dtype == np.float32
    assert g32.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert g32.score(X) == pytest.approx(g64.score(X), rel=1e-4)


def test_gmm_messages_follow_sklearn_and_name_the_field():
    X, _ = make_blobs(100, 2, centers=2, random_state=0)
    message = r"The parameter 'weights' should have the shape of \(2,\), but got \(3,\) \(weights_init\)"
    with pytest.raises(ValueError, match=message):
        GaussianMixture(2, weights_init=[0.2, 0.3, 0.5]).fit(X)
    with pytest.raises(ValueError, match=r"should be normalized, but got sum\(weights\) = 1.10000 \(weights_init\)"):
        GaussianMixture(2, weights_init=[0.5, 0.6]).fit(X)
    with pytest.raises(ValueError, match=r"'diag precision' should be positive \(precisions_init\)"):
        GaussianMixture(2, covariance_type="diag", precisions_init=-np.ones((2, 2))).fit(X)
    with pytest.raises(ValueError, match="This GaussianMixture instance is not fitted yet"):
        GaussianMixture(2).predict(X)
    with pytest.raises(ValueError, match="Invalid value for 'n_samples'"):
        GaussianMixture(2).fit(X).sample(0)
    with pytest.warns(ConvergenceWarning, match="Best performing initialization did not converge"):
        GaussianMixture(2, max_iter=1, tol=0.0).fit(X)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, reg_covar=0.0).fit(np.repeat(X[:2], 50, axis=0) * [1.0, 0.0])


# ----------------------------------------------------------------------------------------------
# the conformance runner itself


def test_deselection_list_is_well_formed():
    entries = conformance.read_deselection()
    assert len(entries) >= 10
    for pattern, reason in entries:
        assert pattern.split("::", 1)[0] in {Path(s.path).name for s in conformance.SUITES}
        assert len(reason) > 15


def test_swapped_source_rebinds_after_the_last_import():
    src = "import os\nfrom a import (\n    B,\n)\n\nX = B()\n"
    out = conformance.swapped_source(src, "from segengine import B\n")
    assert out.index("from segengine import B") > out.index("    B,\n)")
    assert out.index("from segengine import B") < out.index("X = B()")


def test_gmm_refuses_sparse_input_like_sklearn():
    # scikit-learn's GaussianMixture never densifies a sparse matrix for you; neither does ours.
    from sklearn.mixture import GaussianMixture as SkGMM

    M = sp.random(50, 3, density=0.5, format="csr", random_state=0)
    for est in (GaussianMixture(2), SkGMM(2)):
        with pytest.raises(TypeError, match="Sparse data was passed"):
            est.fit(M)

"""KMeans and GaussianMixture as scikit-learn estimators, in the ways users combine them.

scikit-learn's own estimator checks run in test_kmeans.py / test_gmm.py and its own test files in
tests/conformance; here: pipelines, grid search, pandas output, feature names, the accepted forms
of random_state and sample weights, each compared with scikit-learn or a direct computation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SkGMM
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import segengine as se

from naive import kmeans_sq_distances_naive


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=400, n_features=4, centers=3, cluster_std=0.8, random_state=0)
    return X, y


def test_pipeline_with_a_scaler(blobs):
    X, _ = blobs
    pipe = make_pipeline(StandardScaler(), se.KMeans(3, random_state=0)).fit(X)
    direct = se.KMeans(3, random_state=0).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(pipe.predict(X), direct.labels_)
    gpipe = make_pipeline(StandardScaler(), se.GaussianMixture(3, random_state=0)).fit(X)
    np.testing.assert_allclose(gpipe.predict_proba(X).sum(axis=1), 1.0)
    assert gpipe.score(X) == pytest.approx(
        se.GaussianMixture(3, random_state=0).fit(StandardScaler().fit_transform(X)).score(
            StandardScaler().fit_transform(X)))


def test_grid_search_picks_what_scikit_learn_picks(blobs):
    X, _ = blobs
    ours = GridSearchCV(se.KMeans(random_state=0), {"n_clusters": [2, 3, 4]}, cv=3).fit(X)
    theirs = GridSearchCV(SkKMeans(random_state=0, n_init=1), {"n_clusters": [2, 3, 4]}, cv=3).fit(X)
    assert ours.best_params_ == theirs.best_params_
    gm = GridSearchCV(se.GaussianMixture(random_state=0), {"n_components": [1, 2, 3],
                                                         "covariance_type": ["full", "diag"]}, cv=3).fit(X)
    sk = GridSearchCV(SkGMM(random_state=0), {"n_components": [1, 2, 3],
                                              "covariance_type": ["full", "diag"]}, cv=3).fit(X)
    assert gm.best_params_ == sk.best_params_
    assert gm.best_params_["n_components"] == 3


def test_transform_is_the_distance_to_every_centre_and_set_output_keeps_the_frame(blobs):
    X, _ = blobs
    frame = pd.DataFrame(X, columns=["spend", "visits", "tenure", "age"], index=np.arange(1000, 1400))
    km = se.KMeans(3, random_state=0).set_output(transform="pandas")
    out = km.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    assert out.index.equals(frame.index)
    np.testing.assert_allclose(out.to_numpy(), np.sqrt(kmeans_sq_distances_naive(X, km.cluster_centers_)),
                               rtol=1e-10, atol=1e-10)
    sk_names = SkKMeans(3, n_init=1, random_state=0).fit(frame).get_feature_names_out()
    np.testing.assert_array_equal(km.get_feature_names_out(), sk_names)
    np.testing.assert_array_equal(km.feature_names_in_, frame.columns)
    km.set_output(transform="default")
    assert isinstance(km.transform(frame), np.ndarray)


def test_fit_predict_equals_fit_then_labels(blobs):
    X, _ = blobs
    km = se.KMeans(3, random_state=1)
    labels = km.fit_predict(X)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(labels, km.predict(X))
    gm = se.GaussianMixture(3, random_state=1)
    np.testing.assert_array_equal(gm.fit_predict(X), gm.predict(X))


@pytest.mark.parametrize("make", [lambda s: s, np.random.RandomState, np.random.default_rng])
def test_random_state_forms_are_reproducible(blobs, make):
    X, _ = blobs
    a = se.KMeans(3, n_init=3, init="random", random_state=make(7)).fit(X)
    b = se.KMeans(3, n_init=3, init="random", random_state=make(7)).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    g1 = se.GaussianMixture(3, init_params="random", random_state=make(7) if make is not np.random.default_rng
                            else 7).fit(X)
    g2 = se.GaussianMixture(3, init_params="random", random_state=7 if make is np.random.default_rng
                            else make(7)).fit(X)
    np.testing.assert_array_equal(g1.means_, g2.means_)


def test_random_state_none_draws_fresh_seeds(blobs):
    X, _ = blobs
    fits = [se.KMeans(3, init="random", n_init=1, random_state=None).fit(X).inertia_ for _ in range(3)]
    assert all(np.isfinite(fits))
    assert se.GaussianMixture(2, random_state=None).fit(X).converged_


def test_sample_weight_counts_like_repeated_rows(blobs):
    X, _ = blobs
    rng = np.random.default_rng(3)
    w = rng.integers(0, 4, size=X.shape[0])
    init = X[[0, 150, 300]]
    weighted = se.KMeans(3, init=init, n_init=1).fit(X, sample_weight=w)
    repeated = se.KMeans(3, init=init, n_init=1).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, rtol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    sk = SkKMeans(3, init=init, n_init=1).fit(X, sample_weight=w)
    np.testing.assert_allclose(weighted.cluster_centers_, sk.cluster_centers_, rtol=1e-8)
    assert weighted.score(X, sample_weight=w) == pytest.approx(sk.score(X, sample_weight=w), rel=1e-8)


def test_tags_say_what_scikit_learn_says():
    ours, theirs = se.KMeans().__sklearn_tags__(), SkKMeans().__sklearn_tags__()
    assert ours.estimator_type == theirs.estimator_type == "clusterer"
    assert ours.input_tags.sparse and theirs.input_tags.sparse
    assert ours.transformer_tags is not None
    # float32 is kept as float32 (more than scikit-learn's KMeans promises), and really is
    assert set(theirs.transformer_tags.preserves_dtype) <= set(ours.transformer_tags.preserves_dtype)
    X32 = make_blobs(60, 3, centers=2, random_state=0)[0].astype(np.float32)
    km = se.KMeans(2, random_state=0).fit(X32)
    assert km.transform(X32).dtype == np.float32 and km.cluster_centers_.dtype == np.float32
    g, sg = se.GaussianMixture().__sklearn_tags__(), SkGMM().__sklearn_tags__()
    assert g.estimator_type == sg.estimator_type == "density_estimator"

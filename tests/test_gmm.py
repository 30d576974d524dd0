"""Gaussian mixture engine: scikit-learn as the oracle, tests/naive.py as the brute-force reference."""

from __future__ import annotations

import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGMM
from sklearn.utils.estimator_checks import parametrize_with_checks

from segengine.engines import _gmm_kernels as K
from segengine.engines.gmm import em_pass, m_step, mixture_log_prob_resp, params_from_resp, tied_scatter
from segengine.engines.gmm_estimator import GaussianMixture, estimator_from_partition
from segengine.errors import NotFittedError

import naive  # tests/ is on sys.path (rootdir-less test dir)

COV_TYPES = ["full", "tied", "diag", "spherical"]


def _blobs(n=300, d=3, k=3, std=1.0, seed=0):
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std, random_state=seed)
    return X, y


def _params_from_labels(X, labels, k, cov_type, reg=1e-6):
    resp = np.zeros((X.shape[0], k))
    resp[np.arange(X.shape[0]), labels] = 1.0
    w, m, c = naive.gmm_m_step_naive(X, resp, cov_type, reg)
    prec = np.linalg.inv(c) if cov_type in ("full", "tied") else 1.0 / c
    return w, m, prec


# --------------------------------------------------------------------------------------------
# scikit-learn's estimator checks. No check is skipped: sklearn's own SkipTest of
# check_array_api_input (SCIPY_ARRAY_API unset) is the only one reported as skipped.
# --------------------------------------------------------------------------------------------


@parametrize_with_checks([GaussianMixture(), GaussianMixture(n_components=2, covariance_type="diag")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------------------------
# Same start as scikit-learn: the EM trajectory must match
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("n,d,k", [(400, 3, 3), (250, 1, 2), (600, 6, 4), (60, 2, 5)])
def test_same_init_matches_sklearn(cov_type, n, d, k):
    X, _ = _blobs(n, d, k, std=2.0, seed=n + d)
    labels = np.random.default_rng(n).integers(0, k, n)
    labels[:k] = np.arange(k)
    w, m, p = _params_from_labels(X, labels, k, cov_type)
    kw = dict(covariance_type=cov_type, weights_init=w, means_init=m, precisions_init=p,
              tol=1e-6, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkGMM(k, **kw).fit(X)
        ours = GaussianMixture(k, **kw).fit(X)
    assert ours.n_iter_ == sk.n_iter_
    assert ours.converged_ == sk.converged_
    np.testing.assert_allclose(ours.means_, sk.means_, rtol=0, atol=1e-6 * (1 + np.abs(X).max()))
    np.testing.assert_allclose(ours.weights_, sk.weights_, atol=1e-8)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.precisions_cholesky_, sk.precisions_cholesky_, rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_allclose(ours.precisions_, sk.precisions_, rtol=1e-6, atol=1e-8)
    assert ours.lower_bound_ == pytest.approx(sk.lower_bound_, abs=1e-9)
    assert ours.score(X) == pytest.approx(sk.score(X), abs=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-7)


@pytest.mark.parametrize(
    "cov_type,init",
    [(c, i) for c in COV_TYPES for i in ("random", "random_from_data", "k-means++")
     if not (c == "tied" and i != "random")],
)
def test_seeded_inits_match_sklearn(cov_type, init):
    # These initialisations draw from the RandomState exactly as scikit-learn does.
    # tied + one-seed-point inits is left out on purpose: see test_tied_seed_init_is_translation_invariant.
    X, _ = _blobs(300, 4, 3, std=1.5, seed=3)
    kw = dict(covariance_type=cov_type, init_params=init, random_state=7, n_init=2, tol=1e-6,
              max_iter=200)
    sk = SkGMM(3, **kw).fit(X)
    ours = GaussianMixture(3, **kw).fit(X)
    assert ours.n_iter_ == sk.n_iter_
    # Both restarts can reach the same optimum with the components in another order; their
    # lower bounds then differ only in the last bits (spherical + k-means++ here: 3e-15), and
    # which restart is kept is decided by rounding. Under scikit-learn 1.9.1 its second
    # restart comes out 1 ulp higher and wins, while ours ties and keeps the first (this test
    # passed with the order pinned before 1.9). So compare the fitted mixture, not the order.
    assert abs(ours.lower_bound_ - sk.lower_bound_) < 1e-12
    order = _component_order(ours.means_, sk.means_)
    np.testing.assert_allclose(ours.means_[order], sk.means_, atol=1e-6)
    np.testing.assert_allclose(ours.weights_[order], sk.weights_, atol=1e-8)
    np.testing.assert_allclose(ours.covariances_[order] if cov_type != "tied" else ours.covariances_,
                               sk.covariances_, rtol=1e-6)
    assert ours.score(X) == pytest.approx(sk.score(X), abs=1e-8)


def _component_order(means, reference):
    """The permutation of ``means`` nearest to ``reference`` (each component matched once)."""
    import itertools

    best = min(itertools.permutations(range(len(means))),
               key=lambda p: float(np.abs(means[list(p)] - reference).sum()))
    return list(best)


@pytest.mark.parametrize("init", ["random_from_data", "k-means++"])
def test_tied_seed_init_is_translation_invariant(init):
    # Deliberate difference: with one seed point per component the responsibilities of the
    # other rows are all zero, and scikit-learn's tied formula (X^T X - sum_k N_k mu_k mu_k^T)
    # then depends on where the origin is. We use the weighted scatter, which does not.
    X, _ = _blobs(300, 3, 3, std=1.5, seed=3)
    kw = dict(covariance_type="tied", init_params=init, random_state=7)
    a = GaussianMixture(3, **kw).fit(X)
    b = GaussianMixture(3, **kw).fit(X + 1e4)
    np.testing.assert_allclose(b.means_ - 1e4, a.means_, atol=1e-6)
    np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-6)


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_fit_from_labels_matches_sklearn_started_there(cov_type):
    X, y = _blobs(500, 5, 4, std=2.5, seed=11)
    w, m, p = _params_from_labels(X, y, 4, cov_type)
    sk = SkGMM(4, covariance_type=cov_type, weights_init=w, means_init=m, precisions_init=p).fit(X)
    ours = estimator_from_partition(X, y, 4, covariance_type=cov_type)
    assert isinstance(ours, GaussianMixture)
    assert ours.n_iter_ == sk.n_iter_ and ours.converged_
    np.testing.assert_allclose(ours.means_, sk.means_, atol=1e-6)
    assert ours.score(X) == pytest.approx(sk.score(X), abs=1e-9)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))


# --------------------------------------------------------------------------------------------
# Each with its defaults: likelihood not worse than scikit-learn's
# --------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n_per=st.integers(15, 80),
    d=st.integers(1, 6),
    k=st.integers(1, 4),
    cov_type=st.sampled_from(COV_TYPES),
    seed=st.integers(0, 10_000),
)
def test_likelihood_not_below_sklearn(n_per, d, k, cov_type, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=8.0, size=(k, d))
    X = np.vstack([c + rng.normal(size=(n_per, d)) * rng.uniform(0.5, 2.0, d) for c in centers])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkGMM(k, covariance_type=cov_type, n_init=2, random_state=seed).fit(X)
        ours = GaussianMixture(k, covariance_type=cov_type, n_init=2, random_state=seed).fit(X)
    assert ours.score(X) >= sk.score(X) - 0.02
    proba = ours.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(ours.score_samples(X)))


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_likelihood_fixed_cases(cov_type):
    for n, d, k, std in [(1000, 10, 5, 3.0), (200, 2, 3, 1.0), (300, 1, 2, 0.5)]:
        X, _ = _blobs(n, d, k, std=std, seed=d)
        sk = SkGMM(k, covariance_type=cov_type, random_state=0).fit(X)
        ours = GaussianMixture(k, covariance_type=cov_type, random_state=0).fit(X)
        assert ours.score(X) >= sk.score(X) - 0.02


# --------------------------------------------------------------------------------------------
# Against the naive references
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_score_bic_aic_match_naive(cov_type):
    X, _ = _blobs(200, 3, 3, std=1.0, seed=5)
    gm = GaussianMixture(3, covariance_type=cov_type, random_state=0).fit(X)
    ref = naive.gmm_score_samples_naive(X, gm.weights_, gm.means_, gm.covariances_, cov_type)
    np.testing.assert_allclose(gm.score_samples(X), ref, rtol=1e-10)
    bic, aic = naive.gmm_bic_aic_naive(X, gm.weights_, gm.means_, gm.covariances_, cov_type)
    assert gm.bic(X) == pytest.approx(bic, rel=1e-10)
    assert gm.aic(X) == pytest.approx(aic, rel=1e-10)
    assert gm._n_parameters() == naive.gmm_n_parameters_naive(3, 3, cov_type)
    sk = SkGMM(3, covariance_type=cov_type).fit(X)
    assert gm._n_parameters() == sk._n_parameters()


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_initial_m_step_matches_naive(cov_type):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 4)) * [1.0, 10.0, 0.1, 3.0] + 5.0
    resp = rng.dirichlet(np.ones(3), size=1500)
    resp[:100] = np.eye(3)[rng.integers(0, 3, 100)]  # some exact zeros (skipped rows)
    w, m, c, _ = params_from_resp(X, resp, cov_type, 1e-6)
    w0, m0, c0 = naive.gmm_m_step_naive(X, resp, cov_type, 1e-6)
    np.testing.assert_allclose(w, w0, rtol=1e-12)
    np.testing.assert_allclose(m, m0, rtol=1e-12)
    np.testing.assert_allclose(c, c0, rtol=1e-9)
    if cov_type == "tied":  # the shortcut through the total scatter, valid as rows sum to 1
        c2 = params_from_resp(X, resp, cov_type, 1e-6, tied_scatter(X))[2]
        np.testing.assert_allclose(c2, c0, rtol=1e-9)


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("n", [50, 5000])
def test_fused_em_step_matches_naive(cov_type, n):
    # One EM iteration through the fused kernel (statistics about the old means) against the
    # textbook E-step then M-step.
    X, y = _blobs(n, 4, 3, std=2.0, seed=21)
    X = X * [1.0, 100.0, 0.01, 1.0] + 1e3
    resp0 = np.eye(3)[y]
    w, m, c, pc = params_from_resp(X, resp0, cov_type, 1e-6)
    _, _, nk, s1, s2, lpn = em_pass(X, w, m, pc, cov_type, True)
    tied = tied_scatter(X) if cov_type == "tied" else None
    w1, m1, c1, _ = m_step(m, nk.sum(0), s1.sum(0), s2.sum(0), cov_type, 1e-6, tied)
    wlp = naive.gmm_weighted_log_prob_naive(X, w, m, c, cov_type)
    from scipy.special import logsumexp

    ll = logsumexp(wlp, axis=1)
    resp = np.exp(wlp - ll[:, None])
    w0, m0, c0 = naive.gmm_m_step_naive(X, resp, cov_type, 1e-6)
    assert lpn.sum() == pytest.approx(ll.sum(), rel=1e-10)
    np.testing.assert_allclose(w1, w0, rtol=1e-9)
    np.testing.assert_allclose(m1, m0, rtol=1e-10)
    np.testing.assert_allclose(c1, c0, rtol=1e-7)


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_log_resp_matches_naive_far_from_components(cov_type):
    # Points hundreds of standard deviations away: densities underflow to 0 in linear space.
    X, _ = _blobs(300, 3, 3, std=0.5, seed=2)
    gm = GaussianMixture(3, covariance_type=cov_type, random_state=0).fit(X)
    far = np.array([[1e3, -1e3, 5e2], [0.0, 0.0, 4e2]])
    lpn, log_resp = mixture_log_prob_resp(far, gm.weights_, gm.means_,
                                            gm.precisions_cholesky_, cov_type)
    wlp = naive.gmm_weighted_log_prob_naive(far, gm.weights_, gm.means_, gm.covariances_,
                                            cov_type)
    from scipy.special import logsumexp

    np.testing.assert_allclose(lpn, logsumexp(wlp, axis=1), rtol=1e-9)
    np.testing.assert_allclose(np.exp(log_resp).sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.isfinite(log_resp))


# --------------------------------------------------------------------------------------------
# Estimator behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_fit_predict_equals_fit_then_predict(cov_type):
    X, _ = _blobs(300, 2, 4, std=2.5, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = GaussianMixture(4, covariance_type=cov_type, max_iter=3, random_state=1).fit_predict(X)
        b = GaussianMixture(4, covariance_type=cov_type, max_iter=3, random_state=1).fit(X).predict(X)
    np.testing.assert_array_equal(a, b)


def test_unfitted_raises_segengine_error():
    gm = GaussianMixture()
    for method in ("predict", "predict_proba", "score", "score_samples", "bic", "aic"):
        with pytest.raises(NotFittedError):
            getattr(gm, method)(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        gm.sample(2)


def test_convergence_warning_and_chosen_run_flag():
    X, _ = _blobs(300, 2, 3, std=3.0, seed=4)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        gm = GaussianMixture(3, max_iter=2, tol=0.0, random_state=0).fit(X)
    assert not gm.converged_ and gm.n_iter_ == 2
    assert np.all(np.isfinite(gm.means_))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        gm = GaussianMixture(3, random_state=0).fit(X)
    assert gm.converged_ and len(gm.lower_bounds_) == gm.n_iter_


def test_chosen_run_convergence_is_reported_not_any_run(monkeypatch):
    # Run 0 converges with a worse likelihood, run 1 does not converge but is better and kept:
    # converged_ must be run 1's flag (scikit-learn reports "any run converged").
    import segengine.engines.gmm_estimator as gmm_mod

    X, _ = _blobs(200, 2, 2, std=1.0, seed=8)
    real_em = gmm_mod.em_iterations
    outcomes = iter([(-5.0, True), (-1.0, False)])

    def fake_em(*args, **kwargs):
        params, _, n_iter, _, hist = real_em(*args, **kwargs)
        lb, conv = next(outcomes)
        return params, lb, n_iter, conv, hist

    monkeypatch.setattr(gmm_mod, "em_iterations", fake_em)
    with pytest.warns(ConvergenceWarning):
        gm = GaussianMixture(2, n_init=2, random_state=0).fit(X)
    assert gm.lower_bound_ == -1.0 and gm.converged_ is False


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_collapsing_components_stay_finite(cov_type):
    rng = np.random.default_rng(0)
    # 30 copies of one point, a tight blob, and a lone far point: components collapse.
    X = np.vstack([np.tile([1.0, 2.0, 3.0], (30, 1)), rng.normal(size=(40, 3)), [[50.0, 50, 50]]])
    for init in ("kmeans", "random_from_data", "random"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm = GaussianMixture(4, covariance_type=cov_type, init_params=init, random_state=0).fit(X)
        for a in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_):
            assert np.all(np.isfinite(a))
        assert np.all(np.isfinite(gm.score_samples(X)))
        assert np.all(gm.weights_ > 0)


def test_all_identical_points_and_k_close_to_n():
    X = np.ones((6, 2))
    gm = GaussianMixture(5, random_state=0).fit(X)
    assert np.all(np.isfinite(gm.score_samples(X)))
    X2, _ = _blobs(6, 2, 2, seed=1)
    gm = GaussianMixture(5, random_state=0).fit(X2)
    np.testing.assert_allclose(gm.predict_proba(X2).sum(axis=1), 1.0)


def test_cholesky_failure_says_what_to_change():
    X = np.vstack([np.tile([1.0, 2.0], (20, 1)), np.tile([5.0, 5.0], (20, 1))])
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(X)
    with pytest.raises(ValueError, match="fewer"):
        estimator_from_partition(X, np.repeat([0, 1], 20), 2, reg_covar=0.0)


def test_float32_input_and_one_feature():
    X, _ = _blobs(400, 1, 2, std=0.7, seed=6)
    gm64 = GaussianMixture(2, random_state=0).fit(X)
    gm32 = GaussianMixture(2, random_state=0).fit(X.astype(np.float32))
    np.testing.assert_allclose(gm32.means_, gm64.means_, rtol=1e-5)
    assert gm32.score(X.astype(np.float32)) == pytest.approx(gm64.score(X), abs=1e-5)
    sk = SkGMM(2, random_state=0).fit(X)
    assert gm64.score(X) >= sk.score(X) - 0.02


def test_constant_column_and_extreme_magnitudes():
    X, _ = _blobs(300, 3, 3, std=0.5, seed=12)
    Xc = np.hstack([X, np.full((300, 1), 7.0)])
    gm = GaussianMixture(3, random_state=0).fit(Xc)
    assert np.all(np.isfinite(gm.score_samples(Xc)))
    labels = GaussianMixture(3, random_state=0).fit_predict(X)
    big = GaussianMixture(3, random_state=0).fit(X * 1e12)
    # Same partition up to a relabelling.
    pairs = set(zip(labels, big.predict(X * 1e12)))
    assert len(pairs) == 3
    tiny = GaussianMixture(3, random_state=0).fit(X * 1e-12)  # reg_covar dominates: no NaN
    assert np.all(np.isfinite(tiny.predict_proba(X * 1e-12)))


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_thread_count_does_not_change_bits(cov_type, monkeypatch, two_numba_threads):
    from segengine import config

    monkeypatch.setattr(config, "GMM_PARALLEL_MIN_WORK", 0)  # force the parallel kernels
    n = 3 * 4096 + 17  # above PARALLEL_MIN_ROWS and not a multiple of the block size
    from segengine.engines.gmm import parallel_pays

    assert parallel_pays(n, 4, 5, cov_type)
    X, _ = _blobs(n, 5, 4, std=3.0, seed=13)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = GaussianMixture(4, covariance_type=cov_type, random_state=0).fit(X)
        pa = a.predict_proba(X)
        numba.set_num_threads(two_numba_threads)
        b = GaussianMixture(4, covariance_type=cov_type, random_state=0).fit(X)
        pb = b.predict_proba(X)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(a.means_, b.means_)
    np.testing.assert_array_equal(a.covariances_, b.covariances_)
    np.testing.assert_array_equal(pa, pb)
    assert a.lower_bound_ == b.lower_bound_


def test_serial_and_parallel_kernels_agree():
    # The two drivers run the same blocks in the same order, but they are separately compiled:
    # the row reductions of the M-step statistics may be vectorised differently in each (they
    # are the only kernels compiled with reassociation), so they agree to rounding, not bits.
    # Thread-count invariance, which is bitwise, is tested above on one compiled driver.
    from segengine.engines.gmm import _COV_CODES, _kernel_prec, _log_norm

    X, _ = _blobs(5000, 4, 3, std=2.0, seed=14)
    for ct in COV_TYPES:
        gm = GaussianMixture(3, covariance_type=ct, random_state=0).fit(X)
        nb = K.n_blocks(X.shape[0])
        width = {"full": 16, "tied": 1, "diag": 4, "spherical": 4}[ct]
        for fit_mode in (True, False):
            outs = []
            for kern in (K.em_pass_serial, K.em_pass_parallel):
                args = (X, gm.means_, _kernel_prec(gm.precisions_cholesky_, ct), _COV_CODES[ct],
                        _log_norm(gm.weights_, gm.precisions_cholesky_, ct, 4), fit_mode,
                        np.zeros((5000, 3)), np.zeros(5000), np.zeros((nb, 3)),
                        np.zeros((nb, 3, 4)), np.zeros((nb, 3, width)), np.zeros(nb))
                kern(*args)
                outs.append(args[6:])
            for a, b in zip(*outs):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_warm_start_continues():
    X, _ = _blobs(300, 2, 3, std=2.5, seed=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(3, max_iter=2, tol=0.0, warm_start=True, random_state=0).fit(X)
        first = gm.lower_bound_
        gm.fit(X)
    assert gm.lower_bound_ >= first - 1e-12


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_sample_shapes_and_moments(cov_type):
    X, _ = _blobs(500, 2, 2, std=1.0, seed=16)
    gm = GaussianMixture(2, covariance_type=cov_type, random_state=0).fit(X)
    S, y = gm.sample(4000)
    assert S.shape == (4000, 2) and y.shape == (4000,)
    np.testing.assert_allclose(S.mean(axis=0), gm.weights_ @ gm.means_, atol=0.3)
    with pytest.raises(ValueError):
        gm.sample(0)


def test_kmeans_init_uses_segengine_kmeans():
    from segengine.engines.kmeans import kmeans_fit

    X, _ = _blobs(300, 3, 3, std=1.0, seed=17)
    gm = GaussianMixture(3, random_state=5).fit(X)
    seed = int(np.random.RandomState(5).randint(np.iinfo(np.int32).max))
    labels = kmeans_fit(X, 3, n_init=1, random_state=seed).labels
    ref = estimator_from_partition(X, labels, 3)
    np.testing.assert_array_equal(gm.means_, ref.means_)


def test_bad_inits_rejected():
    X, _ = _blobs(100, 2, 2, seed=18)
    with pytest.raises(ValueError, match="weights_init"):
        GaussianMixture(2, weights_init=[0.5, 0.6]).fit(X)
    with pytest.raises(ValueError, match="means_init"):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(X)
    with pytest.raises(ValueError, match="precisions_init"):
        GaussianMixture(2, precisions_init=np.zeros((2, 2))).fit(X)
    with pytest.raises(ValueError, match="'full precision' should be symmetric, positive-definite .precisions_init"):
        GaussianMixture(2, precisions_init=np.stack([-np.eye(2)] * 2)).fit(X)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(X[:3])


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_fit_from_labels_with_an_unused_label_and_float32(cov_type):
    # The model search may hand over a partition in which a label is empty.
    X, y = _blobs(300, 3, 3, std=1.0, seed=19)
    gm = estimator_from_partition(X.astype(np.float32), y, 4, covariance_type=cov_type)
    assert gm.n_features_in_ == 3 and gm.means_.shape == (4, 3)
    for a in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_):
        assert np.all(np.isfinite(a))
    assert np.all(np.isfinite(gm.predict_proba(X)))
    assert gm.converged_


def test_verbose_prints(capsys):
    X, _ = _blobs(100, 2, 2, seed=20)
    GaussianMixture(2, verbose=2, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Iteration 1" in out and "Initialization 0" in out

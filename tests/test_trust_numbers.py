"""Numbers a marketer can trust (issue #12, findings 1-4 and 9): the chosen k and the partition do
not depend on the seed, a degenerate mixture never wins, memberships agree with the labels, and
silhouette="exact" is exact or refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.cluster import KMeans as SkKMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

import segengine as se
from segengine import config
from segengine.metrics.silhouette import silhouette_scores_multi

from one_time_buyers import one_time_buyer_table


def _finding_1_blobs():
    X, _ = make_blobs([836, 847, 1142, 409, 765], n_features=8, cluster_std=2.7262,
                      center_box=(-10, 10), random_state=993950)
    return X


# -- finding 1: k depends on the seed -------------------------------------------------------------
def test_finding_1_one_k_for_every_seed_and_a_near_optimal_fit():
    X = _finding_1_blobs()
    sels = [se.select_k(X, random_state=s) for s in range(10)]
    assert len({s.k for s in sels}) == 1
    ref = SkKMeans(n_clusters=sels[0].k, n_init=10, random_state=0).fit(X).inertia_
    for s in sels:
        assert s.fits[s.k].inertia <= 1.005 * ref


@pytest.mark.parametrize("k_min,k_max", [(2, 4), (4, 6), (4, 4)])
def test_every_k_is_repaired_including_the_endpoints(k_min, k_max):
    # k = 4 is where one restart lands 13 % above the optimum on these blobs: as the lower end,
    # the upper end and the only k of the range it must still be (near) optimal for every seed.
    X = _finding_1_blobs()
    ref = SkKMeans(n_clusters=4, n_init=10, random_state=0).fit(X).inertia_
    for seed in range(6):
        sel = se.select_k(X, k_min, k_max, random_state=seed)
        assert sel.fits[4].inertia <= 1.005 * ref, seed


def test_k_min_two_is_checked_against_the_total_sum_of_squares():
    from segengine.engines.kmeans import KMeansResult
    from segengine.selection import _repair_nonconvex

    X, _ = make_blobs(n_samples=900, centers=[[0, 0], [10, 0], [5, 9]], cluster_std=1.0, random_state=0)
    good = {k: se.select_k(X, k, k, random_state=0).fits[k] for k in (2, 3, 4)}
    # A poor k = 2 (all but one record in one cluster): the convexity check must refit it.
    labels = np.zeros(len(X), dtype=np.int64)
    labels[0] = 1
    centers = np.array([X[1:].mean(axis=0), X[0]])
    bad = KMeansResult(centers, labels, float(((X[1:] - centers[0]) ** 2).sum()), 1)
    fits = dict(good)
    fits[2] = bad
    repaired = _repair_nonconvex(X, fits, [2, 3, 4], 0)
    ref = SkKMeans(n_clusters=2, n_init=10, random_state=0).fit(X).inertia_
    assert fits[2].inertia <= 1.005 * ref < bad.inertia
    assert repaired == [2]


def test_sampled_near_ties_are_resolved_exactly_so_the_seed_does_not_decide():
    # 7 blobs in 2-D, 7,563 records (sampled silhouette): k = 2 and k = 3 score within the
    # sample's error, and the sample used to pick one or the other with the seed.
    rng = np.random.default_rng([2026, 12, 8])
    n = int(rng.integers(1_500, 15_001))
    c = int(rng.integers(2, 9))
    d = int(rng.integers(2, 11))
    std = float(rng.uniform(0.8, 3.2))
    shares = rng.dirichlet(np.full(c, 3.0))
    sizes = np.maximum(1, np.round(shares * n)).astype(int).tolist()
    X, _ = make_blobs(sizes, n_features=d, cluster_std=std, center_box=(-10, 10),
                      random_state=int(rng.integers(1_000_000)))
    assert X.shape[0] > config.SILHOUETTE_EXACT_MAX_N
    sels = [se.select_k(X, random_state=s) for s in range(10)]
    assert len({s.k for s in sels}) == 1
    chosen = sels[0]
    assert chosen.k in chosen.resolved_exactly
    # The exact silhouette from segengine's exact kernel (equal to scikit-learn's: test_silhouette),
    # not scikit-learn's pass over all 7,563^2 distances.
    exact = silhouette_scores_multi(X, chosen.fits[chosen.k].labels[None, :])[0]
    assert chosen.scores[chosen.k] == pytest.approx(exact, abs=1e-9)
    assert chosen.to_dict()["resolved_exactly"] == chosen.resolved_exactly


# -- finding 2: a fixed n_clusters used one restart ----------------------------------------------
def test_finding_2_fixed_n_clusters_gives_the_same_partition_for_every_seed():
    X = _finding_1_blobs()
    labels = [se.Segmenter(n_clusters=4, algorithm="kmeans", random_state=r).fit(X).labels_
              for r in range(6)]
    for other in labels[1:]:
        assert adjusted_rand_score(labels[0], other) > 0.99


# -- finding 3: a degenerate mixture won ---------------------------------------------------------
def test_finding_3_a_point_mass_does_not_make_a_degenerate_mixture_win():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=4000), np.where(rng.random(4000) < .5, 1, rng.poisson(5, 4000) + 2)]
    seg = se.Segmenter().fit(X)
    ev = seg.algorithm_evidence_
    assert seg.algorithm_ == "kmeans" or not ev["gmm_degenerate"]
    assert [f["field"] for f in ev["point_mass_fields"]] == ["x1"]
    if "gmm_bic" in ev and ev["gmm_degenerate"]:
        assert ev["collapsed_components"] and ev["collapsed_components"][0]["field"] == "x1"
    body = seg.report(include_metadata=True)
    assert body["metadata"]["algorithm_selection"]["point_mass_fields"][0]["top_share"] > 0.45


def test_one_time_buyer_table_gives_kmeans_or_a_non_degenerate_mixture():
    X, names = one_time_buyer_table()
    assert abs((X[:, 1] == 1).mean() - 0.51) < 0.02
    records = [dict(zip(names, map(float, row)), id=i) for i, row in enumerate(X)]
    seg = se.Segmenter().fit(records)
    ev = seg.algorithm_evidence_
    assert seg.algorithm_ == "kmeans" or not ev["gmm_degenerate"]
    assert "frequency" in [f["field"] for f in ev["point_mass_fields"]]


def test_an_explicit_degenerate_mixture_is_fitted_with_a_warning():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=4000), np.where(rng.random(4000) < .5, 1, rng.poisson(5, 4000) + 2)]
    seg = se.Segmenter(algorithm="gmm", n_clusters=4).fit(X)
    assert seg.algorithm_ == "gmm" and seg.algorithm_evidence_["gmm_degenerate"]
    for lang, word in (("en", "degenerate"), ("es", "degenerada"), ("pt", "degenerada")):
        warnings = seg.report(lang)["metadata"]["warnings"]
        assert any(word in w and "x1" in w for w in warnings)


def test_continuous_blobs_have_no_lumpy_fields_and_the_mixture_can_still_win():
    X, _ = make_blobs(n_samples=1500, centers=3, random_state=170)
    X = X @ np.array([[0.6, -0.6], [-0.4, 0.8]])
    seg = se.Segmenter(n_clusters=3).fit(X)
    ev = seg.algorithm_evidence_
    assert ev["point_mass_fields"] == [] and ev["discrete_fields"] == [] and not ev["gmm_degenerate"]
    assert seg.algorithm_ == "gmm"


def test_lumpy_fields_and_collapse_floor_against_a_direct_count():
    from segengine.mixture_checks import collapsed_components, component_variances, lumpy_fields

    rng = np.random.default_rng(1)
    n = 3000
    X = np.c_[rng.normal(size=n), rng.integers(0, 5, n) * 0.5, np.where(rng.random(n) < 0.1, 0.0, rng.normal(size=n))]
    lumpy = lumpy_fields(X, ["a", "b", "c"])
    got = {e["field"]: e for e in lumpy}
    assert set(got) == {"b", "c"}
    assert got["b"]["levels"] == 5 and got["b"]["spacing"] == pytest.approx(0.5)
    assert got["c"]["top_share"] == pytest.approx((X[:, 2] == 0).mean(), abs=1e-4)
    var = np.array([[1.0, 0.05, 1.0], [1.0, 0.07, 1e-6], [1e-7, 1.0, 1.0]])
    hits = {(c["component"], c["field"]) for c in collapsed_components(var, lumpy, ["a", "b", "c"])}
    # floors: a 1e-5 (10 x reg_covar), b (0.25)^2 = 0.0625, c 1e-5 (no spacing between 0 and reals)
    assert hits == {(0, "b"), (1, "c"), (2, "a")}
    full = np.stack([np.diag(v) for v in var])
    np.testing.assert_allclose(component_variances("full", full, 3, 3), var)
    np.testing.assert_allclose(component_variances("spherical", np.array([1.0, 2.0]), 2, 3),
                               [[1, 1, 1], [2, 2, 2]])


# -- finding 4: prediction contradicted the label --------------------------------------------------
@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    k=st.integers(2, 6), d=st.integers(1, 5), seed=st.integers(0, 10_000),
    std=st.floats(0.5, 3.0), algorithm=st.sampled_from(["kmeans", "auto", "gmm"]),
)
def test_finding_4_the_label_is_always_the_most_probable_segment(k, d, seed, std, algorithm):
    rng = np.random.default_rng(seed)
    sizes = (rng.dirichlet(np.full(k, 0.7)) * 600).astype(int) + 15  # very unequal segments
    X, _ = make_blobs(sizes.tolist(), n_features=d, cluster_std=std, center_box=(-6, 6), random_state=seed)
    seg = se.Segmenter(k_max=6, algorithm=algorithm, random_state=seed).fit(X)
    proba = seg.predict_proba(X)
    assert np.array_equal(proba.argmax(axis=1), seg.predict(X))
    assert np.array_equal(proba.argmax(axis=1), seg.labels_)
    np.testing.assert_allclose(seg.prediction_, proba[np.arange(len(X)), seg.labels_], rtol=1e-12)
    assert seg.prediction_.min() >= 1.0 / seg.n_clusters_ - 1e-12
    body = seg.report(include_metadata=False)
    assert min(r["prediction"] for r in body["results"]) >= round(1.0 / seg.n_clusters_, 4) - 1e-4


# -- finding 9: silhouette="exact" was not exact above 20k records ---------------------------------
def test_finding_9_exact_silhouette_is_exact_above_the_search_subsample_size():
    X, _ = make_blobs(n_samples=config.SEARCH_MAX_N + 2000, centers=3, n_features=2, random_state=0)
    sel = se.select_k(X, 2, 4, silhouette="exact", random_state=0)
    assert sel.exact and sel.sample_size is None
    assert sel.to_dict()["standard_errors"] is None
    assert all(f.labels.shape == (X.shape[0],) for f in sel.fits.values())
    rows = np.random.default_rng(0).choice(X.shape[0], 3000, replace=False)
    for k in (2, 3):
        # The exact mean equals scikit-learn's; checked on a subset through the per-record values.
        from segengine.metrics.silhouette import silhouette_rows

        vals = silhouette_rows(X, sel.fits[k].labels, rows)
        assert abs(vals.mean() - sel.scores[k]) < 0.02


def test_finding_9_exact_silhouette_above_its_limit_is_a_422_that_says_why(monkeypatch):
    # The limit lowered from 50,000 to 400 records: the same check and message, without typing
    # and preprocessing 50,001 records first.
    monkeypatch.setattr(config, "SILHOUETTE_EXACT_LIMIT", 400)
    X, _ = make_blobs(n_samples=config.SILHOUETTE_EXACT_LIMIT + 1, centers=3, n_features=2, random_state=0)
    records = [{"a": float(a), "b": float(b)} for a, b in X]
    with pytest.raises(se.ValidationError) as err:
        se.segmentation_report({"data": records, "options": {"silhouette": "exact"}})
    assert err.value.status == 422
    message = err.value.details["options.silhouette"]
    assert f"{config.SILHOUETTE_EXACT_LIMIT:,}".replace(",", "") in message.replace(",", "")
    assert "'auto'" in message

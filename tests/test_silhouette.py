"""Silhouette metrics against scikit-learn and the brute-force reference in tests/naive.py."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm
from sklearn.datasets import make_blobs

from segengine import config
from segengine.metrics.silhouette import (
    count_cells,
    silhouette_rows,
    silhouette_sampled_multi,
    silhouette_samples,
    silhouette_score,
    silhouette_scores_multi,
    simplified_silhouette,
)

from naive import silhouette_samples_naive  # tests/ is on sys.path (rootdir-less test dir)

# ----------------------------------------------------------------------------------------------
# data generators


def _make_data(seed: int, n: int, d: int, variant: str, dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n_centres = max(1, min(n, 5))
    centres = rng.normal(scale=5.0, size=(n_centres, d))
    X = centres[rng.integers(0, n_centres, n)] + rng.normal(size=(n, d))
    if variant == "huge":
        X *= 1e12
    elif variant == "tiny":
        X *= 1e-12
    elif variant == "offset":
        # Far from the origin relative to the spread: the dot-product formula cancels here.
        X += 1e6
    elif variant == "duplicates":
        X[n // 2 :] = X[: n - n // 2][rng.permutation(n - n // 2)]
    elif variant == "constant_cols":
        X[:, rng.random(d) < 0.5] = 3.25
    elif variant == "rounded":
        # Many exact duplicates and exact ties in distances.
        X = np.round(X / 4.0)
    return np.ascontiguousarray(X.astype(dtype))


def _make_labels(seed: int, n: int, k: int, singleton: bool) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    labels = rng.integers(0, k, n)
    labels[0], labels[1] = 0, 1  # at least two clusters
    if singleton and k + 1 <= n - 1:
        labels[rng.integers(0, n)] = k  # a cluster of one point
    # Arbitrary integer values: the functions must remap them.
    return labels * -7 + 1000


data_cases = st.tuples(
    st.integers(0, 2**31 - 1),  # seed
    st.integers(3, 600),  # n
    st.integers(1, 20),  # d
    st.sampled_from(["plain", "huge", "tiny", "offset", "duplicates", "constant_cols", "rounded"]),
    st.sampled_from([np.float64, np.float32]),
    st.booleans(),  # singleton cluster
    st.floats(0.0, 1.0),  # where k falls in 2..min(n - 1, 15)
)


def _draw(case):
    seed, n, d, variant, dtype, singleton, kpos = case
    k = 2 + int(round(kpos * (min(n - 1, 15) - 2)))
    X = _make_data(seed, n, d, variant, dtype)
    labels = _make_labels(seed, n, k, singleton)
    return X, labels, variant, dtype


# ----------------------------------------------------------------------------------------------
# exact values


@settings(max_examples=120, deadline=None)
@given(data_cases)
def test_samples_equal_naive_and_sklearn(case):
    X, labels, variant, dtype = _draw(case)
    ours = silhouette_samples(X, labels)
    assert ours.dtype == np.float64 and ours.shape == (X.shape[0],)
    # The reference uses exact coordinate differences in float64, as we do.
    np.testing.assert_allclose(ours, silhouette_samples_naive(X, labels), rtol=0, atol=1e-9)
    sk = skm.silhouette_samples(X, labels)
    if dtype == np.float64 and variant not in ("offset", "duplicates", "rounded"):
        np.testing.assert_allclose(ours, sk, rtol=0, atol=1e-9)
    elif variant != "offset":
        # scikit-learn's |x|^2 + |y|^2 - 2 x.y (and float32 arithmetic) loses digits there;
        # far from the origin ("offset") it can be off by 1e-2, so only the reference counts.
        np.testing.assert_allclose(ours, sk, rtol=0, atol=2e-3)


@settings(max_examples=40, deadline=None)
@given(data_cases)
def test_score_equals_sklearn(case):
    X, labels, variant, dtype = _draw(case)
    ours = silhouette_score(X, labels)
    assert isinstance(ours, float)
    assert ours == pytest.approx(float(np.mean(silhouette_samples_naive(X, labels))), abs=1e-9)
    if dtype == np.float64 and variant not in ("offset", "duplicates", "rounded"):
        assert ours == pytest.approx(skm.silhouette_score(X, labels), abs=1e-9)


def test_blobs_equal_sklearn_tightly():
    X, y = make_blobs(2000, 8, centers=6, random_state=3)
    np.testing.assert_allclose(silhouette_samples(X, y), skm.silhouette_samples(X, y), atol=1e-12)
    assert silhouette_score(X, y) == pytest.approx(skm.silhouette_score(X, y), abs=1e-12)


def test_huge_offset_beats_dot_product_formula():
    # Two clusters 1 apart at 1e8 from the origin: exact silhouettes are known in closed form.
    X = np.array([[1e8], [1e8], [1e8 + 1.0], [1e8 + 1.0]])
    s = silhouette_samples(X, [0, 0, 1, 1])
    np.testing.assert_array_equal(s, np.ones(4))


def test_one_feature_and_k_close_to_n():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 1))
    labels = np.arange(40)
    labels[-1] = 0  # 39 clusters: one pair, the rest singletons
    np.testing.assert_allclose(silhouette_samples(X, labels), skm.silhouette_samples(X, labels),
                               atol=1e-12)
    assert silhouette_score(X, labels) == pytest.approx(skm.silhouette_score(X, labels), abs=1e-12)


def test_all_points_identical_within_and_across_clusters():
    X = np.zeros((6, 3))
    labels = [0, 0, 0, 1, 1, 2]
    np.testing.assert_array_equal(silhouette_samples(X, labels), skm.silhouette_samples(X, labels))


def test_string_labels_and_input_not_mutated():
    X, y = make_blobs(100, 3, centers=3, random_state=1)
    X32 = X.astype(np.float32)
    before = X32.copy()
    names = np.array(["a", "b", "c"])[y]
    np.testing.assert_allclose(silhouette_samples(X32, names), silhouette_samples(X32, y), atol=0)
    np.testing.assert_array_equal(X32, before)


@pytest.mark.parametrize("labels", [[0] * 5, [0, 1, 2, 3, 4]])
def test_invalid_number_of_labels_raises_like_sklearn(labels):
    X = np.arange(10.0).reshape(5, 2)
    with pytest.raises(ValueError, match="Number of labels is"):
        skm.silhouette_score(X, labels)
    with pytest.raises(ValueError, match="Number of labels is"):
        silhouette_score(X, labels)
    with pytest.raises(ValueError, match="Number of labels is"):
        silhouette_samples(X, labels)


def test_malformed_input_raises():
    with pytest.raises(ValueError):
        silhouette_samples(np.arange(5.0), [0, 0, 1, 1, 1])
    with pytest.raises(ValueError):
        silhouette_samples(np.array([[0.0], [np.nan], [1.0]]), [0, 1, 1])
    with pytest.raises(ValueError):
        silhouette_samples(np.zeros((4, 2)), [0, 1, 1])
    with pytest.raises(ValueError):
        silhouette_score(np.random.default_rng(0).random((10, 2)), [0, 1] * 5, sample_size=0)


# ----------------------------------------------------------------------------------------------
# several labelings at once


def _labelings(seed: int, n: int, ks) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 1, (len(ks), n))
    for i, k in enumerate(ks):
        out[i] = rng.integers(0, k, n) * 3 - 5
        out[i, :2] = [0, 3]
    return out


def _score_or_nan(X, labels):
    try:
        return silhouette_score(X, labels)
    except ValueError:
        return np.nan


@settings(max_examples=30, deadline=None)
@given(data_cases, st.lists(st.integers(2, 12), min_size=1, max_size=6))
def test_multi_equals_per_labeling_exact(case, ks):
    X, _, _, _ = _draw(case)
    n = X.shape[0]
    ks = [min(k, n - 1) for k in ks]
    labs = _labelings(case[0], n, ks)
    multi = silhouette_scores_multi(X, labs)
    single = np.array([_score_or_nan(X, lab) for lab in labs])
    np.testing.assert_allclose(multi, single, rtol=0, atol=1e-12)
    # Forcing the per-labeling accumulation (cell cap of 1) gives the same values.
    fallback = silhouette_scores_multi(X, labs, max_cells=1)
    np.testing.assert_allclose(fallback, single, rtol=0, atol=1e-12)


def test_multi_kmeans_labelings_equal_sklearn():
    from sklearn.cluster import KMeans

    X, _ = make_blobs(1500, 6, centers=4, random_state=7)
    labs = np.array([KMeans(k, n_init=1, random_state=0).fit_predict(X) for k in range(2, 9)])
    expected = np.array([skm.silhouette_score(X, lab) for lab in labs])
    np.testing.assert_allclose(silhouette_scores_multi(X, labs), expected, atol=1e-12)


def test_multi_cell_cap_config_fallback(monkeypatch):
    X, _ = make_blobs(700, 4, centers=5, random_state=2)
    labs = _labelings(1, 700, [3, 5, 7, 9])  # random labelings: hundreds of cells
    cells_path = silhouette_scores_multi(X, labs, max_cells=10_000)
    monkeypatch.setattr(config, "SILHOUETTE_MAX_CELLS", 4)
    monkeypatch.setattr(config, "SILHOUETTE_MAX_CELLS_FRACTION", 0.0)
    np.testing.assert_allclose(silhouette_scores_multi(X, labs), cells_path, atol=1e-12)


def test_count_cells():
    labs = np.array([[0, 0, 1, 1, 1, 5], [2, 2, 2, 3, 3, 3]])
    assert count_cells(labs) == 4  # (0,2) (1,2) (1,3) (5,3)
    assert count_cells(labs[0]) == 3
    big = np.random.default_rng(0).integers(0, 10, (40, 50))  # product of k overflows int64
    assert count_cells(big) == len({tuple(c) for c in big.T})
    # Many labels per labeling (keys beyond the bincount bound) and huge label values.
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 45, (3, 50)) * 10**15 - 7
    assert count_cells(wide) == len({tuple(c) for c in wide.T})
    X = rng.normal(size=(50, 3))
    expected = [skm.silhouette_score(X, lab) for lab in wide]
    np.testing.assert_allclose(silhouette_scores_multi(X, wide), expected, atol=1e-12)


def test_multi_invalid_labeling_gives_nan():
    X, y = make_blobs(50, 2, centers=3, random_state=0)
    labs = np.stack([y, np.zeros(50, int), np.arange(50), y % 2])
    out = silhouette_scores_multi(X, labs)
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert out[0] == pytest.approx(skm.silhouette_score(X, y), abs=1e-12)
    assert out[3] == pytest.approx(skm.silhouette_score(X, y % 2), abs=1e-12)


# ----------------------------------------------------------------------------------------------
# sampled estimators


def test_score_with_sample_size_scores_sample_against_all_points():
    X, y = make_blobs(800, 5, centers=4, random_state=4)
    exact = silhouette_samples(X, y)
    est = silhouette_score(X, y, sample_size=100, random_state=np.random.default_rng(5))
    rows = np.sort(np.random.default_rng(5).choice(800, 100, replace=False))
    assert est == pytest.approx(float(np.mean(exact[rows])), abs=1e-12)
    full = silhouette_score(X, y, sample_size=10_000)
    assert full == pytest.approx(float(np.mean(exact)), abs=1e-12)


def test_silhouette_rows_equals_samples_subset():
    X, y = make_blobs(700, 4, centers=4, random_state=9)
    rows = np.array([699, 0, 5, 5, 350, 12])
    np.testing.assert_allclose(silhouette_rows(X, y, rows), silhouette_samples(X, y)[rows],
                               atol=1e-12)
    assert silhouette_rows(X, y, np.array([], dtype=int)).shape == (0,)
    with pytest.raises(ValueError):
        silhouette_rows(X, y, [700])
    with pytest.raises(ValueError):
        silhouette_rows(X, y, [0.5])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sampled_multi_within_three_stderr_of_exact(seed):
    from sklearn.cluster import KMeans

    X, _ = make_blobs(5000, 6, centers=5, cluster_std=2.5, random_state=seed)
    labs = np.array([KMeans(k, n_init=1, random_state=0).fit_predict(X) for k in range(2, 8)])
    exact = silhouette_scores_multi(X, labs)
    means, errs = silhouette_sampled_multi(X, labs, sample_size=400, random_state=seed)
    assert np.all(errs > 0)
    assert np.all(np.abs(means - exact) <= 3.0 * errs + 1e-12)


def test_sampled_multi_same_sample_and_formula():
    X, _ = make_blobs(900, 3, centers=3, random_state=0)
    labs = _labelings(3, 900, [2, 4, 6])
    means, errs = silhouette_sampled_multi(X, labs, sample_size=150, random_state=11)
    rows = np.sort(np.random.default_rng(11).choice(900, 150, replace=False))
    for i, lab in enumerate(labs):
        s = silhouette_samples_naive(X, lab)[rows]
        assert means[i] == pytest.approx(s.mean(), abs=1e-12)
        expected_err = s.std(ddof=1) / np.sqrt(150) * np.sqrt(1 - 150 / 900)
        assert errs[i] == pytest.approx(expected_err, rel=1e-9)


def test_sampled_multi_deterministic_and_full_sample_is_exact():
    X, _ = make_blobs(600, 4, centers=3, random_state=0)
    labs = _labelings(5, 600, [2, 3, 4])
    a = silhouette_sampled_multi(X, labs, sample_size=100, random_state=3)
    b = silhouette_sampled_multi(X, labs, sample_size=100, random_state=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    c = silhouette_sampled_multi(X, labs, sample_size=100)
    d = silhouette_sampled_multi(X, labs, sample_size=100)
    np.testing.assert_array_equal(c[0], d[0])
    means, errs = silhouette_sampled_multi(X, labs, sample_size=5000)
    np.testing.assert_allclose(means, silhouette_scores_multi(X, labs), atol=1e-12)
    np.testing.assert_array_equal(errs, np.zeros(3))


# ----------------------------------------------------------------------------------------------
# simplified silhouette


def test_simplified_silhouette():
    d1 = np.array([0.0, 1.0, 4.0, 0.0, 9.0])
    d2 = np.array([0.0, 4.0, 4.0, 2.0, 16.0])
    expected = np.array([0.0, 0.5, 0.0, 1.0, 0.25])
    np.testing.assert_allclose(simplified_silhouette(d1, d2), expected, atol=1e-15)
    with pytest.raises(ValueError):
        simplified_silhouette(d1, d2[:3])


# ----------------------------------------------------------------------------------------------
# threads and memory


def test_thread_count_does_not_change_results(monkeypatch, two_numba_threads):
    # Low enough that these problems take the parallel kernels (what the test is about).
    monkeypatch.setattr(config, "SILHOUETTE_PARALLEL_MIN_PAIRS", 1_000_000)
    X, _ = make_blobs(6000, 5, centers=4, random_state=0)
    labs = _labelings(2, 6000, [2, 3, 4, 5])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        def run():
            return (silhouette_scores_multi(X, labs),
                    silhouette_scores_multi(X, labs, max_cells=1),
                    silhouette_samples(X, labs[2]),
                    *silhouette_sampled_multi(X, labs, sample_size=2500, random_state=1),
                    *silhouette_sampled_multi(X, labs, sample_size=2500, max_cells=1))

        one = run()
        numba.set_num_threads(two_numba_threads)
        two = run()
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_no_quadratic_memory():
    n = 20_000
    X, y = make_blobs(n, 4, centers=5, random_state=0)
    silhouette_score(X[:100], y[:100])  # compile / load outside the measurement
    tracemalloc.start()
    try:
        silhouette_score(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * n * 8 / 100  # far below the 3.2 GB of a distance matrix


@pytest.mark.slow  # four exact passes over 20,000 records in a fresh process: ~3 CPU-s
def test_no_quadratic_memory_inside_kernels():
    # tracemalloc does not see numba's own allocations: measure the peak RSS of a fresh process.
    code = (
        "import resource, numpy as np\n"
        "from segengine.metrics.silhouette import silhouette_score, silhouette_scores_multi\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(20000, 4)); labs = rng.integers(0, 6, (3, 20000))\n"
        "silhouette_score(X[:50], labs[0, :50])\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "silhouette_score(X, labs[0]); silhouette_scores_multi(X, labs)\n"
        "silhouette_scores_multi(X, labs, max_cells=1)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    grown_kib = int(out.stdout.strip().splitlines()[-1])
    assert grown_kib * 1024 < 20000 * 20000 * 8 / 20  # < 160 MB, vs 3.2 GB for the matrix


def test_each_pair_once_scheme_equals_two_sided_scheme(monkeypatch):
    # The exact path visits each pair once when the cells x points accumulator is small
    # enough; the two-sided path (each pair from both ends) must give the same values.
    X, _ = make_blobs(3000, 7, centers=4, random_state=5)
    labs = _labelings(8, 3000, [2, 4, 7])
    once = (silhouette_scores_multi(X, labs), silhouette_samples(X, labs[1]))
    monkeypatch.setattr(config, "SILHOUETTE_SYMMETRIC_MAX_BYTES", 0)
    twice = (silhouette_scores_multi(X, labs), silhouette_samples(X, labs[1]))
    np.testing.assert_allclose(once[0], twice[0], atol=1e-12)
    np.testing.assert_allclose(once[1], twice[1], atol=1e-12)
    np.testing.assert_allclose(once[1], skm.silhouette_samples(X, labs[1]), atol=1e-12)

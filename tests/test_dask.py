"""segengine.dask on a distributed.LocalCluster: the single-machine result, partition by partition.

Small clusters (2 workers, one thread each) and modest data keep the file to a few minutes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

import segengine.dask as sdask
from segengine import Segmenter
from segengine.datasets import load_demo_customers
from segengine.errors import ValidationError
from segengine.metrics.silhouette import silhouette_samples

ROOT = Path(__file__).resolve().parents[1]


def _ari(a: np.ndarray, b: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


@pytest.fixture(scope="module")
def threads_client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        yield client


def _demo_frame(n: int, seed: int = 1) -> pd.DataFrame:
    records, _ = load_demo_customers(n=n, random_state=seed)
    df = pd.DataFrame(records)
    return df.assign(last_purchase_date=pd.to_datetime(df["last_purchase_date"]))


def _numeric_frame(n: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0, 0], [6, 6, 0, 1], [0, 6, 6, -2], [5, 0, 5, 4]], dtype=float)
    lab = rng.integers(0, 4, size=n)
    X = centers[lab] + rng.normal(size=(n, 4)) * np.array([1.0, 1.5, 0.7, 1.2])
    df = pd.DataFrame(X, columns=["spend", "visits", "tenure", "score"])
    df.loc[rng.random(n) < 0.03, "visits"] = np.nan
    return df


def _fit(client, data, **options):
    with client.as_current():
        return sdask.fit(data, **options)


def _labels(client, model, ddf) -> np.ndarray:
    with client.as_current():
        return sdask.predict(model, ddf).compute().to_numpy()


# -- the same result as the single machine ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_pair(threads_client):
    # Above the 20,000 records from which the k search runs on a subsample: the Dask fit must
    # search on the same records and refine on all of them.
    df = _demo_frame(24_000)
    single = Segmenter(k_max=6, max_records=100_000).fit(df)
    ddf = dd.from_pandas(df, npartitions=3)
    model = _fit(threads_client, ddf, k_max=6)
    return df, ddf, single, model


def test_same_k_labels_and_centres_as_one_machine(threads_client, demo_pair):
    df, ddf, single, model = demo_pair
    assert model.n_clusters_ == single.n_clusters_
    assert model.algorithm_ == single.algorithm_
    assert isinstance(model, Segmenter)
    labels = _labels(threads_client, model, ddf)
    assert _ari(labels, single.labels_) >= 0.99
    np.testing.assert_allclose(model.centers_, single.centers_, rtol=1e-7, atol=1e-9)
    assert model.silhouette_scores_.keys() == single.silhouette_scores_.keys()
    for k, v in single.silhouette_scores_.items():
        assert model.silhouette_scores_[k] == pytest.approx(v, abs=1e-9)


def test_preprocessing_decisions_match_exactly(demo_pair):
    _, _, single, model = demo_pair
    a_fields, b_fields = single.preprocessor_.fields_, model.preprocessor_.fields_
    assert [f.name for f in a_fields] == [f.name for f in b_fields]
    for a, b in zip(a_fields, b_fields):
        assert (a.kind, a.used, a.reason, a.log1p, a.categories, a.n_distinct, a.date_reference) == \
               (b.kind, b.used, b.reason, b.log1p, b.categories, b.n_distinct, b.date_reference), a.name
        assert a.impute == b.impute, a.name  # exact median, not an estimate
        assert b.center == pytest.approx(a.center, rel=1e-9, abs=1e-9), a.name
        assert b.scale == pytest.approx(a.scale, rel=1e-9), a.name
    assert single.preprocessor_.notices_ == model.preprocessor_.notices_


def test_robust_scaling_quartiles_are_exact(threads_client):
    df = _numeric_frame(5_001).assign(spend=lambda f: np.round(f["spend"], 1))  # ties
    single = Segmenter(n_clusters=4, scaling="robust").fit(df)
    model = _fit(threads_client, dd.from_pandas(df, npartitions=4), n_clusters=4, scaling="robust")
    for a, b in zip(single.preprocessor_.fields_, model.preprocessor_.fields_):
        assert (a.impute, a.center, a.scale) == (b.impute, b.center, b.scale), a.name


def _same_keys(a, b, path="body"):
    """Every key of the single-machine body is in the distributed one, at every level."""
    if isinstance(a, dict):
        assert isinstance(b, dict), path
        missing = set(a) - set(b)
        assert not missing, f"{path}: {missing}"
        for key in a:
            if key in ("results", "profile", "scores", "standard_errors", "timings_ms"):
                continue
            _same_keys(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and a and b and isinstance(a[0], dict):
        _same_keys(a[0], b[0], f"{path}[0]")


def test_report_has_the_single_machine_shape_and_profiles(demo_pair):
    df, _, single, model = demo_pair
    r1, r2 = single.report(), model.report()
    _same_keys(r1, r2)
    assert r2["results"] == []
    assert r2["summary"]["n_records"] == len(df)
    assert [s["size"] for s in r2["segments"]] == [s["size"] for s in r1["segments"]]
    assert [s["name"] for s in r2["segments"]] == [s["name"] for s in r1["segments"]]
    assert r2["summary"]["features_used"] == r1["summary"]["features_used"]
    assert abs(r2["summary"]["silhouette"] - r1["summary"]["silhouette"]) < 0.03
    bound = r2["metadata"]["distributed"]["quantiles"]["max_rank_error"]
    assert 0 < bound < 0.01
    assert any("approximate" in w for w in r2["metadata"]["warnings"])
    labels = single.labels_
    for s1, s2 in zip(r1["segments"], r2["segments"]):
        for field, p1 in s1["profile"].items():
            p2 = s2["profile"][field]
            if "top" in p1:
                assert p2 == p1, field
                continue
            for stat in ("mean", "std", "min", "max", "lift", "effect_size", "missing_rate"):
                if p1[stat] is None:
                    assert p2[stat] is None
                else:
                    assert p2[stat] == pytest.approx(p1[stat], rel=2e-5, abs=1e-9), (field, stat)
            # Approximate quantiles: an order statistic of the segment within the stated rank bound.
            col = df[field]
            values = (col.to_numpy(dtype=float) if col.dtype.kind in "fib"
                      else single.table_.columns[[c.name for c in single.table_.columns].index(field)].values)
            v = np.sort(values[labels == s1["segment"]])
            v = v[~np.isnan(v)]
            slack = int(np.ceil(bound * v.size)) + 1
            for stat, q in (("p25", 0.25), ("median", 0.5), ("p75", 0.75)):
                h = q * (v.size - 1)
                lo = v[max(0, int(np.floor(h)) - slack)]
                hi = v[min(v.size - 1, int(np.ceil(h)) + slack)]
                assert lo * (1 - 1e-5) - 1e-9 <= p2[stat] <= hi * (1 + 1e-5) + 1e-9, (field, stat)


def test_sampled_silhouette_scored_against_all_records(threads_client):
    df = _numeric_frame(3_000)
    model = _fit(threads_client, dd.from_pandas(df, npartitions=3), n_clusters=4)
    body = model.report()
    # The broadcast sample holds 1,000 of the 3,000 records: compare with the exact values.
    single = Segmenter(n_clusters=4, silhouette="exact").fit(df)
    exact = silhouette_samples(single.X_, single.labels_).mean()
    assert body["summary"]["silhouette"] == pytest.approx(exact, abs=0.03)


# -- partitions -------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_identical_results_for_1_3_and_7_partitions(threads_client, algorithm):
    df = _numeric_frame(4_000)
    fits = [_fit(threads_client, dd.from_pandas(df, npartitions=p), k_max=6, algorithm=algorithm)
            for p in (1, 3, 7)]
    ref = fits[0]
    labels = [_labels(threads_client, m, dd.from_pandas(df, npartitions=3)) for m in fits]
    for m, lab in zip(fits[1:], labels[1:]):
        assert m.n_clusters_ == ref.n_clusters_ and m.algorithm_ == ref.algorithm_ == algorithm
        np.testing.assert_allclose(m.centers_, ref.centers_, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(m.segment_sizes_, ref.segment_sizes_)
        np.testing.assert_array_equal(lab, labels[0])
        for f1, f2 in zip(ref.preprocessor_.fields_, m.preprocessor_.fields_):
            assert (f1.used, f1.log1p, f1.impute) == (f2.used, f2.log1p, f2.impute)
    single = Segmenter(k_max=6, algorithm=algorithm).fit(df)
    assert single.n_clusters_ == ref.n_clusters_
    assert _ari(single.labels_, labels[0]) >= 0.99


def test_empty_partitions_change_nothing(threads_client):
    df = _numeric_frame(2_000)
    empty = df.iloc[:0]
    pieces = [empty, df.iloc[:700], empty, df.iloc[700:1500], empty, empty, df.iloc[1500:], empty]
    with_empty = dd.from_delayed([dask.delayed(p) for p in pieces], meta=empty)
    plain = dd.from_pandas(df, npartitions=3)
    a = _fit(threads_client, with_empty, n_clusters=4)
    b = _fit(threads_client, plain, n_clusters=4)
    np.testing.assert_allclose(a.centers_, b.centers_, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a.segment_sizes_, b.segment_sizes_)
    lab = _labels(threads_client, a, with_empty)
    assert lab.shape == (len(df),)
    np.testing.assert_array_equal(lab, _labels(threads_client, b, plain))


def test_an_emptied_segment_is_reseeded_not_dropped(threads_client):
    # Two far groups and a start with one centre between nothing: Lloyd empties it and the
    # refinement must move it to the farthest record, as the single-machine kernel does.
    from segengine.dask import _fit as fitmod, _refine

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 20.0])
    X = np.vstack([X, [[60.0, 60.0]]])
    xparts = [X[:200], X[200:450], X[450:]]
    run = fitmod._runner(xparts)
    init = np.array([[0.0, 0.0], [20.0, 20.0], [-500.0, -500.0]])
    with threads_client.as_current():
        centers, _ = _refine.lloyd(run, init, [0, 200, 450], tol=0.0, max_iter=50)
    from segengine.engines.kmeans import kmeans_fit

    ref = kmeans_fit(X, 3, init=init, n_init=1, max_iter=50, tol=0.0, x_sq_norms=np.einsum("ij,ij->i", X, X))
    np.testing.assert_allclose(centers, ref.centers, atol=1e-9)
    assert np.any(np.all(np.isclose(centers, [60.0, 60.0]), axis=1))


# -- processes, persistence and the README -----------------------------------------------------------


@pytest.mark.slow  # two worker processes start, import the stack and load the kernels
def test_processes_cluster_fit_save_load_predict(tmp_path):
    df = _demo_frame(3_000, seed=4)
    # Worker processes import segengine from the environment (PYTHONPATH or the installed package).
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        ddf = dd.from_pandas(df, npartitions=4)
        model = _fit(client, ddf, k_max=5)
        labels = _labels(client, model, ddf)
        path = tmp_path / "model.json"
        model.save(path)
        loaded = Segmenter.load(path)
        np.testing.assert_array_equal(_labels(client, loaded, ddf), labels)
    np.testing.assert_array_equal(loaded.predict(df), labels)
    single = Segmenter(k_max=5).fit(df)
    assert single.n_clusters_ == model.n_clusters_
    assert _ari(single.labels_, labels) >= 0.99


def _readme_lines() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Past one machine: Dask", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_five_lines_segment_a_parquet_dataset(threads_client, tmp_path, monkeypatch):
    code = _readme_lines()
    assert len([line for line in code.splitlines() if line.strip()]) == 5
    df = _demo_frame(2_500, seed=9)
    dd.from_pandas(df, npartitions=3).to_parquet(tmp_path / "customers")
    monkeypatch.chdir(tmp_path)
    with threads_client.as_current():
        exec(compile(code, "README.md", "exec"), {})
    out = pd.read_parquet(tmp_path / "segmented")
    assert len(out) == len(df)
    assert set(out["id"]) == set(df["id"])
    assert out["segment"].dtype == np.int64
    single = Segmenter(k_max=8).fit(df)
    assert out["segment"].nunique() == single.n_clusters_
    merged = df[["id"]].merge(out[["id", "segment"]], on="id")
    assert _ari(single.labels_, merged["segment"].to_numpy()) >= 0.99


# -- errors and imports -------------------------------------------------------------------------------


def test_bad_input_is_a_validation_error_naming_the_path(threads_client):
    df = _numeric_frame(300)
    df.loc[17, "spend"] = np.inf
    with pytest.raises(ValidationError) as err:
        _fit(threads_client, dd.from_pandas(df, npartitions=2), n_clusters=3)
    assert "data.17.spend" in err.value.details
    text = pd.DataFrame({"a": np.arange(100.0), "when": [f"2024-01-{1 + i % 28:02d}" for i in range(100)]})
    with pytest.raises(ValidationError) as err:
        _fit(threads_client, dd.from_pandas(text, npartitions=2), n_clusters=3)
    assert "data.when" in err.value.details
    with pytest.raises(ValidationError) as err:
        _fit(threads_client, dd.from_pandas(_numeric_frame(300), npartitions=2), features=["spend", "nope"])
    assert "options.features.1" in err.value.details
    with pytest.raises(ValidationError) as err:
        _fit(threads_client, dd.from_pandas(_numeric_frame(300), npartitions=2), kmax=4)
    assert "options.kmax" in err.value.details
    model = _fit(threads_client, dd.from_pandas(_numeric_frame(300), npartitions=2), n_clusters=3)
    wrong = _numeric_frame(50).assign(spend="high")
    with pytest.raises(ValidationError) as err:
        sdask.predict(model, dd.from_pandas(wrong, npartitions=1))
    assert "data.spend" in err.value.details


def test_import_segengine_does_not_import_dask():
    code = ("import segengine, segengine.dask, sys; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


# -- preprocessing decisions on edge-case fields, every scaling ----------------------------------


def _edge_frame(seed: int, n: int = 420) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "spend": rng.lognormal(3, 1.2, size=n),                       # skewed, non-negative: log1p
        "balance": -rng.lognormal(2, 1.0, size=n),                    # skewed, negative: no log
        "visits": rng.integers(0, 9, size=n).astype(float),           # ties
        "flat": np.full(n, 7.0),                                       # constant
        "nothing": np.full(n, np.nan),                                 # no value at all
        "member": rng.random(n) < 0.3,                                 # binary
        "channel": rng.choice(["web", "store", "app"], size=n, p=[0.5, 0.3, 0.2]),
        "only": np.array(["x"] * n, dtype=object),                    # one level
        "email": np.array([f"u{i}@x.org" for i in range(n)], dtype=object),  # high cardinality
        "joined": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, size=n), unit="D"),
    })
    df.loc[rng.random(n) < 0.1, "spend"] = np.nan
    df.loc[rng.random(n) < 0.05, "visits"] = np.nan
    df.loc[rng.random(n) < 0.08, "channel"] = None
    return df


@pytest.mark.parametrize("scaling", ["auto", "standard", "robust", "minmax", "none"])
@pytest.mark.parametrize("seed", [0, 1])
def test_preprocessing_decisions_on_edge_fields(scaling, seed):
    df = _edge_frame(seed)
    single = Segmenter(n_clusters=3, scaling=scaling, exclude=["balance"]).fit(df)
    with dask.config.set(scheduler="sync"):
        model = sdask.fit(dd.from_pandas(df, npartitions=3), n_clusters=3, scaling=scaling, exclude=["balance"])
    for a, b in zip(single.preprocessor_.fields_, model.preprocessor_.fields_, strict=True):
        assert (a.name, a.kind, a.used, a.reason, a.log1p, a.categories, a.n_distinct) == \
               (b.name, b.kind, b.used, b.reason, b.log1p, b.categories, b.n_distinct)
        assert a.impute == b.impute or (a.impute is None and b.impute is None), a.name
        assert b.center == pytest.approx(a.center, rel=1e-9, abs=1e-9), a.name
        assert b.scale == pytest.approx(a.scale, rel=1e-9), a.name
    assert single.preprocessor_.notices_ == model.preprocessor_.notices_
    assert model.n_clusters_ == single.n_clusters_


def test_dask_array_input_is_numbered_fields(threads_client):
    import dask.array as da

    X = _numeric_frame(1_500).to_numpy()
    model = _fit(threads_client, da.from_array(X, chunks=(500, 4)), n_clusters=4)
    assert model.preprocessor_.used_fields_ == ["x0", "x1", "x2", "x3"]
    single = Segmenter(n_clusters=4).fit(X)
    np.testing.assert_allclose(model.centers_, single.centers_, rtol=1e-7, atol=1e-9)
    with threads_client.as_current():
        labels = sdask.predict(model, da.from_array(X, chunks=(700, 4))).compute().to_numpy()
    np.testing.assert_array_equal(labels, single.labels_)

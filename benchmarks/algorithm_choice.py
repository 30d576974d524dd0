"""Evidence for the algorithm="auto" rule (KMeans versus Gaussian mixture), printed as a table.

For each dataset with known classes: the k chosen by silhouette, the BIC gain of the mixture over
the KMeans-implied equal-variance spherical mixture (nats per record), and the adjusted Rand index
of KMeans and of the mixture against the truth. Run: python benchmarks/algorithm_choice.py
"""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skd
from sklearn.metrics import adjusted_rand_score

import segengine as se
from segengine.datasets import load_demo_customers, make_numeric_customers


def _sets():
    rng = np.random.default_rng(0)
    X, y = skd.make_blobs(n_samples=3000, centers=4, cluster_std=1.0, random_state=1)
    yield "blobs (round, equal)", X, y
    X, y = skd.make_blobs(n_samples=3000, centers=4, cluster_std=[0.5, 1.0, 2.0, 3.0], random_state=2)
    yield "blobs (unequal variance)", X, y
    X, y = skd.make_blobs(n_samples=3000, centers=3, random_state=170)
    yield "anisotropic (elongated)", X @ np.array([[0.6, -0.6], [-0.4, 0.8]]), y
    Z = np.vstack([rng.normal(size=(1500, 2)) * [6.0, 0.5] + [0, 0], rng.normal(size=(1500, 2)) * [6.0, 0.5] + [0, 3]])
    yield "parallel elongated", Z, np.repeat([0, 1], 1500)
    d = skd.load_iris()
    yield "iris", d.data, d.target
    d = skd.load_wine()
    yield "wine", d.data, d.target
    d = skd.load_breast_cancer()
    yield "breast cancer", d.data, d.target
    recs, y = make_numeric_customers(n=5000, n_features=10, random_state=1)
    yield "numeric customers 5k x 10", np.array([[r[f"f{j}"] for j in range(10)] for r in recs]), y
    recs, y = load_demo_customers(n=5000)
    cols = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_months"]
    X = np.array([[np.nan if r[c] is None else r[c] for c in cols] for r in recs], dtype=float)
    yield "demo customers (numeric fields)", X, y


def main() -> None:
    print(f"{'dataset':<34}{'k':>3}{'true k':>7}{'dBIC/rec':>10}{'ARI km':>8}{'ARI gmm':>9}{'chosen':>8}")
    for name, X, y in _sets():
        seg = se.Segmenter(algorithm="gmm").fit(X)
        km = se.Segmenter(algorithm="kmeans").fit(X)
        auto = se.Segmenter(algorithm="auto").fit(X)
        delta = seg.algorithm_evidence_.get("delta_bic_per_record", float("nan"))
        print(f"{name:<34}{seg.n_clusters_:>3}{len(np.unique(y)):>7}{delta:>10.3f}"
              f"{adjusted_rand_score(y, km.labels_):>8.3f}{adjusted_rand_score(y, seg.labels_):>9.3f}"
              f"{auto.algorithm_:>8}")


if __name__ == "__main__":
    main()

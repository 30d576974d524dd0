"""End-to-end and per-stage benchmarks of the segmentation report (pytest-benchmark).

Run with::

    pytest benchmarks/bench_report.py -p no:cacheprovider -o python_files='bench_*.py' --benchmark-only

Stages, on the same 10,000 x 10 numeric payload: parsing/validation (request + typed columns),
preprocessing, k search, final model (mixture fit and per-record probabilities), profiling +
text, response building; end to end at 1k, 10k and 100k; and the same job written with
scikit-learn (scale, then KMeans + silhouette_score + GaussianMixture for k = 2..10), so the ratio
comes from one run. `benchmarks/check.py` prints the contract table from the same measurements.
"""

from __future__ import annotations

import numpy as np
import pytest

import segengine as se
from segengine.datasets import make_numeric_customers
from segengine.engines.gmm_estimator import estimator_from_partition
from segengine.options import SegmentationOptions
from segengine.preprocessing import Preprocessor
from segengine.request import parse_request
from segengine.selection import select_k
from segengine.table import table_from_records

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def payload_10k():
    records, _ = make_numeric_customers(n=10_000, n_features=10, random_state=1)
    body = {"data": records}
    se.segmentation_report(body)  # warm the JIT and the caches of this shape
    return body


@pytest.fixture(scope="module")
def stages(payload_10k):
    table = table_from_records(payload_10k["data"])
    X = Preprocessor(SegmentationOptions()).fit_transform(table)
    sel = select_k(X)
    return table, X, sel


def test_stage_parse_and_validate(benchmark, payload_10k):
    benchmark(lambda: table_from_records(parse_request(payload_10k).records))


def test_stage_preprocessing(benchmark, stages):
    table, _, _ = stages
    benchmark(lambda: Preprocessor(SegmentationOptions()).fit_transform(table))


def test_stage_k_search(benchmark, stages):
    _, X, _ = stages
    benchmark(lambda: select_k(X))


def test_stage_final_model(benchmark, stages):
    _, X, sel = stages
    labels = sel.fits[sel.k].labels
    benchmark(lambda: estimator_from_partition(X, labels, sel.k).predict_proba(X))


def test_stage_profiling_and_text(benchmark, payload_10k):
    from segengine.model import field_columns
    from segengine.profiling import profile_segments
    from segengine.text.insights import segment_texts, summary_insights

    seg = se.Segmenter().fit(payload_10k["data"])
    cols = list(field_columns(seg.preprocessor_, seg.table_))

    def run():
        prof = profile_segments(cols, seg.labels_, seg.n_clusters_)
        return segment_texts(prof, cols, "en"), summary_insights(prof, cols, "en")

    benchmark(run)


def test_stage_response_building(benchmark, payload_10k):
    seg = se.Segmenter().fit(payload_10k["data"])
    seg.report("en")  # profiles and silhouettes cached: what is left is assembling the body
    benchmark(lambda: seg.report("en"))


@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_report_end_to_end(benchmark, n):
    records, _ = make_numeric_customers(n=n, n_features=10, random_state=1)
    body = {"data": records}
    se.segmentation_report(body)
    benchmark.pedantic(lambda: se.segmentation_report(body), rounds=5 if n > 10_000 else 15, iterations=1)


def test_sklearn_pipeline_10k(benchmark, payload_10k):
    """The same job written with scikit-learn, for the ratio (one round: it takes seconds)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import StandardScaler

    records = payload_10k["data"]
    X = np.array([[r[f"f{j}"] for j in range(10)] for r in records], dtype=float)

    def run():
        Z = StandardScaler().fit_transform(X)
        scores = {}
        for k in range(2, 11):
            labels = KMeans(n_clusters=k, n_init=1, random_state=0).fit_predict(Z)
            scores[k] = silhouette_score(Z, labels)
            GaussianMixture(n_components=k, random_state=0).fit(Z)
        return max(scores, key=scores.get)

    benchmark.pedantic(run, rounds=1, iterations=1)

"""segengine: numerical customer segmentation with automatic k, numba engines and localized insights.

>>> import segengine as se
>>> records, truth = se.datasets.load_demo_customers(n=2000)
>>> report = se.segmentation_report({"data": records}, language="pt")

Heavy modules (the estimators, which import scikit-learn) load on first use, so that importing
segengine in a service stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from segengine._version import __version__
from segengine.errors import (
    InvalidRequestError,
    ModelFileError,
    NotFittedError,
    SegEngineError,
    ServiceError,
    ValidationError,
)

__all__ = [
    "__version__",
    "segmentation_report",
    "handle_request",
    "Segmenter",
    "KMeans",
    "GaussianMixture",
    "silhouette_score",
    "silhouette_samples",
    "select_k",
    "datasets",
    "SegEngineError",
    "InvalidRequestError",
    "ValidationError",
    "ServiceError",
    "ModelFileError",
    "NotFittedError",
    "ScoringFieldsWarning",
]

_LAZY = {
    "segmentation_report": ("segengine.api", "segmentation_report"),
    "handle_request": ("segengine.api", "handle_request"),
    "Segmenter": ("segengine.segmenter", "Segmenter"),
    "KMeans": ("segengine.engines.kmeans_estimator", "KMeans"),
    "GaussianMixture": ("segengine.engines.gmm_estimator", "GaussianMixture"),
    "silhouette_score": ("segengine.metrics.silhouette", "silhouette_score"),
    "silhouette_samples": ("segengine.metrics.silhouette", "silhouette_samples"),
    "select_k": ("segengine.selection", "select_k"),
    "datasets": ("segengine.datasets", None),
    "ScoringFieldsWarning": ("segengine.scoring_checks", "ScoringFieldsWarning"),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'segengine' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

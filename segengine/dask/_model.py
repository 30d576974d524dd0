"""The Segmenter a Dask fit returns, and its report (the single-machine shape, no per-record list).

:class:`DistributedSegmenter` is a :class:`~segengine.segmenter.Segmenter`: ``predict``,
``predict_proba``, ``score_report``, ``save`` and ``Segmenter.load`` work as on one machine. Its
records stay on the cluster, so :meth:`report` is assembled from the distributed profiles: the
same keys, segments, summary and metadata, with an empty ``results`` list (a warning says so and
names :func:`segengine.dask.predict`) and the approximate quantiles marked in the metadata.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from segengine._version import __version__
from segengine.segmenter import Segmenter

__all__ = ["DistributedSegmenter"]


class DistributedSegmenter(Segmenter):
    """A Segmenter fitted by :func:`segengine.dask.fit` (same parameters and fitted attributes).

    Extra attributes
    ----------------
    n_records_ : int
        Records the model was fitted on.
    segment_sizes_ : numpy.ndarray
        Exact records per segment.
    quantile_rank_error_ : float
        Largest rank error of the reported medians and quartiles, as a share of a segment's records.
    distributed_ : dict
        Partitions and passes.
    """

    def report(self, language: str = "en", *, include_metadata: bool = True) -> dict[str, Any]:
        """The segmentation report of the records the model was fitted on.

        Parameters
        ----------
        language : str
            "en", "es" or "pt".
        include_metadata : bool
            Add the ``metadata`` block.

        Returns
        -------
        dict
            ``results`` (empty: the records stay on the cluster), ``segments``, ``summary`` and,
            on request, ``metadata``.
        """
        from segengine.text.language import normalize_language

        self._check_fitted()
        if not hasattr(self, "profiles_"):
            return super().report(language, include_metadata=include_metadata)
        return _build(self, normalize_language(language), include_metadata)


def _r(x: Any, digits: int = 4) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if np.isfinite(x) else None


def _build(seg: DistributedSegmenter, language: str, include_metadata: bool) -> dict[str, Any]:
    from segengine.profiling import FieldColumn
    from segengine.report import _roles_metadata, render_notices, rounded_shares
    from segengine.text.insights import segment_texts, summary_insights

    t0 = time.perf_counter()
    k = seg.n_clusters_
    columns = [FieldColumn(name, kind, np.zeros(0), used) for name, kind, used in seg.field_kinds_ if kind != "empty"]
    profiles = seg.profiles_
    roles, naming = dict(seg.options_.roles), seg.options_.naming
    texts = segment_texts(profiles, columns, language, roles, naming)
    overall_sil, per_sil = seg.segment_silhouettes_
    names = [t["name"] for t in texts]
    n = int(seg.n_records_)
    sizes = seg.segment_sizes_
    segments = []
    shares = rounded_shares(sizes)
    stability = getattr(seg, "stability_", None)
    for j in range(k):
        segments.append({
            "segment": j,
            "name": names[j],
            "size": int(sizes[j]),
            "share": shares[j],
            "silhouette": per_sil[j],
            "stability": None if stability is None or j >= len(stability) else _r(stability[j]),
            "profile": profiles.profiles[j],
            "characteristics": texts[j]["characteristics"],
            "insights": texts[j]["insights"],
        })
    summary = {
        "n_records": n,
        "n_segments": k,
        "algorithm": seg.algorithm_,
        "silhouette": overall_sil,
        "features_used": seg.preprocessor_.used_fields_,
        "insights": summary_insights(profiles, columns, language, roles, naming),
    }
    body: dict[str, Any] = {"results": [], "segments": segments, "summary": summary}
    t1 = time.perf_counter()
    if include_metadata:
        notices = list(seg.notices_) + [("warn_dask_results", {"n": n})]
        if seg.quantile_rank_error_ > 0:
            notices.append(("warn_dask_quantiles", {"pct": f"{100.0 * seg.quantile_rank_error_:.2g}%"}))
        timings = {key: int(round(v)) for key, v in seg.timings_ms_.items()}
        timings["response"] = int(round((t1 - t0) * 1000.0))
        evidence = {key: (_r(v, 6) if isinstance(v, float) else v) for key, v in seg.algorithm_evidence_.items()}
        body["metadata"] = {
            "model_version": __version__,
            "processing_time_ms": int(round((time.perf_counter() - seg.fit_started_) * 1000.0)),
            "random_state": seg.options_.random_state,
            "k_selection": seg.selection_.to_dict(),
            "algorithm_selection": evidence,
            "preprocessing": [
                {"field": f.name, "kind": f.kind, "used": f.used, "reason": f.reason, "log1p": f.log1p}
                for f in seg.preprocessor_.fields_
            ],
            "timings_ms": timings,
            "warnings": render_notices(notices, language),
            "stability": getattr(seg, "stability_info_", None),
            "distributed": dict(seg.distributed_, quantiles={
                "approximate": ["median", "p25", "p75"],
                "max_rank_error": round(float(seg.quantile_rank_error_), 6),
            }),
        }
        body["metadata"].update(_roles_metadata(profiles, columns, roles, naming))
    return body

"""The Segmenter a Dask fit returns, and its report (the single-machine shape, no per-record list).

:class:`DistributedSegmenter` is a :class:`~segengine.segmenter.Segmenter`: ``predict``,
``predict_proba``, ``score_report``, ``save`` and ``Segmenter.load`` work as on one machine. Its
records stay on the cluster, so :meth:`report` is assembled from the distributed profiles: the
same keys, segments, summary and metadata, with an empty ``results`` list (a warning says so and
names :func:`segengine.dask.predict`) and the approximate quantiles marked in the metadata.
"""

from __future__ import annotations

from typing import Any

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


def _build(seg: DistributedSegmenter, language: str, include_metadata: bool) -> dict[str, Any]:
    """The report of the distributed fit.

    :func:`segengine.report.build_report` of the model and the batch of counts, with the profiles
    and silhouettes merged on the cluster.
    """
    from dataclasses import replace

    from segengine.report import ReportInputs, build_report

    batch = seg._batch
    n = batch.size
    notices = [("warn_dask_results", {"n": n})]
    if seg.quantile_rank_error_ > 0:
        notices.append(("warn_dask_quantiles", {"pct": f"{100.0 * seg.quantile_rank_error_:.2g}%"}))
    overall_sil, per_sil = seg.segment_silhouettes_
    inputs = ReportInputs(seg.profiles_, overall_sil, list(per_sil))
    distributed = dict(seg.distributed_, quantiles={
        "approximate": ["median", "p25", "p75"],
        "max_rank_error": round(float(seg.quantile_rank_error_), 6),
    })
    # A local batch with the cluster's notices: the fitted one is left as it is.
    return build_report(seg.model_, replace(batch, notices=batch.notices + tuple(notices)), language,
                        include_metadata=include_metadata, inputs=inputs,
                        extra_metadata={"distributed": distributed})

"""Segmentation past one machine: the segengine pipeline on a Dask cluster (extra ``[dask]``).

>>> import dask.dataframe as dd
>>> import segengine.dask
>>> ddf = dd.read_parquet("customers/")                      # doctest: +SKIP
>>> model = segengine.dask.fit(ddf, k_max=8)                 # doctest: +SKIP
>>> ddf.assign(segment=segengine.dask.predict(model, ddf)).to_parquet("segmented/")  # doctest: +SKIP

The records never come to the driver: preprocessing statistics are merged from per-partition
summaries, k is chosen by the single-machine search on the seeded sample of records it would
draw itself, the chosen k is refined on every record by Lloyd (and EM) passes whose per-partition
sums come from segengine's numba kernels, and profiles come from one more labelling pass. See the
README section "Past one machine: Dask" for the cost of every pass.

``import segengine`` never imports this module (nor dask).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from segengine.concurrency import guarded
from segengine.dask._model import DistributedSegmenter
from segengine.errors import ValidationError
from segengine.segmenter import Segmenter
from segengine.text.error_messages import error_text

__all__ = ["fit", "predict", "DistributedSegmenter"]


def fit(data: Any, *, language: str = "en", **options: Any) -> DistributedSegmenter:
    """Segment a Dask collection with the Segmenter pipeline.

    Parameters
    ----------
    data : dask.dataframe.DataFrame or dask.array.Array
        The customers, one record per row (a 2-D array gives fields ``x0, x1, ...``). Column
        dtypes decide field kinds: numbers -> numeric, booleans -> binary, datetimes -> date,
        text / category -> categorical. Dates held as text must be parsed first.
    language : str
        Language of error sentences.
    **options
        The parameters of :class:`~segengine.segmenter.Segmenter` (``n_clusters``, ``k_min``,
        ``k_max``, ``algorithm``, ``covariance_type``, ``features``, ``exclude``, ``id_field``,
        ``scaling``, ``max_categories``, ``random_state``, ``silhouette``, ``time_budget_ms``,
        ``n_init``), in snake_case or camelCase. ``max_records`` does not limit a distributed fit.

    Returns
    -------
    DistributedSegmenter
        A fitted :class:`~segengine.segmenter.Segmenter`: ``report()`` (same shape as on one
        machine, without the per-record ``results``), ``predict``, ``save`` / ``Segmenter.load``.

    Raises
    ------
    ValidationError
        Invalid options or data (with the path of each problem).
    """
    from segengine.dask._fit import as_dataframe, fit_frame
    from segengine.errors import localized_errors
    from segengine.options import canonical_option_name, parse_options, seed_from_random_state

    started = time.perf_counter()
    # random_state None / RandomState: one integer seed for the whole fit, as Segmenter.fit.
    seeded = {k: (seed_from_random_state(v) if canonical_option_name(str(k)) == "random_state" else v)
              for k, v in options.items()}
    # Errors below carry message keys; they leave here in the caller's language.
    with localized_errors(language):
        # Unknown or misspelt options are a 422-style error naming them (``options.kmax``), as in a request.
        opts = parse_options(seeded, prefix="options.")
        seg = DistributedSegmenter(**{canonical_option_name(str(k)): v for k, v in options.items()})
        return fit_frame(as_dataframe(data), opts, language=language, started=started, seg=seg)


def _fitted_specs(model: Segmenter, meta: Any, language: str):
    from segengine.dask._columns import FieldSpec, field_specs

    by_name = {s.name: s for s in field_specs(meta, model.options_.id_field, language)}
    wanted = {"numeric": "must_be_number", "binary": "must_be_boolean", "categorical": "must_be_string",
              "date": "must_be_date"}
    specs, details = [], {}
    for f in model.preprocessor_.fields_:
        if f.kind not in wanted or f.name not in by_name:
            continue
        spec = by_name[f.name]
        # Integers and floats are both numbers; anything else must keep its fitted kind.
        if spec.kind != f.kind:
            details[f"data.{f.name}"] = error_text(language, wanted[f.kind], field=f.name)
            continue
        specs.append(FieldSpec(f.name, f.kind, spec.column))
    if details:
        raise ValidationError(error_text(language, "validation_failed"), details)
    if not {s.name for s in specs} & set(model.preprocessor_.used_fields_):
        raise ValidationError(error_text(language, "validation_failed"),
                              {"data": error_text(language, "no_model_fields",
                                                  fields=", ".join(model.preprocessor_.used_fields_))})
    return specs


def _reference_days(model: Segmenter) -> dict[str, float]:
    from datetime import datetime

    out = {}
    for f in model.preprocessor_.fields_:
        if f.kind == "date" and f.date_reference:
            out[f.name] = (datetime.fromisoformat(f.date_reference) - datetime(1970, 1, 1)).total_seconds() / 86400.0
    return out


@guarded
def _label_partition(pdf: Any, scorer: Segmenter, specs: list, latest: dict, language: str) -> Any:
    import pandas as pd

    from segengine.dask._columns import partition_columns
    from segengine.dask._profiles import model_labels
    from segengine.table import Table

    columns, errors = partition_columns(pdf, specs, latest=latest, language=language, check=True)
    if errors:
        raise ValidationError(error_text(language, "validation_failed"), errors)
    table = Table(ids=[""] * len(pdf), columns=columns, id_from_index=True)
    if len(pdf) == 0:
        labels = np.zeros(0, np.int64)
    else:
        X = scorer.preprocessor_.transform(table)
        labels = model_labels(scorer, X)
    return pd.Series(labels.astype(np.int64), index=pdf.index, name="segment")


def predict(model: Segmenter, data: Any, *, language: str = "en") -> Any:
    """Segment of every record of a Dask collection, labelled partition by partition.

    Nothing is collected: the result is a lazy Dask Series (``int64``, named ``segment``) with
    the partitions and index of ``data``, to be assigned to the frame and written out.

    Parameters
    ----------
    model : Segmenter
        Fitted on one machine, by :func:`fit`, or loaded with ``Segmenter.load``.
    data : dask.dataframe.DataFrame or dask.array.Array
        Records with the fields of the model (fields unknown to it are ignored, absent ones
        imputed, unseen levels encoded as missing).
    language : str
        Language of error sentences.

    Returns
    -------
    dask.dataframe.Series
    """
    import pandas as pd

    from segengine.dask._fit import as_dataframe, scoring_copy

    model._check_fitted()
    ddf = as_dataframe(data)
    specs = _fitted_specs(model, ddf._meta, language)
    scorer = scoring_copy(model)
    meta = pd.Series(np.zeros(0, np.int64), index=ddf._meta.index, name="segment")
    return ddf.map_partitions(_label_partition, scorer, specs, _reference_days(model), language, meta=meta)

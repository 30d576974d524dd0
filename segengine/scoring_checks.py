"""What scoring new records with a fitted model had to make up: fields absent, null or missing.

A used field that the scored records lack is imputed as at fit time, so every such record is
placed by the other fields alone; dropping two strong fields silently moved thousands of labels
on a real table. Scoring therefore says so: in the scored report's ``metadata.warnings`` (absent,
all-null and partly missing fields, with the number of records affected) and, for absent and
all-null fields, from :meth:`segengine.Segmenter.predict` / ``predict_proba`` as a
:class:`ScoringFieldsWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["ScoringFieldsWarning", "scoring_notices", "warn_scoring"]


class ScoringFieldsWarning(UserWarning):
    """Fields the model was fitted on are absent, all null or partly missing in the scored records."""


def _missing_count(col: Any) -> int:
    values = col.values
    if col.kind == "empty":
        return int(values.shape[0]) if hasattr(values, "shape") else len(values)
    if col.kind == "categorical":
        return int(sum(1 for v in values if v is None or (isinstance(v, float) and v != v)))
    return int(np.count_nonzero(np.isnan(np.asarray(values, dtype=np.float64))))


def scoring_notices(fields: Iterable[Any], table: Any) -> list[tuple[str, dict]]:
    """Warnings, as ``(catalogue key, params)``, about the model's used fields in ``table``.

    Parameters
    ----------
    fields : iterable of FieldTransform
        The fitted preprocessor's fields (only ``used`` ones matter).
    table : Table
        The scored records' typed columns.

    Returns
    -------
    list of tuple
        ``warn_scoring_absent`` (field not in any record), ``warn_scoring_all_null`` (null in
        every record) and ``warn_scoring_missing`` (null in some records), with the number of
        records affected.
    """
    n = int(table.n_rows)
    if n == 0:
        return []
    by_name = {c.name: c for c in table.columns}
    out: list[tuple[str, dict]] = []
    for f in fields:
        if not f.used:
            continue
        col = by_name.get(f.name)
        if col is None:
            out.append(("warn_scoring_absent", {"field": f.name, "n": n}))
            continue
        missing = _missing_count(col)
        if missing >= n:
            out.append(("warn_scoring_all_null", {"field": f.name, "n": n}))
        elif missing:
            out.append(("warn_scoring_missing", {"field": f.name, "n": missing, "total": n}))
    return out


def warn_scoring(notices: list[tuple[str, dict]], language: str = "en", stacklevel: int = 3) -> None:
    """Emit one :class:`ScoringFieldsWarning` per absent or all-null field, in ``language``.

    Parameters
    ----------
    notices : list of tuple
        From :func:`scoring_notices`.
    language : str
        Language of the sentences.
    stacklevel : int
        Passed to :func:`warnings.warn` (3 points at the caller of ``predict``).
    """
    from segengine.text.msg import Msg

    for key, params in notices:
        if key == "warn_scoring_missing":
            # Some missing values are ordinary (the fit imputed them too); said in the scored
            # report's warnings, not raised on every predict call.
            continue
        warnings.warn(Msg(key, **params).render(language), ScoringFieldsWarning, stacklevel=stacklevel)

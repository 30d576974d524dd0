"""The caller's own records, handed back with their segment, its name and its probabilities.

:meth:`segengine.Segmenter.assign` answers "which segment is each of my customers in?" in the
caller's terms: a DataFrame comes back as a copy of that DataFrame (same index, same id column
and dtype, same column order) with columns added; records come back as new records with keys
added. Nothing the caller passed is modified.

Added columns / keys:

* ``segment`` (int): what :meth:`~segengine.Segmenter.predict` gives;
* ``segment_name`` (str): the segment's name in the report, in the requested language;
* ``proba_<name>`` (float), one per segment in segment order: what
  :meth:`~segengine.Segmenter.predict_proba` gives, named after the segment (see
  :func:`probability_columns`). Each row's probabilities sum to 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ADDED_COLUMNS", "assign_segments", "probability_columns", "segment_names"]

ADDED_COLUMNS = ("segment", "segment_name")
PROBA_PREFIX = "proba_"


def _slug(name: str) -> str:
    """ASCII snake case: "Em risco" -> "em_risco", "Campeões" -> "campeoes"."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^0-9a-z]+", "_", ascii_text.lower()).strip("_")


def probability_columns(names: Sequence[str]) -> list[str]:
    """One column name per segment: ``proba_`` and the slugged segment name.

    Names that slug to nothing (only punctuation) or to a slug another segment also has get
    the segment number instead / as a suffix (``proba_3``, ``proba_loyal_1``,
    ``proba_loyal_4``), so the names are unique and each still says which segment it is.

    Parameters
    ----------
    names : sequence of str
        Segment names in segment order.

    Returns
    -------
    list of str
    """
    slugs = [_slug(str(n)) for n in names]
    counts: dict[str, int] = {}
    for s in slugs:
        counts[s] = counts.get(s, 0) + 1
    out = []
    for j, s in enumerate(slugs):
        if not s:
            out.append(f"{PROBA_PREFIX}{j}")
        elif counts[s] > 1:
            out.append(f"{PROBA_PREFIX}{s}_{j}")
        else:
            out.append(f"{PROBA_PREFIX}{s}")
    # A suffixed slug can still meet another segment's own slug ("loyal_1"): number them all.
    if len(set(out)) < len(out):
        out = [f"{PROBA_PREFIX}{j}_{s}" if s else f"{PROBA_PREFIX}{j}" for j, s in enumerate(slugs)]
    return out


def segment_names(seg: Any, X: Any, language: str) -> list[str]:
    """The report's segment names, in segment order.

    A Segmenter fitted in this process names its segments from its training records (the names
    of :meth:`~segengine.Segmenter.report`, cached per language until the next fit). A model
    loaded from a file holds no records: its names are then those of
    :meth:`~segengine.Segmenter.score_report` on ``X``, i.e. from the records being assigned.

    Parameters
    ----------
    seg : Segmenter
        Fitted.
    X : DataFrame, list of dict or 2-D array
        The records being assigned (used only by a loaded model).
    language : str
        "en", "es" or "pt".

    Returns
    -------
    list of str
    """
    from segengine.errors import NotFittedError
    from segengine.text.language import normalize_language

    language = normalize_language(language)
    cache = seg.__dict__.get("_segment_names_cache")
    if cache is None or cache[0] is not seg.labels_:
        cache = (seg.labels_, {})  # labels_ is a new array after every fit
        seg._segment_names_cache = cache
    if language in cache[1]:
        return list(cache[1][language])
    try:
        body = seg.report(language, include_metadata=False)
    except NotFittedError:  # loaded from a file: no training records to name segments from
        body = seg.score_report(X, language, include_metadata=False)
        return [s["name"] for s in body["segments"]]
    names = [s["name"] for s in body["segments"]]
    cache[1][language] = names
    return list(names)


def assign_segments(seg: Any, X: Any, *, language: str = "en") -> Any:
    """Segment, segment name and named probabilities for each of the caller's records.

    Parameters
    ----------
    seg : Segmenter
        Fitted.
    X : pandas.DataFrame, list of dict or 2-D array
        Customers, in the same fields as at fit time. Never modified.
    language : str
        Language of the segment names.

    Returns
    -------
    pandas.DataFrame or list of dict
        A DataFrame for a DataFrame: a copy with the caller's index, columns, dtypes (an int id
        column stays int) and the added columns at the end; columns of the same names are
        replaced, as ``DataFrame.assign`` does. A list of new dicts for a list of dicts
        (each record's keys first, values untouched; no pandas needed). A DataFrame with
        columns ``x0, x1, ...`` for a 2-D array (needs pandas).

    Raises
    ------
    ImportError
        A 2-D array without pandas installed.
    InvalidRequestError
        No record at all.
    ValidationError
        Records the model cannot score (see ``predict``).
    """
    records = isinstance(X, (list, tuple)) and (len(X) == 0 or isinstance(X[0], dict))
    frame = hasattr(X, "columns") and hasattr(X, "iloc")
    if not (records or frame):
        pd = _import_pandas()
        arr = np.asarray(X)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        X = pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])] if arr.ndim == 2 else None)
        frame = True
    if len(X) == 0:
        # Refused as predict refuses an empty list of records, with the same typed error (an
        # empty DataFrame would otherwise fail inside the frame reader).
        seg.predict_proba([], language=language)
    proba = np.asarray(seg.predict_proba(X, language=language), dtype=np.float64)
    # predict's rule: the most probable segment (segengine.Segmenter.predict)
    labels = proba.argmax(axis=1).astype(np.int64)
    names = segment_names(seg, X, language)
    columns = probability_columns(names)
    if frame:
        added: dict[str, Any] = {
            "segment": labels,
            "segment_name": np.asarray(names, dtype=object)[labels],
        }
        for j, column in enumerate(columns):
            added[column] = proba[:, j]
        return X.assign(**added)
    out = []
    for record, label, row in zip(X, labels.tolist(), proba.tolist()):
        item = dict(record)
        item["segment"] = label
        item["segment_name"] = names[label]
        item.update(zip(columns, row))
        out.append(item)
    return out


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "Segmenter.assign on an array returns a pandas DataFrame: install the pandas extra "
            "(pip install 'segengine[pandas]'), or pass a list of dicts to get records back."
        ) from None
    return pandas

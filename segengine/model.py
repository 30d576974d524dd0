"""The two values the pipeline hands on: a fitted model and a batch of records scored by it.

:class:`FittedModel` is everything a fit learned (preprocessing, algorithm, centres and mixture
parameters, the evidence behind k and the algorithm, stability): it is what a model file holds,
and nothing else is saved. :class:`ScoredBatch` is one set of records seen through a model (the
training records or new ones): ids, segments, memberships, confidences, notices and timings.
A report (:func:`segengine.report.build_report`) is a pure function of the two.

Both are frozen. Their numpy arrays that only numpy code reads are made read-only; the arrays
numba kernels receive (the model matrix, the labels, the mixture parameters) stay writable,
because numba compiles a separate specialisation for read-only arrays (a cold compile on the
first report after every fit would be the price).

Scoring lives here too: membership probabilities, the label rule and the confidence of a record
are properties of a model, the same at fit time and for new records.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from segengine.engines import memberships as mb
from segengine.options import SegmentationOptions
from segengine.preprocessing import Preprocessor

__all__ = [
    "FittedModel", "MixtureParameters", "SavedSelection", "ScoredBatch", "field_columns",
    "label_records", "load_model", "membership_matrix", "record_confidence", "save_model", "score_table",
]

Notice = tuple  # (catalogue key, params): rendered in the caller's language at report time


def _read_only(a: Any, dtype: Any = np.float64) -> np.ndarray:
    """A C-contiguous read-only copy of ``a`` (the caller's array stays writable).

    An array that is already read-only, C-contiguous and of ``dtype`` is kept as it is
    (``dataclasses.replace``).
    """
    if isinstance(a, np.ndarray) and not a.flags.writeable and a.flags.c_contiguous and a.dtype == dtype:
        return a
    out = np.array(a, dtype=dtype, copy=True, order="C")
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class MixtureParameters:
    """The Gaussian mixture of a model whose algorithm is ``"gmm"``, in segment order.

    Attributes
    ----------
    covariance_type : str
    weights : numpy.ndarray of shape (k,)
    means : numpy.ndarray of shape (k, d)
    precisions_cholesky : numpy.ndarray
        In the layout of ``GaussianMixture.precisions_cholesky_`` (shared for ``"tied"``).
    """

    covariance_type: str
    weights: np.ndarray
    means: np.ndarray
    precisions_cholesky: np.ndarray

    @classmethod
    def in_segment_order(cls, mixture: Any, order: np.ndarray, covariance_type: str) -> MixtureParameters:
        """The parameters of an engine's mixture fit, components put in segment order.

        Parameters
        ----------
        mixture : Any
            A fit with ``weights``, ``means`` and ``precisions_cholesky``.
        order : numpy.ndarray of int
            Engine component of every segment.
        covariance_type : str

        Returns
        -------
        MixtureParameters
        """
        return cls(
            covariance_type=covariance_type,
            weights=np.ascontiguousarray(np.asarray(mixture.weights, dtype=np.float64)[order]),
            means=np.ascontiguousarray(np.asarray(mixture.means, dtype=np.float64)[order]),
            precisions_cholesky=np.ascontiguousarray(
                np.asarray(mixture.precisions_cholesky, dtype=np.float64)[order]
                if covariance_type != "tied" else mixture.precisions_cholesky),
        )

    def as_dict(self) -> dict[str, Any]:
        """The parameters as the dict ``Segmenter.gmm_params_`` has always been."""
        return {"covariance_type": self.covariance_type, "weights": self.weights, "means": self.means,
                "precisions_cholesky": self.precisions_cholesky}


class SavedSelection:
    """The k-selection evidence of a loaded model (the KMeans fits of the search are not saved).

    Parameters
    ----------
    state : dict
        ``KSelection.to_dict()`` as written in the model file.
    """

    def __init__(self, state: Mapping[str, Any]) -> None:
        self._state = dict(state)
        self.scores = {int(k): v for k, v in (self._state.get("scores") or {}).items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        """The evidence, as it was saved (``metadata.k_selection``)."""
        return dict(self._state)


@dataclass(frozen=True)
class FittedModel:
    """Everything one fit learned; the one thing that is saved and loaded.

    Attributes
    ----------
    options : SegmentationOptions
        The validated options of the fit (``random_state`` is the integer seed used).
    preprocessor : Preprocessor
        The fitted field transforms.
    algorithm : str
        ``"kmeans"`` or ``"gmm"``.
    centers : numpy.ndarray of shape (k, d)
        Segment centres in segment order (segment 0 is the largest); read-only.
    weights : numpy.ndarray of shape (k,)
        Share of every segment (the mixture weights for ``"gmm"``); read-only.
    sigma2 : float
        Pooled variance of the KMeans-implied mixture (the KMeans memberships).
    mixture : MixtureParameters or None
        The mixture, when ``algorithm == "gmm"``.
    selection : KSelection or SavedSelection
        The k-selection evidence (``to_dict()`` and ``scores``).
    algorithm_evidence : dict
        KMeans-versus-mixture evidence (``metadata.algorithm_selection``).
    stability : numpy.ndarray of shape (k,) or None
        Bootstrap stability of every segment; read-only.
    stability_info : dict or None
        How stability was measured (``metadata.stability``).
    """

    options: SegmentationOptions
    preprocessor: Preprocessor
    algorithm: str
    centers: np.ndarray
    weights: np.ndarray
    sigma2: float
    mixture: MixtureParameters | None
    selection: Any
    algorithm_evidence: Mapping[str, Any]
    stability: np.ndarray | None = None
    stability_info: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "centers", _read_only(self.centers))
        object.__setattr__(self, "weights", _read_only(self.weights))
        if self.stability is not None:
            object.__setattr__(self, "stability", _read_only(self.stability))

    @property
    def n_segments(self) -> int:
        """Number of segments k."""
        return int(self.centers.shape[0])

    @property
    def field_schema(self) -> dict[str, tuple[str, str | None]]:
        """Field -> (kind, date reference) of the fields new records are read with."""
        return {
            f.name: (f.kind, f.date_reference)
            for f in self.preprocessor.fields_
            if f.kind in ("numeric", "binary", "categorical", "date")
        }

    def with_stability(self, stability: np.ndarray | None, info: Mapping[str, Any] | None) -> FittedModel:
        """A copy of this model with its stability measured.

        Parameters
        ----------
        stability : numpy.ndarray of shape (k,) or None
        info : dict or None

        Returns
        -------
        FittedModel
        """
        return replace(self, stability=stability, stability_info=info)

    def for_scoring(self) -> FittedModel:
        """A copy of this model without the search evidence (a light copy to ship to workers).

        Returns
        -------
        FittedModel
        """
        return replace(self, selection=SavedSelection({}), algorithm_evidence={}, stability=None,
                       stability_info=None)

    # -- persistence -------------------------------------------------------------------------
    def to_state(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON-ready state of a model file (``segengine.persistence``), in its fixed order.

        Parameters
        ----------
        params : mapping
            The estimator parameters to save beside the model (tuples are written as lists).

        Returns
        -------
        dict
        """
        state: dict[str, Any] = {
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
            "options": self.options.to_dict(),
            "preprocessor": self.preprocessor.to_dict(),
            "algorithm": self.algorithm,
            "n_clusters": self.n_segments,
            "centers": self.centers.tolist(),
            "weights": self.weights.tolist(),
            "sigma2": self.sigma2,
            "selection": self.selection.to_dict(),
            "algorithm_evidence": self.algorithm_evidence,
            "stability": None if self.stability is None else [
                None if not np.isfinite(v) else float(v) for v in self.stability],
            "stability_info": self.stability_info,
        }
        if self.algorithm == "gmm":
            g = self.mixture
            state["gmm"] = {
                "covariance_type": g.covariance_type,
                "weights": g.weights.tolist(),
                "means": g.means.tolist(),
                "precisions_cholesky": g.precisions_cholesky.tolist(),
            }
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FittedModel:
        """Rebuild a model from a checked model-file state (:func:`segengine.model_check.check_model_state`).

        Parameters
        ----------
        state : mapping

        Returns
        -------
        FittedModel

        Raises
        ------
        KeyError, TypeError, ValueError
            A state whose parts do not fit together (the caller names the file).
        """
        opts = dict(state["options"])
        for key in ("features", "exclude"):
            if opts.get(key) is not None:
                opts[key] = tuple(opts[key])
        pre = Preprocessor.from_dict(state["preprocessor"])
        algorithm = str(state["algorithm"])
        k = int(state["n_clusters"])
        centers = np.array(state["centers"], dtype=np.float64).reshape(k, -1)
        weights = np.array(state["weights"], dtype=np.float64)
        width = sum(f.width for f in pre.fields_)
        if algorithm not in ("kmeans", "gmm") or centers.shape[1] != width or weights.shape != (k,):
            raise ValueError("inconsistent shapes")
        mixture = None
        if algorithm == "gmm":
            g = state["gmm"]
            mixture = MixtureParameters(
                covariance_type=str(g["covariance_type"]),
                weights=np.array(g["weights"], dtype=np.float64),
                means=np.ascontiguousarray(np.array(g["means"], dtype=np.float64)),
                precisions_cholesky=np.ascontiguousarray(np.array(g["precisions_cholesky"], dtype=np.float64)),
            )
            # Segmenter.gmm_params_["weights"] and weights_ were one array before the refactor.
            weights = mixture.weights
        stab = state.get("stability")
        return cls(
            options=SegmentationOptions(**opts),
            preprocessor=pre,
            algorithm=algorithm,
            centers=centers,
            weights=weights,
            sigma2=float(state["sigma2"]),
            mixture=mixture,
            selection=SavedSelection(state["selection"]),
            algorithm_evidence=dict(state.get("algorithm_evidence") or {}),
            stability=None if stab is None else np.array(
                [np.nan if v is None else float(v) for v in stab], dtype=np.float64),
            stability_info=state.get("stability_info"),
        )


@dataclass(frozen=True)
class ScoredBatch:
    """One set of records scored by a model: what a report says about each record.

    Attributes
    ----------
    table : Table or None
        The records' typed columns (None when the records stay elsewhere, as in a Dask fit).
    columns : tuple of FieldColumn
        Original-unit columns for profiling, with whether each took part in the segmentation.
    matrix : numpy.ndarray of shape (n, d) or None
        The model's input matrix (silhouettes, projections).
    ids : list
        Record ids, in input order.
    labels : numpy.ndarray of shape (n,)
        Segment of every record.
    prediction : numpy.ndarray of shape (n,)
        Membership probability of every record in its segment; read-only.
    confidence : numpy.ndarray of shape (n,)
        Separation of every record from the nearest other segment, in [0, 1]; read-only.
    notices : tuple of (str, dict)
        Warnings as (catalogue key, params), in the order they arose.
    timings_ms : dict
        Milliseconds per stage so far.
    started : float
        ``time.perf_counter()`` when the caller's work began (``processing_time_ms``).
    deadline : Deadline or None
        The request's budget (None: the report gets a budget of its own).
    search_silhouettes : (numpy.ndarray or None, numpy.ndarray) or None
        Per-record silhouettes of these labels computed by the k search (rows scored, values),
        when the labels are the search's labelling; saves scoring them twice.
    search_sums : metrics.silhouette.RowSums or None
        The k search's per-cell distance sums of its silhouette sample (these records, this
        matrix), from which the labels' sampled silhouette on the same rows is folded.
    segment_sizes : numpy.ndarray or None
        Records per segment when the records are not here (a Dask fit); else from ``labels``.
    n_records : int or None
        Records scored when they are not here; else ``len(labels)``.
    """

    table: Any
    columns: tuple
    matrix: np.ndarray | None
    ids: list
    labels: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    notices: tuple = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    started: float = 0.0
    deadline: Any = None
    search_silhouettes: tuple | None = None
    search_sums: Any = None
    segment_sizes: np.ndarray | None = None
    n_records: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "prediction", _read_only(self.prediction))
        object.__setattr__(self, "confidence", _read_only(self.confidence))
        object.__setattr__(self, "notices", tuple(self.notices))
        object.__setattr__(self, "timings_ms", dict(self.timings_ms))
        if self.segment_sizes is not None:
            object.__setattr__(self, "segment_sizes", _read_only(self.segment_sizes, np.int64))

    @property
    def size(self) -> int:
        """Records scored."""
        return int(self.labels.size) if self.n_records is None else int(self.n_records)

    def sizes(self, k: int) -> np.ndarray:
        """Records per segment ``0..k-1``.

        Parameters
        ----------
        k : int

        Returns
        -------
        numpy.ndarray of int
        """
        if self.segment_sizes is not None:
            return np.asarray(self.segment_sizes)
        return np.bincount(self.labels, minlength=k)


# -- model files ---------------------------------------------------------------------------------


def save_model(model: FittedModel, path: Any, params: Mapping[str, Any]) -> None:
    """Write a model file (JSON, never pickle), atomically (:mod:`segengine.persistence`).

    Parameters
    ----------
    model : FittedModel
    path : str or path-like
    params : mapping
        The estimator parameters saved beside the model (JSON values).
    """
    from segengine.persistence import write_model_file

    write_model_file(path, model.to_state(params))


def load_model(path: Any) -> tuple[FittedModel, dict[str, Any]]:
    """Read, check and rebuild a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    (FittedModel, dict)
        The model and the estimator parameters saved with it.

    Raises
    ------
    ModelFileError
        Missing, corrupt, truncated, foreign, too-new or inconsistent files.
    """
    from segengine.errors import ModelFileError
    from segengine.model_check import check_model_state
    from segengine.persistence import read_model_file

    state = read_model_file(path)
    check_model_state(state, str(path))  # shapes, values and consistency, before any use
    try:
        params = dict(state["params"])
        model = FittedModel.from_state(state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{path} is a damaged segengine model file ({type(exc).__name__}: {exc}).") from None
    return model, params


# -- scoring: the same rule at fit time and for new records ------------------------------------


def membership_matrix(model: FittedModel, X: np.ndarray, sq: np.ndarray | None = None) -> np.ndarray:
    """Membership probabilities (n, k) of records in the model's segments, in segment order.

    Parameters
    ----------
    model : FittedModel
    X : numpy.ndarray of shape (n, d)
        Preprocessed records.
    sq : numpy.ndarray of shape (n, k), optional
        KMeans models: squared distances of ``X`` to ``model.centers`` when the caller has
        them (`segengine.engines.memberships.sq_distances`), to skip that pass.

    Returns
    -------
    numpy.ndarray of shape (n, k)
        Rows sum to 1 (mixture: posterior responsibilities; KMeans: the equal-variance
        Gaussian mixture implied by the centres, with equal weights).
    """
    if model.algorithm == "gmm":
        from segengine.engines.gmm import mixture_log_prob_resp

        g = model.mixture
        _, log_resp = mixture_log_prob_resp(
            np.ascontiguousarray(X), g.weights, g.means, g.precisions_cholesky, g.covariance_type,
        )
        resp = np.exp(log_resp)
    else:
        # Equal weights: a KMeans record belongs to its nearest centre, so its membership
        # must be largest there. With the segment shares as weights, a record near the
        # border of a small segment got a larger probability for the big neighbour than
        # for its own segment (issue #12: 241 of 23,570 customers).
        if sq is None:
            sq = mb.sq_distances(X, model.centers)
        resp = mb.equal_weight_likelihood_ratios(sq, model.sigma2)
    resp /= resp.sum(axis=1, keepdims=True)
    return resp


def label_records(resp: np.ndarray, engine_labels: np.ndarray | None = None) -> np.ndarray:
    """The segment of every record: its most probable one.

    Parameters
    ----------
    resp : numpy.ndarray of shape (n, k)
        Memberships (:func:`membership_matrix`).
    engine_labels : numpy.ndarray of shape (n,), optional
        At fit time, the engine's labels: they stand unless another segment is strictly more
        probable.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    # The label is the most probable segment for both engines (for KMeans the nearest
    # centre, since the memberships are monotone in the distance), so predict and
    # predict_proba never disagree, not even on float ties.
    best = np.argmax(resp, axis=1)
    if engine_labels is None:
        return best
    # At fit time the engine's own label stands unless another segment is strictly more
    # probable: on exact ties (memberships flat where distances underflow, near-duplicate
    # records) argmax would send every record to segment 0 and empty the others.
    rows = np.arange(best.size)
    return np.where(resp[rows, best] > resp[rows, engine_labels], best, engine_labels)


def record_confidence(X: np.ndarray, centers: np.ndarray, labels: np.ndarray,
                      sq: np.ndarray | None = None) -> np.ndarray:
    """Simplified silhouette (b - a) / max(a, b) against the own and nearest other centre, in [0, 1].

    Parameters
    ----------
    X : numpy.ndarray of shape (n, d)
    centers : numpy.ndarray of shape (k, d)
    labels : numpy.ndarray of shape (n,)
    sq : numpy.ndarray of shape (n, k), optional
        Squared distances of ``X`` to ``centers`` when the caller has them.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    if sq is None or sq.shape[1] < 2:
        return mb.confidence(X, centers, labels)
    return mb.confidence_from_sq(sq, labels)


def field_columns(preprocessor: Preprocessor, table: Any) -> tuple:
    """Original-unit columns of ``table`` for profiling, with whether each took part in the fit.

    Parameters
    ----------
    preprocessor : Preprocessor
        Fitted.
    table : Table

    Returns
    -------
    tuple of FieldColumn
    """
    from segengine.profiling import FieldColumn

    used = {f.name: f.used for f in preprocessor.fields_}
    return tuple(
        FieldColumn(c.name, c.kind, c.values, used.get(c.name, False))
        for c in table.columns
        if c.kind != "empty"
    )


def score_table(model: FittedModel, table: Any, *, started: float | None = None) -> ScoredBatch:
    """Score new records with a fitted model (no refit).

    Parameters
    ----------
    model : FittedModel
    table : Table
        The records, read with ``model.field_schema``.
    started : float, optional
        ``time.perf_counter()`` when the caller's work began (default: now).

    Returns
    -------
    ScoredBatch
        With the scoring warnings (fields absent or missing in these records) and a deadline of
        the model's ``time_budget_ms`` from ``started``.
    """
    from segengine.budget import Deadline
    from segengine.scoring_checks import scoring_notices

    started = time.perf_counter() if started is None else started
    t0 = time.perf_counter()
    X = model.preprocessor.transform(table)
    t1 = time.perf_counter()
    resp = membership_matrix(model, X)
    labels = label_records(resp)
    return ScoredBatch(
        table=table,
        columns=field_columns(model.preprocessor, table),
        matrix=X,
        ids=table.ids,
        labels=labels,
        prediction=resp[np.arange(labels.size), labels],
        confidence=record_confidence(X, model.centers, labels),
        notices=tuple(scoring_notices(model.preprocessor.fields_, table)),
        timings_ms={"preprocessing": (t1 - t0) * 1000.0, "scoring": (time.perf_counter() - t1) * 1000.0},
        started=started,
        deadline=Deadline.for_request(model.options.time_budget_ms, started),
    )

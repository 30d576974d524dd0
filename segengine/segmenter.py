"""The whole pipeline as one estimator: preprocessing -> k search -> final model -> report.

`Segmenter` is what a data scientist calls directly. It follows scikit-learn's conventions
(parameters stored by ``__init__``, fitted attributes ending in ``_``) and is a thin shell: ``fit``
runs :func:`segengine.fitting.fit_table`, which returns a :class:`~segengine.model.FittedModel`
(what ``save`` writes) and the training :class:`~segengine.model.ScoredBatch`; reports are
:func:`segengine.report.build_report` of the two. The fitted attributes are read-only views of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from segengine.budget import Deadline
from segengine.concurrency import parallel_section
from segengine.errors import InvalidRequestError, NotFittedError, ValidationError, localized_errors
from segengine.estimator_api import SegmenterEstimatorMixin
from segengine.fitting import FitDetails, FitResult, fit_table
from segengine.model import FittedModel, ScoredBatch, label_records, membership_matrix, score_table
from segengine.options import DEFAULTS, OPTION_NAMES, SegmentationOptions, parse_options, seed_from_random_state
from segengine.table import Table, table_from_array, table_from_frame, table_from_records
from segengine.text.msg import Msg

__all__ = ["Segmenter", "to_table"]


def to_table(X: Any, *, id_field: str = "id") -> Table:
    """Accept the record forms segengine understands and return typed columns.

    Parameters
    ----------
    X : list of dict, pandas.DataFrame, numpy.ndarray or Table
        Records (one mapping per customer), a DataFrame, or a 2-D numeric array.
    id_field : str
        The id field of records / DataFrame columns.

    Returns
    -------
    Table
    """
    if isinstance(X, Table):
        return X
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        return table_from_frame(X, id_field=id_field)
    if isinstance(X, (list, tuple)) and (len(X) == 0 or isinstance(X[0], dict) or not np.ndim(X[0])):
        if len(X) and isinstance(X[0], dict):
            return table_from_records(list(X), id_field=id_field)
    return table_from_array(X)


class Segmenter(SegmenterEstimatorMixin):
    """Customer segmentation with automatic k, KMeans or Gaussian mixture, and a JSON report.

    Parameters
    ----------
    n_clusters : int or "auto"
        Fixed number of segments, or "auto" to choose it by silhouette in ``k_min..k_max``.
    k_min, k_max : int
        The range searched when ``n_clusters="auto"``.
    algorithm : {"auto", "kmeans", "gmm"}
        "auto" chooses between KMeans and a Gaussian mixture by BIC (see :mod:`segengine.selection`).
    covariance_type : {"full", "diag", "tied", "spherical"}
        Covariance of the Gaussian mixture.
    features, exclude : sequence of str, optional
        Fields to use / to leave out.
    id_field : str
        The id field of records.
    scaling : {"auto", "standard", "robust", "minmax", "none"}
        Numeric scaling (see :mod:`segengine.preprocessing`).
    max_categories : int
        Categorical fields with more levels are left out of clustering.
    random_state : int, None or numpy.random.RandomState
        Seed: the same data, options and seed give the same output, bit for bit. None (fresh
        entropy) and a RandomState are turned into an integer seed once, at the start of
        ``fit`` (the report's ``metadata.random_state`` shows it).
    silhouette : {"auto", "exact", "sampled"}
        How k candidates are scored.
    max_records : int
        Largest accepted input.
    time_budget_ms : int or None
        Total budget of the request in ms (None: ``config.DEFAULT_TIME_BUDGET_MS``); stages that
        would exceed it degrade, as the report's warnings say (:mod:`segengine.budget`).
    n_init : int or "auto"
        KMeans restarts per k; "auto" gives small inputs more restarts (they are cheap there).
    roles : dict, optional
        Field -> business role (``recency``, ``frequency``, ``monetary``, ``tenure``,
        ``channel``, ``none``); fields left out are guessed from their names
        (:mod:`segengine.roles`). The report's ``metadata.roles`` says which was which.
    naming : {"archetype", "generic"}
        "archetype" names segments like an RFM analysis (Champions, At risk...) where the
        numbers support it; "generic" names them after their characteristics only.

    Attributes
    ----------
    labels_ : numpy.ndarray of shape (n_records,)
        Segment of every record; segment 0 is the largest.
    n_clusters_ : int
    algorithm_ : str
        "kmeans" or "gmm".
    silhouette_scores_ : dict[int, float]
        Mean silhouette of every k tried (only the fixed k when ``n_clusters`` is set).
    algorithm_evidence_ : dict
        The KMeans-versus-mixture evidence (BIC of both, the margin, the choice).
    prediction_, confidence_ : numpy.ndarray
        Per-record membership probability and separation (SPEC section 2).
    """

    def __init__(
        self,
        n_clusters: int | str | None = DEFAULTS["n_clusters"],
        *,
        k_min: int = DEFAULTS["k_min"],
        k_max: int = DEFAULTS["k_max"],
        algorithm: str = DEFAULTS["algorithm"],
        covariance_type: str = DEFAULTS["covariance_type"],
        features: Sequence[str] | None = DEFAULTS["features"],
        exclude: Sequence[str] = DEFAULTS["exclude"],
        id_field: str = DEFAULTS["id_field"],
        scaling: str = DEFAULTS["scaling"],
        max_categories: int = DEFAULTS["max_categories"],
        random_state: int = DEFAULTS["random_state"],
        silhouette: str = DEFAULTS["silhouette"],
        max_records: int = DEFAULTS["max_records"],
        time_budget_ms: int | None = DEFAULTS["time_budget_ms"],
        n_init: int | str | None = DEFAULTS["n_init"],
        roles: dict[str, str] | None = DEFAULTS["roles"],
        naming: str = DEFAULTS["naming"],
    ) -> None:
        self.n_clusters = n_clusters
        self.k_min = k_min
        self.k_max = k_max
        self.algorithm = algorithm
        self.covariance_type = covariance_type
        self.features = features
        self.exclude = exclude
        self.id_field = id_field
        self.scaling = scaling
        self.max_categories = max_categories
        self.random_state = random_state
        self.silhouette = silhouette
        self.max_records = max_records
        self.time_budget_ms = time_budget_ms
        self.n_init = n_init
        self.roles = roles
        self.naming = naming

    # -- scikit-learn protocol ---------------------------------------------------------------
    # The option table (segengine.options.OPTIONS) names the parameters and gives the defaults
    # of the signature above; tests/test_options.py checks that the two agree.
    _PARAMS = OPTION_NAMES

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> Segmenter:
        """Set parameters (scikit-learn protocol); unknown names raise ValueError."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"Unknown parameter {name!r} for Segmenter")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != DEFAULTS[k]}
        return "Segmenter(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    @classmethod
    def from_options(cls, options: SegmentationOptions) -> Segmenter:
        """Build a Segmenter from validated request options."""
        params = options.to_dict()
        return cls(**{k: params[k] for k in cls._PARAMS})

    def _options(self) -> SegmentationOptions:
        params = self.get_params()
        # None / RandomState become the integer seed of this fit (metadata.random_state shows it).
        params["random_state"] = seed_from_random_state(params["random_state"])
        return parse_options(params, prefix="")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None, *, language: str = "en") -> Segmenter:
        """Find the segments of ``X``.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
            The customers. Not modified.
        y : ignored
        sample_weight : array-like of shape (n_records,), optional
            Non-negative finite record weights, used by the KMeans fits of the k search and of
            the final model (an integer weight counts like that many copies of the record). The
            mixture takes no weights: ``algorithm="auto"`` then keeps KMeans (as
            ``metadata.algorithm_selection`` says) and ``algorithm="gmm"`` is an error.
            Silhouettes, profiles and stability count every record once.
        language : str
            Language of error sentences and of the warnings kept for :meth:`report`.

        Returns
        -------
        Segmenter
            self, fitted.

        Raises
        ------
        ValidationError
            Invalid parameters or data (with the path of each problem).
        """
        started = time.perf_counter()
        with localized_errors(language):  # errors carry message keys; they leave in ``language``
            options = self._options()
            table = to_table(X, id_field=options.id_field)
            with parallel_section():  # numba's workqueue layer is not thread-safe (concurrency.py)
                result = fit_table(table, options, started=started, sample_weight=sample_weight)
        self._adopt(result.model, replace(result.batch, deadline=None), result.details)
        return self  # fit() ended its request: a later report() gets a budget of its own

    @classmethod
    def from_fit(cls, result: FitResult) -> Segmenter:
        """A fitted Segmenter over the outcome of :func:`segengine.fitting.fit_table`.

        Parameters
        ----------
        result : FitResult

        Returns
        -------
        Segmenter
            With the parameters of the fit's options; its report keeps the fit's deadline.
        """
        seg = cls.from_options(result.model.options)
        seg._adopt(result.model, result.batch, result.details)
        return seg

    def _adopt(self, model: FittedModel, batch: ScoredBatch | None, details: FitDetails | None = None) -> None:
        """Hold a fitted model and its batch (the fitted attributes are views of them)."""
        self._model = model
        self._batch = batch
        self._details = details
        self._report_inputs = None

    # -- fitted attributes (read-only views of the model and the batch) -------------------------
    @property
    def model_(self) -> FittedModel:
        """The fitted model (:class:`segengine.model.FittedModel`): what :meth:`save` writes."""
        model = self.__dict__.get("_model")
        if model is None:
            raise NotFittedError("This Segmenter is not fitted yet: call fit(X) first.")
        return model

    @property
    def batch_(self) -> ScoredBatch:
        """The fitted records scored by the model (:class:`segengine.model.ScoredBatch`)."""
        self._check_fitted()
        batch = self.__dict__.get("_batch")
        if batch is None:
            raise AttributeError("This Segmenter holds no records (loaded from a file): no batch_.")
        return batch

    def _batch_part(self, name: str) -> Any:
        self._check_fitted()
        batch = self.__dict__.get("_batch")
        if batch is None or (name in ("table", "matrix") and getattr(batch, name) is None):
            raise AttributeError(
                f"This Segmenter holds no records (loaded from a file or fitted on a cluster): no {name}.")
        return getattr(batch, name)

    options_ = property(lambda self: self.model_.options, doc="The validated options of the fit.")
    preprocessor_ = property(lambda self: self.model_.preprocessor, doc="The fitted field transforms.")
    algorithm_ = property(lambda self: self.model_.algorithm, doc='"kmeans" or "gmm".')
    n_clusters_ = property(lambda self: self.model_.n_segments, doc="Number of segments.")
    centers_ = property(lambda self: self.model_.centers, doc="Segment centres (read-only).")
    weights_ = property(lambda self: self.model_.weights, doc="Segment shares / mixture weights.")
    sigma2_ = property(lambda self: self.model_.sigma2, doc="Pooled variance of the KMeans memberships.")
    selection_ = property(lambda self: self.model_.selection, doc="The k-selection evidence.")
    silhouette_scores_ = property(lambda self: dict(self.model_.selection.scores),
                                  doc="Mean silhouette of every k tried.")
    algorithm_evidence_ = property(lambda self: self.model_.algorithm_evidence,
                                   doc="The KMeans-versus-mixture evidence.")
    stability_ = property(lambda self: self.model_.stability, doc="Bootstrap stability per segment.")
    stability_info_ = property(lambda self: self.model_.stability_info, doc="How stability was measured.")

    @property
    def gmm_params_(self) -> dict[str, Any]:
        """The mixture's parameters in segment order (only when ``algorithm_ == "gmm"``)."""
        if self.model_.mixture is None:
            raise AttributeError("gmm_params_: the fitted algorithm is not a Gaussian mixture.")
        return self.model_.mixture.as_dict()

    @property
    def labels_(self) -> np.ndarray:
        """Segment of every fitted record (empty when the records are not held)."""
        self._check_fitted()
        batch = self.__dict__.get("_batch")
        return np.zeros(0, dtype=np.int64) if batch is None else batch.labels

    @property
    def notices_(self) -> list:
        """Warnings of the fit as (catalogue key, params)."""
        self._check_fitted()
        batch = self.__dict__.get("_batch")
        return [] if batch is None else list(batch.notices)

    @property
    def timings_ms_(self) -> dict[str, float]:
        """Milliseconds per stage of the fit."""
        self._check_fitted()
        batch = self.__dict__.get("_batch")
        return {} if batch is None else dict(batch.timings_ms)

    table_ = property(lambda self: self._batch_part("table"), doc="The fitted records' typed columns.")
    X_ = property(lambda self: self._batch_part("matrix"), doc="The model matrix of the fitted records.")
    ids_ = property(lambda self: self._batch_part("ids"), doc="Ids of the fitted records.")
    prediction_ = property(lambda self: self._batch_part("prediction"),
                           doc="Membership probability of every record in its segment.")
    confidence_ = property(lambda self: self._batch_part("confidence"),
                           doc="Separation of every record from the nearest other segment.")
    fit_started_ = property(lambda self: self._batch_part("started"), doc="perf_counter() at the start of fit.")
    deadline_ = property(lambda self: self._batch_part("deadline"), doc="The fit's budget (None after fit()).")

    def _detail(self, name: str) -> Any:
        self._check_fitted()
        details = self.__dict__.get("_details")
        if details is None:
            raise AttributeError(f"This Segmenter was not fitted here: no {name}.")
        return getattr(details, name)

    kmeans_ = property(lambda self: self._detail("kmeans"), doc="The KMeans fit of the chosen k.")
    gmm_ = property(lambda self: self._detail("mixture"), doc="The engine's mixture fit, or None.")
    cluster_order_ = property(lambda self: self._detail("segment_order"),
                              doc="Engine segment of every reported segment.")

    # -- inspection --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        self.model_  # noqa: B018 - reading the property raises NotFittedError before a fit

    def report(self, language: str = "en", *, include_metadata: bool = True) -> dict[str, Any]:
        """The segmentation report (SPEC section 2 response body) of the fitted records.

        Parameters
        ----------
        language : str
            "en", "es" or "pt" (tags such as "pt-BR" are accepted).
        include_metadata : bool
            Add the ``metadata`` block (k selection, timings, warnings).

        Returns
        -------
        dict
            JSON-ready response body.
        """
        from segengine.report import build_report, report_inputs
        from segengine.text.language import normalize_language

        model = self.model_
        batch = self.__dict__.get("_batch")
        if batch is None or batch.table is None:
            raise NotFittedError(
                "This Segmenter was loaded from a file and holds no records: "
                "use score_report(X) to report on records scored with it."
            )
        if batch.deadline is None:
            batch = self._batch = replace(batch, deadline=Deadline.for_request(model.options.time_budget_ms))
        with parallel_section():
            # Profiles and silhouettes of the training records are computed once per fit.
            inputs = self._report_inputs
            if inputs is None:
                inputs = self._report_inputs = report_inputs(model, batch)
            else:
                inputs = replace(inputs, ms=0.0)
            return build_report(model, batch, normalize_language(language), include_metadata=include_metadata,
                                inputs=inputs)

    # -- pictures ------------------------------------------------------------------------------
    def to_html(self, path: str, language: str = "en") -> None:
        """Write the report as one self-contained HTML page (inline SVG charts, no network).

        Parameters
        ----------
        path : str or path-like
            Destination file, written atomically.
        language : str
            "en", "es" or "pt": the report's sentences and the page's labels.
        """
        from segengine.html_report import segmenter_html, write_html

        self._check_fitted()
        write_html(path, segmenter_html(self, language))

    def _repr_html_(self) -> str:
        """Compact summary for Jupyter: segments, sizes, silhouette by k."""
        from segengine.html_summary import summary_html

        return summary_html(self)

    # -- scoring new records -------------------------------------------------------------------
    def _schema(self) -> dict[str, tuple[str, str | None]]:
        return self.model_.field_schema

    def _new_table(self, X: Any, *, id_field: str | None = None) -> Table:
        id_field = id_field or self.options_.id_field
        if (isinstance(X, (list, tuple)) or hasattr(X, "iloc") or isinstance(X, np.ndarray)) and len(X) == 0:
            raise InvalidRequestError(
                Msg("data_empty"), {"data": Msg("data_empty")},
                error="Invalid parameters",
            )
        if isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], dict):
            table = table_from_records(list(X), id_field=id_field,
                                       schema=self._schema())
        elif hasattr(X, "columns") and hasattr(X, "iloc"):
            table = table_from_frame(X, id_field=id_field, schema=self._schema())
        else:
            table = to_table(X, id_field=id_field)
            width = len(self.preprocessor_.fields_)
            if table.columns and len(table.columns) != width:
                raise ValidationError(
                    Msg("validation_failed"),
                    {"X": Msg("width_mismatch", expected=width, got=len(table.columns))},
                )
        present = {c.name for c in table.columns}
        if table.n_rows and not present & set(self.preprocessor_.used_fields_):
            raise ValidationError(
                Msg("validation_failed"),
                {"data": Msg("no_model_fields",
                                    fields=", ".join(self.preprocessor_.used_fields_))},
            )
        return table

    def _proba_matrix(self, Xm: np.ndarray) -> np.ndarray:
        """Membership probabilities (n, k) in segment order (:func:`segengine.model.membership_matrix`)."""
        return membership_matrix(self.model_, Xm)

    def _labels_for(self, Xm: np.ndarray, resp: np.ndarray, engine_labels: np.ndarray | None = None) -> np.ndarray:
        return label_records(resp, engine_labels)

    def transform_records(self, X: Any, *, language: str = "en") -> np.ndarray:
        """Apply the fitted preprocessing to new records and return the model's input matrix.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or 2-D array
            New customers, in the same form and fields as at fit time. Unseen categorical
            levels encode like a missing level; absent fields are imputed as at fit time;
            fields unknown at fit time are ignored; a value of the wrong type is an error
            naming its path (``data.3.spend``).
        language : str
            Language of the error sentences.

        Returns
        -------
        numpy.ndarray of shape (n_records, n_columns)
        """
        self._check_fitted()
        from segengine.scoring_checks import scoring_notices, warn_scoring

        with localized_errors(language):
            table = self._new_table(X)
            # Said as a ScoringFieldsWarning pointing at the caller of predict / predict_proba.
            warn_scoring(scoring_notices(self.preprocessor_.fields_, table), language, stacklevel=4)
            return self.preprocessor_.transform(table)

    def predict(self, X: Any, *, language: str = "en") -> np.ndarray:
        """Segment of each new record (0 is the largest training segment).

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or 2-D array
            See :meth:`transform_records`.
        language : str
            Language of the error sentences.

        Returns
        -------
        numpy.ndarray of shape (n_records,)
        """
        Xm = self.transform_records(X, language=language)
        with parallel_section():
            return self._labels_for(Xm, self._proba_matrix(Xm))

    def predict_proba(self, X: Any, *, language: str = "en") -> np.ndarray:
        """Membership probability of each new record in each segment.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or 2-D array
            See :meth:`transform_records`.
        language : str
            Language of the error sentences.

        Returns
        -------
        numpy.ndarray of shape (n_records, n_clusters_)
            Rows sum to 1 (GMM: posterior responsibilities; KMeans: the equal-variance
            Gaussian mixture implied by the centres).
        """
        Xm = self.transform_records(X, language=language)
        with parallel_section():
            return self._proba_matrix(Xm)

    def score_report(
        self, X: Any, language: str = "en", *, include_metadata: bool = True,
        started: float | None = None, id_field: str | None = None,
    ) -> dict[str, Any]:
        """Report on new records scored with this fitted model (no refit).

        The response has the same shape as :meth:`report`; segments keep their fitted numbering
        and are profiled on the given records (a segment no record falls in has size 0).

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or 2-D array
        language : str
        include_metadata : bool
        started : float, optional
            ``time.perf_counter()`` when the caller's work started.
        id_field : str, optional
            The id field of these records (default: the one the model was fitted with).

        Returns
        -------
        dict
        """
        from segengine.report import build_report
        from segengine.text.language import normalize_language

        model = self.model_
        lang = normalize_language(language)
        started = time.perf_counter() if started is None else started
        with localized_errors(lang):
            table = self._new_table(X, id_field=id_field)
            if table.n_rows > model.options.max_records:
                raise ValidationError(
                    Msg("validation_failed"),
                    {"data": Msg("too_many_records", n=table.n_rows, max=model.options.max_records)},
                )
            with parallel_section():
                batch = score_table(model, table, started=started)
        with parallel_section():
            return build_report(model, batch, lang, include_metadata=include_metadata)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Save the fitted model as JSON (never pickle), atomically.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``*.json``).
        """
        from segengine.model import save_model

        model = self.model_
        params = self.get_params()
        rs = params.get("random_state")
        if not isinstance(rs, int) or isinstance(rs, bool):
            # None or a RandomState: the file keeps the seed the fit used (a refit repeats it).
            params["random_state"] = model.options.random_state
        save_model(model, path, params)

    @classmethod
    def load(cls, path: str) -> Segmenter:
        """Load a model saved by :meth:`save`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        Segmenter
            Fitted: ``predict``, ``predict_proba`` and ``score_report`` work; ``report`` needs
            the training records and is not available.

        Raises
        ------
        ModelFileError
            Missing, corrupt, truncated, foreign or too-new files.
        """
        from segengine.errors import ModelFileError
        from segengine.model import load_model

        model, params = load_model(path)
        try:
            seg = cls(**params)
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path} is a damaged segengine model file ({type(exc).__name__}: {exc}).") from None
        seg._adopt(model, None)
        return seg

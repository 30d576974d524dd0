"""The whole pipeline as one estimator: preprocessing -> k search -> final model -> report.

`Segmenter` is what the request contract runs and what a data scientist calls directly. It follows
scikit-learn's conventions (parameters stored by ``__init__``, fitted attributes ending in ``_``).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from segengine import config
from segengine.budget import Deadline, gmm_iteration_ms, k_cap, search_k_cap
from segengine.concurrency import parallel_section
from segengine.engines.gmm import n_mixture_parameters
from segengine.errors import InvalidRequestError, NotFittedError, ValidationError
from segengine.options import SegmentationOptions, parse_options
from segengine.preprocessing import Preprocessor
from segengine.selection import auto_n_init, kmeans_bic, kmeans_mixture_loglik, select_k, _sq_distances
from segengine.table import Table, table_from_array, table_from_frame, table_from_records
from segengine.text.error_messages import error_text

__all__ = ["Segmenter", "to_table"]


def to_table(X: Any, *, id_field: str = "id", language: str = "en") -> Table:
    """Accept the record forms segengine understands and return typed columns.

    Parameters
    ----------
    X : list of dict, pandas.DataFrame, numpy.ndarray or Table
        Records (one mapping per customer), a DataFrame, or a 2-D numeric array.
    id_field : str
        The id field of records / DataFrame columns.
    language : str
        Language of the error sentences.

    Returns
    -------
    Table
    """
    if isinstance(X, Table):
        return X
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        return table_from_frame(X, id_field=id_field, language=language)
    if isinstance(X, (list, tuple)) and (len(X) == 0 or isinstance(X[0], dict) or not np.ndim(X[0])):
        if len(X) and isinstance(X[0], dict):
            return table_from_records(list(X), id_field=id_field, language=language)
    return table_from_array(X, language=language)


class Segmenter:
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
    random_state : int
        Seed: the same data, options and seed give the same output, bit for bit.
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
        n_clusters: int | str | None = "auto",
        *,
        k_min: int = 2,
        k_max: int = 10,
        algorithm: str = "auto",
        covariance_type: str = "full",
        features: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        id_field: str = "id",
        scaling: str = "auto",
        max_categories: int = config.DEFAULT_MAX_CATEGORIES,
        random_state: int = 0,
        silhouette: str = "auto",
        max_records: int = config.DEFAULT_MAX_RECORDS,
        time_budget_ms: int | None = None,
        n_init: int | str | None = "auto",
        roles: dict[str, str] | None = None,
        naming: str = "archetype",
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
    _PARAMS = (
        "n_clusters", "k_min", "k_max", "algorithm", "covariance_type", "features", "exclude",
        "id_field", "scaling", "max_categories", "random_state", "silhouette", "max_records",
        "time_budget_ms", "n_init", "roles", "naming",
    )

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> "Segmenter":
        """Set parameters (scikit-learn protocol); unknown names raise ValueError."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"Unknown parameter {name!r} for Segmenter")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != Segmenter().get_params()[k]}
        return "Segmenter(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    @classmethod
    def from_options(cls, options: SegmentationOptions) -> "Segmenter":
        """Build a Segmenter from validated request options."""
        params = options.to_dict()
        return cls(**{k: params[k] for k in cls._PARAMS})

    def _options(self, language: str) -> SegmentationOptions:
        return parse_options(self.get_params(), language=language, prefix="")

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, *, language: str = "en") -> "Segmenter":
        """Find the segments of ``X``.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
            The customers. Not modified.
        y : ignored
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
        options = self._options(language)
        table = to_table(X, id_field=options.id_field, language=language)
        with parallel_section():  # numba's workqueue layer is not thread-safe (concurrency.py)
            self._fit_table(table, options, language=language, started=started)
        self.deadline_ = None  # fit() ends its request: a later report() gets a budget of its own
        return self

    def _fit_table(
        self, table: Table, options: SegmentationOptions, *, language: str, started: float
    ) -> "Segmenter":
        n = table.n_rows
        if n > options.max_records:
            raise ValidationError(
                error_text(language, "validation_failed"),
                {"data": error_text(language, "too_many_records", n=n, max=options.max_records)},
            )
        if n < config.MIN_RECORDS:
            raise ValidationError(
                error_text(language, "validation_failed"),
                {"data": error_text(language, "too_few_records", min=config.MIN_RECORDS, n=n)},
            )
        if options.n_clusters is not None and options.n_clusters >= n:
            raise ValidationError(
                error_text(language, "options_invalid"),
                {"options.n_clusters": error_text(language, "n_clusters_too_large", k=options.n_clusters, n=n)},
            )
        if options.silhouette == "exact" and n > config.SILHOUETTE_EXACT_LIMIT:
            raise ValidationError(
                error_text(language, "options_invalid"),
                {"options.silhouette": error_text(
                    language, "exact_silhouette_too_large", max=config.SILHOUETTE_EXACT_LIMIT,
                    seconds=config.SILHOUETTE_EXACT_LIMIT_SECONDS, n=n)},
            )
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        pre = Preprocessor(options)
        Xm = pre.fit_transform(table, language=language)
        notices = list(pre.notices_)
        _check_roles_against(table, options, language)
        t1 = time.perf_counter()
        timings["preprocessing"] = (t1 - t0) * 1000.0

        if options.n_clusters is not None:
            k_min = k_max = options.n_clusters
        else:
            k_min, k_max = options.k_min, options.k_max
            if k_max > n - 1:
                notices.append(("warn_k_max_capped", {"k": n - 1}))
        deadline = Deadline.for_request(options.time_budget_ms, started)
        k_max, n_init = _bounded_k(options, k_min, min(k_max, n - 1), n, Xm.shape[1],
                                   len(table.columns), notices, language)
        try:
            sel = select_k(
                Xm, k_min, k_max, silhouette=options.silhouette,
                random_state=options.random_state, n_init=n_init,
                time_budget_ms=options.time_budget_ms, started_at=started, deadline=deadline,
            )
        except ValueError:
            raise ValidationError(
                error_text(language, "validation_failed"),
                {"data": error_text(language, "no_features")},
            ) from None
        if sel.distinct_cap is not None:
            notices.append(("warn_k_range_capped", {"distinct": sel.distinct_cap, "k": max(sel.fits)}))
        if sel.stopped_early_after is not None:
            notices.append(("warn_time_budget", {"k": sel.stopped_early_after, "ms": options.time_budget_ms}))
        if not sel.exact and sel.sample_size is not None:
            notices.append(("warn_sampled", {"s": sel.sample_size, "n": n}))
        for _, other, gap in sel.near_ties:
            notices.append(("warn_near_tie", {"a": sel.k, "b": other, "gap": f"{gap:.4f}"}))
        t2 = time.perf_counter()
        timings["model_search"] = (t2 - t1) * 1000.0

        if _filled(sel.fits[sel.k].labels, sel.k) < sel.k:  # squares over- or underflow: refit
            sel.fits[sel.k] = _rescaled_kmeans(Xm, sel.k, options, sel.fits[sel.k])
        km = sel.fits[sel.k]
        loglik, _, sigma2 = kmeans_mixture_loglik(Xm, km.centers, km.labels)
        evidence: dict[str, Any] = {"kmeans_bic": kmeans_bic(loglik, n, Xm.shape[1], sel.k)}
        algorithm, gmm = "kmeans", None
        # A Gaussian density on 0/1 columns (binary fields, one-hot levels) is degenerate: a
        # component's variance along an indicator collapses to reg_covar and its likelihood grows
        # without bound, so BIC would always "prefer" the mixture. "auto" therefore considers the
        # mixture only when every column is continuous.
        continuous = all(f.kind in ("numeric", "date") for f in pre.fields_ if f.used)
        evidence["continuous"] = continuous
        # Too few records per mixture parameter (wide data) make its BIC meaningless and its fit
        # slow; "auto" then keeps KMeans without trying.
        n_params = n_mixture_parameters(sel.k, Xm.shape[1], options.covariance_type)
        evidence["records_per_parameter"] = n / n_params
        enough = n >= config.GMM_MIN_RECORDS_PER_PARAMETER * n_params
        if options.algorithm == "gmm" or (options.algorithm == "auto" and continuous and enough):
            gmm_iter = _gmm_iterations(deadline, n, Xm.shape[1], sel.k, options.covariance_type)
            gmm, reason = _fit_gmm(Xm, km.labels, sel.k, options, max_iter=gmm_iter) if gmm_iter else (None, None)
            if gmm is not None:
                deadline.charge(gmm_iteration_ms(n, Xm.shape[1], sel.k, options.covariance_type)
                                * (gmm.n_iter + _GMM_EXTRA_PASSES))
            if gmm is not None and gmm_iter < _GMM_MAX_ITER and not gmm.converged and gmm.n_iter >= gmm_iter:
                deadline.degrade("budget_gmm_cut")
            if gmm is None:
                if reason is not None:
                    notices.append(("warn_gmm_failed", {"reason": reason}))
            else:
                evidence["gmm_bic"] = float(gmm.bic(Xm))
                evidence["delta_bic_per_record"] = (evidence["kmeans_bic"] - evidence["gmm_bic"]) / (2.0 * n)
                collapsed = _mixture_degeneracy(Xm, pre, gmm, evidence, options.random_state)
                if collapsed and options.algorithm == "gmm":
                    first = collapsed[0]
                    notices.append(("warn_gmm_degenerate", {"field": first["field"], "n": len(collapsed)}))
                if options.algorithm == "gmm" or (
                        evidence["delta_bic_per_record"] > config.GMM_BIC_MARGIN and not collapsed):
                    algorithm = "gmm"
        evidence["margin"] = config.GMM_BIC_MARGIN
        evidence["chosen"] = algorithm
        if algorithm == "gmm":
            raw_labels = gmm.log_prob_resp(Xm)[1].argmax(axis=1)
            centers = np.asarray(gmm.means, dtype=np.float64)
        else:
            raw_labels = km.labels
            centers = km.centers
        if algorithm == "gmm" and _filled(raw_labels, sel.k) < _filled(km.labels, sel.k):
            # The mixture emptied a segment KMeans fills (collapsed components): KMeans honours k.
            notices.append(("warn_gmm_empty", {"e": sel.k - _filled(raw_labels, sel.k), "k": sel.k}))
            algorithm, gmm, raw_labels, centers = "kmeans", None, km.labels, km.centers
            evidence["chosen"] = algorithm
        # Segment 0 is the largest; ties keep the engine's order (deterministic).
        k = sel.k
        sizes = np.bincount(raw_labels, minlength=k)
        order = np.lexsort((np.arange(k), -sizes))
        order = order[sizes[order] > 0]
        if order.size < k:
            _reduced_segments(sel, Xm, int(order.size), notices, language)
        remap = np.full(k, -1, dtype=np.int64)
        remap[order] = np.arange(order.size)
        labels = remap[raw_labels]
        centers = np.ascontiguousarray(centers[order])
        t3 = time.perf_counter()
        timings["final_model"] = (t3 - t2) * 1000.0

        self.options_ = options
        self.preprocessor_ = pre
        self.table_ = table
        self.X_ = Xm
        self.labels_ = labels
        self.n_clusters_ = int(order.size)
        self.algorithm_ = algorithm
        self.selection_ = sel
        self.silhouette_scores_ = dict(sel.scores)
        self.algorithm_evidence_ = evidence
        self.centers_ = centers
        self.cluster_order_ = order
        self.kmeans_ = km
        self.sigma2_ = sigma2
        self.gmm_ = gmm if algorithm == "gmm" else None
        if algorithm == "gmm":
            self.gmm_params_ = {
                "covariance_type": options.covariance_type,
                "weights": np.ascontiguousarray(np.asarray(gmm.weights, dtype=np.float64)[order]),
                "means": np.ascontiguousarray(np.asarray(gmm.means, dtype=np.float64)[order]),
                "precisions_cholesky": np.ascontiguousarray(
                    np.asarray(gmm.precisions_cholesky, dtype=np.float64)[order]
                    if options.covariance_type != "tied" else gmm.precisions_cholesky),
            }
            self.weights_ = self.gmm_params_["weights"]
        else:
            self.weights_ = (np.bincount(km.labels, minlength=k)[order] / n).astype(np.float64)
        resp = self._proba_matrix(Xm)
        best = self._labels_for(Xm, resp, labels)
        if not np.array_equal(best, labels):
            # GMM: the final E-step; KMeans: records on a float tie between two centres (the
            # kernel's ||c||^2 - 2 x.c rounding), which then take the more probable segment.
            if algorithm == "kmeans":
                sel.rows = sel.chosen_values = None  # the search's silhouettes were of other labels
            labels = best
            self.labels_ = labels
        self._fit_labels = self.labels_
        self.prediction_ = resp[np.arange(n), labels]
        self.confidence_ = _confidence(Xm, centers, labels)
        t4 = time.perf_counter()
        timings["final_model"] += (t4 - t3) * 1000.0
        if deadline.expired():
            deadline.degrade("budget_stability_skipped")
            self.stability_ = None
            self.stability_info_ = {"method": "bootstrap_jaccard", "resamples": 0}
        else:
            self._fit_stability(Xm, labels, options, started, notices)
        timings["stability"] = (time.perf_counter() - t4) * 1000.0
        notices.extend(("warn_budget", {"ms": int(deadline.budget_ms), "how": key}) for key in deadline.degraded)
        self.deadline_ = deadline
        self.notices_ = notices
        self.timings_ms_ = timings
        self.fit_started_ = started
        self.ids_ = table.ids
        return self

    def _fit_stability(self, Xm: np.ndarray, labels: np.ndarray, options: SegmentationOptions,
                       started: float, notices: list) -> None:
        """Bootstrap stability of every segment (segengine.stability), with warnings below 0.6."""
        from segengine.stability import UNSTABLE_BELOW, segment_stability

        deadline = None
        if options.time_budget_ms is not None:
            deadline = started + options.time_budget_ms / 1000.0
        result = segment_stability(
            Xm, labels, self.n_clusters_, algorithm=self.algorithm_,
            covariance_type=options.covariance_type, random_state=options.random_state,
            deadline=deadline,
        )
        if result is None:
            self.stability_ = None
            self.stability_info_ = {"method": "bootstrap_jaccard", "resamples": 0}
            return
        self.stability_ = result.stability
        self.stability_info_ = result.to_dict()
        for j, value in enumerate(result.stability):
            if np.isfinite(value) and value < UNSTABLE_BELOW:
                notices.append(("warn_unstable_segment", {"segment": j, "pct": int(round(100 * value))}))

    # -- inspection --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError("This Segmenter is not fitted yet: call fit(X) first.")

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
        self._check_fitted()
        from segengine.report import build_report
        from segengine.text.language import normalize_language

        if not hasattr(self, "table_"):
            raise NotFittedError(
                "This Segmenter was loaded from a file and holds no records: "
                "use score_report(X) to report on records scored with it."
            )
        if getattr(self, "deadline_", None) is None:
            self.deadline_ = Deadline.for_request(self.options_.time_budget_ms)
        with parallel_section():
            return build_report(self, normalize_language(language), include_metadata=include_metadata)

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
        return {
            f.name: (f.kind, f.date_reference)
            for f in self.preprocessor_.fields_
            if f.kind in ("numeric", "binary", "categorical", "date")
        }

    def _new_table(self, X: Any, language: str, *, id_field: str | None = None) -> Table:
        id_field = id_field or self.options_.id_field
        if isinstance(X, (list, tuple)) and len(X) == 0:
            raise InvalidRequestError(
                error_text(language, "data_empty"), {"data": error_text(language, "data_empty")},
                error="Invalid parameters",
            )
        if isinstance(X, (list, tuple)) and len(X) and isinstance(X[0], dict):
            table = table_from_records(list(X), id_field=id_field, language=language,
                                       schema=self._schema())
        elif hasattr(X, "columns") and hasattr(X, "iloc"):
            table = table_from_frame(X, id_field=id_field, language=language, schema=self._schema())
        else:
            table = to_table(X, id_field=id_field, language=language)
            width = len(self.preprocessor_.fields_)
            if table.columns and len(table.columns) != width:
                raise ValidationError(
                    error_text(language, "validation_failed"),
                    {"X": error_text(language, "width_mismatch", expected=width, got=len(table.columns))},
                )
        present = {c.name for c in table.columns}
        if table.n_rows and not present & set(self.preprocessor_.used_fields_):
            raise ValidationError(
                error_text(language, "validation_failed"),
                {"data": error_text(language, "no_model_fields",
                                    fields=", ".join(self.preprocessor_.used_fields_))},
            )
        return table

    def _proba_matrix(self, Xm: np.ndarray) -> np.ndarray:
        """Membership probabilities (n, k) in segment order."""
        if self.algorithm_ == "gmm":
            from segengine.engines.gmm import _estimate_log_prob_resp

            g = self.gmm_params_
            _, log_resp = _estimate_log_prob_resp(
                np.ascontiguousarray(Xm), g["weights"], g["means"], g["precisions_cholesky"],
                g["covariance_type"],
            )
            resp = np.exp(log_resp)
        else:
            # Equal weights: a KMeans record belongs to its nearest centre, so its membership
            # must be largest there. With the segment shares as weights, a record near the
            # border of a small segment got a larger probability for the big neighbour than
            # for its own segment (issue #12: 241 of 23,570 customers).
            from segengine.engines import memberships as mb

            resp = mb.equal_weight_likelihood_ratios(mb.sq_distances(Xm, self.centers_), self.sigma2_)
        resp /= resp.sum(axis=1, keepdims=True)
        return resp

    def _labels_for(self, Xm: np.ndarray, resp: np.ndarray, engine_labels: np.ndarray | None = None) -> np.ndarray:
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

        table = self._new_table(X, language)
        # Said as a ScoringFieldsWarning pointing at the caller of predict / predict_proba.
        warn_scoring(scoring_notices(self.preprocessor_.fields_, table), language, stacklevel=4)
        return self.preprocessor_.transform(table, language=language)

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
        import copy

        from segengine.report import build_report
        from segengine.text.language import normalize_language

        self._check_fitted()
        lang = normalize_language(language)
        started = time.perf_counter() if started is None else started
        t0 = time.perf_counter()
        table = self._new_table(X, lang, id_field=id_field)
        if table.n_rows > self.options_.max_records:
            raise ValidationError(
                error_text(lang, "validation_failed"),
                {"data": error_text(lang, "too_many_records", n=table.n_rows, max=self.options_.max_records)},
            )
        Xm = self.preprocessor_.transform(table, language=lang)
        t1 = time.perf_counter()
        with parallel_section():
            resp = self._proba_matrix(Xm)
            labels = self._labels_for(Xm, resp)
        view = copy.copy(self)
        view.__dict__.pop("_profiles_cache", None)
        view.__dict__.pop("_silhouette_cache", None)
        view.table_ = table
        view.X_ = Xm
        view.labels_ = labels
        view.ids_ = table.ids
        view.prediction_ = resp[np.arange(labels.size), labels]
        view.confidence_ = _confidence(Xm, self.centers_, labels)
        from segengine.scoring_checks import scoring_notices

        view.notices_ = scoring_notices(self.preprocessor_.fields_, table)
        view.deadline_ = Deadline.for_request(self.options_.time_budget_ms, started)
        view.fit_started_ = started
        view.timings_ms_ = {"preprocessing": (t1 - t0) * 1000.0,
                            "scoring": (time.perf_counter() - t1) * 1000.0}
        with parallel_section():
            return build_report(view, lang, include_metadata=include_metadata)

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Save the fitted model as JSON (never pickle), atomically.

        Parameters
        ----------
        path : str or path-like
            Destination file (conventionally ``*.json``).
        """
        from segengine.persistence import write_model_file

        self._check_fitted()
        state: dict[str, Any] = {
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
            "options": self.options_.to_dict(),
            "preprocessor": self.preprocessor_.to_dict(),
            "algorithm": self.algorithm_,
            "n_clusters": self.n_clusters_,
            "centers": self.centers_.tolist(),
            "weights": self.weights_.tolist(),
            "sigma2": self.sigma2_,
            "selection": self.selection_.to_dict(),
            "algorithm_evidence": self.algorithm_evidence_,
            "stability": None if getattr(self, "stability_", None) is None else [
                None if not np.isfinite(v) else float(v) for v in self.stability_],
            "stability_info": getattr(self, "stability_info_", None),
        }
        if self.algorithm_ == "gmm":
            g = self.gmm_params_
            state["gmm"] = {
                "covariance_type": g["covariance_type"],
                "weights": g["weights"].tolist(),
                "means": g["means"].tolist(),
                "precisions_cholesky": g["precisions_cholesky"].tolist(),
            }
        write_model_file(path, state)

    @classmethod
    def load(cls, path: str) -> "Segmenter":
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
        from segengine.model_check import check_model_state
        from segengine.persistence import read_model_file

        state = read_model_file(path)
        check_model_state(state, str(path))  # shapes, values and consistency, before any use
        try:
            params = dict(state["params"])
            seg = cls(**params)
            opts = dict(state["options"])
            for key in ("features", "exclude"):
                if opts.get(key) is not None:
                    opts[key] = tuple(opts[key])
            seg.options_ = SegmentationOptions(**opts)
            seg.preprocessor_ = Preprocessor.from_dict(state["preprocessor"])
            seg.algorithm_ = str(state["algorithm"])
            seg.n_clusters_ = int(state["n_clusters"])
            seg.centers_ = np.array(state["centers"], dtype=np.float64).reshape(seg.n_clusters_, -1)
            seg.weights_ = np.array(state["weights"], dtype=np.float64)
            seg.sigma2_ = float(state["sigma2"])
            seg.selection_ = _SavedSelection(state["selection"])
            seg.silhouette_scores_ = dict(seg.selection_.scores)
            seg.algorithm_evidence_ = dict(state.get("algorithm_evidence") or {})
            stab = state.get("stability")
            seg.stability_ = None if stab is None else np.array(
                [np.nan if v is None else float(v) for v in stab], dtype=np.float64)
            seg.stability_info_ = state.get("stability_info")
            width = sum(f.width for f in seg.preprocessor_.fields_)
            if seg.algorithm_ not in ("kmeans", "gmm") or seg.centers_.shape[1] != width \
                    or seg.weights_.shape != (seg.n_clusters_,):
                raise ValueError("inconsistent shapes")
            if seg.algorithm_ == "gmm":
                g = state["gmm"]
                seg.gmm_params_ = {
                    "covariance_type": str(g["covariance_type"]),
                    "weights": np.array(g["weights"], dtype=np.float64),
                    "means": np.ascontiguousarray(np.array(g["means"], dtype=np.float64)),
                    "precisions_cholesky": np.ascontiguousarray(
                        np.array(g["precisions_cholesky"], dtype=np.float64)),
                }
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelFileError(f"{path} is a damaged segengine model file ({type(exc).__name__}: {exc}).") from None
        seg.labels_ = np.zeros(0, dtype=np.int64)  # marks the model as fitted; no training records kept
        seg.notices_ = []
        seg.timings_ms_ = {}
        return seg


class _SavedSelection:
    """The k-selection evidence of a loaded model (the KMeans fits themselves are not saved)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self._state = state
        self.scores = {int(k): v for k, v in (state.get("scores") or {}).items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return dict(self._state)


def _check_roles_against(table: Table, options: SegmentationOptions, language: str) -> None:
    """A 422 at ``options.roles.<field>`` for a role given to an unknown field or a wrong kind."""
    if not options.roles:
        return
    from segengine.roles import role_errors

    problems = role_errors(dict(options.roles), {c.name: c.kind for c in table.columns})
    if problems:
        raise ValidationError(
            error_text(language, "options_invalid"),
            {path: error_text(language, key, **params) for path, (key, params) in problems.items()},
        )


def _fit_gmm(X: np.ndarray, labels: np.ndarray, k: int, options: SegmentationOptions, max_iter: int = 100):
    """Gaussian mixture initialised from the KMeans labels; (None, reason) when it cannot be fitted."""
    import warnings

    from segengine.engines.gmm import gmm_em_from_labels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm = gmm_em_from_labels(X, labels, k, covariance_type=options.covariance_type, max_iter=max_iter)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        return None, str(exc).split("\n")[0][:200]
    if not np.all(np.isfinite(gmm.means)) or not np.isfinite(gmm.lower_bound):
        return None, "non-finite parameters"
    return gmm, ""


def _mixture_degeneracy(X: np.ndarray, pre: Preprocessor, gmm, evidence: dict, random_state) -> list:
    """Record lumpy fields and collapsed mixture components in ``evidence``; return the latter.

    See :mod:`segengine.mixture_checks`: a component sitting on one value of a point-mass or
    discrete field has an unbounded density there, so its BIC gain is an artefact.
    """
    from segengine.mixture_checks import collapsed_components, component_variances, lumpy_fields

    names = pre.feature_names_out_
    lumpy = lumpy_fields(X, names, random_state)
    k, d = np.asarray(gmm.means).shape
    variances = component_variances(gmm.covariance_type, gmm.covariances, k, d)
    collapsed = collapsed_components(variances, lumpy, names)
    evidence["point_mass_fields"] = [
        {"field": e["field"], "top_share": e["top_share"]} for e in lumpy
        if e["top_share"] >= config.POINT_MASS_SHARE]
    evidence["discrete_fields"] = [
        {"field": e["field"], "levels": e["levels"]} for e in lumpy if e["levels"] <= config.DISCRETE_MAX_LEVELS]
    evidence["collapsed_components"] = [
        {"component": c["component"], "field": c["field"], "std": round(c["std"], 8),
         "floor": round(c["floor"], 8)} for c in collapsed]
    evidence["gmm_degenerate"] = bool(collapsed)
    return collapsed


def _confidence(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Simplified silhouette (b - a) / max(a, b) against the own and nearest other centre, in [0, 1]."""
    from segengine.engines.memberships import confidence

    return confidence(X, centers, labels)


# -- bounded work and segments that could not be formed (issue 16; segengine.budget) -----------

_GMM_MAX_ITER = 100
# E-step passes of the mixture outside EM: the initial M-step, the BIC, the labels, the memberships.
_GMM_EXTRA_PASSES = 2


def _bounded_k(
    options: SegmentationOptions, k_min: int, k_max: int, n: int, n_columns: int, n_fields: int,
    notices: list, language: str,
) -> tuple[int, int | None]:
    """The k range and restarts the search may use (:func:`segengine.budget.k_cap`).

    A fixed ``n_clusters`` (or a ``k_min``) above the cap is a 422 that says why; ``k_max``
    above the search's cap is lowered, and restarts that would exceed the search's work are
    reduced, each with a warning.

    Returns
    -------
    (int, int or None)
        The largest k to search and ``n_init`` for :func:`segengine.selection.select_k`.
    """
    cap = k_cap(n, n_columns, n_fields)
    if k_min > cap:
        name = "n_clusters" if options.n_clusters is not None else "k_min"
        raise ValidationError(
            error_text(language, "options_invalid"),
            {f"options.{name}": error_text(language, "k_over_work_cap", name=name, k=k_min, n=n,
                                           d=n_columns, f=n_fields, cap=cap)},
        )
    n_search = min(n, config.SEARCH_MAX_N)
    n_init = options.n_init if options.n_init is not None else auto_n_init(n_search)
    bounded = min(k_max, cap, search_k_cap(n_search, n_columns, k_min, k_max, n_init))
    if bounded < k_max:
        notices.append(("warn_k_max_work", {"k": bounded, "n": n, "d": n_columns}))
    sum_k = (bounded - k_min + 1) * (bounded + k_min) // 2
    affordable = max(1, config.SEARCH_MAX_WORK // max(1, n_search * n_columns * sum_k))
    if n_init > affordable:
        notices.append(("warn_n_init_work", {"r": affordable, "n": n, "d": n_columns}))
        return bounded, affordable
    return bounded, options.n_init


def _gmm_iterations(deadline: Deadline, n: int, d: int, k: int, covariance_type: str) -> int:
    """EM iterations the deadline leaves for the mixture (0: skip it, recorded on the deadline)."""
    per_iter = gmm_iteration_ms(n, d, k, covariance_type)
    iters = deadline.passes(per_iter, _GMM_MAX_ITER + _GMM_EXTRA_PASSES, least=0) - _GMM_EXTRA_PASSES
    if iters < 1:
        deadline.degrade("budget_gmm_skipped")
        return 0
    return int(iters)


def _filled(labels: np.ndarray, k: int) -> int:
    """Segments of ``0..k-1`` that hold at least one record."""
    return int(np.count_nonzero(np.bincount(labels, minlength=k)))


def _reduced_segments(sel: Any, X: np.ndarray, m: int, notices: list, language: str) -> None:
    """Fewer segments hold records than were chosen: say why, or 422 when fewer than two.

    KMeans leaves a centre without records only when the arithmetic cannot tell the records
    apart: squared distances overflow (values near 1e154 and above, unscaled) or the records
    differ in the last bits only. The report then has the segments that hold records, and
    ``metadata.k_selection`` says so (``chosen`` is the reported number, ``searched_k`` the k
    that was fitted).
    """
    how = "reduced_overflow" if _overflows(X) else "reduced_degenerate"
    if m < 2:
        raise ValidationError(
            error_text(language, "validation_failed"),
            {"data": error_text(language, "one_segment_only", how=error_text(language, how))},
        )
    notices.append(("warn_segments_reduced", {"m": m, "k": sel.k, "how": how}))
    sel.formed = m


def _overflows(X: np.ndarray) -> bool:
    """Whether squared distances between the records overflow float64 (unscaled values ~1e154+)."""
    with np.errstate(over="ignore", invalid="ignore"):
        span = X.max(axis=0) - X.min(axis=0)
        return not np.isfinite(float(np.dot(span, span)) * X.shape[0])


def _rescaled_kmeans(X: np.ndarray, k: int, options: SegmentationOptions, fallback: Any) -> Any:
    """KMeans on a power-of-two rescaled, uncentred copy, for data whose squared distances over-
    or underflow (values ~1e154 and above, or differences ~1e-154 and below, next to large ones).

    Scaling by a power of two is exact and KMeans is scale-invariant, so the labels are those of
    the original records; the centres are mapped back exactly. Centring is skipped on purpose:
    subtracting a mean of ~1e120 would erase the small values. Returns ``fallback`` when the
    refit fills no more segments.
    """
    from segengine.engines.kmeans import KMeansResult, kmeans_fit

    shift = int(np.frexp(float(np.abs(X).max()))[1]) - 400  # largest |value| ~ 2**400 after
    Y = np.ascontiguousarray(np.ldexp(X, -shift))
    fit = kmeans_fit(Y, k, n_init=max(4, options.n_init or 1), random_state=options.random_state,
                     x_sq_norms=np.einsum("ij,ij->i", Y, Y))
    if _filled(fit.labels, k) <= _filled(fallback.labels, k):
        return fallback
    with np.errstate(over="ignore"):
        inertia = float(np.ldexp(fit.inertia, 2 * shift))
    return KMeansResult(centers=np.ldexp(fit.centers, shift), labels=fit.labels, inertia=inertia,
                        n_iter=fit.n_iter)

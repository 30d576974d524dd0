"""The scikit-learn surface of :class:`segengine.Segmenter`, kept apart from the pipeline.

`SegmenterEstimatorMixin` adds, over Segmenter's public methods (``fit``, ``predict``,
``predict_proba``, ``transform_records``, ``report``, ``centers_``, ``n_clusters_``...), what
scikit-learn's meta-estimators and common checks expect from a clusterer that also transforms:
tags, ``fit_predict``, ``transform`` to distances, ``score``, ``set_output``,
``get_feature_names_out``, ``n_features_in_`` / ``feature_names_in_``, plus :meth:`assign`.

scikit-learn is imported only inside ``__sklearn_tags__`` (which only scikit-learn calls), so
``import segengine`` and fitting a Segmenter never import it.
"""

from __future__ import annotations

import functools
import numbers
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from segengine import config
from segengine.errors import NotFittedError
from segengine.scoring_checks import ScoringFieldsWarning

__all__ = ["SegmenterEstimatorMixin", "segment_distances"]

_OUTPUTS = ("default", "pandas", "polars")


def segment_distances(Xm: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row of ``Xm`` to every centre.

    The numba kernel behind ``KMeans.transform``, which works from exact coordinate
    differences: the expansion ``|x|^2 - 2 x.c + |c|^2`` loses every digit when records sit far
    from the origin but close to a centre. It runs on one thread: at 250,000 x 30 and 10
    centres it takes about 0.06 s, against 0.14-0.17 s for scikit-learn's
    ``euclidean_distances`` and 0.23-0.37 s for the same differences in numpy (same run);
    threads did not pay on the shared 2-core machine.

    Parameters
    ----------
    Xm : numpy.ndarray of shape (n_records, n_columns)
        Records in the model space (:meth:`Segmenter.transform_records`).
    centers : numpy.ndarray of shape (n_segments, n_columns)

    Returns
    -------
    numpy.ndarray of shape (n_records, n_segments), float64
    """
    from segengine.engines._kmeans_kernels import center_distances

    Xm = np.ascontiguousarray(Xm, dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    if Xm.ndim != 2 or centers.ndim != 2 or Xm.shape[1] != centers.shape[1]:
        raise ValueError(f"records of shape {Xm.shape} and centres of shape {centers.shape} do not match")
    # None: the serial path, whose compile skips the prange twin (_kmeans_kernels.parallel_flag)
    return center_distances(Xm, centers, config.BLOCK_ROWS, None)


def _is_frame(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _record_input_features(estimator: Any, X: Any) -> None:
    """Set ``n_features_in_`` / ``feature_names_in_`` as scikit-learn's ``fit`` does.

    Array-likes give ``n_features_in_`` (their number of columns); DataFrames whose column names
    are all strings give ``feature_names_in_`` too; records (a list of dicts) give neither, as
    for any input scikit-learn cannot count features in. A refit on another form drops what no
    longer applies.
    """
    for name in ("n_features_in_", "feature_names_in_"):
        estimator.__dict__.pop(name, None)
    if _is_frame(X):
        columns = list(X.columns)
        estimator.n_features_in_ = len(columns)
        if columns and all(isinstance(c, str) for c in columns):
            estimator.feature_names_in_ = np.asarray(columns, dtype=object)
        return
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], dict):
        return
    shape = getattr(X, "shape", None)
    if shape is None:
        try:
            shape = np.shape(X)
        except (TypeError, ValueError):  # ragged nested lists: fit already refused them
            return
    if len(shape) == 2:
        estimator.n_features_in_ = int(shape[1])
    elif len(shape) == 1:  # a 1-D array is read as one field (segengine.table.table_from_array)
        estimator.n_features_in_ = 1


# Caches of the previous fit that a refit must not inherit: the report's profiles and
# silhouettes (segengine.report) and assign's segment names. Before this, a Segmenter refitted
# after report() reported the old profiles (an IndexError when k grew, wrong numbers silently
# when it did not).
_FIT_CACHES = ("_profiles_cache", "_silhouette_cache", "_segment_names_cache")


def _recording_fit(fit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fit)
    def fit_and_record(self, X, *args, **kwargs):
        for name in _FIT_CACHES:
            self.__dict__.pop(name, None)
        result = fit(self, X, *args, **kwargs)
        _record_input_features(self, X)
        return result

    fit_and_record._records_input_features = True  # type: ignore[attr-defined]
    return fit_and_record


class SegmenterEstimatorMixin:
    """scikit-learn estimator protocol and :meth:`assign` for :class:`segengine.Segmenter`.

    The subclass provides ``fit``, ``predict``, ``predict_proba``, ``transform_records``,
    ``report`` / ``score_report`` and the fitted ``n_clusters_`` and ``centers_``. Its ``fit``
    is wrapped at class creation so that it starts without the caches of a previous fit and
    sets ``n_features_in_`` and ``feature_names_in_`` after it, whatever the fit does inside
    (scikit-learn's own ``_SetOutputMixin`` wraps ``transform`` the same way).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "_records_input_features", False):
            cls.fit = _recording_fit(fit)

    # -- tags ----------------------------------------------------------------------------------
    def __sklearn_tags__(self):
        """Estimator tags (scikit-learn >= 1.6): a clusterer that also transforms to distances.

        Returns
        -------
        sklearn.utils.Tags
        """
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=["float64"]),
            # The same data, options and random_state give the same segments, bit for bit.
            non_deterministic=False,
            requires_fit=True,
            input_tags=InputTags(
                two_d_array=True,
                allow_nan=True,  # missing values are imputed (segengine.preprocessing)
                categorical=True,  # string / category / bool columns of a DataFrame are encoded
                dict=True,  # a list of records (one dict per customer)
                string=False,  # a bare array of strings is not a table of fields
                sparse=False,
            ),
        )

    def __sklearn_is_fitted__(self) -> bool:
        """Whether :meth:`fit` has run (or the model was loaded from a file)."""
        return hasattr(self, "n_clusters_")

    def _require_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call fit(X) first.")

    # -- clusterer -------------------------------------------------------------------------------
    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit on ``X`` and return the segment of every record.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
            The customers (see ``fit``).
        y : ignored
        **fit_params
            Passed on to ``fit`` (e.g. ``language``).

        Returns
        -------
        numpy.ndarray of shape (n_records,)
            ``labels_`` after the fit (segment 0 is the largest).
        """
        return self.fit(X, y, **fit_params).labels_

    # -- transformer -----------------------------------------------------------------------------
    def transform(self, X: Any, *, language: str = "en") -> Any:
        """Distance of every record to every segment centre, in the model space.

        Like ``sklearn.cluster.KMeans.transform``: the records are preprocessed as at fit time
        (:meth:`transform_records`: imputation, encoding, scaling) and column ``j`` is the
        Euclidean distance to ``centers_[j]`` (for a Gaussian mixture, its component means).

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
            New customers, in the same form and fields as at fit time.
        language : str
            Language of the error sentences.

        Returns
        -------
        numpy.ndarray, pandas.DataFrame or polars.DataFrame of shape (n_records, n_clusters_)
            A float64 array, or the container chosen with :meth:`set_output` (or scikit-learn's
            global ``transform_output``), its columns named by :meth:`get_feature_names_out`; a
            pandas result keeps the index of a DataFrame ``X``.
        """
        self._require_fitted()
        distances = segment_distances(self.transform_records(X, language=language), self.centers_)
        return self._wrap_output(distances, X)

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit on ``X``, then return :meth:`transform` of ``X``.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
        y : ignored
        **fit_params
            Passed on to ``fit`` (e.g. ``language``).

        Returns
        -------
        numpy.ndarray or DataFrame of shape (n_records, n_clusters_)
        """
        language = fit_params.get("language", "en")
        return self.fit(X, y, **fit_params).transform(X, language=language)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns of :meth:`transform`: ``segment0``, ``segment1``...

        Parameters
        ----------
        input_features : array-like of str, optional
            Checked against the fitted input (``feature_names_in_``, else ``n_features_in_``);
            the output names do not depend on them.

        Returns
        -------
        numpy.ndarray of str (object dtype), shape (n_clusters_,)

        Raises
        ------
        ValueError
            ``input_features`` that do not match the fitted input.
        """
        self._require_fitted()
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and (given.shape != fitted.shape or not np.all(given == fitted)):
                raise ValueError("input_features is not equal to feature_names_in_")
            n_in = getattr(self, "n_features_in_", None)
            if fitted is None and n_in is not None and given.size != n_in:
                raise ValueError(
                    f"input_features should have length equal to number of features ({n_in}), "
                    f"got {given.size}"
                )
        return np.asarray([f"segment{j}" for j in range(self.n_clusters_)], dtype=object)

    def set_output(self, *, transform: str | None = None) -> Any:
        """Choose the container :meth:`transform` and :meth:`fit_transform` return.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None
            ``"default"``: a numpy array (unless scikit-learn's global ``transform_output``
            says otherwise); ``"pandas"`` / ``"polars"``: a DataFrame with the columns of
            :meth:`get_feature_names_out` (pandas keeps a DataFrame input's index); None
            leaves the choice unchanged.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            An unknown container.
        ImportError
            ``"polars"`` without polars installed.
        """
        if transform is None:
            return self
        if transform not in _OUTPUTS:
            raise ValueError(f"set_output(transform=...) must be one of {list(_OUTPUTS)} or None, "
                             f"got {transform!r}.")
        if transform == "polars":
            _import_polars()
        # The attribute scikit-learn's clone() copies and its meta-estimators read.
        self._sklearn_output_config = {**getattr(self, "_sklearn_output_config", {}), "transform": transform}
        return self

    def _output_container(self) -> str:
        chosen = getattr(self, "_sklearn_output_config", {}).get("transform")
        if chosen is not None:
            return chosen
        sklearn = sys.modules.get("sklearn")  # its global config can only be set once imported
        if sklearn is not None:
            return sklearn.get_config().get("transform_output", "default")
        return "default"

    def _wrap_output(self, values: np.ndarray, X: Any) -> Any:
        container = self._output_container()
        if container == "default":
            return values
        columns = list(self.get_feature_names_out())
        if container == "pandas":
            import pandas as pd  # the caller asked for pandas output

            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(values, index=index, columns=columns)
        if container == "polars":
            pl = _import_polars()
            return pl.DataFrame(values, schema=columns, orient="row")
        raise ValueError(f"Unknown transform output {container!r}: expected one of {list(_OUTPUTS)}.")

    # -- score -----------------------------------------------------------------------------------
    def score(self, X: Any, y: Any = None, *, language: str = "en") -> float:
        """Mean silhouette of the segments ``X`` falls in (higher is better, in [-1, 1]).

        What ``GridSearchCV`` maximises when ``scoring=None``: the records are assigned with
        :meth:`predict` and scored in the model space (as ``fit`` scores k candidates), so it
        rewards well separated segments and, unlike KMeans' negative inertia, does not grow
        with the number of segments. Exact up to ``config.SILHOUETTE_EXACT_MAX_N`` records
        (or always, with ``silhouette="exact"``); above, the mean over a seeded sample of
        ``config.SILHOUETTE_SAMPLE_SIZE`` records, each scored against all records. Scores of
        models that preprocess differently (``scaling``, ``features``) are in different spaces.

        Parameters
        ----------
        X : list of dict, pandas.DataFrame or array-like of shape (n_records, n_features)
        y : ignored
        language : str
            Language of the error sentences.

        Returns
        -------
        float
            0.0 when the records fall in fewer than two segments, or each in its own (there is
            no separation to measure).
        """
        from segengine.metrics.silhouette import silhouette_score

        self._require_fitted()
        labels = np.asarray(self.predict(X, language=language))
        with warnings.catch_warnings():  # predict has just said what the fields lack
            warnings.simplefilter("ignore", ScoringFieldsWarning)
            Xm = self.transform_records(X, language=language)
        n = Xm.shape[0]
        used = np.unique(labels).size
        if used < 2 or used >= n:
            return 0.0
        sample = None
        if getattr(self, "silhouette", "auto") != "exact" and n > config.SILHOUETTE_EXACT_MAX_N:
            sample = config.SILHOUETTE_SAMPLE_SIZE
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
        return float(silhouette_score(Xm, labels, sample_size=sample, random_state=int(seed)))

    # -- the caller's table with segments -----------------------------------------------------
    def assign(self, X: Any, *, language: str = "en") -> Any:
        """The caller's records with their segment, its name and one probability per segment.

        Parameters
        ----------
        X : pandas.DataFrame, list of dict or 2-D array
            Customers, in the same fields as at fit time. Never modified.
        language : str
            Language of the segment names ("en", "es", "pt").

        Returns
        -------
        pandas.DataFrame or list of dict
            See :func:`segengine.assign.assign_segments`.
        """
        from segengine.assign import assign_segments

        self._require_fitted()
        return assign_segments(self, X, language=language)


def _import_polars() -> Any:
    try:
        import polars
    except ImportError:
        raise ImportError(
            "set_output(transform='polars') needs polars: pip install polars"
        ) from None
    return polars

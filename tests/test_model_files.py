"""Tampered, damaged or hostile model files: ``Segmenter.load`` raises ModelFileError, never later.

Each variant edits a real saved model the way a careless editor or an attacker would (issue 16,
items 1 and 2). Before these checks, some variants aborted the process ("double free or
corruption"), returned NaN predictions in a 200 body or failed with a 500 at scoring time.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import segengine as se
from segengine.datasets import load_demo_customers
from segengine.errors import ModelFileError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def records():
    return load_demo_customers(n=400, random_state=5)[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory, records):
    """Saved states of a full mixture, a diagonal mixture and a KMeans model."""
    out = {}
    folder = tmp_path_factory.mktemp("models")
    for name, kwargs in {"gmm_full": {"algorithm": "gmm", "covariance_type": "full"},
                         "gmm_diag": {"algorithm": "gmm", "covariance_type": "diag"},
                         "gmm_spherical": {"algorithm": "gmm", "covariance_type": "spherical"},
                         "gmm_tied": {"algorithm": "gmm", "covariance_type": "tied"},
                         "kmeans": {"algorithm": "kmeans"}}.items():
        model = se.Segmenter(k_max=4, **kwargs).fit(records)
        path = folder / f"{name}.json"
        model.save(path)
        out[name] = json.loads(path.read_text())
    return out


def _write(tmp_path, state, raw: str | None = None) -> Path:
    path = tmp_path / "model.json"
    path.write_text(raw if raw is not None else json.dumps(state))
    return path


def _rows(value, extra):
    return [row + [0.0] * extra for row in value]


def _set(path: str, value):
    def edit(state):
        *head, last = path.split(".")
        node = state
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


def _first_used(kind):
    def find(state):
        for i, f in enumerate(state["preprocessor"]["fields"]):
            if f["used"] and f["kind"] == kind:
                return i
        raise AssertionError(kind)
    return find


def _field_edit(kind, key, value):
    def edit(state):
        state["preprocessor"]["fields"][_first_used(kind)(state)][key] = value
    return edit


def _nan_first(name):
    def edit(state):
        node = state["gmm"][name] if name != "centers" else state["centers"]
        while isinstance(node[0], list):
            node = node[0]
        node[0] = float("nan")
    return edit


def _drop(*path):
    def edit(state):
        node = state
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


# (model, edit) pairs: each edit makes the file invalid.
TAMPERED = {
    "gmm_means_rows_longer": ("gmm_full", lambda s: s["gmm"].update(means=_rows(s["gmm"]["means"], 50))),
    "gmm_precisions_one_cell": ("gmm_full", _set("gmm.precisions_cholesky", [[[1.0]]])),
    "gmm_precisions_empty": ("gmm_full", _set("gmm.precisions_cholesky", [])),
    "gmm_precisions_lower": ("gmm_full", lambda s: s["gmm"]["precisions_cholesky"][0][1].__setitem__(0, 0.5)),
    "gmm_precisions_zero_diagonal": ("gmm_full", lambda s: s["gmm"]["precisions_cholesky"][0][0].__setitem__(0, 0.0)),
    "gmm_weights_short": ("gmm_full", lambda s: s["gmm"]["weights"].pop()),
    "gmm_weights_negative": ("gmm_full", lambda s: s["gmm"]["weights"].__setitem__(0, -0.1)),
    "gmm_weights_nan": ("gmm_full", _nan_first("weights")),
    "gmm_means_nan": ("gmm_full", _nan_first("means")),
    "gmm_precisions_nan": ("gmm_diag", _nan_first("precisions_cholesky")),
    "centers_nan": ("kmeans", _nan_first("centers")),
    "covariance_bogus": ("gmm_full", _set("gmm.covariance_type", "bogus")),
    "covariance_mismatch": ("gmm_full", _set("gmm.covariance_type", "diag")),
    "diag_as_spherical": ("gmm_diag", _set("gmm.covariance_type", "spherical")),
    "spherical_as_tied": ("gmm_spherical", _set("gmm.covariance_type", "tied")),
    "tied_factor_nonpositive": ("gmm_tied", lambda s: s["gmm"]["precisions_cholesky"][0].__setitem__(0, -1.0)),
    "gmm_missing": ("gmm_full", _drop("gmm")),
    "sigma2_zero": ("kmeans", _set("sigma2", 0.0)),
    "sigma2_string": ("kmeans", _set("sigma2", "1")),
    "centers_short": ("kmeans", lambda s: s["centers"].pop()),
    "centers_strings": ("kmeans", lambda s: s["centers"][0].__setitem__(0, "1.5")),
    "centers_bool": ("kmeans", lambda s: s["centers"][0].__setitem__(0, True)),
    "weights_sum": ("kmeans", lambda s: s["weights"].__setitem__(0, s["weights"][0] + 0.5)),
    "n_clusters_zero": ("kmeans", _set("n_clusters", 0)),
    "n_clusters_string": ("kmeans", _set("n_clusters", "3")),
    "algorithm_unknown": ("kmeans", _set("algorithm", "dbscan")),
    "center_string": ("kmeans", _field_edit("numeric", "center", "0")),
    "impute_string": ("kmeans", _field_edit("numeric", "impute", "x")),
    "impute_missing": ("kmeans", _field_edit("numeric", "impute", None)),
    "scale_zero": ("kmeans", _field_edit("numeric", "scale", 0.0)),
    "scale_negative": ("kmeans", _field_edit("numeric", "scale", -1.0)),
    "log1p_string": ("kmeans", _field_edit("numeric", "log1p", "yes")),
    "kind_unknown": ("kmeans", _field_edit("numeric", "kind", "text")),
    "categories_not_strings": ("kmeans", _field_edit("categorical", "categories", [1, 2])),
    "categories_duplicated": ("kmeans", _field_edit("categorical", "categories", ["a", "a", "b"])),
    "date_reference_malformed": ("kmeans", _field_edit("date", "date_reference", "yesterday")),
    "date_reference_timezone": ("kmeans", _field_edit("date", "date_reference", "2024-01-01T00:00:00+02:00")),
    "date_reference_missing": ("kmeans", _field_edit("date", "date_reference", None)),
    "field_unknown_key": ("kmeans", _field_edit("numeric", "evil", 1)),
    "fields_not_list": ("kmeans", _set("preprocessor.fields", {"a": 1})),
    "options_max_records_text": ("kmeans", _set("options.max_records", "abc")),
    "options_scaling_unknown": ("kmeans", _set("options.scaling", "log")),
    "params_unknown": ("kmeans", _set("params.evil", 1)),
    "preprocessor_options_bad": ("kmeans", _set("preprocessor.options.k_max", -3)),
    "selection_scores_bad_key": ("kmeans", _set("selection.scores", {"two": 0.5})),
    "selection_not_object": ("kmeans", _set("selection", [1, 2])),
    "evidence_not_object": ("kmeans", _set("algorithm_evidence", "x")),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_tampered_model_is_refused_at_load(tmp_path, saved, name):
    model, edit = TAMPERED[name]
    state = copy.deepcopy(saved[model])
    edit(state)
    with pytest.raises(ModelFileError):
        se.Segmenter.load(_write(tmp_path, state))


@pytest.mark.parametrize("model", ["gmm_full", "gmm_diag", "gmm_spherical", "gmm_tied", "kmeans"])
def test_untampered_models_still_load_and_score(tmp_path, saved, records, model):
    loaded = se.Segmenter.load(_write(tmp_path, saved[model]))
    status, body = se.handle_request({"data": records[:50]}, model=loaded)
    assert status == 200 and len(body["results"]) == 50
    assert np.isfinite(loaded.predict_proba(records[:50])).all()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_literals_are_refused(tmp_path, saved, literal):
    text = json.dumps(saved["kmeans"])
    text = text.replace('"sigma2": ', f'"sigma2": {literal}, "_was": ', 1)
    with pytest.raises(ModelFileError):
        se.Segmenter.load(_write(tmp_path, None, raw=text))


@pytest.mark.parametrize("digits", [25, 4500, 5000])
def test_huge_integer_literals_are_refused(tmp_path, saved, digits):
    text = json.dumps(saved["kmeans"]).replace('"n_clusters": ', f'"n_clusters": {"9" * digits}, "_was": ', 1)
    with pytest.raises(ModelFileError):
        se.Segmenter.load(_write(tmp_path, None, raw=text))


def test_devices_are_read_with_a_bound():
    # st_size is 0 for a device: reading /dev/zero to the end would never stop.
    with pytest.raises(ModelFileError):
        se.Segmenter.load("/dev/zero")


def test_fifo_is_read_with_a_bound(tmp_path):
    fifo = tmp_path / "model.fifo"
    os.mkfifo(fifo)
    code = f"f = open({str(fifo)!r}, 'wb')\ntry:\n    f.write(b' ' * (1 << 22))\nexcept BrokenPipeError:\n    pass"
    writer = subprocess.Popen([sys.executable, "-c", code])
    try:
        with pytest.raises(ModelFileError):
            se.Segmenter.load(fifo)
    finally:
        writer.kill()
        writer.wait()


def test_lengthened_mixture_means_never_reach_the_kernels(tmp_path, saved, records):
    """The case that aborted the process: it must be a ModelFileError, in a child process so a
    crash fails this test instead of killing the run."""
    state = copy.deepcopy(saved["gmm_full"])
    state["gmm"]["means"] = _rows(state["gmm"]["means"], 50)
    path = _write(tmp_path, state)
    code = textwrap.dedent(f"""
        import segengine as se
        from segengine.datasets import load_demo_customers
        from segengine.errors import ModelFileError
        records = load_demo_customers(n=50, random_state=5)[0]
        try:
            model = se.Segmenter.load({str(path)!r})
        except ModelFileError:
            print("refused")
        else:
            print(se.handle_request({{"data": records}}, model=model)[0])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "refused"


def test_kernel_boundary_refuses_mismatched_mixture_parameters():
    from segengine.engines.gmm import mixture_log_prob_resp as _estimate_log_prob_resp

    X = np.zeros((5, 3))
    w = np.full(2, 0.5)
    good = np.ones((2, 3, 3))
    with pytest.raises(ValueError):
        _estimate_log_prob_resp(X, w, np.zeros((2, 53)), good, "full")
    with pytest.raises(ValueError):
        _estimate_log_prob_resp(X, w, np.zeros((2, 3)), np.ones((1, 1, 1)), "full")
    with pytest.raises(ValueError):
        _estimate_log_prob_resp(X, np.ones(3) / 3, np.zeros((2, 3)), good, "full")
    with pytest.raises(ValueError):
        _estimate_log_prob_resp(X, w, np.zeros((2, 3)), np.ones((2, 3)), "spherical")


def test_kernel_boundary_refuses_mismatched_centres():
    from segengine.engines.kmeans import nearest_two

    with pytest.raises(ValueError):
        nearest_two(np.zeros((5, 3)), np.zeros((2, 4)))

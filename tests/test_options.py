"""The option table (segengine.options.OPTIONS) and everything derived from it.

One table gives the Segmenter's signature and parameters, SegmentationOptions, the request's
option parsing, the OpenAPI document and the command line's option help; these tests hold them
together and check the parsing itself: paths, aliases, ranges, choices and defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys

import pytest

import segengine as se
from segengine.errors import ValidationError
from segengine.options import (
    DEFAULTS,
    MAX_DETAILS,
    OPTION_NAMES,
    OPTIONS,
    WITH_MODEL,
    SegmentationOptions,
    camel_case,
    canonical_option_name,
    option_help,
    parse_options,
)
from segengine.request import parse_request
from segengine.segmenter import Segmenter
from segengine.text.catalog import MESSAGES
from segengine.text.language import LANGUAGES

# --------------------------------------------------------------------------- one table, four views


def test_segmenter_signature_params_options_and_request_agree():
    signature = inspect.signature(Segmenter.__init__)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    # Names, in table order, everywhere.
    assert [p.name for p in params] == list(OPTION_NAMES)
    assert Segmenter._PARAMS == OPTION_NAMES
    assert [f.name for f in dataclasses.fields(SegmentationOptions)] == list(OPTION_NAMES)
    assert list(Segmenter().get_params()) == list(OPTION_NAMES)
    # Defaults: the signature's are the table's, as a caller writes them ...
    assert {p.name: p.default for p in params} == DEFAULTS
    # ... and SegmentationOptions, a request without options and a default Segmenter all parse
    # them to the same validated options.
    parsed = parse_options(DEFAULTS, prefix="")
    assert parsed == SegmentationOptions()
    assert parse_request({"data": [{"x": 1}]}).options == SegmentationOptions()
    assert parse_request({"data": [{"x": 1}], "options": {}}).options == SegmentationOptions()
    assert Segmenter()._options() == SegmentationOptions()
    for f in dataclasses.fields(SegmentationOptions):
        assert f.default == getattr(parsed, f.name), f.name


def test_spec_defaults():
    # SPEC section 2 (Options) is the authority on the product's defaults.
    assert DEFAULTS["n_clusters"] == "auto"
    assert (DEFAULTS["k_min"], DEFAULTS["k_max"]) == (2, 10)
    assert DEFAULTS["algorithm"] == "auto" and DEFAULTS["covariance_type"] == "full"
    assert DEFAULTS["features"] is None and DEFAULTS["exclude"] == ()
    assert DEFAULTS["id_field"] == "id" and DEFAULTS["scaling"] == "auto"
    assert DEFAULTS["max_categories"] == 20 and DEFAULTS["random_state"] == 0
    assert DEFAULTS["silhouette"] == "auto" and DEFAULTS["max_records"] == 250_000
    assert DEFAULTS["time_budget_ms"] is None and DEFAULTS["naming"] == "archetype"
    # "auto" is held as None once validated.
    assert SegmentationOptions().n_clusters is None and SegmentationOptions().n_init is None
    assert SegmentationOptions().roles == ()


def test_from_options_round_trip():
    options = parse_options({"k_max": 7, "algorithm": "KMeans", "roles": {"spend": "monetary"}})
    seg = Segmenter.from_options(options)
    assert seg._options() == options
    assert repr(Segmenter()) == "Segmenter()"
    assert repr(Segmenter(k_max=7)) == "Segmenter(k_max=7)"


def test_table_rows_are_well_formed():
    assert len({o.name for o in OPTIONS}) == len(OPTIONS)
    for option in OPTIONS:
        assert option.kind in ("int", "choice", "string", "names", "roles"), option
        if option.kind == "choice":
            assert option.default in option.choices, option
        if option.kind == "int" and isinstance(option.default, int):
            assert option.low <= option.default and (option.high is None or option.default <= option.high)
        # every default is accepted by its own rule
        assert option.check(option.default) is None, option
    assert WITH_MODEL == {"id_field", "max_records"}


def test_every_option_has_a_help_sentence_in_every_language():
    for option in OPTIONS:
        for language in LANGUAGES:
            assert MESSAGES[language][option.help_key].strip(), (option.name, language)
    assert [row[0] for row in option_help("pt")] == list(OPTION_NAMES)
    assert len({row[2] for row in option_help("es")}) == len(OPTIONS)


# --------------------------------------------------------------------------- parsing


def test_camel_and_snake_case_are_the_same_option():
    for name in OPTION_NAMES:
        assert canonical_option_name(camel_case(name)) == name
        assert canonical_option_name(name) == name
    assert camel_case("time_budget_ms") == "timeBudgetMs"
    assert parse_options({"kMin": 3, "maxCategories": 5}) == parse_options({"k_min": 3, "max_categories": 5})
    assert parse_options({"k_max": 6, "kMax": 6}).k_max == 6  # both spellings, same value: fine


def test_conflicting_spellings_name_the_second_one():
    with pytest.raises(ValidationError) as info:
        parse_options({"k_max": 6, "kMax": 7})
    assert list(info.value.details) == ["options.kMax"]
    assert "'k_max' and 'kMax'" in info.value.details["options.kMax"]


@pytest.mark.parametrize(
    ("options", "path", "fragment"),
    [
        ({"k_max": 1}, "options.k_max", "between 2 and 1000"),
        ({"k_min": 2.5}, "options.k_min", "integer"),
        ({"k_min": True}, "options.k_min", "integer"),
        ({"random_state": -1}, "options.random_state", "between 0 and 4294967295"),
        ({"time_budget_ms": 0}, "options.time_budget_ms", ">= 1"),
        ({"time_budget_ms": "auto"}, "options.time_budget_ms", ">= 1"),
        ({"nInit": 0}, "options.nInit", "between 1 and 100"),
        ({"algorithm": "dbscan"}, "options.algorithm", "auto, kmeans, gmm"),
        ({"scaling": None}, "options.scaling", "auto, standard, robust, minmax, none"),
        ({"id_field": ""}, "options.id_field", "non-empty"),
        ({"features": "spend"}, "options.features", "list of field names"),
        ({"exclude": None}, "options.exclude", "list of field names"),
        ({"roles": ["spend"]}, "options.roles", "roles must be an object"),
        ({"roles": {"spend": "money"}}, "options.roles.spend", "recency, frequency"),
        ({"kmax": 8}, "options.kmax", "did you mean 'k_max'"),
        ({"colour": 1}, "options.colour", "Unknown option 'colour'"),
        ({"k_min": 5, "k_max": 3}, "options.k_min", "k_min (5) must not exceed k_max (3)"),
        ({"kMax": 3, "kMin": 5}, "options.kMin", "k_min (5) must not exceed k_max (3)"),
    ],
)
def test_bad_options_name_their_path(options, path, fragment):
    with pytest.raises(ValidationError) as info:
        parse_options(options)
    err = info.value
    assert err.status == 422 and err.message == "Invalid options"
    assert list(err.details) == [path]
    assert fragment in err.details[path]


def test_estimator_prefix_and_non_mapping():
    with pytest.raises(ValidationError) as info:
        parse_options({"k_max": 0}, prefix="")
    assert list(info.value.details) == ["k_max"]
    with pytest.raises(ValidationError) as info:
        parse_options([("k_max", 3)])
    assert info.value.details == {"options": "The options field must be an object."}


def test_values_are_normalised():
    opts = parse_options({
        "n_clusters": 4.0, "algorithm": "GMM", "features": ["a", "b"], "exclude": ("c",),
        "roles": {"a": "Recency"}, "n_init": "auto", "time_budget_ms": None, "nClusters": 4,
    })
    assert opts.n_clusters == 4 and isinstance(opts.n_clusters, int)
    assert opts.algorithm == "gmm" and opts.features == ("a", "b") and opts.exclude == ("c",)
    assert opts.roles == (("a", "recency"),) and opts.n_init is None and opts.time_budget_ms is None
    assert parse_options({"n_clusters": None}).n_clusters is None
    assert parse_options({"n_clusters": "auto"}).n_clusters is None
    hash(opts)  # frozen and hashable
    assert json.loads(json.dumps(opts.to_dict()))["roles"] == {"a": "recency"}


def test_many_bad_options_are_capped_and_counted():
    options = {f"bad{i}": 1 for i in range(MAX_DETAILS + 7)}
    with pytest.raises(ValidationError) as info:
        parse_options(options)
    details = info.value.details
    assert len(details) == MAX_DETAILS + 1
    assert details["options"] == "7 more problems are not listed."


def test_the_caller_is_never_modified():
    options = {"roles": {"a": "Recency"}, "features": ["a"]}
    before = json.dumps(options)
    parse_options(options)
    assert json.dumps(options) == before


def test_option_errors_in_three_languages():
    with pytest.raises(ValidationError) as info:
        parse_options({"k_max": 1})
    err = info.value
    bodies = {lang: err.to_dict(lang) for lang in LANGUAGES}
    assert bodies["en"]["details"]["options.k_max"] == "The k_max option must be an integer between 2 and 1000."
    assert bodies["es"]["details"]["options.k_max"] == "La opción k_max debe ser un entero entre 2 y 1000."
    assert bodies["pt"]["details"]["options.k_max"] == "A opção k_max deve ser um inteiro entre 2 e 1000."
    assert {b["error"] for b in bodies.values()} == {"Validation failed"}


def test_request_options_are_localized_and_keep_the_callers_spelling():
    payload = {"data": [{"x": i} for i in range(5)], "options": {"kMin": 9, "kMax": 4}}
    with pytest.raises(ValidationError) as info:
        se.segmentation_report(payload, language="es")
    assert info.value.message == "Opciones no válidas"
    assert list(info.value.details) == ["options.kMin"]
    status, body = se.handle_request(payload, {"Accept-Language": "pt-BR"})
    assert status == 422 and body["message"] == "Opções inválidas"
    assert body["details"] == {"options.kMin": "k_min (9) não pode ser maior que k_max (4)."}


def test_options_with_a_fitted_model_come_from_the_table():
    records = [{"id": i, "x": float(i % 7), "y": float(i % 3)} for i in range(60)]
    model = Segmenter(n_clusters=2).fit(records)
    allowed = {"idField": "id", "maxRecords": 100}
    assert {canonical_option_name(k) for k in allowed} == WITH_MODEL
    se.segmentation_report({"data": records, "options": allowed}, model=model)
    with pytest.raises(ValidationError) as info:
        se.segmentation_report({"data": records, "options": {"kMax": 5}}, model=model)
    assert list(info.value.details) == ["options.kMax"]


# --------------------------------------------------------------------------- derived documents


def test_openapi_options_follow_the_table():
    from segengine.service.openapi import openapi_document

    doc = json.dumps(openapi_document())
    for option in OPTIONS:
        assert f'"{option.name}"' in doc and f'"{camel_case(option.name)}"' in doc
        assert json.dumps(MESSAGES["en"][option.help_key])[1:-1] in doc


def test_cli_lists_the_options(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "segengine", "options", "--language", "pt"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    for option in OPTIONS:
        assert option.name in out.stdout
    assert "k_max / kMax  (default: 10)" in out.stdout
    assert MESSAGES["pt"]["opt.k_min"] in out.stdout
    help_text = subprocess.run([sys.executable, "-m", "segengine", "report", "--help"],
                               capture_output=True, text=True, env=env, timeout=120).stdout
    assert "time_budget_ms" in " ".join(help_text.split())

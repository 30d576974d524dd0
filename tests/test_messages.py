"""Text at the edges: errors carry a message key and parameters (Msg) and speak a language only
at the contract layer (api, cli, report, service)."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest

import segengine as se
from segengine import options, preprocessing, request, table
from segengine.errors import InvalidRequestError, SegEngineError, ValidationError, localized_errors
from segengine.readers import CsvFormat, csv_format_notice
from segengine.table import table_from_array, table_from_records
from segengine.text.error_messages import ERROR_MESSAGES, error_text
from segengine.text.language import LANGUAGES
from segengine.text.msg import Msg, render


def test_msg_renders_like_error_text_in_every_language():
    for lang in LANGUAGES:
        assert Msg("must_be_number", field="spend").render(lang) == error_text(lang, "must_be_number", field="spend")
    assert Msg("must_be_number", field="spend").render("es") == "El campo spend debe ser un número."
    assert Msg("must_be_number", field="spend").render("pt") == "O campo spend deve ser um número."
    assert str(Msg("must_be_number", field="spend")) == "The spend field must be a number."
    assert Msg("data_empty").render("fr") == ERROR_MESSAGES["en"]["data_empty"]  # unknown: English


def test_nested_msg_and_how_keys_render_in_the_same_language():
    nested = Msg("option_int", name="k_max", range=Msg("option_int_range_min", min=2))
    assert nested.render("en") == "The k_max option must be an integer >= 2."
    assert nested.render("pt") == "A opção k_max deve ser um inteiro >= 2."
    how = Msg("warn_missing", n=3, field="age", how="how_median")
    assert how.render("en") == "3 missing values in age were imputed (median)."
    assert how.render("es") == "Se imputaron 3 valores faltantes en age (mediana)."
    kind = Msg("must_be_scalar", field="tags", kind=Msg("kind_list"))
    assert kind.render("pt").endswith("não um array.")
    assert kind.render("es").endswith("no un arreglo.")


def test_msg_values_compare_pickle_and_pass_through_render():
    a = Msg("unknown_option", name="x")
    assert a == Msg("unknown_option", name="x") and a != Msg("unknown_option", name="y")
    assert pickle.loads(pickle.dumps(a)) == a
    assert "unknown_option" in repr(a)
    assert render("plain", "pt") == "plain" and render(a, "es") == "Opción desconocida 'x'."


def _error() -> ValidationError:
    return ValidationError(
        Msg("validation_failed"),
        {"data.3.spend": Msg("must_be_number", field="spend"), "X": "Expected a 2-D array."},
    )


def test_error_renders_english_until_localized():
    err = _error()
    assert err.language == "en"
    assert err.message == "Invalid data format"
    assert err.details == {"data.3.spend": "The spend field must be a number.", "X": "Expected a 2-D array."}
    assert str(err) == "Invalid data format (data.3.spend: The spend field must be a number.; X: Expected a 2-D array.)"
    assert err.to_dict() == {"error": "Validation failed", "message": "Invalid data format",
                             "details": err.details}


@pytest.mark.parametrize(
    ("language", "message", "sentence"),
    [
        ("en", "Invalid data format", "The spend field must be a number."),
        ("es", "Formato de datos no válido", "El campo spend debe ser un número."),
        ("pt", "Formato de dados inválido", "O campo spend deve ser um número."),
        ("pt-BR", "Formato de dados inválido", "O campo spend deve ser um número."),
    ],
)
def test_to_dict_and_localized_in_three_languages(language, message, sentence):
    err = _error()
    body = err.to_dict(language)
    assert body["message"] == message and body["details"]["data.3.spend"] == sentence
    assert body["details"]["X"] == "Expected a 2-D array."  # a written sentence stays as written
    local = err.localized(language)
    assert type(local) is ValidationError and isinstance(local, ValueError) and local.status == 422
    assert local.message == message and local.details["data.3.spend"] == sentence
    assert local.to_dict() == body and message in str(local)
    assert err.message == "Invalid data format"  # the original is untouched


def test_localized_copies_keep_class_extras_and_survive_pickle_and_copy():
    err = InvalidRequestError(Msg("format_mismatch"), {"body": Msg("body_not_object")},
                              extra={"expected_format": "Array of objects with required fields"})
    pt = err.localized("pt")
    assert pt.status == 400 and pt.to_dict()["expected_format"] == "Array of objects with required fields"
    for clone in (pickle.loads(pickle.dumps(pt)), copy.copy(pt)):
        assert type(clone) is InvalidRequestError and clone.language == "pt"
        assert clone.message == "O formato dos dados não corresponde ao esquema esperado."
        assert clone.to_dict("en")["details"]["body"] == error_text("en", "body_not_object")
    custom = SegEngineError("x", error="Custom category").localized("es")
    assert custom.error == "Custom category"


def test_localized_errors_reraises_in_the_language():
    with pytest.raises(ValidationError) as info:
        with localized_errors("es"):
            raise _error()
    assert info.value.message == "Formato de datos no válido"
    assert info.value.__traceback__ is not None
    with pytest.raises(KeyError):
        with localized_errors("es"):
            raise KeyError("not ours")  # only SegEngineError is translated


def test_details_can_be_rewritten_with_messages_kept():
    err = _error()
    err.details = {"options.kMin": Msg("option_kmin_kmax", k_min=5, k_max=3)}
    assert err.localized("pt").details == {"options.kMin": "k_min (5) não pode ser maior que k_max (3)."}


# --------------------------------------------------------------------------- the layers below


def test_lower_layers_raise_keys_not_sentences():
    with pytest.raises(ValidationError) as info:
        table_from_records([{"id": 1, "spend": 1.0}, {"id": 2, "spend": "x"}, {"id": 3, "spend": 2.0}])
    err = info.value
    assert isinstance(err.raw_details["data.1.spend"], Msg)
    assert err.to_dict("pt")["details"]["data.1.spend"] == "O campo spend deve ser um número."
    with pytest.raises(ValidationError) as info:
        table_from_array([[1.0, float("inf")]])
    assert info.value.to_dict("es")["details"] == {"data.0.x1": "El campo x1 debe ser un número finito."}
    with pytest.raises(ValidationError) as info:
        table_from_records([{"id": 1, "tags": [1]}, {"id": 2, "tags": 3}])
    assert info.value.to_dict("pt")["details"]["data.0.tags"].endswith("não um array.")


def test_language_parameters_are_gone_from_the_lower_layers():
    for func in (options.parse_options, request.parse_request, request.load_json_body,
                 table.table_from_records, table.table_from_frame, table.table_from_array,
                 table.check_records_are_objects, preprocessing.Preprocessor.fit_transform,
                 preprocessing.Preprocessor.transform):
        assert "language" not in inspect.signature(func).parameters, func.__qualname__
    for module in (options, request, table, preprocessing):
        source = inspect.getsource(module)
        assert "error_messages" not in source and "error_text" not in source, module.__name__


@pytest.mark.parametrize(
    ("payload", "language", "path", "sentence"),
    [
        ({"data": [{"id": 1, "v": 1}, {"id": 2, "v": "a"}, {"id": 3, "v": 2}]}, "pt",
         "data.1.v", "O campo v deve ser um número."),
        ({"data": [{"id": 1, "v": 1}, {"id": 1, "v": 2}, {"id": 3, "v": 2}]}, "es",
         "data.1.id", "Id duplicado '1': ya lo usa data.0."),
        ({"data": [1, 2]}, "pt", "data.0", "Cada registro deve ser um objeto."),
        ({"data": [{"v": 1}] * 3, "colour": 1}, "es", "colour", "Parámetro desconocido 'colour'."),
        ('{"data": [', "pt", "body", None),
    ],
)
def test_the_contract_speaks_the_callers_language(payload, language, path, sentence):
    with pytest.raises(SegEngineError) as info:
        se.segmentation_report(payload, language=language)
    err = info.value
    assert err.language == language
    assert path in err.details
    if sentence is not None:
        assert err.details[path] == sentence
    status, body = se.handle_request(payload, {"Accept-Language": language})
    assert status == err.status and body == err.to_dict()
    assert body["message"] == err.message != err.to_dict("en")["message"]


def test_service_error_body_is_localized():
    status, body = se.handle_request(b"\xff", {"accept-language": "es"})
    assert status == 400 and body["message"] == "El formato de los datos no coincide con el esquema esperado."


def test_csv_notice_is_a_message():
    assert csv_format_notice(None) is None
    assert csv_format_notice(CsvFormat(delimiter=",", decimal=".", decimal_detected=True)) is None
    notice = csv_format_notice(CsvFormat(delimiter=";", decimal=",", decimal_detected=True))
    assert notice.render("en") == ("The CSV file was read with ';' between fields and ',' as the decimal "
                                   "mark (detected from the file; use --decimal to change it).")
    undetected = csv_format_notice(CsvFormat(delimiter=";", decimal=",", decimal_detected=False))
    assert "según --decimal" in undetected.render("es")


def test_file_errors_are_messages_the_cli_renders_in_its_language(tmp_path, capsys):
    from segengine.cli import main
    from segengine.readers import ReadError, read_records

    missing = str(tmp_path / "nope.csv")
    with pytest.raises(ReadError) as info:
        read_records(missing)
    assert str(info.value) == f"cannot read '{missing}': no such file"
    assert info.value.render("es") == f"no se puede leer '{missing}': el archivo no existe"
    assert main(["report", missing, "--language", "pt"]) == 1
    assert capsys.readouterr().err.strip() == f"segengine: error: não é possível ler '{missing}': o arquivo não existe"
    odd = tmp_path / "x.txt"
    odd.write_text("a")
    with pytest.raises(ReadError) as info:
        read_records(str(odd))
    assert info.value.render("es").endswith("tipo de archivo no admitido ('.txt'); use .csv o .json")
    shape = tmp_path / "s.json"
    shape.write_text('"text"')
    with pytest.raises(ReadError) as info:
        read_records(str(shape))
    assert str(info.value).endswith("found a string")
    assert info.value.render("pt").endswith("foi encontrado um texto")


def test_cli_engine_errors_follow_language(tmp_path, capsys):
    from segengine.cli import main

    path = tmp_path / "r.json"
    path.write_text('[{"id": 1, "v": 1}, {"id": 2, "v": "a"}, {"id": 3, "v": 2}]')
    assert main(["report", str(path), "--language", "es"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "segengine: error: Formato de datos no válido"
    assert "  data.1.v: El campo v debe ser un número." in err


def test_error_catalogue_has_every_key_with_the_same_placeholders():
    from segengine.text.catalog import placeholders

    keys = set(ERROR_MESSAGES["en"])
    assert set(ERROR_MESSAGES) == set(LANGUAGES)
    for lang in LANGUAGES:
        assert set(ERROR_MESSAGES[lang]) == keys, lang
        for key in keys:
            assert placeholders(ERROR_MESSAGES[lang][key]) == placeholders(ERROR_MESSAGES["en"][key]), (lang, key)
    # the file, service and kind sentences are in the one error catalogue
    assert {"file_missing", "input_shape", "unauthorized", "kind_list", "service_error"} <= keys

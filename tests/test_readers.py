"""CSV files in every locale: the decimal mark detected from the file, or given with --decimal."""

from __future__ import annotations

import json

import pytest

from segengine.cli import main
from segengine.readers import ReadError, detect_decimal, parse_csv_cell, parse_decimal_comma_cell, read_records


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,5", 1.5), ("-0,25", -0.25), ("1.234,56", 1234.56), ("12.345", 12345), ("1.234.567", 1234567),
        ("12", 12), (" 3,0 ", 3.0), ("007", "007"), ("0,5", 0.5), ("1.5", 1.5), ("abc", "abc"), ("", None),
        ("true", True), ("1,2,3", "1,2,3"), ("12,", "12,"),
    ],
)
def test_parse_decimal_comma_cell(text, expected):
    value = parse_decimal_comma_cell(text)
    assert value == expected and type(value) is type(expected)


def test_detect_decimal():
    assert detect_decimal([["1", "2,5", "x"], ["2", "1.234,5", "y"]], ";") == ","
    assert detect_decimal([["1", "2.5"], ["2", "3,5"]], ";") == "."  # a point anywhere: points
    assert detect_decimal([["1", "2,5"]], ",") == "."  # a comma file cannot use decimal commas
    assert detect_decimal([["1", "12.345", "2,5"]], "\t") == ","  # grouped thousands are not points
    assert detect_decimal([["1", "2"]], ";") == "."


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_read_records_detects_and_obeys_decimal(tmp_path):
    src = _write(tmp_path / "a.csv", "id;valor;taxa\n1;1.234,50;0,5\n2;99,90;1\n")
    body, fmt = read_records(src)
    assert body["data"] == [{"id": 1, "valor": 1234.5, "taxa": 0.5}, {"id": 2, "valor": 99.9, "taxa": 1}]
    assert (fmt.delimiter, fmt.decimal, fmt.decimal_detected) == (";", ",", True)
    body, fmt = read_records(src, ".")
    assert body["data"][0]["valor"] == "1.234,50" and not fmt.decimal_detected
    assert read_records(_write(tmp_path / "b.csv", "id,v\n1,2.5\n"))[1].decimal == "."
    with pytest.raises(ReadError, match="decimal comma"):
        read_records(_write(tmp_path / "c.csv", "id,v\n1,2\n"), ",")
    assert read_records(_write(tmp_path / "d.json", '[{"id": 1, "v": 2}]'))[1] is None
    assert parse_csv_cell("2,5") == "2,5"  # the plain reader keeps its meaning


def _rows(n=300):
    lines = ["id;gasto_total;frequencia;recencia_dias;canal"]
    for i in range(n):
        big = i % 3 == 0
        spend = (2500 + 7.25 * i) if big else (80 + 0.5 * i)
        lines.append(f"{i};{spend:.2f}".replace(".", ",") + f";{12 if big else 2};{5 + i % 7 if big else 200 + i % 50};"
                     + ("app" if big else "loja"))
    return "\n".join(lines) + "\n"


def test_report_says_how_the_csv_was_read(tmp_path, capsys):
    src = _write(tmp_path / "clientes.csv", _rows())
    out = tmp_path / "r.json"
    assert main(["report", src, "-l", "es", "-o", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert "gasto_total" in report["summary"]["features_used"]
    assert "mean" in report["segments"][0]["profile"]["gasto_total"]
    assert report["metadata"]["warnings"][0].startswith("El archivo CSV se leyó con ';'")
    assert "detectado" in report["metadata"]["warnings"][0]
    # overridden: the money stays text (a categorical field), and the report says it was asked for
    assert main(["report", src, "--decimal", ".", "-o", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert "gasto_total" not in report["summary"]["features_used"]
    assert "as given by --decimal" in report["metadata"]["warnings"][0]
    capsys.readouterr()
    assert main(["report", _write(tmp_path / "x.csv", "id,v\n1,2\n2,3\n3,4\n"), "--decimal", ","]) == 1
    assert "decimal comma" in capsys.readouterr().err
    assert main(["report", src, "--decimal", "x"]) == 2

"""Reading record files: CSV (any delimiter, decimal point or decimal comma) and JSON.

Spreadsheets in Spanish, Portuguese, German or French locales export CSV with ``;`` between
fields and a decimal comma (``1.234,56``); read as text, every money field would become a
categorical field with thousands of "values". The decimal mark is therefore detected from the
file (a ``;``, tab or ``|`` file whose decimal-looking cells all use a comma), can be forced
(``decimal=","`` / ``segengine report --decimal ,``), and is returned with the records so that
the report can say how the file was read.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, TextIO

from segengine import json_fast
from segengine.text.msg import Msg, render

__all__ = [
    "ReadError", "CsvFormat", "read_records", "read_records_file", "parse_csv_cell",
    "parse_decimal_comma_cell", "csv_format_notice",
]


class ReadError(Exception):
    """A record file that cannot be read; the message says which file and why.

    Parameters
    ----------
    message : Msg or str
        The reason as a message key and parameters (``str(err)`` is English; the command line
        renders it in its ``--language`` with :meth:`render`).
    """

    def __init__(self, message: Msg | str) -> None:
        super().__init__(message)
        self.msg = message

    def render(self, language: str = "en") -> str:
        """The message in ``language`` (``"en"``, ``"es"`` or ``"pt"``).

        Parameters
        ----------
        language : str

        Returns
        -------
        str
        """
        return render(self.msg, language)

    def __str__(self) -> str:
        return self.render("en")




@dataclass(frozen=True)
class CsvFormat:
    """How a CSV file was read.

    Parameters
    ----------
    delimiter : str
        Between fields (guessed from the header).
    decimal : str
        ``"."`` or ``","``.
    decimal_detected : bool
        True when the decimal mark was detected from the file, False when it was given.
    """

    delimiter: str
    decimal: str
    decimal_detected: bool


def parse_csv_cell(text: str) -> Any:
    """Convert one CSV cell to the JSON value it stands for.

    Parameters
    ----------
    text : str
        The raw cell text.

    Returns
    -------
    int, float, bool, str or None
        ``None`` for an empty (or blank) cell; ``True``/``False`` for "true"/"false" in any case;
        an int or a float when the text is a finite number in plain decimal notation (blanks
        around it allowed); otherwise the text itself ("nan", "inf", "1_000", "0x10" stay text).
        Integers written with leading zeros ("007", "01234") stay strings, as they are codes
        (ids, postal codes) whose zeros matter.
    """
    # float() first: one C call settles most cells of a numeric table, and this runs for
    # every cell, millions of times on a large file.
    try:
        value = float(text)
    except ValueError:
        stripped = text.strip()
        if not stripped:
            return None
        lowered = stripped.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        return text
    # float() also reads "nan", "inf", "1_000" and non-ASCII digits: not plain numbers.
    if not math.isfinite(value) or "_" in text or not text.isascii():
        return text
    stripped = text.strip()
    digits = stripped[1:] if stripped[0] in "+-" else stripped
    if digits.isdigit():
        if len(digits) > 1 and digits[0] == "0":
            return text
        return int(stripped)
    return value


def _sniff_delimiter(header_line: str) -> str:
    """Choose the delimiter from the header: the most frequent of , ; tab | outside quotes."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: outside.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _os_error(path: str, exc: OSError) -> ReadError:
    if isinstance(exc, FileNotFoundError):
        return ReadError(Msg("file_missing", path=path))
    if isinstance(exc, IsADirectoryError):
        return ReadError(Msg("file_is_directory", path=path))
    if isinstance(exc, PermissionError):
        return ReadError(Msg("file_permission", path=path))
    return ReadError(Msg("file_os_error", path=path, reason=exc.strerror or exc))


def _decode_error(path: str, exc: UnicodeDecodeError) -> ReadError:
    return ReadError(Msg("file_not_utf8", path=path, byte=exc.start))


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except OSError as exc:
        raise _os_error(path, exc) from None


def _read_csv(path: str, decimal: str | None = None) -> tuple[list[dict[str, Any]], CsvFormat]:
    # Streamed rather than read whole: a 250,000-row file would otherwise sit in memory twice.
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            first_line = handle.readline()
            handle.seek(0)
            return _parse_csv_rows(path, handle, _sniff_delimiter(first_line), decimal)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, exc) from None
    except OSError as exc:
        raise _os_error(path, exc) from None


def _parse_csv_rows(
    path: str, handle: TextIO, delimiter: str, decimal: str | None = None
) -> tuple[list[dict[str, Any]], CsvFormat]:
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise ReadError(Msg("csv_empty", path=path))
        names = [name.strip() for name in header]
        if any(not name for name in names):
            column = names.index("") + 1
            raise ReadError(Msg("csv_header_unnamed", path=path, column=column))
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ReadError(Msg("csv_header_repeats", path=path, name=name))
            seen.add(name)
        width = len(names)
        records: list[dict[str, Any]] = []
        chunk: list[list[str]] = []
        fmt: CsvFormat | None = None if decimal is None else CsvFormat(delimiter, decimal, False)
        for row in reader:
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                raise ReadError(Msg("csv_row_width", path=path, line=reader.line_num, n=len(row), width=width))
            chunk.append(row)
            if len(chunk) == _CSV_CHUNK_ROWS:
                if fmt is None:
                    fmt = CsvFormat(delimiter, detect_decimal(chunk, delimiter), True)
                _convert_chunk(names, chunk, records, fmt.decimal)
                chunk = []
        if fmt is None:
            fmt = CsvFormat(delimiter, detect_decimal(chunk, delimiter), True)
        _convert_chunk(names, chunk, records, fmt.decimal)
    except csv.Error as exc:
        raise ReadError(Msg("csv_invalid", path=path, line=reader.line_num, reason=exc)) from None
    return records, fmt


# Rows converted together: large enough for the column fast path to pay, small enough that
# the raw strings of only one chunk are alive beside the converted records.
_CSV_CHUNK_ROWS = 8192
_LEADING_ZERO = re.compile(r"(?:^|\x00)\s*[+-]?0\d")


def _convert_column(cells: tuple[str, ...]) -> list[Any]:
    """``[parse_csv_cell(c) for c in cells]``, with a shortcut for all-number columns."""
    joined = "\x00".join(cells)
    if joined.isascii() and "_" not in joined:
        try:
            values = list(map(float, cells))
        except ValueError:
            values = None
        if values is not None and all(map(math.isfinite, values)):
            if not any(ch in joined for ch in ".eE"):
                # every cell is an integer literal; codes with leading zeros stay text
                if not _LEADING_ZERO.search(joined):
                    return list(map(int, cells))
            elif joined.count(".") == len(cells):
                # a float literal holds at most one ".", so every cell has exactly one: all
                # are decimal fractions, which parse_csv_cell would also return as floats
                return values
    return list(map(parse_csv_cell, cells))


def _convert_chunk(names: list[str], chunk: list[list[str]], out: list[dict[str, Any]], decimal: str = ".") -> None:
    if not chunk:
        return
    convert = _convert_column if decimal == "." else _convert_comma_column
    columns = [convert(column) for column in zip(*chunk)]
    out.extend(dict(zip(names, values)) for values in zip(*columns))


def _read_json(path: str, text: str) -> Any:
    try:
        return json_fast.loads(text)  # orjson when installed, json.loads' outcome
    except json.JSONDecodeError as exc:
        raise ReadError(Msg("json_invalid", path=path, reason=exc.msg, line=exc.lineno, column=exc.colno)) from None
    except RecursionError:
        raise ReadError(Msg("json_too_deep", path=path)) from None


def read_records_file(path: str, decimal: str | None = None) -> dict[str, Any]:
    """Read a ``.csv`` or ``.json`` file into a request body of the report contract.

    Parameters
    ----------
    path : str
        A ``.json`` file holding either a request body (an object with ``data``) or a bare
        array of records, or a ``.csv`` file with a header row (delimiter , ; tab or |,
        guessed from the header; cells converted by :func:`parse_csv_cell`).
    decimal : {".", ","}, optional
        The CSV decimal mark; detected from the file when omitted (see :func:`read_records`).

    Returns
    -------
    dict
        A request body ``{"data": [...], ...}``; the file's own ``options`` are kept.

    Raises
    ------
    ReadError
        The file is missing, unreadable, not UTF-8, malformed, or of another type.
    """
    return read_records(path, decimal)[0]


def read_records(path: str, decimal: str | None = None) -> tuple[dict[str, Any], CsvFormat | None]:
    """Read a ``.csv`` or ``.json`` file into a request body, and say how a CSV file was read.

    Parameters
    ----------
    path : str
        See :func:`read_records_file`.
    decimal : {".", ","}, optional
        The CSV decimal mark. When omitted it is detected: ``","`` when the delimiter is not a
        comma and the decimal-looking cells of the first rows use a comma and never a point.

    Returns
    -------
    (dict, CsvFormat or None)
        The request body, and the CSV format (None for JSON).

    Raises
    ------
    ReadError
        The file is missing, unreadable, not UTF-8, malformed, or of another type; or
        ``decimal=","`` with a comma-separated file.
    """
    if decimal not in (None, ".", ","):
        raise ReadError(Msg("file_decimal_mark", decimal=decimal))
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".csv", ".json"):
        shown = f"'{extension}'" if extension else Msg("file_no_extension")
        raise ReadError(Msg("file_type", path=path, shown=shown))
    if extension == ".csv":
        records, fmt = _read_csv(path, decimal)
        if fmt.decimal == "," and fmt.delimiter == ",":
            raise ReadError(Msg("csv_decimal_comma", path=path))
        return {"data": records}, fmt
    body = _read_json(path, _read_text(path))
    if isinstance(body, list):
        return {"data": body}, None
    if isinstance(body, dict) and "data" in body:
        return dict(body), None
    raise ReadError(Msg("input_shape", path=path, found=_json_kind(body)))


def _json_kind(value: Any) -> Msg:
    """What a JSON value is, as a message (``an array``, ``a string``...)."""
    if isinstance(value, dict):
        kind = "object"
    elif isinstance(value, list):
        kind = "array"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, bool):
        kind = "boolean"
    elif value is None:
        kind = "null"
    else:
        kind = "number"
    return Msg(f"json_kind_{kind}")


def _json_type(value: Any) -> str:
    """What a JSON value is, in English (``--options`` errors)."""
    return _json_kind(value).render("en")


# ------------------------------------------------------------------------------ decimal commas

# "1,5", "-0,25", "1.234,56", "12.345" (grouped thousands): numbers written with a decimal comma.
_COMMA_NUMBER = re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?\s*")
_COMMA_DECIMAL = re.compile(r"\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+\s*")
_POINT_DECIMAL = re.compile(r"\s*[+-]?\d*\.\d+(?:[eE][+-]?\d+)?\s*")
_GROUPED = re.compile(r"\s*[+-]?\d{1,3}(?:\.\d{3})+\s*")


def detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """``","`` when the cells of ``rows`` write decimals with a comma and never with a point.

    Parameters
    ----------
    rows : list of list of str
        The first data rows.
    delimiter : str
        The file's delimiter (a comma-separated file cannot have unquoted decimal commas, and a
        quoted "1,5" there is more likely a list than a number).

    Returns
    -------
    str
        ``"."`` or ``","``.
    """
    if delimiter == ",":
        return "."
    commas = points = 0
    for row in rows:
        for cell in row:
            if _COMMA_DECIMAL.fullmatch(cell):
                commas += 1
            elif _POINT_DECIMAL.fullmatch(cell) and not _GROUPED.fullmatch(cell):
                points += 1
    return "," if commas and not points else "."


def parse_decimal_comma_cell(text: str) -> Any:
    """:func:`parse_csv_cell` for a file with decimal commas (``1.234,5`` -> 1234.5).

    Parameters
    ----------
    text : str

    Returns
    -------
    int, float, bool, str or None
    """
    if _COMMA_NUMBER.fullmatch(text):
        plain = text.strip().replace(".", "")
        if "," in plain:
            return float(plain.replace(",", "."))
        digits = plain.lstrip("+-")
        if "." in text or not (len(digits) > 1 and digits[0] == "0"):
            return int(plain)
    return parse_csv_cell(text)


def _convert_comma_column(cells: tuple[str, ...]) -> list[Any]:
    return list(map(parse_decimal_comma_cell, cells))


def csv_format_notice(fmt: CsvFormat | None) -> Any:
    """How a CSV file other than plain comma-and-point was read, as a report warning.

    The warning is not yet written in a language: the command line renders it in the report's
    language.

    Parameters
    ----------
    fmt : CsvFormat or None
        From :func:`read_records` (None for a JSON file).

    Returns
    -------
    segengine.text.msg.Msg or None
        None for a JSON file or a comma-separated file with a detected decimal point.
    """
    if fmt is None or (fmt.delimiter == "," and fmt.decimal == "." and fmt.decimal_detected):
        return None
    from segengine.text.msg import Msg

    how = "csv_decimal_detected" if fmt.decimal_detected else "csv_decimal_given"
    return Msg("warn_csv_decimal", delimiter=fmt.delimiter, decimal=fmt.decimal, how=how)

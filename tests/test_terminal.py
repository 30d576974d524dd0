"""The terminal summary (segengine.terminal): one catalogue, one number formatter, the CLI's layout."""

from __future__ import annotations

import pytest

from segengine.terminal import count_text, format_summary, format_warmup, label, written_line
from segengine.text.catalog import MESSAGES, format_fixed, format_int
from segengine.text.language import LANGUAGES

REPORT = {
    "summary": {"n_records": 12345, "n_segments": 2, "algorithm": "kmeans", "silhouette": 0.4831,
                "features_used": ["spend", "visits"], "insights": ["Look at segment 0."]},
    "segments": [
        {"segment": 0, "name": "Champions", "size": 12000, "share": 0.97205, "silhouette": 0.5,
         "characteristics": [{"text": "spend is high"}], "insights": [{"text": "retain them"}]},
        {"segment": 1, "name": "Rest", "size": 345, "share": 0.02795, "silhouette": True},
    ],
    "metadata": {"k_selection": {"method": "silhouette", "scores": {"10": 0.1, "2": 0.4831, "3": 0.2},
                                 "chosen": 2},
                 "warnings": ["a warning"], "processing_time_ms": 1234.4},
}


@pytest.mark.parametrize(
    ("language", "records", "share", "silhouette", "time"),
    [
        ("en", "12,345", "(97.2%)", "0.483", "Processing time: 1,234 ms"),
        ("es", "12.345", "(97,2 %)", "0,483", "Tiempo de procesamiento: 1.234 ms"),
        ("pt", "12.345", "(97,2 %)", "0,483", "Tempo de processamento: 1.234 ms"),
    ],
)
def test_summary_numbers_and_headings(language, records, share, silhouette, time):
    text = format_summary(REPORT, language)
    lines = text.splitlines()
    assert lines[0] == MESSAGES[language]["term.title"] and set(lines[1]) == {"="}
    assert records in text and share in text and silhouette in text
    assert lines[-1] == time
    assert text.index("2=") < text.index("3=") < text.index("10=")  # k in numeric order
    assert "2=" + format_fixed(0.4831, 3, language) + "*" in text  # the chosen k is starred
    assert "(2,8 %)" in text if language != "en" else "(2.8%)" in text
    assert f"{MESSAGES[language]['term.silhouette'].lower()} {format_fixed(0.5, 2, language)}" in text


def test_counts_use_the_catalogue_formatter():
    for language in LANGUAGES:
        for n in (0, 7, 1234, 1234567, -42):
            assert count_text(n, language) == format_int(n, language)
    assert count_text("?", "pt") == "?" and count_text(12.9, "en") == "12"


def test_format_fixed_keeps_trailing_zeros_and_marks():
    assert format_fixed(0.5, 3, "en") == "0.500" and format_fixed(0.5, 3, "es") == "0,500"
    assert format_fixed(1234.5, 2, "pt") == "1.234,50" and format_fixed(None, 2, "en") == "-"
    assert format_fixed(-0.0004, 3, "en") == "-0.000"  # as f"{x:.3f}" writes it


def test_unknown_language_falls_back_to_english_and_width_is_kept():
    assert format_summary(REPORT, "fr") == format_summary(REPORT, "en")
    narrow = format_summary(REPORT, "en", width=60)
    assert all(len(line) <= 60 for line in narrow.splitlines())
    coloured = format_summary(REPORT, "en", color=True)
    assert "\033[1m" in coloured and "\033[1m" not in format_summary(REPORT, "en")


def test_written_line_and_warmup_table():
    assert written_line("out.json", REPORT, "es") == "Informe guardado en out.json (12.345 registros, 2 segmentos)."
    assert written_line("out.json", {}, "en") == "Report written to out.json (? records, ? segments)."
    assert written_line("p.html", {}, "en", n_default=5) == "Report written to p.html (5 records, ? segments)."
    table = format_warmup([300, 8192, 300], [1500.4, 20.0, 3.2], 1.5, "pt").splitlines()
    assert table[0] == label("pt", "warmup_title")
    assert table[2].split() == ["relatório", "de", "8.192", "registros", "20", "ms"]
    assert table[1].endswith("(primeira chamada)") and table[-1] == "Total: 1,50 s"

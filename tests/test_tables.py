"""The table renderer: empty columns dropped, every defined header explained, cells labelled."""

from __future__ import annotations

from generator.site.glossary import GLOSSARY, OPTIONAL_COLUMNS, define
from generator.site.html import Cell, esc, table


def test_empty_columns_are_dropped_and_defined_headers_explained() -> None:
    html = table(
        ["Model", "Failure kinds", "Review pain", "TTFT p50 (s)"],
        [["a<b>", "—", "0.5", "1.0"], ["c", Cell("—"), "1.5", "2.0"]],
    )
    assert "Failure kinds" not in html  # "—" in every row
    assert f'title="{esc(GLOSSARY["Review pain"])}"' in html
    assert "<dt>Review pain</dt>" in html  # the legend under the table
    assert 'data-label="Review pain">0.5</td>' in html
    assert "a&lt;b&gt;" in html and "<b>" not in html
    assert "TTFT p50 (s)" in OPTIONAL_COLUMNS
    assert html.count("opsbench-opt") == 3  # the header and two cells of the optional column


def test_a_column_with_one_value_stays() -> None:
    html = table(["Model", "Judge (0–2)"], [["a", "—"], ["b", "1.5"]])
    assert "Judge (0–2)</th>" in html


def test_headers_with_units_find_their_entry() -> None:
    assert define("Acceptance [95 % CI]") == GLOSSARY["Acceptance [95 % CI]"]
    assert define("Acceptance (shared cases)") == GLOSSARY["Acceptance"]
    assert define("Something else") is None

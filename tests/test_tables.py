"""The table renderer: empty columns dropped, every defined header explained, cells labelled."""

from __future__ import annotations

from pathlib import Path

from generator.registry.loader import load_registry
from generator.site.glossary import GLOSSARY, OPTIONAL_COLUMNS, define, glossary, judge_header
from generator.site.html import Cell, esc, table

REGISTRY = Path(__file__).resolve().parent.parent / "registry"


def test_empty_columns_are_dropped_and_defined_headers_explained() -> None:
    entries = glossary(load_registry(REGISTRY).policy)
    html = table(
        ["Model", "Failure kinds", "Review pain", "TTFT p50 (s)"],
        [["a<b>", "—", "0.5", "1.0"], ["c", Cell("—"), "1.5", "2.0"]],
        glossary=entries,
    )
    assert "Failure kinds" not in html  # "—" in every row
    assert f'title="{esc(entries["Review pain"])}"' in html
    assert "<dt>Review pain</dt>" in html  # the legend under the table
    assert 'data-label="Review pain">0.5</td>' in html
    assert "a&lt;b&gt;" in html and "<b>" not in html
    assert "TTFT p50 (s)" in OPTIONAL_COLUMNS
    assert html.count("opsbench-opt") == 3  # the header and two cells of the optional column


def test_a_column_with_one_value_stays() -> None:
    html = table(["Model", "Judge (0–2)"], [["a", "—"], ["b", "1.5"]])
    assert "Judge (0–2)</th>" in html


def test_glossary_numbers_come_from_the_policy(registry_copy: Path) -> None:
    """Entries that state a policy number read it from policy.yaml: change the file, the text follows."""
    policy = load_registry(registry_copy).policy
    before = glossary(policy)
    weights = ", ".join(f"{k} {v:g}" for k, v in policy.scoring.severity_weights.items())
    assert weights in before["Review pain"] and weights in before["Weighted score"]
    assert "Review pain" not in GLOSSARY and "Rank" not in GLOSSARY  # no policy-free copy to drift
    path = registry_copy / "policy.yaml"
    text = path.read_text()
    text = text.replace("    critical: 5\n", "    critical: 8\n").replace("  scale_max: 2\n", "  scale_max: 4\n")
    text = text.replace('{score: 2, label: "good:', '{score: 4, label: "good:')
    path.write_text(text.replace("  alpha: 0.05\n", "  alpha: 0.01\n"))
    after = glossary(load_registry(registry_copy).policy)
    assert "critical 8" in after["Review pain"] and "critical 5" not in after["Review pain"]
    assert "critical 8" in after["Weighted score"]
    assert "α = 0.01" in after["Rank"] and "α = 0.05" in before["Rank"]
    changed = load_registry(registry_copy).policy
    assert judge_header(changed) == "Judge (0–4)" and "1 (acceptable), 4 (good)" in after["Judge (0–4)"]
    assert "Judge (0–2)" not in after


def test_headers_with_units_find_their_entry() -> None:
    assert define("Acceptance [95 % CI]") == GLOSSARY["Acceptance [95 % CI]"]
    assert define("Acceptance (shared cases)") == GLOSSARY["Acceptance"]
    assert define("Something else") is None


def test_a_model_without_latency_is_left_off_the_latency_axis_not_plotted_at_zero() -> None:
    """A missing latency is missing: plotting it at 0 s would show the model as the fastest."""
    import json

    import pandas as pd

    from generator.site.charts import acceptance_vs_latency

    board = pd.DataFrame(
        {
            "model_id": ["measured", "no-latency"],
            "acceptance_rate": [0.5, 0.9],
            "acceptance_low": [0.3, 0.7],
            "acceptance_high": [0.7, 0.97],
            "latency_p50_s": [1.5, float("nan")],
            "cases": [20, 20],
        }
    )
    text = json.dumps(acceptance_vs_latency(board).spec)
    assert "measured" in text and "no-latency" not in text

"""generator/textcut.py: the one rule that cuts unbounded text (check details, errors, served
model names) to a policy length."""

from __future__ import annotations

import pytest

from generator.textcut import clip


def test_short_text_is_kept_on_one_line() -> None:
    assert clip("schema:\n  at (root):\t'x' is required", 200) == "schema: at (root): 'x' is required"
    assert clip("", 10) == ""


@pytest.mark.parametrize("limit", [1, 2, 10, 59])
def test_a_cut_fits_the_limit_and_is_marked(limit: int) -> None:
    text = "word " * 40
    out = clip(text, limit)
    assert len(out) == limit and out.endswith("…")
    assert out[:-1] == " ".join(text.split())[: limit - 1]


def test_text_exactly_at_the_limit_is_not_cut() -> None:
    assert clip("a" * 20, 20) == "a" * 20
    assert clip("a" * 21, 20) == "a" * 19 + "…"

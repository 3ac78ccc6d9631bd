"""generator/ingest/common.py: foreign records are validated by pydantic models and every problem
reads in the bench's words, with the JSON path and the source line (the shape each format's
error messages share; tests/test_ingest_errors.py checks them per format)."""

from __future__ import annotations

from typing import Any

import pytest

from generator.errors import InputError
from generator.ingest.common import (
    FiniteNumber,
    ForeignRecord,
    IntOrString,
    Problems,
    StringOrObject,
    parse_foreign,
    truncate,
)


class Inner(ForeignRecord):
    name: str


class Record(ForeignRecord):
    doc_id: IntOrString
    provider: StringOrObject
    count: int
    rate: FiniteNumber | None = None
    inner: Inner | None = None
    tags: list[Any] | None = None


GOOD: dict[str, Any] = {"doc_id": 7, "provider": "openai:gpt-4o", "count": 3, "extra": {"kept": True}}


def problems_of(obj: dict[str, Any], where: str = "$", line: int | None = None) -> list[str]:
    probs = Problems("f.json")
    assert parse_foreign(Record, probs, obj, where, line) is None
    return [str(p) for p in probs.items]


def test_a_good_record_keeps_what_the_bench_does_not_read() -> None:
    rec = parse_foreign(Record, Problems("f.json"), GOOD, "$")
    assert rec is not None and rec.doc_id == 7 and rec.provider == "openai:gpt-4o"
    assert rec.model_extra == {"extra": {"kept": True}}
    assert parse_foreign(Record, Problems("f.json"), GOOD | {"doc_id": "q-1", "provider": {"id": "x"}}, "$")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": "3"}, "f.json: $.count: expected integer, got string"),  # strict: no coercion
        ({"count": True}, "f.json: $.count: expected integer, got boolean"),
        ({"count": None}, "f.json: $: missing required field 'count'"),  # null reads as missing
        ({"rate": "fast"}, "f.json: $.rate: expected number, got string"),
        ({"tags": {}}, "f.json: $.tags: expected array, got object"),
        ({"inner": {"name": 1}}, "f.json: $.inner.name: expected string, got integer"),
        ({"inner": {}}, "f.json: $.inner: missing required field 'name'"),
        ({"doc_id": 1.5}, "f.json: $.doc_id: expected integer or string, got number"),
        ({"doc_id": False}, "f.json: $.doc_id: expected integer or string, got boolean"),
        ({"doc_id": None}, "f.json: $: missing required field 'doc_id'"),
        ({"provider": ["a"]}, "f.json: $.provider: expected string or object, got array"),
    ],
)
def test_one_problem_per_bad_field_in_the_bench_words(change: dict[str, Any], message: str) -> None:
    assert problems_of(GOOD | change) == [message]


def test_every_bad_field_is_reported_at_once_with_its_line() -> None:
    bad = {k: v for k, v in GOOD.items() if k != "count"} | {"doc_id": [], "provider": 3}
    assert problems_of(bad, "", 12) == [
        "f.json:12: doc_id: expected integer or string, got array",
        "f.json:12: provider: expected string or object, got integer",
        "f.json:12: missing required field 'count'",
    ]
    probs = Problems("f.json")
    parse_foreign(Record, probs, bad, "", 12)
    with pytest.raises(InputError, match=r"f\.json:12: missing required field 'count'"):
        probs.raise_if_any()


def test_truncate_says_whether_it_cut() -> None:
    assert truncate(None, 3) == (None, False)
    assert truncate("abc", 3) == ("abc", False)
    assert truncate("abcd", 3) == ("abc", True)

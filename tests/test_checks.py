"""Each deterministic check passes and fails for the reason it names."""

from __future__ import annotations

from typing import Any

import pytest

from generator.execute.checks import extract_json, find_label, score_case
from generator.registry.schema import TaskCase

WEIGHTS = {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 5.0}
# The policy's scoring numbers the checks take (policy.yaml scoring.evidence_min_chars, check_detail_chars).
LIMITS: dict[str, Any] = {"evidence_min_chars": 12, "detail_chars": 200}


def case(checks: list[dict[str, Any]], severity: str = "high", input_: str = "") -> TaskCase:
    return TaskCase.model_validate(
        {
            "id": "c1",
            "title": "t",
            "role": "draft",
            "severity": severity,
            "prompt": "x {{input}}",
            "input": input_,
            "checks": checks,
        }
    )


def outcome(checks: list[dict[str, Any]], output: str, input_: str = "") -> tuple[bool, str]:
    s = score_case(case(checks, input_=input_), output, WEIGHTS, hard_failure=False, **LIMITS)
    return s.checks[0].passed, s.checks[0].detail


def test_json_fenced_and_invalid() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == ({"a": 1}, None)
    value, err = extract_json('Sure! {"a": 1}')
    assert value is None and err.startswith("not JSON")
    assert outcome([{"kind": "json_valid"}], "") == (False, "output is empty")


def test_json_schema_reports_where() -> None:
    schema = {
        "type": "object",
        "required": ["urgency"],
        "properties": {"urgency": {"enum": ["low", "normal", "high", None]}},
    }
    ok, _ = outcome([{"kind": "json_schema", "schema": schema}], '{"urgency": "high"}')
    assert ok
    ok, detail = outcome([{"kind": "json_schema", "schema": schema}], '{"urgency": "asap"}')
    assert not ok and "at urgency" in detail


def test_exact_field_dotted_and_null() -> None:
    chk = [{"kind": "exact_field", "field": "dates.received", "expected": "2026-03-02"}]
    assert outcome(chk, '{"dates": {"received": "2026-03-02"}}')[0]
    ok, detail = outcome(chk, '{"dates": {"received": "2026-03-09"}}')
    assert not ok and '"2026-03-09"' in detail
    assert outcome([{"kind": "exact_field", "field": "name", "expected": None}], '{"name": null}')[0]
    assert outcome(chk, '{"dates": {}}') == (False, "field 'dates.received' missing")


def test_label_from_text_takes_first_label_word() -> None:
    labels = ["routine", "watch", "escalate"]
    assert find_label("Escalate. Not routine.", labels, None) == "escalate"
    assert find_label("escalated?", labels, None) is None  # whole words only
    chk = [{"kind": "label", "labels": labels, "expected": "escalate", "field": "label"}]
    assert outcome(chk, '{"label": "escalate"}')[0]
    assert outcome(chk, '{"label": "watch"}') == (False, "label 'watch' (expected 'escalate')")


def test_evidence_counts_quoted_source_lines() -> None:
    src = "Police report requested 2026-03-02\nAdjuster visited the site on Monday\nshort"
    chk = [{"kind": "evidence", "required": ["Police report requested 2026-03-02"], "min_lines": 2}]
    out_ok = "Evidence Lines:\n- police report requested 2026-03-02\n- Adjuster visited the site on Monday"
    assert outcome(chk, out_ok, src)[0]
    ok, detail = outcome(chk, "Evidence: police report requested 2026-03-02", src)
    assert not ok and detail == "quotes 1 source line(s), needs 2"
    ok, detail = outcome(chk, "Adjuster visited the site on Monday", src)
    assert not ok and "missing evidence line" in detail


def test_banned_phrases_and_patterns() -> None:
    chk = [
        {
            "kind": "banned_phrases",
            "phrases": ["will be completed"],
            "patterns": [r"complete[ds]? within \w+ business days"],
        }
    ]
    assert outcome(chk, "The next update is expected within five business days.")[0]
    ok, detail = outcome(chk, "Review WILL BE COMPLETED soon.")
    assert not ok and "will be completed" in detail
    ok, detail = outcome(chk, "We completed within five business days")
    assert not ok and "banned pattern" in detail


def test_required_phrases_all_and_any() -> None:
    assert outcome([{"kind": "required_phrases", "phrases": ["A", "b"]}], "a and B")[0]
    ok, detail = outcome([{"kind": "required_phrases", "phrases": ["a", "zzz"]}], "a")
    assert not ok and "zzz" in detail
    assert outcome([{"kind": "required_phrases", "phrases": ["x", "a"], "mode": "any"}], "a")[0]


def test_regex_must_and_must_not() -> None:
    assert outcome([{"kind": "regex", "pattern": r"^def add\(", "must_match": True}], "x\ndef add(a, b):")[0]
    assert not outcome([{"kind": "regex", "pattern": "DONE", "must_match": False}], "DONE!")[0]


def test_score_weights_pain_and_hard_failure() -> None:
    c = case(
        [
            {"kind": "required_phrases", "phrases": ["ok"]},
            {"kind": "banned_phrases", "phrases": ["bad"], "severity": "critical"},
        ],
        severity="medium",
    )
    good = score_case(c, "ok", WEIGHTS, hard_failure=False, **LIMITS)
    assert (good.accepted, good.score, good.review_pain) == (True, 2.0, 0.0)
    bad = score_case(c, "bad", WEIGHTS, hard_failure=False, **LIMITS)
    # required (medium: 2) failed + banned (critical: 5) failed
    assert (bad.accepted, bad.score, bad.review_pain) == (False, 0.0, 7.0)
    hard = score_case(c, None, WEIGHTS, hard_failure=True, **LIMITS)
    # every check fails unrun (2 + 5) plus the case weight (2) for the hard failure
    assert (hard.accepted, hard.review_pain) == (False, 9.0)
    assert all(o.detail == "not run: no response" for o in hard.checks)


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "../../etc/passwd", "{{input}}"])
def test_untrusted_output_is_only_text(payload: str) -> None:
    c = case([{"kind": "required_phrases", "phrases": ["x"]}])
    s = score_case(c, payload, WEIGHTS, hard_failure=False, **LIMITS)
    assert not s.accepted  # judged as text; nothing executed or opened


def test_prompt_echo_fails_a_copied_instruction() -> None:
    c = TaskCase.model_validate(
        {
            "id": "c2",
            "title": "t",
            "role": "review",
            "severity": "high",
            "prompt": "Do not accept a claim of completion without proof or evidence.\nMessage: {{input}}",
            "input": "DONE. Fixed it.",
            "checks": [{"kind": "required_phrases", "phrases": ["evidence"]}],
        }
    )
    echoed = "Do not accept a claim of completion without proof or evidence. Sure."
    s = score_case(c, echoed, WEIGHTS, hard_failure=False, echo_min_chars=40, **LIMITS)
    assert s.checks[0].passed  # the phrase is there...
    assert s.checks[-1].kind == "prompt_echo" and not s.checks[-1].passed  # ...but only as an echo
    assert not s.accepted
    own = score_case(c, "I need evidence: the test output.", WEIGHTS, hard_failure=False, echo_min_chars=40, **LIMITS)
    assert own.accepted
    # Quoting the input is evidence, not an echo.
    quoting = score_case(
        c, "The input says DONE. Fixed it. I need evidence.", WEIGHTS, False, echo_min_chars=8, **LIMITS
    )
    assert quoting.accepted


def test_thinking_is_not_scored() -> None:
    c = case([{"kind": "json_valid"}, {"kind": "banned_phrases", "phrases": ["lgtm"]}])
    s = score_case(c, '<think>Maybe LGTM? no.</think>\n{"verdict": "reject"}', WEIGHTS, hard_failure=False, **LIMITS)
    assert s.accepted


def test_banned_patterns_only() -> None:
    chk = [{"kind": "banned_phrases", "patterns": [r"^\s*done\b"]}]
    assert not outcome(chk, "Checked.\nDONE")[0]  # multi-line and case-insensitive
    assert outcome(chk, "not done yet")[0]


def test_detail_is_cut_to_the_policy_length() -> None:
    """A detail quotes the output, which has no length limit: it is cut, on one line, and marked."""
    pattern = "x" * 300
    c = case([{"kind": "regex", "pattern": pattern, "must_match": False}])
    s = score_case(c, "line one\n" + pattern, WEIGHTS, hard_failure=False, **(LIMITS | {"detail_chars": 60}))
    detail = s.checks[0].detail
    assert not s.checks[0].passed
    assert len(detail) == 60 and detail.endswith("…") and detail.startswith("forbidden match: 'xxx")
    whole = score_case(c, pattern, WEIGHTS, hard_failure=False, **(LIMITS | {"detail_chars": 400})).checks[0].detail
    assert whole == f"forbidden match: {pattern!r}"

"""Deterministic checks: the scoring a careful reviewer would do, as code.

Each check returns a :class:`CheckOutcome` that says what it found, so the site
can show *why* a case failed. Model output is untrusted text: it is parsed,
searched and compared, never executed or used as a path.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.registry.schema import (
    CHECK_CATEGORY,
    BannedPhrasesCheck,
    EvidenceCheck,
    ExactFieldCheck,
    JsonSchemaCheck,
    JsonValidCheck,
    LabelCheck,
    RegexCheck,
    RequiredPhrasesCheck,
    TaskCase,
)
from generator.runs.records import CaseScore, CheckOutcome
from generator.textcut import clip

_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.S)


_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)


def visible_answer(output: str) -> str:
    """The answer without a reasoning model's <think>…</think> block (kept in the stored output)."""
    return _THINK.sub("", output).strip() if "<think>" in output.lower() else output


def extract_json(output: str) -> tuple[Any, str | None]:
    """Parse the output as JSON, tolerating one surrounding Markdown fence.

    Returns (value, None) or (None, reason). We do not hunt for JSON inside prose:
    a model that wraps its answer in chatter has not produced the contract.
    """
    text = output.strip()
    m = _FENCE.match(text)
    if m:
        text = m.group(1).strip()
    if not text:
        return None, "output is empty"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def _get_path(value: Any, path: str) -> tuple[bool, Any]:
    node = value
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def find_label(output: str, labels: list[str], field: str | None) -> str | None:
    """The label the output gives: from a JSON field, else the first label word in the text."""
    if field is not None:
        value, _ = extract_json(output)
        found, got = _get_path(value, field) if value is not None else (False, None)
        return str(got).strip().lower() if found and got is not None else None
    lowered = output.lower()
    best: tuple[int, str] | None = None
    for label in labels:
        m = re.search(rf"(?<![a-z0-9_]){re.escape(label.lower())}(?![a-z0-9_])", lowered)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), label)
    return best[1] if best else None


# What each check kind does, in plain words, beside the code that applies it (run_check below) so
# the methodology page reads them from here and a new kind without a description fails its test.
CHECK_DESCRIPTIONS: dict[str, str] = {
    "json_valid": "The answer must contain one JSON value that parses (a fenced ```json block or the bare value).",
    "json_schema": "The answer's JSON must match the case's JSON Schema (types, required fields, allowed values).",
    "exact_field": "One field of the answer's JSON (a dotted path) must equal the expected value exactly.",
    "label": "The answer must choose the expected label among the case's labels, in free text or a JSON field.",
    "evidence": "The answer must quote lines that really are in the case input: every required line, "
    "and at least the minimum number of source lines.",
    "banned_phrases": "The answer must not contain any banned phrase (case-insensitive) nor match any banned pattern.",
    "required_phrases": "The answer must contain the required phrases: all of them, or any one (mode any).",
    "regex": "The answer must match the pattern, or, with must_match false, must not match it.",
    "prompt_echo": "A built-in check: fails an answer that repeats a line of the case's own instructions.",
}


def run_check(
    check: Any, case: TaskCase, output: str, *, evidence_min_chars: int, detail_chars: int
) -> tuple[bool, str]:
    """Apply one check; return (passed, what it found, cut to ``detail_chars``: it may quote the output)."""
    passed, detail = _apply(check, case, output, evidence_min_chars)
    return passed, clip(detail, detail_chars)


def _apply(check: Any, case: TaskCase, output: str, evidence_min_chars: int) -> tuple[bool, str]:
    if isinstance(check, JsonValidCheck):
        _, err = extract_json(output)
        return err is None, err or "valid JSON"
    if isinstance(check, JsonSchemaCheck):
        from jsonschema import Draft202012Validator

        value, err = extract_json(output)
        if err:
            return False, err
        errors = sorted(Draft202012Validator(check.schema_).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "(root)"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return False, f"schema: at {where}: {first.message}{more}"
        return True, "matches schema"
    if isinstance(check, ExactFieldCheck):
        value, err = extract_json(output)
        if err:
            return False, err
        found, got = _get_path(value, check.field)
        if not found:
            return False, f"field {check.field!r} missing"
        ok = got == check.expected or (
            isinstance(got, str) and isinstance(check.expected, str) and got.strip() == check.expected
        )
        return ok, f"{check.field} = {json.dumps(got)} (expected {json.dumps(check.expected)})"
    if isinstance(check, LabelCheck):
        got = find_label(output, check.labels, check.field)
        if got is None:
            return False, f"no label among {check.labels}"
        return got == check.expected.lower(), f"label {got!r} (expected {check.expected!r})"
    if isinstance(check, EvidenceCheck):
        out = _norm(output)
        missing = [line for line in check.required if _norm(line) not in out]
        source_lines = [ln.strip() for ln in case.input.splitlines() if len(ln.strip()) >= evidence_min_chars]
        quoted = sum(1 for ln in dict.fromkeys(source_lines) if _norm(ln) in out)
        if missing:
            return False, f"missing evidence line: {missing[0]!r}"
        if quoted < check.min_lines:
            return False, f"quotes {quoted} source line(s), needs {check.min_lines}"
        return True, f"quotes {quoted} source line(s)"
    if isinstance(check, BannedPhrasesCheck):
        low = output.lower()
        for phrase in check.phrases:
            if phrase.lower() in low:
                return False, f"banned phrase present: {phrase!r}"
        for pattern in check.patterns:
            m = re.search(pattern, output, re.I | re.M)
            if m:
                return False, f"banned pattern matched: {m.group(0)!r}"
        return True, "no banned phrase"
    if isinstance(check, RequiredPhrasesCheck):
        low = output.lower()
        present = [p for p in check.phrases if p.lower() in low]
        if check.mode == "all":
            missing = [p for p in check.phrases if p not in present]
            return not missing, f"missing: {missing}" if missing else "all present"
        return bool(present), f"present: {present}" if present else "none present"
    if isinstance(check, RegexCheck):
        m = re.search(check.pattern, output, re.M)
        if check.must_match:
            return m is not None, "matched" if m else f"no match for /{check.pattern}/"
        return m is None, f"forbidden match: {m.group(0)!r}" if m else "no forbidden match"
    raise TypeError(f"unknown check {type(check).__name__}")  # schema makes this unreachable


def instruction_lines(case: TaskCase, min_chars: int) -> list[str]:
    """Lines of the case's own instructions (not its input) long enough to count as an echo."""
    texts = [case.system or "", case.prompt or ""]
    texts += [m.content for m in case.messages or [] if m.role != "assistant"]
    lines = []
    for text in texts:
        for line in text.replace("{{input}}", "\n").splitlines():
            line = line.strip()
            if len(line) >= min_chars and _norm(line) not in _norm(case.input):
                lines.append(line)
    return lines


def echo_check(case: TaskCase, output: str, min_chars: int, detail_chars: int) -> tuple[bool, str]:
    """A base model often repeats the prompt; words it copied from the instructions earn nothing."""
    out = _norm(output)
    for line in instruction_lines(case, min_chars):
        if _norm(line) in out:
            return False, clip(f"output repeats the prompt: {line!r}", detail_chars)
    return True, "no prompt echo"


def score_case(
    case: TaskCase,
    output: str | None,
    weights: dict[str, float],
    hard_failure: bool,
    *,
    evidence_min_chars: int,
    detail_chars: int,
    echo_min_chars: int = 0,
) -> CaseScore:
    """Score one finished request.

    A hard failure (no usable response) fails every check without running it.
    Accepted = every check passed. Score = case weight if accepted else 0.
    With ``echo_min_chars`` > 0 a built-in check fails an output that repeats a line
    of the case's instructions verbatim: copying the prompt must not satisfy a
    required-phrase check. ``evidence_min_chars`` and ``detail_chars`` are the policy's
    ``scoring`` numbers of the same names (``detail_chars``: ``check_detail_chars``).
    Review pain = sum of failed checks' severity weights, plus the case weight if
    the request was a hard failure (see ``policy.yaml: scoring.review_pain_definition``).
    """
    case_weight = weights[case.severity]
    outcomes: list[CheckOutcome] = []
    for check_id, check in zip(case.check_ids(), case.checks, strict=True):
        sev = check.severity or case.severity
        if hard_failure or output is None:
            passed, detail = False, "not run: no response"
        else:
            passed, detail = run_check(
                check,
                case,
                visible_answer(output),
                evidence_min_chars=evidence_min_chars,
                detail_chars=detail_chars,
            )
        outcomes.append(
            CheckOutcome(
                id=check_id,
                kind=check.kind,
                category=CHECK_CATEGORY[check.kind],
                severity=sev,
                passed=passed,
                detail=detail,
            )
        )
    if echo_min_chars > 0 and instruction_lines(case, echo_min_chars):
        if hard_failure or output is None:
            passed, detail = False, "not run: no response"
        else:
            passed, detail = echo_check(case, visible_answer(output), echo_min_chars, detail_chars)
        outcomes.append(
            CheckOutcome(
                id="no-prompt-echo",
                kind="prompt_echo",
                category="format",
                severity=case.severity,
                passed=passed,
                detail=detail,
            )
        )
    accepted = not hard_failure and all(o.passed for o in outcomes)
    pain = sum(weights[o.severity] for o in outcomes if not o.passed)
    if hard_failure:
        pain += case_weight
    label_check = next((c for c in case.checks if isinstance(c, LabelCheck)), None)
    predicted = None
    if label_check is not None and output is not None and not hard_failure:
        predicted = find_label(visible_answer(output), label_check.labels, label_check.field)
    return CaseScore(
        accepted=accepted,
        weight=case_weight,
        score=case_weight if accepted else 0.0,
        review_pain=pain,
        checks=outcomes,
        expected_label=label_check.expected if label_check else None,
        predicted_label=predicted,
    )

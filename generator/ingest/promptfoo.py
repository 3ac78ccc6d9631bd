"""promptfoo ``promptfoo eval -o results.json`` -> ``results.jsonl``.

The file is ``{evalId, results: {version, timestamp, prompts, results: [...], stats},
config, metadata: {promptfooVersion}}``. Each entry of ``results.results`` is one
test case x prompt x provider and becomes one :class:`ResultRecord`:

- ``success`` is the acceptance verdict (promptfoo's own, threshold included);
  ``failureReason == 2`` or an ``error`` makes the row a hard failure
  (``failure_kind: runtime_error``);
- each ``gradingResult.componentResults[]`` (one per assertion) becomes a check:
  ``is-json`` maps to kind ``json_valid`` (``json_schema`` with a schema value),
  other format assertions to category ``format``, the rest to ``accuracy``;
- ``latencyMs`` is the provider call's wall time, so it maps to ``timing.e2e_s``
  (left empty for cached responses); ``response.tokenUsage.prompt`` /
  ``completion`` map to usage;
- the model is ``provider.label`` (else ``provider.id``); the alias table is tried
  with the label, then the id.

Not mapped: per-row ``cost`` (the run format has no per-result cost),
``namedScores``, test ``vars`` and the ``stats`` block (recomputed from rows).

Required per row: ``provider``, ``testIdx``, ``success``.
"""

from __future__ import annotations

import json
from typing import Any

from generator.ingest.common import (
    Extracted,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    case_score,
    check_outcome,
    fail,
    iso,
    load_json,
    need,
    number_or_none,
    opt,
    parse_datetime,
    path_of,
    truncate,
)

FORMAT_ASSERTIONS = {
    "is-json",
    "contains-json",
    "is-xml",
    "contains-xml",
    "is-sql",
    "contains-sql",
    "is-html",
    "contains-html",
    "is-valid-function-call",
    "is-valid-openai-function-call",
    "is-valid-openai-tools-call",
}
ERROR = 2


def _checks(grading: dict[str, Any]) -> list[Any]:
    out = []
    for j, comp in enumerate(grading.get("componentResults") or []):
        if not isinstance(comp, dict) or not isinstance(comp.get("pass"), bool):
            continue
        assertion = comp.get("assertion") if isinstance(comp.get("assertion"), dict) else {}
        kind = str(assertion.get("type") or "assertion")
        category = "format" if kind.removeprefix("not-") in FORMAT_ASSERTIONS else "accuracy"
        ours = f"promptfoo:{kind}"
        if kind == "is-json":
            ours = "json_schema" if assertion.get("value") else "json_valid"
        name = assertion.get("metric") or kind
        reason = comp.get("reason") if isinstance(comp.get("reason"), str) else ""
        score = number_or_none(comp.get("score"))
        detail = reason or (f"score {score:g}" if score is not None else ("pass" if comp["pass"] else "fail"))
        out.append(check_outcome(f"{j}:{name}", ours, comp["pass"], detail, category))
    return out


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    data = load_json(src)
    probs = Problems(src.shown)
    if not isinstance(data, dict):
        raise fail(src.shown, "$: expected an object (promptfoo eval -o results.json)", 1)
    summary = need(probs, data, "results", "$", "object")
    probs.raise_if_any()
    rows = need(probs, summary, "results", "$.results", "array")
    probs.raise_if_any()

    ex = Extracted()
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    version = meta.get("promptfooVersion")
    ex.tool_version = version if isinstance(version, str) else None
    ex.date = parse_datetime(summary.get("timestamp")) or parse_datetime(data.get("createdAt"))
    started = iso(ex.date) if ex.date else None
    prompt_ids = {r.get("promptIdx") for r in rows if isinstance(r, dict)}
    costs = 0
    cached = 0
    for i, row in enumerate(rows):
        where = path_of("$.results.results", i)
        if not isinstance(row, dict):
            probs.add(f"{where}: expected an object, got {type(row).__name__}")
            continue
        provider = row.get("provider")
        if isinstance(provider, str):
            label, pid = None, provider
        elif isinstance(provider, dict):
            label = provider.get("label") if isinstance(provider.get("label"), str) else None
            pid = provider.get("id") if isinstance(provider.get("id"), str) else None
            label, pid = label or None, pid or None
            if label is None and pid is None:
                probs.add(f"{where}.provider: has neither 'id' nor 'label'")
                continue
        else:
            need(probs, row, "provider", where, "object")
            continue
        test_idx = need(probs, row, "testIdx", where, "int")
        success = need(probs, row, "success", where, "bool")
        prompt_idx = opt(probs, row, "promptIdx", where, "int")
        response = opt(probs, row, "response", where, "object") or {}
        grading = opt(probs, row, "gradingResult", where, "object") or {}
        latency = opt(probs, row, "latencyMs", where, "number")
        if test_idx is None or success is None:
            continue
        error = row.get("error") if isinstance(row.get("error"), str) and row.get("error") else None
        error = error or (response.get("error") if isinstance(response.get("error"), str) else None)
        reason = row.get("failureReason")
        if isinstance(reason, int) and not isinstance(reason, bool):
            hard = reason == ERROR  # 1 (ASSERT) also carries the grader's reason in `error`
        else:  # older files: an error with no grading is a failed call
            hard = error is not None and not grading
        usage = response.get("tokenUsage") if isinstance(response.get("tokenUsage"), dict) else None
        usage = usage or (row.get("tokenUsage") if isinstance(row.get("tokenUsage"), dict) else {})
        is_cached = response.get("cached") is True
        cached += is_cached
        costs += row.get("cost") is not None
        out = response.get("output")
        text = out if isinstance(out, str) or out is None else json.dumps(out, ensure_ascii=False)
        output, cut = truncate(text, ctx.max_output_chars)
        case_id = f"test-{test_idx}" if len(prompt_ids) <= 1 else f"test-{test_idx}-prompt-{prompt_idx}"
        fields: dict[str, Any] = {
            "case_id": case_id,
            "status": "failed" if hard else "ok",
            "failure_kind": "runtime_error" if hard else None,
            "error": error[:500] if hard and error else None,
            "timing": {"e2e_s": latency / 1000 if latency is not None and not is_cached else None},
            "usage": {
                "prompt_tokens": usage.get("prompt") if isinstance(usage.get("prompt"), int) else None,
                "completion_tokens": usage.get("completion")
                if isinstance(usage.get("completion"), int)
                else None,
            },
            "output": output,
            "output_truncated": cut,
            "score": case_score(bool(success) and not hard, _checks(grading)),
        }
        if started:
            fields["started_at"] = started
        source = label or pid or ""
        ex.results.append(Row(source, fields, names=(pid,) if label and pid else ()))
    probs.raise_if_any()
    if costs:
        ex.unmapped.append(f"cost of {costs} row(s): the run format has no per-result cost field")
    if cached:
        ex.unmapped.append(f"latency of {cached} cached row(s): a cache hit measures no request")
    for key in ("stats", "prompts"):
        if key in summary:
            ex.unmapped.append(f"$.results.{key}: aggregates recomputed from the rows")
    ex.unmapped.append("namedScores and test vars: no field in the run format")
    return ex

"""promptfoo ``promptfoo eval -o results.json`` -> ``results.jsonl``.

Three layouts are read, as promptfoo's ``writeOutput`` wrote them over time:

- current: ``{evalId, results: {version: 3, timestamp, prompts, results: [...], stats},
  config, shareableUrl, metadata: {promptfooVersion, ...}}``, lately with ``traces``,
  ``blobAssets``, ``runtimeOptions`` and ``vars`` beside it (listed as not mapped);
- version 3 before ``metadata`` and ``failureReason``: the same without them;
- version 2: ``{results: {version: 2, timestamp, results: [...], table, stats}, config,
  shareableUrl}``, or in the earliest releases that summary alone at the top. Its
  ``results[]`` carry no ``testIdx`` and were pushed in completion order, so the rows
  come from ``table`` instead: ``table.body[i]`` is test i, ``outputs[j]`` the cell of
  ``table.head.prompts[j]`` (a prompt and the ``provider`` that ran it), with ``pass``
  and ``text`` in place of ``success`` and ``response.output``.

Each entry of ``results.results`` (each table cell in version 2) is one test case x
prompt x provider and becomes one :class:`ResultRecord`:

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

Required per row: ``provider``, ``testIdx``, ``success`` (version 2: ``pass`` per
cell, ``provider`` per column).
"""

from __future__ import annotations

import json
from typing import Any, cast

from pydantic import Field

from generator.ingest.common import (
    Extracted,
    FiniteNumber,
    ForeignRecord,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    StringOrObject,
    case_score,
    check_outcome,
    fail,
    iso,
    load_json,
    number_or_none,
    parse_datetime,
    parse_foreign,
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


def _provider(probs: Problems, provider: str | dict[str, Any], where: str) -> tuple[str | None, str | None] | None:
    """(label, id) of a result's provider (a string id, or an object with either), or None after a problem."""
    if isinstance(provider, str):
        if not provider:
            probs.add(f"{where}.provider: is empty")
            return None
        return None, provider
    label = provider.get("label") if isinstance(provider.get("label"), str) else None
    pid = provider.get("id") if isinstance(provider.get("id"), str) else None
    if not (label or pid):
        probs.add(f"{where}.provider: has neither 'id' nor 'label'")
        return None
    return label or None, pid or None


class PromptfooCellFields(ForeignRecord):
    """What a result row and a table cell share: the response, grading and latency."""

    response: dict[str, Any] | None = None
    gradingResult: dict[str, Any] | None = None
    latencyMs: FiniteNumber | None = None


class PromptfooResult(PromptfooCellFields):
    """One ``results.results[]`` row of a version-3 promptfoo output file."""

    testIdx: int
    success: bool
    promptIdx: int | None = None
    provider: StringOrObject


class PromptfooCell(PromptfooCellFields):
    """One cell of a version-2 ``table.body[].outputs[]``."""

    pass_: bool = Field(alias="pass")


class PromptfooTableHead(ForeignRecord):
    """``table.head``: the columns (one prompt run by one provider each)."""

    prompts: list[Any]


class PromptfooTableRow(ForeignRecord):
    """``table.body[i]``: test i, one output per column."""

    outputs: list[Any]


class PromptfooSummary(ForeignRecord):
    """The summary (``results``) of a version-2/3 file: its ``results[]`` rows."""

    results: list[Any]


class PromptfooFile(ForeignRecord):
    """A version-2/3 file's top level: the summary under ``results`` (the earliest files have the
    summary itself at the top and are read without this)."""

    results: PromptfooSummary


class PromptfooTable(ForeignRecord):
    """A version-2 ``table``."""

    head: PromptfooTableHead
    body: list[Any]


class _Counts:
    """Things seen across rows that go to ``unmapped`` once, with how many."""

    def __init__(self) -> None:
        self.costs = 0
        self.cached = 0


def _fields(
    cell: dict[str, Any],
    *,
    case_id: str,
    success: bool,
    response: dict[str, Any],
    grading: dict[str, Any],
    latency: float | None,
    text_field: Any,
    started: str | None,
    ctx: ParseContext,
    counts: _Counts,
) -> dict[str, Any]:
    """One result row from a v3 ``results[]`` entry or a v2 ``table`` cell (the same fields)."""
    error = cell.get("error") if isinstance(cell.get("error"), str) and cell.get("error") else None
    error = error or (response.get("error") if isinstance(response.get("error"), str) else None)
    reason = cell.get("failureReason")
    if isinstance(reason, int) and not isinstance(reason, bool):
        hard = reason == ERROR  # 1 (ASSERT) also carries the grader's reason in `error`
    else:  # older files: an error with no grading is a failed call
        hard = error is not None and not grading
    usage = response.get("tokenUsage") if isinstance(response.get("tokenUsage"), dict) else None
    usage = usage or (cell.get("tokenUsage") if isinstance(cell.get("tokenUsage"), dict) else {})
    is_cached = response.get("cached") is True
    counts.cached += is_cached
    counts.costs += cell.get("cost") is not None
    text = (
        text_field if isinstance(text_field, str) or text_field is None else json.dumps(text_field, ensure_ascii=False)
    )
    output, cut = truncate(text, ctx.max_output_chars)
    fields: dict[str, Any] = {
        "case_id": case_id,
        "status": "failed" if hard else "ok",
        "failure_kind": "runtime_error" if hard else None,
        "error": error if hard and error else None,
        "timing": {"e2e_s": latency / 1000 if latency is not None and not is_cached else None},
        "usage": {
            "prompt_tokens": usage.get("prompt") if isinstance(usage.get("prompt"), int) else None,
            "completion_tokens": usage.get("completion") if isinstance(usage.get("completion"), int) else None,
        },
        "output": output,
        "output_truncated": cut,
        "score": case_score(bool(success) and not hard, _checks(grading)),
    }
    if started:
        fields["started_at"] = started
    return fields


def _from_results(
    probs: Problems, rows: list[Any], base: str, started: str | None, ctx: ParseContext, counts: _Counts
) -> list[Row]:
    """Version 3 (and the current files): each ``results[]`` entry names its ``testIdx``."""
    out: list[Row] = []
    prompt_ids = {r.get("promptIdx") for r in rows if isinstance(r, dict)}
    for i, row in enumerate(rows):
        where = path_of(base, i)
        if not isinstance(row, dict):
            probs.add(f"{where}: expected an object, got {type(row).__name__}")
            continue
        rec = parse_foreign(PromptfooResult, probs, row, where)
        names = _provider(probs, rec.provider, where) if rec is not None else None
        if rec is None or names is None:
            continue
        label, pid = names
        test_idx, success, prompt_idx = rec.testIdx, rec.success, rec.promptIdx
        response, grading, latency = rec.response or {}, rec.gradingResult or {}, rec.latencyMs
        case_id = f"test-{test_idx}" if len(prompt_ids) <= 1 else f"test-{test_idx}-prompt-{prompt_idx}"
        fields = _fields(
            row,
            case_id=case_id,
            success=success,
            response=response,
            grading=grading,
            latency=latency,
            text_field=response.get("output"),
            started=started,
            ctx=ctx,
            counts=counts,
        )
        out.append(Row(label or pid or "", fields, names=(pid,) if label and pid else ()))
    return out


def _from_table(
    probs: Problems, table: dict[str, Any], base: str, started: str | None, ctx: ParseContext, counts: _Counts
) -> list[Row]:
    """Version 2: ``results[]`` has no ``testIdx`` (and was written in completion order), so
    the ``table`` names each cell instead: row i of ``table.body`` is test i, column j of
    its ``outputs`` is ``table.head.prompts[j]`` (one prompt run by one provider)."""
    parsed_table = parse_foreign(PromptfooTable, probs, table, base)
    probs.raise_if_any()
    parsed_table = cast(PromptfooTable, parsed_table)  # no problems: it parsed
    body, columns = parsed_table.body, parsed_table.head.prompts
    texts: dict[str, int] = {}
    for col in columns:
        if isinstance(col, dict):
            key = str(col.get("raw") or col.get("label") or col.get("display") or "")
            texts.setdefault(key, len(texts))
    out: list[Row] = []
    for i, row in enumerate(body):
        where = path_of(f"{base}.body", i)
        if not isinstance(row, dict):
            probs.add(f"{where}: expected an object, got {type(row).__name__}")
            continue
        parsed_row = parse_foreign(PromptfooTableRow, probs, row, where)
        outputs = parsed_row.outputs if parsed_row is not None else []
        for j, cell in enumerate(outputs):
            at = path_of(f"{where}.outputs", j)
            col = columns[j] if j < len(columns) and isinstance(columns[j], dict) else None
            if not isinstance(cell, dict) or col is None:
                probs.add(f"{at}: expected an object under a column of {base}.head.prompts")
                continue
            provider = col.get("provider") if isinstance(col.get("provider"), str) else cell.get("provider")
            if not isinstance(provider, str) or not provider:
                probs.add(f"{path_of(f'{base}.head.prompts', j)}: missing required field 'provider'")
                continue
            parsed = parse_foreign(PromptfooCell, probs, cell, at)
            if parsed is None:
                continue
            success, latency = parsed.pass_, parsed.latencyMs
            response, grading = parsed.response or {}, parsed.gradingResult or {}
            prompt = texts[str(col.get("raw") or col.get("label") or col.get("display") or "")]
            case_id = f"test-{i}" if len(texts) <= 1 else f"test-{i}-prompt-{prompt}"
            text = cell.get("text") if "text" in cell else response.get("output")
            fields = _fields(
                cell,
                case_id=case_id,
                success=success,
                response=response,
                grading=grading,
                latency=latency,
                text_field=text,
                started=started,
                ctx=ctx,
                counts=counts,
            )
            out.append(Row(provider, fields))
    return out


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    data = load_json(src)
    probs = Problems(src.shown)
    if not isinstance(data, dict):
        raise fail(src.shown, "$: expected an object (promptfoo eval -o results.json)", 1)
    if isinstance(data.get("results"), list):
        # The earliest files: the summary itself at the top ({version, results, table, stats}).
        summary, base, rows = data, "$", data["results"]
    else:
        parsed = parse_foreign(PromptfooFile, probs, data, "$")
        probs.raise_if_any()
        summary, base = data["results"], "$.results"
        rows = cast(PromptfooFile, parsed).results.results  # no problems: it parsed

    ex = Extracted()
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    version = meta.get("promptfooVersion")
    ex.tool_version = version if isinstance(version, str) else None
    ex.date = parse_datetime(summary.get("timestamp")) or parse_datetime(data.get("createdAt"))
    started = iso(ex.date) if ex.date else None
    counts = _Counts()
    layout = summary.get("version")
    table = summary.get("table")
    by_table = isinstance(table, dict) and not any(isinstance(r, dict) and "testIdx" in r for r in rows)
    if by_table:
        assert isinstance(table, dict)
        ex.results = _from_table(probs, table, f"{base}.table", started, ctx, counts)
        ex.notes.append(
            f"promptfoo results version {layout}: rows read from the table (test = table row, "
            "model = the provider of the table column), since results[] names no testIdx"
        )
        ex.unmapped.append(
            f"{base}.results: {len(rows)} entries without testIdx, in completion order; the table holds "
            "the same cells by position"
        )
    else:
        ex.results = _from_results(probs, rows, f"{base}.results", started, ctx, counts)
        if isinstance(table, dict):
            ex.unmapped.append(f"{base}.table: the same cells as results[], by position")
    probs.raise_if_any()
    if counts.costs:
        ex.unmapped.append(f"cost of {counts.costs} row(s): the run format has no per-result cost field")
    if counts.cached:
        ex.unmapped.append(f"latency of {counts.cached} cached row(s): a cache hit measures no request")
    for key in ("stats", "prompts"):
        if key in summary:
            ex.unmapped.append(f"{base}.{key}: aggregates recomputed from the rows")
    for key, why in (
        ("traces", "request spans, not results"),
        ("blobAssets", "media the outputs refer to (base64), not results"),
        ("runtimeOptions", "how promptfoo ran, not a measurement"),
        ("vars", "the eval's variable names (test vars are not mapped either)"),
    ):
        if key in data:
            ex.unmapped.append(f"$.{key}: {why}")
    ex.unmapped.append("namedScores and test vars: no field in the run format")
    return ex

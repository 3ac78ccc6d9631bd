"""Generic per-case results as CSV (``csv``) or JSON Lines (``jsonl``) -> ``results.jsonl``.

One row (CSV) or one object per line (JSONL) is one finished request of one model
on one case. Column names are the same in both formats.

Required columns:

- ``model``: the model name as your harness calls it (matched through the
  registry's ``aliases``, or use ``--model``);
- ``case_id``: the case the request answered;
- ``accepted``: whether the output was accepted (``true`` / ``false``; CSV also
  takes ``1`` / ``0``).

Optional columns (empty cells / missing keys stay empty):

- ``status`` (``ok`` / ``failed``, default ``ok``), ``failure_kind``, ``error``;
- ``repeat`` (integer >= 1, default 1), ``concurrency`` (integer >= 1, default 1),
  ``started_at`` (ISO 8601);
- ``ttft_s``, ``e2e_s``, ``tpot_s``, ``itl_mean_s``, ``output_tps`` (seconds,
  tokens/s; vLLM's definitions);
- ``prompt_tokens``, ``completion_tokens`` (integers);
- ``output`` (the model's text), ``role``, ``workload``, ``severity``;
- ``check:<name>`` (``true`` / ``false``): one check per column, e.g.
  ``check:json_valid``; a ``check:`` column named ``json_valid`` or
  ``json_schema`` counts towards the JSON-validity gate.

Any other column is reported as unmapped. Two rows with the same model, case,
repeat and concurrency are an error.
"""

from __future__ import annotations

import csv
import io
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
    iter_jsonl,
    parse_datetime,
    truncate,
)

REQUIRED = ("model", "case_id", "accepted")
TIMING = ("ttft_s", "e2e_s", "tpot_s", "itl_mean_s", "output_tps")
USAGE = ("prompt_tokens", "completion_tokens")
TEXT = ("failure_kind", "error", "started_at", "output", "role", "workload", "severity")
KNOWN = {*REQUIRED, *TIMING, *USAGE, *TEXT, "status", "repeat", "concurrency"}
CHECK_PREFIX = "check:"
TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no"}


class _Cells:
    """Typed reads of one row with ``file:line: column: message`` problems."""

    def __init__(self, probs: Problems, row: dict[str, Any], line: int, from_csv: bool):
        self.probs, self.row, self.line, self.csv = probs, row, line, from_csv
        self.ok = True

    def _raw(self, key: str) -> Any:
        value = self.row.get(key)
        if self.csv and isinstance(value, str) and not value.strip():
            return None
        return value

    def bad(self, key: str, want: str, value: Any) -> None:
        self.probs.add(f"{key}: expected {want}, got {value!r}", self.line)
        self.ok = False

    def text(self, key: str, required: bool = False) -> str | None:
        value = self._raw(key)
        if value is None:
            if required:
                self.probs.add(f"missing required column {key!r}", self.line)
                self.ok = False
            return None
        if not isinstance(value, str):
            if self.csv or not isinstance(value, int | float) or isinstance(value, bool):
                self.bad(key, "a string", value)
                return None
            return str(value)
        return value

    def boolean(self, key: str, required: bool = False) -> bool | None:
        value = self._raw(key)
        if value is None:
            if required:
                self.probs.add(f"missing required column {key!r}", self.line)
                self.ok = False
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and self.csv and value.strip().lower() in TRUE | FALSE:
            return value.strip().lower() in TRUE
        if isinstance(value, int) and not self.csv and value in (0, 1):
            return bool(value)
        self.bad(key, "true or false", value)
        return None

    def number(self, key: str, integer: bool = False) -> float | int | None:
        value = self._raw(key)
        if value is None:
            return None
        if isinstance(value, str) and self.csv:
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                self.bad(key, "an integer" if integer else "a number", value)
                return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(key, "an integer" if integer else "a number", value)
            return None
        if integer and (not isinstance(value, int) and not float(value).is_integer()):
            self.bad(key, "an integer", value)
            return None
        if value < 0:
            self.bad(key, "a non-negative number", value)
            return None
        return int(value) if integer else float(value)


def _row(probs: Problems, raw: dict[str, Any], line: int, from_csv: bool, ctx: ParseContext) -> Row | None:
    c = _Cells(probs, raw, line, from_csv)
    model = c.text("model", required=True)
    case_id = c.text("case_id", required=True)
    accepted = c.boolean("accepted", required=True)
    status = c.text("status") or "ok"
    if status not in ("ok", "failed"):
        c.bad("status", "'ok' or 'failed'", status)
    repeat = c.number("repeat", integer=True)
    concurrency = c.number("concurrency", integer=True)
    for key, value in (("repeat", repeat), ("concurrency", concurrency)):
        if value == 0:
            c.bad(key, "an integer >= 1", value)
    timing = {k: c.number(k) for k in TIMING}
    usage = {k: c.number(k, integer=True) for k in USAGE}
    texts = {k: c.text(k) for k in TEXT}
    if texts["started_at"] is not None and parse_datetime(texts["started_at"]) is None:
        c.bad("started_at", "an ISO 8601 date-time", texts["started_at"])
    checks = []
    for key in raw:
        if key.startswith(CHECK_PREFIX):
            passed = c.boolean(key)
            if passed is not None:
                name = key[len(CHECK_PREFIX) :]
                kind = name if name in ("json_valid", "json_schema") else f"generic:{name}"
                category = "format" if name in ("json_valid", "json_schema") else "accuracy"
                checks.append(check_outcome(name, kind, passed, "pass" if passed else "fail", category))
    if not c.ok or model is None or case_id is None or accepted is None:
        return None
    output, cut = truncate(texts.pop("output"), ctx.max_output_chars)
    failed = status == "failed"
    fields: dict[str, Any] = {
        "case_id": case_id,
        "status": status,
        "failure_kind": texts.pop("failure_kind") or ("runtime_error" if failed else None),
        "error": texts.pop("error"),
        "repeat": repeat or 1,
        "concurrency": concurrency or 1,
        "timing": timing,
        "usage": usage,
        "output": output,
        "output_truncated": cut,
        "score": case_score(accepted and not failed, checks),
    }
    for key in ("started_at", "role", "workload", "severity"):
        if texts.get(key) is not None:
            fields[key] = texts[key]
    return Row(model, fields)


def _add(ex: Extracted, probs: Problems, row: Row | None, line: int, seen: dict[tuple[Any, ...], int]) -> None:
    if row is None:
        return
    f = row.fields
    key = (row.source_model, f["case_id"], f["repeat"], f["concurrency"])
    if key in seen:
        probs.add(
            f"duplicate row: model {key[0]!r}, case {key[1]!r}, repeat {key[2]}, concurrency {key[3]} "
            f"(first on line {seen[key]})",
            line,
        )
        return
    seen[key] = line
    ex.results.append(row)


def _finish(ex: Extracted, probs: Problems, columns: set[str], src: SourceFile) -> Extracted:
    probs.raise_if_any()
    if not ex.results:
        raise fail(src.shown, "no rows in the file", 1)
    starts = [parse_datetime(r.fields["started_at"]) for r in ex.results if r.fields.get("started_at")]
    zoned = [d for d in starts if d is not None and d.tzinfo is not None]
    ex.date = min(zoned) if zoned else None
    extra = sorted(k for k in columns if k not in KNOWN and not k.startswith(CHECK_PREFIX))
    if extra:
        ex.unmapped.append(f"columns with no field in the run format: {', '.join(extra)}")
    return ex


def parse_csv(src: SourceFile, ctx: ParseContext) -> Extracted:
    probs = Problems(src.shown)
    reader = csv.DictReader(io.StringIO(src.text, newline=""))
    header = reader.fieldnames or []
    missing = [k for k in REQUIRED if k not in header]
    if missing:
        raise fail(src.shown, f"header lacks required column(s): {', '.join(missing)}", 1)
    ex = Extracted()
    seen: dict[tuple[Any, ...], int] = {}
    try:
        for raw in reader:
            line = reader.line_num
            if None in raw:
                probs.add(f"{len(raw[None])} more cell(s) than header columns", line)  # type: ignore[index]
                continue
            if any(v is None for v in raw.values()):
                probs.add("fewer cells than header columns (a truncated line?)", line)
                continue
            _add(ex, probs, _row(probs, raw, line, True, ctx), line, seen)
    except csv.Error as exc:
        probs.add(f"invalid CSV: {exc}", reader.line_num)
    return _finish(ex, probs, set(header), src)


def parse_jsonl(src: SourceFile, ctx: ParseContext) -> Extracted:
    probs = Problems(src.shown)
    ex = Extracted()
    seen: dict[tuple[Any, ...], int] = {}
    columns: set[str] = set()
    for line, obj in iter_jsonl(src, probs):
        columns.update(obj)
        _add(ex, probs, _row(probs, obj, line, False, ctx), line, seen)
    return _finish(ex, probs, columns, src)

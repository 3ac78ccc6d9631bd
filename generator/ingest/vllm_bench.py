"""vLLM serving benchmark (``benchmark_serving.py --save-result`` / ``vllm bench serve
--save-result``) -> ``perf.jsonl``.

One result file is one load level of one model: a JSON object (a JSON array of
such objects is read too). ``--append-result`` appends each new result to the same
file as one more line (``json.dump`` after a newline, so no trailing newline and no
enclosing array): each line is then its own run point with its own date, kept in
``extra`` with its line number, and the run's date is the earliest. Each result
maps to one :class:`PerfRecord`:

- ``model_id`` is the model; ``max_concurrency`` the concurrency; a finite
  ``request_rate`` the request rate (``"inf"`` means no rate limit);
- strategy: ``concurrent`` (no rate limit, a concurrency cap), ``throughput``
  (neither), ``poisson`` (a rate with ``burstiness`` 1) or ``gamma`` (other
  burstiness), as vLLM schedules arrivals;
- ``completed``, ``failed`` (when written), ``duration``, ``request_throughput``,
  ``output_throughput``;
- ``{mean,median,std,pNN}_{ttft,tpot,itl,e2el}_ms`` into ``ttft_ms`` /
  ``tpot_ms`` / ``itl_ms`` / ``e2el_ms`` by statistic (these are vLLM's own
  definitions, which the run format follows).

Token totals, goodput and other scalars are kept in ``extra`` under the keys vLLM
wrote, quirks included: ``request_goodput:`` (with its colon, as vLLM writes it),
``--metadata KEY=VALUE`` pairs as top-level strings, ``label``, ``endpoint_type``. The per-request
arrays written with ``--save-detailed`` (``ttfts``, ``itls``, ``generated_texts``,
``errors`` ...) are not mapped: they carry no scores, and pages never hold raw
per-request rows. Required: ``model_id``, ``completed``, ``duration``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from generator.ingest.common import (
    Extracted,
    FiniteNumber,
    ForeignRecord,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    fail,
    iter_jsonl,
    json_error,
    number_or_none,
    parse_foreign,
    path_of,
    too_deep,
)

STAT_KEY = re.compile(r"^(?P<stat>mean|median|std|p\d+(?:\.\d+)?)_(?P<metric>ttft|tpot|itl|e2el)_ms$")
DETAILED = ("input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times")
MAPPED = {
    "model_id",
    "date",
    "backend",
    "completed",
    "failed",
    "duration",
    "request_throughput",
    "output_throughput",
    "request_rate",
    "max_concurrency",
    "burstiness",
    *DETAILED,
}


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y%m%d-%H%M%S")  # noqa: DTZ007 - vLLM writes local time, no zone
    except ValueError:
        return None


class VllmResult(ForeignRecord):
    """The fields of one vLLM ``--save-result`` object the bench reads (the rest stay extra)."""

    model_id: str
    completed: int
    duration: FiniteNumber
    failed: int | None = None
    max_concurrency: int | None = None
    request_throughput: FiniteNumber | None = None
    output_throughput: FiniteNumber | None = None


def _record(probs: Problems, obj: dict[str, Any], where: str, index: int, line: int | None = None) -> Row | None:
    rec = parse_foreign(VllmResult, probs, obj, where, line)
    rate_raw = obj.get("request_rate")
    rate = number_or_none(rate_raw)
    if rate_raw is not None and rate is None and str(rate_raw).lower() not in ("inf", "infinity"):
        probs.add(f"{path_of(where, 'request_rate')}: expected a number or 'inf', got {rate_raw!r}", line)
    if rec is None:
        return None
    model, completed, duration = rec.model_id, rec.completed, rec.duration
    failed, concurrency = rec.failed, rec.max_concurrency
    stats: dict[str, dict[str, float]] = {"ttft": {}, "tpot": {}, "itl": {}, "e2el": {}}
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        m = STAT_KEY.match(key)
        if m and number_or_none(value) is not None:
            stats[m.group("metric")][m.group("stat")] = float(value)
        elif key not in MAPPED and not m:
            extra[key] = value
    burst = number_or_none(obj.get("burstiness"))
    if rate is None:
        strategy = "concurrent" if concurrency else "throughput"
    else:
        strategy = "poisson" if burst in (None, 1.0) else "gamma"
    for key in ("backend", "burstiness"):
        if obj.get(key) is not None:
            extra[key] = obj[key]
    if rate_raw is not None and rate is None:
        extra["request_rate"] = str(rate_raw)
    if line is not None:  # an appended file: each line keeps its own date and line number
        extra["source_line"] = line
        if obj.get("date") is not None:
            extra["date"] = obj["date"]
    return Row(
        model,
        {
            "key": (f"line{line}" if line is not None else f"{index}")
            + f"|{strategy}|rate={rate_raw}|concurrency={concurrency}",
            "strategy": strategy,
            "concurrency": concurrency,
            "request_rate": rate,
            "completed": completed,
            "failed": failed,
            "duration_s": float(duration),
            "request_throughput": number_or_none(obj.get("request_throughput")),
            "output_throughput": number_or_none(obj.get("output_throughput")),
            "ttft_ms": stats["ttft"],
            "tpot_ms": stats["tpot"],
            "itl_ms": stats["itl"],
            "e2el_ms": stats["e2el"],
            # vLLM writes the key with a colon ("request_goodput:"); kept as given in extra too.
            "request_goodput": number_or_none(obj.get("request_goodput:", obj.get("request_goodput"))),
            "extra": extra,
        },
    )


def _load(src: SourceFile) -> tuple[Any, bool]:
    """(the parsed value, False), or (None, True) for ``--append-result`` output: one result
    object per line, so the whole is not one JSON value ("Extra data" after the first)."""
    try:
        return json.loads(src.text), False
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and src.text.lstrip().startswith("{"):
            return None, True
        raise json_error(src.shown, src.text, exc) from None
    except RecursionError:
        raise too_deep(src.shown, src.text) from None


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    probs = Problems(src.shown)
    ex = Extracted()
    # (JSON path for problems, line, object): a file, an array of results, or appended lines.
    items: list[tuple[str, int | None, Any]]
    data, appended = _load(src)
    if appended:
        items = [("$", n, obj) for n, obj in iter_jsonl(src, probs)]
        ex.notes.append(
            f"vLLM --append-result file: {len(items)} results, one per line; each line is its own "
            "run point (its own date, load and settings), the key of each record names its line"
        )
    else:
        objs = data if isinstance(data, list) else [data]
        items = [(path_of("$", i) if isinstance(data, list) else "$", None, obj) for i, obj in enumerate(objs)]
    detailed: set[str] = set()
    dates: list[datetime] = []
    for i, (where, line, obj) in enumerate(items):
        if not isinstance(obj, dict):
            probs.add(f"{where}: expected an object (a vLLM --save-result file), got {type(obj).__name__}", line)
            continue
        row = _record(probs, obj, where, i, line)
        if row is None:
            continue
        ex.perf.append(row)
        detailed.update(k for k in DETAILED if k in obj)
        when = _date(obj.get("date"))
        if when is not None:
            dates.append(when)
        if not ex.environment and isinstance(obj.get("backend"), str):
            ex.environment = {"benchmark_backend": obj["backend"]}
    probs.raise_if_any()
    if not items:
        raise fail(src.shown, "$: no benchmark results in the file", 1)
    ex.date = min(dates) if dates else None
    if detailed:
        ex.unmapped.append(
            f"per-request arrays ({', '.join(sorted(detailed))}): no scores, and pages never carry raw rows"
        )
    ex.unmapped.append("hardware and vLLM version: the result file does not record them")
    return ex

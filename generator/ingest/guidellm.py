"""GuideLLM ``benchmarks.json`` reports -> ``perf.jsonl``.

One :class:`PerfRecord` per entry of ``benchmarks[]`` (one strategy of the run:
``synchronous``, ``concurrent``, ``throughput``, ``constant`` or ``poisson``; a
``sweep`` profile is a series of these). Both report layouts are read: the 0.2
layout (``args.strategy``, ``worker.backend_model``, ``request_totals`` and
``start_time`` / ``end_time`` on each benchmark) and the later one (top-level
``args.model``, ``config.strategy``, ``metrics.request_totals``,
``scheduler_metrics``, ``metadata.guidellm_version``).

Metrics are mapped by definition, not by name, because GuideLLM's names moved
between versions (REFERENCE.md):

- ``time_to_first_token_ms`` (request start -> first token) -> ``ttft_ms``;
- ``inter_token_latency_ms`` is, per request, (last token - first token) /
  (output tokens - 1): vLLM's TPOT, so it maps to ``tpot_ms`` (GuideLLM weights
  its distribution by tokens);
- ``time_per_output_token_ms`` divides by all output tokens (and in later
  versions counts from the request start): no counterpart, kept in ``extra``;
- ``request_latency`` (seconds) x 1000 -> ``e2el_ms``;
- vLLM-style ITL (gaps between streamed chunks) is not reported: ``itl_ms`` stays
  empty;
- ``request_throughput`` = successful requests / duration and
  ``output_throughput`` = output tokens of successful requests / duration, as
  vLLM defines them; GuideLLM's own time-weighted ``requests_per_second`` and
  ``output_tokens_per_second`` means are kept in ``extra``.

GuideLLM 0.7 adds service-level objectives and goodput: ``config.slo`` (``ttft_ms``,
``tpot_ms``, ``e2el_ms``, compared against TTFT, inter-token latency and request
latency) -> ``slo_ms``; ``metrics.slo_attainment`` / ``slo_determined_requests`` /
``slo_attainment_by_metric`` -> ``slo_attainment`` / ``slo_requests`` /
``slo_attainment_by_metric``; ``request_goodput`` is recomputed by vLLM's definition
(conforming requests / duration), GuideLLM's time-weighted means of
``request_goodput`` and ``output_token_goodput`` kept in ``extra``. Confidence
intervals on request-level distributions (``mean_ci``, ``percentile_cis``) ->
``intervals`` by metric and statistic, in the metric's unit.

Distributions use the ``successful`` requests. Required: ``benchmarks`` (a list)
and ``metrics`` on each benchmark; the model from the file or ``--model``.
"""

from __future__ import annotations

from typing import Any, cast

from generator.ingest.common import (
    Extracted,
    ForeignRecord,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    fail,
    load_json,
    number_or_none,
    parse_datetime,
    parse_foreign,
    path_of,
)

PERCENTILES = {
    "p001": "p0.1",
    "p01": "p1",
    "p05": "p5",
    "p10": "p10",
    "p25": "p25",
    "p50": "p50",
    "p75": "p75",
    "p90": "p90",
    "p95": "p95",
    "p99": "p99",
    "p999": "p99.9",
}


def _dict(obj: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        if not isinstance(obj, dict):
            return {}
        obj = obj.get(key)
    return obj if isinstance(obj, dict) else {}


def _dist(metrics: dict[str, Any], name: str, scale: float = 1.0) -> dict[str, float]:
    """vLLM-style statistics of the successful requests' distribution."""
    summary = _dict(metrics, name, "successful")
    out: dict[str, float] = {}
    for ours, theirs in (
        ("mean", "mean"),
        ("median", "median"),
        ("std", "std_dev"),
        ("min", "min"),
        ("max", "max"),
    ):
        value = number_or_none(summary.get(theirs))
        if value is not None:
            out[ours] = round(value * scale, 6)
    for theirs, ours in PERCENTILES.items():
        value = number_or_none(_dict(summary, "percentiles").get(theirs))
        if value is not None:
            out[ours] = round(value * scale, 6)
    if number_or_none(summary.get("count")) == 0:
        return {}
    return out


# GuideLLM's request-level metrics by the run format's names, and the unit factor.
INTERVAL_METRICS = {
    "time_to_first_token_ms": ("ttft_ms", 1.0),
    "inter_token_latency_ms": ("tpot_ms", 1.0),
    "request_latency": ("e2el_ms", 1000.0),
}
# GuideLLM's GoodputSLO fields (ttft_ms, tpot_ms against inter_token_latency_ms, e2el_ms)
# are already the run format's names.
SLO_NAMES = ("ttft_ms", "tpot_ms", "e2el_ms")


def _interval(value: Any, scale: float) -> tuple[list[float], float | None] | None:
    """[low, high] (and the level, when the interval records one) from a GuideLLM interval.

    GuideLLM's confidence intervals (``mean_ci``, ``percentile_cis``, vllm-project/guidellm
    PR #1163) are read when they give numeric ``lower`` and ``upper`` (or are a pair); any
    other shape is reported as not mapped, never guessed at.
    """
    if isinstance(value, dict):
        low, high = number_or_none(value.get("lower")), number_or_none(value.get("upper"))
        level = number_or_none(value.get("confidence", value.get("level")))
    elif isinstance(value, list) and len(value) == 2:
        low, high, level = number_or_none(value[0]), number_or_none(value[1]), None
    else:
        return None
    if low is None or high is None:
        return None
    return [round(low * scale, 6), round(high * scale, 6)], level


def _intervals(metrics: dict[str, Any], unmapped: set[str]) -> tuple[dict[str, Any], float | None]:
    out: dict[str, dict[str, list[float]]] = {}
    levels: set[float] = set()
    for name, (ours, scale) in INTERVAL_METRICS.items():
        summary = _dict(metrics, name, "successful")
        found: dict[str, list[float]] = {}
        if "mean_ci" in summary and summary["mean_ci"] is not None:
            got = _interval(summary["mean_ci"], scale)
            if got is None:
                unmapped.add(f"{name}.successful.mean_ci")
            else:
                found["mean"], level = got
                if level is not None:
                    levels.add(level)
        cis = summary.get("percentile_cis")
        if isinstance(cis, dict):
            for theirs, value in cis.items():
                got = _interval(value, scale)
                if got is None or theirs not in PERCENTILES:
                    unmapped.add(f"{name}.successful.percentile_cis.{theirs}")
                    continue
                found[PERCENTILES[theirs]], level = got
                if level is not None:
                    levels.add(level)
        elif cis is not None:
            unmapped.add(f"{name}.successful.percentile_cis")
        if found:
            out[ours] = found
    return out, (levels.pop() if len(levels) == 1 else None)


def _slo(bench: dict[str, Any], metrics: dict[str, Any], duration: float | None) -> dict[str, Any]:
    """The objectives, attainment and goodput of one benchmark (GuideLLM >= 0.7).

    ``request_goodput`` is computed as vLLM defines it, conforming requests / duration,
    with conforming = ``slo_attainment`` x ``slo_determined_requests`` (the attainment is
    that ratio); GuideLLM's own time-weighted ``request_goodput`` mean is kept in ``extra``.
    """
    config = _dict(bench, "config", "slo")
    slo = {k: float(v) for k in SLO_NAMES if (v := number_or_none(config.get(k))) is not None}
    attainment = number_or_none(metrics.get("slo_attainment"))
    determined = metrics.get("slo_determined_requests")
    determined = determined if isinstance(determined, int) and not isinstance(determined, bool) else None
    by_metric: dict[str, float] = {}
    for name, body in (metrics.get("slo_attainment_by_metric") or {}).items():
        value = number_or_none(body.get("attainment")) if isinstance(body, dict) else number_or_none(body)
        if value is not None:
            by_metric[str(name)] = value
    goodput = None
    if attainment is not None and determined is not None and duration:
        goodput = round(attainment * determined) / duration
    return {
        "slo_ms": slo,
        "slo_attainment": attainment,
        "slo_requests": determined,
        "slo_attainment_by_metric": by_metric,
        "request_goodput": goodput,
    }


def _model(report: dict[str, Any], bench: dict[str, Any]) -> str | None:
    for candidate in (
        _dict(bench, "worker").get("backend_model"),
        _dict(bench, "config", "backend").get("model"),
        _dict(report, "args").get("model"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


class GuideLLMReport(ForeignRecord):
    """A GuideLLM ``benchmarks.json`` report: its benchmarks (metadata and args stay extra)."""

    benchmarks: list[Any]


class GuideLLMBenchmark(ForeignRecord):
    """One benchmark of the report: its metrics (each read below by name; the rest stays extra)."""

    metrics: dict[str, Any]


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    data = load_json(src)
    probs = Problems(src.shown)
    if not isinstance(data, dict):
        raise fail(src.shown, "$: expected an object (a GuideLLM benchmarks.json report)", 1)
    report = parse_foreign(GuideLLMReport, probs, data, "$")
    probs.raise_if_any()
    benchmarks = cast(GuideLLMReport, report).benchmarks  # no problems: it parsed
    if not benchmarks:
        raise fail(src.shown, "$.benchmarks: the report holds no benchmarks", 1)
    ex = Extracted()
    version = _dict(data, "metadata").get("guidellm_version")
    ex.tool_version = version if isinstance(version, str) else None
    target = _dict(data, "args").get("target")
    if isinstance(target, str):
        ex.environment["target"] = target
    platform = _dict(data, "metadata").get("platform")
    if isinstance(platform, str):
        ex.environment["platform"] = platform
    odd_intervals: set[str] = set()
    no_objectives = 0
    for i, bench in enumerate(benchmarks):
        where = path_of("$.benchmarks", i)
        if not isinstance(bench, dict):
            probs.add(f"{where}: expected an object, got {type(bench).__name__}")
            continue
        parsed = parse_foreign(GuideLLMBenchmark, probs, bench, where)
        if parsed is None:
            continue
        metrics = parsed.metrics
        model = _model(data, bench)
        if model is None and ctx.model_override is None:
            probs.add(
                f"{where}: no model name (worker.backend_model / config.backend.model / args.model); pass --model"
            )
            continue
        strategy = _dict(bench, "config", "strategy") or _dict(bench, "args", "strategy")
        kind = strategy.get("type_") if isinstance(strategy.get("type_"), str) else None
        concurrency = number_or_none(strategy.get("streams"))
        if kind == "synchronous":
            concurrency = 1.0
        elif kind == "throughput":
            concurrency = number_or_none(strategy.get("max_concurrency"))
        rate = number_or_none(strategy.get("rate")) if kind in ("constant", "poisson") else None

        totals = _dict(metrics, "request_totals") or _dict(bench, "request_totals")
        successful = totals.get("successful") if isinstance(totals.get("successful"), int) else None
        errored = totals.get("errored") if isinstance(totals.get("errored"), int) else None
        sched = _dict(bench, "scheduler_metrics")
        start = number_or_none(bench.get("start_time"))
        end = number_or_none(bench.get("end_time"))
        duration = number_or_none(bench.get("duration"))
        if duration is None and sched:
            m_start, m_end = (
                number_or_none(sched.get("measure_start_time")),
                number_or_none(sched.get("measure_end_time")),
            )
            if m_start is not None and m_end is not None and m_end > m_start:
                duration, start = m_end - m_start, start or m_start
        if duration is None and start is not None and end is not None and end > start:
            duration = end - start
        out_tokens = number_or_none(_dict(metrics, "output_token_count", "successful").get("total_sum"))
        intervals, level = _intervals(metrics, odd_intervals)
        slo = _slo(bench, metrics, duration)
        if slo["slo_attainment"] is not None and not slo["slo_ms"]:
            no_objectives += 1
        extra: dict[str, Any] = {
            k: v
            for k, v in {
                "guidellm_requests_per_second_mean": number_or_none(
                    _dict(metrics, "requests_per_second", "successful").get("mean")
                ),
                "guidellm_request_goodput_mean": number_or_none(
                    _dict(metrics, "request_goodput", "successful").get("mean")
                ),
                "guidellm_output_token_goodput_mean": number_or_none(
                    _dict(metrics, "output_token_goodput", "successful").get("mean")
                ),
                "slo_conforming_requests_by_metric": {
                    name: body["conforming_requests"]
                    for name, body in (metrics.get("slo_attainment_by_metric") or {}).items()
                    if isinstance(body, dict) and isinstance(body.get("conforming_requests"), int)
                }
                or None,
                "guidellm_output_tokens_per_second_mean": number_or_none(
                    _dict(metrics, "output_tokens_per_second", "successful").get("mean")
                ),
                "guidellm_time_per_output_token_ms": _dist(metrics, "time_per_output_token_ms") or None,
                "incomplete": totals.get("incomplete"),
                "strategy": strategy or None,
                "profile": (_dict(bench, "config", "profile") or _dict(bench, "args", "profile")).get("type_"),
            }.items()
            if v is not None
        }
        ex.perf.append(
            Row(
                model or "(unnamed in source)",
                {
                    "key": f"{i}|{kind}|{concurrency or rate or ''}",
                    "strategy": kind,
                    "concurrency": concurrency,
                    "request_rate": rate,
                    "completed": successful,
                    "failed": errored,
                    "duration_s": duration,
                    "request_throughput": successful / duration if successful is not None and duration else None,
                    "output_throughput": out_tokens / duration if out_tokens is not None and duration else None,
                    "ttft_ms": _dist(metrics, "time_to_first_token_ms"),
                    "tpot_ms": _dist(metrics, "inter_token_latency_ms"),
                    "e2el_ms": _dist(metrics, "request_latency", 1000.0),
                    "intervals": intervals,
                    "interval_level": level,
                    **slo,
                    "extra": extra,
                },
            )
        )
        ex.date = ex.date or parse_datetime(start)
    probs.raise_if_any()
    if odd_intervals:
        ex.unmapped.append(
            "confidence intervals not given as numeric lower / upper: "
            + ", ".join(f"metrics.{k}" for k in sorted(odd_intervals))
        )
    if any(p.fields.get("intervals") for p in ex.perf) and all(p.fields.get("interval_level") is None for p in ex.perf):
        ex.unmapped.append("confidence level of the intervals: not recorded with them (interval_level left empty)")
    if no_objectives:
        ex.unmapped.append(
            f"the objectives behind slo_attainment of {no_objectives} benchmark(s): no config.slo in "
            "the report (slo_ms left empty)"
        )
    ex.unmapped.append("vLLM-style ITL (gaps between streamed chunks): GuideLLM does not report it")
    ex.unmapped.append("per-request samples (benchmarks[].requests): no scores, and pages never carry raw rows")
    return ex

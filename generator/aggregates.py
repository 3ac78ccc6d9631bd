"""Read the aggregate files of ingested runs (summaries.jsonl, perf.jsonl) into frames.

The I/O edge beside ``loaders.py``: aggregates stay aggregates, so they get their
own frames rather than being spread into per-case rows.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from generator.analysis.stats import wilson
from generator.execute.records import Manifest
from generator.execute.runstore import list_run_folders, load_perf, load_summaries

SUMMARY_COLUMNS = [
    "run_id",
    "source",
    "model_id",
    "external",
    "source_model",
    "task",
    "metric",
    "value",
    "stderr",
    "successes",
    "trials",
    "rate_low",
    "rate_high",
    "seconds_per_case",
    "total_cost",
    "cost_currency",
]
PERF_COLUMNS = [
    "run_id",
    "source",
    "model_id",
    "external",
    "source_model",
    "strategy",
    "concurrency",
    "request_rate",
    "completed",
    "failed",
    "request_throughput",
    "output_throughput",
    "prompt_tps",
    "generation_tps",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "tpot_p50_ms",
    "itl_p50_ms",
    "e2el_p50_ms",
    "hardware",
]


def _source(m: Manifest) -> str:
    src = m.source or {}
    return f"{src.get('format', '?')}: {src.get('file_name', '?')}"


def _p(d: dict[str, float], *keys: str) -> float | None:
    for k in keys:
        if k in d:
            return d[k]
    return None


def load_aggregates(runs_dir: Path, manifests: list[Manifest]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary and perf rows of every run that has them, labelled with their source file."""
    by_id = {m.run_id: m for m in manifests}
    summaries: list[dict] = []
    perf: list[dict] = []
    for folder in list_run_folders(runs_dir):
        m = by_id.get(folder.name)
        if m is None:
            continue
        for s in load_summaries(folder):
            ci = wilson(s.successes, s.trials) if s.successes is not None and s.trials else None
            summaries.append(
                {
                    "run_id": m.run_id,
                    "source": _source(m),
                    "model_id": s.model_id,
                    "external": s.external,
                    "source_model": s.source_model,
                    "task": s.task,
                    "metric": s.metric,
                    "value": s.value,
                    "stderr": s.stderr,
                    "successes": s.successes,
                    "trials": s.trials,
                    "rate_low": ci.low if ci else None,
                    "rate_high": ci.high if ci else None,
                    "seconds_per_case": s.seconds_per_case,
                    "total_cost": s.total_cost,
                    "cost_currency": s.cost_currency,
                }
            )
        for p in load_perf(folder):
            perf.append(
                {
                    "run_id": m.run_id,
                    "source": _source(m),
                    "model_id": p.model_id,
                    "external": p.external,
                    "source_model": p.source_model,
                    "strategy": p.strategy,
                    "concurrency": p.concurrency,
                    "request_rate": p.request_rate,
                    "completed": p.completed,
                    "failed": p.failed,
                    "request_throughput": p.request_throughput,
                    "output_throughput": p.output_throughput,
                    "prompt_tps": p.prompt_tps,
                    "generation_tps": p.generation_tps,
                    "ttft_p50_ms": _p(p.ttft_ms, "median", "p50"),
                    "ttft_p99_ms": _p(p.ttft_ms, "p99"),
                    "tpot_p50_ms": _p(p.tpot_ms, "median", "p50"),
                    "itl_p50_ms": _p(p.itl_ms, "median", "p50"),
                    "e2el_p50_ms": _p(p.e2el_ms, "median", "p50"),
                    "hardware": p.hardware,
                }
            )
    return pd.DataFrame(summaries, columns=SUMMARY_COLUMNS), pd.DataFrame(perf, columns=PERF_COLUMNS)

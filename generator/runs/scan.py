"""One scan of ``runs/``: manifests, results, summaries and perf of every run, together.

The I/O edge in front of the analysis. Results come from each run's side-car when it is
fresh (``generator.runs.sidecar``), else from ``results.jsonl``: parsed by Arrow's JSON reader
straight into columns (only the fields the frame needs) and flattened batch by batch, so a
million results cost seconds and a few hundred MB rather than a Python dict each (Arrow's
reader already parses on every core, so runs are read one after another). A run that Arrow
cannot read exactly as ``load_run`` does (a damaged line, a value of another type) is read
the slow way instead.

Aggregates (summaries.jsonl, perf.jsonl) stay aggregates: they get their own frames rather
than being spread into per-case rows. Human-review and prompt-mining folders are listed
apart and never read as runs of requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from generator.analysis.stats import wilson
from generator.errors import InputError, Problem
from generator.runs.frames import (
    OUTPUT_KEEP_CHARS,
    RESULT_FIELDS,
    flat_batch,
    frame_from_flat,
    rows_to_flat,
)
from generator.runs.reader import (
    is_mining_folder,
    is_orchestration_folder,
    is_review_folder,
    load_perf,
    load_review_folder,
    load_run,
    load_run_table,
    load_summaries,
    read_manifest,
)
from generator.runs.records import MANIFEST_FILE, Manifest, PerfRecord, ReviewManifest, ReviewRecord
from generator.runs.sidecar import read_sidecar


def _folders(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if p.is_dir() and (p / MANIFEST_FILE).is_file())


def list_run_folders(runs_dir: Path) -> list[Path]:
    """Folders of runs of requests (executed or ingested); human-review, prompt-mining and
    orchestration folders are left out."""
    return [
        p
        for p in _folders(runs_dir)
        if not is_review_folder(p) and not is_mining_folder(p) and not is_orchestration_folder(p)
    ]


def list_orchestration_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench orchestrate``, oldest id first."""
    return [p for p in _folders(runs_dir) if is_orchestration_folder(p)]


def list_mining_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench mine``, oldest id first."""
    return [p for p in _folders(runs_dir) if is_mining_folder(p)]


def list_review_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench review add``, oldest id first."""
    return [p for p in _folders(runs_dir) if is_review_folder(p)]


# --------------------------------------------------------------------------- results


def _read_run(folder: Path, output_chars: int | None) -> tuple[Manifest, Any]:
    import pyarrow as pa

    manifest = read_manifest(folder)
    table = read_sidecar(folder, manifest, output_chars)
    if table is not None:
        return manifest, table
    try:
        _, table = load_run_table(
            folder, RESULT_FIELDS, transform=lambda batch, m: flat_batch(batch, m.origin, output_chars)
        )
        return manifest, table.drop_columns(["key"])
    except pa.ArrowException:
        manifest, rows = load_run(folder)
        return manifest, rows_to_flat(rows, manifest.origin, output_chars)


def load_results(runs_dir: Path, output_chars: int | None = OUTPUT_KEEP_CHARS) -> tuple[pd.DataFrame, list[Manifest]]:
    """All results of all runs, and the manifests, oldest run first.

    ``output_chars`` caps the output text kept per result (None keeps it whole, and reads
    every ``results.jsonl``: side-cars keep ``OUTPUT_KEEP_CHARS``); the site needs
    ``policy.scoring.output_excerpt_chars`` + 1 (the extra character shows the cut).
    """
    manifests: list[Manifest] = []
    parts: list[Any] = []
    for folder in list_run_folders(runs_dir):
        manifest, part = _read_run(folder, output_chars)
        manifests.append(manifest)
        parts.append(part)
    manifests.sort(key=lambda m: (m.created_at, m.run_id))
    return frame_from_flat(parts), manifests


# --------------------------------------------------------------------------- aggregates

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


def _scanned(folder: Path, by_id: dict[str, Manifest]) -> Manifest:
    """The manifest this scan read for ``folder``: a folder without one is a load error naming it
    (it appeared after the scan, or the manifests are another store's), never a run left out."""
    m = by_id.get(folder.name)
    if m is None:
        problem = Problem(str(folder / MANIFEST_FILE), None, "run folder not among the manifests of this scan")
        raise InputError([problem])
    return m


def load_aggregates(runs_dir: Path, manifests: list[Manifest]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary and perf rows of every run that has them, labelled with their source file.

    ``manifests`` are those of the same scan (``load_results``): a run folder without one is a
    load error naming it (the folder appeared after that scan, or the manifests are another
    store's), never a run silently left out of the aggregates."""
    by_id = {m.run_id: m for m in manifests}
    summaries: list[dict] = []
    perf: list[dict] = []
    for folder in list_run_folders(runs_dir):
        m = _scanned(folder, by_id)
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


def load_perf_records(runs_dir: Path, manifests: list[Manifest]) -> dict[str, list[PerfRecord]]:
    """The perf records of every run folder that has them (ingested serving benchmarks), by run id;
    a folder outside ``manifests`` is a load error, as in :func:`load_aggregates`."""
    by_id = {m.run_id: m for m in manifests}
    out: dict[str, list[PerfRecord]] = {}
    for folder in list_run_folders(Path(str(runs_dir))):
        _scanned(folder, by_id)
        recs = load_perf(folder)
        if recs:
            out[folder.name] = recs
    return out


# --------------------------------------------------------------------------- human reviews


def load_reviews(runs_dir: Path) -> tuple[list[ReviewManifest], list[ReviewRecord]]:
    """Every human-review folder under ``runs_dir``: manifests (oldest first) and all their grades."""
    manifests: list[ReviewManifest] = []
    records: list[ReviewRecord] = []
    for folder in list_review_folders(runs_dir):
        manifest, rows = load_review_folder(folder)
        manifests.append(manifest)
        records += rows
    return manifests, records


# --------------------------------------------------------------------------- all together


@dataclass
class RunStore:
    """Everything ``runs/`` holds about runs of requests, read in one scan."""

    results: pd.DataFrame
    manifests: list[Manifest]
    summaries: pd.DataFrame
    perf: pd.DataFrame
    perf_records: dict[str, list[PerfRecord]] = field(default_factory=dict)


def scan_runs(runs_dir: Path, output_chars: int | None = OUTPUT_KEEP_CHARS) -> RunStore:
    """Manifests, results, summaries and perf of every run under ``runs_dir``."""
    results, manifests = load_results(runs_dir, output_chars)
    summaries, perf = load_aggregates(runs_dir, manifests)
    return RunStore(results, manifests, summaries, perf, load_perf_records(runs_dir, manifests))

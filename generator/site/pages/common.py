"""Pieces several pages share: model links, findings, the leaderboard table."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from generator.registry.loader import Registry
from generator.runs.records import Manifest
from generator.site.html import Cell, badge, esc, fmt_num
from generator.site.plan import SitePlan, rel

FINDING_ORDER = {"keep": 0, "fix": 1, "defer": 2, "insufficient-evidence": 3, "undecided": 4, "reject": 5, "no-runs": 9}


def model_link(reg: Registry, page: str, model_id: str, external_label: str = "external") -> Any:
    if model_id in reg.models:
        href = esc(rel(page, f"models/{model_id}.md"))
        title = esc(reg.models[model_id].display_name)
        return Cell(f'<a href="{href}" title="{title}">{esc(model_id)}</a>', plain=model_id)
    return f"{model_id} ({external_label})"


def finding_cell(finding: str) -> Any:
    if finding == "no-runs":
        return "no runs yet"
    return Cell(badge(finding), sort=FINDING_ORDER.get(finding, 9), plain=finding)


def acceptance_cell(rate: float, low: float, high: float) -> Cell:
    """The mean of per-case acceptance with its 95 % Wilson interval over cases."""
    text = (
        f"{fmt_num(rate, pct=True)} "
        f'<span class="opsbench-ci">[{fmt_num(low, pct=True)}, {fmt_num(high, pct=True)}]</span>'
    )
    plain = {"rate": rate, "ci_low": low, "ci_high": high}
    return Cell(text, sort=f"{rate:.6f}" if pd.notna(rate) else "", plain=plain)


def num_cell(value: Any, digits: int = 2, text: str | None = None) -> Cell:
    """A figure shown rounded, downloaded as the number itself (null when missing)."""
    missing = value is None or pd.isna(value)
    return Cell(text if text is not None else fmt_num(value, digits), plain=None if missing else float(value))


def rank_cell(rank: int, better: str) -> Cell:
    """A paired rank with ties; its title names the models significantly better on shared cases."""
    title = f"significantly better on shared cases: {better}" if better else "no model significantly better"
    return Cell(f'<span title="{esc(title)}">{int(rank)}</span>', sort=int(rank), plain=int(rank))


def fmt_secs(value: float | None, digits: int = 2) -> str:
    """Seconds; a quantile over requests some of which timed out can be infinite."""
    if value is not None and not pd.isna(value) and math.isinf(float(value)):
        return "timeout"
    return fmt_num(value, digits)


BOARD_HEADERS = [
    "Rank",
    "Model",
    "Cases",
    "Acceptance [95 % CI]",
    "Weighted score",
    "Review pain",
    "Hard failures",
    "Failure kinds",
    "Judge (0–2)",
    "TTFT p50 (s)",
    "Latency p50 (s)",
    "Latency p95 (s)",
    "Output tok/s",
    "Cost per task",
]


def board_table(
    plan: SitePlan,
    reg: Registry,
    page: str,
    slug: str,
    board: pd.DataFrame,
    extra: list[str] | None = None,
) -> str:
    extra = extra or []
    currency = reg.pricing.currency
    rows = []
    for r in board.itertuples():
        cost = getattr(r, "cost_per_task", float("nan"))
        rows.append(
            [
                *(getattr(r, e) for e in extra),
                rank_cell(r.rank, r.better_than_this),
                model_link(reg, page, r.model_id),
                plan.cases_count(page, r.model_id, r.cases),
                acceptance_cell(r.acceptance_rate, r.acceptance_low, r.acceptance_high),
                Cell(
                    f"{r.weighted_score:g}/{r.weighted_total:g}",
                    sort=r.weighted_score,
                    plain={"value": r.weighted_score, "total": r.weighted_total},
                ),
                num_cell(r.review_pain),
                Cell(
                    f"{fmt_num(r.hard_failure_rate, pct=True)} ({r.hard_failures})",
                    sort=r.hard_failure_rate,
                    plain={"rate": r.hard_failure_rate, "n": r.hard_failures},
                ),
                r.failure_kinds or "—",
                num_cell(getattr(r, "judge_score", None)),
                num_cell(r.ttft_p50_s, 3),
                num_cell(r.latency_p50_s, text=fmt_secs(r.latency_p50_s)),
                num_cell(r.latency_p95_s, text=fmt_secs(r.latency_p95_s)),
                num_cell(r.output_tps_p50, 1),
                Cell(
                    "—" if pd.isna(cost) else f"{cost:.6f} {currency}",
                    sort=None if pd.isna(cost) else cost,
                    plain={"value": None if pd.isna(cost) else cost, "currency": currency},
                ),
            ]
        )
    return plan.table(page, slug, [*[e.capitalize() for e in extra], *BOARD_HEADERS], rows)


def latest_run(manifests: list[Manifest]) -> Manifest | None:
    executed = [m for m in manifests if m.origin == "executed"]
    pool = executed or manifests
    return pool[-1] if pool else None


def env_line(m: Manifest) -> str:
    env = m.environment
    if not env:
        return "not recorded"
    gpus = ", ".join(env.get("gpus") or []) or "no GPU"
    return (
        f"{env.get('cpu_model') or 'unknown CPU'}, {env.get('cpu_cores')} cores, "
        f"{env.get('memory_gb')} GB RAM, {gpus}; {env.get('os')}; Python {env.get('python')}"
    )


def ingested_perf(data: Any, plan: SitePlan, page: str, model_id: str | None = None) -> list[str]:
    """Serving measurements from other harnesses (llama-bench, vLLM, GuideLLM), labelled by source."""
    p = data.perf
    if model_id is not None:
        p = p[p["model_id"] == model_id]
    if p.empty:
        return []
    rows = []
    for r in p.itertuples():
        name = f"{r.model_id} (external)" if r.external else r.model_id
        load = (
            f"{r.concurrency:g} in flight"
            if pd.notna(r.concurrency)
            else f"{r.request_rate:g} req/s"
            if pd.notna(r.request_rate)
            else "—"
        )
        rows.append(
            [
                name,
                r.source,
                r.strategy or "—",
                load,
                fmt_num(r.request_throughput, 2),
                fmt_num(r.output_throughput, 1),
                fmt_num(r.prompt_tps, 1),
                fmt_num(r.generation_tps, 1),
                fmt_num(r.ttft_p50_ms, 1),
                fmt_num(r.tpot_p50_ms, 2),
                fmt_num(r.e2el_p50_ms, 0),
                r.hardware or "—",
            ]
        )
    slug = "ingested-perf"
    return [
        "## Serving measurements ingested from other harnesses",
        "",
        plan.table(
            page,
            slug,
            [
                "Model",
                "Ingested from",
                "Strategy",
                "Load",
                "Requests/s",
                "Output tok/s",
                "Prompt tok/s",
                "Generation tok/s",
                "TTFT p50 (ms)",
                "TPOT p50 (ms)",
                "E2E p50 (ms)",
                "Hardware",
            ],
            rows,
            max_rows=300,
        ),
        "",
    ]

"""Pieces several pages share: model links, findings, the leaderboard table."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from generator.registry.loader import Registry
from generator.runs.records import Manifest
from generator.site.html import Cell, badge, esc, fmt_num
from generator.site.plan import SitePlan, rel

if TYPE_CHECKING:
    from generator.site.pages.context import SiteData

FINDING_ORDER = {"keep": 0, "fix": 1, "defer": 2, "insufficient-evidence": 3, "undecided": 4, "reject": 5, "no-runs": 9}


def model_link(reg: Registry, page: str, model_id: str, external_label: str = "external") -> Any:
    if model_id in reg.models:
        href = esc(rel(page, f"models/{model_id}.md"))
        title = esc(reg.models[model_id].display_name)
        return Cell(f'<a href="{href}" title="{title}">{esc(model_id)}</a>', plain=model_id)
    return f"{model_id} ({external_label})"


PROVIDER_LABELS = {
    "openai": "OpenAI-compatible",
    "ollama": "Ollama",
    "embedded": "embedded llama.cpp (in-process)",
    "hosted": "hosted API",
}


def provider_label(provider: str) -> str:
    """What a provider id means to a reader: "openai" is the OpenAI-compatible wire protocol any local
    server speaks (llama.cpp, vLLM, LM Studio), not OpenAI the company."""
    return PROVIDER_LABELS.get(provider, provider)


def architecture_label(model: Any) -> str:
    """The architecture the registry states; a model whose entry does not state it says so rather than
    showing the schema's default ("dense") as a fact."""
    return model.architecture if "architecture" in model.model_fields_set else "not stated in the registry"


_BACKTICKS = re.compile(r"`([^`]+)`")


def inline_md(text: str | None) -> Any:
    """Contributor text with `backtick` spans as code: escaped first, so only the code markup is HTML."""
    if not text:
        return "—"
    return Cell(_BACKTICKS.sub(r"<code>\1</code>", esc(text)), plain=text)


def run_command(reg: Registry, model_id: str) -> str:
    """The exact `opsbench run` command that measures a model on the suites of the workloads it is a
    candidate for (every suite when it is a candidate for none)."""
    workloads = {w.id for w in reg.workloads_file.workloads if model_id in w.candidates}
    suites = [s for s, suite in sorted(reg.suites.items()) if any(c.workload in workloads for c in suite.cases)]
    return "\n".join(f"opsbench run --suite {s} --models {model_id}" for s in (suites or sorted(reg.suites)))


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


_OP_TEXT = {">=": "≥", "<=": "≤"}
_SECONDS = ("p95_latency_s", "p50_latency_s", "cold_start_s")


def _gate_value(metric: str, value: float | None) -> str:
    """A gate's figure in its unit: rates in per cent, latencies in seconds, the rest as numbers."""
    if value is None or pd.isna(value):
        return "—"
    if metric in _SECONDS:
        return fmt_secs(value) + " s"
    if metric.endswith("_rate") or metric == "class_recall":
        return f"{value * 100:.0f} %"
    return f"{value:g}"


def gate_figure(result: Any) -> str:
    """A decision's key figure against its gate, e.g. "acceptance_rate 0 % [0, 18] vs ≥ 80 %":
    what a reader needs to see how far a candidate is from passing, in one phrase."""
    gate = result.gate
    metric = gate.metric + (f" ({gate.label})" if gate.label else "")
    figure = _gate_value(gate.metric, result.value)
    if result.ci_low is not None and result.ci_high is not None and gate.metric.endswith(("_rate", "recall")):
        figure += f" [{result.ci_low * 100:.0f}, {result.ci_high * 100:.0f}]"
    return f"{metric} {figure} vs {_OP_TEXT[gate.op]} {_gate_value(gate.metric, gate.value)}"


def key_gate(decision: Any) -> Any:
    """The gate that decides the finding: the first failing gate, else the first undecided, else
    acceptance, else the first quality gate (the ones a reader asks about first)."""
    gates = [g for g in decision.gates if g.value is not None]
    for state in ("fail", "insufficient"):
        for g in gates:
            if g.state == state:
                return g
    acceptance = [g for g in gates if g.gate.metric == "acceptance_rate"]
    quality = [g for g in gates if g.gate.kind == "quality"]
    return (acceptance or quality or gates or [None])[0]


def fmt_secs(value: float | None, digits: int = 2) -> str:
    """Seconds; a quantile over requests some of which timed out can be infinite."""
    if value is not None and not pd.isna(value) and math.isinf(float(value)):
        return "timeout"
    return fmt_num(value, digits)


def board_headers(reg: Registry) -> list[str]:
    """The leaderboard's columns; the judge column names the policy's scale."""
    from generator.site.glossary import judge_header

    return [
        "Rank",
        "Model",
        "Cases",
        "Acceptance [95 % CI]",
        "Weighted score",
        "Review pain",
        "Hard failures",
        "Failure kinds",
        judge_header(reg.policy),
        "TTFT p50 (s)",
        "Latency p50 (s)",
        "Latency p95 (s)",
        "Output tok/s",
        "Cost per task",
        "Runs",
    ]


def board_table(
    plan: SitePlan,
    data: SiteData,
    page: str,
    slug: str,
    board: pd.DataFrame,
    extra: list[str] | None = None,
) -> str:
    """A leaderboard table. On a board grouped by role, workload or suite (an ``extra`` column),
    each case count links to the list of that group's cases; every row names its runs."""
    # Imported here: caselists renders with the case pages, which import this module.
    from generator.site.pages.caselists import GROUPS, count_cell, row_runs

    reg = data.reg
    extra = extra or []
    by = next((e for e in extra if e in GROUPS), None)
    currency = reg.pricing.currency
    rows = []
    for r in board.itertuples():
        cost = getattr(r, "cost_per_task", float("nan"))
        value = getattr(r, by) if by is not None else None
        rows.append(
            [
                *(getattr(r, e) for e in extra),
                rank_cell(r.rank, r.better_than_this),
                model_link(reg, page, r.model_id),
                count_cell(data, plan, page, r.model_id, r.cases, by, value),
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
                row_runs(data, plan, page, r.model_id, by, value),
            ]
        )
    return plan.table(page, slug, [*[e.capitalize() for e in extra], *board_headers(reg)], rows)


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
    from generator.site.pages.caselists import runs_cell  # see board_table

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
                runs_cell(page, [str(r.run_id)]),
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
                "Runs",
            ],
            rows,
            max_rows=300,
        ),
        "",
    ]

"""The orchestration verdict: each strategy against the baseline, paired over the compound tasks.

Per task: the final output's score on the judge's 0..scale_max scale (policy
``orchestration.score_definition``), its cost (the sum of its calls' measured costs) and its
tokens and latency by pipeline role. Per strategy: the paired comparison with the baseline
(``compare.paired``), the cost saving, the coverage, and a verdict against policy.yaml's
thresholds. The seed's own strategy figures go through the same gates (``gates``), so where its
stated verdict does not follow from its stated numbers, the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from generator.analysis.compare import Paired, paired
from generator.errors import InputError, Problem
from generator.registry.loader import Registry
from generator.registry.schema import OrchestrationPolicy
from generator.runs.records import OrchestrationCall, OrchestrationManifest, StrategyInRun
from generator.runs.scan import list_orchestration_folders
from generator.runs.writer import OrchestrationFolder


def final_score(call: OrchestrationCall | None, scale_max: int) -> float:
    """policy.yaml ``orchestration.score_definition``, the one place it is computed."""
    if call is None or call.status != "ok" or call.score is None:
        return 0.0
    if call.judge and call.judge.get("mean") is not None:
        return float(call.judge["mean"])
    checks = call.score.checks
    return scale_max * sum(c.passed for c in checks) / len(checks) if checks else 0.0


def output_cost(call: OrchestrationCall) -> float | None:
    """The completion tokens' part of a call's cost: a lower bound of its cost when the server
    reported no prompt tokens (llama_cpp.server does not while streaming). Shown, never gated."""
    tokens, price = call.usage.completion_tokens, call.cost.output_per_mtok
    return None if tokens is None or price is None else tokens * price / 1e6


@dataclass
class TaskRow:
    strategy: str
    task_id: str
    covered: bool
    score: float
    cost: float | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    tokens_estimated: bool
    latency_s: float
    orchestrator_cost: float | None
    executor_cost: float | None
    output_cost: float | None  # completion tokens alone: a lower bound when prompt tokens are unreported


@dataclass
class StrategyResult:
    strategy: StrategyInRun
    tasks: int
    covered: int
    mean_score: float | None
    cost_per_task: float | None
    costed_tasks: int
    tokens_per_task: float | None
    latency_per_task_s: float | None
    output_cost_per_task: float | None = None
    comparison: Paired | None = None
    cost_saving: float | None = None
    output_cost_saving: float | None = None  # on output-token cost alone; shown, never gated
    verdict: str = "baseline"
    reasons: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.covered / self.tasks if self.tasks else 0.0


@dataclass
class SeedRow:
    strategy: str
    label: str
    claim: str
    score: float
    cost_per_task: float
    currency: str
    cost_in_currency: float
    coverage: float
    seed_verdict: str | None
    policy_verdict: str
    reasons: list[str]


@dataclass
class OrchestrationReport:
    run_id: str
    suite: str
    status: str
    baseline: str
    currency: str
    scale_max: int
    policy: OrchestrationPolicy
    strategies: list[StrategyResult]
    tasks: list[TaskRow]
    by_role: list[dict]
    seed_rows: list[SeedRow]
    seed_source: str | None
    max_tokens: int | None
    notes: list[str]


def gates(
    delta: float | None, saving: float | None, coverage: float, policy: OrchestrationPolicy
) -> tuple[bool, list[str]]:
    """Whether the three thresholds pass on these point values, and why not."""
    reasons = []
    if delta is None or delta < policy.min_score_delta:
        reasons.append(
            "score delta unknown" if delta is None else f"score delta {delta:+.2f} < {policy.min_score_delta:+.2f}"
        )
    if saving is None or saving <= policy.min_cost_saving:
        reasons.append(
            "cost saving unknown (baseline cost missing or zero)"
            if saving is None
            else f"cost saving {saving:.0%} is not above {policy.min_cost_saving:.0%}"
        )
    if coverage < policy.min_coverage:
        reasons.append(f"coverage {coverage:.0%} < {policy.min_coverage:.0%}")
    return not reasons, reasons


def _saving(cost: float | None, base: float | None) -> float | None:
    return None if cost is None or base is None or base <= 0 else 1 - cost / base


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def task_rows(manifest: OrchestrationManifest, calls: list[OrchestrationCall], scale_max: int) -> list[TaskRow]:
    by = {(c.strategy, c.task_id): [] for c in calls}  # type: dict[tuple[str, str], list[OrchestrationCall]]
    for c in calls:
        by[(c.strategy, c.task_id)].append(c)
    rows = []
    for s in manifest.strategies:
        for t in manifest.task_ids:
            cs = by.get((s.id, t), [])
            synth = next((c for c in cs if c.step == "synthesis"), None)

            def cost_of(items: list[OrchestrationCall]) -> float | None:
                amounts = [c.cost.amount for c in items]
                return None if not items or any(a is None for a in amounts) else float(sum(amounts))  # type: ignore[arg-type]

            rows.append(
                TaskRow(
                    strategy=s.id,
                    task_id=t,
                    covered=synth is not None and synth.status == "ok",
                    score=final_score(synth, scale_max),
                    cost=cost_of(cs) if synth is not None else None,
                    calls=len(cs),
                    prompt_tokens=sum(c.usage.prompt_tokens or 0 for c in cs),
                    completion_tokens=sum(c.usage.completion_tokens or 0 for c in cs),
                    tokens_estimated=any(c.usage.estimated for c in cs),
                    latency_s=sum(c.timing.e2e_s or 0.0 for c in cs),
                    orchestrator_cost=cost_of([c for c in cs if c.pipeline_role == "orchestrator"]),
                    executor_cost=cost_of([c for c in cs if c.pipeline_role == "executor"]),
                    output_cost=None
                    if not cs or any(output_cost(c) is None for c in cs)
                    else float(sum(output_cost(c) or 0.0 for c in cs)),
                )
            )
    return rows


def _by_role(calls: list[OrchestrationCall]) -> list[dict]:
    out: dict[tuple[str, str, str], dict] = {}
    for c in calls:
        row = out.setdefault(
            (c.strategy, c.pipeline_role, c.model_id),
            {
                "strategy": c.strategy,
                "pipeline_role": c.pipeline_role,
                "model_id": c.model_id,
                "calls": 0,
                "failed": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "latency_s": 0.0,
                "cost": 0.0,
            },
        )
        row["calls"] += 1
        row["failed"] += c.status == "failed"
        row["prompt_tokens"] += c.usage.prompt_tokens or 0
        row["completion_tokens"] += c.usage.completion_tokens or 0
        row["latency_s"] += c.timing.e2e_s or 0.0
        row["cost"] = None if row["cost"] is None or c.cost.amount is None else row["cost"] + c.cost.amount
    return list(out.values())


def orchestration_report(
    reg: Registry, manifest: OrchestrationManifest, calls: list[OrchestrationCall]
) -> OrchestrationReport:
    """The verdict of one orchestration run (calls as read from its folder)."""
    policy = reg.policy.orchestration
    if policy is None:
        raise InputError([Problem(str(reg.root / "policy.yaml"), None, "no orchestration block")])
    scale = reg.policy.judge.scale_max
    rows = task_rows(manifest, calls, scale)
    results: list[StrategyResult] = []
    series: dict[str, pd.Series] = {}
    for s in manifest.strategies:
        mine = [r for r in rows if r.strategy == s.id]
        costs = [r.cost for r in mine if r.cost is not None]
        out_costs = [r.output_cost for r in mine if r.output_cost is not None]
        series[s.id] = pd.Series({r.task_id: r.score for r in mine}, name=s.id, dtype=float)
        results.append(
            StrategyResult(
                strategy=s,
                tasks=len(mine),
                covered=sum(r.covered for r in mine),
                mean_score=_mean([r.score for r in mine]),
                cost_per_task=_mean(costs) if len(costs) == len(mine) else None,
                costed_tasks=len(costs),
                tokens_per_task=_mean([float(r.prompt_tokens + r.completion_tokens) for r in mine]),
                latency_per_task_s=_mean([r.latency_s for r in mine]),
                output_cost_per_task=_mean(out_costs) if len(out_costs) == len(mine) else None,
            )
        )
    base = next(r for r in results if r.strategy.id == manifest.baseline)
    for r in results:
        if r is base:
            continue
        r.comparison = paired(
            series[base.strategy.id],
            series[r.strategy.id],
            reg.policy.statistics,
            binary=False,
            names=(base.strategy.id, r.strategy.id),
        )
        r.cost_saving = _saving(r.cost_per_task, base.cost_per_task)
        r.output_cost_saving = _saving(r.output_cost_per_task, base.output_cost_per_task)
        ok, r.reasons = gates(r.comparison.diff, r.cost_saving, r.coverage, policy)
        low = r.comparison.ci_low
        if not ok:
            r.verdict = "not justified"
        elif r.comparison.n < 2 or low is None or low < policy.min_score_delta:
            r.verdict = "insufficient evidence"
            r.reasons.append(
                f"non-inferiority not shown: the interval's lower bound {'—' if low is None else f'{low:+.2f}'} "
                f"is below {policy.min_score_delta:+.2f} on {r.comparison.n} task(s)"
            )
        else:
            r.verdict = "justified"
    return OrchestrationReport(
        run_id=manifest.run_id,
        suite=manifest.suite,
        status=manifest.status,
        baseline=manifest.baseline,
        currency=reg.pricing.currency,
        scale_max=scale,
        policy=policy,
        strategies=results,
        tasks=rows,
        by_role=_by_role(calls),
        seed_rows=seed_rows(reg),
        seed_source=reg.compound.strategies_file.seed_source if reg.compound.strategies_file else None,
        max_tokens=manifest.max_tokens,
        notes=list(manifest.notes),
    )


def seed_rows(reg: Registry) -> list[SeedRow]:
    """The seed's strategy figures, each put through the same gates as ours (point values only:
    the seed gives no per-task scores, so no interval)."""
    policy = reg.policy.orchestration
    sf = reg.compound.strategies_file
    if policy is None or sf is None:
        return []
    pr = reg.pricing
    claims = {s.id: s.seed_claim for s in sf.strategies if s.seed_claim is not None}
    base = claims.get(sf.baseline)
    out = []
    for sid, c in claims.items():
        rate = pr.fx_to_currency.get(c.currency, 1.0)
        cov = c.covered / c.tasks
        if sid == sf.baseline or base is None:
            verdict, reasons = "baseline", []
        else:
            ok, reasons = gates(c.score - base.score, _saving(c.cost_per_task, base.cost_per_task), cov, policy)
            verdict = "justified" if ok else "not justified"
        out.append(
            SeedRow(
                sid,
                c.label,
                c.claim,
                c.score,
                c.cost_per_task,
                c.currency,
                c.cost_per_task * rate,
                cov,
                c.verdict,
                verdict,
                reasons,
            )
        )
    return out


@dataclass
class OrchestrationRun:
    manifest: OrchestrationManifest
    calls: list[OrchestrationCall]


def load_orchestration_runs(runs_dir: Path) -> list[OrchestrationRun]:
    """Every orchestration folder under ``runs_dir``, oldest first; a damaged manifest is an input problem."""
    out, problems = [], []
    for path in list_orchestration_folders(runs_dir):
        folder = OrchestrationFolder(path)
        try:
            manifest = folder.read_manifest()
        except ValueError as exc:
            problems.append(Problem(str(folder.manifest_path), None, f"bad orchestration manifest: {exc}"))
            continue
        from generator.runs.reader import read_calls

        out.append(OrchestrationRun(manifest, read_calls(folder.results_path, path.name).records))
    if problems:
        raise InputError(problems)
    return out

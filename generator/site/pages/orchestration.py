"""Orchestration: compound tasks under each strategy, and each strategy's verdict against the baseline."""

from __future__ import annotations

from generator.analysis.orchestration import OrchestrationReport
from generator.site.html import esc_md
from generator.site.plan import SitePlan

PAGE = "orchestration.md"


def _n(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def orchestration_page(plan: SitePlan, report: OrchestrationReport | None, seed_rows: list) -> str:
    """The latest orchestration run's verdicts, with the seed's strategy figures quoted beside them."""
    out = [
        "# Orchestration",
        "",
        "Each compound task runs an optional plan by the orchestrator, 2–4 sub-tasks by the executor (each "
        "prompt carries earlier outputs) and a synthesis by the orchestrator; only the final output is scored. "
        "Each strategy is paired with the baseline over the tasks (per-task score difference, sign-flip "
        "permutation test, paired bootstrap interval); cost per task is the sum of its calls' measured tokens "
        "times the price each call was billed at (pricing.yaml).",
        "",
    ]
    if report is None:
        out += ["No orchestration run yet: `opsbench orchestrate --suite S --strategies a,b,c`.", ""]
    else:
        p = report.policy
        out += [
            f"Run {esc_md(report.run_id)} ({esc_md(report.status)}), compound suite {esc_md(report.suite)}, "
            f"baseline {esc_md(report.baseline)}, max tokens per call {esc_md(report.max_tokens or 'per task')}. "
            f"Thresholds (policy.yaml): score delta at least {p.min_score_delta:+.2f} on the 0–{report.scale_max} "
            f"scale, cost saving above {p.min_cost_saving:.0%}, coverage at least {p.min_coverage:.0%}. "
            f"{esc_md(p.score_definition)}",
            "",
        ]
        stand_ins = sorted({x for r in report.strategies for x in r.strategy.stand_in})
        if stand_ins:
            out += [
                "**Stand-ins:** " + "; ".join(esc_md(x) for x in stand_ins) + ". Their tokens are billed at "
                "the prices of what they stand in for; their quality is the stand-in's, not the host's.",
                "",
            ]
        rows = []
        for r in report.strategies:
            c = r.comparison
            rows.append(
                [
                    r.strategy.id,
                    r.strategy.orchestrator,
                    r.strategy.executor,
                    f"{r.covered}/{r.tasks}",
                    _n(r.mean_score),
                    "—"
                    if c is None or c.diff is None
                    else f"{c.diff:+.2f} [{_n(c.ci_low, '{:+.2f}')}, {_n(c.ci_high, '{:+.2f}')}]",
                    "—" if c is None or c.p_value is None else f"{c.p_value:.3g}",
                    _n(r.cost_per_task, "{:.5f}"),
                    _n(r.cost_saving, "{:.0%}"),
                    _n(r.output_cost_per_task, "{:.5f}"),
                    _n(r.output_cost_saving, "{:.0%}"),
                    _n(r.tokens_per_task, "{:.0f}"),
                    _n(r.latency_per_task_s, "{:.1f}"),
                    r.verdict,
                    "; ".join(r.reasons),
                ]
            )
        out += [
            plan.table(
                PAGE,
                "strategies",
                [
                    "Strategy",
                    "Orchestrator",
                    "Executor",
                    "Covered",
                    "Score",
                    "Δ vs baseline [95 % CI]",
                    "p",
                    f"Cost per task ({report.currency})",
                    "Saving",
                    f"Output-token cost per task ({report.currency}, lower bound)",
                    "Output-token saving (not gated)",
                    "Tokens per task",
                    "Latency per task (s)",
                    "Verdict",
                    "Why",
                ],
                rows,
            ),
            "",
        ]
        out += [
            "## Calls by pipeline role",
            "",
            plan.table(
                PAGE,
                "roles",
                [
                    "Strategy",
                    "Role",
                    "Model",
                    "Calls",
                    "Failed",
                    "Prompt tokens",
                    "Completion tokens",
                    "Latency (s)",
                    f"Cost ({report.currency})",
                ],
                [
                    [
                        r["strategy"],
                        r["pipeline_role"],
                        r["model_id"],
                        r["calls"],
                        r["failed"],
                        r["prompt_tokens"],
                        r["completion_tokens"],
                        f"{r['latency_s']:.1f}",
                        _n(r["cost"], "{:.5f}"),
                    ]
                    for r in report.by_role
                ],
            ),
            "",
        ]
        out += [
            "## Per task",
            "",
            plan.table(
                PAGE,
                "tasks",
                ["Strategy", "Task", "Covered", "Score", f"Cost ({report.currency})", "Calls", "Tokens", "Latency (s)"],
                [
                    [
                        t.strategy,
                        t.task_id,
                        "yes" if t.covered else "no",
                        f"{t.score:.2f}",
                        _n(t.cost, "{:.5f}"),
                        t.calls,
                        t.prompt_tokens + t.completion_tokens,
                        f"{t.latency_s:.1f}",
                    ]
                    for t in report.tasks
                ],
            ),
            "",
        ]
    if seed_rows:
        out += [
            "## Quoted, not measured here",
            "",
            "The seed's Strategy A/B/C figures, as it states them, put through the same thresholds "
            "(point values: the seed gives no per-task scores).",
            "",
            plan.table(
                PAGE,
                "seed",
                [
                    "Strategy",
                    "Seed's label",
                    "Seed says",
                    "Score",
                    "Cost per task",
                    "Seed's verdict",
                    "Verdict its figures give",
                    "Why",
                ],
                [
                    [
                        s.strategy,
                        s.label,
                        s.claim,
                        f"{s.score:g}",
                        f"{s.cost_per_task:g} {s.currency}",
                        s.seed_verdict or "—",
                        s.policy_verdict,
                        "; ".join(s.reasons),
                    ]
                    for s in seed_rows
                ],
            ),
            "",
        ]
    return "\n".join(out)

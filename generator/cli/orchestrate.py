"""The ``orchestrate`` command: parse, run (or resume) the pipelines, print the verdict."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from generator.analysis.serialize import json_safe
from generator.cli.options import (
    _table,
    handles_errors,
    invocation_args,
    json_option,
    out_folder_option,
    registry_option,
)


def _num(x: float | None, fmt: str = "{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


@click.command()
@registry_option
@click.option("--suite", default=None, help="Compound suite (registry/compound/<suite>/).")
@click.option(
    "--strategies",
    default=None,
    help="Comma-separated strategy ids (registry/compound/strategies.yaml); must include the baseline.",
)
@click.option("--task", "task_ids", multiple=True, help="Only these compound task ids (repeatable).")
@click.option("--max-tokens", default=None, type=int, help="Override every call's max_tokens.")
@click.option("--judges", default=None, help="Comma-separated judge model ids (default: policy.yaml judge.judges).")
@click.option("--resume", "resume_id", default=None, help="Finish an interrupted orchestration run by id.")
@out_folder_option("run")
@json_option
@handles_errors
def orchestrate(
    registry_dir: Path,
    suite: str | None,
    strategies: str | None,
    task_ids: tuple[str, ...],
    max_tokens: int | None,
    judges: str | None,
    resume_id: str | None,
    out_dir: Path,
    json_: bool,
) -> None:
    """Run compound tasks under orchestration strategies and give each a verdict against the baseline.

    Each task runs the orchestrator's plan, 2-4 sub-tasks by the executor (earlier outputs
    injected), and the orchestrator's synthesis, whose output alone is scored. Every call
    (pipeline role, model, tokens, latency, cost) is appended to calls.jsonl at once, so an
    interrupted run loses nothing: finish it with --resume RUN_ID. The verdict pairs each
    strategy with the baseline over the tasks (policy.yaml orchestration thresholds).

    Example:

        opsbench orchestrate --suite claims_orch --strategies cloud-only,hybrid,local --max-tokens 48
        opsbench orchestrate --resume 20260101-120000-claims_orch-abc123
    """
    from generator.analysis.orchestration import orchestration_report
    from generator.execute.orchestrate import resume_orchestration, start_orchestration
    from generator.registry.loader import load_registry
    from generator.runs.writer import OrchestrationFolder

    reg = load_registry(registry_dir)
    if resume_id is None and (suite is None or strategies is None):
        raise click.UsageError("give --suite and --strategies (or --resume RUN_ID)")

    def progress(rec) -> None:  # an OrchestrationCall
        e2e = rec.timing.e2e_s
        click.echo(
            f"{rec.strategy} {rec.task_id} {rec.step} ({rec.pipeline_role}, {rec.model_id}): {rec.status}"
            f" {_num(e2e, '{:.1f}')} s, {rec.usage.completion_tokens or 0} tokens",
            err=True,
        )

    created: list[str] = [resume_id] if resume_id else []
    try:
        if resume_id:
            path = resume_orchestration(reg, resume_id, out_dir, progress=progress)
        else:
            path = start_orchestration(
                reg,
                suite or "",
                [s.strip() for s in (strategies or "").split(",") if s.strip()],
                out_dir,
                cli_args=invocation_args(click.get_current_context()),
                max_tokens=max_tokens,
                task_ids=list(task_ids) or None,
                judges=[j.strip() for j in judges.split(",") if j.strip()] if judges is not None else None,
                progress=progress,
                on_created=created.append,
            )
    except KeyboardInterrupt:
        click.echo("\ninterrupted: every finished call is saved.", err=True)
        if created:
            click.echo(f"resume with: opsbench orchestrate --resume {created[0]} --out {out_dir}", err=True)
        sys.exit(130)
    folder = OrchestrationFolder(path)
    report = orchestration_report(reg, folder.read_manifest(), folder.repair_and_read())
    if json_:
        click.echo(json.dumps(json_safe({"path": str(path), "report": report}), indent=2))
        return
    w = click.echo
    w(f"orchestration run {report.run_id}: {report.status}, calls in {path}")
    w("")
    rows = []
    for r in report.strategies:
        c = r.comparison
        rows.append(
            {
                "strategy": r.strategy.id,
                "orchestrator": r.strategy.orchestrator,
                "executor": r.strategy.executor,
                "covered": f"{r.covered}/{r.tasks}",
                f"score (0-{report.scale_max})": _num(r.mean_score),
                "delta [95% CI]": "—"
                if c is None or c.diff is None
                else f"{c.diff:+.2f} [{_num(c.ci_low, '{:+.2f}')}, {_num(c.ci_high, '{:+.2f}')}]",
                f"cost/task ({report.currency})": _num(r.cost_per_task, "{:.5f}"),
                "saving": _num(r.cost_saving, "{:.0%}"),
                f"output-token cost/task ({report.currency})": _num(r.output_cost_per_task, "{:.5f}"),
                "output saving": _num(r.output_cost_saving, "{:.0%}"),
                "verdict": r.verdict,
            }
        )
    w(_table(rows, list(rows[0])))
    for r in report.strategies:
        for reason in r.reasons:
            w(f"  {r.strategy.id}: {reason}")
    if report.seed_rows:
        w("")
        w("The seed's figures (quoted), through the same thresholds")
        w(
            _table(
                [
                    {
                        "strategy": s.strategy,
                        "seed score": f"{s.score:g}",
                        "seed cost/task": f"{s.cost_per_task:g} {s.currency}",
                        "seed verdict": s.seed_verdict or "—",
                        "by policy": s.policy_verdict,
                    }
                    for s in report.seed_rows
                ],
                ["strategy", "seed score", "seed cost/task", "seed verdict", "by policy"],
            )
        )

"""The ``opsbench`` command line: parse, call one library function, print.

Heavy imports (pandas, llama_cpp, mkdocs) happen inside the commands, so
``opsbench --help`` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from generator import __version__
from generator.cli_common import (
    _table,
    handles_errors,
    invocation_args,
    json_option,
    json_safe,
    registry_option,
    runs_option,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsbench")
def cli() -> None:
    """Local Model Ops Bench: run task suites against local and hosted models,
    decide which work may be routed local, and publish the evidence as a site.

    Start with `opsbench validate`, then `opsbench run --suite smoke`, then
    `opsbench build`.
    """


@cli.command()
@registry_option
@json_option
@handles_errors
def validate(registry_dir: Path, json_: bool) -> None:
    """Check every registry and task file, including cross-references.

    Prints one `file:line: message` per problem and exits 2 if there is any.

    Example:

        opsbench validate --registry registry/
    """
    from generator.registry.loader import load_registry
    from generator.registry.summary import registry_summary

    reg = load_registry(registry_dir)
    summary = registry_summary(reg)
    if json_:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"registry OK: {summary['models']} models, {summary['roles']} roles, "
        f"{summary['workloads']} workloads, {summary['machines']} machines, "
        f"{summary['cases']} cases in {len(summary['suites'])} suites"
    )
    click.echo("cases per role:     " + ", ".join(f"{k} {v}" for k, v in summary["cases_per_role"].items()))
    click.echo("cases per workload: " + ", ".join(f"{k} {v}" for k, v in summary["cases_per_workload"].items()))


@cli.group()
def tasks() -> None:
    """List and scaffold contributor task cases."""


@tasks.command("list")
@registry_option
@click.option("--suite", default=None, help="Only this suite.")
@json_option
@handles_errors
def tasks_list(registry_dir: Path, suite: str | None, json_: bool) -> None:
    """List task cases: suite, id, role, workload, severity, checks.

    Example:

        opsbench tasks list --suite smoke
    """
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    rows = [
        {
            "suite": s,
            "id": c.id,
            "role": c.role,
            "workload": c.workload or "",
            "severity": c.severity,
            "checks": ",".join(ch.kind for ch in c.checks),
        }
        for s, c in reg.all_cases()
        if suite is None or s == suite
    ]
    if suite is not None and suite not in reg.suites:
        raise click.UsageError(f"unknown suite {suite!r}")
    if json_:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows, ["suite", "id", "role", "workload", "severity", "checks"]))


@tasks.command("new")
@registry_option
@click.argument("suite")
@click.argument("case")
@click.option("--role", default="draft", show_default=True, help="Role the case exercises.")
@click.option("--workload", default=None, help="Workload the case belongs to.")
@handles_errors
def tasks_new(registry_dir: Path, suite: str, case: str, role: str, workload: str | None) -> None:
    """Scaffold registry/tasks/SUITE/CASE.yaml from a commented template.

    Refuses to overwrite an existing case. Edit the file, then run
    `opsbench validate`.

    Example:

        opsbench tasks new claims_ops claim-summary-009 --role draft --workload claim-summarization
    """
    from generator.registry.scaffold import scaffold_case

    path = scaffold_case(registry_dir, suite, case, role, workload)
    click.echo(f"created {path}")
    click.echo("edit it, then run: opsbench validate")


@cli.command()
@registry_option
@click.option("--suite", required=False, default=None, help="Suite to run (registry/tasks/<suite>).")
@click.option("--models", default=None, help="Comma-separated model ids; default: every embedded model.")
@click.option("--repeats", default=1, show_default=True, type=int, help="Runs of each case.")
@click.option("--concurrency", default=1, show_default=True, type=int, help="Requests in flight.")
@click.option("--sweep", default=None, help="Several load levels, e.g. 1,3,5 (overrides --concurrency).")
@click.option("--max-tokens", default=None, type=int, help="Override every case's max_tokens.")
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@click.option("--machine", default=None, help="Hardware profile id this run executes on.")
@click.option("--judges", default=None, help="Comma-separated judge model ids (default: policy.yaml judge.judges).")
@click.option("--resume", "resume_id", default=None, help="Finish an interrupted run by id.")
@click.option(
    "--escalate",
    "escalate_role",
    default=None,
    help="Run ROLE's escalation chain live: its cases go to the first rung, and on to the next "
    "only when a trigger fires.",
)
@click.option(
    "--redact-outputs/--keep-outputs",
    "redact_outputs",
    default=None,
    help="Keep a sha256 of each output and its check outcomes, not its text "
    "(default: policy.yaml privacy.redact_outputs).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs"),
    show_default=True,
    help="Folder the run folder is created in.",
)
@handles_errors
def run(
    registry_dir: Path,
    suite: str | None,
    models: str | None,
    repeats: int,
    concurrency: int,
    sweep: str | None,
    max_tokens: int | None,
    case_ids: tuple[str, ...],
    machine: str | None,
    judges: str | None,
    resume_id: str | None,
    escalate_role: str | None,
    redact_outputs: bool | None,
    out_dir: Path,
) -> None:
    """Run a task suite against models; write runs/<run-id>/manifest.json and results.jsonl.

    Each finished request is appended and fsynced at once, so an interrupted run
    loses nothing that finished: finish it with --resume RUN_ID. With --escalate
    ROLE the models are the role's chain (roles.yaml escalation) and each result
    records which rung it came from and whether it answered.

    Example:

        opsbench run --suite smoke
        opsbench run --suite claims_ops --models llama3.1-8b,qwen3.6-27b --repeats 3 --sweep 1,3,5
        opsbench run --suite claims_ops --escalate classify
        opsbench run --suite smoke --redact-outputs
    """
    from generator.execute.progress import make_progress
    from generator.execute.runner import resume_run, start_run
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    if resume_id is None and suite is None:
        raise click.UsageError("give --suite (or --resume RUN_ID)")
    progress = make_progress(sys.stderr)
    created: list[str] = [resume_id] if resume_id else []
    try:
        if resume_id:
            path = resume_run(reg, resume_id, out_dir, progress=progress)
        elif escalate_role:
            if redact_outputs:
                raise click.UsageError("--redact-outputs is not available with --escalate yet")
            if models or sweep or concurrency != 1 or judges is not None:
                raise click.UsageError(
                    "--escalate takes its models and judges from the chain; "
                    "drop --models/--sweep/--concurrency/--judges"
                )
            from generator.execute.escalation import start_chain_run

            path = start_chain_run(
                reg,
                suite or "",
                escalate_role,
                repeats,
                out_dir,
                cli_args=invocation_args(click.get_current_context()),
                max_tokens=max_tokens,
                machine=machine,
                case_ids=list(case_ids) or None,
                progress=progress,
                on_created=created.append,
            )
        else:
            levels = [int(x) for x in sweep.split(",")] if sweep else [concurrency]
            ids = [m.strip() for m in models.split(",") if m.strip()] if models else None
            path = start_run(
                reg,
                suite or "",
                ids,
                repeats,
                levels,
                out_dir,
                cli_args=invocation_args(click.get_current_context()),
                max_tokens=max_tokens,
                machine=machine,
                case_ids=list(case_ids) or None,
                progress=progress,
                on_created=created.append,
                judges=[j.strip() for j in judges.split(",") if j.strip()] if judges is not None else None,
                redact_outputs=redact_outputs,
            )
    except KeyboardInterrupt:
        progress.close()
        click.echo("\ninterrupted: every finished request is saved.", err=True)
        if created:
            click.echo(f"resume with: opsbench run --resume {created[0]} --out {out_dir}", err=True)
        sys.exit(130)
    progress.close()
    from generator.runs.writer import RunFolder

    m = RunFolder(path).read_manifest()
    click.echo(f"run {m.run_id}: {m.status}, results in {path}")


@cli.command()
@registry_option
@click.argument("model_id", required=False)
@json_option
@handles_errors
def probe(registry_dir: Path, model_id: str | None, json_: bool) -> None:
    """Readiness probe: a one-token generation, ready only if it returns under the threshold.

    Reports load time, the cold first completion and a warm one. Exits 3 when the
    model is not ready (policy.yaml: readiness.probe_max_s).

    Example:

        opsbench probe gemma3-270m
    """
    from generator.execute.probe import probe as run_probe
    from generator.execute.providers.http import make_provider
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    model = reg.models.get(model_id) if model_id else reg.default_model()
    if model is None:
        raise click.UsageError(f"unknown model {model_id!r}")
    provider = make_provider(model, reg.policy.execution)
    try:
        result = run_probe(model, provider, reg.policy)
    finally:
        provider.close()
    if json_:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        state = "READY" if result.ready else "NOT READY"
        load = "—" if result.load_s is None else f"{result.load_s:.2f} s"
        warm = "—" if result.warm_s is None else f"{result.warm_s:.3f} s"
        click.echo(f"{model.id}: {state}: {result.detail}")
        click.echo(f"  load {load}, cold first token {result.cold_s:.2f} s, warm {warm}")
    if not result.ready:
        sys.exit(3)


@cli.command()
@registry_option
@runs_option
@click.option("--by", type=click.Choice(["model", "role", "workload", "suite"]), default="model")
@json_option
@handles_errors
def leaderboard(registry_dir: Path, runs_dir: Path, by: str, json_: bool) -> None:
    """Acceptance (95 % Wilson interval), weighted score, review pain, failures, latency.

    Example:

        opsbench leaderboard --by workload
    """
    from generator.analysis.leaderboard import leaderboard as lb
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, _ = load_results(runs_dir)
    table = lb(df, [] if by == "model" else [by], stats=reg.policy.statistics)
    rows = json.loads(table.to_json(orient="records"))
    if json_:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no runs yet")
        return
    shown = []
    for r in rows:
        shown.append(
            {
                **({by: r[by]} if by != "model" else {}),
                "rank": r["rank"],
                "model": r["model_id"],
                "cases": r["cases"],
                "acceptance": (f"{r['acceptance_rate']:.0%} [{r['acceptance_low']:.0%}, {r['acceptance_high']:.0%}]"),
                "score": f"{r['weighted_score']:g}/{r['weighted_total']:g}",
                "pain": f"{r['review_pain']:.2f}",
                "hard_fail": f"{r['hard_failure_rate']:.0%}",
                "p50_s": _secs(r["latency_p50_s"]),
                "p95_s": _secs(r["latency_p95_s"]),
                "tok/s": "" if r["output_tps_p50"] is None else f"{r['output_tps_p50']:.1f}",
            }
        )
    click.echo(_table(shown, list(shown[0].keys())))
    click.echo(
        "\nrank: 1 + the number of models significantly better on the cases both ran "
        f"(paired, two-sided alpha {reg.policy.statistics.alpha:g}); quality at each model's lowest load level."
    )


def _secs(value: float | str | None) -> str:
    """Seconds for a table; a p95 over requests that timed out is infinite ('timeout')."""
    if value is None:
        return ""
    if value in ("Infinity", float("inf")):
        return "timeout"
    return f"{float(value):.2f}"


@cli.command()
@registry_option
@runs_option
@click.option("--role", "role_ids", multiple=True, help="Only these roles (repeatable).")
@click.option("--apply", "apply_", is_flag=True, help="Write promoted incumbents into roles.yaml.")
@json_option
@handles_errors
def promote(registry_dir: Path, runs_dir: Path, role_ids: tuple[str, ...], apply_: bool, json_: bool) -> None:
    """Promotion verdict for every challenger: promote / hold / retire-candidate / insufficient-evidence.

    Gates (policy.yaml): acceptance, review pain and hard-failure rate no worse
    than the incumbent's on shared cases, cost tier, family diversity, and a
    McNemar test beyond noise. --apply rewrites only the `incumbent:` lines.

    Example:

        opsbench promote --role draft
        opsbench promote --apply && git diff registry/roles.yaml
    """

    from generator.analysis.leaderboard import evidence_cells
    from generator.analysis.promotion import best_promotions, promotion_outcomes
    from generator.registry.edit import apply_promotions
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    roles = [r for r in reg.roles_file.roles if not role_ids or r.id in role_ids]
    unknown = set(role_ids) - {r.id for r in reg.roles_file.roles}
    if unknown:
        raise click.UsageError(f"unknown role(s): {', '.join(sorted(unknown))}")
    df, _ = load_results(runs_dir)
    q = evidence_cells(df)
    outcomes = promotion_outcomes(q, roles, reg.models, reg.policy.promotion, reg.policy.statistics)
    chosen = best_promotions(outcomes)
    if json_:
        click.echo(json.dumps(json_safe({"outcomes": outcomes, "promote": chosen}), indent=2))
    else:
        for o in outcomes:
            click.echo(f"{o.role}: {o.challenger} vs incumbent {o.incumbent}: {o.verdict.upper()}")
            click.echo(f"  {o.reason}")
            if o.fragility_text:
                click.echo(f"  fragility: {o.fragility_text}")
            if o.gates:
                rows = [
                    {
                        "gate": g.gate,
                        "challenger": g.challenger,
                        "incumbent": g.incumbent,
                        "rule": g.rule,
                        "result": {True: "pass", False: "FAIL", None: "no data"}[g.passed],
                    }
                    for g in o.gates
                ]
                click.echo("  " + _table(rows, list(rows[0])).replace("\n", "\n  "))
        if not outcomes:
            click.echo("no challengers")
    if apply_:
        if chosen:
            apply_promotions(registry_dir / "roles.yaml", chosen)
            for role, ch in sorted(chosen.items()):
                click.echo(f"applied: {role} incumbent is now {ch}", err=True)
        else:
            click.echo("nothing to apply: no challenger earned promotion", err=True)


@cli.command()
@registry_option
@runs_option
@click.option("--workload", "workload_ids", multiple=True, help="Only these workloads (repeatable).")
@json_option
@handles_errors
def decide(registry_dir: Path, runs_dir: Path, workload_ids: tuple[str, ...], json_: bool) -> None:
    """Keep / fix / defer / reject and a route for every workload × candidate, with the evidence.

    Findings are made on the after-rails figures where the workload has guard rules
    (workloads.yaml `rules`); the finding before the rails is shown beside it, with
    the routed shares, input-length limits, escalation chains and seed routing figures.

    Example:

        opsbench decide --workload escalation-classification
    """
    from generator.analysis.routing_text import decide_payload, decide_text
    from generator.analysis.routing_text import routing_for_cli as routing_for

    reg, routing, claims = routing_for(registry_dir, runs_dir)
    unknown = set(workload_ids) - set(reg.workloads)
    if unknown:
        raise click.UsageError(f"unknown workload(s): {', '.join(sorted(unknown))}")
    chosen = [w for w in reg.workloads_file.workloads if not workload_ids or w.id in workload_ids]
    if json_:
        click.echo(json.dumps(decide_payload(chosen, routing, claims), indent=2))
        return
    click.echo(decide_text(chosen, routing, claims, _table))


@cli.command("export-routing")
@registry_option
@runs_option
@click.option("--format", "format_", type=click.Choice(["litellm"]), default="litellm", show_default=True)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("litellm_config.yaml"),
    show_default=True,
    help="File the router configuration is written to (replaced atomically).",
)
@handles_errors
def export_routing(registry_dir: Path, runs_dir: Path, format_: str, out_path: Path) -> None:
    """Write the decisions and escalation chains as a gateway routing configuration.

    LiteLLM: a model list with each registry model's endpoint (keys only as
    os.environ/NAME), fallbacks from the roles' escalation chains, one alias per
    workload pointing at the model its finding routes to, and a header naming the
    runs and the policy it was derived from.

    Example:

        opsbench export-routing --format litellm --out litellm_config.yaml
        litellm --config litellm_config.yaml
    """
    from generator.analysis.routing_text import load_routing
    from generator.export.litellm import litellm_config, write_config

    reg, routing, _, manifests = load_routing(registry_dir, runs_dir)
    cfg = litellm_config(reg, routing, manifests)
    write_config(out_path, cfg)
    settings = cfg.config["router_settings"]
    click.echo(
        f"wrote {out_path}: {len(cfg.config['model_list'])} models, {len(settings['fallbacks'])} fallbacks, "
        f"{len(settings['model_group_alias'])} workload aliases"
    )


@cli.command()
@registry_option
@runs_option
@click.argument("run_a", required=False)
@click.argument("run_b", required=False)
@click.option("--suite", default=None, help="With no run ids: latest vs previous run of this suite.")
@click.option("--all", "show_all", is_flag=True, help="Also list cases whose state did not change.")
@json_option
@handles_errors
def diff(
    registry_dir: Path,
    runs_dir: Path,
    run_a: str | None,
    run_b: str | None,
    suite: str | None,
    show_all: bool,
    json_: bool,
) -> None:
    """Compare two runs: newly failing / newly passing / flaky cases, per-model deltas with intervals.

    Example:

        opsbench diff 20261124-011939-smoke-fbcc73 20261125-090000-smoke-a1b2c3
        opsbench diff --suite smoke
    """
    from dataclasses import asdict

    from generator.analysis.diff import diff_runs, previous_run
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, manifests = load_results(runs_dir)
    by_id = {m.run_id: m for m in manifests}
    if run_a is None or run_b is None:
        if run_a is not None or run_b is not None:
            raise click.UsageError("give two run ids, or none with --suite")
        pool = [m for m in manifests if suite is None or m.settings.suite == suite]
        if not pool:
            raise click.UsageError("no runs" + (f" of suite {suite!r}" if suite else ""))
        prev = previous_run(manifests, pool[-1])
        if prev is None:
            raise click.UsageError(
                f"no earlier run of suite {pool[-1].settings.suite!r} measured the models of {pool[-1].run_id}"
            )
        run_a, run_b = prev.run_id, pool[-1].run_id
    for r in (run_a, run_b):
        if r not in by_id:
            raise click.UsageError(f"no run {r!r} in {runs_dir}")
    changes, deltas = diff_runs(df[df["run_id"] == run_a], df[df["run_id"] == run_b], reg.policy.statistics)
    shown = [c for c in changes if show_all or not c.change.startswith("still-")]
    if json_:
        click.echo(
            json.dumps(
                json_safe({"a": run_a, "b": run_b, "cases": shown, "models": deltas}),
                indent=2,
            )
        )
        return
    click.echo(f"A = {run_a}\nB = {run_b}\n")
    if shown:
        click.echo(_table([asdict(c) for c in shown], ["model_id", "case_id", "change", "a", "b"]))
    else:
        click.echo("no case changed state")
    if deltas:
        rows = [
            {
                "model": d.model_id,
                "shared cases": d.cases,
                "A": f"{d.acceptance_a:.0%}",
                "B": f"{d.acceptance_b:.0%}",
                "B-A [95% CI]": f"{d.delta:+.0%} [{d.delta_ci[0]:+.0%}, {d.delta_ci[1]:+.0%}]",
                "p": f"{d.p_value:.3g}",
                "hard A": f"{d.hard_failure_a:.0%}",
                "hard B": f"{d.hard_failure_b:.0%}",
                "latency B-A (s)": "—"
                if d.latency_delta is None
                else f"{d.latency_delta:+.2f} [{d.latency_delta_ci[0]:+.2f}, {d.latency_delta_ci[1]:+.2f}]",
            }
            for d in deltas
        ]
        click.echo("")
        click.echo(_table(rows, list(rows[0])))
        click.echo(f"\npaired on shared cases: {deltas[0].method}; intervals are bootstrap over cases")


@cli.command()
@registry_option
@runs_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("site"),
    show_default=True,
)
@click.option(
    "--site-src",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("site_src"),
    show_default=True,
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("mkdocs.yml"),
    show_default=True,
)
@click.option(
    "--reports",
    "reports_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Where the per-run Markdown reports (local-model-benchmark-YYYY-MM-DD.md) go.",
)
@handles_errors
def build(
    registry_dir: Path, runs_dir: Path, out_dir: Path, site_src: Path, config_file: Path, reports_dir: Path
) -> None:
    """Regenerate the public site from the registry and the runs (mkdocs build --strict).

    Builds into a temporary folder and swaps it in only on success, so a failed
    build leaves the previous site untouched.

    Example:

        opsbench build --out site/
    """
    from generator.site.build import build_site

    result = build_site(registry_dir, runs_dir, site_src, out_dir, config_file, reports_dir)
    click.echo(f"site built: {result.pages} pages, {result.charts} charts -> {out_dir}/index.html")


# --- commands defined in their own modules ---
from generator.analysis.commands import capacity, cost, roi  # noqa: E402
from generator.analysis.planning_commands import plan, proxy  # noqa: E402
from generator.ingest.command import ingest  # noqa: E402
from generator.mine.command import mine  # noqa: E402
from generator.review.command import review  # noqa: E402

for _command in (capacity, cost, roi, ingest, review, mine, plan, proxy):
    cli.add_command(_command)

from generator.contrib.command import check_run_cmd, ci  # noqa: E402
from generator.execute.orchestrate_command import orchestrate  # noqa: E402

for _command in (check_run_cmd, ci, orchestrate):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="opsbench")


if __name__ == "__main__":
    main()

"""``opsbench leaderboard``, ``promote``, ``decide``, ``export-routing`` and ``diff``: verdicts over
the run store."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.analysis.serialize import json_safe
from generator.cli.options import _table, handles_errors, json_option, registry_option, runs_option


@click.command()
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


@click.command()
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


@click.command()
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


@click.command("export-routing")
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


@click.command()
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

    from generator.analysis.diff import diff_runs, runs_to_compare
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, manifests = load_results(runs_dir)
    by_id = {m.run_id: m for m in manifests}
    try:
        run_a, run_b = runs_to_compare(manifests, run_a, run_b, suite)
    except LookupError as exc:
        raise click.UsageError(str(exc)) from None
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

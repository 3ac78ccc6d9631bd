"""The ``plan`` and ``proxy`` commands: load the registry (and runs), call one function, print."""

from __future__ import annotations

from pathlib import Path

import click

from generator.analysis.seedcheck import fmt_num
from generator.cli.options import _table, handles_errors, json_option, registry_option, runs_option
from generator.cli.planning import _checks_json, _echo_checks, _echo_json, _jsonable


def _quality_text(q) -> str:  # RoleQuality | None
    if q is None:
        return "unmeasured"
    return f"{q.acceptance:.0%} [{q.low:.0%}, {q.high:.0%}] on {q.cases}"


def _load_text(x: float | None) -> str:
    return "unmeasured" if x is None else f"{x:.2f} s"


def plan_inputs(registry_dir: Path, runs_dir: Path):
    """Registry, measured quality per (model, role) and measured load times: what a plan reads."""
    from generator.analysis.leaderboard import leaderboard
    from generator.analysis.plans import measured_load_s, role_quality
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, manifests = load_results(runs_dir)
    board = leaderboard(df, ["role"], stats=reg.policy.statistics) if not df.empty else None
    return reg, role_quality(board), measured_load_s(manifests)


def make_plan(reg, machine_id: str, users: int | None, context: int | None, quality, load_s):
    from generator.analysis.plans import plan_for

    if machine_id not in {m.id for m in reg.hardware.machines}:
        names = ", ".join(m.id for m in reg.hardware.machines)
        raise click.BadParameter(f"unknown machine {machine_id!r} (one of: {names})", param_hint="MACHINE")
    return plan_for(reg, machine_id, users, context, quality, load_s)


@click.command()
@registry_option
@runs_option
@click.argument("machine")
@click.option(
    "--users",
    type=click.IntRange(min=1),
    default=None,
    help="Concurrent users, each holding a KV cache [default: hardware.yaml capacity.concurrency].",
)
@click.option(
    "--context",
    type=click.IntRange(min=1),
    default=None,
    help="Context tokens per user [default: hardware.yaml capacity.context_tokens].",
)
@json_option
@handles_errors
def plan(registry_dir: Path, runs_dir: Path, machine: str, users: int | None, context: int | None, json_: bool) -> None:
    """Sets of registry models that fit together on MACHINE, every memory term shown.

    Per set: weights + KV cache for N users at context C + runtime overhead per model + OS
    reserve; the roles it covers; speed per model at N users (calibrated where known, else the
    bandwidth ceiling, labelled); measured quality per role or "unmeasured"; the cold start of
    roles it must swap in. Ends with the seed site's options A/B/C recomputed for this machine.

    Example:

        opsbench plan mac-studio-m5-max-128 --users 5 --context 8192
    """
    reg, quality, load_s = plan_inputs(registry_dir, runs_dir)
    report = make_plan(reg, machine, users, context, quality, load_s)
    if json_:
        payload = _jsonable(report)
        payload["seed"] = [{**_jsonable(s), "checks": _checks_json(s.checks)} for s in report.seed]
        _echo_json(payload)
        return
    shown = reg.hardware.plans.max_sets_shown
    m = next(x for x in reg.hardware.machines if x.id == machine)
    click.echo(
        f"{m.name}: {fmt_num(m.memory_gb)} GB, {fmt_num(m.bandwidth_gbs)} GB/s, "
        f"OS reserve {fmt_num(m.os_overhead_gb)} GB; "
        f"{report.users} user(s) at {report.context_tokens:,} tokens of context"
    )
    click.echo(
        f"{report.sets_total} maximal set(s) of up to {reg.hardware.plans.max_models} models fit; "
        f"showing {min(shown, report.sets_total)}"
    )
    if report.excluded:
        click.echo("not planned: " + "; ".join(f"{k} ({v})" for k, v in report.excluded.items()))
    for i, s in enumerate(report.sets[:shown], start=1):
        _echo_set(f"Set {i}", s)
    for sp in report.seed:
        click.echo("")
        click.echo(f"== {sp.label} (seed) on {sp.machine_id}: {sp.claim}")
        if sp.note:
            click.echo(f"   {sp.note}")
        if sp.missing:
            click.echo("   not in the registry: " + ", ".join(sp.missing))
        if sp.plan is not None:
            _echo_set("   as the registry has it", sp.plan)
        if sp.could_add:
            click.echo("   still fits beside it: " + ", ".join(sp.could_add))
        _echo_checks(sp.checks, reg.policy.claims.rel_tolerance)


def _echo_set(title: str, s) -> None:  # a PlanSet
    click.echo("")
    click.echo(
        f"{title}: {' + '.join(s.model_ids)}  total {fmt_num(s.total_gb, 1)} of {fmt_num(s.memory_gb)} GB "
        f"({'fits' if s.fits else 'DOES NOT FIT'}, headroom {fmt_num(s.headroom_gb, 1)} GB); "
        f"roles: {', '.join(s.roles_covered) or 'none'}"
    )
    rows = [
        {
            "model": t.model_id,
            "weights GB": fmt_num(t.weights_gb, 1),
            "KV GB": "not stated" if t.kv_gb is None else fmt_num(t.kv_gb, 2),
            "runtime GB": fmt_num(t.runtime_overhead_gb, 1),
            "subtotal GB": fmt_num(t.subtotal_gb, 1),
            "tok/s per user": f"{fmt_num(t.speed_per_user_tps, 1)} ({t.speed_label})",
            "users@target": t.users_at_target,
            "quality per role": "; ".join(f"{r}: {_quality_text(q)}" for r, q in t.quality.items()) or "no role",
            "load": _load_text(t.load_s),
        }
        for t in s.models
    ]
    rows.append({"model": "OS reserve", "subtotal GB": fmt_num(s.os_reserve_gb, 1)})
    click.echo(_table(rows, list(rows[0])))
    for c in s.cold_starts:
        click.echo(f"  swap-in for {c.role}: {c.model_id}, cold start {_load_text(c.load_s)}")
    for n in s.notes:
        click.echo(f"  note: {n}")


@click.command()
@registry_option
@runs_option
@json_option
@handles_errors
def proxy(registry_dir: Path, runs_dir: Path, json_: bool) -> None:
    """Proxy validity: same weights on another host or quantization, compared on shared cases.

    Every registry entry with `same_weights_as` is paired with the entry it names; the gap in
    acceptance (proxy − reference) comes with its paired bootstrap interval and test. Where a
    family shows a significant gap, a score measured only on a hosted entry is an upper bound
    for its local same-weights entry.

    Example:

        opsbench proxy --json
    """
    from generator.analysis.leaderboard import evidence_cells
    from generator.analysis.proxy import proxy_report
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, _ = load_results(runs_dir)
    report = proxy_report(
        evidence_cells(df),
        reg.models,
        reg.policy.statistics,
        reg.models_file.seed_proxy_claims,
        reg.models_file.seed_proxy_source,
    )
    if json_:
        payload = _jsonable(report)
        payload["seed_claims"] = [c.model_dump() for c in report.seed_claims]
        _echo_json(payload)
        return
    if not report.pairs:
        click.echo("no registry entry names same_weights_as")
    rows = []
    for p in report.pairs:
        c = p.comparison
        rows.append(
            {
                "reference": f"{p.reference} ({p.reference_setup})",
                "proxy": f"{p.proxy} ({p.proxy_setup})",
                "shared cases": c.n,
                "reference acc.": "—" if c.mean_a is None else f"{c.mean_a:.1%}",
                "proxy acc.": "—" if c.mean_b is None else f"{c.mean_b:.1%}",
                "acc. gap [95% CI]": "—" if c.diff is None else f"{c.diff:+.1%} [{c.ci_low:+.1%}, {c.ci_high:+.1%}]",
                "pain gap [95% CI]": "—"
                if p.pain.diff is None
                else f"{p.pain.diff:+.2f} [{p.pain.ci_low:+.2f}, {p.pain.ci_high:+.2f}]",
                "Holm p (acc., pain)": ", ".join("—" if x is None else f"{x:.3g}" for x in p.p_adjusted.values()),
                "verdict": p.verdict,
            }
        )
    if rows:
        click.echo(_table(rows, list(rows[0])))
        methods = sorted({p.comparison.method for p in report.pairs if p.comparison.n})
        if methods:
            click.echo(
                f"\npaired on shared cases ({'; '.join(methods)}); gap = proxy − reference, alpha {report.alpha:g}"
            )
    for b in report.upper_bounds:
        click.echo(f"upper bound: {b.hosted}'s score bounds {b.local} from above ({b.family}: {b.because})")
    if report.seed_claims:
        click.echo(f"\nquoted, not measured here ({report.seed_source}):")
        for s in report.seed_claims:
            click.echo(
                f"- {s.model}: cloud {s.cloud_score:g} vs local {s.local_score:g} of {s.scale_max:g}: {s.claim!r}"
            )

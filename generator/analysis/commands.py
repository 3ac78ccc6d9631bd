"""The ``capacity``, ``cost`` and ``roi`` commands: load the registry, call one function, print."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import click

from generator.analysis.seedcheck import SeedCheck, fmt_num
from generator.cli_common import _table, handles_errors, json_option, registry_option

tolerance_option = click.option(
    "--tolerance",
    "rel_tol",
    type=click.FloatRange(min=0),
    default=None,
    help="Relative tolerance for seed claims (a claim's own rounding is always allowed) "
    "[default: policy.yaml claims.rel_tolerance].",
)


def _jsonable(obj: Any) -> Any:
    """Dataclasses to dicts, non-finite floats to null, so the output is strict JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _echo_json(payload: Any) -> None:
    click.echo(json.dumps(_jsonable(payload), indent=2, ensure_ascii=False))


def _checks_json(checks: list[SeedCheck]) -> list[dict[str, Any]]:
    return [{**_jsonable(c), "verdict": c.verdict} for c in checks]


def _echo_checks(checks: list[SeedCheck], rel_tol: float) -> None:
    if not checks:
        return
    bad = sum(c.consistent is False for c in checks)
    click.echo("")
    click.echo(
        f"Seed claims: {len(checks)} checked, {bad} inconsistent (tolerance: the claim's own rounding or {rel_tol:.0%})"
    )
    for c in checks:
        click.echo(f"- [{c.verdict}] {c.subject}: {c.explanation}")


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


# --------------------------------------------------------------------------- capacity


@click.command()
@registry_option
@click.option("--machine", "machine_ids", multiple=True, help="Only this machine id (repeatable).")
@click.option("--model", "model_ids", multiple=True, help="Only this local model id (repeatable).")
@click.option(
    "--context",
    type=click.IntRange(min=1),
    default=None,
    help="Context tokens per sequence [default: hardware.yaml capacity.context_tokens].",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Sequences held at once [default: hardware.yaml capacity.concurrency].",
)
@click.option("--kv-gb", type=click.FloatRange(min=0), default=None, help="KV cache in GB, all sequences.")
@click.option(
    "--kv-bytes-per-token",
    type=click.FloatRange(min=0),
    default=None,
    help=("KV cache bytes per token (2 × layers × KV heads × head dim × bytes); scaled by context × concurrency."),
)
@click.option(
    "--measured-tps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="A measured decode tok/s, reported as a share of the ceiling (one --machine and one --model).",
)
@tolerance_option
@json_option
@handles_errors
def capacity(
    registry_dir: Path,
    machine_ids: tuple[str, ...],
    model_ids: tuple[str, ...],
    context: int | None,
    concurrency: int | None,
    kv_gb: float | None,
    kv_bytes_per_token: float | None,
    measured_tps: float | None,
    rel_tol: float | None,
    json_: bool,
) -> None:
    """Fit and bandwidth-bound decode ceiling of each local model on each machine.

    Fit: weights + KV cache + runtime overhead + OS overhead against memory.
    Ceiling: bandwidth ÷ (active parameters × bits per weight ÷ 8), with tokens
    per month at 24/7 and users at the target per-user speed. Ends with the seed
    site's capacity claims checked against the same formulas.

    Example:

        opsbench capacity --machine mac-studio-m4-max-128 --model gpt-oss-120b --measured-tps 55
    """
    from generator.analysis.capacity import CEILING_NOTE, capacity_for, is_local, seed_capacity_checks
    from generator.registry.loader import load_registry

    if kv_gb is not None and kv_bytes_per_token is not None:
        raise click.UsageError("give --kv-gb or --kv-bytes-per-token, not both")
    if measured_tps is not None and (len(machine_ids) != 1 or len(model_ids) != 1):
        raise click.UsageError("--measured-tps needs exactly one --machine and one --model")
    reg = load_registry(registry_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    machines = {m.id: m for m in reg.hardware.machines}
    models = reg.models
    for mid in machine_ids:
        if mid not in machines:
            raise click.BadParameter(f"unknown machine {mid!r}", param_hint="--machine")
    for mid in model_ids:
        if mid not in models:
            raise click.BadParameter(f"unknown model {mid!r}", param_hint="--model")
        if not is_local(models[mid]):
            raise click.BadParameter(f"{mid!r} is hosted: it has no local capacity", param_hint="--model")

    chosen_machines = [machines[m] for m in machine_ids] or list(machines.values())
    chosen_models = [models[m] for m in model_ids] or [m for m in models.values() if is_local(m)]
    rows = [
        capacity_for(
            machine,
            model,
            reg.hardware.capacity,
            context_tokens=context,
            concurrency=concurrency,
            kv_gb=kv_gb,
            kv_bytes_per_token=kv_bytes_per_token,
            measured_tps=measured_tps,
        )
        for machine in chosen_machines
        for model in chosen_models
    ]
    checks = seed_capacity_checks(machines, models, reg.hardware.capacity, reg.hardware.seed_claims, rel_tol=rel_tol)
    if json_:
        _echo_json(
            {
                "defaults": reg.hardware.capacity.model_dump(),
                "rows": rows,
                "seed_checks": _checks_json(checks),
            }
        )
        return
    d = reg.hardware.capacity
    target = fmt_num(d.target_user_tps)
    shown = []
    for r in rows:
        f, t = r.fit, r.throughput
        row = {
            "machine": r.machine_id + (" (est.)" if r.machine_estimated else ""),
            "model": r.model_id,
            "weights_GB": f"{f.weights_gb:.1f}",
            "kv_GB": "n/s" if f.kv_gb is None else f"{f.kv_gb:.1f}",
            "overhead_GB": f"{f.runtime_overhead_gb + f.os_overhead_gb:g}",
            "total_GB": f"{f.total_gb:.1f}",
            "memory_GB": f"{f.memory_gb:g}",
            "fits": "yes" if f.fits else "NO",
            "GB/token": f"{t.gb_per_token:.2f}",
            "ceiling_tok/s": f"{t.ceiling_tps:.1f}",
            "tokens/month": fmt_num(t.tokens_per_month),
            f"users@{target}": t.concurrent_users,
        }
        if measured_tps is not None:
            row["measured"] = f"{measured_tps:g}"
            row["efficiency"] = "" if t.efficiency is None else f"{t.efficiency:.0%}"
        shown.append(row)
    click.echo(
        f"context {rows[0].fit.context_tokens:,} tokens × concurrency {rows[0].fit.concurrency}; "
        f"runtime overhead {fmt_num(d.runtime_overhead_gb)} GB; {fmt_num(d.days_per_month)}-day month; "
        f"users at {target} tok/s each"
        if rows
        else "no rows"
    )
    if rows:
        click.echo(_table(shown, list(shown[0].keys())))
        notes = list(dict.fromkeys(n for r in rows for n in (*r.fit.notes, CEILING_NOTE)))
        for n in notes:
            click.echo(f"note: {n}")
        for m in chosen_machines:
            if m.notes:
                click.echo(f"note: {m.id}: {m.notes}")
    _echo_checks(checks, rel_tol)


# --------------------------------------------------------------------------- cost


@click.command()
@registry_option
@tolerance_option
@json_option
@handles_errors
def cost(registry_dir: Path, rel_tol: float | None, json_: bool) -> None:
    """Hardware against API spend (Scenario A) and subscriptions (Scenario B), with break-even.

    Hardware per month is its price over the amortization window plus
    electricity. A Scenario A volume above what the machine can generate is
    reported as such, never as a saving. Ends with every seed claim of
    pricing.yaml, and the seed's electricity figures, checked.

    Example:

        opsbench cost --json
    """
    from generator.analysis.cost import cost_report
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    rep = cost_report(reg.pricing, reg.hardware, reg.models, rel_tol=rel_tol)
    if json_:
        payload = dataclasses.asdict(rep)
        payload["seed_checks"] = _checks_json(rep.seed_checks)
        _echo_json(payload)
        return
    cur, months = rep.currency, rep.amortization_months
    hws = {s.hardware.machine_id: s.hardware for s in [*rep.scenario_a, *rep.scenario_b]}
    for hw in hws.values():
        e = hw.electricity
        elec = (
            f"electricity {fmt_num(e.monthly)} (flat; computed would be {fmt_num(e.computed_monthly)})"
            if e.method == "flat"
            else (f"electricity {fmt_num(e.monthly)} ({fmt_num(e.kwh_per_month)} kWh × {fmt_num(e.price_per_kwh)})")
        )
        click.echo(
            f"Hardware {hw.machine_id}{' (estimated specs)' if hw.estimated else ''}: "
            f"{fmt_num(hw.price)} {cur} ÷ {months} months = "
            f"{fmt_num(hw.amortized_monthly)} + {elec} = {fmt_num(hw.total_monthly)} {cur}/month"
        )
    if rep.scenario_a:
        click.echo("")
        click.echo(f"Scenario A: pay-per-token API ({rep.input_share:.0%} input tokens), {cur}")
        rows_a = [
            {
                "scenario": s.id,
                "tokens/mo": fmt_num(s.tokens_per_month),
                "api": s.price.api_id,
                f"{cur}/M": fmt_num(s.price.blended_per_mtok),
                "api/mo": _money(s.api_cost_monthly),
                "capacity/mo": fmt_num(s.capacity_tokens_per_month),
                "saving/mo": _money(s.monthly_saving),
                "break-even": s.break_even.text if s.break_even else "capacity exceeded",
                f"over {months} mo": _money(s.savings_over_window),
            }
            for s in rep.scenario_a
        ]
        click.echo(_table(rows_a, list(rows_a[0].keys())))
    if rep.scenario_b:
        click.echo("")
        click.echo(f"Scenario B: subscription downgrade, {cur}")
        rows_b = [
            {
                "scenario": s.id,
                "users": s.users,
                "tiers": f"{s.from_tier} -> {s.to_tier}",
                "saving/mo": _money(s.monthly_saving),
                "hw/mo": _money(s.hardware.total_monthly),
                "hw/user/mo": _money(s.hardware_per_user_monthly),
                "break-even": s.break_even.text,
                f"over {months} mo": _money(s.savings_over_window),
            }
            for s in rep.scenario_b
        ]
        click.echo(_table(rows_b, list(rows_b[0].keys())))
    if rep.api_break_even:
        click.echo("")
        click.echo("API volume at which the hardware pays for itself each month")
        rows_x = [
            {
                "api": r.api_id,
                "machine": r.machine_id,
                f"{cur}/M": fmt_num(r.blended_per_mtok),
                "hw/mo": _money(r.hardware_monthly),
                "break-even tokens/mo": fmt_num(r.break_even_tokens_per_month),
            }
            for r in rep.api_break_even
        ]
        click.echo(_table(rows_x, list(rows_x[0].keys())))
    _echo_checks(rep.seed_checks, rel_tol)


# --------------------------------------------------------------------------- roi


@click.command()
@registry_option
@click.option("--workload", "workload_ids", multiple=True, help="Only this workload id (repeatable).")
@tolerance_option
@json_option
@handles_errors
def roi(registry_dir: Path, workload_ids: tuple[str, ...], rel_tol: float | None, json_: bool) -> None:
    """Staff hours returned, their value, hosted spend displaced, net per month and quarter.

    Computed from each workload's `roi` inputs in workloads.yaml; every figure
    the seed states (`seed_claims`) is checked against the same arithmetic.

    Example:

        opsbench roi --workload field-extraction
    """
    from generator.analysis.roi import roi_report
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    workloads = reg.workloads
    for wid in workload_ids:
        if wid not in workloads:
            raise click.BadParameter(f"unknown workload {wid!r}", param_hint="--workload")
    chosen = [workloads[w] for w in workload_ids] or list(workloads.values())
    results = roi_report(chosen, rel_tol=rel_tol)
    checks = [c for r in results for c in r.seed_checks]
    if json_:
        _echo_json({"workloads": results, "seed_checks": _checks_json(checks)})
        return
    if not results:
        click.echo("no workload states roi inputs")
        return
    rows = [
        {
            "workload": r.workload_id,
            "min saved/item": fmt_num(r.minutes_saved_per_item, 3),
            "hours/mo": fmt_num(r.staff_hours_per_month, 1),
            "value/mo": _money(r.staff_value_per_month),
            "hosted/mo": _money(r.hosted_displaced_per_month),
            "local cost/mo": _money(r.monthly_local_cost),
            "net/mo": _money(r.net_per_month),
            "net/quarter": _money(r.net_per_quarter),
            "currency": r.currency,
        }
        for r in results
    ]
    click.echo(_table(rows, list(rows[0].keys())))
    click.echo(
        "hours = volume × share automated × minutes saved × survival ÷ 60; net = value + hosted displaced − local cost"
    )
    _echo_checks(checks, rel_tol)

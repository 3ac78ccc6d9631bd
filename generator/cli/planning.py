"""The ``capacity``, ``cost`` and ``roi`` commands: load the registry, call one function, print."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import click

from generator.analysis.seedcheck import SeedCheck, fmt_num
from generator.cli.options import _table, handles_errors, json_option, registry_option, runs_option

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


def _evidence(registry_dir: Path, runs_dir: Path) -> tuple[Any, Any, Any, Any, Any]:
    """The registry, results, manifests, quality cells and calibration that the capacity,
    cost and roi commands read (the same the site reads)."""
    from generator.analysis.calibration import calibrate_from
    from generator.analysis.leaderboard import evidence_cells
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_perf_records, load_results

    reg = load_registry(registry_dir)
    df, manifests = load_results(runs_dir)
    cal = calibrate_from(df, manifests, load_perf_records(runs_dir, manifests), reg.hardware, reg.models)
    return reg, df, manifests, evidence_cells(df), cal


def _range(lo: float, hi: float, digits: int = 0) -> str:
    return f"{lo:,.{digits}f}..{hi:,.{digits}f}"


def _echo_calibration(rows: list[Any]) -> None:
    """One line per calibration group the rows used: its fit, its error, its measurements."""
    seen: dict[str, Any] = {}
    for r in rows:
        c = r.throughput.calibrated
        if c is not None and c.basis not in seen:
            seen[c.basis] = c
    for basis, c in seen.items():
        loo = (
            "no leave-one-out (one measurement)"
            if c.loo_mean_abs_error is None
            else (f"leave-one-out mean |error| {c.loo_mean_abs_error:.1%}")
        )
        click.echo(
            f"calibration {basis}: efficiency {c.efficiency:.0%} "
            f"(range {c.efficiency_low:.0%}..{c.efficiency_high:.0%}), "
            f"{loo}; from {len(c.sources)} measurement(s): {'; '.join(c.sources)}"
        )


# --------------------------------------------------------------------------- capacity


@click.command()
@registry_option
@runs_option
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
    runs_dir: Path,
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
    Ceiling: bandwidth ÷ (weights read per token, per component where the model
    states them, + KV read at the context), with tokens per month at 24/7. The
    calibrated figure applies the efficiency fitted from the runs and ingested
    llama-bench results in --runs for the runtime × quantization × backend, with
    its range; users at the target speed are counted on it and their KV checked
    for fit. Ends with the seed site's capacity claims checked.

    Example:

        opsbench capacity --machine mac-studio-m4-max-128 --model gpt-oss-120b --measured-tps 55
    """
    from generator.analysis.capacity import CEILING_NOTE, capacity_for, is_local
    from generator.analysis.capacity_claims import seed_capacity_checks

    if kv_gb is not None and kv_bytes_per_token is not None:
        raise click.UsageError("give --kv-gb or --kv-bytes-per-token, not both")
    if measured_tps is not None and (len(machine_ids) != 1 or len(model_ids) != 1):
        raise click.UsageError("--measured-tps needs exactly one --machine and one --model")
    reg, _, _, _, cal = _evidence(registry_dir, runs_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    machines = {m.id: m for m in reg.hardware.machines}
    models = reg.models
    for mid in machine_ids:
        if mid not in machines:
            raise click.BadParameter(f"unknown machine {mid!r}", param_hint="--machine")
        if machines[mid].memory_gb is None:
            raise click.BadParameter(f"{mid!r} states no memory_gb: a measurement host", param_hint="--machine")
    for mid in model_ids:
        if mid not in models:
            raise click.BadParameter(f"unknown model {mid!r}", param_hint="--model")
        if not is_local(models[mid]):
            raise click.BadParameter(f"{mid!r} is hosted: it has no local capacity", param_hint="--model")

    chosen_machines = [machines[m] for m in machine_ids] or [m for m in machines.values() if m.memory_gb is not None]
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
            calibration=cal,
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
            "calibrated_tok/s": "-"
            if t.calibrated is None
            else f"{t.calibrated.tps:.1f} ({_range(t.calibrated.tps_low, t.calibrated.tps_high, 1)})",
            "tokens/month": fmt_num(t.tokens_per_month),
            f"users@{target}": f"{t.concurrent_users}"
            + ("" if t.users_fit in (None, True) else f" (fit: {t.users_fit_max})"),
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
            if m.bandwidth_source:
                click.echo(f"bandwidth: {m.id}: {m.bandwidth_source}")
        _echo_calibration(rows)
        click.echo(
            f"users@{target}: counted on the calibrated figure where there is one, else the ceiling; "
            "(fit: N) when that many sequences' KV cache does not fit, N being the most that do"
        )
    _echo_checks(checks, rel_tol)


# --------------------------------------------------------------------------- cost


@click.command()
@registry_option
@runs_option
@tolerance_option
@json_option
@handles_errors
def cost(registry_dir: Path, runs_dir: Path, rel_tol: float | None, json_: bool) -> None:
    """Hardware against API spend (Scenario A) and subscriptions (Scenario B), with break-even.

    Hardware per month is its price over the amortization window plus
    electricity (a flat figure only for the machine it was stated for). A
    Scenario A volume whose output tokens exceed what the machine can generate
    at the calibrated ceiling (--runs) is reported as such, never as a saving. Ends with every seed claim of
    pricing.yaml, and the seed's electricity figures, checked.

    Example:

        opsbench cost --json
    """
    from generator.analysis.cost import cost_report

    reg, _, _, _, cal = _evidence(registry_dir, runs_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    rep = cost_report(reg.pricing, reg.hardware, reg.models, rel_tol=rel_tol, calibration=cal)
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
            f"electricity {fmt_num(e.monthly)} (flat, stated for this machine; computed would be "
            f"{fmt_num(e.computed_monthly)})"
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
                "output/mo": fmt_num(s.output_tokens_per_month),
                "capacity/mo": fmt_num(s.capacity_tokens_per_month),
                "saving/mo": _money(s.monthly_saving),
                "break-even": s.break_even.text if s.break_even else "capacity exceeded",
                f"over {months} mo": _money(s.savings_over_window),
            }
            for s in rep.scenario_a
        ]
        click.echo(_table(rows_a, list(rows_a[0].keys())))
        for s in rep.scenario_a:
            click.echo(f"capacity {s.id}: output tokens against the {s.capacity_basis}")
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


def _span_text(sp: Any) -> str:
    return "-" if sp is None else f"{sp.value:,.0f} ({_range(sp.low, sp.high)})"


def measured_rows(econ: dict[str, Any], workload_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The measured-ROI table of `opsbench roi`: one row per workload × measured candidate."""
    rows = []
    for wid, e in econ.items():
        if workload_ids and wid not in workload_ids:
            continue
        for m in e.measured:
            net = m.net
            if net is not None:
                net_text = _span_text(net)
            elif m.net_if_passing is not None:
                net_text = "potential: " + _span_text(m.net_if_passing)
            else:
                net_text = "-"
            cap = m.capacity
            rows.append(
                {
                    "workload": wid,
                    "model": m.model_id,
                    "gates": "pass" if m.passes_gates else "not passed",
                    "cases": m.cases,
                    "acceptance": f"{m.acceptance.value:.2f} ({m.acceptance.low:.2f}..{m.acceptance.high:.2f})",
                    "local share": f"{m.local_share.value:g}" + ("" if m.local_share.measured else " stated"),
                    "hours/mo": _span_text(m.staff_hours),
                    "value/mo": _span_text(m.staff_value),
                    "hosted/mo": _span_text(m.displaced),
                    "local cost/mo": _money(m.local_cost),
                    "net/mo": net_text,
                    "capacity": "-"
                    if cap is None
                    else "not measured"
                    if cap.enough is None and cap.items_per_hour is None
                    else {True: "enough", False: "NOT enough", None: "p50 only"}[cap.enough],
                }
            )
    return rows


@click.command()
@registry_option
@runs_option
@click.option("--workload", "workload_ids", multiple=True, help="Only this workload id (repeatable).")
@tolerance_option
@json_option
@handles_errors
def roi(registry_dir: Path, runs_dir: Path, workload_ids: tuple[str, ...], rel_tol: float | None, json_: bool) -> None:
    """Return per month from the measurements, and each deliverable's own arithmetic checked.

    Measured: per workload × candidate, the local share (stated until guard rails
    are measured), acceptance with its 95 % interval (so every figure has a range),
    staff hours and their value, hosted spend displaced (measured tokens × the
    baseline's price), the named machine's running cost, and the net; a candidate
    that does not pass every gate shows "potential" and no net. All in the
    pricing currency. Then the stated arithmetic of each workload's `roi` inputs,
    with every figure the seed states (`seed_claims`) checked.

    Example:

        opsbench roi --workload field-extraction
    """
    from generator.analysis.economics import economics
    from generator.analysis.roi import roi_report

    reg, df, manifests, q, _ = _evidence(registry_dir, runs_dir)
    rel_tol = reg.policy.claims.rel_tolerance if rel_tol is None else rel_tol
    workloads = reg.workloads
    for wid in workload_ids:
        if wid not in workloads:
            raise click.BadParameter(f"unknown workload {wid!r}", param_hint="--workload")
    chosen = [workloads[w] for w in workload_ids] or list(workloads.values())
    results = roi_report(chosen, rel_tol=rel_tol)
    checks = [c for r in results for c in r.seed_checks]
    econ = economics(reg, df, manifests, q)
    measured = [m for wid, e in econ.items() if not workload_ids or wid in workload_ids for m in e.measured]
    if json_:
        payload = [{**_jsonable(m), "net": _jsonable(m.net), "status": m.status} for m in measured]
        _echo_json({"measured": payload, "workloads": results, "seed_checks": _checks_json(checks)})
        return
    if not results:
        click.echo("no workload states roi inputs")
        return
    cur = reg.pricing.currency
    click.echo(f"Measured return per month, {cur} (ranges from the acceptance 95 % interval)")
    rows = measured_rows(econ, workload_ids)
    if rows:
        click.echo(_table(rows, list(rows[0].keys())))
        for m in measured:
            click.echo(f"- {m.workload_id} × {m.model_id}: {m.status}; local share: {m.local_share.source}")
            click.echo(f"  local cost: {m.local_cost_working}")
            if m.hosted is not None:
                click.echo(f"  hosted per item: {m.hosted.formula} = {m.hosted.per_item:.4f} {cur}")
            if m.capacity is not None:
                click.echo(f"  capacity: {m.capacity.text}")
            for n in m.notes:
                click.echo(f"  note: {n}")
    else:
        click.echo("no candidate measured on these workloads yet (opsbench run)")
    click.echo("")
    click.echo("Stated arithmetic (workloads.yaml roi inputs, in each deliverable's own currency)")
    stated = [
        {
            "workload": r.workload_id,
            "min saved/item": fmt_num(r.minutes_saved_per_item, 3),
            "hours/mo": fmt_num(r.staff_hours_per_month, 1),
            "value/mo": _money(r.staff_value_per_month),
            "hosted/mo": _money(r.hosted_displaced_per_month),
            "currency": r.currency,
        }
        for r in results
    ]
    click.echo(_table(stated, list(stated[0].keys())))
    click.echo(
        "hours = volume × share automated × minutes saved × survival ÷ 60; hosted = volume × local share × "
        "hosted cost per item"
    )
    _echo_checks(checks, rel_tol)

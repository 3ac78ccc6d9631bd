"""The seed site's capacity claims checked against the capacity arithmetic
(:mod:`generator.analysis.capacity`): tokens per month, decode speed, bandwidth, memory.

Each check says what the claim states, what the registry's figures give, and why
they differ; the arithmetic itself lives in ``capacity.py``.
"""

from __future__ import annotations

from generator.analysis.capacity import (
    SECONDS_PER_DAY,
    ThroughputResult,
    _local_figures,
    is_local,
    throughput,
    tokens_per_month,
    weights_gb,
)
from generator.analysis.seedcheck import (
    ParsedNumber,
    SeedCheck,
    check_seed_claim,
    fmt_num,
)
from generator.registry.schema import (
    BandwidthClaim,
    CapacityDefaults,
    DecodeClaim,
    HardwareClaims,
    Machine,
    MemoryClaim,
    ModelEntry,
    ThroughputClaim,
)

# --------------------------------------------------------------------------- seed checks


def check_tokens_per_month_claim(
    claim: ThroughputClaim,
    defaults: CapacityDefaults,
    *,
    rel_tol: float,
    machine: Machine | None = None,
    model: ModelEntry | None = None,
    source: str = "",
) -> SeedCheck:
    """A throughput-table row: the seed's stated tok/s through the one tokens-per-month formula.

    With the machine and model at hand, the note also says what share of the
    bandwidth ceiling the seed's stated speed is.
    """
    derived = tokens_per_month(claim.stated_tps, defaults.days_per_month)
    inputs: dict[str, float | str] = {
        "stated_tps": claim.stated_tps,
        "seconds_per_day": SECONDS_PER_DAY,
        "days_per_month": defaults.days_per_month,
    }
    note = ""
    if machine is not None and model is not None:
        t = throughput(machine, model, defaults)
        inputs |= {"machine": machine.id, "ceiling_tps": t.ceiling_tps}
        note = (
            f"The stated {fmt_num(claim.stated_tps)} tok/s is {claim.stated_tps / t.ceiling_tps:.0%} of the "
            f"{fmt_num(t.ceiling_tps, 1)} tok/s bandwidth ceiling on {machine.id} "
            f"({fmt_num(machine.bandwidth_gbs)} GB/s ÷ {t.gb_per_token:.3g} GB per token)."
        )
    return check_seed_claim(
        f"tokens/month 24/7, {claim.model} at {fmt_num(claim.stated_tps)} tok/s",
        claim.claim,
        derived,
        unit="tokens/month",
        formula=(f"{fmt_num(claim.stated_tps)} tok/s × {SECONDS_PER_DAY:,} s × {fmt_num(defaults.days_per_month)} d"),
        inputs=inputs,
        rel_tol=rel_tol,
        source=f"{source}, throughput ceiling table" if source else "throughput ceiling table",
        note=note,
    )


def per_token_formula(t: ThroughputResult) -> str:
    """The bytes-per-token sum in words: each weight component, then the KV read."""
    parts = [f"{fmt_num(b)}B × {fmt_num(bits)} bits ÷ 8" for _, b, bits, _ in t.components]
    if t.kv_read_gb_per_token is not None:
        parts.append(f"KV {t.kv_read_gb_per_token:.3g} GB at {t.context_tokens:,} tokens")
    return " + ".join(parts) + f" = {t.gb_per_token:.3g} GB per token"


def check_decode_claim(
    claim: DecodeClaim,
    machine: Machine,
    model: ModelEntry,
    defaults: CapacityDefaults,
    *,
    rel_tol: float,
    source: str = "",
) -> SeedCheck:
    """A stated decode speed against the bandwidth ceiling from the model's own weights
    (per component when it states them) and KV read."""
    t = throughput(machine, model, defaults)
    implied_gb = machine.bandwidth_gbs / claim.claimed_tps
    inputs: dict[str, float | str | None] = {
        "machine": machine.id,
        "bandwidth_gbs": machine.bandwidth_gbs,
        "params_active_b": t.params_active_b,
        "weights_gb_per_token": t.weights_gb_per_token,
        "kv_read_gb_per_token": t.kv_read_gb_per_token,
        "gb_per_token": t.gb_per_token,
        "ceiling_tps": t.ceiling_tps,
        "claimed_tps": claim.claimed_tps,
        "gb_per_token_implied_by_claim": implied_gb,
        "stated_gb_per_token": claim.stated_gb_per_token,
        "efficiency_if_measured": claim.claimed_tps / t.ceiling_tps,
    }
    parts = []
    if claim.stated_gb_per_token is not None:
        from_stated = machine.bandwidth_gbs / claim.stated_gb_per_token
        stated_bits = claim.stated_gb_per_token * 8 / t.params_active_b
        inputs |= {"tps_from_stated_gb_per_token": from_stated, "bits_implied_by_stated_gb": stated_bits}
        parts.append(
            f"The claim follows from the seed's stated {fmt_num(claim.stated_gb_per_token)} GB per token "
            f"({fmt_num(machine.bandwidth_gbs)} ÷ {fmt_num(claim.stated_gb_per_token)} = "
            f"{fmt_num(from_stated, 1)} tok/s), but {fmt_num(claim.stated_gb_per_token)} GB per token is all "
            f"{fmt_num(t.params_active_b)}B active parameters at {stated_bits:.1f} bits per weight; "
            f"the model's weights read {t.weights_gb_per_token:.3g} GB per token."
        )
    parts.append(
        f"Read as a measurement, {fmt_num(claim.claimed_tps)} tok/s would be "
        f"{claim.claimed_tps / t.ceiling_tps:.0%} of the ceiling."
    )
    return check_seed_claim(
        f"decode speed, {model.id} on {machine.id}",
        claim.claim,
        t.ceiling_tps,
        unit="tok/s",
        formula=f"{fmt_num(machine.bandwidth_gbs)} GB/s ÷ ({per_token_formula(t)})",
        inputs=inputs,
        rel_tol=rel_tol,
        source=source,
        claimed=ParsedNumber(claim.claimed_tps, 1.0, f"~{fmt_num(claim.claimed_tps)}"),
        note=" ".join(parts),
    )


def check_bandwidth_claim(claim: BandwidthClaim, machine: Machine, *, rel_tol: float, source: str = "") -> SeedCheck:
    """A stated bandwidth against the registry's sourced per-stream figure."""
    return check_seed_claim(
        f"bandwidth, {machine.id}",
        claim.claim,
        machine.bandwidth_gbs,
        unit="GB/s",
        formula=f"hardware.yaml bandwidth_gbs {fmt_num(machine.bandwidth_gbs)}",
        inputs={"bandwidth_gbs": machine.bandwidth_gbs, "bandwidth_source": machine.bandwidth_source},
        rel_tol=rel_tol,
        source=source,
        claimed=ParsedNumber(claim.claimed_gbs, 1.0, fmt_num(claim.claimed_gbs)),
        note=f"Source: {machine.bandwidth_source}." if machine.bandwidth_source else "",
    )


def check_memory_claim(claim: MemoryClaim, model: ModelEntry, *, rel_tol: float, source: str = "") -> SeedCheck:
    """A stated memory footprint against parameters × bits per weight ÷ 8."""
    total_b, _, bits = _local_figures(model)
    derived = weights_gb(total_b, bits)
    inputs: dict[str, float | None] = {
        "params_total_b": total_b,
        "bits_per_weight": bits,
        "weights_gb": derived,
        "published_memory_gb": model.memory_gb,
        "bits_per_weight_implied_by_claim": claim.claimed_gb * 8 / total_b,
        "params_b_implied_at_these_bits": claim.claimed_gb * 8 / bits,
    }
    note = (
        f"{fmt_num(claim.claimed_gb)} GB holds {fmt_num(total_b)}B parameters only at "
        f"{claim.claimed_gb * 8 / total_b:.2f} bits per weight; at {fmt_num(bits)} bits it holds "
        f"{claim.claimed_gb * 8 / bits:.1f}B."
    )
    if model.memory_gb is not None:
        note += f" The registry's published footprint is {fmt_num(model.memory_gb)} GB."
    return check_seed_claim(
        f"weights memory, {model.id}",
        claim.claim,
        derived,
        unit="GB",
        formula=f"{fmt_num(total_b)}B × {fmt_num(bits)} bits ÷ 8",
        inputs=inputs,
        rel_tol=rel_tol,
        source=source,
        claimed=ParsedNumber(claim.claimed_gb, 1.0, f"~{fmt_num(claim.claimed_gb)}"),
        note=note,
    )


def seed_capacity_checks(
    machines: dict[str, Machine],
    models: dict[str, ModelEntry],
    defaults: CapacityDefaults,
    claims: HardwareClaims | None,
    *,
    rel_tol: float,
) -> list[SeedCheck]:
    """Every quoted capacity claim (``hardware.yaml`` ``seed_claims``), checked against the
    registry's records. A claim naming a machine or model the registry lacks is reported as
    not checked."""
    out: list[SeedCheck] = []
    if claims is None:
        return out
    src = claims.source
    for tc in claims.throughput_table:
        out.append(
            check_tokens_per_month_claim(
                tc,
                defaults,
                rel_tol=rel_tol,
                machine=machines.get(tc.machine),
                model=models.get(tc.model),
                source=src,
            )
        )
    for dc in claims.decode:
        if dc.machine in machines and dc.model in models:
            out.append(
                check_decode_claim(dc, machines[dc.machine], models[dc.model], defaults, rel_tol=rel_tol, source=src)
            )
        else:
            out.append(_missing(f"decode speed, {dc.model} on {dc.machine}", dc.claim, "tok/s", rel_tol, src))
    for bc in claims.bandwidth:
        if bc.machine in machines:
            out.append(check_bandwidth_claim(bc, machines[bc.machine], rel_tol=rel_tol, source=src))
        else:
            out.append(_missing(f"bandwidth, {bc.machine}", bc.claim, "GB/s", rel_tol, src))
    for mc in claims.memory:
        if mc.model in models and is_local(models[mc.model]):
            out.append(check_memory_claim(mc, models[mc.model], rel_tol=rel_tol, source=src))
        else:
            out.append(_missing(f"weights memory, {mc.model}", mc.claim, "GB", rel_tol, src))
    return out


def _missing(subject: str, claim: str, unit: str, rel_tol: float, source: str) -> SeedCheck:
    return SeedCheck(
        subject=subject,
        source=source,
        claim=claim,
        claimed=None,
        derived=None,
        unit=unit,
        consistent=None,
        tolerance=None,
        rel_tol=rel_tol,
        formula="",
        explanation="not checked: the registry has no such machine or local model.",
    )

"""The seed site's cost claims checked against the cost formulas: a scenario's
``seed_claims`` (each with its kind), each part checked (with its own rounding or the
policy tolerance), and the electricity figures of the hardware claims.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from generator.analysis.cost_formulas import BreakEven, electricity_computed, implied_kwh_price
from generator.analysis.seedcheck import (
    ParsedNumber,
    SeedCheck,
    check_seed_claim,
    fmt_num,
    parse_number,
)
from generator.registry.schema import (
    HardwareClaims,
    Machine,
    PricingFile,
)

# --------------------------------------------------------------------------- seed claims


def _source(kind: str, sid: str, seed_source: str | None) -> str:
    where = f"pricing.yaml {kind} {sid!r} seed_claims"
    return f"{where} ({seed_source})" if seed_source else where


def _plain(subject: str, claim: str, source: str, rel_tol: float, consistent: bool | None, **kw: Any) -> SeedCheck:
    base: dict[str, Any] = {
        "claimed": None,
        "derived": None,
        "unit": "",
        "tolerance": None,
        "formula": "",
        "inputs": {},
        "explanation": "",
    }
    base.update(kw)
    return SeedCheck(subject=subject, source=source, claim=claim, consistent=consistent, rel_tol=rel_tol, **base)


def _check_never(sid: str, part: str, be: BreakEven | None, source: str, rel_tol: float, exceeded: bool) -> SeedCheck:
    subject = f"{sid}: break-even"
    if exceeded or be is None:
        return _plain(subject, part, source, rel_tol, None, explanation="not checked: no saving to break even on.")
    ok = not be.within_window
    head = (
        f"price {fmt_num(be.hardware_price)} ÷ (saving {fmt_num(be.monthly_saving)} − electricity "
        f"{fmt_num(be.monthly_electricity)}) gives {be.text}"
    )
    return _plain(
        subject,
        part,
        source,
        rel_tol,
        ok,
        derived=None if be.month is None else float(be.month),
        unit="months",
        formula="ceil(price ÷ (saving − electricity))",
        inputs=dataclasses.asdict(be),
        explanation=f"{head}: {'consistent' if ok else 'INCONSISTENT'} with 'never'.",
    )


def _check_month(
    sid: str, part: str, be: BreakEven | None, source: str, rel_tol: float, capacity_note: str | None
) -> SeedCheck:
    subject = f"{sid}: break-even"
    if be is None or be.exact_months is None:
        return _plain(
            subject,
            part,
            source,
            rel_tol,
            False,
            explanation=(
                f"INCONSISTENT: the seed gives a break-even month; the inputs give {be.text if be else 'none'}."
            ),
        )
    formula = f"{fmt_num(be.hardware_price)} ÷ ({fmt_num(be.monthly_saving)} − {fmt_num(be.monthly_electricity)})"
    check = check_seed_claim(
        subject,
        part,
        be.exact_months,
        unit="months",
        formula=formula,
        inputs=dataclasses.asdict(be),
        rel_tol=rel_tol,
        source=source,
        note=f"Cumulative savings first cover the price in month {be.month}.",
    )
    if not check.consistent and check.claimed == be.month:
        check = dataclasses.replace(
            check,
            consistent=True,
            explanation=(
                f"{formula} = {fmt_num(be.exact_months)} months, so cumulative savings first cover the price "
                f"in month {be.month}; the seed says {part!r}: consistent."
            ),
        )
    if capacity_note:
        matches = "matching" if check.consistent else "not matching"
        check = dataclasses.replace(
            check,
            consistent=False,
            explanation=(
                f"INCONSISTENT: the arithmetic gives month {be.month} ({formula} = "
                f"{fmt_num(be.exact_months)}), {matches} the seed's {part!r}, but {capacity_note}, "
                "so no saving can be claimed."
            ),
        )
    return check


def _check_number(
    sid: str,
    what: str,
    part: str,
    derived: float | None,
    formula: str,
    inputs: dict[str, Any],
    source: str,
    rel_tol: float,
    currency: str,
    note: str = "",
) -> SeedCheck:
    return check_seed_claim(
        f"{sid}: {what}",
        part,
        derived,
        unit=currency,
        formula=formula,
        inputs=inputs,
        rel_tol=rel_tol,
        source=source,
        note=note,
    )


def _window_note(part: str, months: int) -> str:
    low = part.lower()
    years = None
    if "year" in low:
        tail = low.split(" over ", 1)[-1]
        parsed = parse_number(tail)
        years = parsed.value if parsed else None
    if years is not None and round(years * 12) != months:
        return f"The claim's window ({fmt_num(years)} years) is not the {months}-month amortization window."
    return ""


# --------------------------------------------------------------------------- electricity claims


def check_electricity_claims(
    machines: dict[str, Machine],
    pricing: PricingFile,
    days_per_month: float,
    *,
    rel_tol: float,
    flat_machines: list[str] | None = None,
    seed_claims: HardwareClaims | None = None,
) -> list[SeedCheck]:
    """Each stated electricity figure (``hardware.yaml`` ``seed_claims``) at the registry's kWh
    price, whether they share one price, and each stated saving between two of them.

    ``flat_machines``: machines the pricing file's flat monthly figure is taken to
    describe (the scenarios' machines); its implied kWh price joins the comparison.
    """
    cur = pricing.currency
    out: list[SeedCheck] = []
    implied: dict[str, float] = {}
    lines: list[str] = []
    claims = seed_claims.electricity if seed_claims else []
    savings = seed_claims.electricity_saving if seed_claims else []
    src = seed_claims.source if seed_claims else ""
    by_id = {c.id: c for c in claims}
    for c in claims:
        m = machines.get(c.machine)
        if m is None:
            continue
        kwh = m.power_w * c.hours_per_day * days_per_month / 1000
        at_registry = electricity_computed(
            m.power_w, c.hours_per_day, days_per_month, pricing.electricity_price_per_kwh
        )
        price = implied_kwh_price(m.power_w, c.hours_per_day, days_per_month, c.claimed_monthly)
        implied[c.claim] = price
        lines.append(
            f"{c.claim!r}: {fmt_num(m.power_w)} W × {fmt_num(c.hours_per_day)} h × "
            f"{fmt_num(days_per_month)} d "
            f"= {fmt_num(kwh, 1)} kWh, so {fmt_num(c.claimed_monthly)} {cur} implies {price:.2f} {cur}/kWh"
        )
        out.append(
            check_seed_claim(
                f"electricity per month, {m.id}",
                c.claim,
                at_registry,
                unit=cur,
                formula=(
                    f"{fmt_num(m.power_w)} W × {fmt_num(c.hours_per_day)} h × {fmt_num(days_per_month)} d × "
                    f"{fmt_num(pricing.electricity_price_per_kwh)} {cur}/kWh ÷ 1000"
                ),
                inputs={
                    "power_w": m.power_w,
                    "hours_per_day": c.hours_per_day,
                    "days_per_month": days_per_month,
                    "price_per_kwh": pricing.electricity_price_per_kwh,
                    "kwh_per_month": kwh,
                    "implied_price_per_kwh": price,
                },
                rel_tol=rel_tol,
                source=src,
                claimed=ParsedNumber(c.claimed_monthly, 1.0, fmt_num(c.claimed_monthly)),
                note=f"The seed's figure implies {price:.2f} {cur}/kWh.",
            )
        )
    flat = pricing.electricity_monthly_flat
    for mid in flat_machines or []:
        m = machines.get(mid)
        if flat is None or m is None:
            continue
        kwh = m.power_w * pricing.hours_per_day * days_per_month / 1000
        price = implied_kwh_price(m.power_w, pricing.hours_per_day, days_per_month, flat)
        key = f"pricing.yaml electricity_monthly_flat {fmt_num(flat)} {cur} for {m.id}"
        implied[key] = price
        lines.append(
            f"{key} (hours not stated by the seed; hours_per_day {fmt_num(pricing.hours_per_day)} used): "
            f"{fmt_num(kwh, 1)} kWh, so it implies {price:.2f} {cur}/kWh"
        )
    if len(implied) >= 2:
        lo, hi = min(implied.values()), max(implied.values())
        ok = hi <= lo * (1 + rel_tol)
        out.append(
            _plain(
                "the seed's electricity figures share one kWh price",
                "; ".join(implied),
                src,
                rel_tol,
                ok,
                unit=f"{cur}/kWh",
                formula="stated monthly cost ÷ (W × h × days ÷ 1000)",
                inputs={
                    "implied_price_per_kwh": implied,
                    "registry_price_per_kwh": pricing.electricity_price_per_kwh,
                },
                explanation=(
                    (
                        "consistent: "
                        if ok
                        else f"INCONSISTENT: implied prices run from {lo:.2f} to {hi:.2f} {cur}/kWh. "
                    )
                    + "; ".join(lines)
                    + "."
                ),
            )
        )
    for saving in savings:
        lo_c, hi_c = by_id.get(saving.cheaper), by_id.get(saving.dearer)
        if lo_c is None or hi_c is None or lo_c.machine not in machines or hi_c.machine not in machines:
            continue
        a, b = machines[lo_c.machine], machines[hi_c.machine]
        p = pricing.electricity_price_per_kwh
        cost_a = electricity_computed(a.power_w, lo_c.hours_per_day, days_per_month, p)
        cost_b = electricity_computed(b.power_w, hi_c.hours_per_day, days_per_month, p)
        derived = (cost_b - cost_a) * saving.months
        own = (hi_c.claimed_monthly - lo_c.claimed_monthly) * saving.months
        price_a = implied_kwh_price(a.power_w, lo_c.hours_per_day, days_per_month, lo_c.claimed_monthly)
        price_b = implied_kwh_price(b.power_w, hi_c.hours_per_day, days_per_month, hi_c.claimed_monthly)
        one_price = max(price_a, price_b) <= min(price_a, price_b) * (1 + rel_tol)
        out.append(
            check_seed_claim(
                f"electricity saved over {saving.months} months, {a.id} vs {b.id}",
                saving.claim,
                derived,
                unit=cur,
                formula=(f"({fmt_num(cost_b, 1)} − {fmt_num(cost_a, 1)}) × {saving.months} at {fmt_num(p)} {cur}/kWh"),
                inputs={
                    "cheaper_monthly": cost_a,
                    "dearer_monthly": cost_b,
                    "months": saving.months,
                    "price_per_kwh": p,
                },
                rel_tol=rel_tol,
                source=src,
                note=(
                    f"From the source's own monthly figures, ({fmt_num(hi_c.claimed_monthly)} − "
                    f"{fmt_num(lo_c.claimed_monthly)}) × {saving.months} = {fmt_num(own)}"
                    + (
                        "."
                        if one_price
                        else f", but those figures need two different kWh prices ({price_a:.2f} and "
                        f"{price_b:.2f} {cur}/kWh)."
                    )
                ),
            )
        )
    return out

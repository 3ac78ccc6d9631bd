"""Cost scenarios: what the hardware costs per month, what it displaces, when it pays back.

Pure: registry records in, typed results out. Every figure is in the pricing
file's ``currency``; other currencies are converted with ``fx_to_currency``.

* Hardware per month = price ÷ amortization_months + electricity, where
  electricity is ``electricity_monthly_flat`` when the pricing file gives one,
  else power_w × hours_per_day × days_per_month × price_per_kwh ÷ 1000.
* Scenario A (pay-per-token API): API cost = tokens ÷ 10⁶ × (input_share × input
  price + (1 − input_share) × output price) × fx. The saving is capped by
  capacity: a volume above the bandwidth ceiling's tokens per month for the
  scenario's model on its machine is reported as such, never as a saving.
* Scenario B (subscription downgrade): users × (from tier − to tier) × fx.
* Break-even month = ceil(price ÷ (monthly saving − monthly electricity)), the
  first month whose cumulative savings cover the price; "never" when that net is
  not positive or the month lies past the amortization window.
* Savings over the window = (monthly saving − hardware per month) × months.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from generator.analysis.capacity import capacity_for
from generator.analysis.seedcheck import (
    ParsedNumber,
    SeedCheck,
    check_seed_claim,
    fmt_num,
    parse_number,
)
from generator.registry.schema import (
    ApiPrice,
    HardwareClaims,
    HardwareFile,
    Machine,
    ModelEntry,
    PricingFile,
    ScenarioA,
    ScenarioB,
)

# --------------------------------------------------------------------------- records


@dataclass
class ElectricityCost:
    machine_id: str
    method: str  # "flat" (pricing.electricity_monthly_flat) or "computed"
    monthly: float
    power_w: float
    hours_per_day: float
    days_per_month: float
    price_per_kwh: float
    kwh_per_month: float
    computed_monthly: float
    flat_monthly: float | None


@dataclass
class HardwareCost:
    machine_id: str
    machine_name: str
    estimated: bool  # the machine's specs are projected, not measured
    currency: str
    machine_price: float
    machine_currency: str
    fx: float
    price: float  # in ``currency``
    amortization_months: int
    amortized_monthly: float
    electricity: ElectricityCost
    total_monthly: float


@dataclass
class BreakEven:
    hardware_price: float
    monthly_saving: float
    monthly_electricity: float
    net_monthly: float  # saving − electricity: what pays the price back
    exact_months: float | None  # price ÷ net, when net > 0
    month: int | None  # ceil(exact_months): the first month cumulative savings cover the price
    window_months: int
    within_window: bool
    text: str


@dataclass
class BlendedPrice:
    api_id: str
    name: str
    api_currency: str
    input_per_mtok: float
    output_per_mtok: float
    input_share: float
    fx: float
    blended_per_mtok: float  # in the pricing currency


@dataclass
class ScenarioAResult:
    id: str
    label: str
    currency: str
    tokens_per_month: float
    price: BlendedPrice
    api_cost_monthly: float
    machine_id: str
    model_id: str | None
    hardware: HardwareCost
    break_even_tokens_per_month: float  # volume at which the API cost equals hardware per month
    capacity_ceiling_tps: float | None
    capacity_tokens_per_month: float | None
    model_fits: bool | None
    exceeds_capacity: bool | None  # None: no model named, capacity not checked
    monthly_saving: float | None  # None when the machine cannot carry the volume
    break_even: BreakEven | None
    savings_over_window: float | None
    verdict: str
    seed_checks: list[SeedCheck] = field(default_factory=list)


@dataclass
class ScenarioBResult:
    id: str
    label: str
    currency: str
    users: int
    from_tier: str
    to_tier: str
    from_monthly: float  # per user, in ``currency``
    to_monthly: float
    saving_per_user: float
    monthly_saving: float
    machine_id: str
    hardware: HardwareCost
    hardware_per_user_monthly: float
    break_even: BreakEven
    savings_over_window: float
    verdict: str
    seed_checks: list[SeedCheck] = field(default_factory=list)


@dataclass
class ApiBreakEven:
    api_id: str
    name: str
    machine_id: str
    blended_per_mtok: float
    hardware_monthly: float
    break_even_tokens_per_month: float


@dataclass
class CostReport:
    currency: str
    amortization_months: int
    input_share: float
    rel_tol: float
    scenario_a: list[ScenarioAResult]
    scenario_b: list[ScenarioBResult]
    api_break_even: list[ApiBreakEven]
    electricity_checks: list[SeedCheck]

    @property
    def seed_checks(self) -> list[SeedCheck]:
        out = [c for s in self.scenario_a for c in s.seed_checks]
        out += [c for s in self.scenario_b for c in s.seed_checks]
        return out + self.electricity_checks


# --------------------------------------------------------------------------- formulas


def fx_rate(pricing: PricingFile, currency: str) -> float:
    """Rate converting ``currency`` into the pricing currency."""
    if currency == pricing.currency:
        return pricing.fx_to_currency.get(currency, 1.0)
    return pricing.fx_to_currency[currency]


def electricity_computed(power_w: float, hours_per_day: float, days: float, price_per_kwh: float) -> float:
    """power_w × hours_per_day × days × price_per_kwh ÷ 1000."""
    return power_w * hours_per_day * days * price_per_kwh / 1000


def implied_kwh_price(power_w: float, hours_per_day: float, days: float, monthly_cost: float) -> float:
    """The price per kWh a stated monthly electricity cost implies."""
    return monthly_cost / (power_w * hours_per_day * days / 1000)


def electricity_cost(machine: Machine, pricing: PricingFile, days_per_month: float) -> ElectricityCost:
    kwh = machine.power_w * pricing.hours_per_day * days_per_month / 1000
    computed = electricity_computed(
        machine.power_w, pricing.hours_per_day, days_per_month, pricing.electricity_price_per_kwh
    )
    flat = pricing.electricity_monthly_flat
    return ElectricityCost(
        machine_id=machine.id,
        method="computed" if flat is None else "flat",
        monthly=computed if flat is None else flat,
        power_w=machine.power_w,
        hours_per_day=pricing.hours_per_day,
        days_per_month=days_per_month,
        price_per_kwh=pricing.electricity_price_per_kwh,
        kwh_per_month=kwh,
        computed_monthly=computed,
        flat_monthly=flat,
    )


def hardware_cost(machine: Machine, pricing: PricingFile, days_per_month: float) -> HardwareCost:
    """Price ÷ amortization months + electricity, in the pricing currency."""
    fx = fx_rate(pricing, machine.currency)
    price = machine.price * fx
    amortized = price / pricing.amortization_months
    elec = electricity_cost(machine, pricing, days_per_month)
    return HardwareCost(
        machine_id=machine.id,
        machine_name=machine.name,
        estimated=machine.estimated,
        currency=pricing.currency,
        machine_price=machine.price,
        machine_currency=machine.currency,
        fx=fx,
        price=price,
        amortization_months=pricing.amortization_months,
        amortized_monthly=amortized,
        electricity=elec,
        total_monthly=amortized + elec.monthly,
    )


def break_even(
    hardware_price: float, monthly_saving: float, monthly_electricity: float, window_months: int
) -> BreakEven:
    """First month whose cumulative net saving (saving − electricity) covers the hardware price."""
    net = monthly_saving - monthly_electricity
    if net <= 0:
        exact = month = None
        text = "never (the saving does not cover electricity)"
    else:
        exact = hardware_price / net
        month = math.ceil(exact - 1e-9)
        text = (
            f"month {month}"
            if month <= window_months
            else f"never within the {window_months}-month window (month {month})"
        )
    return BreakEven(
        hardware_price=hardware_price,
        monthly_saving=monthly_saving,
        monthly_electricity=monthly_electricity,
        net_monthly=net,
        exact_months=exact,
        month=month,
        window_months=window_months,
        within_window=month is not None and month <= window_months,
        text=text,
    )


def blended_price(api: ApiPrice, pricing: PricingFile) -> BlendedPrice:
    """input_share × input price + (1 − input_share) × output price, converted."""
    fx = fx_rate(pricing, api.currency)
    share = pricing.input_share
    blended = (share * api.input_per_mtok + (1 - share) * api.output_per_mtok) * fx
    return BlendedPrice(
        api_id=api.id,
        name=api.name,
        api_currency=api.currency,
        input_per_mtok=api.input_per_mtok,
        output_per_mtok=api.output_per_mtok,
        input_share=share,
        fx=fx,
        blended_per_mtok=blended,
    )


# --------------------------------------------------------------------------- seed claims


def claim_parts(text: str) -> list[tuple[str, str]]:
    """Split a ``seed_claim`` on ';' and name what each part states.

    Kinds: api_cost_monthly, monthly_saving, break_even_never, break_even_month,
    savings_over_window, unknown.
    """
    out = []
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        low = part.lower()
        if "api cost" in low:
            kind = "api_cost_monthly"
        elif "saving" in low and "/mo" in low:
            kind = "monthly_saving"
        elif "never" in low:
            kind = "break_even_never"
        elif " over " in f" {low} ":
            kind = "savings_over_window"
        elif "month" in low:
            kind = "break_even_month"
        else:
            kind = "unknown"
        out.append((kind, part))
    return out


def _source(kind: str, sid: str, seed_source: str | None) -> str:
    where = f"pricing.yaml {kind} {sid!r} seed_claim"
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


# --------------------------------------------------------------------------- scenarios


def scenario_a(
    sa: ScenarioA,
    pricing: PricingFile,
    hardware: HardwareFile,
    models: dict[str, ModelEntry],
    *,
    rel_tol: float,
) -> ScenarioAResult:
    """Pay-per-token displacement at ``sa.tokens_per_month``, capped by the machine's capacity."""
    machines = {m.id: m for m in hardware.machines}
    machine = machines[sa.machine]
    api = next(a for a in pricing.api_prices if a.id == sa.api)
    price = blended_price(api, pricing)
    api_cost = sa.tokens_per_month / 1e6 * price.blended_per_mtok
    hw = hardware_cost(machine, pricing, hardware.capacity.days_per_month)
    months = pricing.amortization_months

    ceiling = cap_tokens = fits = exceeds = None
    capacity_note: str | None = None
    if sa.model is not None and sa.model in models:
        row = capacity_for(machine, models[sa.model], hardware.capacity)
        ceiling = row.throughput.ceiling_tps
        cap_tokens = row.throughput.tokens_per_month
        fits = row.fit.fits
        exceeds = sa.tokens_per_month > cap_tokens or not fits
        if not fits:
            capacity_note = (
                f"{sa.model} does not fit {machine.id} ({fmt_num(row.fit.total_gb)} GB needed, "
                f"{fmt_num(row.fit.memory_gb)} GB available)"
            )
        elif exceeds:
            capacity_note = (
                f"{fmt_num(sa.tokens_per_month)} tokens/month exceeds what {sa.model} on {machine.id} can "
                f"generate: at most {fmt_num(cap_tokens)} tokens/month at the {fmt_num(ceiling, 1)} tok/s "
                f"bandwidth ceiling, 24/7"
            )

    if exceeds:
        saving = be = over = None
        verdict = f"capacity exceeded: {capacity_note}; no saving claimed"
    else:
        saving = api_cost
        be = break_even(hw.price, saving, hw.electricity.monthly, months)
        over = (saving - hw.total_monthly) * months
        verdict = f"break-even {be.text}; {fmt_num(over, 0)} {pricing.currency} over {months} months"
        if exceeds is None:
            verdict += " (capacity not checked: the scenario names no registry model)"

    source = _source("scenario_a", sa.id, pricing.seed_source)
    checks: list[SeedCheck] = []
    for kind, part in claim_parts(sa.seed_claim or ""):
        if kind == "api_cost_monthly":
            parsed = parse_number(part)
            note = ""
            if parsed is not None:
                implied = parsed.value / sa.tokens_per_month * 1e6
                note = (
                    f"The seed's figure implies {implied:.4g} {pricing.currency}/M tokens; the registry's "
                    f"blended price is {fmt_num(price.blended_per_mtok)}."
                )
            checks.append(
                _check_number(
                    sa.id,
                    "API cost per month",
                    part,
                    api_cost,
                    f"{fmt_num(sa.tokens_per_month)} tokens × {fmt_num(price.blended_per_mtok)} "
                    f"{pricing.currency}/M ({price.input_share:g} × {fmt_num(api.input_per_mtok)} + "
                    f"{1 - price.input_share:g} × {fmt_num(api.output_per_mtok)} {api.currency} "
                    f"× {price.fx:g})",
                    dataclasses.asdict(price) | {"tokens_per_month": sa.tokens_per_month},
                    source,
                    rel_tol,
                    pricing.currency,
                    note,
                )
            )
        elif kind == "break_even_never":
            checks.append(_check_never(f"{sa.id}", part, be, source, rel_tol, bool(exceeds)))
        elif kind == "break_even_month":
            uncapped = be or break_even(hw.price, api_cost, hw.electricity.monthly, months)
            checks.append(_check_month(sa.id, part, uncapped, source, rel_tol, capacity_note))
        elif kind == "savings_over_window":
            checks.append(
                _check_number(
                    sa.id,
                    f"savings over {months} months",
                    part,
                    over,
                    f"(saving − hardware {fmt_num(hw.total_monthly)}) × {months}",
                    {"hardware_monthly": hw.total_monthly, "months": months},
                    source,
                    rel_tol,
                    pricing.currency,
                    _window_note(part, months),
                )
            )
        else:
            checks.append(_plain(f"{sa.id}: {part}", part, source, rel_tol, None, explanation="not understood."))

    return ScenarioAResult(
        id=sa.id,
        label=sa.label,
        currency=pricing.currency,
        tokens_per_month=sa.tokens_per_month,
        price=price,
        api_cost_monthly=api_cost,
        machine_id=machine.id,
        model_id=sa.model,
        hardware=hw,
        break_even_tokens_per_month=hw.total_monthly / price.blended_per_mtok * 1e6
        if price.blended_per_mtok
        else math.inf,
        capacity_ceiling_tps=ceiling,
        capacity_tokens_per_month=cap_tokens,
        model_fits=fits,
        exceeds_capacity=exceeds,
        monthly_saving=saving,
        break_even=be,
        savings_over_window=over,
        verdict=verdict,
        seed_checks=checks,
    )


def scenario_b(sb: ScenarioB, pricing: PricingFile, hardware: HardwareFile, *, rel_tol: float) -> ScenarioBResult:
    """Subscription downgrade: users × (from tier − to tier), against the hardware per month."""
    machine = next(m for m in hardware.machines if m.id == sb.machine)
    tiers = {t.id: t for t in pricing.subscriptions}
    t_from, t_to = tiers[sb.from_tier], tiers[sb.to_tier]
    from_monthly = t_from.monthly * fx_rate(pricing, t_from.currency)
    to_monthly = t_to.monthly * fx_rate(pricing, t_to.currency)
    per_user = from_monthly - to_monthly
    saving = sb.users * per_user
    hw = hardware_cost(machine, pricing, hardware.capacity.days_per_month)
    months = pricing.amortization_months
    be = break_even(hw.price, saving, hw.electricity.monthly, months)
    over = (saving - hw.total_monthly) * months
    verdict = f"break-even {be.text}; {fmt_num(over, 0)} {pricing.currency} over {months} months"

    source = _source("scenario_b", sb.id, pricing.seed_source)
    cur = pricing.currency
    checks: list[SeedCheck] = []
    for kind, part in claim_parts(sb.seed_claim or ""):
        if kind == "monthly_saving":
            checks.append(
                _check_number(
                    sb.id,
                    "subscription saving per month",
                    part,
                    saving,
                    f"{sb.users} × ({fmt_num(from_monthly)} − {fmt_num(to_monthly)})",
                    {"users": sb.users, "from_monthly": from_monthly, "to_monthly": to_monthly},
                    source,
                    rel_tol,
                    cur,
                )
            )
        elif kind == "break_even_never":
            checks.append(_check_never(sb.id, part, be, source, rel_tol, False))
        elif kind == "break_even_month":
            checks.append(_check_month(sb.id, part, be, source, rel_tol, None))
        elif kind == "savings_over_window":
            checks.append(
                _check_number(
                    sb.id,
                    f"savings over {months} months",
                    part,
                    over,
                    f"({fmt_num(saving)} − {fmt_num(hw.total_monthly)}) × {months}",
                    {"monthly_saving": saving, "hardware_monthly": hw.total_monthly, "months": months},
                    source,
                    rel_tol,
                    cur,
                    _window_note(part, months),
                )
            )
        else:
            checks.append(_plain(f"{sb.id}: {part}", part, source, rel_tol, None, explanation="not understood."))

    return ScenarioBResult(
        id=sb.id,
        label=sb.label,
        currency=cur,
        users=sb.users,
        from_tier=t_from.id,
        to_tier=t_to.id,
        from_monthly=from_monthly,
        to_monthly=to_monthly,
        saving_per_user=per_user,
        monthly_saving=saving,
        machine_id=machine.id,
        hardware=hw,
        hardware_per_user_monthly=hw.total_monthly / sb.users,
        break_even=be,
        savings_over_window=over,
        verdict=verdict,
        seed_checks=checks,
    )


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


# --------------------------------------------------------------------------- report


def cost_report(
    pricing: PricingFile, hardware: HardwareFile, models: dict[str, ModelEntry], *, rel_tol: float
) -> CostReport:
    """Every scenario of the pricing file, the API break-even volumes, and the electricity claims."""
    machines = {m.id: m for m in hardware.machines}
    sa = [scenario_a(s, pricing, hardware, models, rel_tol=rel_tol) for s in pricing.scenario_a]
    sb = [scenario_b(s, pricing, hardware, rel_tol=rel_tol) for s in pricing.scenario_b]
    used = list(dict.fromkeys([s.machine for s in pricing.scenario_a] + [s.machine for s in pricing.scenario_b]))
    rows = []
    for mid in used:
        hw = hardware_cost(machines[mid], pricing, hardware.capacity.days_per_month)
        for api in pricing.api_prices:
            bp = blended_price(api, pricing)
            rows.append(
                ApiBreakEven(
                    api_id=api.id,
                    name=api.name,
                    machine_id=mid,
                    blended_per_mtok=bp.blended_per_mtok,
                    hardware_monthly=hw.total_monthly,
                    break_even_tokens_per_month=hw.total_monthly / bp.blended_per_mtok * 1e6
                    if bp.blended_per_mtok
                    else math.inf,
                )
            )
    elec = check_electricity_claims(
        machines,
        pricing,
        hardware.capacity.days_per_month,
        rel_tol=rel_tol,
        flat_machines=used,
        seed_claims=hardware.seed_claims,
    )
    return CostReport(
        currency=pricing.currency,
        amortization_months=pricing.amortization_months,
        input_share=pricing.input_share,
        rel_tol=rel_tol,
        scenario_a=sa,
        scenario_b=sb,
        api_break_even=rows,
        electricity_checks=elec,
    )

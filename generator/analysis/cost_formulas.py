"""Cost formulas and their result records: hardware per month, electricity, blended API
price, break-even month. Arithmetic only; the scenarios (``cost.py``) and the seed-claim
checks (``cost_claims.py``) are built on these. The formulas are stated in ``cost.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from generator.analysis.seedcheck import (
    SeedCheck,
)
from generator.registry.schema import (
    ApiPrice,
    Machine,
    PricingFile,
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
    capacity_ceiling_tps: float | None  # the calibrated figure when there is one, else the ceiling
    capacity_tokens_per_month: float | None  # output tokens the machine can generate 24/7
    model_fits: bool | None
    exceeds_capacity: bool | None  # None: no model named, capacity not checked
    monthly_saving: float | None  # None when the machine cannot carry the volume
    break_even: BreakEven | None
    savings_over_window: float | None
    verdict: str
    seed_checks: list[SeedCheck] = field(default_factory=list)
    output_tokens_per_month: float = 0.0  # (1 − input_share) × tokens: what decode must generate
    capacity_basis: str = "not checked"  # "calibrated (...)" / "theoretical ceiling (not calibrated)"
    theoretical_ceiling_tps: float | None = None


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
    """The machine's own power × hours × price, or the flat figure where it was stated for it."""
    kwh = machine.power_w * pricing.hours_per_day * days_per_month / 1000
    computed = electricity_computed(
        machine.power_w, pricing.hours_per_day, days_per_month, pricing.electricity_price_per_kwh
    )
    flat = pricing.electricity_monthly_flat if pricing.electricity_flat_machine == machine.id else None
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
    if machine.price is None or machine.currency is None:
        raise ValueError(f"machine {machine.id!r} has no price (the registry loader reports this)")
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

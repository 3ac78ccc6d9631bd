"""Cost formulas (generator/analysis/cost_formulas.py) pinned to hand-worked values."""

from __future__ import annotations

import pytest

from generator.analysis.cost_formulas import (
    blended_price,
    break_even,
    electricity_computed,
    hardware_cost,
    implied_kwh_price,
)
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import Machine
from tests.conftest import REPO

HW_MONTHLY = 40000 / 36 + 100  # 1,111.11 amortized + 100 flat electricity = 1,211.11


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once."""
    return load_registry(REPO / "registry")


def machines(reg: Registry) -> dict[str, Machine]:
    return {m.id: m for m in reg.hardware.machines}


def test_electricity_formulas() -> None:
    # Mac Studio 120 W × 8 h × 30 d = 28.8 kWh; RTX 5090 950 W → 228 kWh
    assert electricity_computed(120, 8, 30, 2.0) == pytest.approx(57.6)
    assert electricity_computed(950, 8, 30, 2.0) == pytest.approx(456)
    assert implied_kwh_price(120, 8, 30, 150) == pytest.approx(150 / 28.8)  # 5.21 SEK/kWh
    assert implied_kwh_price(950, 8, 30, 450) == pytest.approx(450 / 228)  # 1.97 SEK/kWh


def test_hardware_cost_flat_and_computed(reg: Registry) -> None:
    m5 = machines(reg)["mac-studio-m5-max-128"]
    hw = hardware_cost(m5, reg.pricing, 30)
    assert hw.price == 40000 and hw.fx == 1.0
    assert hw.amortized_monthly == pytest.approx(1111.111, abs=1e-3)
    assert hw.electricity.method == "flat" and hw.electricity.monthly == 100
    assert hw.electricity.computed_monthly == pytest.approx(57.6)
    assert hw.total_monthly == pytest.approx(HW_MONTHLY)  # the seed's "SEK 1,211/mo hw"
    assert hw.estimated
    no_flat = reg.pricing.model_copy(update={"electricity_monthly_flat": None})
    rtx = hardware_cost(machines(reg)["rtx-5090-pc"], no_flat, 30)
    assert rtx.electricity.method == "computed"
    assert rtx.electricity.monthly == pytest.approx(456)
    assert rtx.total_monthly == pytest.approx(54000 / 36 + 456)


def test_hardware_cost_converts_currency(reg: Registry) -> None:
    usd = machines(reg)["mac-studio-m5-max-128"].model_copy(update={"price": 4000, "currency": "USD"})
    hw = hardware_cost(usd, reg.pricing, 30)
    assert hw.fx == 10.5 and hw.price == pytest.approx(42000)


def test_break_even_rule() -> None:
    be = break_even(40000, 1680, 100, 36)
    assert be.net_monthly == 1580
    assert be.exact_months == pytest.approx(25.316, abs=1e-3)
    assert be.month == 26 and be.within_window and be.text == "month 26"
    late = break_even(40000, 840, 100, 36)  # 40,000 ÷ 740 = 54.05 → month 55
    assert late.month == 55 and not late.within_window
    assert late.text == "never within the 36-month window (month 55)"
    none = break_even(40000, 100, 100, 36)
    assert none.month is None and none.exact_months is None and not none.within_window
    assert break_even(40000, 3360, 100, 36).month == 13  # 12.27 → 13
    assert break_even(40000, 3780, 100, 36).month == 11  # 10.87 → 11
    assert break_even(0, 500, 100, 36).month == 0


def test_blended_price(reg: Registry) -> None:
    apis = {a.id: a for a in reg.pricing.api_prices}
    # Sonnet: (0.3 × 3 + 0.7 × 15) USD × 10.5 = 11.4 × 10.5 = 119.7 SEK/M (the seed's "~120 SEK/M")
    assert blended_price(apis["claude-sonnet"], reg.pricing).blended_per_mtok == pytest.approx(119.7)
    assert blended_price(apis["gpt-oss-120b-cloud"], reg.pricing).blended_per_mtok == pytest.approx(10)

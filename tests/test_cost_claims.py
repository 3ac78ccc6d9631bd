"""The seed's cost claims (generator/analysis/cost_claims.py): what a claim states, and the
electricity figures that imply different kWh prices."""

from __future__ import annotations

import pytest

from generator.analysis.cost_claims import check_electricity_claims
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import Machine
from tests.conftest import REPO

TOL = 0.02


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once."""
    return load_registry(REPO / "registry")


def machines(reg: Registry) -> dict[str, Machine]:
    return {m.id: m for m in reg.hardware.machines}


def test_electricity_claims_imply_different_kwh_prices(reg: Registry) -> None:
    checks = check_electricity_claims(
        machines(reg),
        reg.pricing,
        30,
        rel_tol=TOL,
        flat_machines=["mac-studio-m5-max-128"],
        seed_claims=reg.hardware.seed_claims,
    )
    by = {c.subject: c for c in checks}
    mac = by["electricity per month, mac-studio-m4-max-128"]
    assert mac.derived == pytest.approx(57.6) and mac.consistent is False
    assert mac.inputs["implied_price_per_kwh"] == pytest.approx(5.2083, abs=1e-4)
    rtx = by["electricity per month, rtx-5090-pc"]
    assert rtx.derived == pytest.approx(456) and rtx.consistent is True
    assert rtx.inputs["implied_price_per_kwh"] == pytest.approx(1.9737, abs=1e-4)
    one = by["the seed's electricity figures share one kWh price"]
    assert one.consistent is False
    prices = sorted(one.inputs["implied_price_per_kwh"].values())
    assert prices == [pytest.approx(450 / 228), pytest.approx(100 / 28.8), pytest.approx(150 / 28.8)]
    saved = by["electricity saved over 36 months, mac-studio-m4-max-128 vs rtx-5090-pc"]
    assert saved.claimed == 10800
    assert saved.derived == pytest.approx((456 - 57.6) * 36)  # 14,342.4 at one price
    assert saved.consistent is False
    assert "two different kWh prices (5.21 and 1.97 SEK/kWh)" in saved.explanation
    assert saved.source == "seed site 'Local Inference Machine' (seeds/004)"

"""The seed's capacity claims (generator/analysis/capacity_claims.py) against the registry's figures."""

from __future__ import annotations

import pytest

from generator.analysis.capacity_claims import seed_capacity_checks
from generator.registry.loader import Registry, load_registry
from tests.conftest import REPO


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once."""
    return load_registry(REPO / "registry")


def test_seed_capacity_claims(reg: Registry) -> None:
    machines = {m.id: m for m in reg.hardware.machines}
    checks = seed_capacity_checks(machines, reg.models, reg.hardware.capacity, reg.hardware.seed_claims, rel_tol=0.02)
    by = {c.subject: c for c in checks}
    # the five throughput-table rows all follow from their stated tok/s
    table = [c for c in checks if c.subject.startswith("tokens/month")]
    assert len(table) == len(reg.hardware.seed_claims.throughput_table) == 5
    assert all(c.consistent for c in table)
    assert table[0].derived == pytest.approx(388.8e6)
    # ~55 tok/s for gpt-oss-120b does not follow from its weights (5.0 GB per token) and KV read
    decode = by["decode speed, gpt-oss-120b on mac-studio-m4-max-128"]
    assert decode.consistent is False
    assert decode.claimed == 55
    assert decode.derived == pytest.approx(97.398, abs=1e-3)
    assert decode.inputs["tps_from_stated_gb_per_token"] == pytest.approx(54.6)
    assert decode.inputs["bits_implied_by_stated_gb"] == pytest.approx(10 * 8 / 5.13)  # 15.59 bits
    assert "15.6 bits per weight" in decode.explanation and "read 5 GB per token" in decode.explanation
    assert "3.58B × 4.25 bits ÷ 8 + 1.55B × 16 bits ÷ 8 + KV 0.604 GB at 8,192 tokens" in decode.formula
    # the seed's Pi 5 ~30 GB/s and dual-5090 3,584 GB/s do not follow from their memory and split
    assert by["bandwidth, raspberry-pi-5-8"].consistent is False
    assert by["bandwidth, raspberry-pi-5-8"].derived == 17
    assert by["bandwidth, dual-rtx-5090"].consistent is False
    assert "one card's bandwidth" in by["bandwidth, dual-rtx-5090"].explanation
    # GLM-4.7-Flash "~4 GB" against 30B × 4.85 ÷ 8 = 18.19 GB
    glm = by["weights memory, glm-4.7-flash"]
    assert glm.consistent is False
    assert glm.derived == pytest.approx(18.1875)
    assert glm.inputs["bits_per_weight_implied_by_claim"] == pytest.approx(4 * 8 / 30)
    # "~80 GB" for gpt-oss-120b against 62.05 GB by formula (65 GB published)
    oss = by["weights memory, gpt-oss-120b"]
    assert oss.consistent is False and oss.derived == pytest.approx(62.05)

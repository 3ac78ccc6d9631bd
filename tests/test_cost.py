"""Cost scenarios pinned to hand-worked values, the seed's rows, its inconsistencies, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.analysis.cost import (
    ScenarioAResult,
    cost_report,
    scenario_a,
    scenario_b,
)
from generator.cli.planning import cost
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import Machine
from tests.conftest import REPO

TOL = 0.02
HW_MONTHLY = 40000 / 36 + 100  # 1,111.11 amortized + 100 flat electricity = 1,211.11


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once; tests that write use ``registry_copy``."""
    return load_registry(REPO / "registry")


def machines(reg: Registry) -> dict[str, Machine]:
    return {m.id: m for m in reg.hardware.machines}


def test_seed_claims_are_structured_not_read_by_keyword(reg: Registry, registry_copy: Path) -> None:
    """Which formula checks a quoted figure is the claim's `kind`, not a word in its text."""
    heavy = next(s for s in reg.pricing.scenario_a if s.id == "heavy")
    assert [(c.kind, c.claim) for c in heavy.seed_claims] == [
        ("api_cost_monthly", "API cost SEK 9,765/mo"),
        ("break_even_month", "break-even 5 months"),
    ]
    # The old free-text form is refused with file:line, and so is a kind no formula checks.
    path = registry_copy / "pricing.yaml"
    text = path.read_text()
    old = '      - {kind: break_even_month, claim: "break-even 5 months"}\n'
    assert old in text
    path.write_text(text.replace(old, '      - {kind: payback, claim: "break-even 5 months"}\n'))
    from generator.errors import InputError

    with pytest.raises(InputError) as err:
        load_registry(registry_copy)
    line = 1 + path.read_text().split("kind: payback")[0].count("\n")
    assert f"pricing.yaml:{line}:" in str(err.value)


# --------------------------------------------------------------------------- Scenario B


@pytest.mark.parametrize(
    ("sid", "saving", "month", "over", "per_user"),
    [
        ("one-user-max5x", 840, 55, (840 - HW_MONTHLY) * 36, HW_MONTHLY),  # -13,360
        ("two-users-max5x", 1680, 26, (1680 - HW_MONTHLY) * 36, HW_MONTHLY / 2),  # +16,880; 606/person
        ("two-users-max20x", 3780, 11, (3780 - HW_MONTHLY) * 36, HW_MONTHLY / 2),  # +92,480
        ("four-users-max5x", 3360, 13, (3360 - HW_MONTHLY) * 36, HW_MONTHLY / 4),  # +77,360
    ],
)
def test_scenario_b_rows(reg: Registry, sid: str, saving: float, month: int, over: float, per_user: float) -> None:
    sb = next(s for s in reg.pricing.scenario_b if s.id == sid)
    r = scenario_b(sb, reg.pricing, reg.hardware, rel_tol=TOL)
    assert r.monthly_saving == pytest.approx(saving)
    assert r.hardware.total_monthly == pytest.approx(HW_MONTHLY)
    assert r.break_even.month == month
    assert r.savings_over_window == pytest.approx(over)
    assert r.hardware_per_user_monthly == pytest.approx(per_user)


def test_scenario_b_values_in_sek(reg: Registry) -> None:
    r = scenario_b(reg.pricing.scenario_b[0], reg.pricing, reg.hardware, rel_tol=TOL)
    assert (r.from_monthly, r.to_monthly, r.saving_per_user) == (1050, 210, 840)
    assert r.savings_over_window == pytest.approx(-13360)


def _checks(reg: Registry, sid: str) -> dict[str, bool | None]:
    sb = next(s for s in reg.pricing.scenario_b if s.id == sid)
    r = scenario_b(sb, reg.pricing, reg.hardware, rel_tol=TOL)
    return {c.subject.split(": ", 1)[1]: c.consistent for c in r.seed_checks}


def test_scenario_b_seed_rows_that_hold(reg: Registry) -> None:
    for sid in ("one-user-max5x", "two-users-max5x", "two-users-max20x"):
        checks = _checks(reg, sid)
        assert checks == {
            "subscription saving per month": True,
            "break-even": True,
            "savings over 36 months": True,
        }, sid


def test_scenario_b_two_users_break_even_reads_25_point_3(reg: Registry) -> None:
    sb = next(s for s in reg.pricing.scenario_b if s.id == "two-users-max5x")
    r = scenario_b(sb, reg.pricing, reg.hardware, rel_tol=TOL)
    be = next(c for c in r.seed_checks if c.subject.endswith("break-even"))
    assert be.claimed == 25 and be.derived == pytest.approx(40000 / 1580)
    assert "month 26" in be.explanation


def test_scenario_b_four_users_inconsistent(reg: Registry) -> None:
    sb = next(s for s in reg.pricing.scenario_b if s.id == "four-users-max5x")
    r = scenario_b(sb, reg.pricing, reg.hardware, rel_tol=TOL)
    by = {c.subject.split(": ", 1)[1]: c for c in r.seed_checks}
    assert by["subscription saving per month"].consistent  # 3,360 holds
    be = by["break-even"]
    assert be.consistent is False
    assert be.claimed == 7
    assert be.derived == pytest.approx(40000 / 3260)  # 12.27, not ~7
    over = by["savings over 36 months"]
    assert over.consistent is False
    assert over.claimed == 173000
    assert over.derived == pytest.approx(77360)  # not +173k


# --------------------------------------------------------------------------- Scenario A


def _sa(reg: Registry, sid: str) -> ScenarioAResult:
    sa = next(s for s in reg.pricing.scenario_a if s.id == sid)
    return scenario_a(sa, reg.pricing, reg.hardware, reg.models, rel_tol=TOL)


def test_scenario_a_api_cost_and_break_even(reg: Registry) -> None:
    light, moderate = _sa(reg, "light"), _sa(reg, "moderate")
    assert light.api_cost_monthly == pytest.approx(100)  # 10M × 10 SEK/M
    assert light.break_even is not None and light.break_even.month is None  # 100 − 100 electricity = 0
    assert light.savings_over_window == pytest.approx((100 - HW_MONTHLY) * 36)  # -40,000
    assert moderate.api_cost_monthly == pytest.approx(1000)
    assert moderate.break_even is not None and moderate.break_even.month == 45  # 40,000 ÷ 900 = 44.4
    assert not moderate.break_even.within_window
    assert moderate.exceeds_capacity is False
    assert light.break_even_tokens_per_month == pytest.approx(HW_MONTHLY / 10 * 1e6)  # 121.1M


def test_scenario_a_heavy_exceeds_capacity(reg: Registry) -> None:
    heavy = _sa(reg, "heavy")
    assert heavy.api_cost_monthly == pytest.approx(10000)
    # gpt-oss-120b on the M5 Max: 614 ÷ 5.605854776 (weights per component + KV) = 109.5 tok/s →
    # 283.9M output tokens/month < the 700M output tokens of 1B (70 % output)
    assert heavy.capacity_ceiling_tps == pytest.approx(614 / 5.605854776)
    assert heavy.capacity_tokens_per_month == pytest.approx(614 / 5.605854776 * 2_592_000)
    assert heavy.output_tokens_per_month == pytest.approx(700e6)
    assert heavy.exceeds_capacity is True
    assert heavy.monthly_saving is None and heavy.break_even is None and heavy.savings_over_window is None
    assert "capacity exceeded" in heavy.verdict and "no saving claimed" in heavy.verdict
    be = next(c for c in heavy.seed_checks if c.subject == "heavy: break-even")
    assert be.consistent is False
    assert "month 5" in be.explanation and "283.9M" in be.explanation


def test_scenario_a_seed_api_costs_imply_9_765(reg: Registry) -> None:
    for sid, claimed, derived in (("light", 98, 100), ("moderate", 977, 1000), ("heavy", 9765, 10000)):
        c = next(c for c in _sa(reg, sid).seed_checks if c.subject.endswith("API cost per month"))
        assert (c.claimed, c.derived, c.consistent) == (claimed, pytest.approx(derived), False), sid
    light = next(c for c in _sa(reg, "light").seed_checks if c.subject.endswith("API cost per month"))
    assert "implies 9.8 SEK/M" in light.explanation
    # "never breaks even" holds for light and moderate
    for sid in ("light", "moderate"):
        never = next(c for c in _sa(reg, sid).seed_checks if c.subject.endswith("break-even"))
        assert never.consistent is True, sid


def test_scenario_a_without_model_or_fit(reg: Registry) -> None:
    sa = next(s for s in reg.pricing.scenario_a if s.id == "heavy")
    unchecked = scenario_a(sa.model_copy(update={"model": None}), reg.pricing, reg.hardware, reg.models, rel_tol=TOL)
    assert unchecked.exceeds_capacity is None
    assert unchecked.monthly_saving == pytest.approx(10000)
    assert unchecked.break_even is not None and unchecked.break_even.month == 5  # 40,000 ÷ 9,900 = 4.04
    assert "capacity not checked" in unchecked.verdict
    small = sa.model_copy(update={"machine": "rtx-5090-pc", "tokens_per_month": 1e6})
    r = scenario_a(small, reg.pricing, reg.hardware, reg.models, rel_tol=TOL)
    assert r.model_fits is False and r.exceeds_capacity is True
    assert "does not fit" in r.verdict


def test_cost_report_collects_everything(reg: Registry) -> None:
    rep = cost_report(reg.pricing, reg.hardware, reg.models, rel_tol=TOL)
    assert [s.id for s in rep.scenario_a] == ["light", "moderate", "heavy"]
    assert len(rep.scenario_b) == 4
    sonnet = next(r for r in rep.api_break_even if r.api_id == "claude-sonnet")
    assert sonnet.break_even_tokens_per_month == pytest.approx(HW_MONTHLY / 119.7 * 1e6)  # ~10.1M
    inconsistent = sorted(c.subject for c in rep.seed_checks if c.consistent is False)
    assert inconsistent == sorted(
        [
            "light: API cost per month",
            "moderate: API cost per month",
            "heavy: API cost per month",
            "heavy: break-even",
            "four-users-max5x: break-even",
            "four-users-max5x: savings over 36 months",
            "electricity per month, mac-studio-m4-max-128",
            "the seed's electricity figures share one kWh price",
            "electricity saved over 36 months, mac-studio-m4-max-128 vs rtx-5090-pc",
        ]
    )


# --------------------------------------------------------------------------- CLI


def test_cli_cost_table(registry_copy: Path) -> None:
    result = CliRunner().invoke(cost, ["--registry", str(registry_copy)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.splitlines()[0] == (
        "Hardware mac-studio-m5-max-128 (estimated specs): 40,000 SEK ÷ 36 months = 1,111.11 + "
        "electricity 100 (flat, stated for this machine; computed would be 57.6) = 1,211.11 SEK/month"
    )
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert rows["two-users-max5x"].split() == [
        "two-users-max5x", "2", "max-5x", "->", "pro", "1,680", "1,211", "606", "month", "26", "16,880",
    ]  # fmt: skip
    assert "capacity exceeded" in rows["heavy"]
    assert "Seed claims: 22 checked, 9 inconsistent" in out
    assert "[INCONSISTENT] four-users-max5x: break-even" in out


def test_cli_cost_json_and_tolerance(registry_copy: Path) -> None:
    result = CliRunner().invoke(cost, ["--registry", str(registry_copy), "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    assert data["scenario_b"][1]["break_even"]["month"] == 26
    assert data["scenario_a"][2]["exceeds_capacity"] is True
    assert data["seed_checks"][0]["verdict"] == "INCONSISTENT"
    # a 3 % tolerance accepts the seed's 98/977/9,765 API costs (2.0-2.4 % off)
    loose = CliRunner().invoke(
        cost, ["--registry", str(registry_copy), "--json", "--tolerance", "0.03"], catch_exceptions=False
    )
    api = [c for c in json.loads(loose.output)["seed_checks"] if c["subject"].endswith("API cost per month")]
    assert [c["consistent"] for c in api] == [True, True, True]


def test_claim_tolerance_comes_from_policy(registry_copy: Path) -> None:
    """policy.yaml's claims.rel_tolerance is the default; --tolerance still overrides it."""
    policy = registry_copy / "policy.yaml"
    policy.write_text(policy.read_text().replace("rel_tolerance: 0.02", "rel_tolerance: 0.03"))

    def api_checks(*extra: str) -> list[bool]:
        result = CliRunner().invoke(cost, ["--registry", str(registry_copy), "--json", *extra], catch_exceptions=False)
        return [
            c["consistent"]
            for c in json.loads(result.output)["seed_checks"]
            if c["subject"].endswith("API cost per month")
        ]

    assert api_checks() == [True, True, True]
    assert api_checks("--tolerance", "0.02") == [False, False, False]

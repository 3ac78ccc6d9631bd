"""ROI arithmetic pinned to hand-worked values, the seed's figures, its inconsistency, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.analysis.roi import RoiResult, minutes_saved, roi_report, staff_hours, workload_roi
from generator.cli.planning import roi
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import RoiInputs
from tests.conftest import REPO

TOL = 0.02


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once; tests that write use ``registry_copy``."""
    return load_registry(REPO / "registry")


def result(reg: Registry, wid: str, rel_tol: float = TOL) -> RoiResult:
    r = workload_roi(reg.workloads[wid], rel_tol=rel_tol)
    assert r is not None
    return r


def checks(reg: Registry, wid: str, rel_tol: float = TOL) -> dict[str, bool | None]:
    return {c.subject.split(": ", 1)[1]: c.consistent for c in result(reg, wid, rel_tol).seed_checks}


# --------------------------------------------------------------------------- formulas


def test_minutes_saved_rules() -> None:
    after = RoiInputs(
        monthly_volume=9000, share_automated=1, minutes_before=11, minutes_after=6.5, loaded_hourly_rate=48
    )
    assert minutes_saved(after) == (4.5, "minutes_before − minutes_after")
    reduction = RoiInputs(
        monthly_volume=3200,
        share_automated=0.75,
        minutes_before=6,
        time_reduction=0.35,
        loaded_hourly_rate=42,
    )
    assert minutes_saved(reduction) == (pytest.approx(2.1), "minutes_before × time_reduction")
    # 3,200 × 0.75 × 6 × 0.35 ÷ 60 = 84 hours
    assert staff_hours(reduction) == pytest.approx(84)


def test_field_extraction(reg: Registry) -> None:
    r = result(reg, "field-extraction")
    # 18,000 × 0.70 × 75 s ÷ 3600 = 262.5 h; × $42 = $11,025; 18,000 × $0.018 = $324
    assert r.staff_hours_per_month == pytest.approx(18000 * 0.70 * 75 / 3600) == pytest.approx(262.5)
    assert r.staff_value_per_month == pytest.approx(11025)
    assert r.hosted_displaced_per_month == pytest.approx(324)
    assert r.net_per_month == pytest.approx(11025 + 324)
    assert r.net_per_quarter == pytest.approx(3 * 11349)
    assert r.currency == "USD"
    assert checks(reg, "field-extraction") == {
        "staff hours per month": True,  # "262"
        "staff value per month": True,  # "about 11,000 dollars"
        "hosted displaced per month": True,  # "about 324 dollars"
    }


def test_claim_summarization_rounded_hours_first(reg: Registry) -> None:
    r = result(reg, "claim-summarization")
    # 9,000 × 4.5 min × 0.5 ÷ 60 = 337.5 h; × $48 = $16,200; hosted 9,000 × $0.034 = $306
    assert r.minutes_saved_per_item == pytest.approx(4.5)
    assert r.staff_hours_per_month == pytest.approx(337.5)
    assert r.staff_value_per_month == pytest.approx(16200)
    assert r.hosted_displaced_per_month == pytest.approx(306)
    value = next(c for c in r.seed_checks if c.subject.endswith("staff value per month"))
    assert value.claimed == 16176 and value.consistent is True  # 337 × 48, within rounding
    assert "337 × 48 = 16,176" in value.explanation and "rounded the hours" in value.explanation
    # stated to the dollar, $16,176 is not $16,200 without a relative tolerance
    assert checks(reg, "claim-summarization", rel_tol=0.0)["staff value per month"] is False


def test_escalation_classification(reg: Registry) -> None:
    r = result(reg, "escalation-classification")
    # 40,000 × 0.55 × 35 s ÷ 3600 = 213.9 h; × $48 = $10,266.67; hosted 40,000 × $0.011 = $440
    assert r.staff_hours_per_month == pytest.approx(40000 * 0.55 * 35 / 3600, rel=1e-8)
    assert r.staff_value_per_month == pytest.approx(40000 * 0.55 * 35 / 3600 * 48, rel=1e-8)
    assert r.hosted_displaced_per_month == pytest.approx(440)
    assert checks(reg, "escalation-classification") == {
        "staff hours per month": True,  # "214"
        "staff value per month": True,  # "$10,272" = 214 × 48
    }
    value = next(c for c in r.seed_checks if c.subject.endswith("staff value per month"))
    assert "214 × 48 = 10,272" in value.explanation


def test_timeline_summarization_inconsistent(reg: Registry) -> None:
    r = result(reg, "timeline-summarization")
    assert r.staff_hours_per_month == pytest.approx(84)  # not the seed's 420
    assert r.staff_value_per_month == pytest.approx(84 * 42)  # $3,528, not $17,600
    assert r.hosted_displaced_per_month == 0
    by = {c.subject.split(": ", 1)[1]: c for c in r.seed_checks}
    hours = by["staff hours per month"]
    assert (hours.claimed, hours.consistent) == (420, False)
    value = by["staff value per month"]
    assert (value.claimed, value.consistent) == (17600, False)
    assert "420 × 42 = 17,640" in value.explanation and "does not follow" in value.explanation


def test_local_cost_and_unknown_claims(reg: Registry) -> None:
    w = reg.workloads["field-extraction"]
    assert w.roi is not None
    roi_in = w.roi.model_copy(update={"monthly_local_cost": 1000, "seed_claims": {"payback_weeks": "3"}})
    r = workload_roi(w.model_copy(update={"roi": roi_in}), rel_tol=TOL)
    assert r is not None
    assert r.net_per_month == pytest.approx(11025 + 324 - 1000)
    assert r.net_per_quarter == pytest.approx(3 * 10349)
    assert [c.consistent for c in r.seed_checks] == [None]
    assert "No derived figure" in r.seed_checks[0].explanation


def test_report_skips_workloads_without_roi(reg: Registry) -> None:
    assert workload_roi(reg.workloads["handoff-drafting"], rel_tol=TOL) is None
    ids = [r.workload_id for r in roi_report(reg.workloads_file.workloads, rel_tol=TOL)]
    assert ids == [w.id for w in reg.workloads_file.workloads if w.roi is not None]


# --------------------------------------------------------------------------- CLI


def test_cli_roi_table(registry_copy: Path) -> None:
    res = CliRunner().invoke(roi, ["--registry", str(registry_copy)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line.split() for line in res.output.splitlines() if line.split()}
    assert res.output.splitlines()[:2] == [
        "Measured return per month, SEK (ranges from the acceptance 95 % interval)",
        "no candidate measured on these workloads yet (opsbench run)",
    ]
    assert rows["field-extraction"] == ["field-extraction", "1.25", "262.5", "11,025", "324", "USD"]
    assert rows["timeline-summarization"][2:4] == ["84", "3,528"]
    assert "Seed claims: 9 checked, 2 inconsistent" in res.output
    assert "[INCONSISTENT] timeline-summarization: staff hours per month" in res.output


def test_cli_roi_json_and_filter(registry_copy: Path) -> None:
    res = CliRunner().invoke(
        roi,
        ["--registry", str(registry_copy), "--workload", "claim-summarization", "--json"],
        catch_exceptions=False,
    )
    data = json.loads(res.output)
    assert [w["workload_id"] for w in data["workloads"]] == ["claim-summarization"]
    assert data["workloads"][0]["staff_hours_per_month"] == pytest.approx(337.5)
    assert [c["verdict"] for c in data["seed_checks"]] == ["consistent", "consistent"]
    bad = CliRunner().invoke(roi, ["--registry", str(registry_copy), "--workload", "nope"])
    assert bad.exit_code == 2 and "unknown workload" in bad.output

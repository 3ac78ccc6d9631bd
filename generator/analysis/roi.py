"""Staff-time and hosted-spend arithmetic of a workload's ``roi`` inputs.

Pure: a registry record in, a typed result out, every input and intermediate
figure kept so a page can show its working.

* minutes saved per item = minutes_before − minutes_after, or minutes_before × time_reduction
* staff hours per month = volume × share_automated × minutes saved × survival_factor ÷ 60
* staff value per month = hours × loaded_hourly_rate
* hosted spend displaced = volume × local_share × hosted_cost_per_item
* net per month = value + displaced − monthly_local_cost; net per quarter = 3 × net per month

Each figure the seed states (``seed_claims``) is parsed and compared with the
derived one; see :mod:`generator.analysis.seedcheck` for the tolerance.

The same economics read from the measurements instead live in :mod:`generator.analysis.economics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator.analysis.seedcheck import (
    ParsedNumber,
    SeedCheck,
    agrees,
    check_seed_claim,
    fmt_num,
    parse_number,
)
from generator.registry.schema import RoiInputs, Workload

MONTHS_PER_QUARTER = 3


@dataclass
class RoiResult:
    workload_id: str
    title: str
    source: str
    currency: str
    inputs: dict[str, Any]
    minutes_saved_per_item: float
    minutes_saved_rule: str
    items_automated: float
    staff_hours_per_month: float
    staff_value_per_month: float
    items_local: float
    hosted_displaced_per_month: float
    monthly_local_cost: float
    net_per_month: float
    net_per_quarter: float
    seed_checks: list[SeedCheck] = field(default_factory=list)


def minutes_saved(roi: RoiInputs) -> tuple[float, str]:
    """Minutes saved per automated item and the rule that gave it."""
    if roi.minutes_after is not None:
        return roi.minutes_before - roi.minutes_after, "minutes_before − minutes_after"
    assert roi.time_reduction is not None
    return roi.minutes_before * roi.time_reduction, "minutes_before × time_reduction"


def staff_hours(roi: RoiInputs) -> float:
    """volume × share_automated × minutes saved × survival_factor ÷ 60."""
    saved, _ = minutes_saved(roi)
    return roi.monthly_volume * roi.share_automated * saved * roi.survival_factor / 60


def _formulas(roi: RoiInputs, saved: float, rule: str, hours: float) -> dict[str, str]:
    saved_text = (
        f"({fmt_num(roi.minutes_before, 4)} − {fmt_num(roi.minutes_after or 0, 4)} min)"
        if rule.endswith("minutes_after")
        else f"{fmt_num(roi.minutes_before, 4)} min × {fmt_num(roi.time_reduction or 0, 4)}"
    )
    hours_f = (
        f"{fmt_num(roi.monthly_volume)} × {fmt_num(roi.share_automated, 4)} × {saved_text} × "
        f"{fmt_num(roi.survival_factor, 4)} ÷ 60"
    )
    return {
        "staff_hours_per_month": hours_f,
        "staff_value_per_month": f"{fmt_num(hours)} h × {fmt_num(roi.loaded_hourly_rate)}",
        "hosted_displaced_per_month": (
            f"{fmt_num(roi.monthly_volume)} × {fmt_num(roi.local_share, 4)} × {fmt_num(roi.hosted_cost_per_item, 4)}"
        ),
        "net_per_month": "staff value + hosted displaced − monthly local cost",
        "net_per_quarter": f"{MONTHS_PER_QUARTER} × net per month",
    }


UNITS = {
    "staff_hours_per_month": "hours",
    "staff_value_per_month": "{cur}",
    "hosted_displaced_per_month": "{cur}",
    "net_per_month": "{cur}",
    "net_per_quarter": "{cur}",
}


def workload_roi(workload: Workload, *, rel_tol: float) -> RoiResult | None:
    """The ROI arithmetic of one workload, with its seed claims checked; None without ``roi``."""
    roi = workload.roi
    if roi is None:
        return None
    saved, rule = minutes_saved(roi)
    hours = staff_hours(roi)
    value = hours * roi.loaded_hourly_rate
    items_local = roi.monthly_volume * roi.local_share
    displaced = items_local * roi.hosted_cost_per_item
    net = value + displaced - roi.monthly_local_cost
    derived = {
        "staff_hours_per_month": hours,
        "staff_value_per_month": value,
        "hosted_displaced_per_month": displaced,
        "net_per_month": net,
        "net_per_quarter": net * MONTHS_PER_QUARTER,
    }
    formulas = _formulas(roi, saved, rule, hours)
    inputs = roi.model_dump(exclude={"seed_claims"})
    source = f"workloads.yaml {workload.id!r} roi.seed_claims ({workload.source})"

    checks: list[SeedCheck] = []
    claimed_hours = parse_number(roi.seed_claims.get("staff_hours_per_month", ""))
    for key, text in roi.seed_claims.items():
        unit = UNITS.get(key, "").format(cur=roi.currency)
        if key not in derived:
            checks.append(
                check_seed_claim(
                    f"{workload.id}: {key}",
                    text,
                    None,
                    unit=unit,
                    formula="",
                    inputs=inputs,
                    rel_tol=rel_tol,
                    source=source,
                    note=f"No derived figure is named {key!r}; known: {', '.join(derived)}.",
                )
            )
            continue
        note = ""
        if key == "staff_value_per_month" and claimed_hours is not None:
            note = _value_from_claimed_hours(text, claimed_hours, hours, roi, rel_tol)
        checks.append(
            check_seed_claim(
                f"{workload.id}: {key.replace('_', ' ')}",
                text,
                derived[key],
                unit=unit,
                formula=formulas[key],
                inputs=inputs,
                rel_tol=rel_tol,
                source=source,
                note=note,
            )
        )
    return RoiResult(
        workload_id=workload.id,
        title=workload.title,
        source=workload.source,
        currency=roi.currency,
        inputs=inputs,
        minutes_saved_per_item=saved,
        minutes_saved_rule=rule,
        items_automated=roi.monthly_volume * roi.share_automated,
        staff_hours_per_month=hours,
        staff_value_per_month=value,
        items_local=items_local,
        hosted_displaced_per_month=displaced,
        monthly_local_cost=roi.monthly_local_cost,
        net_per_month=net,
        net_per_quarter=net * MONTHS_PER_QUARTER,
        seed_checks=checks,
    )


def _value_from_claimed_hours(
    text: str, claimed_hours: ParsedNumber, hours: float, roi: RoiInputs, rel_tol: float
) -> str:
    """Say whether the seed's value is its own hours figure × the rate (e.g. rounded hours first)."""
    claimed_value = parse_number(text)
    if claimed_value is None:
        return ""
    product = claimed_hours.value * roi.loaded_hourly_rate
    if not agrees(claimed_value, product, rel_tol):
        return ""
    rate = fmt_num(roi.loaded_hourly_rate)
    same = f"The seed's value is its own hours figure × the rate ({fmt_num(claimed_hours.value)} × {rate} = "
    same += f"{fmt_num(product)})"
    if agrees(claimed_hours, hours, 0.0):
        return f"{same}: it rounded the hours ({fmt_num(hours)}) first, so the two agree within rounding."
    return f"{same}, but that hours figure does not follow from the inputs ({fmt_num(hours)} h)."


def roi_report(workloads: Iterable[Workload], *, rel_tol: float) -> list[RoiResult]:
    """Every workload that states ``roi`` inputs, in registry order."""
    out = []
    for w in workloads:
        r = workload_roi(w, rel_tol=rel_tol)
        if r is not None:
            out.append(r)
    return out

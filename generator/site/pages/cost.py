"""Cost: Scenario A (API displacement) and B (subscription downgrade), break-even, capacity caveat."""

from __future__ import annotations

import pandas as pd

from generator.site.charts import cumulative_cost
from generator.site.html import fmt_num
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "cost.md"


def _money(x: float | None, cur: str) -> str:
    return "—" if x is None else f"{x:,.0f} {cur}"


def cost_page(data: SiteData, plan: SitePlan) -> str:
    rep = data.cost
    cur = rep.currency
    out = [
        "# Cost",
        "",
        f"Hardware is amortized over {rep.amortization_months} months plus electricity; API volumes split "
        f"{rep.input_share:.0%} input / {1 - rep.input_share:.0%} output tokens. Break-even is the first month "
        "whose cumulative saving covers the hardware price. Prices and scenarios: `registry/pricing.yaml`. "
        f"Every figure is in {cur}: prices quoted in another currency are converted at the rates in "
        "`registry/pricing.yaml` (`fx_to_currency`).",
        "",
    ]
    kept = sorted({d.model_id for ds in data.decisions.values() for d in ds if d.finding == "keep"})
    if kept:
        out += [f"Candidates that pass a workload's gates: {', '.join(kept)}. Other rows are potential.", ""]
    else:
        out += [
            '<p class="opsbench-note"><strong>Potential, if a candidate passes:</strong> no candidate passes '
            "its workload's gates yet, so every saving and break-even below is what the named machine and "
            "model would save once a model on it passes; none is a measured saving.</p>",
            "",
        ]
    out += [
        "## Scenario A: pay-per-token API displacement",
        "",
        "**Capacity caveat:** a machine can only displace the tokens it can generate, and it generates "
        f"only the output tokens ({1 - rep.input_share:.0%} of the volume). When they exceed what the named "
        "model can produce 24/7 on the machine at its calibrated ceiling (the theoretical one, said so, "
        "where no measurement calibrates it), no saving is claimed.",
        "",
    ]
    rows = []
    for a in rep.scenario_a:
        rows.append(
            [
                a.label,
                f"{a.tokens_per_month / 1e6:,.0f}M",
                f"{a.output_tokens_per_month / 1e6:,.0f}M",
                f"{a.price.blended_per_mtok:,.2f} {cur}/M",
                _money(a.api_cost_monthly, cur),
                _money(a.hardware.total_monthly, cur),
                "—" if a.capacity_tokens_per_month is None else f"{a.capacity_tokens_per_month / 1e6:,.0f}M",
                ("EXCEEDS" if a.exceeds_capacity else ("ok" if a.exceeds_capacity is False else "not checked"))
                + f" ({a.capacity_basis})",
                a.break_even.text if a.break_even else "—",
                _money(a.savings_over_window, cur),
                a.verdict,
            ]
        )
    out += [
        plan.table(
            PAGE,
            "scenario-a",
            [
                "Scenario",
                "Tokens/month",
                "Output tokens/month",
                "Blended API price",
                "API cost/month",
                "Hardware/month",
                "Machine output capacity/month",
                "Capacity",
                "Break-even",
                f"Saving over {rep.amortization_months} months",
                "Verdict",
            ],
            rows,
        ),
        "",
    ]
    out += ["## Scenario B: subscription downgrade", ""]
    rows = []
    for b in rep.scenario_b:
        rows.append(
            [
                b.label,
                b.users,
                _money(b.saving_per_user, cur),
                _money(b.monthly_saving, cur),
                _money(b.hardware.total_monthly, cur),
                _money(b.hardware_per_user_monthly, cur),
                b.break_even.text,
                _money(b.savings_over_window, cur),
                b.verdict,
            ]
        )
    out += [
        plan.table(
            PAGE,
            "scenario-b",
            [
                "Scenario",
                "Users",
                "Saving/user/month",
                "Saving/month",
                "Hardware/month",
                "Hardware/user/month",
                "Break-even",
                f"Saving over {rep.amortization_months} months",
                "Verdict",
            ],
            rows,
        ),
        "",
    ]
    for b in rep.scenario_b:
        months = range(0, rep.amortization_months + 1)
        hw = b.hardware
        series = pd.DataFrame(
            [{"month": m, "path": "keep the subscriptions", "cumulative": b.monthly_saving * m} for m in months]
            + [
                {
                    "month": m,
                    "path": "buy the hardware",
                    "cumulative": hw.price + (hw.total_monthly - hw.amortized_monthly) * m,
                }
                for m in months
            ]
        )
        out += [
            plan.chart(PAGE, cumulative_cost(series, f"cumulative-{b.id}", f"{b.label}: cumulative cost")),
            "",
        ]
    out += [
        "The chart compares what the subscriptions being dropped would cost with the hardware price plus "
        "its running cost; the lines cross at break-even.",
        "",
    ]
    checks = [c for a in rep.scenario_a for c in a.seed_checks] + [c for b in rep.scenario_b for c in b.seed_checks]
    checks += rep.electricity_checks
    if checks:
        out += ["## The seed site's figures, recomputed", ""]
        out += [
            plan.table(
                PAGE,
                "seed-checks",
                ["Subject", "Seed says", "Formula gives", "Verdict", "Why"],
                [[c.subject, c.claim, fmt_num(c.derived), c.verdict, c.explanation] for c in checks],
            ),
            "",
        ]
    out += [
        "Not in the model: setup and maintenance time, waiting for slower local answers, the value of "
        "privacy, resale value, and future subscription price changes.",
        "",
    ]
    return "\n".join(out)

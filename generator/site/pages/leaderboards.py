"""Leaderboards: overall and per role / workload / suite, with error bars and two charts."""

from __future__ import annotations

from generator.analysis.leaderboard import cost_column, leaderboard
from generator.site.charts import acceptance_vs_latency, quality_vs_cost
from generator.site.pages.common import board_table
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "leaderboard.md"


def leaderboard_page(data: SiteData, plan: SitePlan) -> str:
    reg, df = data.reg, data.df
    out = ["# Leaderboard", ""]
    if df.empty:
        return "\n".join([*out, "No runs yet.", ""])
    overall = cost_column(leaderboard(df), df)
    out += [
        "Acceptance is the share of cases whose every check passed (repeats of a case are averaged "
        "first, so the case is the unit); the bracket is its 95 % Wilson interval, and two models whose "
        "intervals overlap are not shown to differ here (the role pages run the paired test). Weighted "
        "score counts accepted cases by severity weight out of the total (the *452/600* style). Latency "
        "figures exclude each model's cold-start request. Cost per task is the hosted price of the "
        "tokens, or the energy of the request on the run's machine; — when neither is known. "
        "Click a column header to sort.",
        "",
        "## Overall",
        "",
        board_table(plan, reg, PAGE, "overall", overall),
        "",
        plan.chart(PAGE, acceptance_vs_latency(overall)),
        "",
    ]
    if overall["cost_per_task"].notna().any():
        out += [plan.chart(PAGE, quality_vs_cost(overall)), ""]
    else:
        out += [
            "*Quality vs cost: no run states its machine (`--machine`) and no paid model ran, "
            "so no cost per task is known yet.*",
            "",
        ]
    for by, title in (("role", "By role"), ("workload", "By workload"), ("suite", "By suite")):
        board = cost_column(leaderboard(df, [by]), df, [by])
        if board.empty:
            continue
        out += [f"## {title}", "", board_table(plan, reg, PAGE, f"by-{by}", board, [by]), ""]
    return "\n".join(out)

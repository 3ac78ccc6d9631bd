"""Compare two models: one static page per registry pair that shares measured cases, and a
picker. The figures come from ``generator.analysis.cases.compare_pair``; this only renders."""

from __future__ import annotations

import pandas as pd

from generator.analysis.cases import PairComparison
from generator.site.html import Cell, esc, fmt_num
from generator.site.pages.cases import links
from generator.site.pages.common import model_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel
from generator.site.templates import Markup, render

INDEX = "compare/index.md"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def _costs(data: SiteData) -> dict[str, float]:
    """Model -> its cost per task on the leaderboard (all cases), where the board has one."""

    def compute() -> dict[str, float]:
        board = data.board()
        if board.empty or "cost_per_task" not in board:
            return {}
        first: dict[str, float] = {}
        priced: set[str] = set()
        for m, k in zip(board["model_id"].tolist(), board["cost_per_task"].tolist(), strict=True):
            first.setdefault(m, k)
            if pd.notna(k):
                priced.add(m)
        return {m: float(k) for m, k in first.items() if m in priced}

    return data.once("compare_costs", compute)


def compare_page(data: SiteData, plan: SitePlan, page: str, c: PairComparison) -> tuple[str, str]:
    """One pair's comparison on their shared cases (title, HTML body)."""
    reg = data.reg
    p = c.paired
    figures = plan.table(
        page,
        "paired",
        [
            "Shared cases",
            f"{c.a} acceptance",
            f"{c.b} acceptance",
            "Difference (B − A) [95 % CI]",
            "p-value",
            "Cases B better",
            "Cases A better",
            "Test",
        ],
        [
            [
                p.n,
                Cell(_pct(p.mean_a), plain={"rate": p.mean_a, "n": p.n}),
                Cell(_pct(p.mean_b), plain={"rate": p.mean_b, "n": p.n}),
                Cell(
                    f"{fmt_num(p.diff, 3)} [{fmt_num(p.ci_low, 3)}, {fmt_num(p.ci_high, 3)}]",
                    sort=p.diff,
                    plain={"value": p.diff, "ci_low": p.ci_low, "ci_high": p.ci_high, "n": p.n},
                ),
                Cell(fmt_num(p.p_value, 4), plain=p.p_value),
                p.b_better,
                p.a_better,
                p.method,
            ]
        ],
        sortable=False,
    )

    link = links(data, plan)
    cap = reg.policy.scoring.compare_cases_shown
    grid = [
        {
            "label": label,
            "n": len(cases),
            # One pre-escaped list per group (hundreds of pages × up to ``cap`` links each).
            "cases": Markup(" · ".join(link.case_html(page, case) for case in cases[:cap])),
            "more": max(0, len(cases) - cap),
        }
        for label, cases in (
            ("Both pass", c.both),
            (f"Only {c.a} passes", c.only_a),
            (f"Only {c.b} passes", c.only_b),
            ("Neither passes", c.neither),
        )
    ]
    currency = reg.pricing.currency
    costs = _costs(data)

    side_rows = []
    for model, lat, tok in ((c.a, c.latency_a, c.tokens_a), (c.b, c.latency_b, c.tokens_b)):
        k = costs.get(model)
        side_rows.append(
            [
                link.model(page, model),
                Cell(fmt_num(lat), plain=lat),
                Cell(fmt_num(tok, 0), plain=tok),
                Cell("—" if k is None else f"{k:.6f} {currency}", plain={"value": k, "currency": currency}),
            ]
        )
    side = plan.table(
        page,
        "latency-cost",
        ["Model", "Latency p50 on shared cases (s)", "Output tokens (mean)", "Cost per task (all cases)"],
        side_rows,
        sortable=False,
    )
    return f"{c.a} vs {c.b}", render(
        "compare.html.j2",
        a=c.a,
        b=c.b,
        n=p.n,
        method=p.method,
        figures=Markup(figures),
        grid=grid,
        side=Markup(side),
        case_lists=Markup(
            " · ".join(
                f'<a href="{esc(rel(page, plan.model_case_pages[m]))}">{esc(m)}</a>'
                for m in (c.a, c.b)
                if m in plan.model_case_pages
            )
            or "none"
        ),
    )


def compare_index(data: SiteData, plan: SitePlan, pairs: list[tuple[str, str, int, str]]) -> str:
    out = ["# Compare two models", ""]
    if not pairs:
        return "\n".join([*out, "No two registry models share a measured case yet.", ""])
    out += [
        "Pick a pair: each page compares the two models on the cases both ran, with the paired "
        "difference and its interval, a per-case agreement grid, and latency and cost side by side.",
        "",
    ]
    rows = [
        [
            Cell(f'<a href="{esc(rel(INDEX, target))}">{esc(a)} vs {esc(b)}</a>', plain=f"{a} vs {b}"),
            model_link(data.reg, INDEX, a),
            model_link(data.reg, INDEX, b),
            n,
        ]
        for a, b, n, target in pairs
    ]
    out += [plan.table(INDEX, "pairs", ["Compare", "Model A", "Model B", "Shared cases"], rows), ""]
    return "\n".join(out)

"""Leaderboards: overall and per role / workload / suite, with error bars and two charts."""

from __future__ import annotations

import pandas as pd

from generator.site.charts import acceptance_vs_latency, quality_vs_cost
from generator.site.html import fmt_num
from generator.site.pages.caselists import runs_cell
from generator.site.pages.common import board_table
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "leaderboard.md"


def leaderboard_page(data: SiteData, plan: SitePlan) -> str:
    df = data.df
    out = ["# Leaderboard", ""]
    if df.empty:
        return "\n".join([*out, "No runs yet.", ""])
    overall = data.board()
    overall = overall.assign(sources=overall["model_id"].map(_sources(data)))
    out += [
        "Acceptance is the share of cases whose every check passed (repeats of a case are averaged "
        "first, so the case is the unit); the bracket is its 95 % Wilson interval, and two models whose "
        "intervals overlap are not shown to differ here (the role pages run the paired test). Weighted "
        "score counts accepted cases by severity weight out of the total (the *452/600* style). Latency and "
        "tokens/s are taken at each model's lowest load level (one request in flight, as a rule; each "
        "model's page shows every level) and exclude its cold-start requests. Cost per task is the hosted price of the "
        "tokens, or the energy of the request on the run's machine; — when neither is known. "
        "Click a column header to sort.",
        "",
        "## Overall",
        "",
        board_table(plan, data, PAGE, "overall", overall, ["sources"]),
        "",
        plan.chart(PAGE, acceptance_vs_latency(overall)),
        "",
    ]
    if overall["cost_per_task"].notna().any():
        out += [plan.chart(PAGE, quality_vs_cost(overall, currency=data.reg.pricing.currency)), ""]
    else:
        out += [
            "*Quality vs cost: no run states its machine (`--machine`) and no paid model ran, "
            "so no cost per task is known yet.*",
            "",
        ]
    for by, title in (("role", "By role"), ("workload", "By workload"), ("suite", "By suite")):
        board = data.board([by])
        if board.empty:
            continue
        out += [f"## {title}", "", board_table(plan, data, PAGE, f"by-{by}", board, [by]), ""]
    out += ingested_summaries(data, plan, PAGE)
    return "\n".join(out)


def _sources(data: SiteData) -> dict[str, str]:
    """Model → where its per-case results come from: this bench, or the ingested files."""
    label = {}
    for m in data.manifests:
        if m.origin == "executed":
            label[m.run_id] = "executed here"
        else:
            src = m.source or {}
            label[m.run_id] = f"ingested from {src.get('format', '?')} ({src.get('file_name', '?')})"
    pairs = data.df[["model_id", "run_id"]].drop_duplicates()
    out: dict[str, str] = {}
    for model, g in pairs.groupby("model_id"):
        out[model] = "; ".join(sorted({label.get(r, r) for r in g["run_id"]}))
    return out


def ingested_summaries(data: SiteData, plan: SitePlan, page: str, model_id: str | None = None) -> list[str]:
    """Aggregates from other harnesses (only totals): shown as they are, with an interval when counts exist."""
    s = data.summaries
    if model_id is not None:
        s = s[s["model_id"] == model_id]
    if s.empty:
        return []
    out = [
        "## Ingested aggregates",
        "",
        "Totals that other harnesses report (no per-case rows exist for these). Where the source gives "
        "counts, the rate carries a 95 % Wilson interval; otherwise its own standard error is shown. "
        "*External* models matched no registry alias and are kept under their source name.",
        "",
    ]
    rows = []
    for r in s.itertuples():
        name = f"{r.model_id} (external)" if r.external else r.model_id
        ci = "—" if pd.isna(r.rate_low) else f"[{r.rate_low:.1%}, {r.rate_high:.1%}]"
        counts = "—" if pd.isna(r.trials) else f"{r.successes:g}/{int(r.trials)}"
        rows.append(
            [
                name,
                r.source,
                r.task,
                r.metric,
                fmt_num(r.value, 4),
                counts,
                ci,
                fmt_num(r.stderr, 4),
                fmt_num(r.seconds_per_case, 1),
                runs_cell(page, [str(r.run_id)]),
            ]
        )
    slug = "ingested" if model_id is None else "ingested-aggregates"
    out += [
        plan.table(
            page,
            slug,
            [
                "Model",
                "Ingested from",
                "Task",
                "Metric",
                "Value",
                "Successes/trials",
                "95 % CI",
                "Stderr",
                "Seconds per case",
                "Runs",
            ],
            rows,
            max_rows=300,
        ),
        "",
    ]
    return out

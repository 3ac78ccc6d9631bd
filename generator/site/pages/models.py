"""The model index and one page per model: facts, results, load levels, cold start, failures."""

from __future__ import annotations

import pandas as pd

from generator.analysis.leaderboard import cold_start_penalty, load_levels
from generator.site.charts import latency_under_load
from generator.site.html import Cell, esc, esc_md, fmt_num
from generator.site.pages.common import (
    architecture_label,
    board_table,
    fmt_secs,
    ingested_perf,
    inline_md,
    provider_label,
    run_command,
)
from generator.site.pages.context import SiteData
from generator.site.pages.leaderboards import ingested_summaries
from generator.site.plan import SitePlan, rel


def models_index(data: SiteData, plan: SitePlan) -> str:
    page = "models/index.md"
    reg, df = data.reg, data.df
    counts = df.groupby("model_id")["case_id"].nunique().to_dict() if not df.empty else {}
    out = ["# Models", "", "Every model in the registry. A model that was never run says so.", ""]
    rows = []
    for m in reg.models_file.models:
        rows.append(
            [
                Cell(
                    f'<a href="{esc(rel(page, f"models/{m.id}.md"))}">{esc(m.display_name)}</a>',
                    plain=m.display_name,
                ),
                m.id,
                m.family,
                provider_label(m.provider),
                m.quantization or "—",
                fmt_num(m.params_active_b, 2) if m.params_active_b else "—",
                m.cost_tier,
                f"{counts[m.id]} cases" if m.id in counts else "no runs yet",
            ]
        )
    out += [
        plan.table(
            page,
            "models",
            [
                "Model",
                "Id",
                "Family",
                "Provider",
                "Quantization",
                "Active params (B)",
                "Cost tier",
                "Results",
            ],
            rows,
        ),
        "",
    ]
    external = sorted(set(df["model_id"]) - set(reg.models)) if not df.empty else []
    if external:
        out += [
            "## External models",
            "",
            "Names from ingested files that match no registry alias; kept under their source name.",
            "",
        ]
        out += [
            plan.table(page, "external", ["Name", "Cases"], [[e, counts.get(e, 0)] for e in external]),
            "",
        ]
    return "\n".join(out)


def _rows_of(frame: pd.DataFrame, model_id: str) -> pd.DataFrame:
    """One model's rows of a per-model table computed once over every result."""
    return frame[frame["model_id"] == model_id].reset_index(drop=True)


def model_page(data: SiteData, plan: SitePlan, model_id: str) -> str:
    reg, df = data.reg, data.df
    m = reg.models[model_id]
    page = f"models/{model_id}.md"
    facts = [
        ["Id", m.id],
        ["Family", m.family],
        ["Provider", provider_label(m.provider)],
        ["Served as", m.request_name],
        ["Endpoint", m.base_url or "in-process"],
        ["Quantization", m.quantization or "—"],
        ["Architecture", architecture_label(m)],
        ["Total parameters (B)", m.params_total_b or "—"],
        ["Active parameters (B)", m.params_active_b or "—"],
        ["Bits per weight", m.bits_per_weight or "—"],
        ["Context window", f"{m.context_window:,}"],
        ["Cost tier", m.cost_tier],
        [
            "Price in / out per M tokens",
            f"{m.price_input_per_mtok} / {m.price_output_per_mtok} {m.currency}" if m.cost_tier == "paid" else "—",
        ],
        ["Source", m.source or "—"],
        ["Notes", inline_md(m.notes)],
    ]
    out = [
        f"# {esc_md(m.display_name)}",
        "",
        plan.table(page, "facts", ["Fact", "Value"], facts, sortable=False),
        "",
    ]
    extra = ingested_summaries(data, plan, page, model_id) + ingested_perf(data, plan, page, model_id)
    if model_id not in data.measured("model_id"):
        if not extra:
            out += [
                "## Results",
                "",
                "No runs yet. To measure it on the suites of the workloads it is a candidate for:",
                "",
                f'<pre><code class="language-shell">{esc(run_command(reg, model_id))}</code></pre>',
                "",
            ]
        return "\n".join(out + extra)
    out += extra
    for by in ("role", "workload"):
        board = data.board_of("model_id", model_id, [by])
        out += [f"## Results by {by}", "", board_table(plan, reg, page, f"by-{by}", board, [by]), ""]
    levels = _rows_of(data.once("load_levels", lambda: load_levels(df)), model_id)
    out += [
        "## Under load",
        "",
        "Each load level is its own measurement: N requests in flight at once (`--concurrency`/`--sweep`). "
        "Quality on the leaderboard is read at each case's lowest level; here, acceptance at each level is set "
        "beside the same cases' quality reading, so a drop under load shows as degradation, never as an average.",
        "",
    ]
    out += [
        plan.table(
            page,
            "load-levels",
            [
                "Requests in flight",
                "Requests",
                "Hard failures",
                "Acceptance here",
                "Same cases at quality level",
                "TTFT p50 (s)",
                "Latency p50 (s)",
                "Latency p95 (s)",
                "Output tok/s",
            ],
            [
                [
                    int(r.concurrency),
                    r.requests,
                    fmt_num(r.hard_failure_rate, pct=True),
                    fmt_num(r.acceptance, pct=True),
                    fmt_num(r.quality_acceptance, pct=True),
                    fmt_num(r.ttft_p50_s, 3),
                    fmt_secs(r.latency_p50_s),
                    fmt_secs(r.latency_p95_s),
                    fmt_num(r.output_tps_p50, 1),
                ]
                for r in levels.itertuples()
            ],
        ),
        "",
    ]
    if len(levels) > 1:
        out += [plan.chart(page, latency_under_load(levels, f"load-{model_id}")), ""]
    cold = _rows_of(data.once("cold_start_penalty", lambda: cold_start_penalty(df)), model_id)
    out += ["## Cold start", ""]
    if cold.empty or cold["cold_requests"].iloc[0] == 0:
        out += ["No cold request recorded.", ""]
    else:
        c = cold.iloc[0]
        out += [
            f"The first request after each load (median over {int(c.cold_requests)} cold request(s)) "
            f"reached its first token in {fmt_num(c.cold_ttft_s, 3)} s against a warm median of "
            f"{fmt_num(c.warm_ttft_p50_s, 3)} s at the same load level: a cold-start penalty of "
            f"**{fmt_num(c.ttft_penalty_s, 3)} s**. End to end it took {fmt_num(c.cold_e2e_s)} s against "
            f"{fmt_num(c.warm_p50_s)} s ({fmt_num(c.penalty_s)} s), a gap that also carries how long "
            "that case's answer was. The model's load time itself is in each run's manifest.",
            "",
        ]
    kinds = data.once("failure_kinds", lambda: df.loc[df["status"] == "failed", ["model_id", "failure_kind"]])
    fails = kinds.loc[kinds["model_id"] == model_id, "failure_kind"].fillna("unknown").value_counts()
    out += ["## Hard failures by kind", ""]
    if len(fails):
        out += [plan.table(page, "failures", ["Kind", "Count"], [[k, int(v)] for k, v in fails.items()]), ""]
    else:
        out += ["None.", ""]
    return "\n".join(out)

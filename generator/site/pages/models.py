"""The model index and one page per model: facts, results, load levels, cold start, failures."""

from __future__ import annotations

import pandas as pd

from generator.analysis.leaderboard import cold_start_penalty, load_levels
from generator.site.charts import latency_under_load
from generator.site.html import Cell, esc, esc_md, fmt_num
from generator.site.pages.caselists import runs_cell, runs_line, runs_of
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
    external = sorted(data.measured("model_id") - set(reg.models))
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


def _cold_runs(data: SiteData) -> dict[str, list[str]]:
    """Model → the runs that recorded a cold-start request (what the cold-start figures read)."""

    def compute() -> dict[str, list[str]]:
        df = data.df
        if df.empty or "cold_start" not in df:
            return {}
        cold = df.loc[df["cold_start"].fillna(False).astype(bool), ["model_id", "run_id"]].astype(str)
        return {m: sorted(set(g)) for m, g in cold.groupby("model_id")["run_id"]}

    return data.once("cold_runs", compute)


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
    out += [runs_line(data, plan, page, model_id), ""]
    out += extra
    for by in ("role", "workload"):
        board = data.board_of("model_id", model_id, [by])
        out += [f"## Results by {by}", "", board_table(plan, data, page, f"by-{by}", board, [by]), ""]
    levels = _rows_of(data.once("load_levels", lambda: load_levels(df)), model_id)
    level_runs = {(m, int(float(c))): runs for (m, c), runs in runs_of(data, ["model_id", "concurrency"]).items()}
    cases_page = plan.model_case_pages.get(model_id)
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
                "Runs",
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
                    runs_cell(page, level_runs.get((model_id, int(r.concurrency)), []), cases_page),
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
        cold_runs = runs_cell(page, _cold_runs(data).get(model_id, []), cases_page)
        if isinstance(cold_runs, Cell):
            out += [f'<p class="opsbench-note">Runs with a cold request: {cold_runs.html}</p>', ""]
    kinds = data.once(
        ("failure_kinds", "run_id"), lambda: df.loc[df["status"] == "failed", ["model_id", "failure_kind", "run_id"]]
    )
    mine = kinds[kinds["model_id"] == model_id].assign(failure_kind=lambda k: k["failure_kind"].fillna("unknown"))
    fails = mine["failure_kind"].value_counts()
    out += ["## Hard failures by kind", ""]
    if len(fails):
        fail_runs = {k: sorted(set(g.astype(str))) for k, g in mine.groupby("failure_kind")["run_id"]}
        rows = [[k, int(v), runs_cell(page, fail_runs.get(k, []), cases_page)] for k, v in fails.items()]
        out += [plan.table(page, "failures", ["Kind", "Count", "Runs"], rows), ""]
    else:
        out += ["None.", ""]
    return "\n".join(out)

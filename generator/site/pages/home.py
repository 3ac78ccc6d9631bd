"""Home: what was tested, when, on what; the routing table; what changed since the last run."""

from __future__ import annotations

from generator.analysis.diff import COLUMNS as DIFF_COLUMNS
from generator.analysis.diff import diff_runs, previous_run
from generator.site.html import Cell, esc, esc_md
from generator.site.pages.common import FINDING_ORDER, env_line, finding_cell, latest_run, model_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel

PAGE = "index.md"


def home_page(data: SiteData, plan: SitePlan) -> str:
    reg, df, manifests = data.reg, data.df, data.manifests
    out = [
        "# Local Model Ops Bench",
        "",
        "Which work may a team route to local language models? Each model runs contributor-written "
        "task suites; deterministic checks score every output; the gates in the registry turn the "
        "measurements into **keep / fix / defer / reject** findings and a route per workload. "
        "Every number links to the runs it came from.",
        "",
    ]
    executed = [m for m in manifests if m.origin == "executed"]
    ingested = [m for m in manifests if m.origin == "ingested"]
    tested = sorted(set(df["model_id"])) if not df.empty else []
    out += ["## What was tested", ""]
    if not manifests:
        out += ["No runs yet. Run `opsbench run --suite smoke`, then `opsbench build`.", ""]
    else:
        first, last = min(m.created_at for m in manifests), max(m.created_at for m in manifests)
        out += [
            f"{len(executed)} executed and {len(ingested)} ingested run(s) between {esc_md(first[:10])} and "
            f"{esc_md(last[:10])}; {len(tested)} model(s) with per-case results; "
            f"{len(reg.all_cases())} cases in {len(reg.suites)} suites. "
            f"Models in the registry that never ran say *no runs yet* on their pages.",
            "",
        ]
    out += [
        "## Routing table",
        "",
        "The best measured candidate per workload against that workload's gates "
        "(details, guard rules and the runbook on each workload page).",
        "",
    ]
    rows = []
    for w in reg.workloads_file.workloads:
        measured = [d for d in data.decisions[w.id] if d.finding != "no-runs"]
        best = min(measured, key=lambda d: (FINDING_ORDER.get(d.finding, 9), d.model_id)) if measured else None
        rows.append(
            [
                Cell(f'<a href="{esc(rel(PAGE, f"workloads/{w.id}.md"))}">{esc(w.title)}</a>', plain=w.title),
                model_link(reg, PAGE, best.model_id) if best else "no runs yet",
                finding_cell(best.finding) if best else "—",
                best.route if best else "—",
                best.reason if best else "no candidate has run on this workload",
            ]
        )
    out += [
        plan.table(PAGE, "routing", ["Workload", "Best measured model", "Finding", "Route", "Why"], rows),
        "",
    ]

    latest = latest_run(manifests)
    out += ["## Latest run", ""]
    if latest is None:
        out += ["No runs yet.", ""]
        return "\n".join(out)
    n = int((df["run_id"] == latest.run_id).sum()) if not df.empty else 0
    out += [
        plan.table(
            PAGE,
            "latest-run",
            ["Run", "Date (UTC)", "Suite", "Models", "Results", "Status", "Machine"],
            [
                [
                    Cell(
                        f'<a href="{esc(rel(PAGE, f"runs/{latest.run_id}.md"))}">{esc(latest.run_id)}</a>',
                        plain=latest.run_id,
                    ),
                    latest.created_at,
                    latest.settings.suite,
                    ", ".join(latest.settings.models),
                    f"{n}/{latest.expected_results}",
                    latest.status,
                    env_line(latest),
                ]
            ],
            sortable=False,
        ),
        "",
    ]
    previous = [
        m
        for m in manifests
        if m.settings.suite == latest.settings.suite and m.run_id != latest.run_id and m.created_at <= latest.created_at
    ]
    out += ["### Since the previous run", ""]
    if not previous or df.empty:
        out += [f"This is the first run of suite <code>{esc(latest.settings.suite)}</code>.", ""]
        return "\n".join(out)
    # A diff is per model and case: compare with the latest earlier run that measured a model
    # this one measured, not merely the latest run of the suite (analysis.diff.previous_run).
    prev = previous_run(manifests, latest)
    if prev is None:
        before = sorted({x for m in previous for x in m.settings.models})
        out += [
            f"No earlier run of suite <code>{esc(latest.settings.suite)}</code> measured "
            f"{esc_md(', '.join(latest.settings.models))}, so there is nothing to compare case by case "
            f"(earlier runs of the suite measured {esc_md(', '.join(before))}).",
            "",
        ]
        return "\n".join(out)
    changes, deltas = diff_runs(
        df.loc[df["run_id"] == prev.run_id, DIFF_COLUMNS],
        df.loc[df["run_id"] == latest.run_id, DIFF_COLUMNS],
        data.reg.policy.statistics,
    )
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.change] = counts.get(c.change, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no shared cases"
    out += [f"Compared with [{esc_md(prev.run_id)}](runs/{esc(prev.run_id)}.md): {esc_md(summary)}.", ""]
    moved = [c for c in changes if c.change in ("newly-failing", "newly-passing", "flaky")]
    if moved:
        out += [
            plan.table(
                PAGE,
                "changes",
                ["Model", "Case", "Change", "Before", "Now"],
                [[c.model_id, c.case_id, c.change, c.a, c.b] for c in moved],
                max_rows=50,
            ),
            "",
        ]
    if deltas:
        out += [
            plan.table(
                PAGE,
                "deltas",
                ["Model", "Shared cases", "Acceptance before", "Now", "Change [95 % CI]", "p (paired)"],
                [
                    [
                        d.model_id,
                        d.cases,
                        f"{d.acceptance_a:.0%}",
                        f"{d.acceptance_b:.0%}",
                        f"{d.delta:+.0%} [{d.delta_ci[0]:+.0%}, {d.delta_ci[1]:+.0%}]",
                        f"{d.p_value:.3g}",
                    ]
                    for d in deltas
                ],
            ),
            "",
        ]
    return "\n".join(out)

"""Home: what was tested, when, on what; the routing table; what changed since the last run."""

from __future__ import annotations

from typing import Any

from generator.analysis.diff import COLUMNS as DIFF_COLUMNS
from generator.analysis.diff import diff_runs, previous_run
from generator.site.html import Cell, esc, esc_md
from generator.site.pages.common import (
    FINDING_ORDER,
    env_line,
    finding_cell,
    gate_figure,
    key_gate,
    latest_run,
    model_link,
)
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel
from generator.site.templates import Markup, render

PAGE = "index.md"


def measured_models(data: SiteData) -> list[str]:
    """Models with per-case results in the evidence table (what "has run" means on every page)."""
    return sorted(data.measured("model_id"))


def verdict_sentence(data: SiteData) -> str:
    """The answer in one sentence, computed from the decisions: which workloads can move local,
    which models have run, how many registry candidates are still untested. Nothing in it is
    written by hand, so it cannot drift from the evidence."""
    reg = data.reg
    workloads = reg.workloads_file.workloads
    kept = [w.title for w in workloads if any(d.finding == "keep" for d in data.decisions[w.id])]
    ran = measured_models(data)
    candidates = sorted({c for w in workloads for c in w.candidates})
    untested = [c for c in candidates if c not in ran]
    if kept:
        head = f"{len(kept)} of {len(workloads)} workload(s) can move local ({', '.join(kept)})"
    else:
        head = "No workload can move local yet"
    if not ran:
        runs = "no model has run"
    else:
        runs = ("only " if not kept else "") + f"{_and(ran)} {'has' if len(ran) == 1 else 'have'} run"
    tail = (
        f"{len(untested)} of {len(candidates)} candidate(s) {'is' if len(untested) == 1 else 'are'} untested"
        if untested
        else f"all {len(candidates)} candidate(s) have run"
    )
    return f"{head}: {runs}; {tail}."


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _routing_rows(data: SiteData) -> list[list[Any]]:
    """Per workload: the verdict of its best measured candidate, that verdict's fragility, the key
    figure against its gate, the untested candidates and whether the baseline was ever measured."""
    reg = data.reg
    ran = set(measured_models(data))
    rows: list[list[Any]] = []
    for w in reg.workloads_file.workloads:
        measured = [d for d in data.decisions[w.id] if d.finding != "no-runs"]
        best = min(measured, key=lambda d: (FINDING_ORDER.get(d.finding, 9), d.model_id)) if measured else None
        gate = key_gate(best) if best else None
        untested = [c for c in w.candidates if c not in ran]
        baseline = "—"
        if w.baseline:
            baseline = w.baseline + ("" if w.baseline in ran else " (never measured)")
        rows.append(
            [
                Cell(f'<a href="{esc(rel(PAGE, f"workloads/{w.id}.md"))}">{esc(w.title)}</a>', plain=w.title),
                finding_cell(best.finding) if best else "no runs yet",
                (best.fragility_text or "—") if best else "—",
                model_link(reg, PAGE, best.model_id) if best else "none measured",
                gate_figure(gate) if gate else (best.reason if best else "no candidate has run on this workload"),
                ", ".join(untested) or "none",
                baseline,
            ]
        )
    return rows


def home_page(data: SiteData, plan: SitePlan) -> str:
    reg, df, manifests = data.reg, data.df, data.manifests
    executed = [m for m in manifests if m.origin == "executed"]
    ingested = [m for m in manifests if m.origin == "ingested"]
    span = (min(m.created_at for m in manifests)[:10], max(m.created_at for m in manifests)[:10]) if manifests else None
    routing = plan.table(
        PAGE,
        "routing",
        [
            "Workload",
            "Verdict",
            "Fragility",
            "Best measured candidate",
            "Key figure vs gate",
            "Untested candidates",
            "Baseline",
        ],
        _routing_rows(data),
    )
    out = [
        render(
            "home.md.j2",
            verdict=verdict_sentence(data),
            executed=len(executed),
            ingested=len(ingested),
            span=span,
            tested=len(measured_models(data)),
            cases=len(reg.all_cases()),
            suites=len(reg.suites),
            routing=Markup(routing),
        )
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

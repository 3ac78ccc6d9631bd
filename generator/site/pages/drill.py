"""Wiring of the drill-down pages: where each case, model case list and comparison lives, and
adding them to the plan. Other pages link to them through ``SitePlan.case_link`` and
``SitePlan.cases_count``, which :func:`drill_down` fills before any page is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

import pandas as pd

from generator.analysis.cases import (
    case_paths,
    compare_pairs,
    latest_results,
    model_slugs,
    pair_inputs,
    shared_pairs,
)
from generator.site.pages.cases import case_page, cases_index, model_cases_page
from generator.site.pages.compare import compare_index, compare_page
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan


@dataclass
class DrillDown:
    latest: pd.DataFrame
    outputs: dict[tuple[str, str], str]
    paths: dict[tuple[str, str], str] = field(default_factory=dict)  # (suite, case) -> page
    case_by_id: dict[str, str] = field(default_factory=dict)  # case id -> page (first suite)
    model_pages: dict[str, str] = field(default_factory=dict)  # model id -> its case list page


def drill_down(
    data: SiteData, plan: SitePlan, latest: pd.DataFrame | None, outputs: dict[tuple[str, str], str]
) -> DrillDown:
    """Where every drill-down page lives; ``plan`` learns it before any page links to one."""
    if latest is None:
        latest = latest_results(data.df, [m.run_id for m in data.manifests])
    d = DrillDown(latest, outputs)
    d.paths = case_paths(zip(latest["suite"].astype(str), latest["case_id"].astype(str), strict=True))
    for (_suite, case_id), page in sorted(d.paths.items()):
        d.case_by_id.setdefault(case_id, page)
    slugs = model_slugs(latest["model_id"].astype(str))
    d.model_pages = {m: f"cases/models/{s}.md" for m, s in slugs.items()}
    plan.case_pages = d.case_by_id
    plan.model_case_pages = d.model_pages
    return d


def rows_by_case(latest: pd.DataFrame) -> dict[tuple[str, str], list[Any]]:
    """(suite, case id) -> the case's rows of ``latest`` as tuples, ordered by model: one sort and
    one pass over the frame, not a frame per case (thousands of them)."""
    ordered = latest.sort_values(["suite", "case_id", "model_id"], kind="mergesort")
    out: dict[tuple[str, str], list[Any]] = {}
    for key, rows in groupby(ordered.itertuples(), key=lambda r: (str(r.suite), str(r.case_id))):
        out.setdefault(key, []).extend(rows)
    return out


def add_drill_down(data: SiteData, plan: SitePlan, d: DrillDown) -> None:
    reg = data.reg
    cases = {(s, c.id): c for s, c in reg.all_cases()}
    latest = d.latest
    by_case = rows_by_case(latest)
    for (suite, case_id), page in sorted(d.paths.items()):
        rows = by_case[(suite, case_id)]
        plan.add_html(page, *case_page(data, plan, page, suite, case_id, cases.get((suite, case_id)), rows, d.outputs))
    by_model = {k: g for k, g in latest.groupby("model_id", sort=False, observed=True)}
    for model, page in sorted(d.model_pages.items()):
        plan.add_html(page, *model_cases_page(data, plan, page, model, by_model[model]))
    plan.add("cases/index.md", cases_index(data, plan, latest, d.case_by_id, d.model_pages))
    q = data.quality()
    registry_models = [m.id for m in reg.models_file.models]
    pairs = []
    taken: set[str] = set()
    slugs = model_slugs(registry_models)
    found = shared_pairs(q, registry_models) if not q.empty else []
    inputs = pair_inputs(data.df, q, sorted({m for a, b, _ in found for m in (a, b)}))
    kept = []
    for a, b, n in found:
        page = f"compare/{slugs[a]}--{slugs[b]}.md"
        if page not in taken:
            taken.add(page)
            kept.append((a, b, n, page))
    compared = compare_pairs(inputs, [(a, b) for a, b, _, _ in kept], reg.policy.statistics)
    for (a, b, n, page), c in zip(kept, compared, strict=True):
        plan.add_html(page, *compare_page(data, plan, page, c))
        pairs.append((a, b, n, page))
    plan.add("compare/index.md", compare_index(data, plan, pairs))

"""The cases and runs behind one row of a board: what a by-role, by-workload or by-suite count
links to, and the "Runs" cell of a row.

A model's whole case list is ``cases/models/<model>.md`` (:mod:`generator.site.pages.drill`);
a count on a board grouped by role, workload or suite counts only that group's cases, so it
links to ``cases/models/<model>/<group>-<value>.md``, which lists exactly those cases with the
run each result came from. Paths come from safe slugs (contributor text is never a path), and
both the links and the pages read the one path table, so a link never names a page that is not
written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from generator.analysis.cases import safe_slug
from generator.site.html import Cell, esc
from generator.site.pages.cases import model_cases_page, run_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel

GROUPS = ("role", "workload", "suite")
# Display constant: run links one cell shows before "+N more" (the case list names every run).
RUNS_SHOWN = 5


def _group_paths(data: SiteData, plan: SitePlan) -> dict[tuple[str, str, str], str]:
    """(model, group, value) → its case list page, for every pair that has a result, except where
    the group is all of the model's cases (its whole list says the same: no copy is written)."""
    out: dict[tuple[str, str, str], str] = {}
    if data.df.empty:
        return out
    for by in GROUPS:
        if by not in data.df.columns:
            continue
        seen = data.df[["model_id", by]].drop_duplicates()
        for model, g in seen.groupby("model_id", sort=True, observed=True):
            base = plan.model_case_pages.get(str(model))
            values = sorted(set(g[by].dropna().astype(str)))
            # One group holding every case of the model is the model's whole list: link that one.
            if base is None or (len(values) == 1 and g[by].notna().all()):
                continue
            taken: set[str] = set()
            for value in values:
                out[(str(model), by, value)] = f"{base.removesuffix('.md')}/{by}-{safe_slug(value, taken, by)}.md"
    return out


def group_paths(data: SiteData, plan: SitePlan) -> dict[tuple[str, str, str], str]:
    """The path table, computed once per build (after ``drill_down`` named the model lists)."""
    return data.once("group_case_paths", lambda: _group_paths(data, plan))


def group_target(data: SiteData, plan: SitePlan, model_id: str, by: str | None, value: Any) -> str | None:
    """The case list behind one board row: the group's list, else the model's whole list."""
    if by is not None and value is not None and not pd.isna(value):
        target = group_paths(data, plan).get((model_id, by, str(value)))
        if target is not None:
            return target
    return plan.model_case_pages.get(model_id)


def count_cell(
    data: SiteData, plan: SitePlan, page: str, model_id: str, count: Any, by: str | None = None, value: Any = None
) -> Cell | Any:
    """A count of a model's cases (in one group) linked to the list of exactly those cases."""
    if by is None:
        return plan.cases_count(page, model_id, count)
    target = group_target(data, plan, model_id, by, value)
    if target is None:
        return count
    title = f"the cases and runs behind {model_id}'s figures for {by} {value}"
    return Cell(f'<a href="{esc(rel(page, target))}" title="{esc(title)}">{esc(count)}</a>', sort=count, plain=count)


def runs_of(data: SiteData, keys: Sequence[str]) -> dict[tuple[str, ...], list[str]]:
    """Key values → the runs with a result there, oldest first (the manifests' order), for ``keys``
    of the evidence table (``["model_id"]``, ``["model_id", "role"]``, ``["model_id", "concurrency"]``)."""

    def compute() -> dict[tuple[str, ...], list[str]]:
        if data.df.empty:
            return {}
        order = {m.run_id: i for i, m in enumerate(data.manifests)}
        pairs = data.df[[*keys, "run_id"]].drop_duplicates().dropna().astype(str).drop_duplicates()
        out: dict[tuple[str, ...], list[str]] = {}
        for row in pairs.itertuples(index=False):
            out.setdefault(tuple(row[:-1]), []).append(row[-1])
        return {k: sorted(v, key=lambda r: (order.get(r, len(order)), r)) for k, v in sorted(out.items())}

    return data.once(("runs_of", *keys), compute)


def runs_cell(page: str, runs: Sequence[str], more: str | None = None) -> Cell | str:
    """Links to the run pages behind a figure: the latest :data:`RUNS_SHOWN`, then "+N earlier"
    linking ``more`` (a case list, which names every run). The download holds every run id."""
    if not runs:
        return "—"
    links = [str(run_link(page, r)) for r in runs[-RUNS_SHOWN:]]
    rest = len(runs) - RUNS_SHOWN
    if rest > 0:
        label = f"+{rest} earlier"
        links.append(f'<a href="{esc(rel(page, more))}">{esc(label)}</a>' if more else esc(label))
    return Cell(" · ".join(links), sort=len(runs), plain="; ".join(runs))


def row_runs(data: SiteData, plan: SitePlan, page: str, model_id: str, by: str | None, value: Any) -> Cell | str:
    """The "Runs" cell of a board row: the runs of the model (in the row's group)."""
    keys = ["model_id", by] if by is not None else ["model_id"]
    key = (model_id, str(value)) if by is not None else (model_id,)
    return runs_cell(page, runs_of(data, keys).get(key, []), group_target(data, plan, model_id, by, value))


def runs_line(data: SiteData, plan: SitePlan, page: str, model_id: str) -> str:
    """One paragraph naming the runs behind a model's figures and linking its case list."""
    target = plan.model_case_pages.get(model_id)
    runs = runs_cell(page, runs_of(data, ["model_id"]).get((model_id,), []), target)
    if not isinstance(runs, Cell):
        return ""
    link = f'<a href="{esc(rel(page, target))}">case list</a>' if target else ""
    cases = f" Every case and the run its result came from: {link}." if target else ""
    return f'<p class="opsbench-note">The figures on this page come from these runs: {runs.html}.{cases}</p>'


def add_group_case_lists(data: SiteData, plan: SitePlan, latest: pd.DataFrame, paths: dict[str, str]) -> None:
    """Write one case list per (model, role / workload / suite) pair that the path table names."""
    targets = group_paths(data, plan)
    if not targets or latest.empty:
        return
    attrs = data.df[["suite", "case_id", *[g for g in GROUPS if g != "suite" and g in data.df.columns]]]
    attrs = attrs.drop_duplicates(["suite", "case_id"]).astype(str)
    rows = latest.assign(suite=latest["suite"].astype(str), case_id=latest["case_id"].astype(str))
    rows = rows.merge(attrs, on=["suite", "case_id"], how="left")
    written: set[str] = set()
    for by in GROUPS:
        if by not in rows.columns:
            continue
        for (model, value), g in rows.groupby(["model_id", by], sort=True, observed=True):
            page = targets.get((str(model), by, str(value)))
            if page is not None:
                plan.add(page, model_cases_page(data, plan, page, str(model), g, paths, scope=(by, str(value))))
                written.add(page)
    for (model, by, value), page in sorted(targets.items()):
        if page not in written:  # a link names it: an empty list beats a broken link
            plan.add(page, model_cases_page(data, plan, page, model, rows.iloc[0:0], paths, scope=(by, value)))

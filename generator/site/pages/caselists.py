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
from generator.site.pages.cases import NO_SEARCH, case_link_html, run_link
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
        order = data_order(data)
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


def _verdict(r: Any) -> str:
    if r.status == "failed":
        return "hard failure"
    return "accepted" if pd.notna(r.accepted) and bool(r.accepted) else "not accepted"


def group_cases_page(
    data: SiteData, plan: SitePlan, page: str, model_id: str, scope: tuple[str, str], rows: pd.DataFrame, paths: dict
) -> str:
    """The cases of one model in one role, workload or suite, by verdict, with the runs they came from.

    Links only, no table: the model's whole list (linked at the top) holds each case's result, run and
    the downloads, so a group page stays a few bytes per case however large the archive grows.
    """
    by, value = scope
    model_slug, slug = page.rsplit("/", 2)[-2], page.rsplit("/", 1)[-1].removesuffix(".md")
    whole = plan.model_case_pages.get(model_id)
    every = f' (<a href="{esc(rel(page, whole))}">all of its cases, with each result and run</a>)' if whole else ""
    out = [
        NO_SEARCH + f"# Cases of {model_slug}: {slug}",  # safe slugs: the title passes through striptags
        "",
        f'<p class="opsbench-scope">The {len(rows)} case(s) of <code>{esc(model_id)}</code> in {esc(by)} '
        f"<code>{esc(value)}</code>{every}: what its by-{esc(by)} counts and figures on the leaderboard, model "
        "and workload pages are computed from. Each case's latest result (latest run, lowest load level, last "
        "repeat) decides the group it is listed in.</p>",
        "",
    ]
    # Every run with a result in the group: the board pools them all (runs pool as repeats).
    runs = runs_of(data, ["model_id", by]).get((model_id, value), [])
    if runs:
        listed = " · ".join(run_link(page, r) for r in runs)
        out += [f'<p class="opsbench-note">Runs behind these figures: {listed}</p>', ""]
    verdicts = [_verdict(r) for r in rows.itertuples()]
    for verdict in ("not accepted", "hard failure", "accepted"):
        ids = sorted(str(c) for c, v in zip(rows["case_id"], verdicts, strict=True) if v == verdict)
        if ids:
            links = " · ".join(case_link_html(page, paths, c) for c in ids)
            out += [f"## {verdict.capitalize()} ({len(ids)})", "", f"<p>{links}</p>", ""]
    if not len(rows):
        out += ["No results.", ""]
    return "\n".join(out)


def data_order(data: SiteData) -> dict[str, int]:
    """Run id → its place in the manifests' order (oldest first)."""
    return data.once("run_order", lambda: {m.run_id: i for i, m in enumerate(data.manifests)})


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
                plan.add(page, group_cases_page(data, plan, page, str(model), (by, str(value)), g, paths))
                written.add(page)
    for (model, by, value), page in sorted(targets.items()):
        if page not in written:  # a link names it: an empty list beats a broken link
            plan.add(page, group_cases_page(data, plan, page, model, (by, value), rows.iloc[0:0], paths))

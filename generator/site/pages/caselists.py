"""The cases and runs behind one row of a board: what a by-role, by-workload or by-suite count
links to, and the "Runs" cell of a row.

A model's whole case list is ``cases/models/<model>.md`` (:mod:`generator.site.pages.drill`);
a count on a board grouped by role, workload or suite counts only that group's cases, so it
links to its section of ``cases/models/<model>/by-<group>.md`` (``#<group>-<value>``), which
lists exactly those cases and the runs behind them. One page per model and kind of group, not
one per value: the page count, which is what a build pays for, grows with the models only.
Paths and anchors come from safe slugs (contributor text is never a path), and the links and the
pages read the one table, so a link never names a page or section that is not written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from generator.analysis.cases import safe_slug
from generator.site.html import Cell, esc
from generator.site.pages.cases import links, run_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel
from generator.site.templates import Headings

GROUPS = ("role", "workload", "suite")
# Display constant: run links one cell shows before "+N more" (the case list names every run).
RUNS_SHOWN = 5


def _group_paths(data: SiteData, plan: SitePlan) -> dict[tuple[str, str, str], str]:
    """(model, group, value) → ``page.md#anchor`` of its case list, for every pair that has a result,
    except where the group is all of the model's cases (its whole list says the same)."""
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
            page = f"{base.removesuffix('.md')}/by-{by}.md"
            for value in values:
                out[(str(model), by, value)] = f"{page}#{by}-{safe_slug(value, taken, by)}"
    return out


def group_paths(data: SiteData, plan: SitePlan) -> dict[tuple[str, str, str], str]:
    """The path table, computed once per build (after ``drill_down`` named the model lists)."""
    return data.once("group_case_paths", lambda: _group_paths(data, plan))


def link_to(page: str, target: str) -> str:
    """The relative href from ``page`` to a docs target that may carry an ``#anchor``."""
    path, _, anchor = target.partition("#")
    return rel(page, path) + (f"#{anchor}" if anchor else "")


def group_target(data: SiteData, plan: SitePlan, model_id: str, by: str | None, value: Any) -> str | None:
    """The case list behind one board row: the group's section, else the model's whole list."""
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
    return Cell(
        f'<a href="{esc(link_to(page, target))}" title="{esc(title)}">{esc(count)}</a>', sort=count, plain=count
    )


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
        links.append(f'<a href="{esc(link_to(page, more))}">{esc(label)}</a>' if more else esc(label))
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


def verdicts(rows: pd.DataFrame) -> list[str]:
    """Each result's verdict as a case list sorts it: hard failure, accepted or not accepted
    (a missing acceptance is not accepted)."""
    return [
        "hard failure" if status == "failed" else ("accepted" if pd.notna(a) and bool(a) else "not accepted")
        for status, a in zip(rows["status"].tolist(), rows["accepted"].tolist(), strict=True)
    ]


def _section(
    data: SiteData,
    plan: SitePlan,
    page: str,
    model_id: str,
    by: str,
    value: str,
    anchor: str,
    cases: Sequence[tuple[str, str]],
) -> list[str]:
    """One group's section: its runs, then its cases (case id, verdict) by verdict (links only)."""
    link = links(data, plan)
    out = [f'<h2 id="{esc(anchor)}">{esc(by.capitalize())} <code>{esc(value)}</code>: {len(cases)} case(s)</h2>', ""]
    # Every run with a result in the group: the board pools them all (runs pool as repeats).
    runs = runs_of(data, ["model_id", by]).get((model_id, value), [])
    if runs:
        listed = " · ".join(link.run(page, r) for r in runs)
        out += [f'<p class="opsbench-note">Runs behind these figures: {listed}</p>', ""]
    for verdict in ("not accepted", "hard failure", "accepted"):
        ids = sorted(c for c, v in cases if v == verdict)
        if ids:
            listed = " · ".join(link.case_html(page, c) for c in ids)
            out += [f"<p><strong>{esc(verdict.capitalize())} ({len(ids)}):</strong> {listed}</p>", ""]
    if not cases:
        out += ["<p>No results.</p>", ""]
    return out


def group_cases_page(
    data: SiteData,
    plan: SitePlan,
    page: str,
    model_id: str,
    by: str,
    sections: list[tuple[str, str, list[tuple[str, str]]]],
) -> tuple[str, str]:
    """The cases of one model per role, workload or suite, by verdict, with the runs behind them
    (title, HTML body: stamped into the page shell like the other drill-down pages).

    Links only, no table: the model's whole list (linked at the top) holds each case's result, run and
    the downloads, so this page stays a few bytes per case however large the archive grows.
    """
    model_slug = page.rsplit("/", 2)[-2]  # the model's safe slug, as in the path
    whole = plan.model_case_pages.get(model_id)
    every = f' (<a href="{esc(rel(page, whole))}">all of its cases, with each result and run</a>)' if whole else ""
    title = f"Cases of {model_slug} by {by}"
    out = [
        str(Headings()(1, title)),
        "",
        f'<p class="opsbench-scope">The cases of <code>{esc(model_id)}</code> per {esc(by)}{every}: what its '
        f"by-{esc(by)} counts and figures on the leaderboard, model and workload pages are computed from. Each "
        "case's latest result (latest run, lowest load level, last repeat) decides where it is listed.</p>",
        "",
    ]
    for value, anchor, cases in sections:
        out += _section(data, plan, page, model_id, by, value, anchor, cases)
    return title, "\n".join(out)


def data_order(data: SiteData) -> dict[str, int]:
    """Run id → its place in the manifests' order (oldest first)."""
    return data.once("run_order", lambda: {m.run_id: i for i, m in enumerate(data.manifests)})


def add_group_case_lists(data: SiteData, plan: SitePlan, latest: pd.DataFrame, paths: dict[str, str]) -> None:
    """Write one page per (model, role / workload / suite) with a section per value the path table names.
    ``paths``: the case pages, ``plan.case_pages`` (which the links read)."""
    targets = group_paths(data, plan)
    if not targets or latest.empty:
        return
    attrs = data.df[["suite", "case_id", *[g for g in GROUPS if g != "suite" and g in data.df.columns]]]
    attrs = attrs.drop_duplicates(["suite", "case_id"]).astype(str)
    rows = latest.assign(suite=latest["suite"].astype(str), case_id=latest["case_id"].astype(str))
    rows = rows.merge(attrs, on=["suite", "case_id"], how="left")
    # (case id, verdict) of every row, then each (model, value)'s rows: plain lists, read once.
    cases = list(zip(rows["case_id"].tolist(), verdicts(rows), strict=True))
    model_ids = rows["model_id"].astype(str)
    pages: dict[tuple[str, str, str], list[tuple[str, str, list[tuple[str, str]]]]] = {}
    groups = {
        by: {
            (str(m), str(v)): [cases[i] for i in idx]
            for (m, v), idx in rows.groupby([model_ids, rows[by].astype(str)], sort=False).indices.items()
        }
        for by in GROUPS
        if by in rows.columns
    }
    for (model, by, value), target in sorted(targets.items()):
        page, _, anchor = target.partition("#")
        g = groups.get(by, {}).get((model, value), [])  # a link names it: empty beats broken
        pages.setdefault((page, model, by), []).append((value, anchor, g))
    for (page, model, by), sections in sorted(pages.items()):
        plan.add_html(page, *group_cases_page(data, plan, page, model, by, sections))

"""Drill-down pages: one page per case (prompt, input, checks, each model's latest output),
one list of cases per model (what leaderboard counts link to), and the cases index.

The pages only render: which result is shown comes from ``generator.analysis.cases``, and
the output texts from ``build.read_case_outputs`` (the one reader of whole outputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import pandas as pd
from markupsafe import escape

from generator.analysis.cases import model_slugs
from generator.registry.loader import Registry
from generator.registry.schema import TaskCase
from generator.runs.records import ResultRecord
from generator.site.html import Cell, esc, fmt_num, pre
from generator.site.pages.common import fmt_secs, model_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel
from generator.site.templates import Headings, Markup, render

INDEX = "cases/index.md"
# Drill-down pages stay out of the search index: their outputs would make it grow with every case.
NO_SEARCH = "---\nsearch:\n  exclude: true\n---\n\n"
FULL_TEXT = "full text in results.jsonl"


def run_files_dir(run_id: str) -> str:
    """Where a run's manifest.json and results.jsonl.gz are in the site."""
    return f"data/runs/{run_id}"


def run_link(page: str, run_id: str) -> Markup:
    return Markup(f'<a href="{esc(rel(page, f"runs/{run_id}.md"))}">{esc(run_id)}</a>')


def case_link(page: str, paths: dict[str, str], case_id: str, label: str | None = None) -> Any:
    """A case id linked to its page (a Cell, so tables keep the id as plain text)."""
    target = paths.get(case_id)
    text = esc(label if label is not None else case_id)
    if target is None:
        return Cell(text, plain=case_id)
    return Cell(f'<a href="{esc(rel(page, target))}">{text}</a>', plain=case_id)


def case_link_html(page: str, paths: dict[str, str], case_id: str) -> Markup:
    return Markup(case_link(page, paths, case_id).html)


class Links:
    """The links the drill-down pages repeat thousands of times (a model, a run, a case, a run's
    download), each made once per folder depth of the linking page: a relative link depends on
    nothing else (``rel``). The cells handed out are shared, so they are never changed."""

    def __init__(self, reg: Registry, case_pages: dict[str, str]):
        self.reg = reg
        self.case_pages = case_pages
        self._made: dict[tuple[str, int, str], Any] = {}

    def _get(self, kind: str, page: str, key: str, make: Callable[[], Any]) -> Any:
        k = (kind, page.count("/"), key)
        hit = self._made.get(k)
        if hit is None:
            hit = self._made[k] = make()
        return hit

    def model(self, page: str, model_id: str) -> Any:
        """``common.model_link``: a Cell for a registry model, plain text for another."""
        return self._get("model", page, model_id, lambda: model_link(self.reg, page, model_id))

    def run(self, page: str, run_id: str) -> Markup:
        return self._get("run", page, run_id, lambda: run_link(page, run_id))

    def run_cell(self, page: str, run_id: str) -> Cell:
        """A run link in a table, downloaded as the run id."""
        return self._get("run_cell", page, run_id, lambda: Cell(self.run(page, run_id), plain=run_id))

    def download(self, page: str, run_id: str) -> Markup:
        """The link to a run's results.jsonl download."""
        href = rel(page, run_files_dir(run_id) + "/results.jsonl.gz")
        return self._get("download", page, run_id, lambda: Markup(f'<a href="{esc(href)}">results.jsonl</a>'))

    def case(self, page: str, case_id: str) -> Cell:
        return self._get("case", page, case_id, lambda: case_link(page, self.case_pages, case_id))

    def case_html(self, page: str, case_id: str) -> Markup:
        return self._get("case_html", page, case_id, lambda: Markup(self.case(page, case_id).html))


def links(data: SiteData, plan: SitePlan) -> Links:
    """The build's one :class:`Links` (after ``drill_down`` named every case page)."""
    return data.once("drill_links", lambda: Links(data.reg, plan.case_pages))


def _quote(items: list[Any]) -> str:
    return ", ".join(f"“{x}”" for x in items)


def describe_check(check: Any) -> tuple[str, str, str]:
    """A check in plain language, plus what to show only on request (a regex, a schema)."""
    kind = check.kind
    if kind == "json_valid":
        text, detail, label = "The output must be valid JSON.", "", ""
    elif kind == "json_schema":
        text = "The output must be JSON that matches the case's JSON Schema."
        detail, label = json.dumps(check.schema_, indent=1, sort_keys=True), "Show the schema"
    elif kind == "exact_field":
        text = f"The JSON field “{check.field}” must equal {json.dumps(check.expected, ensure_ascii=False)}."
        detail, label = "", ""
    elif kind == "label":
        where = f"the JSON field “{check.field}”" if check.field else "the answer"
        text = f"{where[0].upper()}{where[1:]} must be the label “{check.expected}” (one of {_quote(check.labels)})."
        detail, label = "", ""
    elif kind == "evidence":
        text = f"The output must quote at least {check.min_lines} line(s) of the input word for word"
        text += f", including {_quote(check.required)}." if check.required else "."
        detail, label = "", ""
    elif kind == "banned_phrases":
        parts = []
        if check.phrases:
            parts.append(f"any of {_quote(check.phrases)} (any letter case)")
        if check.patterns:
            parts.append(f"text matching {len(check.patterns)} pattern(s)")
        text = "The output must not contain " + " or ".join(parts) + "."
        detail, label = "\n".join(check.patterns), "Show the patterns (regular expressions)" if check.patterns else ""
    elif kind == "required_phrases":
        which = "every one" if check.mode == "all" else "at least one"
        text = f"The output must contain {which} of {_quote(check.phrases)}."
        detail, label = "", ""
    elif kind == "regex":
        text = "The output must " + ("" if check.must_match else "not ") + "match a pattern."
        detail, label = check.pattern, "Show the pattern (regular expression)"
    else:
        text, detail, label = f"A {kind} check.", "", ""
    if check.note:
        text += f" {check.note}"
    return text, detail, label


def _expected(case: TaskCase) -> list[str]:
    out = []
    for c in case.checks:
        if c.kind == "label":
            out.append(f"label “{c.expected}”" + (f" in field “{c.field}”" if c.field else ""))
        elif c.kind == "exact_field":
            out.append(f"field “{c.field}” = {json.dumps(c.expected, ensure_ascii=False)}")
        elif c.kind == "required_phrases":
            out.append(f"mentions {'all' if c.mode == 'all' else 'any'} of {_quote(c.phrases)}")
    return out


def _prompt_parts(case: TaskCase, limit: int) -> list[dict[str, Any]]:
    parts = []
    if case.system:
        parts.append({"label": "System", "html": Markup(pre(case.system, limit))})
    if case.prompt is not None:
        parts.append({"label": "User", "html": Markup(pre(case.prompt, limit))})
    for m in case.messages or []:
        parts.append({"label": m.role.capitalize(), "html": Markup(pre(m.content, limit))})
    return parts


def _accepted(r: Any) -> Cell:
    """Yes / no / hard failure on the page; true, false or null (hard failure) in the download."""
    if r.status == "failed":
        return Cell("hard failure", sort=-1, plain=None)
    ok = bool(r.accepted) if pd.notna(r.accepted) else False
    return Cell("yes" if ok else "no", sort=int(ok), plain=ok)


def _num(value: Any, digits: int = 2) -> str:
    return fmt_num(None if value is None or pd.isna(value) else value, digits)


def _why(r: Any) -> str:
    return r.failure_summary if isinstance(r.failure_summary, str) else ""


def _results_html(links: Links, h: Headings, page: str, rows: Sequence[Any], outputs: dict, limit: int) -> Markup:
    """Each model's latest result on a case page: its heading, run, verdict, timings and output,
    as one block escaped here (what the page template's loop over results made, at a
    thirtieth of the cost: thousands of pages of dozens of results each)."""
    heads = _heads(tuple(str(r.model_id) for r in rows))
    out = []
    for r in rows:
        key = ResultRecord.make_key(r.model_id, r.case_id, int(r.repeat), int(r.concurrency))
        text = outputs.get((r.run_id, key))
        if text is None:
            body = '<p class="opsbench-note">No output text stored (a hard failure, or the run keeps only a hash).</p>'
        else:
            body = pre(text, limit, FULL_TEXT)
        ml = links.model(page, r.model_id)
        verdict = "hard failure" if r.status == "failed" else ("accepted" if r.accepted else "not accepted")
        why = _why(r)
        # Headings become TOC entries, which the theme strips of tags (unescaping them):
        # a heading holds the model's safe slug; the text itself is in the line below it.
        out.append(
            f"{h(3, heads[r.model_id])}\n\n"
            f'<p class="opsbench-note">Model {ml.html if isinstance(ml, Cell) else escape(ml)} · run '
            f"{links.run(page, r.run_id)} · repeat {int(r.repeat)} at {int(r.concurrency)} in flight · "
            f"{int(r.runs_with_case)} run(s) hold this case · <b>{escape(verdict)}</b>"
            f"{f': {escape(why)}' if why else ''}</p>\n\n"
            f'<p class="opsbench-note">TTFT {escape(_num(r.ttft_s, 3))} s · latency '
            f"{escape(fmt_secs(None if pd.isna(r.e2e_s) else r.e2e_s))} s · tokens in "
            f"{escape(_num(r.prompt_tokens, 0))}, out {escape(_num(r.completion_tokens, 0))} · "
            f"{escape(_num(r.output_tps, 1))} tok/s · full output: {links.download(page, r.run_id)}</p>\n\n\n"
            f"{body}\n\n"
        )
    return Markup("".join(out))


@cache
def _heads(model_ids: tuple[str, ...]) -> dict[str, str]:
    """``model_slugs`` of one case's models: most cases share one set of models."""
    return model_slugs(model_ids)


def case_page(
    data: SiteData,
    plan: SitePlan,
    page: str,
    suite: str,
    case_id: str,
    case: TaskCase | None,
    rows: Sequence[Any],
    outputs: dict[tuple[str, str], str],
) -> tuple[str, str]:
    """The page of one case (title, HTML body): prompt, input, expected answer, checks in plain
    words, and each model's latest output with its check results and timings. ``rows``: the
    case's latest results (``latest_results`` rows as tuples), ordered by model."""
    reg = data.reg
    limit = reg.policy.scoring.case_page_output_chars
    whole = reg.policy.scoring.max_output_chars * 4  # registry text is shown whole: it is not model output
    link = links(data, plan)
    summary_rows = [
        [
            link.model(page, r.model_id),
            link.run_cell(page, r.run_id),
            _accepted(r),
            r.failure_summary if isinstance(r.failure_summary, str) and r.failure_summary else None,
            Cell(_num(r.ttft_s, 3), plain=r.ttft_s),
            Cell(_num(r.e2e_s), plain=r.e2e_s),
            Cell(_num(r.completion_tokens, 0), plain=r.completion_tokens),
        ]
        for r in rows
    ]
    # No CSV/JSON of its own: each row is a line of its run's results.jsonl, linked per model below.
    summary = plan.table(
        page,
        "results",
        ["Model", "Run", "Accepted", "What failed", "TTFT (s)", "Latency (s)", "Output tokens"],
        summary_rows,
        downloads=False,
    )
    checks = []
    meta = None
    if case is not None:
        meta = {"role": case.role, "workload": case.workload, "severity": case.severity}
        for cid, c in zip(case.check_ids(), case.checks, strict=True):
            text, detail, label = describe_check(c)
            checks.append(
                {
                    "id": cid,
                    "kind": c.kind,
                    "severity": c.severity or case.severity,
                    "text": text,
                    "detail": detail,
                    "detail_label": label,
                }
            )
    # The heading and the browser title are the page's safe slug (the case id as it is in the path).
    heading = page.rsplit("/", 1)[-1].removesuffix(".md")
    h = Headings()
    return f"Case {heading}", render(
        "case.html.j2",
        h=h,
        heading=heading,
        title=case.title if case is not None else case_id,
        case_id=case_id,
        suite=suite,
        meta=meta,
        prompt=_prompt_parts(case, whole) if case is not None else [],
        input_html=Markup(pre(case.input, whole)) if case is not None and case.input else "",
        expected=_expected(case) if case is not None else [],
        checks=checks,
        summary=Markup(summary),
        # Called where the template reaches them, so their headings' ids follow the page's.
        results=lambda: _results_html(link, h, page, rows, outputs, limit),
    )


def model_cases_page(data: SiteData, plan: SitePlan, page: str, model_id: str, rows: pd.DataFrame) -> tuple[str, str]:
    """Every case behind a model's leaderboard count, with its latest result and run (title, HTML)."""
    link = links(data, plan)
    slug = page.rsplit("/", 1)[-1].removesuffix(".md")  # the model's safe slug, as in the path
    title = f"Cases of {slug}"
    h = Headings()
    out = [str(h(1, title)), ""]
    out += [
        "<p>The cases behind this model's counts on the leaderboard, role and workload pages: each with "
        "its latest result (latest run, lowest load level, last repeat) and the run it came from.</p>",
        "",
    ]
    runs = sorted(set(rows["run_id"].astype(str)))
    if runs:
        listed = " · ".join(link.run(page, r) for r in runs)
        out += [f'<p class="opsbench-note">Runs behind these results: {listed}</p>', ""]
    ordered = rows.sort_values(["accepted", "suite", "case_id"], kind="mergesort")
    table_rows = [
        [
            link.case(page, r.case_id),
            r.suite,
            link.run_cell(page, r.run_id),
            _accepted(r),
            r.failure_summary if isinstance(r.failure_summary, str) and r.failure_summary else None,
            Cell(_num(r.e2e_s), plain=r.e2e_s),
        ]
        for r in ordered.itertuples()
    ]
    shown = data.reg.policy.scoring.case_list_rows_shown
    headers = ["Case", "Suite", "Run", "Accepted", "What failed", "Latency (s)"]
    out += [plan.table(page, "cases", headers, table_rows, max_rows=shown), ""]
    if len(table_rows) > shown:
        # Every case stays one click away: the rest as links, by result (a link is a tenth of a row).
        out += [str(h(2, "Every case, by result")), ""]
        ok = ordered["accepted"].map(lambda v: bool(v) if pd.notna(v) else False)
        for label, group in (("Not accepted", False), ("Accepted", True)):
            ids = ordered.loc[ok == group, "case_id"].astype(str).tolist()
            listed = " · ".join(link.case_html(page, c) for c in ids) or "none"
            out += [f"<p><b>{label}</b> ({len(ids):,})</p>", f'<p class="opsbench-case-list">{listed}</p>', ""]
    return title, "\n".join(out)


def cases_index(data: SiteData, plan: SitePlan, latest: pd.DataFrame, paths: dict, model_pages: dict) -> str:
    out = ["# Cases", ""]
    if latest.empty:
        return "\n".join([*out, "No runs yet.", ""])
    out += ["Every measured case, with how many models' latest result of it was accepted.", ""]
    keys = [latest["suite"], latest["case_id"]]
    acc = latest["accepted"].fillna(False).astype(bool).groupby(keys, observed=True).sum().to_dict()
    n = latest["model_id"].groupby(keys, observed=True).nunique().to_dict()
    rows = [
        [case_link(INDEX, paths, case_id), suite, int(n[(suite, case_id)]), int(acc[(suite, case_id)])]
        for suite, case_id in sorted(n)
    ]
    out += [plan.table(INDEX, "cases", ["Case", "Suite", "Models", "Accepted by"], rows), ""]
    links = " · ".join(f'<a href="{esc(rel(INDEX, target))}">{esc(m)}</a>' for m, target in sorted(model_pages.items()))
    out += ["## Per model", "", f"<p>{links}</p>", ""]
    return "\n".join(out)

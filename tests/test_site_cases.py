"""Drill-down (case pages, per-model case lists), the compare view, and downloads as data."""

from __future__ import annotations

import gzip
import json
import posixpath
import re
from html import unescape
from pathlib import Path
from typing import Any

import pandas as pd

from generator.analysis.cases import case_paths, compare_pair, cut, latest_results, pair_inputs, safe_slug
from generator.analysis.leaderboard import evidence_cells
from generator.registry.loader import load_registry
from generator.runs.scan import scan_runs
from generator.site.html import RAW_OPEN, pre
from generator.site.pages import build_plan
from tests.synth import write_run
from tests.test_site import all_html, build

HOSTILE = '<script>window.__pwned=7</script><img src=x onerror="window.__pwned=8">'
OLD_RUN = "20260101-000000-smoke-aaaaaa"
NEW_RUN = "20260102-000000-smoke-bbbbbb"


def _plant(inputs: dict[str, Path], long_chars: int) -> tuple[list[str], dict[tuple[str, str], str | None]]:
    """Two runs of smoke for two registry models: the newer one is what case pages show."""
    reg = load_registry(inputs["registry"])
    cases = [c.id for c in reg.suites["smoke"].cases]
    old = {("gemma3-270m", c): "OLD OUTPUT of an earlier run" for c in cases}
    write_run(reg, inputs["runs"], OLD_RUN, "smoke", old, created_at="2026-01-01T00:00:00Z")
    new: dict[tuple[str, str], str | None] = {}
    for i, c in enumerate(cases):
        new[("gemma3-270m", c)] = f"first paragraph {i}\n\nsecond paragraph {HOSTILE}"
        new[("smollm2-135m", c)] = "word " * (long_chars // 5 + 50) if i == 0 else f"answer {i}"
    new[("smollm2-135m", cases[1])] = None  # a hard failure
    write_run(reg, inputs["runs"], NEW_RUN, "smoke", new, created_at="2026-01-02T00:00:00Z", latency=2.0)
    return cases, new


def test_case_pages_compare_and_downloads(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    reg = load_registry(site_inputs["registry"])
    limit = reg.policy.scoring.case_page_output_chars
    cases, new = _plant(site_inputs, limit)
    # A model's case list shows 2 rows in its table and links every case below it.
    policy = site_inputs["registry"] / "policy.yaml"
    policy.write_text(policy.read_text().replace("case_list_rows_shown: 1000", "case_list_rows_shown: 2"))
    out = tmp_path / "site"
    code, output = build(site_inputs, out)
    assert code == 0, output
    pages = all_html(out)

    # One page per case; the latest run's whole output, escaped; the older run's is not shown.
    first = pages[f"cases/smoke/{cases[0]}.html"]
    second = pages[f"cases/smoke/{cases[2]}.html"]
    assert "OLD OUTPUT" not in second and NEW_RUN in second
    assert "first paragraph 2&#10;&#10;second paragraph &lt;script&gt;window.__pwned=7&lt;/script&gt;" in second
    for name, html in pages.items():
        assert "<script>window.__pwned" not in html, name
        assert 'onerror="window.__pwned' not in html, name
        assert "&#8203;" not in html, name  # blank lines are real newlines, not zero-width spaces
    # A long output is cut at a word, marked, and points to the download.
    m = re.search(
        r"word…</code></pre>\s*<p class=\"opsbench-truncated\">\(truncated, ([\d,]+) more characters; "
        r"full text in results.jsonl\)</p>",
        first,
    )
    assert m, "truncation mark missing"
    long_text = new[("smollm2-135m", cases[0])]
    assert isinstance(long_text, str)
    assert int(m.group(1).replace(",", "")) == len(long_text) - len(cut(long_text, limit)[0]) > 0
    # Checks in plain language; a regex is shown only on request, inside <details>.
    regex_case = reg.suites["smoke"].cases[1]
    assert any(c.kind == "regex" for c in regex_case.checks)
    page = pages[f"cases/smoke/{regex_case.id}.html"]
    pattern = next(c.pattern for c in regex_case.checks if c.kind == "regex")
    assert "The output must match a pattern." in page or "The output must not match a pattern." in page
    escaped = pattern.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    before, _, after = page.partition("<summary>Show the pattern (regular expression)</summary>")
    assert after and (escaped in after or pattern in after) and pattern not in before.split('id="checks"')[1]
    # Hard failure shows as such.
    assert "hard failure" in pages[f"cases/smoke/{cases[1]}.html"]
    # A case page's results table has no CSV/JSON of its own: its rows are lines of the run
    # downloads, which each result links.
    assert not (out / "data" / "cases" / "smoke").exists()
    assert "Download: <a" not in first and first.count("results.jsonl.gz") >= 2

    # Drill-down pages are stamped into the theme's page shell: the same chrome as a mkdocs page
    # (header, nav, footer stamp), their own title, canonical URL, skip link and table of contents.
    lb_html = pages["leaderboard.html"]
    for chrome in (
        'class="md-header md-header--shadow"',
        'class="md-footer"',
        "opsbench-build-stamp",
        "md-nav--primary",
    ):
        assert chrome in first and chrome in lb_html, chrome
    assert f"<title>Case {cases[0]} - Local Model Ops Bench</title>" in first
    assert re.search(rf'<link rel="canonical" href="[^"]*/cases/smoke/{cases[0]}\.html">', first)
    assert f'<a href="#case-{cases[0]}" class="md-skip">' in first
    toc = first.split('data-md-component="toc"', 1)[1].split("</nav>\n", 1)[0]
    for anchor in ("#prompt", "#checks", "#results-per-model", "#smollm2-135m"):
        assert f'href="{anchor}"' in toc, anchor
    assert 'href="../../leaderboard.html"' in first  # the nav's links are right from two folders down
    assert not (out / "_opsbench-shell").exists()
    for name, html in pages.items():
        assert "OPSBENCHSHELL" not in html and "opsbench-raw" not in html and "opsbench-fragment" not in html, name
    sitemap = (out / "sitemap.xml").read_text()
    assert f"/cases/smoke/{cases[0]}.html</loc>" in sitemap and "_opsbench-shell" not in sitemap
    assert gzip.decompress((out / "sitemap.xml.gz").read_bytes()).decode() == sitemap

    # The leaderboard's case count links to the model's case list, which links the case pages and runs.
    lb = pages["leaderboard.html"]
    assert re.search(r'<a href="cases/models/smollm2-135m.html"[^>]*>\d+</a>', lb)
    listing = pages["cases/models/smollm2-135m.html"]
    assert f'href="../../runs/{NEW_RUN}.html"' in listing
    table_html = listing.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert table_html.count("<tr") == 2 and f"showing 2 of {len(cases)} rows" in listing
    every = listing.split('id="every-case-by-result"', 1)[1]
    for case in cases:
        assert f'href="../../cases/smoke/{case}.html"' in every, case
    listed = json.loads((out / "data" / "cases" / "models" / "smollm2-135m--cases.json").read_text())["rows"]
    assert len(listed) == len(cases)  # the download holds every row
    run_page = pages[f"runs/{NEW_RUN}.html"]
    assert f'href="../cases/smoke/{cases[0]}.html"' in run_page
    assert f'href="../data/runs/{NEW_RUN}/results.jsonl.gz"' in run_page

    # Compare: the paired figures are compare_pair's on the shared cases.
    cmp_name = "compare/gemma3-270m--smollm2-135m.html"
    assert cmp_name in pages and cmp_name.removeprefix("compare/") in pages["compare/index.html"]
    store = scan_runs(site_inputs["runs"])
    q = evidence_cells(store.results)
    inputs = pair_inputs(store.results, q, ["gemma3-270m", "smollm2-135m"])
    expect = compare_pair(inputs, "gemma3-270m", "smollm2-135m", reg.policy.statistics)
    data = json.loads((out / "data" / "compare" / "gemma3-270m--smollm2-135m--paired.json").read_text())
    row = data["rows"][0]
    assert row["Shared cases"] == expect.paired.n == len(cases)
    diff = row["Difference (B − A) [95 % CI]"]
    assert diff["value"] == expect.paired.diff and diff["ci_low"] == expect.paired.ci_low
    assert diff["ci_high"] == expect.paired.ci_high
    assert f"{expect.paired.diff:.3f} [{expect.paired.ci_low:.3f}, {expect.paired.ci_high:.3f}]" in pages[cmp_name]
    qa = q[q["model_id"] == "gemma3-270m"].set_index("case_id")["accepted"]
    qb = q[q["model_id"] == "smollm2-135m"].set_index("case_id")["accepted"]
    assert abs(expect.paired.diff - float((qb - qa).dropna().mean())) < 1e-12
    # Per case, the median of every warm request of every run (1.0 s old, 2.0 s new), as the evidence table pools them.
    assert expect.latency_b == 2.0 and expect.latency_a == 1.5
    assert len(expect.both) + len(expect.only_a) + len(expect.only_b) + len(expect.neither) == len(cases)

    # Downloads are data: numbers, dicts of numbers, nulls; a schema in the JSON and beside the CSV.
    board = json.loads((out / "data" / "leaderboard--overall.json").read_text())
    assert set(board) == {"schema", "rows"}
    r0 = board["rows"][0]
    acc = r0["Acceptance [95 % CI]"]
    assert all(isinstance(acc[k], float) for k in ("rate", "ci_low", "ci_high"))
    assert isinstance(r0["Cases"], int) and isinstance(r0["Review pain"], float)
    assert r0["Cost per task"] == {"value": None, "currency": reg.pricing.currency}  # no machine: unknown
    assert r0["Judge (0–2)"] is None and "—" not in json.dumps(board["rows"])
    assert board["schema"]["Acceptance [95 % CI]"]["fields"]["rate"]["type"] == "number"
    side = json.loads((out / "data" / "leaderboard--overall.schema.json").read_text())
    header = (out / "data" / "leaderboard--overall.csv").read_text().splitlines()[0].split(",")
    assert side["csv_columns"] == header and "Acceptance [95 % CI].rate" in header

    # data/index.json lists every dataset; each run offers its manifest and results.
    index = json.loads((out / "data" / "index.json").read_text())["datasets"]
    paths = {d["path"] for d in index}
    lb_entry = next(d for d in index if d["path"] == "data/leaderboard--overall.json")
    assert lb_entry["page"] == "leaderboard.md" and lb_entry["rows"] == len(board["rows"])
    assert "Model" in lb_entry["columns"]
    for path in paths:
        assert (out / path).is_file(), path
    for run_id in (OLD_RUN, NEW_RUN):
        assert f"data/runs/{run_id}/results.jsonl.gz" in paths
        src = (site_inputs["runs"] / run_id / "results.jsonl").read_bytes()
        assert gzip.decompress((out / "data" / "runs" / run_id / "results.jsonl.gz").read_bytes()) == src
        assert json.loads((out / "data" / "runs" / run_id / "manifest.json").read_text())["run_id"] == run_id


def test_safe_slug_never_a_path() -> None:
    taken: set[str] = set()
    assert safe_slug("../../etc/passwd", taken) == "etc-passwd"
    assert safe_slug("ETC passwd", taken) == "etc-passwd-2"
    assert safe_slug("..", taken) == "case"
    assert safe_slug("<script>", taken) == "script"
    paths = case_paths([("smoke", "a/b"), ("smoke", "a b"), ("models", "x")])
    assert len(set(paths.values())) == 3
    assert all(re.fullmatch(r"cases/[a-z0-9-]+/[a-z0-9-]+\.md", p) for p in paths.values())
    assert paths[("models", "x")] != "cases/models/x.md"  # cases/models/ holds the per-model lists


def test_cut_at_word_and_pre_marks_it() -> None:
    assert cut("alpha beta gamma", 12) == ("alpha beta", 6)
    assert cut("short", 10) == ("short", 0)
    html = pre("alpha beta\n\ngamma delta", 14, "full text in results.jsonl")
    assert "alpha beta&#10;&#10;…" not in html  # cut before the blank line's words, at a word
    assert html.startswith(RAW_OPEN + '<pre class="opsbench-output"><code>alpha beta…</code></pre>')
    assert "(truncated, 13 more characters; full text in results.jsonl)" in html
    assert "\n" not in pre("a\n\nb", 100)


def test_latest_results_picks_latest_run_lowest_level_last_repeat() -> None:
    rows = []
    for run in ("r1", "r2"):
        for level in (1, 4):
            for rep in (1, 2):
                rows.append(
                    {
                        "run_id": run,
                        "model_id": "m",
                        "suite": "s",
                        "case_id": "c",
                        "repeat": rep,
                        "concurrency": level,
                        "status": "ok",
                        "accepted": True,
                    }
                )
    latest = latest_results(pd.DataFrame(rows), ["r1", "r2"])
    assert len(latest) == 1
    r = latest.iloc[0]
    assert (r["run_id"], r["concurrency"], r["repeat"], r["runs_with_case"]) == ("r2", 1, 2, 2)


# --------------------------------------------------------------------------- figures link to runs and cases

_GROUP_LINK = re.compile(r'<a href="([^"]+)" title="the cases and runs behind [^"]* for (\w+) ([^"]+)">(\d+)</a>')


def _plan(inputs: dict[str, Path]) -> tuple[Any, Any, Any]:
    """The site plan (every page's Markdown) without running MkDocs."""
    reg = load_registry(inputs["registry"])
    store = scan_runs(inputs["runs"])
    plan, data = build_plan(reg, store.results, store.manifests, store.summaries, store.perf)
    return reg, plan, data


def _docs_path(page: str, href: str) -> str:
    """The docs file a relative link of a generated page names (pages link .html, plan keys are .md)."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(page), href.partition("#")[0]))
    return path.removesuffix(".html") + ".md" if path.endswith(".html") else path


def _check_group_links(plan: Any, reg: Any, page: str, text: str, by: str) -> set[str]:
    """Each by-``by`` count on ``text`` links to a list of exactly that many cases, all of its group
    (the group's section of the model's by-group page, or the model's whole list when the group is
    all of its cases). Returns the targets, ``page.md#anchor``."""
    case_of = {
        f"cases/{suite}/{c.id}.md": {"suite": suite, "role": c.role, "workload": c.workload}
        for suite, c in reg.all_cases()
    }
    targets = set()
    for href, group, value, count in _GROUP_LINK.findall(text):
        assert group == by, (group, by)
        target, anchor = _docs_path(page, href), href.partition("#")[2]
        targets.add(f"{target}#{anchor}" if anchor else target)
        listing = _page(plan, target)  # a KeyError is a link to a page the site does not have
        if anchor:  # the section under that id, up to the next one
            listing = listing.split(f'<h2 id="{anchor}">')[1].split("<h2 ")[0]
        listed = {_docs_path(target, h) for h in re.findall(r'href="([^"]+)"', listing)}
        cases = [case_of[p] for p in listed if p in case_of]
        assert len(cases) == int(count) and all(c[by] == unescape(value) for c in cases), (target, value)
    return targets


def _page(plan: Any, path: str) -> str:
    """A page's text: Markdown, or the HTML body of a drill-down page."""
    return plan.pages[path] if path in plan.pages else plan.html_pages[path][1]


def test_figures_link_to_their_runs_and_case_lists(site_inputs: dict[str, Path]) -> None:
    """Model, leaderboard and workload figures: every count links the list of exactly the cases it
    counts, and every row names the runs its figures come from."""
    _plant(site_inputs, 100)
    reg, plan, data = _plan(site_inputs)
    page = "models/gemma3-270m.md"
    text = plan.pages[page]
    targets = {_docs_path(page, h) for h in re.findall(r'href="([^"#]+)"', text) if "://" not in h}
    linked = {t for t in targets if t.startswith(("runs/", "cases/"))}
    assert linked and linked <= set(plan.pages) | set(plan.html_pages)
    assert {f"runs/{OLD_RUN}.md", f"runs/{NEW_RUN}.md", "cases/models/gemma3-270m.md"} <= targets
    for by in ("role", "workload"):
        section = text.split(f"## Results by {by}")[1].split("\n## ")[0]
        rows = data.board_of("model_id", "gemma3-270m", [by])
        lists = _check_group_links(plan, reg, page, section, by)
        assert len(lists) == len(rows) > 1 and all(f"/gemma3-270m/by-{by}.md#{by}-" in t for t in lists)
        # The runs column: optional (behind the column toggle), each run linked to its page.
        assert 'class="opsbench-opt">Runs</th>' in section
        assert f'href="../runs/{NEW_RUN}.html"' in section.split('data-label="Runs"')[1]
    # A group's list names every run its figures pool (both runs of smoke), not only the latest.
    group = _page(plan, "cases/models/gemma3-270m/by-role.md").split("<h2 ")[1]
    assert all(f'href="../../../runs/{r}.html"' in group for r in (OLD_RUN, NEW_RUN))
    levels = text.split("## Under load")[1].split("\n## ")[0]
    assert f'href="../runs/{OLD_RUN}.html"' in levels and f'href="../runs/{NEW_RUN}.html"' in levels

    board = plan.pages["leaderboard.md"]
    lists = {}
    for by in ("role", "suite", "workload"):
        section = board.split(f"## By {by}")[1].split("\n## ")[0]
        lists[by] = _check_group_links(plan, reg, "leaderboard.md", section, by)
    assert len(lists["role"]) == len(data.board(["role"])) > 1
    assert len(lists["workload"]) == len(data.board(["workload"])) > 1
    # Every case ran in one suite: its by-suite count is the model's whole list (no copy written).
    assert lists["suite"] == {"cases/models/gemma3-270m.md", "cases/models/smollm2-135m.md"}
    assert not [p for p in [*plan.pages, *plan.html_pages] if p.endswith("/by-suite.md")]
    # One page per model and kind of group, whatever the number of roles and workloads.
    assert sorted(p for p in plan.html_pages if p.startswith("cases/models/") and p.count("/") == 3) == [
        f"cases/models/{m}/by-{by}.md" for m in ("gemma3-270m", "smollm2-135m") for by in ("role", "workload")
    ]
    overall = board.split("## Overall")[1].split("\n## ")[0]
    assert f'href="runs/{NEW_RUN}.html"' in overall

    workload = next(c.workload for c in reg.suites["smoke"].cases if c.workload)
    wpage = f"workloads/{workload}.md"
    decisions = plan.pages[wpage].split("## Decision")[1].split("\n## ")[0]
    assert len(_check_group_links(plan, reg, wpage, decisions, "workload")) == 2  # both models ran its cases
    assert f'href="../runs/{NEW_RUN}.html"' in decisions
    gates = plan.pages[wpage].split("## Gates")[1].split("\n## ")[0].split("The cases and runs behind each column:")[1]
    assert f'href="../cases/models/gemma3-270m/by-workload.html#workload-{workload}"' in gates


def test_drill_down_links_are_made_once_per_depth_and_match_the_helpers() -> None:
    from types import SimpleNamespace

    from generator.site.pages.cases import Links, case_link, run_link
    from generator.site.pages.common import model_link

    reg: Any = SimpleNamespace(models={"m<1>": SimpleNamespace(display_name='M "one"')})
    paths = {"c&1": "cases/s/c-1.md"}
    links = Links(reg, paths)
    for page in ("cases/s/a.md", "cases/models/m.md", "compare/x.md"):
        assert links.model(page, "m<1>").html == model_link(reg, page, "m<1>").html
        assert links.model(page, "ext") == model_link(reg, page, "ext") == "ext (external)"
        assert links.run(page, "r1") == run_link(page, "r1")
        assert links.case(page, "c&1").html == case_link(page, paths, "c&1").html
        assert links.case_html(page, "nope") == "nope"  # no page: the id as text
    assert links.model("cases/s/a.md", "m<1>") is links.model("cases/t/b.md", "m<1>")  # one depth, one link
    assert links.run("compare/x.md", "r1") != links.run("cases/s/a.md", "r1")
    assert links.download("cases/s/a.md", "r1") == '<a href="../../data/runs/r1/results.jsonl.gz">results.jsonl</a>'


def test_rows_by_case_orders_each_case_by_model_and_verdicts_read_status_first() -> None:
    from generator.site.pages.caselists import verdicts
    from generator.site.pages.drill import rows_by_case

    latest = pd.DataFrame(
        {
            "model_id": ["b", "a", "a", "c"],
            "suite": ["s", "s", "s", "s"],
            "case_id": ["x", "x", "y", "x"],
            "status": ["ok", "failed", "ok", "ok"],
            "accepted": [True, True, None, False],
        }
    )
    by_case = rows_by_case(latest)
    assert [r.model_id for r in by_case[("s", "x")]] == ["a", "b", "c"]
    assert [r.model_id for r in by_case[("s", "y")]] == ["a"]
    assert verdicts(latest) == ["accepted", "hard failure", "not accepted", "not accepted"]

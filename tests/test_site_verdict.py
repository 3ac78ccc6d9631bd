"""Issue 15 parts 1, 5, 7, 8 on a built site: the home verdict computed from the evidence, balanced
and escaped content, model facts, the build stamp, and the Vega bundle only where charts are."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from generator import __version__
from generator.execute.checks import CHECK_DESCRIPTIONS
from generator.registry.loader import load_registry
from generator.registry.schema import CHECK_CATEGORY
from generator.site.build import publish_urls
from tests.conftest import BuiltSite
from tests.test_site import all_html, build

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_VOID = {"path", "circle", "rect", "line", "polyline", "polygon", "ellipse", "stop", "use"}


class ArticleTags(HTMLParser):
    """A tag stack over the page's <article> (the content area): every close matches its open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # >0 while inside the article
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article" and not self.depth:
            self.depth = 1
            return
        if self.depth and tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <x/> opens and closes

    def handle_endtag(self, tag: str) -> None:
        if not self.depth or tag in VOID:
            return
        if tag == "article" and not self.stack:
            self.depth = 0
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()

    def close(self) -> None:
        super().close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")


def test_built_site_verdict_text_stamp_and_bundle(planted_build: BuiltSite) -> None:
    # planted_build (tests/conftest.py): plant_run's payloads and a hostile case title, built once.
    reg = load_registry(planted_build.inputs["registry"])
    pages = all_html(planted_build.site)

    # Part 1: the home sentence counts what ran and what did not, from the registry and the runs.
    home = pages["index.html"]
    ran = {"gemma3-270m", "llama3.1-8b"}
    candidates = {c for w in reg.workloads_file.workloads for c in w.candidates}
    untested = len(candidates - ran)
    sentence = (
        f"No workload can move local yet: only gemma3-270m and llama3.1-8b have run; "
        f"{untested} of {len(candidates)} candidate(s) are untested."
    )
    assert sentence in home
    assert home.index(sentence) < home.index('<h2 id="routing-table"')
    assert "claude-sonnet (never measured)" in home
    # The routing table states the key figure against its gate, in per cent with the interval.
    assert re.search(r"acceptance_rate \d+ % \[\d+, \d+\] vs ≥ \d+ %", home)

    # Part 7: no unbalanced tag in any page's content area (the payloads planted in outputs included).
    for name, text in pages.items():
        parser = ArticleTags()
        parser.feed(text)
        parser.close()
        assert not parser.errors, (name, parser.errors[:3])
    assert "window.__pwned" not in "".join(re.findall(r"<script[^>]*>(.*?)</script>", home, re.S))

    # The failure kind `http_<code>` renders as code text, not as an element that swallows the page.
    method = pages["methodology.html"]
    assert "<code>http_&lt;code&gt;</code>" in method
    for kind in CHECK_CATEGORY:
        assert html.escape(CHECK_DESCRIPTIONS[kind]) in method, kind

    # Model facts: provider label, architecture from the registry, a run command where nothing ran.
    openai = next(m for m in reg.models_file.models if m.provider == "openai")
    assert "OpenAI-compatible" in pages[f"models/{openai.id}.html"]
    moe = next(m for m in reg.models_file.models if m.architecture == "moe")
    assert re.search(r"Architecture</td>\s*<td[^>]*>moe<", pages[f"models/{moe.id}.html"])
    hosted = next(
        m for m in reg.models_file.models if m.provider == "hosted" and "architecture" not in m.model_fields_set
    )
    assert "not stated in the registry" in pages[f"models/{hosted.id}.html"]
    assert "opsbench run --suite " in pages["models/qwen3.6-27b.html"]
    assert "--models qwen3.6-27b" in pages["models/qwen3.6-27b.html"]
    assert "opsbench run --suite" not in pages["models/gemma3-270m.html"]

    # Part 8: the footer stamp comes from the data (the run's date), the tool and the store's git commit.
    assert f"opsbench {__version__} · data commit <code>unknown</code> · data as of 2026-01-01" in home

    # The Vega bundle: never a site-wide script; named only by pages that draw a chart.
    with_charts = {n for n, t in pages.items() if 'class="opsbench-chart"' in t}
    assert with_charts and len(with_charts) < len(pages)
    for name, text in pages.items():
        assert not re.search(r"<script[^>]+vega-bundle\.js", text), name
        assert ("vega-bundle.js" in text) == (name in with_charts), name


def test_home_without_runs_says_nothing_ran(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    site_inputs["runs"].mkdir()
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    home = (tmp_path / "site" / "index.html").read_text()
    assert "No workload can move local yet: no model has run;" in home
    assert "data as of no runs" in home


def test_every_check_kind_has_a_description() -> None:
    assert set(CHECK_DESCRIPTIONS) == set(CHECK_CATEGORY)
    assert all(len(v) > 20 for v in CHECK_DESCRIPTIONS.values())


def test_site_url_comes_from_the_repository_setting() -> None:
    config = {"repo_url": "https://github.com/Acme/bench"}
    publish_urls(config)
    assert config["site_url"] == "https://acme.github.io/bench/"
    kept = {"repo_url": "https://github.com/Acme/bench", "site_url": "https://docs.example/"}
    publish_urls(kept)
    assert kept["site_url"] == "https://docs.example/"


def _methodology(registry: Path) -> str:
    """The methodology page's Markdown for a registry (no runs needed: it states the policy)."""
    from generator.runs.scan import scan_runs
    from generator.site.pages import build_plan

    reg = load_registry(registry)
    store = scan_runs(registry.parent / "no-runs")
    plan, _ = build_plan(reg, store.results, store.manifests)
    return plan.pages["methodology.md"]


def test_methodology_states_the_policy_and_the_promotion_test(registry_copy: Path) -> None:
    """Every policy section and setting is on the page with the value policy.yaml gives it, and the
    promotion test's method and measured power are quoted: edit the YAML and the page follows."""
    from pydantic import BaseModel

    from generator.analysis.promotion import PROMOTION_TEST_NOTE
    from generator.site.html import esc_md

    page = _methodology(registry_copy)
    assert esc_md(PROMOTION_TEST_NOTE) in page
    policy = load_registry(registry_copy).policy
    for name in type(policy).model_fields:
        block = getattr(policy, name)
        if not isinstance(block, BaseModel):
            continue
        assert f"### <code>{name}</code>" in page, name
        for field in type(block).model_fields:
            value = getattr(block, field)
            key = f"<code>{field}</code>" if not isinstance(value, BaseModel) else f"<code>{field}."
            assert key in page, (name, field)
    assert "Requests time out after 90 s." in page
    assert re.search(r"<code>request_timeout_s</code></td><td[^>]*>90</td>", page)
    assert "Monte Carlo with 20,000 resamples" in page

    path = registry_copy / "policy.yaml"
    text = path.read_text().replace("  request_timeout_s: 90\n", "  request_timeout_s: 77\n")
    path.write_text(text.replace("  permutation_resamples: 20000\n", "  permutation_resamples: 30000\n"))
    page = _methodology(registry_copy)
    assert "Requests time out after 77 s." in page and "after 90 s" not in page
    assert re.search(r"<code>request_timeout_s</code></td><td[^>]*>77</td>", page)
    assert "Monte Carlo with 30,000 resamples" in page and "20,000" not in page
    for kind in CHECK_CATEGORY:
        assert html.escape(CHECK_DESCRIPTIONS[kind]) in page, kind

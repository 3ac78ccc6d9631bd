"""Drill-down pages stamped into the theme's page shell (generator/site/shell.py), on made-up
shells: the real theme is covered by the site build tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.site.shell import BODY_MARK, TITLE_MARK, TOC_MARK, ShellError, shell_page, shell_sources, stamp
from generator.site.templates import Headings


def _shell(site: Path, depth: int) -> None:
    rel = shell_page(depth).removesuffix(".md") + ".html"
    text = (
        f'<html><head><title>{TITLE_MARK} - Site</title><link rel="canonical" href="https://x/{rel}"></head>'
        f'<body><a href="#{TITLE_MARK.lower()}" class="md-skip">skip</a>'
        f'<ul class="md-nav__list" data-md-component="toc" data-md-scrollfix><li>{TOC_MARK}</li></ul>'
        f'<article class="md-content__inner md-typeset"><h1>{TITLE_MARK}</h1><p>{BODY_MARK}</p></article></body></html>'
    )
    (site / rel).parent.mkdir(parents=True, exist_ok=True)
    (site / rel).write_text(text)


def test_one_shell_per_depth() -> None:
    assert set(shell_sources(["cases/a/b.md", "cases/models/m.md", "compare/x.md"])) == {shell_page(1), shell_page(2)}


def test_stamp_fills_title_canonical_toc_and_article_and_removes_the_shells(tmp_path: Path) -> None:
    _shell(tmp_path, 2)
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?>\n<urlset>\n    <url>\n         <loc>https://x/index.html</loc>\n'
        "         <lastmod>2026-01-01</lastmod>\n    </url>\n    <url>\n"
        f"         <loc>https://x/{shell_page(2).removesuffix('.md')}.html</loc>\n"
        "         <lastmod>2026-01-01</lastmod>\n    </url>\n</urlset>"
    )
    h = Headings()
    body = f"{h(1, 'Case <b>x</b>')}{h(2, 'Prompt')}{h(2, 'Results')}{h(3, 'model-a')}{h(2, 'Prompt')}"
    assert stamp(tmp_path, {"cases/s/x.md": ("Case <b>x</b>", body)}, "https://x/") == 1
    page = (tmp_path / "cases/s/x.html").read_text()
    assert "<title>Case &lt;b&gt;x&lt;/b&gt; - Site</title>" in page
    assert 'href="https://x/cases/s/x.html"' in page
    assert '<a href="#case-bxb" class="md-skip">' in page
    toc = page.split('data-md-component="toc"', 1)[1].split("</ul>\n", 1)[0]
    assert [a for a in ("#prompt", "#results", "#model-a", "#prompt_1") if f'href="{a}"' in toc] == [
        "#prompt",
        "#results",
        "#model-a",
        "#prompt_1",
    ]
    assert TITLE_MARK not in page and BODY_MARK not in page and TOC_MARK not in page
    assert not (tmp_path / "_opsbench-shell").exists()
    sitemap = (tmp_path / "sitemap.xml").read_text()
    assert "https://x/cases/s/x.html</loc>" in sitemap and "_opsbench-shell" not in sitemap
    assert "https://x/index.html</loc>" in sitemap and "<lastmod>2026-01-01</lastmod>" in sitemap


def test_a_shell_without_its_article_is_an_error(tmp_path: Path) -> None:
    rel = tmp_path / (shell_page(1).removesuffix(".md") + ".html")
    rel.parent.mkdir(parents=True)
    rel.write_text("<html>the theme changed</html>")
    with pytest.raises(ShellError, match="no article"):
        stamp(tmp_path, {"compare/a.md": ("a", "<p>a</p>")}, None)


def test_the_chrome_loses_its_indentation_but_the_article_keeps_every_character(tmp_path: Path) -> None:
    _shell(tmp_path, 1)
    path = tmp_path / (shell_page(1).removesuffix(".md") + ".html")
    path.write_text(path.read_text().replace("<body>", "<body>\n\n      <nav>\n        <a>x</a>\n      </nav>\n"))
    body = '<h1 id="a">A</h1><pre class="opsbench-output"><code>line 1\n\n    indented</code></pre>'
    stamp(tmp_path, {"compare/a.md": ("A", body)}, None)
    page = (tmp_path / "compare/a.html").read_text()
    assert "<body>\n<nav>\n<a>x</a>\n</nav>\n" in page
    assert "line 1\n\n    indented" in page

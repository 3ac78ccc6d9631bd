"""Drill-down pages stamped into the site's page shell after mkdocs.

A site of a big archive is mostly case and compare pages: thousands of them, each the same
theme chrome (header, nav, footer) around its own article. Run through mkdocs, each pays
Markdown and the theme's whole template (about 8 ms), which at 1M results is most of a build.
So these pages are made as HTML (``SitePlan.add_html``), and mkdocs renders one *shell* page
per folder depth instead: a page like any other, whose title and article are markers. After
mkdocs, every drill-down page is the shell of its depth with its own title, canonical URL
and article put in, so it has the theme's chrome exactly (relative asset links are right
because the shell sits at the same depth), and the shells are removed again.

The shells are out of the search index, as the drill-down pages are (outputs would make the
index grow with every case). A page's table of contents is made from its own ``h2``/``h3``
headings (``templates.Headings``) in the theme's markup, and its skip link points at its own
first heading. The stamped pages join the sitemap in place of the shells.
"""

from __future__ import annotations

import gzip
import html
import os
import re
import shutil
from pathlib import Path

from generator.site.html import esc, strip_raw

SHELL_DIR = "_opsbench-shell"
TITLE_MARK = "OPSBENCHSHELLTITLE"
BODY_MARK = "OPSBENCHSHELLBODY"
TOC_MARK = "OPSBENCHSHELLTOC"
_TOC = re.compile(r'(<ul class="md-nav__list" data-md-component="toc"[^>]*>)(.*?)(</ul>)', re.S)
_HEADING = re.compile(r'<h([23]) id="([^"]+)">(.*?)<a class="headerlink"')
_FIRST_ID = re.compile(r'<h1 id="([^"]+)"')
_ARTICLE = re.compile(r'(<article class="md-content__inner md-typeset">)(.*?)(</article>)', re.S)


class ShellError(RuntimeError):
    pass


def write_file(path: Path | str, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to a file in three system calls (open, write, close): a build writes
    thousands. ``exclusive``: refuse (``FileExistsError``) a file that is there already."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def shell_page(depth: int) -> str:
    """The docs path of the shell for pages ``depth`` folders deep (``cases/x/y.md``: 2)."""
    return f"{SHELL_DIR}/" + "d/" * max(depth - 1, 0) + "shell.md"


def _depth(path: str) -> int:
    return path.count("/")


def shell_sources(paths: list[str]) -> dict[str, str]:
    """The shell pages mkdocs must render for pages at ``paths``: docs path -> Markdown."""
    text = f"---\nsearch:\n  exclude: true\n---\n\n# {TITLE_MARK}\n\n{BODY_MARK}\n\n## {TOC_MARK}\n"
    return {shell_page(d): text for d in sorted({_depth(p) for p in paths if _depth(p) > 0})}


def _html_path(page: str) -> str:
    return page.removesuffix(".md") + ".html"


def stamp(site: Path, pages: dict[str, tuple[str, str]], site_url: str | None) -> int:
    """Write every page of ``pages`` (docs .md path -> (title, article HTML)) into the built
    ``site`` from its shell, then remove the shells; the number of pages written."""
    shells: dict[int, tuple[str, str, str]] = {}
    for depth in sorted({_depth(p) for p in pages if _depth(p) > 0}):
        path = site / _html_path(shell_page(depth))
        text = path.read_text(encoding="utf-8")
        m = _ARTICLE.search(text)
        if m is None or BODY_MARK not in m.group(2):
            raise ShellError(f"{path}: the page shell has no article to fill (theme changed?)")
        head, tail = text[: m.end(1)], text[m.start(3) :]
        toc = _TOC.search(head)
        if toc is None or TOC_MARK not in toc.group(2):
            raise ShellError(f"{path}: the page shell has no table of contents to fill (theme changed?)")
        shells[depth] = (_squeeze(head), _squeeze(tail), _html_path(shell_page(depth)))
    written = 0
    folders: set[Path] = set()
    for page, (title, body) in sorted(pages.items()):
        depth = _depth(page)
        if depth == 0:
            raise ShellError(f"{page}: HTML pages live in a folder (the shell needs a depth)")
        head, tail, shell_rel = shells[depth]
        target = _html_path(page)
        safe_title = esc(title)
        first = _FIRST_ID.search(body)
        head = head.replace(shell_rel, esc(target)).replace(f"#{TITLE_MARK.lower()}", f"#{first[1] if first else ''}")
        items = toc_items(body)
        head = _TOC.sub(lambda m, items=items: m[1] + items + m[3], head, count=1).replace(TITLE_MARK, safe_title)
        out = site / target
        if out.parent not in folders:
            out.parent.mkdir(parents=True, exist_ok=True)
            folders.add(out.parent)
        text = head + "\n" + strip_raw(body) + "\n" + tail.replace(TITLE_MARK, safe_title)
        write_file(out, text.encode("utf-8"))
        written += 1
    shutil.rmtree(site / SHELL_DIR, ignore_errors=True)
    _sitemap(site, [_html_path(p) for p in sorted(pages)], site_url)
    return written


_INDENT = re.compile(r"\n[ \t]*(?:\n[ \t]*)*")


def _squeeze(chrome: str) -> str:
    """The theme's chrome without its indentation and blank lines (a third of each stamped page's
    chrome, thousands of times over): every run of whitespace holding a line break becomes one
    line break, which renders the same outside preformatted text (the chrome has none; if a
    theme adds some, the chrome is left as it is)."""
    if re.search(r"<(pre|textarea)\b", chrome):
        return chrome
    return _INDENT.sub("\n", chrome)


def _item(hid: str, text: str, children: str = "") -> str:
    nav = f'<nav class="md-nav" aria-label="{text}"><ul class="md-nav__list">{children}</ul></nav>' if children else ""
    link = f'<a href="#{hid}" class="md-nav__link"><span class="md-ellipsis">{text}</span></a>'
    return f'<li class="md-nav__item">{link}{nav}</li>'


def toc_items(body: str) -> str:
    """The theme's table-of-contents items for a page body's h2 headings, its h3s nested."""
    tree: list[tuple[str, str, list[tuple[str, str]]]] = []
    for level, hid, text in _HEADING.findall(body):
        if level == "2" or not tree:
            tree.append((hid, text, []))
        else:
            tree[-1][2].append((hid, text))
    return "".join(_item(hid, text, "".join(_item(i, t) for i, t in kids)) for hid, text, kids in tree)


def _sitemap(site: Path, paths: list[str], site_url: str | None) -> None:
    """Drop the shells from mkdocs' sitemap and list the stamped pages (with the sitemap's
    own date, which comes from the data, not the clock)."""
    path = site / "sitemap.xml"
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    entries = re.findall(r"\s*<url>.*?</url>", text, re.S)
    kept = [e for e in entries if f"/{SHELL_DIR}/" not in e and f">{SHELL_DIR}/" not in e]
    dropped = [e for e in entries if e not in kept]
    date = re.search(r"<lastmod>(.*?)</lastmod>", dropped[0] if dropped else text)
    base = site_url or ""
    if base and not base.endswith("/"):
        base += "/"
    lastmod = f"\n         <lastmod>{html.escape(date.group(1))}</lastmod>" if date else ""
    added = [f"\n    <url>\n         <loc>{html.escape(base + p)}</loc>{lastmod}\n    </url>" for p in paths]
    start = text.find("<url>")
    head = text[: text.rfind("\n", 0, start) if start >= 0 else text.find("</urlset>")]
    new = head + "".join(kept) + "".join(added) + "\n</urlset>"
    path.write_text(new, encoding="utf-8")
    gz = site / "sitemap.xml.gz"
    if gz.is_file():
        with gzip.GzipFile(gz, "wb", mtime=0) as fh:
            fh.write(new.encode("utf-8"))

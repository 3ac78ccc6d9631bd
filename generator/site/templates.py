"""Jinja2 templates for generated pages, with autoescape on.

Escaping is the default here, not a call to remember: every ``{{ value }}`` in a
template is HTML-escaped unless the value is ``markupsafe.Markup`` (already-safe
HTML built by :mod:`generator.site.html`). Templates live in
``generator/site/templates/``; ``StrictUndefined`` turns a misspelt variable into
an error at build time rather than an empty cell on the site.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from generator.site.html import esc_md, raw_block

__all__ = ["Headings", "Markup", "environment", "render"]


class Headings:
    """``h(level, text)`` in an HTML page template: a heading with the id and permalink that
    Markdown's toc extension gives the Markdown pages (the same slugs, ``_1`` for a repeat),
    so an HTML page body reads and links like the rest of the site."""

    def __init__(self) -> None:
        self.ids: set[str] = set()

    def __call__(self, level: int, text: str) -> Markup:
        from markdown.extensions.toc import unique

        from generator.site.html import esc

        hid = esc(unique(_slug(str(text)), self.ids))
        return Markup(
            f'<h{level} id="{hid}">{esc(text)}<a class="headerlink" href="#{hid}" title="Permanent link">&para;</a>'
            f"</h{level}>"
        )


@lru_cache(maxsize=4096)
def _slug(text: str) -> str:
    """Markdown's toc slug of a heading (thousands of pages repeat the same headings)."""
    from markdown.extensions.toc import slugify

    return slugify(text, "-")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("generator.site", "templates"),
        # Page templates end in .md.j2 (Markdown with raw HTML blocks) or .html.j2: escape both.
        autoescape=select_autoescape(enabled_extensions=("html", "md", "j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # {% filter raw_block %}...{% endfilter %}: HTML that Markdown must not parse (see html.raw_block).
    env.filters["raw_block"] = lambda text: Markup(raw_block(str(text)))
    # Number formats and Markdown-safe text for templates: `{{ x|g }}` is 0.5 not 0.50000,
    # `{{ x|pct }}` 10 %-style "10%", `{{ x|thousands }}` 20,000, `{{ text|md }}` escapes HTML
    # and Markdown punctuation (contributor or registry prose in running Markdown text).
    env.filters["g"] = lambda v: f"{v:g}"
    env.filters["pct"] = lambda v: f"{v:.0%}"
    env.filters["thousands"] = lambda v: f"{v:,}"
    env.filters["md"] = lambda v: Markup(esc_md(v))
    return env


def render(name: str, **context: Any) -> str:
    """Render one template from generator/site/templates/ with autoescape; an ``.html.j2`` page
    body gets ``h`` (:class:`Headings`) for its headings."""
    if name.endswith(".html.j2"):
        context.setdefault("h", Headings())
    return environment().get_template(name).render(**context)

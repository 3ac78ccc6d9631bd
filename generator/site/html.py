"""Escaping and small HTML builders for generated pages.

Rule: every value that reaches a page goes through :func:`esc` (HTML) or
:func:`esc_md` (Markdown text). Model outputs, task prompts, titles and names are
untrusted; tables are emitted as raw HTML blocks, which Markdown leaves alone,
so escaped text can never turn back into markup, links or scripts.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Exactly the characters Python-Markdown treats as escapable: escaping any other
# (":" or "|") would show the backslash.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!])")


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so it is safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def esc_md(value: Any) -> str:
    """Escape for Markdown running text: HTML first, then Markdown punctuation, one line."""
    text = " ".join(("" if value is None else str(value)).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def fmt_num(value: Any, digits: int = 2, pct: bool = False) -> str:
    if value is None:
        return "—"
    try:
        f = float(value)
    except (TypeError, ValueError):
        return esc(value)
    if math.isnan(f):
        return "—"
    if pct:
        return f"{f * 100:.{max(0, digits - 2)}f} %" if digits > 2 else f"{f * 100:.0f} %"
    return f"{f:.{digits}f}"


class Cell:
    """A pre-rendered cell (already safe HTML) with an optional sort key."""

    def __init__(self, html_text: str, sort: Any = None, cls: str | None = None, plain: Any = None):
        self.html = html_text
        self.sort = sort
        self.cls = cls
        self.plain = plain  # what a CSV/JSON download holds; default: the text without tags


_TAGS = re.compile(r"<[^>]*>")


def _cell_text(v: Any) -> str:
    """The visible text of a cell, for deciding whether its column is empty."""
    if v is None:
        return ""
    text = v.html if isinstance(v, Cell) else str(v)
    return (_TAGS.sub("", text) if "<" in text else text).strip()


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    cls: str = "opsbench-table",
    caption: str | None = None,
    glossary: Mapping[str, str] | None = None,
) -> str:
    """An HTML table; plain values are escaped, :class:`Cell` values are trusted HTML.

    Columns empty in every row are dropped (a column of "—" tells the reader nothing).
    Headers the glossary defines carry the definition as a tooltip and in a legend
    under the table; glossary ``OPTIONAL_COLUMNS`` start hidden behind the page's
    "Columns" control (tables.js); each cell names its column in ``data-label`` so
    the narrow-screen card layout can label it. ``glossary``: the definitions to use
    (``glossary.glossary(policy)``, which states the policy's numbers); default: the
    entries that state none.
    """
    from generator.site.glossary import EMPTY_CELLS, OPTIONAL_COLUMNS, define

    body = [list(r) for r in rows]
    keep = [
        i
        for i in range(len(headers))
        if not body or any(i < len(r) and _cell_text(r[i]) not in EMPTY_CELLS for r in body)
    ]
    # No class on <table> itself: Material styles only `table:not([class])`.
    # The box scrolls wide tables; a scrolling region must be reachable by keyboard
    # and named (axe: scrollable-region-focusable).
    name = caption or "Table: " + ", ".join(headers[i] for i in keep[:3])
    out = [
        f'<div class="{esc(cls)}" data-rows="{len(body)}" role="region" tabindex="0" aria-label="{esc(name)}"><table>'
    ]
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    ths, legend = [], []
    for col, i in enumerate(keep):
        h = headers[i]
        note = define(h, glossary)
        attrs = f' data-col="{col}"'
        if note:
            attrs += f' title="{esc(note)}"'
            legend.append(f"<dt>{esc(h)}</dt><dd>{esc(note)}</dd>")
        if h in OPTIONAL_COLUMNS and col > 0:
            attrs += ' class="opsbench-opt"'
        ths.append(f'<th scope="col"{attrs}>{esc(h)}</th>')
    out.append("<thead><tr>" + "".join(ths) + "</tr></thead>")
    out.append("<tbody>")
    # Per column, once: the cell's opening tag (its label, and the class of an optional column).
    columns = []
    for col, i in enumerate(keep):
        h = headers[i]
        opt = h in OPTIONAL_COLUMNS and col > 0
        columns.append((i, f'<td data-label="{esc(h)}"', opt, ' class="opsbench-opt"' if opt else ""))
    width = len(headers)
    for row in body:
        if len(row) < width:
            row = [*row, *[""] * (width - len(row))]
        cells = []
        for i, td, opt, opt_cls in columns:
            v = row[i]
            if isinstance(v, Cell):
                attrs = td if v.sort is None else f'{td} data-sort="{esc(v.sort)}"'
                if v.cls:
                    attrs += f' class="{esc("opsbench-opt " + v.cls if opt else v.cls)}"'
                else:
                    attrs += opt_cls
                cells.append(f"{attrs}>{v.html}</td>")
            else:
                cells.append(f"{td}{opt_cls}>{esc(v)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if legend:
        out.append(
            '<details class="opsbench-legend"><summary>What the columns mean</summary><dl>'
            + "".join(legend)
            + "</dl></details>"
        )
    out.append("</div>")
    return "\n".join(out)


def pre(text: str | None, limit: int, note: str = "") -> str:
    """An escaped excerpt of untrusted text in a <pre> block, cut at a word and marked.

    Newlines are written as ``&#10;``: the block is one source line, so no blank line can end
    the raw HTML block, and copied text holds exactly the output's characters (no zero-width
    spaces). ``note`` names where the full text is when the excerpt is cut.
    """
    from generator.analysis.cases import cut

    body, more = cut(text if isinstance(text, str) else "", limit)
    escaped = esc(body).replace("\r", "&#13;").replace("\n", "&#10;")
    block = f'<pre class="opsbench-output"><code>{escaped}{"…" if more else ""}</code></pre>'
    if more:
        where = f"; {note}" if note else ""
        block += f'<p class="opsbench-truncated">(truncated, {more:,} more characters{esc(where)})</p>'
    return raw_block(block)


# Raw HTML blocks the build hands to the page after Markdown, not through it (``raw_block``).
RAW_OPEN = "<!--opsbench-raw-->"
RAW_CLOSE = "<!--/opsbench-raw-->"
_RAW_MARK = re.compile(re.escape(RAW_OPEN) + "|" + re.escape(RAW_CLOSE))
RAW_TOKEN = "<!--opsbench-fragment:{}-->"


def raw_block(markup: str) -> str:
    """Mark generated HTML that Markdown must not parse.

    Python-Markdown finds where a raw HTML block ends by running an HTML parser over all of it:
    on pages made of big tables and outputs that is most of a build's time, for a block it then
    passes through unchanged. ``split_raw`` lifts each marked block out of the page before
    Markdown runs and the build's mkdocs hook puts it back into the rendered page, so the HTML
    is the same and Markdown only sees a one-line comment. The markers are HTML comments, and
    untrusted text is escaped (``<`` becomes ``&lt;``), so no output or contributor text can
    open or close a block.
    """
    return f"{RAW_OPEN}{markup}{RAW_CLOSE}"


def split_raw(text: str) -> tuple[str, list[str]]:
    """``text`` with each outermost ``raw_block`` replaced by a token, and the blocks in order
    (inner markers dropped). A marker without its partner is left in place, harmless: it is an
    HTML comment."""
    out: list[str] = []
    blocks: list[str] = []
    depth, start, last = 0, 0, 0
    for m in _RAW_MARK.finditer(text):
        if m.group() == RAW_OPEN:
            if depth == 0:
                start = m.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out.append(text[last:start])
                out.append(RAW_TOKEN.format(len(blocks)))
                blocks.append(_RAW_MARK.sub("", text[start + len(RAW_OPEN) : m.start()]))
                last = m.end()
    out.append(text[last:])
    return "".join(out), blocks


def strip_raw(text: str) -> str:
    """``text`` without ``raw_block`` markers: for HTML that never goes through Markdown."""
    return _RAW_MARK.sub("", text)


def join_raw(html_text: str, blocks: list[str]) -> str:
    """Put the blocks ``split_raw`` lifted out back at their tokens in the rendered page."""
    if not blocks:
        return html_text
    parts = re.split(r"<!--opsbench-fragment:(\d+)-->", html_text)
    return "".join(blocks[int(p)] if i % 2 else p for i, p in enumerate(parts))


def json_attr(spec: dict[str, Any]) -> str:
    """A chart spec as an escaped HTML attribute value.

    Not a <script type="application/json">: Material's instant navigation re-creates
    the script elements of each new page to run them, and would run the JSON as code.
    """
    return esc(json.dumps(spec, sort_keys=True, separators=(",", ":")))


def badge(finding: str) -> str:
    return f'<span class="opsbench-badge opsbench-{esc(finding)}">{esc(finding)}</span>'

"""The site plan: every page, chart and data file, gathered before anything is written.

Page modules add to one :class:`SitePlan`; the writer in ``build.py`` writes it.
Every table a page shows goes through :meth:`SitePlan.table`, which also keeps
the full table as CSV and JSON next to the page, so the reader can download
what the page summarises (a long table shows its first rows only).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.site.charts import Chart
from generator.site.html import Cell, esc, json_attr, table

_TAG = re.compile(r"<[^>]+>")


def rel(from_page: str, target: str) -> str:
    """Relative link from one docs page to another docs file, as it will be in the built site.

    MkDocs rewrites ``.md`` links in Markdown but not inside raw HTML, and this site
    builds ``x.md`` into ``x.html`` (``use_directory_urls: false``): raw-HTML links
    must name the ``.html`` file themselves.
    """
    if target.endswith(".md"):
        target = target[:-3] + ".html"
    return "../" * from_page.count("/") + target


def plain(value: Any) -> Any:
    """The value a CSV/JSON download holds for one cell."""
    if isinstance(value, Cell):
        if value.plain is not None:
            return value.plain
        return html.unescape(_TAG.sub("", value.html)).strip()
    return value


VEGA_BUNDLE = "assets/vendor/vega-bundle.js"


@dataclass
class SitePlan:
    pages: dict[str, str] = field(default_factory=dict)  # docs-relative path -> Markdown
    charts: list[Chart] = field(default_factory=list)
    data_files: dict[str, str] = field(default_factory=dict)  # docs-relative path -> text
    nav: list[Any] = field(default_factory=list)

    def add(self, path: str, text: str) -> None:
        if path in self.pages:
            raise ValueError(f"two pages generated at {path}")
        self.pages[path] = text

    def chart(self, page: str, chart: Chart) -> str:
        """Register a chart and return its container: spec for vega-embed plus an SVG fallback."""
        if any(c.name == chart.name for c in self.charts):
            raise ValueError(f"two charts named {chart.name}")
        self.charts.append(chart)
        svg = rel(page, f"charts/{chart.name}.svg")
        return (
            # data-bundle: charts.js loads the Vega bundle from it, so only pages with a chart fetch it.
            f'<div class="opsbench-chart" data-chart="{esc(chart.name)}" data-spec="{json_attr(chart.spec)}" '
            f'data-bundle="{esc(rel(page, VEGA_BUNDLE))}">'
            f'<div class="opsbench-chart-target"></div>'
            f'<img class="opsbench-chart-fallback" src="{esc(svg)}" alt="{esc(chart.title)}"></div>'
        )

    def table(
        self,
        page: str,
        slug: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        max_rows: int | None = None,
        sortable: bool = True,
    ) -> str:
        """An HTML table plus CSV/JSON downloads of all its rows."""
        stem = page.removesuffix(".md")
        base = f"data/{stem}--{slug}"
        if f"{base}.csv" in self.data_files:
            raise ValueError(f"two tables named {slug} on {page}")
        plain_rows = [[plain(v) for v in row] for row in rows]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(plain_rows)
        self.data_files[f"{base}.csv"] = buf.getvalue()
        records = [dict(zip(headers, r, strict=True)) for r in plain_rows]
        self.data_files[f"{base}.json"] = json.dumps(records, indent=1, default=str, ensure_ascii=False) + "\n"
        shown = rows if max_rows is None else rows[:max_rows]
        cls = "opsbench-table opsbench-sortable" if sortable else "opsbench-table"
        links = (
            f'<p class="opsbench-download">Download: <a href="{esc(rel(page, base + ".csv"))}">CSV</a> · '
            f'<a href="{esc(rel(page, base + ".json"))}">JSON</a>'
        )
        if len(shown) < len(rows):
            links += f" · showing {len(shown):,} of {len(rows):,} rows; the downloads hold all of them"
        return table(headers, shown, cls=cls) + "\n" + links + "</p>"

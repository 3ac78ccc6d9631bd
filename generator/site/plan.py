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
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.site.charts import Chart
from generator.site.html import Cell, esc, json_attr, raw_block, table

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


MISSING = {"", "—", "-", "n/a", "nan"}


def plain(value: Any) -> Any:
    """The value a CSV/JSON download holds for one cell: numbers stay numbers (a dict of them
    where the page shows several in one cell), and a missing value is null, never "—"."""
    if isinstance(value, Cell):
        value = value.plain if value.plain is not None else html.unescape(_TAG.sub("", value.html)).strip()
    if isinstance(value, dict):
        return {k: _scalar(v) for k, v in value.items()}
    return _scalar(value)


def _scalar(value: Any) -> Any:
    # The common exact types first (a big table has a million cells), then the general rules.
    t = type(value)
    if t is str:
        return None if value.strip() in MISSING else value
    if t is float:
        return None if math.isnan(value) or math.isinf(value) else value
    if value is None or t is bool or t is int:
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        f = float(value)
        return None if math.isnan(f) or math.isinf(f) else value
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return _scalar(value.item())
    if isinstance(value, str) and value.strip() in MISSING:
        return None
    return value if isinstance(value, str) else str(value)


def _kind(t: type) -> str:
    """A JSON type name for a cell's Python type (bool before number: it is an int too)."""
    if t is type(None):
        return "null"
    if issubclass(t, bool):
        return "boolean"
    if issubclass(t, int | float):
        return "number"
    if issubclass(t, dict):
        return "object"
    return "string"


def _type(values: Sequence[Any]) -> str:
    kinds = {_kind(t) for t in {type(v) for v in values}}
    kinds.discard("null")
    return "/".join(sorted(kinds)) or "null"


FIELD_DOCS = {
    "rate": "share of cases, 0..1",
    "ci_low": "lower end of the 95 % interval",
    "ci_high": "upper end of the 95 % interval",
    "se": "standard error",
    "n": "count (cases or requests)",
    "value": "the figure itself",
    "total": "the figure's maximum",
    "currency": "ISO currency code",
}


def _fields(col: Sequence[Any]) -> list[str]:
    """The fields of a column's structured (dict) cells, sorted; none for a column of scalars."""
    if not any(isinstance(v, dict) for v in col):
        return []
    return sorted({k for v in col if isinstance(v, dict) for k in v})


def schema_of(headers: Sequence[str], rows: list[list[Any]]) -> dict[str, Any]:
    """What each column of a download holds: its type, and for structured cells their fields."""
    out: dict[str, Any] = {}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    for h, col in zip(headers, columns, strict=True):
        entry: dict[str, Any] = {"description": h, "type": _type(col)}
        subs = _fields(col)
        if subs:
            entry["fields"] = {
                k: {"type": _type([v.get(k) for v in col if isinstance(v, dict)]), "description": FIELD_DOCS.get(k, k)}
                for k in subs
            }
        out[h] = entry
    return out


def csv_columns(headers: Sequence[str], rows: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Flat CSV columns: a structured cell becomes one column per field (``Header.field``)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    subs = [_fields(col) for col in columns]
    cols: list[str] = []
    for h, ks in zip(headers, subs, strict=True):
        cols += [f"{h}.{k}" for k in ks] if ks else [h]
    if not any(subs):
        return cols, [["" if x is None else x for x in r] for r in rows]
    flat = []
    for r in rows:
        line: list[Any] = []
        for v, ks in zip(r, subs, strict=True):
            if ks:
                line += [(v.get(k) if isinstance(v, dict) else None) for k in ks]
            else:
                line.append(v)
        flat.append(["" if x is None else x for x in line])
    return cols, flat


VEGA_BUNDLE = "assets/vendor/vega-bundle.js"


@dataclass
class SitePlan:
    pages: dict[str, str] = field(default_factory=dict)  # docs-relative path -> Markdown
    # Pages made as HTML: docs-relative .md path (what links name) -> (title, article HTML),
    # stamped into the site's page shell after mkdocs (generator/site/shell.py).
    html_pages: dict[str, tuple[str, str]] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    data_files: dict[str, str] = field(default_factory=dict)  # docs-relative path -> text
    nav: list[Any] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)  # what data/index.json lists
    run_downloads: dict[str, str] = field(default_factory=dict)  # run id -> docs folder of its files
    # Drill-down targets, set before any page is made so every count can link to its cases.
    case_pages: dict[str, str] = field(default_factory=dict)  # case id -> its page
    model_case_pages: dict[str, str] = field(default_factory=dict)  # model id -> its list of cases
    # Column definitions for every table (glossary.glossary(policy)); None: the policy-free entries.
    glossary: dict[str, str] | None = None
    # case_link's cells, for the case_pages they were made from: (that dict, {(depth, case id): cell}).
    _case_links: tuple[dict[str, str] | None, dict[tuple[int, str], Any]] = field(
        default_factory=lambda: (None, {}), repr=False, compare=False
    )

    def add(self, path: str, text: str) -> None:
        if path in self.pages or path in self.html_pages:
            raise ValueError(f"two pages generated at {path}")
        self.pages[path] = text

    def add_html(self, path: str, title: str, body: str) -> None:
        """A page whose body is HTML already (a drill-down page): it skips Markdown and the
        theme's per-page rendering, which at thousands of case pages is most of a build."""
        if path in self.pages or path in self.html_pages:
            raise ValueError(f"two pages generated at {path}")
        self.html_pages[path] = (title, body)

    def chart(self, page: str, chart: Chart) -> str:
        """Register a chart and return its container: spec for vega-embed plus an SVG fallback."""
        if any(c.name == chart.name for c in self.charts):
            raise ValueError(f"two charts named {chart.name}")
        self.charts.append(chart)
        svg = rel(page, f"charts/{chart.name}.svg")
        return raw_block(
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
        downloads: bool = True,
    ) -> str:
        """An HTML table plus CSV/JSON downloads of all its rows.

        ``downloads=False`` for a table whose rows are a download already (a case page's results
        are lines of each run's ``results.jsonl``): thousands of case pages would otherwise copy the
        run downloads into 7,500 small files (80 MB at 2,500 cases)."""
        shown = rows if max_rows is None else rows[:max_rows]
        cls = "opsbench-table opsbench-sortable" if sortable else "opsbench-table"
        html_table = table(headers, shown, cls=cls, glossary=self.glossary)
        if not downloads:
            return raw_block(html_table)
        stem = page.removesuffix(".md")
        base = f"data/{stem}--{slug}"
        if f"{base}.csv" in self.data_files:
            raise ValueError(f"two tables named {slug} on {page}")
        plain_rows = [[plain(v) for v in row] for row in rows]
        schema = schema_of(headers, plain_rows)
        cols, flat = csv_columns(headers, plain_rows)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        writer.writerows(flat)
        self.data_files[f"{base}.csv"] = buf.getvalue()
        note = {"schema": schema, "csv_columns": cols, "page": page, "empty_cells": "null in JSON, empty in CSV"}
        self.data_files[f"{base}.schema.json"] = json.dumps(note, indent=1, ensure_ascii=False) + "\n"
        records = [dict(zip(headers, r, strict=True)) for r in plain_rows]
        self.data_files[f"{base}.json"] = (
            # One row a line, without indentation: a big table's download stays a third smaller.
            _rows_json(schema, records)
        )
        self.datasets.append(
            {"path": f"{base}.json", "csv": f"{base}.csv", "page": page, "columns": list(headers), "rows": len(rows)}
        )
        links = (
            f'<p class="opsbench-download">Download: <a href="{esc(rel(page, base + ".csv"))}">CSV</a> · '
            f'<a href="{esc(rel(page, base + ".json"))}">JSON</a>'
        )
        if len(shown) < len(rows):
            links += f" · showing {len(shown):,} of {len(rows):,} rows; the downloads hold all of them"
        return raw_block(html_table + "\n" + links + "</p>")

    def case_link(self, page: str, case_id: str) -> Cell | str:
        """A case id linked to its drill-down page (plain text when it has none). Made once per
        folder depth of ``page`` (a relative link depends on nothing else): a run page links
        every case it holds. The cells are shared, so they are never changed."""
        if self._case_links[0] is not self.case_pages:
            self._case_links = (self.case_pages, {})
        made = self._case_links[1]
        key = (page.count("/"), case_id)
        hit = made.get(key)
        if hit is None:
            target = self.case_pages.get(case_id)
            hit = made[key] = (
                case_id
                if target is None
                else Cell(f'<a href="{esc(rel(page, target))}">{esc(case_id)}</a>', plain=case_id)
            )
        return hit

    def cases_count(self, page: str, model_id: str, count: Any) -> Cell | Any:
        """A count of a model's cases linked to the list of those cases and their runs."""
        target = self.model_case_pages.get(model_id)
        if target is None:
            return count
        title = f"the cases and runs behind {model_id}'s figures"
        return Cell(
            f'<a href="{esc(rel(page, target))}" title="{esc(title)}">{esc(count)}</a>', sort=count, plain=count
        )

    def download(self, page: str, path: str, description: str, rows: int | None = None) -> None:
        """List a data file that is not a table (a run's results, say) in data/index.json."""
        self.datasets.append({"path": path, "page": page, "description": description, "rows": rows})

    def index_json(self) -> str:
        """data/index.json: every dataset of the site, with the page that shows it."""
        items = sorted(self.datasets, key=lambda d: d["path"])
        return json.dumps({"datasets": items}, indent=1, ensure_ascii=False) + "\n"


def _rows_json(schema: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """``{"schema": ..., "rows": [...]}`` with each row compact on its own line: readable, diffable,
    and without the indentation that made up a third of the site's downloads."""

    dump = _COMPACT.encode
    if not records:
        return f'{{"schema":{dump(schema)},"rows":[]}}\n'
    rows = ",\n".join(dump(r) for r in records)
    return f'{{"schema":{dump(schema)},\n"rows":[\n{rows}\n]}}\n'


# json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":")), without making an
# encoder per call (one call per row of every download).
_COMPACT = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":"))

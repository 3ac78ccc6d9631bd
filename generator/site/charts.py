"""Altair charts, built from aggregated frames only (never raw per-request rows).

Each chart is kept twice: the Vega-Lite spec, embedded in the page and drawn by
the vendored vega-embed bundle (no CDN), and a static SVG rendered offline by
vl-convert as the no-JavaScript fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

MAX_POINTS = 5000  # Altair's own inline limit; we aggregate far below it


@dataclass
class Chart:
    name: str  # file stem, a safe slug
    title: str
    spec: dict[str, Any]

    def svg(self) -> str:
        """Static rendering; a container-width chart gets a fixed width for the file."""
        import vl_convert as vlc

        spec = dict(self.spec)
        if spec.get("width") == "container":
            spec["width"] = 640
        spec["background"] = "white"
        return vlc.vegalite_to_svg(spec)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    if len(df) > MAX_POINTS:
        raise ValueError(f"chart data has {len(df)} rows; aggregate before plotting")
    clean = df.astype(object).where(pd.notna(df), None)
    return clean.to_dict(orient="records")


def acceptance_vs_latency(board: pd.DataFrame, name: str = "acceptance-vs-latency") -> Chart:
    """Acceptance rate (with its 95 % Wilson interval) against median latency, one point per model."""
    import altair as alt

    data = board[["model_id", "acceptance_rate", "acceptance_low", "acceptance_high", "latency_p50_s", "cases"]].copy()
    # A model with no latency measurement has no place on a latency axis: it is left out
    # (the board beside the chart lists it), never plotted at 0 s as if it were fastest.
    data = data[data["latency_p50_s"].notna()]
    source = alt.Data(values=_records(data))
    base = alt.Chart(source).encode(
        x=alt.X("latency_p50_s:Q", title="Median latency, warm (s)", scale=alt.Scale(zero=True)),
        color=alt.Color("model_id:N", title="Model"),
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y(
            "acceptance_low:Q",
            title="Acceptance rate (95 % Wilson interval)",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        y2="acceptance_high:Q",
    )
    points = base.mark_point(filled=True, size=90).encode(
        y="acceptance_rate:Q",
        tooltip=[
            alt.Tooltip("model_id:N", title="Model"),
            alt.Tooltip("acceptance_rate:Q", title="Acceptance", format=".0%"),
            alt.Tooltip("acceptance_low:Q", title="Low", format=".0%"),
            alt.Tooltip("acceptance_high:Q", title="High", format=".0%"),
            alt.Tooltip("latency_p50_s:Q", title="Latency p50 (s)", format=".2f"),
            alt.Tooltip("cases:Q", title="Cases"),
        ],
    )
    chart = (bars + points).properties(width="container", height=320, title="Acceptance vs latency")
    spec = chart.to_dict()
    spec["background"] = None  # follow the page's light or dark background
    return Chart(name, "Acceptance vs latency", spec)


def quality_vs_cost(board: pd.DataFrame, name: str = "quality-vs-cost", currency: str | None = None) -> Chart:
    """Acceptance against cost per task (hosted price × tokens, or local energy × time).

    The cost axis names its currency (registry pricing) so a reader never guesses it.
    """
    import altair as alt

    data = board[["model_id", "acceptance_rate", "acceptance_low", "acceptance_high", "cost_per_task"]].dropna(
        subset=["cost_per_task"]
    )
    source = alt.Data(values=_records(data))
    base = alt.Chart(source).encode(
        x=alt.X(
            "cost_per_task:Q",
            title=f"Cost per task (median, {currency})" if currency else "Cost per task (median)",
            scale=alt.Scale(zero=True),
        ),
        color=alt.Color("model_id:N", title="Model"),
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        y=alt.Y(
            "acceptance_low:Q",
            title="Acceptance rate (95 % interval)",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format="%"),
        ),
        y2="acceptance_high:Q",
    )
    points = base.mark_point(filled=True, size=90).encode(
        y="acceptance_rate:Q",
        tooltip=[
            alt.Tooltip("model_id:N", title="Model"),
            alt.Tooltip(
                "cost_per_task:Q", title=f"Cost per task ({currency})" if currency else "Cost per task", format=".6f"
            ),
            alt.Tooltip("acceptance_rate:Q", title="Acceptance", format=".0%"),
        ],
    )
    spec = (bars + points).properties(width="container", height=300, title="Quality vs cost").to_dict()
    spec["background"] = None
    return Chart(name, "Quality vs cost", spec)


def latency_under_load(load: pd.DataFrame, name: str) -> Chart:
    """Median and p95 latency per load level (concurrency), one line per model and statistic."""
    import altair as alt

    long = load.melt(
        id_vars=["model_id", "concurrency"],
        value_vars=["latency_p50_s", "latency_p95_s"],
        var_name="statistic",
        value_name="seconds",
    ).dropna(subset=["seconds"])
    long["statistic"] = long["statistic"].map({"latency_p50_s": "p50", "latency_p95_s": "p95"})
    source = alt.Data(values=_records(long))
    chart = (
        alt.Chart(source)
        .mark_line(point=True)
        .encode(
            x=alt.X("concurrency:Q", title="Requests in flight"),
            y=alt.Y("seconds:Q", title="End-to-end latency (s)"),
            color=alt.Color("model_id:N", title="Model"),
            strokeDash=alt.StrokeDash("statistic:N", title="Statistic"),
            tooltip=[
                alt.Tooltip("model_id:N", title="Model"),
                alt.Tooltip("concurrency:Q", title="Requests in flight"),
                alt.Tooltip("statistic:N", title="Statistic"),
                alt.Tooltip("seconds:Q", title="Latency (s)", format=".2f"),
            ],
        )
    )
    spec = chart.properties(width="container", height=260, title="Latency under load").to_dict()
    spec["background"] = None
    return Chart(name, "Latency under load", spec)


def measured_vs_ceiling(rows: pd.DataFrame, name: str = "measured-vs-ceiling") -> Chart:
    """Bandwidth ceiling and measured decode speed per machine × model."""
    import altair as alt

    long = rows.melt(
        id_vars=["label"], value_vars=["ceiling_tps", "measured_tps"], var_name="figure", value_name="tps"
    ).dropna(subset=["tps"])
    long["figure"] = long["figure"].map({"ceiling_tps": "bandwidth ceiling", "measured_tps": "measured"})
    source = alt.Data(values=_records(long))
    chart = (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=None),
            x=alt.X("tps:Q", title="Output tokens/s"),
            yOffset="figure:N",
            color=alt.Color("figure:N", title=None),
            tooltip=[
                alt.Tooltip("label:N", title="Model on machine"),
                alt.Tooltip("figure:N", title="Figure"),
                alt.Tooltip("tps:Q", title="Output tokens/s", format=".1f"),
            ],
        )
    )
    spec = chart.properties(width="container", title="Measured vs bandwidth ceiling").to_dict()
    spec["background"] = None
    return Chart(name, "Measured vs bandwidth ceiling", spec)


def cumulative_cost(series: pd.DataFrame, name: str, title: str) -> Chart:
    """Cumulative cost per month for each path; the lines cross at break-even."""
    import altair as alt

    source = alt.Data(values=_records(series))
    chart = (
        alt.Chart(source)
        .mark_line()
        .encode(
            x=alt.X("month:Q", title="Month"),
            y=alt.Y("cumulative:Q", title="Cumulative cost"),
            color=alt.Color("path:N", title=None),
            tooltip=[
                alt.Tooltip("path:N", title="Path"),
                alt.Tooltip("month:Q", title="Month"),
                alt.Tooltip("cumulative:Q", title="Cumulative cost", format=",.0f"),
            ],
        )
    )
    spec = chart.properties(width="container", height=240, title=title).to_dict()
    spec["background"] = None
    return Chart(name, title, spec)

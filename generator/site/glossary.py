"""What every table column means, written once.

Table headers carry these definitions as tooltips (``title`` on the ``<th>``) and in
the legend under each table, so a reader meets the definition where the figure
appears; the methodology page can read the same dict. Display settings (which
columns a table shows before the reader asks for more) live here too: they are
presentation, not policy.
"""

from __future__ import annotations

GLOSSARY: dict[str, str] = {
    "Rank": "Position on the board; models whose acceptance intervals overlap share a rank range.",
    "Cases": "Scored cases behind the row (all repeats of all cases of the workload or suite).",
    "Acceptance": "Share of cases whose output passes every check of the case, with its 95 % interval.",
    "Acceptance [95 % CI]": "Share of cases whose output passes every check of the case, with its 95 % "
    "Wilson interval.",
    "Weighted score": "Mean of the per-check scores weighted by each check's weight (0–1); partial "
    "credit where acceptance is all-or-nothing.",
    "Review pain": "Mean over cases of the severity weights of the failed checks (plus the case's weight "
    "if the request failed): the reviewer attention an output costs. Methodology gives the full rule.",
    "Hard failures": "Share of requests that produced no usable output (error, timeout, empty reply).",
    "Failure kinds": "The most common kinds of failed checks in this row.",
    "Judge (0–2)": "Mean grade of the judge model, 0 (unusable) to 2 (good), where a judge ran.",
    "TTFT p50 (s)": "Median time to first token, seconds, over warm requests.",
    "Latency p50 (s)": "Median end-to-end seconds per request.",
    "Latency p95 (s)": "95th percentile of end-to-end seconds per request: the slow tail.",
    "Output tok/s": "Median output tokens per second per request (decode speed).",
    "Cost per task": "Energy and hardware cost of one task on the local machine, in the page's currency.",
    "Finding": "The verdict for the row: keep, fix, defer, reject or undecided (see Methodology).",
    "Route": "Where the work goes under the routing rules: local, hosted or human.",
    "Fits": "Whether weights + KV cache + runtime overhead + OS reserve fit in the machine's memory.",
    "Weights (GB)": "Size of the quantized weights in memory.",
    "KV (GB)": "KV cache at the stated context and concurrency.",
    "Total (GB)": "Weights + KV cache + runtime overhead + OS reserve.",
    "Memory (GB)": "The machine's memory available to the model (unified or VRAM).",
    "GB per token": "Bytes read from memory per generated token (weights plus KV), in GB.",
    "Ceiling tok/s": "Memory bandwidth divided by GB per token: the decode speed no runtime can beat.",
    "Calibrated tok/s (range)": "The ceiling scaled by the measured efficiency of a similar run, with its range.",
    "Tokens/month 24/7 (ceiling)": "Output tokens a month at the ceiling speed, running day and night.",
}

# Columns a table hides until the reader turns them on ("Columns" control): the
# leaderboard must fit 1280 px with the rest.
OPTIONAL_COLUMNS: frozenset[str] = frozenset(
    {"TTFT p50 (s)", "Latency p95 (s)", "Weighted score", "Calibrated from", "GB per token"}
)

# Cell texts that mean "no value": a column holding only these is dropped.
EMPTY_CELLS: frozenset[str] = frozenset({"", "—", "-", "–", "n/a"})


def define(header: str) -> str | None:
    """The definition of a column header: its exact entry, else the longest entry it starts with."""
    if header in GLOSSARY:
        return GLOSSARY[header]
    best = max((k for k in GLOSSARY if header.startswith(k + " ")), key=len, default=None)
    return GLOSSARY[best] if best else None

"""What every table column means, written once.

Table headers carry these definitions as tooltips (``title`` on the ``<th>``) and in
the legend under each table, so a reader meets the definition where the figure
appears; the methodology page can read the same dict. An entry that states a policy
number (a severity weight, the judge's scale, the test level) is built from the policy
by :func:`glossary`, so it cannot drift from ``registry/policy.yaml``; :data:`GLOSSARY`
holds only the entries that state none. Display settings (which columns a table shows
before the reader asks for more) live here too: they are presentation, not policy.
"""

from __future__ import annotations

from collections.abc import Mapping

from generator.registry.schema import PolicyFile

GLOSSARY: dict[str, str] = {
    "Cases": "Scored cases behind the row (a case's repeats count once); the count links to the list of "
    "those cases and the runs each result came from.",
    "Acceptance": "Share of cases whose output passes every check of the case, with its 95 % interval.",
    "Acceptance [95 % CI]": "Share of cases whose output passes every check of the case, with its 95 % "
    "Wilson interval.",
    "Hard failures": "Share of requests that produced no usable output (error, timeout, empty reply).",
    "Failure kinds": "The most common kinds of failed checks in this row.",
    "TTFT p50 (s)": "Median time to first token, seconds, over warm requests.",
    "Latency p50 (s)": "Median end-to-end seconds per request.",
    "Latency p95 (s)": "95th percentile of end-to-end seconds per request: the slow tail.",
    "Output tok/s": "Median output tokens per second per request (decode speed).",
    "Cost per task": "Energy and hardware cost of one task on the local machine, in the page's currency.",
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
    "Runs": "The runs the row's figures come from, each linked to its page (settings, machine, downloads).",
}


def judge_header(policy: PolicyFile) -> str:
    """The judge column's header, with the policy's scale ("Judge (0–2)")."""
    return f"Judge (0–{policy.judge.scale_max})"


def _weights(policy: PolicyFile) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in policy.scoring.severity_weights.items())


def glossary(policy: PolicyFile) -> dict[str, str]:
    """Every column definition, the policy's numbers read from ``policy`` (never restated here)."""
    s, j, st = policy.scoring, policy.judge, policy.statistics
    findings = [f for f in policy.decisions.order if f != "insufficient-evidence"]
    return {
        **GLOSSARY,
        "Rank": "One plus the number of models significantly better on the cases both have (paired test, "
        f"two-sided α = {st.alpha:g}); models not told apart share a rank.",
        "Weighted score": f"Severity weights ({_weights(policy)}) of the accepted cases out of the weights of "
        "all cases: acceptance with the serious cases counting more.",
        "Review pain": f"{' '.join(s.review_pain_definition.split())} Severity weights: {_weights(policy)}.",
        judge_header(policy): "Mean judge score on the policy's scale, "
        + ", ".join(f"{x.score} ({x.label.split(':')[0]})" for x in sorted(j.scale_labels, key=lambda x: x.score))
        + ", where a judge ran.",
        "Finding": f"The verdict for the row: {', '.join(findings)}, insufficient evidence (the interval "
        "straddles a gate) or undecided (a gate has no data); see Methodology.",
    }


# Columns a table hides until the reader turns them on ("Columns" control): the
# leaderboard must fit 1280 px with the rest.
OPTIONAL_COLUMNS: frozenset[str] = frozenset(
    {"TTFT p50 (s)", "Latency p95 (s)", "Weighted score", "Calibrated from", "GB per token", "Runs"}
)

# Cell texts that mean "no value": a column holding only these is dropped.
EMPTY_CELLS: frozenset[str] = frozenset({"", "—", "-", "–", "n/a"})


def define(header: str, entries: Mapping[str, str] | None = None) -> str | None:
    """The definition of a column header in ``entries`` (default: the policy-free :data:`GLOSSARY`):
    its exact entry, else the longest entry it starts with."""
    entries = GLOSSARY if entries is None else entries
    if header in entries:
        return entries[header]
    best = max((k for k in entries if header.startswith(k + " ")), key=len, default=None)
    return entries[best] if best else None

"""Methodology, generated from policy.yaml and the check definitions so it cannot drift from the code."""

from __future__ import annotations

from generator.registry.schema import CHECK_CATEGORY, Check
from generator.site.html import esc, esc_md
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "methodology.md"


def _check_docs() -> list[list[str]]:
    rows = []
    for cls in Check.__args__[0].__args__:  # type: ignore[attr-defined]
        kind = cls.model_fields["kind"].annotation.__args__[0]
        fields = [f for f in cls.model_fields if f not in ("kind", "id", "severity", "note")]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        rows.append([kind, CHECK_CATEGORY[kind], ", ".join(fields) or "—", doc])
    rows.append(
        [
            "prompt_echo (built in)",
            CHECK_CATEGORY["prompt_echo"],
            "—",
            "Fails an output that repeats a line of the case's own instructions.",
        ]
    )
    return rows


def methodology_page(data: SiteData, plan: SitePlan) -> str:
    pol = data.reg.policy
    s, ex, pr, j, rv = pol.scoring, pol.execution, pol.promotion, pol.judge, pol.review
    weights = ", ".join(f"{k} {v:g}" for k, v in s.severity_weights.items())
    out = [
        "# Methodology",
        "",
        "Generated from `registry/policy.yaml` and the check definitions in the code: when either "
        "changes, this page changes with it.",
        "",
        "## What each request records",
        "",
        "Timings follow vLLM's and GuideLLM's benchmark definitions: **TTFT** (request sent → first "
        "non-empty token), **E2E latency** (→ last token), **ITL** (gaps between streamed chunks; mean and "
        "p95), **TPOT** ((E2E − TTFT) ÷ (output tokens − 1)), output tokens/s per request, prompt and "
        "completion tokens (marked *estimated* when counted by the bench rather than reported by the "
        "server), and what the runtime reports about itself (llama.cpp `timings`, Ollama durations). "
        "The first request to each model after load is labelled **cold start** and left out of "
        "steady-state latency; its penalty is measured against warm requests at the same load level.",
        "",
        "Each load level (`--concurrency`, `--sweep`) is its own measurement. A single latency or "
        "tokens/s figure (leaderboards, measured speed against the bandwidth ceiling, run-to-run "
        "deltas) is taken at each model's lowest measured level, one request in flight as a rule; "
        "a latency gate reads that level too unless it names one (`concurrency:` on the gate in "
        "`workloads.yaml`). Model pages show every level.",
        "",
        f"Requests time out after {ex.request_timeout_s:g} s. Connection errors, HTTP 429 (honouring "
        f"Retry-After) and 5xx are retried up to {ex.max_retries} times with exponential backoff from "
        f"{ex.backoff_base_s:g} s (capped at {ex.backoff_max_s:g} s, with jitter); every attempt is kept and "
        "the final one is scored. A request without a usable answer is a **hard failure** with a kind: "
        "timeout, connection, http_<code>, rate_limited, truncated_stream, malformed_response, "
        "empty_output, context_overflow, runtime_error. Sampling: temperature "
        f"{ex.temperature:g}, seed {ex.seed}.",
        "",
        "## How outputs are scored",
        "",
        "Every case carries deterministic checks; a case is **accepted** only if all pass. A reasoning "
        "model's `<think>` block is kept in the record but not scored.",
        "",
        plan.table(PAGE, "checks", ["Check", "Counts as", "Fields", "What it does"], _check_docs(), sortable=False),
        "",
        f"Severity weights: {esc_md(weights)}. **Weighted score** adds the weight of each accepted case. "
        f"**Review pain**: {esc_md(s.review_pain_definition)}",
        "",
        f"A built-in check fails any output that repeats an instruction line of at least "
        f"{s.prompt_echo_min_chars} characters verbatim, so a model that copies its prompt cannot pass a "
        "required-phrase check with the prompt's own words.",
        "",
        "## Judges (optional)",
        "",
        f"One or two judge models from different families score an output 0 (fail), 1 (acceptable) or "
        f"{j.scale_max} (good) against the case rubric; a spread above {j.disagreement_threshold:g} between "
        "judges, or a judge that gives no score, flags the case for human review. Configured judges: "
        f"{', '.join(j.judges) or 'none'}.",
        "",
        "## Human review",
        "",
        "A workload's rubric (`review_rubric` in `workloads.yaml`) names what a person grades, on whole-number "
        "scales where higher is better. `opsbench review sample` draws a seeded sample, the same number of "
        "outputs per model where possible and on the same cases, leaving hard failures out; the reviewer sees "
        "an opaque item id, the task and the output, never the model. An output is **human acceptable** when "
        f"every dimension scores at least {rv.acceptable_score}. Each model's mean per dimension carries a "
        f"{rv.interval_level:.0%} percentile bootstrap interval ({rv.bootstrap_resamples} resamples over graded "
        "outputs); the gap to the hosted baseline is the mean over shared cases of the per-case difference, "
        "bootstrapped over those cases. Cohen's kappa compares human acceptable with the checks' verdict and "
        f"with each judge's (a score of at least {rv.judge_acceptable_score}); with fewer than two outputs, or a "
        "rater who gave one verdict only, it is reported as not enough data.",
        "",
        "## Statistics",
        "",
        "The case is the unit: repeats of a case are averaged before anything else. Acceptance rates carry "
        "a 95 % Wilson interval. Two models are compared on the cases both ran with an exact McNemar test "
        "on the discordant cases; the minimum detectable difference is (z₁₋α/₂ + z₁₋β) × √(discordant share "
        f"÷ shared cases) at α = {pr.significance_alpha:g} and power {pr.power:g}.",
        "",
        "## Findings per workload",
        "",
    ]
    rows = [[k, v.metric, v.finding_on_fail, v.explanation] for k, v in pol.decisions.gate_kinds.items()]
    out += [
        plan.table(
            PAGE,
            "findings",
            ["Gate kind", "Metrics", "Finding when it fails", "Meaning"],
            rows,
            sortable=False,
        ),
        "",
        f"When several gates fail, the finding that comes first in {' → '.join(pol.decisions.order)} wins; "
        "all gates passing gives **keep**; a gate with no data leaves the decision **undecided**.",
        "",
    ]
    if pol.decisions.remedies:
        out += ["The bounded change a **fix** names:", ""]
        out += [f"- <code>{esc(k)}</code>: {esc_md(v)}" for k, v in pol.decisions.remedies.items()] + [""]
    out += [
        "## Readiness",
        "",
        f"A model is ready only after a one-token generation of <code>{esc(pol.readiness.probe_prompt)}</code> returns "
        f"a valid completion within {pol.readiness.probe_max_s:g} s (`opsbench probe`).",
        "",
        "## Quoted figures",
        "",
        "Where a source document states a figure (a throughput ceiling, a break-even month, a monthly "
        "return), the bench derives it again from that document's own stated inputs with the one general "
        "formula, shows the working, and marks the claim consistent only if the two agree within "
        f"{pol.claims.rel_tolerance:.0%} or within the claim's own rounding (\"~389M\" is stated to the "
        "million). No formula is adjusted to meet a claim.",
        "",
    ]
    return "\n".join(out)

"""Methodology, generated from policy.yaml and the check definitions so it cannot drift from the code."""

from __future__ import annotations

from generator.execute.checks import CHECK_DESCRIPTIONS
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
        rows.append([kind, CHECK_CATEGORY[kind], ", ".join(fields) or "—", CHECK_DESCRIPTIONS[kind]])
    rows.append(["prompt_echo (built in)", CHECK_CATEGORY["prompt_echo"], "—", CHECK_DESCRIPTIONS["prompt_echo"]])
    return rows


def methodology_page(data: SiteData, plan: SitePlan) -> str:
    pol = data.reg.policy
    s, ex, pr, j, rv = pol.scoring, pol.execution, pol.promotion, pol.judge, pol.review
    st = pol.statistics
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
        "timeout, connection, `http_<code>`, rate_limited, truncated_stream, malformed_response, "
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
        "The evidence table has one cell per model × case × load level. Repeats of a case are averaged "
        "inside its cell (never a majority vote), and runs of the same model and case pool as repeats. "
        "Quality (acceptance, hard failures, pain, recall) is read at each model × case's lowest measured load "
        "level; the other levels appear as degradation under load on the model pages and are never averaged in. "
        "A hard failure counts as not accepted, and a timed-out or unparseable answer to a case of a class is a "
        "miss for that class's recall. Latency at a level is taken over the warm requests at that level, a "
        "timed-out request counting as slower than any answer.",
        "",
        "- **Rates** are means of per-case means with a 95 % Wilson interval over cases (conservative when a "
        "case's mean is fractional).",
        f"- **Gates** are judged on intervals: an *at least* gate passes when the lower bound clears it, an *at "
        "most* gate when the upper bound is under it; when the interval straddles the threshold the verdict is "
        "**insufficient evidence**, with the number of further cases at the current rate that would settle it. "
        "Latency quantiles carry a distribution-free order-statistic interval; review pain a bootstrap interval "
        f"({st.bootstrap_resamples:,} resamples over cases, seed {st.seed}). No workload is kept on fewer than "
        f"{pol.decisions.min_cases} cases, and no challenger promoted on fewer than {pr.min_shared_cases} "
        "shared cases.",
        "- **Paired comparisons** use only the cases both models (or both runs) have. With one request per "
        "case: exact McNemar on the discordant cases (exact integer / log-space binomial tails). With repeats: a "
        f"sign-flip permutation test of the per-case mean differences, exact up to {st.permutation_exact_max} "
        f"non-zero differences, Monte Carlo with {st.permutation_resamples:,} resamples (seed {st.seed}) up to "
        f"{st.permutation_normal_above:,}, and its normal limit above that. The difference carries a paired "
        "bootstrap interval over cases.",
        f"- **Promotion** is the one-sided test at α/2 = {st.alpha / 2:g}, **Holm-corrected** across the "
        "challengers of a role; a retire candidate needs the same evidence in the other direction.",
        f"- **Power** is planned for the pre-specified minimum effect of interest, {st.min_effect:.0%} "
        f"(α = {st.alpha:g}, power {st.power:g}): each verdict reports the minimum detectable difference at its "
        "current n, (z₁₋α/₂ + z₁₋β) × sd(per-case differences) ÷ √n, and the cases that effect needs; it never "
        "computes power from the observed effect. Before two models disagree on any case the spread is taken as "
        f"{st.planning_sd:g}.",
        "- **Ranks** have ties: a model's rank is one plus the number of models significantly better than it on "
        f"the cases the two share (paired, two-sided α = {st.alpha:g}; exact up to {st.permutation_exact_max} non-zero "
        "differences, the normal limit above); models that share no case do not outrank "
        "each other.",
        "- **Relative gates** (non-inferiority against the hosted baseline) pass when the lower bound of the "
        "paired difference (candidate − baseline) is above −δ, fail when its upper bound is below −δ.",
        "- **Fragility**: beside each verdict, the smallest number of case outcomes that would change it "
        '("flips to insufficient-evidence if 2 more cases fail").',
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
        f"When several findings apply, the one that comes first in {' → '.join(pol.decisions.order)} wins; "
        "all gates passing at their bound gives **keep**; a gate with no data leaves the decision **undecided**. "
        "Routes per finding: "
        + "; ".join(f"{k} → {v}" for k, v in pol.decisions.routes.items())
        + " (a kept workload takes its own route).",
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
        f'{pol.claims.rel_tolerance:.0%} or within the claim\'s own rounding ("~389M" is stated to the '
        "million). No formula is adjusted to meet a claim.",
        "",
    ]
    return "\n".join(out)

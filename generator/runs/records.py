"""The run format: ``runs/<run-id>/manifest.json``, ``results.jsonl`` and their siblings.

These records are a file format: field names and meanings are a contract with
every run already on disk and with the site. Add fields with defaults; never
rename or repurpose one; bump ``schema_version`` when a reader must change.

One line of ``results.jsonl`` is one finished request (one model x case x repeat x
load level). Timing fields follow vLLM's benchmark definitions (REFERENCE: TTFT,
ITL, TPOT, E2EL); a hard failure is a result with ``status="failed"`` and a kind.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = 1
MANIFEST_SCHEMA_VERSION = 1

#: A run id, which is also its folder's name (``YYYYMMDD-HHMMSS-<suite>-<hex>``): the manifest
#: and every line of the folder must state the same id (``generator.runs.reader`` checks it).
RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9_.-]{1,80}$")

# The files of a run folder. The manifest is written last: a folder with one is a run.
MANIFEST_FILE = "manifest.json"
RESULTS_FILE = "results.jsonl"
SUMMARIES_FILE = "summaries.jsonl"
PERF_FILE = "perf.jsonl"
REVIEWS_FILE = "reviews.jsonl"
#: The columnar copy of ``results.jsonl`` (``generator.runs.sidecar``): derived, rebuilt when
#: stale, never submitted (git ignores it), never the record of a result.
SIDECAR_FILE = "results.parquet"

FailureKind = Literal[
    "timeout",
    "connection",
    "rate_limited",
    "truncated_stream",
    "malformed_response",
    "empty_output",
    "context_overflow",
    "runtime_error",
]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CheckOutcome(Record):
    id: str
    kind: str
    category: str = Field(description="format / accuracy / unsupported_claim / policy_violation / completeness")
    severity: str
    passed: bool
    detail: str = Field(description="What the check found, short; never the whole output.")


class CaseScore(Record):
    accepted: bool
    weight: float = Field(description="Severity weight of the case.")
    score: float = Field(description="weight if accepted else 0 (severity-weighted pass count).")
    review_pain: float
    checks: list[CheckOutcome]
    expected_label: str | None = None
    predicted_label: str | None = None


class Timing(Record):
    """Client-side timings in seconds, measured with a monotonic clock."""

    ttft_s: float | None = Field(default=None, description="Request sent → first non-empty token.")
    e2e_s: float | None = Field(default=None, description="Request sent → last token (E2EL).")
    itl_mean_s: float | None = None
    itl_p95_s: float | None = None
    tpot_s: float | None = Field(default=None, description="(E2EL − TTFT) / (output tokens − 1).")
    output_tps: float | None = Field(default=None, description="Output tokens / E2EL.")
    load_s: float | None = Field(default=None, description="Model load time, when this request paid it.")


class Usage(Record):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    estimated: bool = Field(default=False, description="True when counted by us, not the server.")


class Attempt(Record):
    """A try that did not count (retried). The final attempt is the result itself."""

    status: Literal["failed"] = "failed"
    failure_kind: str
    error: str
    e2e_s: float | None = None
    wait_s: float | None = Field(default=None, description="Backoff slept before the next try.")


class EscalationStep(Record):
    """Where a result stands in a live escalation chain (``opsbench run --escalate ROLE``)."""

    role: str
    rung: int = Field(description="1-based position of this model in the role's chain.")
    fired: list[str] = Field(
        default_factory=list, description="The triggers that fired on this answer (it went to the next rung)."
    )
    answered: bool = Field(description="True when this rung's answer is the chain's answer for the item.")


class ResultRecord(Record):
    schema_version: int = RESULT_SCHEMA_VERSION
    run_id: str
    key: str = Field(description="model|case|repeat|concurrency: unique within a run; resume uses it.")
    model_id: str
    suite: str
    case_id: str
    role: str
    workload: str | None
    severity: str
    repeat: int
    concurrency: int
    cold_start: bool = Field(description="First request to this model after load.")
    started_at: str
    status: Literal["ok", "failed"]
    failure_kind: str | None = None
    error: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    timing: Timing
    usage: Usage
    server_timings: dict[str, Any] | None = Field(
        default=None,
        description="What the runtime reported about itself (llama.cpp timings, Ollama durations).",
    )
    output: str | None = Field(default=None, description="Untrusted model text, truncated to the policy limit.")
    output_truncated: bool = False
    output_sha256: str | None = Field(
        default=None,
        description="sha256 of the whole output text, kept instead of the text when the run redacts outputs.",
    )
    score: CaseScore
    judge: dict[str, Any] | None = Field(
        default=None, description="Judge scores (0..scale_max), their mean and spread, human_review flag."
    )
    escalation: EscalationStep | None = Field(default=None, description="Live escalation runs only.")

    @staticmethod
    def make_key(model_id: str, case_id: str, repeat: int, concurrency: int) -> str:
        return f"{model_id}|{case_id}|{repeat}|{concurrency}"


class SummaryRecord(Record):
    """An aggregate that a source reports only as totals (Aider, lm-eval results).

    Aggregates stay aggregates: ``successes`` of ``trials`` lets the analysis put a
    Wilson interval on the rate without inventing per-case rows. One line of
    ``summaries.jsonl``.
    """

    schema_version: int = RESULT_SCHEMA_VERSION
    run_id: str
    key: str = Field(description="Unique within the run.")
    model_id: str = Field(description="Registry id, or the source's own name when external.")
    external: bool = Field(description="True when the name matched no registry alias.")
    source_model: str = Field(description="The model name exactly as the source wrote it.")
    suite: str
    task: str = Field(description="Source's task / benchmark / dataset name.")
    metric: str = Field(description="e.g. pass_rate_2, acc, acc_norm, percent_cases_well_formed.")
    value: float | None = None
    stderr: float | None = None
    successes: float | None = None
    trials: int | None = None
    seconds_per_case: float | None = None
    total_cost: float | None = None
    cost_currency: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Other source fields, as given.")


class PerfRecord(Record):
    """A serving-performance measurement (llama-bench, vLLM serve bench, GuideLLM, own sweeps).

    One line of ``perf.jsonl``: a model at one load level (concurrency or request rate).
    Milliseconds throughout, as the serving tools report.
    """

    schema_version: int = RESULT_SCHEMA_VERSION
    run_id: str
    key: str
    model_id: str
    external: bool = False
    source_model: str | None = None
    strategy: str | None = Field(
        default=None, description="synchronous / concurrent / constant / throughput / sweep / pp / tg"
    )
    concurrency: float | None = None
    request_rate: float | None = None
    completed: int | None = None
    failed: int | None = None
    duration_s: float | None = None
    request_throughput: float | None = Field(default=None, description="Completed requests per second.")
    output_throughput: float | None = Field(default=None, description="Output tokens per second, all requests.")
    prompt_tps: float | None = Field(default=None, description="Prompt processing tokens/s (llama-bench pp).")
    generation_tps: float | None = Field(default=None, description="Generation tokens/s (llama-bench tg).")
    ttft_ms: dict[str, float] = Field(default_factory=dict, description="mean / median / p95 / p99 ...")
    tpot_ms: dict[str, float] = Field(default_factory=dict)
    itl_ms: dict[str, float] = Field(default_factory=dict)
    e2el_ms: dict[str, float] = Field(default_factory=dict)
    hardware: str | None = Field(default=None, description="Backend / GPU / threads as reported.")
    # Service-level objectives and goodput (GuideLLM >= 0.7, vLLM --goodput): what the source
    # measured against its own objectives. Empty / None when the source set none.
    slo_ms: dict[str, float] = Field(
        default_factory=dict,
        description="The source's latency objectives by our metric names (ttft_ms, tpot_ms, e2el_ms).",
    )
    slo_attainment: float | None = Field(
        default=None, description="Share of the evaluated requests that met every objective (0..1)."
    )
    slo_requests: int | None = Field(default=None, description="Requests the attainment was computed over.")
    slo_attainment_by_metric: dict[str, float] = Field(
        default_factory=dict, description="Share meeting each objective alone, by metric name."
    )
    request_goodput: float | None = Field(
        default=None, description="Requests meeting every objective per second of the run (vLLM's definition)."
    )
    intervals: dict[str, dict[str, list[float]]] = Field(
        default_factory=dict,
        description="The source's own confidence intervals: metric (ttft_ms ...) -> statistic (mean, p95 "
        "...) -> [low, high], in the metric's unit.",
    )
    interval_level: float | None = Field(
        default=None, description="Coverage of `intervals` when the source records it (0.95); None: not recorded."
    )
    extra: dict[str, Any] = Field(default_factory=dict)


class ModelInRun(Record):
    id: str
    provider: str
    served_name: str
    endpoint: str | None = None
    file_name: str | None = None
    file_size_bytes: int | None = None
    file_sha256: str | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    load_s: float | None = None
    served_models: list[str] = Field(
        default_factory=list,
        description="What a local server said it serves (its model list), read when the run started: "
        "the registry's endpoint alone does not say which file answered.",
    )


class RunSettings(Record):
    suite: str
    models: list[str]
    repeats: int
    concurrency_levels: list[int]
    max_tokens: int | None
    # None: not recorded. An executed run always states these; an ingested run's source
    # usually does not, and a made-up 0 would read as a measurement.
    temperature: float | None
    seed: int | None
    request_timeout_s: float | None
    max_retries: int | None
    machine: str | None = None
    judges: list[str] = Field(default_factory=list)
    escalate: str | None = Field(
        default=None, description="Role whose escalation chain this run followed live (models = its rungs)."
    )


Locality = Literal["in-process", "loopback", "private", "internet"]


class EndpointPrivacy(Record):
    """Where one model's prompts and outputs went, read from its endpoint's address."""

    model_id: str
    provider: str
    endpoint: str | None = Field(default=None, description="None: in-process, no endpoint.")
    locality: Locality
    reason: str = Field(description="Why the address reads so (e.g. '10.0.0.5 is a private address').")
    logs_prompts: bool | None = Field(
        default=None, description="Known to keep prompt text (policy privacy.prompt_logging); None: cannot tell."
    )
    logging_note: str = ""


class PrivacyRecord(Record):
    """A run's privacy posture: where the text went and what this tool stored."""

    endpoints: list[EndpointPrivacy]
    outputs: Literal["text", "sha256"] = Field(
        description="text: each output's text (truncated to scoring.max_output_chars) is in results.jsonl; "
        "sha256: only its hash and check outcomes."
    )
    stored: list[str] = Field(description="What this tool wrote about each request, in words.")


class Manifest(Record):
    schema_version: int = MANIFEST_SCHEMA_VERSION
    run_id: str
    origin: Literal["executed", "ingested"] = "executed"
    created_at: str
    finished_at: str | None = None
    status: Literal["running", "complete", "interrupted"] = "running"
    tool_version: str
    settings: RunSettings
    models: list[ModelInRun]
    case_ids: list[str]
    expected_results: int
    registry_hash: str
    suite_hash: str
    environment: dict[str, Any]
    cli_args: list[str]
    source: dict[str, Any] | None = Field(default=None, description="Ingested runs: where from.")
    notes: list[str] = Field(default_factory=list)
    privacy: PrivacyRecord | None = Field(
        default=None, description="Where prompts and outputs went; None in runs made before it was recorded."
    )


# --- human review (written by ``opsbench review add``; see generator/review) ---

REVIEW_SCHEMA_VERSION = 1
REVIEW_ORIGIN = "human-review"
#: Origin of folders written by ``opsbench mine`` (aggregates only; models in generator/mine/store.py).
MINING_ORIGIN = "prompt-mining"


class ReviewDimension(Record):
    """A rubric dimension as the reviewer saw it: kept in the review folder, because the
    registry's rubric may change after the grades were given."""

    id: str
    question: str
    scale_min: int
    scale_max: int


class ReviewManifest(Record):
    """``manifest.json`` of a review folder. It holds no ``results.jsonl``: its grades point at
    results of other runs (``source_run_ids``), so readers of results skip it by ``origin``."""

    schema_version: int = REVIEW_SCHEMA_VERSION
    run_id: str = Field(description="This folder's id (the folder name), as for every run folder.")
    origin: Literal["human-review"] = REVIEW_ORIGIN
    created_at: str
    tool_version: str
    workload: str
    source_run_ids: list[str] = Field(description="Runs whose results were graded.")
    reviewers: list[str]
    rubric: list[ReviewDimension]
    graded: int = Field(description="Lines of reviews.jsonl.")
    ungraded: int = Field(default=0, description="Items of the sample left blank by the reviewer.")
    sample_file: str = Field(description="Name of the filled file the grades came from.")
    sample_seed: int
    content_sha256: str = Field(
        description="sha256 of the grades as read (item, reviewer, scores, notes; not the file's "
        "bytes, so a re-saved copy of the same file is still recognised): a second add is refused."
    )
    cli_args: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class ReviewRecord(Record):
    """One line of ``reviews.jsonl``: one reviewer's grades of one result."""

    schema_version: int = REVIEW_SCHEMA_VERSION
    item_id: str = Field(description="The opaque id the reviewer saw.")
    run_id: str = Field(description="The run holding the graded result.")
    key: str = Field(description="The graded result's key in that run.")
    model_id: str
    case_id: str
    workload: str
    reviewer: str
    scores: dict[str, int] = Field(description="Rubric dimension id -> grade, on that dimension's scale.")
    notes: str | None = None


# --- orchestration runs (written by ``opsbench orchestrate``; see generator/execute/orchestrate.py) ---

ORCHESTRATION_SCHEMA_VERSION = 1
ORCHESTRATION_ORIGIN = "orchestration"

PipelineRole = Literal["orchestrator", "executor"]


class CallCost(Record):
    """What one call cost, from its measured tokens and the price it was billed at."""

    amount: float | None = Field(
        description="In ``currency``; None when the tokens or the price are unknown (shown as missing)."
    )
    currency: str = Field(description="pricing.yaml's currency: every amount of a run is in it.")
    priced_as: str | None = Field(
        description="The pricing.yaml api_prices id billed, 'models.yaml' for the model's own price, "
        "'free' for a local model (no marginal cost; electricity is on the cost page), None: no price."
    )
    input_per_mtok: float | None = None
    output_per_mtok: float | None = None


class StrategyInRun(Record):
    """A strategy as the run resolved it: the registry may change later, the run does not."""

    id: str
    label: str
    orchestrator: str = Field(description="Model that plans and synthesises.")
    executor: str = Field(description="Model that runs the sub-tasks.")
    orchestrator_priced_as: str | None = None
    executor_priced_as: str | None = None
    stand_in: list[str] = Field(
        default_factory=list, description="What a model here stands in for (e.g. a loopback server for a host)."
    )


class OrchestrationManifest(Record):
    """``manifest.json`` of an orchestration folder; its calls are in ``calls.jsonl``."""

    schema_version: int = ORCHESTRATION_SCHEMA_VERSION
    run_id: str
    origin: Literal["orchestration"] = ORCHESTRATION_ORIGIN
    created_at: str
    finished_at: str | None = None
    status: Literal["running", "complete", "interrupted"] = "running"
    tool_version: str
    suite: str = Field(description="Compound suite (registry/compound/<suite>/).")
    baseline: str = Field(description="The strategy every other is compared with.")
    strategies: list[StrategyInRun]
    task_ids: list[str]
    expected_calls: int = Field(description="Calls if no pipeline stops early on a failed call.")
    max_tokens: int | None
    temperature: float
    seed: int
    request_timeout_s: float
    max_retries: int
    judges: list[str] = Field(default_factory=list)
    models: list[ModelInRun]
    registry_hash: str
    suite_hash: str
    environment: dict[str, Any]
    cli_args: list[str]
    notes: list[str] = Field(default_factory=list)


class OrchestrationCall(Record):
    """One line of ``calls.jsonl``: one model call of one strategy's pipeline for one compound task.

    Field order is part of the file format. The synthesis call carries the task's score; the other
    calls only what they cost and produced (their output is injected into later prompts, and kept
    so that a resumed run injects exactly what the first one did).
    """

    schema_version: int = ORCHESTRATION_SCHEMA_VERSION
    run_id: str
    key: str = Field(description="strategy|task|step: unique within a run; resume uses it.")
    strategy: str
    task_id: str
    step: str = Field(description="'plan', a sub-task id, or 'synthesis'.")
    step_index: int = Field(description="0-based position in the task's pipeline.")
    pipeline_role: PipelineRole
    model_id: str
    started_at: str
    status: Literal["ok", "failed"]
    failure_kind: str | None = None
    error: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    timing: Timing
    usage: Usage
    cost: CallCost
    injected: list[str] = Field(default_factory=list, description="Earlier steps whose outputs this prompt carried.")
    output: str | None = Field(default=None, description="Untrusted model text, truncated to the policy limit.")
    output_truncated: bool = False
    score: CaseScore | None = Field(default=None, description="Synthesis only: the final output's checks.")
    judge: dict[str, Any] | None = Field(default=None, description="Synthesis only, when judges ran.")

    @staticmethod
    def make_key(strategy: str, task_id: str, step: str) -> str:
        return f"{strategy}|{task_id}|{step}"

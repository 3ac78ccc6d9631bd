"""``registry/policy.yaml``: every threshold and rule the verdicts apply (code holds none)."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import Fraction, NonNegative, Positive, Slug, Strict, _check_regex, _check_slug
from generator.registry.schema.models import ProviderKind

# --------------------------------------------------------------------------- policy


Severity = Literal["low", "medium", "high", "critical"]


class ScoringPolicy(Strict):
    severity_weights: dict[Severity, Positive]
    review_pain_definition: str = Field(description="Plain-language definition printed on the methodology page.")
    prompt_echo_min_chars: Annotated[int, Field(ge=0)] = Field(
        default=40,
        description="Fail outputs that repeat an instruction line this long verbatim (0: off).",
    )
    output_excerpt_chars: Annotated[int, Field(gt=0)] = 400
    evidence_min_chars: Annotated[int, Field(ge=1)] = Field(
        default=12,
        description="An evidence check counts a source line as quotable only when it has at least this "
        "many characters (shorter lines, such as 'Date:' headers, prove nothing when echoed).",
    )
    max_output_chars: Annotated[int, Field(gt=0)] = 16000
    check_detail_chars: Annotated[int, Field(ge=20, le=10_000)] = Field(
        description="What a check found (its detail) is cut to this many characters, an ellipsis marking "
        "the cut: a detail can quote model output. Applies to ingested checks of other tools too."
    )
    case_page_output_chars: Annotated[int, Field(gt=0)] = Field(
        default=4000,
        description="A case page shows at most this much of each model's latest output; the rest is "
        "in the run's results.jsonl download (keeps the largest page under the size budget).",
    )
    case_list_rows_shown: Annotated[int, Field(gt=0)] = Field(
        description="A model's case list shows at most this many rows in its table (failing cases "
        "first); every case is still linked below it, by result, and the downloads hold every row."
    )
    compare_cases_shown: Annotated[int, Field(gt=0)] = Field(
        default=200,
        description="A compare page links at most this many cases of each agreement cell; the counts are "
        "whole and each model's case list holds every case (a board of 40 models has 780 pairs).",
    )


class StatisticsPolicy(Strict):
    """How every comparison and gate treats uncertainty (methodology: 'Statistics')."""

    alpha: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.05,
        description="Two-sided level of every test and interval; a promotion is the one-sided test at alpha/2.",
    )
    power: Annotated[float, Field(gt=0, lt=1)] = 0.8
    min_effect: Annotated[float, Field(gt=0, le=1)] = Field(
        default=0.10,
        description="Pre-specified minimum effect of interest (acceptance points): the cases-needed figure "
        "is computed for it, never for the observed effect.",
    )
    planning_sd: Annotated[float, Field(gt=0, le=2)] = Field(
        default=0.45,
        description="Spread of per-case differences assumed before any two models disagree on a case "
        "(0.45 is the binary case at 20 % discordant cases).",
    )
    bootstrap_resamples: Annotated[int, Field(ge=100, le=1_000_000)] = 4000
    permutation_resamples: Annotated[int, Field(ge=100, le=1_000_000)] = 20000
    permutation_exact_max: Annotated[int, Field(ge=1, le=24)] = Field(
        default=20, description="Enumerate all sign patterns up to this many non-zero differences."
    )
    permutation_normal_above: Annotated[int, Field(ge=25)] = Field(
        default=1000,
        description="Above this many non-zero differences the sign-flip distribution is read off its "
        "normal limit (sum ÷ √(sum of squares)) instead of resampled.",
    )
    seed: int = 20261202
    quality_level: Literal["lowest"] = Field(
        default="lowest",
        description="The load level quality is read at: each model × case's lowest measured level.",
    )


class PromotionPolicy(Strict):
    """The mechanical gates from the seed page 'Local Model Benchmarks', plus noise control."""

    # The gate directions, the cost-tier rule and Holm's correction are the algorithm
    # (generator/analysis/promotion.py), not settings: no fields for them here.
    min_families_per_role: Annotated[int, Field(ge=1)] = 2
    min_shared_cases: Annotated[int, Field(ge=1)] = 20
    retire_if_worse_by: Fraction = Field(
        default=0.10,
        description="A challenger this far below the incumbent's acceptance rate, significantly, "
        "on at least min_shared_cases, is a retire candidate.",
    )


class DecisionRule(Strict):
    """One gate of a workload decision: which metric, which direction, what failing it means."""

    metric: str
    finding_on_fail: Literal["fix", "reject", "defer"]
    explanation: str


Finding = Literal["reject", "fix", "defer", "insufficient-evidence", "keep"]


class DecisionPolicy(Strict):
    gate_kinds: dict[Literal["quality", "operational", "safety", "economic"], DecisionRule]
    order: list[Finding] = Field(
        default_factory=lambda: ["reject", "fix", "defer", "insufficient-evidence", "keep"],
        description="Which finding wins when several apply.",
    )
    remedies: dict[str, str] = Field(
        default_factory=dict,
        description="Metric → the bounded change a 'fix' finding names when that gate fails.",
    )
    min_cases: Annotated[int, Field(ge=1)] = Field(
        default=20, description="No workload is kept on fewer cases than this (a gate can still fail on fewer)."
    )
    routes: dict[Literal["fix", "defer", "reject", "insufficient-evidence", "undecided"], str] = Field(
        default_factory=lambda: {
            "fix": "hosted until fixed",
            "defer": "hosted",
            "reject": "hosted",
            "insufficient-evidence": "hosted",
            "undecided": "hosted",
        },
        description="The route of each finding; a kept workload takes its own route_if_kept.",
    )
    reject_without_baseline: str = Field(
        default="reject", description="The route of a rejected workload that has no hosted baseline."
    )

    @model_validator(mode="after")
    def _complete(self) -> DecisionPolicy:
        missing = {"reject", "fix", "defer", "insufficient-evidence", "keep"} - set(self.order)
        if missing:
            raise ValueError(f"order must name every finding; missing: {', '.join(sorted(missing))}")
        return self


class ScaleLabel(Strict):
    """What one point of the judge scale means, as the judge prompt states it."""

    score: Annotated[int, Field(ge=0)]
    label: str = Field(min_length=1)


class JudgePolicy(Strict):
    """Optional LLM judges (``generator/execute/judge.py``): the scale is stated here and the judge
    prompt and the score parser follow it."""

    scale_max: Annotated[int, Field(ge=1, le=100)] = 2
    scale_labels: list[ScaleLabel] = Field(
        description="What a score means, as the judge prompt states it: 0 and scale_max must have a label, "
        "points between may (each at most once)."
    )
    max_tokens: Annotated[int, Field(gt=0, le=4096)] = Field(description="Longest judge reply, in tokens.")
    temperature: NonNegative = Field(description="Sampling temperature of judge requests (0: greedy).")
    max_judges: Annotated[int, Field(ge=1)] = Field(
        default=2, description="How many judges a run may use; each must come from a different family."
    )
    disagreement_threshold: NonNegative = 1.5
    judges: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _labels_on_scale(self) -> JudgePolicy:
        scores = [s.score for s in self.scale_labels]
        off = sorted(k for k in scores if k > self.scale_max)
        if off:
            raise ValueError(f"scale_labels {off} are above scale_max {self.scale_max}")
        if len(set(scores)) < len(scores):
            raise ValueError("scale_labels label a score twice")
        missing = [k for k in (0, self.scale_max) if k not in scores]
        if missing:
            raise ValueError(f"scale_labels must label {' and '.join(map(str, missing))} (both ends of the scale)")
        return self


class ExecutionPolicy(Strict):
    request_timeout_s: Positive = 90
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    backoff_base_s: NonNegative = 0.5
    backoff_max_s: NonNegative = 30
    default_max_tokens: Annotated[int, Field(gt=0)] = 256
    temperature: NonNegative = 0.0
    seed: int = 1234
    n_ctx: Annotated[int, Field(ge=256, le=1_048_576)] = Field(
        default=4096,
        description="Embedded models: llama.cpp's context size in tokens (capped at the model's "
        "context_window); a prompt plus max_tokens beyond it is a context_overflow failure.",
    )
    error_text_chars: Annotated[int, Field(ge=40, le=100_000)] = Field(
        description="Text a runtime or another tool reports is kept in a run's records up to this many "
        "characters, an ellipsis marking the cut: a request's error (an exception, a server's error body, "
        "an ingested tool's recorded error) and each model name a server lists."
    )
    max_served_models: Annotated[int, Field(ge=0)] = Field(
        description="A server's model list is recorded up to this many names."
    )


class ReadinessPolicy(Strict):
    probe_prompt: str = "ping"
    probe_max_s: Positive = 15
    probe_wait_factor: Annotated[float, Field(ge=1, le=100)] = Field(
        description="The probe request waits up to probe_max_s times this (at least execution.request_timeout_s): "
        "a cold start past the threshold is measured, not cut off."
    )


class ClaimCheckPolicy(Strict):
    """How closely a quoted figure (a seed document's, or a registry ``seed_claims`` entry) must match
    what its own stated inputs give. A reading aid for quoted figures, not a gate: a claim's
    own rounding ("~389M" is stated to the million) is always allowed on top of this."""

    rel_tolerance: Annotated[float, Field(ge=0, le=1)] = 0.02


class ReviewPolicy(Strict):
    """Human review as evidence (``opsbench review``). Every number has to be in policy.yaml:
    no field has a default, so a registry without them says so rather than borrowing ours."""

    acceptable_score: int = Field(
        description="A graded output is 'human acceptable' when every rubric dimension is at least "
        "this: the human side of the agreement with the deterministic checks and the judges."
    )
    judge_acceptable_score: Annotated[int, Field(ge=0)] = Field(
        description="A judge score (0..judge.scale_max) at least this counts as the judge accepting."
    )
    sample_seed: int = Field(description="Seed of `opsbench review sample` when --seed is not given.")
    bootstrap_resamples: Annotated[int, Field(ge=100, le=100_000)] = Field(
        description="Resamples of the percentile bootstrap behind every human-score interval."
    )
    bootstrap_seed: int = Field(description="Seed of the bootstrap, so a report is reproducible.")
    interval_level: Annotated[float, Field(gt=0, lt=1)] = Field(
        description="Coverage of the bootstrap intervals (0.95: the 2.5th to 97.5th percentile)."
    )


class FileLimits(Strict):
    """How much of one untrusted file is read before it is refused (no field has a default:
    the numbers live in policy.yaml ``input_limits``, never here)."""

    max_file_bytes: Annotated[int, Field(gt=0)] = Field(
        description="Larger files are refused after reading this many bytes plus one, never in full."
    )
    max_line_chars: Annotated[int, Field(gt=0)] = Field(
        description="A line longer than this is refused with its line number."
    )
    max_alias_nodes: Annotated[int, Field(ge=0)] = Field(
        description="YAML only: the nodes that aliases (*name) may add when expanded, all of them "
        "together; a 'billion laughs' file is refused before it is built."
    )


class ForeignLimits(FileLimits):
    """Limits for other tools' result files (``opsbench ingest``)."""

    max_archive_members: Annotated[int, Field(gt=0)] = Field(
        description="Archives (inspect's .eval zip): the most members read; an archive's members "
        "together may not unpack to more than max_file_bytes."
    )


class InputLimits(Strict):
    """``policy.yaml`` ``input_limits``: read first, before any other file, because it says how
    much of every other file may be read. It must be the first block of policy.yaml (after
    ``schema_version``) so that it can be found without reading the rest of that file."""

    registry: FileLimits = Field(description="Task files and the other files under registry/.")
    foreign: ForeignLimits = Field(description="Files from other tools given to `opsbench ingest`.")


class RoutingPolicy(Strict):
    """Guard rules and input-length evidence (``opsbench decide``, workload pages). Every number is
    stated in policy.yaml: no field has a default."""

    length_strata_words: list[Annotated[int, Field(gt=0)]] = Field(
        min_length=1,
        description="Upper edges of the input-length strata in words (the seeds state lengths in words); "
        "a last open stratum holds everything longer.",
    )
    length_strata_tokens: list[Annotated[int, Field(gt=0)]] = Field(
        min_length=1, description="The same in prompt tokens, as each model's tokenizer counted them."
    )
    regex_max_chars: Annotated[int, Field(gt=0, le=10_000)] = Field(description="Longest regex a guard rule may state.")
    regex_timeout_s: Annotated[float, Field(gt=0, le=10)] = Field(
        description="Time one regex search over one input may take; past it the rule counts as matching "
        "(fail closed: the input leaves the local route) and the page says so."
    )
    input_max_chars: Annotated[int, Field(gt=0)] = Field(
        description="Input characters a rule's regex and keywords are matched against (the start of the input)."
    )

    @field_validator("length_strata_words", "length_strata_tokens")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError("strata edges must be strictly increasing")
        return value


class RuntimeLogging(Strict):
    """What a runtime kind is known to do with the prompts it receives."""

    logs_prompts: bool | None = Field(
        description="true: it keeps prompt text (in logs or by the provider); false: not by default; "
        "null: depends on how the server was started, so the run cannot tell."
    )
    note: str = Field(min_length=1, description="What is known, and which setting changes it.")


class PrivacyFinding(Strict):
    """A privacy finding quoted from a source document; shown on each workload page it names."""

    id: Slug
    finding: str = Field(min_length=1, description="The finding, as the source states it.")
    workloads: list[Slug] = Field(default_factory=list, description="Workloads it concerns; empty: every one.")

    _slug = field_validator("id")(_check_slug)


class PrivacyPolicy(Strict):
    """Where prompts and outputs may go (``generator/privacy.py``). No field has a default: a
    registry without them says so rather than borrowing ours."""

    private_routes: list[Literal["local", "hybrid"]] = Field(
        description="Routes that promise the text stays on this machine or its network: a candidate of a "
        "workload kept on one of them must have an in-process, loopback or private-network endpoint."
    )
    gate_kind: Literal["quality", "operational", "safety"] = Field(
        description="Kind of that endpoint gate; failing it leads to decisions.gate_kinds[kind].finding_on_fail."
    )
    private_name_suffixes: list[str] = Field(
        description="Host-name endings that name a private network (mDNS .local, RFC 8375 .home.arpa)."
    )
    redact_outputs: bool = Field(
        description="Default of `opsbench run`: keep each output's sha256 and its check outcomes, not its "
        "text. `opsbench check-run` refuses a submitted run with output text when true."
    )
    prompt_logging: dict[ProviderKind, RuntimeLogging] = Field(
        description="Per provider kind: whether the runtime is known to log prompts."
    )
    findings_source: str = Field(description="Where the findings are quoted from.")
    findings: list[PrivacyFinding] = Field(default_factory=list)


class SecretPattern(Strict):
    id: Slug
    pattern: str = Field(description="A regex a known API-key format matches.")

    _compiles = field_validator("pattern")(_check_regex)


class MiningRule(Strict):
    """A deterministic rule of ``opsbench mine``: a prompt matching ``pattern`` gets this
    category, complexity and tier without asking the classifier model (rules run first, in order)."""

    id: Slug
    pattern: str = Field(description="Python regex, searched case-insensitively in the prompt text.")
    category: Slug
    complexity: Slug
    tier: Slug
    note: str | None = None

    _slug = field_validator("id")(_check_slug)

    _compiles = field_validator("pattern")(_check_regex)


class MixClaim(Strict):
    """A share of prompts a source states, set beside the same share of a mined history."""

    kind: Literal["at-most-tier", "category", "tier-in-category"]
    tier: Slug | None = Field(default=None, description="at-most-tier, tier-in-category: the tier.")
    category: Slug | None = Field(default=None, description="category, tier-in-category: the category.")
    claimed_share: Fraction
    claim: str

    @model_validator(mode="after")
    def _fields(self) -> MixClaim:
        need = {"at-most-tier": ("tier",), "category": ("category",), "tier-in-category": ("tier", "category")}
        missing = [k for k in need[self.kind] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} claim needs {', '.join(missing)}")
        return self


class MiningPolicy(Strict):
    """Prompt-history mining (``opsbench mine``): the tier ladder, the labels, the rules and the
    audit sample. No field has a default: a registry without them says so."""

    tiers: list[Slug] = Field(min_length=2, description="Minimum model tiers, smallest first.")
    local_tiers: list[Slug] = Field(
        min_length=1, description="The tiers that run on local models: a prompt at one of these is offloadable."
    )
    categories: list[Slug] = Field(min_length=1)
    complexities: list[Slug] = Field(min_length=1)
    rules: list[MiningRule] = Field(default_factory=list)
    classifier: Slug | None = Field(
        description="Registry model that classifies what no rule matched; null: the embedded default. "
        "A hosted model is used only when named here or with --classifier."
    )
    classifier_max_tokens: Annotated[int, Field(gt=0, le=512)]
    max_prompt_chars: Annotated[int, Field(gt=0)] = Field(
        description="A prompt is cut to this many characters before the classifier reads it."
    )
    audit_sample_size: Annotated[int, Field(ge=0)]
    sample_seed: int
    seed_claims: list[MixClaim] = Field(default_factory=list, description="Quoted shares (prompt-mix page).")
    seed_source: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MiningPolicy:
        unknown = [t for t in self.local_tiers if t not in self.tiers]
        if unknown:
            raise ValueError(f"local_tiers names unknown tier(s): {', '.join(unknown)}")
        if self.local_tiers != self.tiers[: len(self.local_tiers)]:
            raise ValueError("local_tiers must be the smallest tiers, in the order of tiers")
        for c in self.seed_claims:
            if c.tier is not None and c.tier not in self.tiers:
                raise ValueError(f"seed claim {c.claim!r}: unknown tier {c.tier!r}")
            if c.category is not None and c.category not in self.categories:
                raise ValueError(f"seed claim {c.claim!r}: unknown category {c.category!r}")
        for r in self.rules:
            for value, allowed, what in (
                (r.tier, self.tiers, "tier"),
                (r.category, self.categories, "category"),
                (r.complexity, self.complexities, "complexity"),
            ):
                if value not in allowed:
                    raise ValueError(f"rule {r.id!r}: unknown {what} {value!r}")
        return self


class SubmissionPolicy(Strict):
    """What `opsbench check-run` accepts from a contributed run folder. No defaults, as above."""

    max_file_bytes: Annotated[int, Field(gt=0)] = Field(description="Largest file a run folder may hold.")
    allowed_files: list[str] = Field(min_length=1, description="The only file names a run folder may hold.")
    ceiling_margin: Annotated[float, Field(ge=1)] = Field(
        description="A model's median warm decode speed above ceiling × this is refused (1: the ceiling itself)."
    )
    secret_patterns: list[SecretPattern] = Field(description="Known key formats, never allowed in a run folder.")
    min_secret_chars: Annotated[int, Field(ge=4)] = Field(
        description="A set environment variable named by api_key_env is searched for only when at least this "
        "long (a short value would match by chance)."
    )


class OrchestrationPolicy(Strict):
    """Thresholds of the orchestration verdict (``opsbench orchestrate``): a strategy is set against
    the baseline strategy of ``registry/compound/strategies.yaml`` on the compound tasks they share."""

    min_score_delta: float = Field(
        description="Lowest acceptable mean (strategy - baseline) final-output score, on the judge's 0..scale_max "
        "scale; non-inferiority is shown when the paired interval's lower bound is at or above it."
    )
    min_cost_saving: Fraction = Field(
        description="The cost saving per task against the baseline must be strictly greater than this share."
    )
    min_coverage: Fraction = Field(description="Share of the compound tasks whose final output must exist.")
    score_definition: str = Field(description="How a final output becomes a 0..scale_max score, in words.")


class PolicyFile(Strict):
    schema_version: Literal[1] = 1
    input_limits: InputLimits
    scoring: ScoringPolicy
    promotion: PromotionPolicy
    decisions: DecisionPolicy
    judge: JudgePolicy
    execution: ExecutionPolicy
    readiness: ReadinessPolicy
    statistics: StatisticsPolicy = Field(default_factory=StatisticsPolicy)
    claims: ClaimCheckPolicy = Field(default_factory=ClaimCheckPolicy)
    review: ReviewPolicy
    routing: RoutingPolicy
    privacy: PrivacyPolicy
    submissions: SubmissionPolicy
    mining: MiningPolicy | None = None
    orchestration: OrchestrationPolicy | None = None

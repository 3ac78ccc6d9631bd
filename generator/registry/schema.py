"""Typed records for everything under ``registry/``.

Each YAML file is validated into one of these pydantic models at the boundary, so
no raw dict travels through the pipeline. Every model forbids unknown keys: a typo
in a contributor's task file is an error with a line number, never silently
ignored. Each top-level file carries ``schema_version`` so the format can evolve.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1

# A safe slug: lower-case letters, digits, dot, dash, underscore; starts with a
# letter or digit. It can never contain a path separator or "..", so ids are safe
# to use as file and page names.
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*$")


def _check_slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value) or len(value) > 80:
        raise ValueError(
            f"unsafe id {value!r}: use lower-case letters, digits, '-', '_' or single dots, "
            "starting with a letter or digit (at most 80 characters)"
        )
    return value


Slug = Annotated[str, Field(min_length=1, max_length=80)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Base for registry records: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=False)


# --------------------------------------------------------------------------- models


ProviderKind = Literal["embedded", "openai", "ollama", "hosted"]
CostTier = Literal["free", "paid"]
# The chat formats the bench can write itself (generator/execute/providers/embedded.py: TURN_TEMPLATES).
TurnTemplate = Literal["gemma", "chatml", "smollm2"]


class ModelEntry(Strict):
    """One model the bench can run or compare against."""

    id: Slug
    display_name: str
    family: Slug = Field(description="Training family, e.g. google-gemma; the diversity guard uses it.")
    provider: ProviderKind
    served_name: str | None = Field(
        default=None, description="Name sent to the endpoint (e.g. an Ollama tag like gemma4:26b)."
    )
    base_url: str | None = None
    api_key_env: str | None = Field(
        default=None, description="Name of the environment variable holding the key; never the key."
    )
    api: Literal["chat", "completions"] = Field(
        default="chat",
        description="OpenAI-compatible endpoint to call. A base model behind a server whose chat "
        "template does not suit it answers with nothing on /chat/completions; /completions with "
        "the model's own turn template gives text.",
    )
    turn_template: TurnTemplate | None = Field(
        default=None,
        description="How chat messages become one prompt: with api: completions, and for an embedded "
        "model. An embedded model without one uses the chat template stored in its GGUF file.",
    )
    gguf_package: str | None = Field(
        default=None, description="Embedded only: the Python package that ships the GGUF file."
    )
    gguf_file: str | None = Field(
        default=None,
        description="Embedded only: the GGUF file's name inside gguf_package, for a package that holds "
        "the file as it is; without it the package assembles the file (its assemble()).",
    )
    quantization: str | None = None
    params_total_b: Positive | None = Field(default=None, description="Total parameters, billions.")
    params_active_b: Positive | None = Field(
        default=None, description="Parameters read per token, billions (MoE: active)."
    )
    bits_per_weight: Positive | None = Field(
        default=None, description="Effective bits per weight of the file as served."
    )
    context_window: Annotated[int, Field(gt=0)]
    n_layers: Annotated[int, Field(gt=0)] | None = Field(default=None, description="For the KV-cache term.")
    n_kv_heads: Annotated[int, Field(gt=0)] | None = None
    head_dim: Annotated[int, Field(gt=0)] | None = None
    memory_gb: Positive | None = Field(default=None, description="Weights footprint as published.")
    cost_tier: CostTier
    price_input_per_mtok: NonNegative | None = None
    price_output_per_mtok: NonNegative | None = None
    currency: str = "USD"
    architecture: Literal["dense", "moe", "hybrid"] = "dense"
    notes: str | None = None
    source: str | None = Field(default=None, description="Where the public facts come from.")
    host: str | None = Field(
        default=None,
        description="Where the weights run as measured (e.g. 'embedded llama.cpp', 'llama_cpp.server', "
        "'OpenRouter, provider precision'): with quantization, what tells two same-weights entries apart.",
    )
    same_weights_as: Slug | None = Field(
        default=None,
        description="Another entry with the same trained weights under another host or quantization: "
        "the pair the proxy-validity analysis compares on shared cases.",
    )

    _slug = field_validator("id", "family")(_check_slug)

    @field_validator("gguf_file")
    @classmethod
    def _plain_gguf_name(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.endswith(".gguf") or "/" in value or "\\" in value or value.startswith(".")
        ):
            raise ValueError("gguf_file must be a plain file name ending in .gguf (no folders)")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
            raise ValueError(
                "api_key_env must be an environment variable NAME (e.g. OPENAI_API_KEY), never a key"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelEntry:
        if self.provider != "hosted":
            for key in ("quantization", "params_total_b", "params_active_b", "bits_per_weight"):
                if getattr(self, key) is None:
                    raise ValueError(f"a local ({self.provider}) model needs {key}")
        if (
            self.params_active_b is not None
            and self.params_total_b is not None
            and self.params_active_b > self.params_total_b
        ):
            raise ValueError("params_active_b cannot exceed params_total_b")
        if self.cost_tier == "paid" and (
            self.price_input_per_mtok is None or self.price_output_per_mtok is None
        ):
            raise ValueError("a paid model needs price_input_per_mtok and price_output_per_mtok")
        if self.provider == "embedded" and not self.gguf_package:
            raise ValueError("an embedded model needs gguf_package")
        if self.provider != "embedded" and (self.gguf_package or self.gguf_file):
            raise ValueError("gguf_package and gguf_file are for embedded models only")
        if self.provider in ("openai", "ollama", "hosted") and not self.base_url:
            raise ValueError(f"a {self.provider} model needs base_url")
        kv = (self.n_layers, self.n_kv_heads, self.head_dim)
        if any(v is not None for v in kv) and None in kv:
            raise ValueError("give all of n_layers, n_kv_heads and head_dim, or none")
        if self.api == "completions" and self.turn_template is None:
            raise ValueError("api: completions needs turn_template (how to join the messages)")
        if self.provider == "hosted" and not self.api_key_env:
            raise ValueError("a hosted model needs api_key_env (the variable's name)")
        if self.same_weights_as == self.id:
            raise ValueError("same_weights_as names the entry itself")
        return self

    @property
    def request_name(self) -> str:
        return self.served_name or self.id


class ProxyClaim(Strict):
    """A source's quoted cloud-versus-local score of one model (quoted beside our pairs, never evidence)."""

    model: str
    cloud_score: float
    local_score: float
    scale_max: Positive
    claim: str


class ModelsFile(Strict):
    schema_version: Literal[1] = 1
    models: list[ModelEntry]
    seed_proxy_claims: list[ProxyClaim] = Field(
        default_factory=list, description="Cloud-vs-local scores a source states (proxy-validity page)."
    )
    seed_proxy_source: str | None = None
    aliases: dict[str, Slug] = Field(
        default_factory=dict,
        description="Explicit names from other harnesses → registry ids; never guessed.",
    )


# --------------------------------------------------------------------------- roles


class Role(Strict):
    """A routing slot: one incumbent, any number of challengers."""

    id: Slug
    description: str
    incumbent: Slug
    challengers: list[Slug] = Field(default_factory=list)

    _slug = field_validator("id")(_check_slug)


class RolesFile(Strict):
    schema_version: Literal[1] = 1
    roles: list[Role]


# --------------------------------------------------------------------------- policy


Severity = Literal["low", "medium", "high", "critical"]


class ScoringPolicy(Strict):
    severity_weights: dict[Severity, Positive]
    review_pain_definition: str = Field(
        description="Plain-language definition printed on the methodology page."
    )
    prompt_echo_min_chars: Annotated[int, Field(ge=0)] = Field(
        default=40,
        description="Fail outputs that repeat an instruction line this long verbatim (0: off).",
    )
    output_excerpt_chars: Annotated[int, Field(gt=0)] = 400
    max_output_chars: Annotated[int, Field(gt=0)] = 16000


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

    acceptance_rate: Literal[">="] = ">="
    review_pain: Literal["<="] = "<="
    hard_failure_rate: Literal["<="] = "<="
    cost_tier_rule: Literal["free_unless_incumbent_paid"] = "free_unless_incumbent_paid"
    min_families_per_role: Annotated[int, Field(ge=1)] = 2
    min_shared_cases: Annotated[int, Field(ge=1)] = 20
    multiplicity: Literal["holm"] = Field(
        default="holm", description="Family-wise error control across the challengers of one role."
    )
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


class JudgePolicy(Strict):
    scale_max: Annotated[int, Field(ge=1)] = 2
    disagreement_threshold: NonNegative = 1.5
    judges: list[Slug] = Field(default_factory=list)


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


class ReadinessPolicy(Strict):
    probe_prompt: str = "ping"
    probe_max_s: Positive = 15


class ClaimCheckPolicy(Strict):
    """How closely a quoted figure (a seed document's, or a registry ``seed_claim``) must match
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

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from None
        return value


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


class PolicyFile(Strict):
    schema_version: Literal[1] = 1
    scoring: ScoringPolicy
    promotion: PromotionPolicy
    decisions: DecisionPolicy
    judge: JudgePolicy
    execution: ExecutionPolicy
    readiness: ReadinessPolicy
    statistics: StatisticsPolicy = Field(default_factory=StatisticsPolicy)
    claims: ClaimCheckPolicy = Field(default_factory=ClaimCheckPolicy)
    review: ReviewPolicy
    mining: MiningPolicy | None = None


# --------------------------------------------------------------------------- hardware


class Machine(Strict):
    id: Slug
    name: str
    memory_gb: Positive
    bandwidth_gbs: Positive
    power_w: Positive
    price: NonNegative
    currency: str
    os_overhead_gb: NonNegative
    kind: Literal["unified", "gpu", "cpu"]
    noise: str | None = None
    estimated: bool = Field(default=False, description="True for unreleased or estimated specs.")
    notes: str | None = None

    _slug = field_validator("id")(_check_slug)


class CapacityDefaults(Strict):
    context_tokens: Annotated[int, Field(gt=0)] = 8192
    concurrency: Annotated[int, Field(ge=1)] = 1
    runtime_overhead_gb: NonNegative = 1.0
    target_user_tps: Positive = 10.0
    days_per_month: Positive = 30.0
    kv_bytes_per_element: Positive = 2.0


class ThroughputClaim(Strict):
    """A row of a source's throughput table: a stated tok/s and the tokens per month it implies."""

    machine: str
    model: str
    stated_tps: Positive
    claim: str


class DecodeClaim(Strict):
    """A stated decode speed for a model on a machine, with the bytes per token the source gives."""

    machine: str
    model: str
    claim: str
    claimed_tps: Positive
    stated_gb_per_token: Positive | None = None


class MemoryClaim(Strict):
    """A stated memory footprint of a model's weights."""

    model: str
    claim: str
    claimed_gb: Positive


class ElectricityClaim(Strict):
    """A stated monthly electricity cost of a machine at a stated daily duty."""

    id: Slug
    machine: str
    hours_per_day: Annotated[float, Field(gt=0, le=24)]
    claim: str
    claimed_monthly: NonNegative

    _slug = field_validator("id")(_check_slug)


class ElectricitySavingClaim(Strict):
    """A stated saving of one machine's electricity over another's across a window
    (``cheaper`` and ``dearer`` name two ``electricity`` claims)."""

    cheaper: Slug
    dearer: Slug
    months: Annotated[int, Field(ge=1)]
    claim: str


class PlanModelClaim(Strict):
    """One model of a source's deployment option, with the figures it states for it."""

    model: str
    label: str = Field(description="The part the source gives it, e.g. 'Utility - fast tasks'.")
    claimed_gb: Positive | None = None
    claimed_tps: Positive | None = None
    claimed_users: Annotated[int, Field(ge=1)] | None = None
    claim: str


class PlanClaim(Strict):
    """A source's deployment option: models loaded together on one machine, and its totals."""

    id: Slug
    label: str
    machine: str
    models: list[PlanModelClaim] = Field(min_length=1)
    claimed_total_gb: Positive | None = None
    claimed_free_gb: float | None = Field(default=None, description="Memory left after the OS, as stated.")
    claim: str
    note: str | None = None

    _slug = field_validator("id")(_check_slug)


class HardwareClaims(Strict):
    """Figures a source document states about machines and models that no other registry field
    holds. Each is checked against what its own stated inputs give; never an input to a formula.
    A claim naming a machine or model the registry lacks is reported as not checked."""

    source: str = Field(description="Where the claims are quoted from, as the reports cite it.")
    throughput_table: list[ThroughputClaim] = Field(default_factory=list)
    decode: list[DecodeClaim] = Field(default_factory=list)
    memory: list[MemoryClaim] = Field(default_factory=list)
    electricity: list[ElectricityClaim] = Field(default_factory=list)
    electricity_saving: list[ElectricitySavingClaim] = Field(default_factory=list)
    plans: list[PlanClaim] = Field(default_factory=list)


class PlanPolicy(Strict):
    """``opsbench plan``: how many models a set may hold, and how many sets a listing shows."""

    max_models: Annotated[int, Field(ge=1, le=6)]
    max_sets_shown: Annotated[int, Field(ge=1)]


class HardwareFile(Strict):
    schema_version: Literal[1] = 1
    capacity: CapacityDefaults
    machines: list[Machine]
    seed_claims: HardwareClaims | None = None
    plans: PlanPolicy | None = None


# --------------------------------------------------------------------------- pricing


class ApiPrice(Strict):
    id: Slug
    name: str
    input_per_mtok: NonNegative
    output_per_mtok: NonNegative
    currency: str

    _slug = field_validator("id")(_check_slug)


class SubscriptionTier(Strict):
    id: Slug
    name: str
    monthly: NonNegative
    currency: str

    _slug = field_validator("id")(_check_slug)


class ScenarioA(Strict):
    """Pay-per-token displacement at a stated monthly volume."""

    id: Slug
    label: str
    tokens_per_month: Positive
    api: Slug
    machine: Slug
    model: Slug | None = None
    seed_claim: str | None = Field(default=None, description="What the seed page says, for comparison.")


class ScenarioB(Strict):
    """Subscription downgrade for N users."""

    id: Slug
    label: str
    users: Annotated[int, Field(ge=1)]
    from_tier: Slug
    to_tier: Slug
    machine: Slug
    seed_claim: str | None = None


class PricingFile(Strict):
    schema_version: Literal[1] = 1
    currency: str
    fx_to_currency: dict[str, Positive] = Field(
        description="Rate to convert each listed currency into `currency`."
    )
    electricity_price_per_kwh: NonNegative
    electricity_monthly_flat: NonNegative | None = Field(
        default=None, description="A flat monthly electricity figure, when the source states one."
    )
    hours_per_day: Annotated[float, Field(gt=0, le=24)] = 8
    amortization_months: Annotated[int, Field(ge=1)]
    input_share: Fraction = 0.3
    seed_source: str | None = Field(
        default=None, description="Where the scenarios' `seed_claim` figures are quoted from."
    )
    api_prices: list[ApiPrice]
    subscriptions: list[SubscriptionTier]
    scenario_a: list[ScenarioA] = Field(default_factory=list)
    scenario_b: list[ScenarioB] = Field(default_factory=list)


# --------------------------------------------------------------------------- workloads


RATE_METRICS = ("acceptance_rate", "json_valid_rate", "class_recall")


class Gate(Strict):
    """A measured threshold. ``kind`` says which finding failing it leads to (see policy)."""

    metric: Literal[
        "acceptance_rate",
        "hard_failure_rate",
        "p95_latency_s",
        "p50_latency_s",
        "cold_start_s",
        "policy_violation_rate",
        "unsupported_claim_rate",
        "json_valid_rate",
        "class_recall",
        "review_pain",
    ]
    op: Literal[">=", "<="]
    value: float = 0.0
    kind: Literal["quality", "operational", "safety"]
    label: str | None = Field(default=None, description="Class name for class_recall.")
    concurrency: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Latency gates only: the load level (requests in flight) the gate is judged at. "
        "Default: the lowest level the model was measured at.",
    )
    relative_to: Literal["baseline"] | None = Field(
        default=None,
        description="Judge against the workload's hosted baseline on shared cases: non-inferiority, "
        "the one-sided lower bound of (candidate − baseline) above −margin. `value` is then unused.",
    )
    margin: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Non-inferiority margin δ of a relative gate (acceptance points)."
    )
    note: str | None = None

    @model_validator(mode="after")
    def _label(self) -> Gate:
        if self.metric == "class_recall" and not self.label:
            raise ValueError("a class_recall gate needs label")
        if self.relative_to is not None:
            if self.margin is None:
                raise ValueError("a relative gate needs margin")
            if self.metric not in RATE_METRICS:
                raise ValueError(f"relative gates apply to rate metrics: {', '.join(RATE_METRICS)}")
            if self.op != ">=":
                raise ValueError("a relative gate is a non-inferiority test: op must be '>='")
        elif self.margin is not None:
            raise ValueError("margin applies to relative gates only (relative_to: baseline)")
        if self.concurrency is not None and self.metric not in ("p95_latency_s", "p50_latency_s"):
            raise ValueError("concurrency applies to p95_latency_s and p50_latency_s gates only")
        return self


class RoiInputs(Strict):
    """Inputs of the staff-time arithmetic in the sample deliverables.

    hours/month = volume × share_automated × minutes saved per item × survival ÷ 60,
    where minutes saved = minutes_before − minutes_after, or minutes_before × time_reduction.
    """

    monthly_volume: NonNegative
    share_automated: Fraction
    minutes_before: NonNegative
    minutes_after: NonNegative | None = None
    time_reduction: Fraction | None = None
    survival_factor: Fraction = 1.0
    loaded_hourly_rate: NonNegative
    local_share: Fraction = Field(
        default=1.0, description="Share of the volume the local model processes (displaces hosted calls)."
    )
    hosted_cost_per_item: NonNegative = 0
    monthly_local_cost: NonNegative = 0
    currency: str = "USD"
    seed_claims: dict[str, str] = Field(
        default_factory=dict, description="Figures the seed states, checked against the formula."
    )

    @model_validator(mode="after")
    def _one_saving(self) -> RoiInputs:
        if (self.minutes_after is None) == (self.time_reduction is None):
            raise ValueError("give exactly one of minutes_after or time_reduction")
        if self.minutes_after is not None and self.minutes_after > self.minutes_before:
            raise ValueError("minutes_after cannot exceed minutes_before")
        return self


# Column / field names of a review sample file: a rubric dimension may not take one.
REVIEW_RESERVED_FIELDS = frozenset({"item", "input", "output", "reviewer", "notes"})


class RubricDimension(Strict):
    """One question a human reviewer answers about an output, on an integer scale.

    Higher is better on every dimension (the question says what the top of the scale
    means), so "every dimension at least policy.review.acceptable_score" reads the same
    way for all of them.
    """

    id: Slug
    question: str = Field(min_length=1, description="What the reviewer is asked, with what each end means.")
    scale_min: int = 1
    scale_max: int = 5

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _scale(self) -> RubricDimension:
        if self.scale_min >= self.scale_max:
            raise ValueError(f"scale_min ({self.scale_min}) must be below scale_max ({self.scale_max})")
        if self.id in REVIEW_RESERVED_FIELDS:
            raise ValueError(
                f"dimension id {self.id!r} is a column of the review file; "
                f"avoid {sorted(REVIEW_RESERVED_FIELDS)}"
            )
        return self


class Workload(Strict):
    id: Slug
    title: str
    source: str = Field(description="Which sample deliverable describes it.")
    description: str
    roles: list[Slug]
    candidates: list[Slug] = Field(default_factory=list)
    baseline: Slug | None = None
    gates: list[Gate]
    guard_rules: list[str] = Field(default_factory=list)
    route_if_kept: Literal["local", "hybrid"] = "local"
    roi: RoiInputs | None = None
    review_rubric: list[RubricDimension] = Field(
        default_factory=list,
        description="What a human grades in `opsbench review` (none: the workload is not sampled).",
    )

    _slug = field_validator("id")(_check_slug)

    @field_validator("review_rubric")
    @classmethod
    def _unique_dimensions(cls, value: list[RubricDimension]) -> list[RubricDimension]:
        ids = [d.id for d in value]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"rubric dimension ids must be unique: {', '.join(twice)} repeated")
        return value


class WorkloadsFile(Strict):
    schema_version: Literal[1] = 1
    workloads: list[Workload]


# --------------------------------------------------------------------------- task cases


class CheckBase(Strict):
    id: Slug | None = Field(default=None, description="Defaults to the kind and its position.")
    severity: Severity | None = Field(default=None, description="Defaults to the case's severity.")
    note: str | None = None


class JsonValidCheck(CheckBase):
    kind: Literal["json_valid"]


class JsonSchemaCheck(CheckBase):
    kind: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("schema_")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return value


class ExactFieldCheck(CheckBase):
    kind: Literal["exact_field"]
    field: str = Field(description="Dotted path into the output's JSON object.")
    expected: Any


class LabelCheck(CheckBase):
    kind: Literal["label"]
    labels: list[str] = Field(min_length=2)
    expected: str
    field: str | None = Field(default=None, description="JSON field holding the label; else free text.")

    @model_validator(mode="after")
    def _expected_in_labels(self) -> LabelCheck:
        if self.expected not in self.labels:
            raise ValueError(f"expected label {self.expected!r} is not one of {self.labels}")
        return self


class EvidenceCheck(CheckBase):
    """The output must quote lines that really are in the case input (citations)."""

    kind: Literal["evidence"]
    required: list[str] = Field(default_factory=list, description="Lines that must be cited.")
    min_lines: Annotated[int, Field(ge=0)] = 1


class BannedPhrasesCheck(CheckBase):
    """Case-insensitive substrings, and regexes matched with IGNORECASE | MULTILINE."""

    kind: Literal["banned_phrases"]
    phrases: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list, description="Regexes, case-insensitive.")

    @model_validator(mode="after")
    def _something_banned(self) -> BannedPhrasesCheck:
        if not self.phrases and not self.patterns:
            raise ValueError("banned_phrases needs phrases or patterns")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from None
        return self


class RequiredPhrasesCheck(CheckBase):
    kind: Literal["required_phrases"]
    phrases: list[str] = Field(min_length=1)
    mode: Literal["all", "any"] = "all"


class RegexCheck(CheckBase):
    kind: Literal["regex"]
    pattern: str
    must_match: bool = True

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from None
        return value


Check = Annotated[
    JsonValidCheck
    | JsonSchemaCheck
    | ExactFieldCheck
    | LabelCheck
    | EvidenceCheck
    | BannedPhrasesCheck
    | RequiredPhrasesCheck
    | RegexCheck,
    Field(discriminator="kind"),
]

# What a failed check means for the decision gates: banned phrases are policy
# violations, missing evidence is an unsupported claim.
CHECK_CATEGORY: dict[str, str] = {
    "json_valid": "format",
    "json_schema": "format",
    "exact_field": "accuracy",
    "label": "accuracy",
    "evidence": "unsupported_claim",
    "banned_phrases": "policy_violation",
    "required_phrases": "completeness",
    "regex": "format",
    "prompt_echo": "format",
}


class Message(Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class TaskCase(Strict):
    """One contributor-written case. ``{{input}}`` in the prompt is replaced by ``input``."""

    schema_version: Literal[1] = 1
    id: Slug
    title: str
    role: Slug
    workload: Slug | None = None
    severity: Severity
    author: str | None = None
    tags: list[str] = Field(default_factory=list)
    system: str | None = None
    prompt: str | None = None
    messages: list[Message] | None = None
    input: str = ""
    max_tokens: Annotated[int, Field(gt=0, le=8192)] | None = None
    checks: list[Check] = Field(min_length=1)
    rubric: str | None = Field(default=None, description="What a judge should look for (optional).")

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> TaskCase:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt or messages")
        ids = [c.id for c in self.checks if c.id]
        if len(ids) != len(set(ids)):
            raise ValueError("check ids must be unique within a case")
        return self

    def check_ids(self) -> list[str]:
        return [c.id or f"{c.kind}-{i + 1}" for i, c in enumerate(self.checks)]


class SuiteMeta(Strict):
    schema_version: Literal[1] = 1
    description: str
    default_max_tokens: Annotated[int, Field(gt=0)] | None = None

"""Typed records for everything under ``registry/``.

Each YAML file is validated into one of these pydantic models at the boundary, so
no raw dict travels through the pipeline. Every model forbids unknown keys: a typo
in a contributor's task file is an error with a line number, never silently
ignored. Each top-level file carries ``schema_version`` so the format can evolve.
"""

from __future__ import annotations

import itertools
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


class WeightComponent(Strict):
    """Part of a model's weights stored at one precision (e.g. MoE experts at MXFP4, attention
    and embeddings at BF16). Bytes read per token are the sum over components of active
    parameters × bits ÷ 8, so a mixed-precision file is not read as if all of it were 4-bit."""

    name: str = Field(min_length=1)
    params_active_b: Positive = Field(description="Parameters of this component read per token, billions.")
    bits_per_weight: Positive
    source: str | None = None


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
    weights: list[WeightComponent] = Field(
        default_factory=list,
        description="Per-component precision; when given, bytes per token is their sum (their active "
        "parameters must add up to params_active_b) and bits_per_weight is used for the fit only.",
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
        if self.weights and self.params_active_b is not None:
            total = sum(w.params_active_b for w in self.weights)
            if abs(total - self.params_active_b) > 0.01 * self.params_active_b:
                raise ValueError(
                    f"weights components add up to {total:g}B active parameters, not params_active_b "
                    f"{self.params_active_b:g}B"
                )
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


# --------------------------------------------------------------------------- escalation


class EscalationTriggers(Strict):
    """When a rung passes a case on to the next rung. Any trigger that fires escalates."""

    check_failed: bool = Field(default=False, description="The rung's answer failed a deterministic check.")
    timeout: bool = Field(default=False, description="The rung timed out.")
    hard_failure: bool = Field(default=False, description="Any hard failure (timeout, connection, overflow...).")
    judge_below: NonNegative | None = Field(
        default=None, description="The judges' mean score (0..policy judge.scale_max) is below this."
    )
    verifier_reject: Slug | None = Field(
        default=None,
        description="A verifier model (e.g. the review role's incumbent) scores the answer below "
        "policy review.judge_acceptable_score. Evaluated live (`opsbench run --escalate`), where the "
        "verifier runs as the run's judge.",
    )

    @model_validator(mode="after")
    def _some(self) -> EscalationTriggers:
        if not (self.check_failed or self.timeout or self.hard_failure) and (
            self.judge_below is None and self.verifier_reject is None
        ):
            raise ValueError(
                "name at least one trigger (check_failed, timeout, hard_failure, judge_below, verifier_reject)"
            )
        return self

    def names(self) -> list[str]:
        out = [k for k in ("check_failed", "timeout", "hard_failure") if getattr(self, k)]
        if self.judge_below is not None:
            out.append(f"judge_below {self.judge_below:g}")
        if self.verifier_reject is not None:
            out.append(f"verifier_reject {self.verifier_reject}")
        return out


class EscalationChain(Strict):
    """Rungs of registry models tried in order, ending in a hosted baseline (seed page
    "Local Model Benchmarks": local incumbent, bigger local, hosted)."""

    rungs: list[Slug] = Field(min_length=2, description="Model ids, first tried first; the last is hosted.")
    on: EscalationTriggers = Field(description="What sends a case from one rung to the next.")


# --------------------------------------------------------------------------- roles


class Role(Strict):
    """A routing slot: one incumbent, any number of challengers."""

    id: Slug
    description: str
    incumbent: Slug
    challengers: list[Slug] = Field(default_factory=list)
    escalation: EscalationChain | None = None

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
    evidence_min_chars: Annotated[int, Field(ge=1)] = Field(
        default=12,
        description="An evidence check counts a source line as quotable only when it has at least this "
        "many characters (shorter lines, such as 'Date:' headers, prove nothing when echoed).",
    )
    max_output_chars: Annotated[int, Field(gt=0)] = 16000
    case_page_output_chars: Annotated[int, Field(gt=0)] = Field(
        default=4000,
        description="A case page shows at most this much of each model's latest output; the rest is "
        "in the run's results.jsonl download (keeps the largest page under the size budget).",
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
    max_judges: Annotated[int, Field(ge=1)] = Field(
        default=2, description="How many judges a run may use; each must come from a different family."
    )
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
    regex_max_chars: Annotated[int, Field(gt=0, le=10_000)] = Field(
        description="Longest regex a guard rule may state."
    )
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


def _check_regex(value: str) -> str:
    """A contributor's regex must compile (one rule for every pattern field)."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from None
    return value


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


# --------------------------------------------------------------------------- hardware


Backend = Literal["CPU", "CUDA", "Metal", "ROCm", "Vulkan"]
# The backend a machine of each kind runs llama.cpp-family runtimes on, unless it says otherwise.
BACKEND_OF_KIND: dict[str, Backend] = {"cpu": "CPU", "gpu": "CUDA", "unified": "Metal"}


class Machine(Strict):
    id: Slug
    name: str
    memory_gb: Positive | None = Field(
        default=None, description="None for a measurement host whose memory is not stated: it has no fit rows."
    )
    bandwidth_gbs: Positive = Field(
        description="Bandwidth one decode stream reads weights at (GB/s). Two GPUs with the layers "
        "split between them give one stream one card's bandwidth, not the sum."
    )
    bandwidth_source: str | None = Field(
        default=None, description="Where the bandwidth figure comes from (spec sheet, measurement, estimate)."
    )
    power_w: Positive
    price: NonNegative | None = Field(
        default=None,
        description="Purchase price; a machine without one cannot carry a cost (a workload or "
        "scenario naming it is an error).",
    )
    currency: str | None = None
    os_overhead_gb: NonNegative
    kind: Literal["unified", "gpu", "cpu"]
    backend: Backend | None = Field(default=None, description="Default: from kind (cpu CPU, gpu CUDA, unified Metal).")
    concurrency: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Requests the machine's runtime serves at once (ROI capacity check); default capacity.concurrency.",
    )
    noise: str | None = None
    estimated: bool = Field(default=False, description="True for unreleased or estimated specs.")
    notes: str | None = None

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _priced(self) -> Machine:
        if (self.price is None) != (self.currency is None):
            raise ValueError("give price and currency together, or neither")
        return self

    @property
    def run_backend(self) -> Backend:
        return self.backend or BACKEND_OF_KIND[self.kind]


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


class BandwidthClaim(Strict):
    """A stated memory bandwidth of a machine, checked against the registry's sourced figure."""

    machine: str
    claim: str
    claimed_gbs: Positive
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
    bandwidth: list[BandwidthClaim] = Field(default_factory=list)
    electricity: list[ElectricityClaim] = Field(default_factory=list)
    electricity_saving: list[ElectricitySavingClaim] = Field(default_factory=list)
    plans: list[PlanClaim] = Field(default_factory=list)


class PlanPolicy(Strict):
    """``opsbench plan``: how many models a set may hold, and how many sets a listing shows."""

    max_models: Annotated[int, Field(ge=1, le=6)]
    max_sets_shown: Annotated[int, Field(ge=1)]


class ReferenceTier(Strict):
    """Models that stand for one size tier, so machines are compared on the same work."""

    id: Slug
    max_params_b: Positive | None = Field(default=None, description="Upper end of the tier (None: no limit).")
    models: list[Slug] = Field(min_length=1)

    _slug = field_validator("id")(_check_slug)


class ReferenceWork(Strict):
    """The hardware-normalised comparison: every machine runs the reference suite on its tier's models."""

    suite: Slug
    tiers: list[ReferenceTier] = Field(min_length=1)


class HardwareFile(Strict):
    schema_version: Literal[1] = 1
    capacity: CapacityDefaults
    machines: list[Machine]
    device_aliases: dict[str, Slug] = Field(
        default_factory=dict,
        description="Device names other tools report (llama-bench gpu_info / cpu_info) → machine ids; "
        "never guessed, so an ingested measurement joins the calibration only through this table.",
    )
    seed_claims: HardwareClaims | None = None
    reference: ReferenceWork | None = None
    plans: PlanPolicy | None = None


# --------------------------------------------------------------------------- pricing


class ApiPrice(Strict):
    id: Slug
    name: str
    input_per_mtok: NonNegative
    output_per_mtok: NonNegative
    cached_input_per_mtok: NonNegative | None = Field(
        default=None, description="Price of input tokens read from the provider's prompt cache."
    )
    cached_input_share: Fraction | None = Field(
        default=None,
        description="Share of input tokens billed at the cached price (a stated assumption: the bench "
        "records no cache hits). Without it every input token is billed at input_per_mtok.",
    )
    currency: str
    model: Slug | None = Field(
        default=None, description="The registry model this price is for (hosted spend displaced uses it)."
    )

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
    electricity_flat_machine: Slug | None = Field(
        default=None,
        description="The machine the flat figure was stated for; every other machine's electricity is "
        "computed from its own power.",
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
        "private_endpoint",
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
        if self.metric == "private_endpoint" and (self.op != ">=" or self.value != 1):
            raise ValueError("a private_endpoint gate reads 1 for a private endpoint: write op '>=' and value 1")
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
    machine: Slug | None = Field(
        default=None,
        description="The machine the workload runs on locally: its amortised price and electricity are "
        "the measured ROI's local running cost, its runs the capacity check's latency.",
    )
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


RuleAction = Literal["local", "hosted", "human_review", "escalate"]


class RuleCondition(Strict):
    """What a guard rule matches. Every condition given must hold (and); a rule with only input
    conditions is decided before the model runs, one with output conditions on each answer."""

    input_keywords: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="Any of these words or phrases in the input (case-insensitive, whole words)."
    )
    input_regex: str | None = Field(
        default=None, description="A regex searched in the input (case-insensitive), with a time bound."
    )
    input_words_above: Annotated[int, Field(ge=0)] | Literal["measured"] | None = Field(
        default=None,
        description="More words than this in the input; `measured`: the candidate's own measured length "
        "limit (input-length evidence), instead of a typed number.",
    )
    input_tokens_above: Annotated[int, Field(ge=0)] | Literal["measured"] | None = Field(
        default=None, description="The same in prompt tokens."
    )
    output_label_in: list[str] = Field(default_factory=list, description="The local answer's label is one of these.")
    check_failed: list[str] = Field(
        default_factory=list, description="Any of these named checks (check ids of the workload's cases) failed."
    )
    judge_below: NonNegative | None = Field(default=None, description="The judges' mean score is below this.")
    hard_failure: bool = Field(default=False, description="The local request failed hard (fallback route).")

    @field_validator("input_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
        import regex

        try:
            regex.compile(value, regex.IGNORECASE)
        except regex.error as exc:
            raise ValueError(f"input_regex does not compile: {exc}") from None
        return value

    @model_validator(mode="after")
    def _something(self) -> RuleCondition:
        if not self.input_conditions() and not self.output_conditions():
            raise ValueError("a rule needs at least one condition")
        return self

    def input_conditions(self) -> list[str]:
        keys = ("input_keywords", "input_regex", "input_words_above", "input_tokens_above")
        return [k for k in keys if getattr(self, k) not in (None, [])]

    def output_conditions(self) -> list[str]:
        keys = ("output_label_in", "check_failed", "judge_below")
        return [k for k in keys if getattr(self, k) not in (None, [])] + (["hard_failure"] if self.hard_failure else [])


class GuardRule(Strict):
    """A deterministic safety rail (seed: "if keyword_risk: human_review; elif local_label in
    [watch, escalate]: human_review; else: routine_queue"). Rules are tried in order; the first
    that matches decides the route; none matching leaves the item local."""

    id: Slug
    when: RuleCondition
    action: RuleAction
    model: Slug | None = Field(
        default=None, description="hosted: the model that takes the item (default: the workload's baseline)."
    )
    note: str | None = None

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _model_for_hosted(self) -> GuardRule:
        if self.model is not None and self.action != "hosted":
            raise ValueError("model applies to action: hosted only")
        return self


RoutingFigure = Literal["class_recall_after_rails", "local_share_after_rails", "volume_share_local"]


class RoutingClaim(Strict):
    """A routing figure a seed document states, to be computed from the cases (or said not derivable)."""

    id: Slug
    figure: RoutingFigure
    claim: str = Field(description="The words of the seed, with its number.")
    source: str
    workloads: list[Slug] = Field(min_length=1)
    model: Slug | None = Field(default=None, description="The candidate the seed's figure is about.")
    label: str | None = Field(default=None, description="class_recall_after_rails: the class.")

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _shape(self) -> RoutingClaim:
        if self.figure == "class_recall_after_rails" and not self.label:
            raise ValueError("class_recall_after_rails needs label")
        if self.figure != "volume_share_local" and len(self.workloads) != 1:
            raise ValueError(f"{self.figure} is about one workload")
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
    guard_rules: list[str] = Field(
        default_factory=list, description="Rules in words that no data can check (process, prompt wording)."
    )
    rules: list[GuardRule] = Field(
        default_factory=list, description="Guard rules as data: applied to every case and answer (rails)."
    )
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
    routing_claims: list[RoutingClaim] = Field(
        default_factory=list, description="Seed routing figures, computed from the cases or flagged."
    )


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

    _compiles = field_validator("pattern")(_check_regex)


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

"""``registry/workloads.yaml``: workloads, their gates, ROI inputs, rubrics and guard rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import Fraction, NonNegative, Slug, Strict, _check_slug

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
                f"dimension id {self.id!r} is a column of the review file; avoid {sorted(REVIEW_RESERVED_FIELDS)}"
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

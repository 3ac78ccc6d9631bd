"""``registry/hardware.yaml``: machines, capacity defaults, structured seed hardware claims."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import NonNegative, Positive, Slug, Strict, _check_slug

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

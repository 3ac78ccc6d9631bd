"""``registry/models.yaml``: the models, their weights, serving and proxy claims."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import NonNegative, Positive, Slug, Strict, _check_slug

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
            raise ValueError("api_key_env must be an environment variable NAME (e.g. OPENAI_API_KEY), never a key")
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
        if self.cost_tier == "paid" and (self.price_input_per_mtok is None or self.price_output_per_mtok is None):
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

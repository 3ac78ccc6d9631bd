"""``registry/pricing.yaml``: API prices, subscriptions and the seed's cost scenarios."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from generator.registry.schema.common import Fraction, NonNegative, Positive, Slug, Strict, _check_slug

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


ScenarioClaimKind = Literal[
    "api_cost_monthly", "monthly_saving", "break_even_never", "break_even_month", "savings_over_window"
]


class ScenarioClaim(Strict):
    """One figure a seed page states for a scenario, with what it states (structured, as the
    hardware claims are, so no keyword in the text decides which formula checks it)."""

    kind: ScenarioClaimKind
    claim: str = Field(description="The seed's words, as quoted; its number is read from them.")


class ScenarioA(Strict):
    """Pay-per-token displacement at a stated monthly volume."""

    id: Slug
    label: str
    tokens_per_month: Positive
    api: Slug
    machine: Slug
    model: Slug | None = None
    seed_claims: list[ScenarioClaim] = Field(
        default_factory=list, description="What the seed page says, for comparison."
    )


class ScenarioB(Strict):
    """Subscription downgrade for N users."""

    id: Slug
    label: str
    users: Annotated[int, Field(ge=1)]
    from_tier: Slug
    to_tier: Slug
    machine: Slug
    seed_claims: list[ScenarioClaim] = Field(
        default_factory=list, description="What the seed page says, for comparison."
    )


class PricingFile(Strict):
    schema_version: Literal[1] = 1
    currency: str
    fx_to_currency: dict[str, Positive] = Field(description="Rate to convert each listed currency into `currency`.")
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
        default=None, description="Where the scenarios' `seed_claims` figures are quoted from."
    )
    api_prices: list[ApiPrice]
    subscriptions: list[SubscriptionTier]
    scenario_a: list[ScenarioA] = Field(default_factory=list)
    scenario_b: list[ScenarioB] = Field(default_factory=list)

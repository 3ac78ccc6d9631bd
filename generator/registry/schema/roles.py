"""``registry/roles.yaml``: roles, incumbents and challengers, escalation chains."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from generator.registry.schema.common import NonNegative, Slug, Strict, _check_slug

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

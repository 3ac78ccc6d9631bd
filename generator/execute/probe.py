"""The readiness probe from the claims sample deliverable.

A runtime that reports ready before a model is loaded sends the first real
request into a cold start. The probe asks for a one-token generation and calls
the model ready only if a valid completion comes back under the threshold in
``policy.yaml`` (``readiness.probe_max_s``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from generator.execute.providers.base import Prompt, Provider
from generator.registry.schema import ModelEntry, PolicyFile
from generator.textcut import clip


@dataclass
class ProbeResult:
    model_id: str
    ready: bool
    threshold_s: float
    load_s: float | None
    cold_s: float | None
    warm_s: float | None
    cold_failure: str | None
    warm_failure: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(model: ModelEntry, provider: Provider, policy: PolicyFile) -> ProbeResult:
    r = policy.readiness
    prompt = Prompt(
        messages=[{"role": "user", "content": r.probe_prompt}],
        max_tokens=1,
        temperature=0.0,
        seed=policy.execution.seed,
        timeout_s=max(r.probe_max_s * r.probe_wait_factor, policy.execution.request_timeout_s),
    )
    t0 = time.perf_counter()
    load_s = provider.load()
    cold = provider.generate(prompt)
    cold_total = time.perf_counter() - t0  # what a first caller waits: load plus first token
    warm = provider.generate(prompt)
    warm_s = (warm.done_at - warm.sent_at) if warm.done_at is not None else None
    ok = cold.failure_kind is None and cold_total <= r.probe_max_s
    if cold.failure_kind is not None:
        error = clip(cold.error or "", policy.execution.error_text_chars)
        detail = f"first one-token generation failed: {cold.failure_kind} ({error})"
    elif cold_total > r.probe_max_s:
        detail = f"first completion took {cold_total:.2f} s, over the {r.probe_max_s:g} s threshold"
    else:
        detail = f"first completion in {cold_total:.2f} s (threshold {r.probe_max_s:g} s)"
    return ProbeResult(
        model_id=model.id,
        ready=ok,
        threshold_s=r.probe_max_s,
        load_s=load_s,
        cold_s=cold_total,
        warm_s=warm_s,
        cold_failure=cold.failure_kind,
        warm_failure=warm.failure_kind,
        detail=detail,
    )

"""One interface for every runtime the bench can talk to.

A provider turns a prepared request into a :class:`Generation`: the text, the
arrival time of every streamed chunk, token usage, and whatever the runtime says
about itself. Failures come back as a :class:`Generation` with a ``failure_kind``,
never as an exception, because a hard failure is a result the bench must record.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Protocol

from generator.runs.records import ModelInRun, Timing, Usage


@dataclass
class Prompt:
    """A case rendered for sending: chat messages plus sampling settings."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    seed: int
    timeout_s: float


@dataclass
class Generation:
    text: str = ""
    sent_at: float = 0.0  # monotonic seconds
    chunk_times: list[float] = field(default_factory=list)  # arrival of each non-empty chunk
    done_at: float | None = None
    usage: Usage = field(default_factory=Usage)
    server_timings: dict[str, Any] | None = None
    failure_kind: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    load_s: float | None = None

    @property
    def failed(self) -> bool:
        return self.failure_kind is not None

    def timing(self) -> Timing:
        """TTFT, ITL, TPOT and E2EL as vLLM's benchmark tools define them."""
        if not self.chunk_times or self.done_at is None:
            e2e = (self.done_at - self.sent_at) if self.done_at is not None else None
            return Timing(e2e_s=e2e, load_s=self.load_s)
        ttft = self.chunk_times[0] - self.sent_at
        e2e = self.done_at - self.sent_at
        gaps = [b - a for a, b in zip(self.chunk_times, self.chunk_times[1:], strict=False)]
        out_tokens = self.usage.completion_tokens or len(self.chunk_times)
        tpot = (e2e - ttft) / (out_tokens - 1) if out_tokens > 1 else None
        return Timing(
            ttft_s=ttft,
            e2e_s=e2e,
            itl_mean_s=statistics.fmean(gaps) if gaps else None,
            itl_p95_s=percentile(gaps, 95) if gaps else None,
            tpot_s=tpot,
            output_tps=(out_tokens / e2e) if e2e > 0 and out_tokens else None,
            load_s=self.load_s,
        )


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99), linear between order statistics as numpy's default does:
    the standard library's inclusive quantiles are exactly that."""
    if not values:
        raise ValueError("no values")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Provider(Protocol):
    """What the runner needs from a runtime."""

    supports_parallel: bool

    def load(self) -> float | None:
        """Prepare the model; return load seconds when measurable."""

    def generate(self, prompt: Prompt) -> Generation: ...

    def describe(self) -> ModelInRun: ...

    def close(self) -> None: ...

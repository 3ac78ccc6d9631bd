"""Streamed timing as vLLM's benchmark defines it, read from chunk arrival times."""

from __future__ import annotations

import pytest

from generator.execute.providers.base import Generation, percentile
from generator.runs.records import Usage


def test_itl_p95_is_the_linear_percentile_of_the_gaps() -> None:
    # Gaps 0.1, 0.2, ..., 1.0 s: the 95th percentile lies between the two largest (numpy: 0.955).
    chunks = [0.5]
    for k in range(1, 11):
        chunks.append(chunks[-1] + k / 10)
    gen = Generation(
        text="x" * 11, sent_at=0.0, chunk_times=chunks, done_at=chunks[-1], usage=Usage(completion_tokens=11)
    )
    t = gen.timing()
    assert t.itl_p95_s == pytest.approx(0.955)
    assert t.ttft_s == pytest.approx(0.5)


def test_percentile_of_one_gap_is_that_gap() -> None:
    assert percentile([0.25], 95) == 0.25
    with pytest.raises(ValueError):
        percentile([], 50)

"""generator/analysis/length.py: input length as evidence. The limit is the lower edge of the first
length stratum whose estimate misses a gate, never above the longest measured input, with the
interval the stratum verdicts give (test_routing.py checks a guard rule citing it)."""

from __future__ import annotations

import pandas as pd

from generator.analysis.length import length_evidence
from generator.registry.schema import Workload

WORKLOAD = Workload.model_validate(
    {
        "id": "w",
        "title": "W",
        "source": "test",
        "description": "d",
        "roles": ["draft"],
        "gates": [
            {"metric": "acceptance_rate", "op": ">=", "value": 0.8, "kind": "quality"},
            {"metric": "p95_latency_s", "op": "<=", "value": 5, "kind": "operational"},  # not a length gate
        ],
    }
)


def cells(groups: list[tuple[int, int, int]]) -> tuple[pd.DataFrame, pd.Series]:
    """Quality cells and case lengths: (input length, number of cases, how many accepted) per group."""
    rows, lengths = [], {}
    for length, n, accepted in groups:
        for i in range(n):
            cid = f"c{length}-{i}"
            rows.append(
                {"model_id": "m", "workload": "w", "case_id": cid, "accepted": float(i < accepted), "hard": 0.0}
            )
            lengths[cid] = float(length)
    rows.append({"model_id": "other", "workload": "w", "case_id": "c5-0", "accepted": 0.0, "hard": 1.0})
    return pd.DataFrame(rows), pd.Series(lengths)


def test_the_limit_is_the_first_stratum_that_misses_a_gate() -> None:
    q, lengths = cells([(5, 30, 30), (15, 30, 30), (25, 30, 0)])
    ev = length_evidence(q, lengths, "m", WORKLOAD, [10, 20], "words")
    assert [(s.low, s.high, s.cases, s.state) for s in ev.strata] == [
        (0, 10, 30, "pass"),
        (10, 20, 30, "pass"),
        (20, None, 30, "fail"),
    ]
    assert (ev.limit, ev.limit_low, ev.limit_high, ev.longest) == (20, 20, 20, 25)
    assert ev.gates == ["acceptance_rate"]  # latency is not judged by input length
    assert ev.basis == "the stratum > 20 words misses a gate"
    assert ev.interval_text == "20 words [20, 20]"


def test_few_cases_widen_the_interval_and_untested_lengths_cap_the_limit() -> None:
    # Two of three long cases pass: the estimate (67 %) misses 80 %, but three cases settle nothing.
    q, lengths = cells([(5, 30, 30), (25, 3, 2)])
    ev = length_evidence(q, lengths, "m", WORKLOAD, [10, 20], "words")
    assert [s.state for s in ev.strata] == ["pass", "empty", "insufficient"]
    assert (ev.limit, ev.limit_low, ev.limit_high) == (20, 20, None)
    assert ev.interval_text == "20 words [20, not shown]"
    # Every stratum passes: the limit is the longest measured input, no further.
    q, lengths = cells([(5, 30, 30), (15, 30, 30)])
    ev = length_evidence(q, lengths, "m", WORKLOAD, [10, 20], "words")
    assert (ev.limit, ev.longest, ev.limit_high) == (15, 15, None)
    assert ev.basis == "every measured stratum meets its gates; inputs above 15 words are untested"


def test_no_measured_case() -> None:
    q, lengths = cells([(5, 30, 30)])
    ev = length_evidence(q, lengths, "nobody", WORKLOAD, [10], "tokens")
    assert ev.limit is None and ev.interval_text == "no measured cases"
    assert all(s.state == "empty" for s in ev.strata)

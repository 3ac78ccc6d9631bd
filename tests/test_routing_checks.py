"""generator/registry/routing_checks.py: guard rules and escalation chains that could never work
as written are registry problems with file:line (test_routing.py covers unknown checks, labels,
loops and local last rungs; these are the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import InputError
from generator.registry.loader import load_registry

REVIEW_CHAIN_ON = "      on: {check_failed: true, hard_failure: true}\n"
LONG_PACKET = "      - id: long-packet\n        when: {input_words_above: 7500}\n        action: hosted\n"


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in the file; the line number where it stood."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:at].count("\n") + 1


def problems_of(registry: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_registry(registry)
    return [str(p) for p in info.value.problems]


def test_judge_below_must_be_on_the_configured_judge_scale(registry_copy: Path) -> None:
    roles = registry_copy / "roles.yaml"
    line = edit(roles, REVIEW_CHAIN_ON, "      on: {check_failed: true, hard_failure: true, judge_below: 3}\n")
    workloads = registry_copy / "workloads.yaml"
    rule = edit(
        workloads,
        LONG_PACKET,
        "      - id: long-packet\n        when: {input_words_above: 7500, judge_below: 2.5}\n        action: hosted\n",
    )
    probs = problems_of(registry_copy)
    assert any(f"roles.yaml:{line}:" in p and "judge_below 3 is above judge.scale_max 2" in p for p in probs), probs
    assert any(
        f"workloads.yaml:{rule + 1}:" in p and "judge_below 2.5 is above judge.scale_max 2" in p for p in probs
    ), probs
    # On a 0..4 scale both thresholds are in range.
    policy = registry_copy / "policy.yaml"
    edit(policy, "  scale_max: 2\n", "  scale_max: 4\n")
    edit(
        policy,
        '    - {score: 2, label: "good: correct and complete"}\n',
        '    - {score: 4, label: "good: correct and complete"}\n',
    )
    assert load_registry(registry_copy).policy.judge.scale_max == 4


def test_rules_that_cannot_act_as_written(registry_copy: Path) -> None:
    workloads = registry_copy / "workloads.yaml"
    # A second rule with the first one's id.
    dup = edit(workloads, "      - id: beyond-measured-length\n", "      - id: long-packet\n")
    # escalate on a workload whose only role (draft) has no escalation chain.
    escalate = edit(workloads, LONG_PACKET, LONG_PACKET.replace("action: hosted", "action: escalate")) + 2
    # A hosted action aimed at a local model.
    local = edit(
        workloads,
        "        action: hosted\n        note: Config changes",
        "        action: hosted\n        model: gemma4-26b\n        note: Config changes",
    )
    probs = problems_of(registry_copy)
    assert any(f"workloads.yaml:{dup}:" in p and "duplicate rule id 'long-packet'" in p for p in probs), probs
    assert any(
        f"workloads.yaml:{escalate}:" in p
        and "action escalate needs an escalation chain on one of the roles ['draft'] (roles.yaml)" in p
        for p in probs
    ), probs
    assert any(
        f"workloads.yaml:{local + 1}:" in p and "'gemma4-26b' is a local model; action hosted needs a hosted one" in p
        for p in probs
    ), probs


def test_a_guard_regex_longer_than_the_policy_allows(registry_copy: Path) -> None:
    workloads = registry_copy / "workloads.yaml"
    rule = edit(
        workloads,
        LONG_PACKET,
        "      - id: long-packet\n        when: {input_regex: '(lawsuit|attorney)'}\n        action: hosted\n",
    )
    edit(registry_copy / "policy.yaml", "regex_max_chars: 300", "regex_max_chars: 10")
    probs = problems_of(registry_copy)
    assert any(
        f"workloads.yaml:{rule + 1}:" in p
        and "regex of 18 characters is longer than policy routing.regex_max_chars 10" in p
        for p in probs
    ), probs

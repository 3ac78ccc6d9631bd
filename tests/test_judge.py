"""Judges (generator/execute/judge.py): the prompt states the policy's scale, and only a score on
that scale is read out of a judge's (untrusted) reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from generator.execute.judge import judge_prompt, parse_score, scale_wording
from generator.registry.schema import JudgePolicy, PolicyFile, TaskCase
from generator.registry.yamlio import read_yaml

REPO = Path(__file__).resolve().parents[1]


def shipped() -> JudgePolicy:
    raw = read_yaml(REPO / "registry" / "policy.yaml", [], None)
    return PolicyFile.model_validate(raw).judge


def ten_point() -> JudgePolicy:
    labels = [{"score": s, "label": t} for s, t in ((0, "useless"), (5, "usable"), (10, "perfect"))]
    return JudgePolicy.model_validate(shipped().model_dump() | {"scale_max": 10, "scale_labels": labels})


def test_parse_score() -> None:
    assert parse_score('{"score": 2, "reason": "ok"}', 2) == 2
    assert parse_score('```json\n{"score": 1}\n```', 2) == 1
    assert parse_score("I would give this a 0 because it is empty.", 2) == 0
    assert parse_score('{"score": 7}', 2) is None
    assert parse_score("no idea", 2) is None


def test_parse_score_follows_the_scale() -> None:
    # On 0..10, "10" is a score (not a 1 followed by a 0); on 0..2 it is off the scale.
    assert parse_score("I give it 10 out of 10.", 10) == 10
    assert parse_score("I give it 10, or maybe 2.", 2) == 2
    # A "score" field off the scale is refused, not read in part ("15" is not "1").
    assert parse_score('{"score": 15, "reason": "x"', 10) is None
    assert parse_score('"score": 15 ... final answer 7', 10) == 7
    assert parse_score('{"score": 7}', 10) == 7


def test_prompt_states_the_shipped_scale() -> None:
    policy = shipped()
    scale, choices = scale_wording(policy)
    assert scale == (
        "Score it 0 (fail: broken, wrong or unsafe), 1 (acceptable: works, some gaps) "
        "or 2 (good: correct and complete)."
    )
    assert choices == "0, 1 or 2"
    case = TaskCase.model_validate(
        {
            "id": "c",
            "title": "t",
            "role": "draft",
            "severity": "low",
            "prompt": "p",
            "input": "i",
            "checks": [{"kind": "json_valid"}],
        }
    )
    text = judge_prompt(case, "TASK {answer}", "ANSWER {{x}}", policy)
    assert scale in text and '{"score": 0, 1 or 2, "reason": "one sentence"}' in text
    # The task and answer are inserted once, as text: braces in them are not format fields.
    assert "TASK {answer}" in text and "ANSWER {{x}}" in text


def test_prompt_follows_a_configured_scale() -> None:
    scale, choices = scale_wording(ten_point())
    assert scale == "Score it a whole number from 0 to 10, where 0 (useless), 5 (usable) or 10 (perfect)."
    assert choices == "a whole number from 0 to 10"


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({0: "bad", 1: "ok"}, "both ends of the scale"),
        ({0: "bad", 2: "good", 3: "great"}, "above scale_max"),
        ({0: "bad", 2: "good"}, None),
    ],
)
def test_scale_labels_must_fit_the_scale(labels: dict[int, str], message: str | None) -> None:
    raw = shipped().model_dump() | {"scale_labels": [{"score": s, "label": t} for s, t in labels.items()]}
    if message is not None:
        with pytest.raises(ValidationError, match=message):
            JudgePolicy.model_validate(raw)
        return
    assert JudgePolicy.model_validate(raw).scale_max == 2  # the point between may go unlabelled
    twice = raw | {"scale_labels": [*raw["scale_labels"], {"score": 0, "label": "again"}]}
    with pytest.raises(ValidationError, match="twice"):
        JudgePolicy.model_validate(twice)

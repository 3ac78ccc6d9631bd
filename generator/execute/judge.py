"""Optional LLM judges: one or two registry models score an output against a rubric.

As on the seed site "Local Inference Machine": judges from different families,
each score kept, and a disagreement beyond ``policy.judge.disagreement_threshold``
flags the case for human review. The scale is the policy's (``judge.scale_max``,
``judge.scale_labels``): the prompt states it and only a score on it is read back.
Judge output is untrusted text: only a score is parsed out of it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from generator.execute.providers.base import Prompt, Provider
from generator.registry.schema import JudgePolicy, TaskCase

DEFAULT_RUBRIC = "Does the answer do what the task asks, using only the information it was given?"

JUDGE_TEMPLATE = """You are grading another model's answer to a task.
{scale}
Rubric: {rubric}

=== TASK ===
{task}
=== ANSWER ===
{answer}
=== END ===
Reply with JSON only: {{"score": {choices}, "reason": "one sentence"}}"""


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def scale_wording(policy: JudgePolicy) -> tuple[str, str]:
    """The prompt's sentence stating the scale, and the reply's allowed scores, in words.

    Every point labelled (the shipped 0..2): "Score it 0 (fail: ...), 1 (...) or 2 (...)."; a
    longer scale with only some points labelled names its range and those points."""
    labels = sorted((s.score, s.label) for s in policy.scale_labels)
    named = [f"{point} ({label})" for point, label in labels]
    if len(labels) == policy.scale_max + 1:
        return f"Score it {_or_list(named)}.", _or_list([str(p) for p, _ in labels])
    whole = f"a whole number from 0 to {policy.scale_max}"
    return f"Score it {whole}, where {_or_list(named)}.", whole


@functools.cache
def _score_re(scale_max: int) -> re.Pattern[str]:
    # A "score" field's number (any, so an out-of-scale one is seen and refused, not read in part),
    # else a lone number on the scale; the longest first, so "10" is never read as "1".
    points = "|".join(str(n) for n in range(scale_max, -1, -1))
    return re.compile(rf'"score"\s*:\s*([0-9]+)|\b({points})\b')


def parse_score(text: str, scale_max: int) -> int | None:
    """The judge's score: from its JSON if it parses, else the first lone number on the scale."""
    stripped = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        value = json.loads(stripped)
        if isinstance(value, dict) and isinstance(value.get("score"), int | float):
            score = int(value["score"])
            return score if 0 <= score <= scale_max else None
    except json.JSONDecodeError:
        pass
    for m in _score_re(scale_max).finditer(text):
        score = int(m.group(1) or m.group(2))
        if 0 <= score <= scale_max:
            return score
    return None


def judge_prompt(case: TaskCase, task_text: str, output: str, policy: JudgePolicy) -> str:
    """The one message a judge is sent: the policy's scale, the case rubric, the task and the answer."""
    scale, choices = scale_wording(policy)
    return JUDGE_TEMPLATE.format(
        scale=scale, rubric=case.rubric or DEFAULT_RUBRIC, task=task_text, answer=output, choices=choices
    )


def judge_output(
    case: TaskCase,
    task_text: str,
    output: str,
    judges: dict[str, Provider],
    policy: JudgePolicy,
    seed: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Every judge's score, their spread, and whether a human must look."""
    prompt = Prompt(
        messages=[{"role": "user", "content": judge_prompt(case, task_text, output, policy)}],
        max_tokens=policy.max_tokens,
        temperature=policy.temperature,
        seed=seed,
        timeout_s=timeout_s,
    )
    scores: dict[str, int | None] = {}
    failures: dict[str, str] = {}
    for judge_id, provider in judges.items():
        gen = provider.generate(prompt)
        if gen.failed:
            scores[judge_id] = None
            failures[judge_id] = gen.failure_kind or "unknown"
            continue
        scores[judge_id] = parse_score(gen.text, policy.scale_max)
        if scores[judge_id] is None:
            failures[judge_id] = "unparseable"
    valid = [s for s in scores.values() if s is not None]
    spread = (max(valid) - min(valid)) if len(valid) >= 2 else None
    return {
        "scores": scores,
        "failures": failures,
        "mean": sum(valid) / len(valid) if valid else None,
        "spread": spread,
        "human_review": bool(
            (spread is not None and spread > policy.disagreement_threshold) or len(valid) < len(scores)
        ),
    }

"""Optional LLM judges: one or two registry models score an output 0 / 1 / 2 against a rubric.

As on the seed site "Local Inference Machine": judges from different families,
each score kept, and a disagreement beyond ``policy.judge.disagreement_threshold``
flags the case for human review. Judge output is untrusted text: only a score
is parsed out of it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.execute.providers.base import Prompt, Provider
from generator.registry.schema import JudgePolicy, TaskCase

DEFAULT_RUBRIC = "Does the answer do what the task asks, using only the information it was given?"

JUDGE_TEMPLATE = """You are grading another model's answer to a task.
Score it 0 (fail: broken, wrong or unsafe), 1 (acceptable: works, some gaps)
or 2 (good: correct and complete).
Rubric: {rubric}

=== TASK ===
{task}
=== ANSWER ===
{answer}
=== END ===
Reply with JSON only: {{"score": 0, 1 or 2, "reason": "one sentence"}}"""

_SCORE_RE = re.compile(r'"score"\s*:\s*([0-9])|\b([0-2])\b')


def parse_score(text: str, scale_max: int) -> int | None:
    """The judge's score: from its JSON if it parses, else the first lone digit in range."""
    stripped = text.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        value = json.loads(stripped)
        if isinstance(value, dict) and isinstance(value.get("score"), int | float):
            score = int(value["score"])
            return score if 0 <= score <= scale_max else None
    except json.JSONDecodeError:
        pass
    for m in _SCORE_RE.finditer(text):
        digit = m.group(1) or m.group(2)
        score = int(digit)
        if 0 <= score <= scale_max:
            return score
    return None


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
        messages=[
            {
                "role": "user",
                "content": JUDGE_TEMPLATE.format(rubric=case.rubric or DEFAULT_RUBRIC, task=task_text, answer=output),
            }
        ],
        max_tokens=96,
        temperature=0.0,
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

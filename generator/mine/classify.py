"""Label each prompt with a category, a complexity and the minimum model tier.

Deterministic rules (``policy.yaml`` ``mining.rules``) run first, in order: the first
whose pattern matches decides, and the classifier model is not asked. Everything else
goes to a registry model through the same provider interface a run uses (the embedded
default unless policy or ``--classifier`` names another; a hosted model only when named).

The model's answer is read for the first known tier, category and complexity word. An
answer with no tier word, or a request that failed, leaves the prompt *unclassified*: it
is counted in its own column and never as offloadable (a miss is a miss, not a prompt to
drop). Nothing here writes a file; prompt text is only sent to the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generator.registry.schema import ExecutionPolicy, MiningPolicy, MiningRule, ModelEntry

UNCLASSIFIED = "unclassified"
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


@dataclass(frozen=True)
class Label:
    """What one prompt was given, and what decided it ('rule:ID', 'model:ID' or 'unparsed:ID')."""

    category: str
    complexity: str
    tier: str
    decided_by: str


class Rules:
    """The policy's deterministic rules, compiled once."""

    def __init__(self, rules: Sequence[MiningRule]):
        self._rules = [(r, re.compile(r.pattern, re.IGNORECASE)) for r in rules]

    def match(self, text: str) -> Label | None:
        for rule, pattern in self._rules:
            if pattern.search(text):
                return Label(rule.category, rule.complexity, rule.tier, f"rule:{rule.id}")
        return None


def instructions(policy: MiningPolicy) -> str:
    """The classifier's system message: the labels it may answer with, from policy."""
    return (
        "You route requests that a developer typed into a coding assistant. For the request, answer "
        "with three words separated by spaces: CATEGORY COMPLEXITY TIER.\n"
        f"CATEGORY is one of: {', '.join(policy.categories)}.\n"
        f"COMPLEXITY is one of: {', '.join(policy.complexities)}.\n"
        f"TIER is the smallest model that can do it well, one of: {', '.join(policy.tiers)} "
        "(smallest first; the last needs the strongest hosted model)."
    )


def request_messages(text: str, policy: MiningPolicy) -> list[dict[str, str]]:
    cut = text[: policy.max_prompt_chars]
    return [
        {"role": "system", "content": instructions(policy)},
        {"role": "user", "content": f"Request:\n<<<\n{cut}\n>>>\nAnswer (CATEGORY COMPLEXITY TIER):"},
    ]


def answer_line(answer: str, request: Sequence[dict[str, str]]) -> str:
    """The first line of the answer that is not a copy of the request.

    A base model often echoes its instructions (which list every label) before, or instead
    of, answering; reading labels out of that echo would invent a classification. Lines of
    the request are cut off the front of each answer line, and the first remainder is the
    answer."""
    lines = {ln.strip() for m in request for ln in m["content"].splitlines() if ln.strip()}
    ordered = sorted(lines, key=len, reverse=True)
    for raw in answer.splitlines():
        line = raw.strip()
        cut = True
        while cut and line:
            cut = False
            for rl in ordered:
                if line.startswith(rl):
                    line, cut = line[len(rl) :].strip(), True
                    break
        if line:
            return line
    return ""


def parse_answer(answer: str, policy: MiningPolicy) -> tuple[str | None, str | None, str | None]:
    """The first category, complexity and tier word in the answer (None where there is none)."""
    words = _WORD.findall(answer.lower())

    def first(allowed: Sequence[str]) -> str | None:
        return next((w for w in words if w in allowed), None)

    return first(policy.categories), first(policy.complexities), first(policy.tiers)


class ModelClassifier:
    """A registry model asked for each prompt no rule decided (loaded once, closed by ``close``)."""

    def __init__(self, model: ModelEntry, policy: MiningPolicy, execution: ExecutionPolicy):
        from generator.execute.providers.http import make_provider

        self.model = model
        self.policy = policy
        self.execution = execution
        self.provider = make_provider(model, execution)
        self.load_s = self.provider.load()

    def __call__(self, text: str) -> Label:
        from generator.execute.providers.base import Prompt

        messages = request_messages(text, self.policy)
        gen = self.provider.generate(
            Prompt(
                messages=messages,
                max_tokens=self.policy.classifier_max_tokens,
                temperature=self.execution.temperature,
                seed=self.execution.seed,
                timeout_s=self.execution.request_timeout_s,
            )
        )
        if gen.failed:
            return Label(UNCLASSIFIED, UNCLASSIFIED, UNCLASSIFIED, f"failed:{self.model.id}")
        category, complexity, tier = parse_answer(answer_line(gen.text, messages), self.policy)
        if tier is None:
            return Label(UNCLASSIFIED, UNCLASSIFIED, UNCLASSIFIED, f"unparsed:{self.model.id}")
        return Label(category or UNCLASSIFIED, complexity or UNCLASSIFIED, tier, f"model:{self.model.id}")

    def close(self) -> None:
        self.provider.close()


def classify(
    texts: Sequence[str],
    rules: Rules,
    model: Callable[[str], Label] | None,
    on_done: Callable[[], None] | None = None,
) -> list[Label]:
    """Rules first, then the model. ``model`` None is allowed only when every text matches a rule."""
    out: list[Label] = []
    for text in texts:
        label = rules.match(text)
        if label is None:
            if model is None:
                raise ValueError("a prompt matched no rule and there is no classifier model")
            label = model(text)
        out.append(label)
        if on_done is not None:
            on_done()
    return out

"""Compound tasks and orchestration strategies: ``registry/compound/``.

A compound task is a small pipeline: an optional plan by the orchestrator, 2-4 sub-task prompts
run by the executor, each seeing the outputs of earlier steps, and a synthesis prompt by the
orchestrator whose output alone is checked (and judged). A strategy says which registry model
orchestrates and which executes. Both are validated like every other registry file: every
problem of every file is collected with ``file:line`` before anything runs.

Layout: ``registry/compound/strategies.yaml`` and one folder per compound suite,
``registry/compound/<suite>/`` holding ``_suite.yaml`` and one ``<task-id>.yaml`` per task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from generator.errors import Problem
from generator.registry.schema import (
    SLUG_RE,
    Check,
    FileLimits,
    Severity,
    Slug,
    Strict,
    SuiteMeta,
    TaskCase,
    _check_slug,
)
from generator.registry.yamlio import Doc, display_path, read_doc, validate_doc

if TYPE_CHECKING:
    from generator.registry.loader import Registry

COMPOUND_DIR = "compound"
STRATEGIES_FILE = "strategies.yaml"
SUITE_META = "_suite.yaml"

# {{input}}, {{plan}} and {{steps.<id>}}: substituted literally, never as format strings.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
MaxTokens = Annotated[int, Field(gt=0, le=8192)]


class CompoundStep(Strict):
    """One sub-task, run by the strategy's executor."""

    id: Slug
    prompt: str = Field(description="May use {{input}}, {{plan}} and {{steps.<id>}} of earlier steps.")
    max_tokens: MaxTokens | None = None

    _slug = field_validator("id")(_check_slug)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in ("plan", "synthesis"):
            raise ValueError(f"step id {value!r} is reserved for the orchestrator's own calls")
        return value


class CompoundTask(Strict):
    """A compound task: plan (optional), 2-4 sub-tasks, synthesis. Checks apply to the synthesis only."""

    schema_version: Literal[1] = 1
    id: Slug
    title: str
    pattern: str = Field(description="The shape it follows, e.g. 'feature + tests + review'.")
    severity: Severity
    author: str | None = None
    tags: list[str] = Field(default_factory=list)
    system: str | None = Field(default=None, description="System message of every call of the pipeline.")
    input: str = Field(default="", description="The material every prompt may quote as {{input}}.")
    plan: str | None = Field(default=None, description="The orchestrator's planning prompt; its output is {{plan}}.")
    steps: list[CompoundStep] = Field(min_length=2, max_length=4)
    synthesis: str = Field(description="The orchestrator's final prompt; its output is what is scored.")
    max_tokens: MaxTokens | None = None
    checks: list[Check] = Field(min_length=1, description="Deterministic checks of the final output.")
    rubric: str | None = Field(default=None, description="What a judge should look for in the final output.")

    _slug = field_validator("id")(_check_slug)

    @model_validator(mode="after")
    def _unique_ids(self) -> CompoundTask:
        ids = [c.id for c in self.checks if c.id]
        if len(ids) != len(set(ids)):
            raise ValueError("check ids must be unique within a task")
        return self

    def final_case(self) -> TaskCase:
        """The synthesis as a task case, so the final output is scored by the same checks code
        (``execute.checks.score_case``) and judged by the same judge as any case."""
        return TaskCase(
            id=self.id,
            title=self.title,
            role="orchestration",
            severity=self.severity,
            system=self.system,
            prompt=self.synthesis,
            input=self.input,
            checks=self.checks,
            rubric=self.rubric,
        )


class StrategyModel(Strict):
    """A model in one pipeline role, and what its tokens are billed at."""

    model: Slug
    priced_as: Slug | None = Field(
        default=None,
        description="A pricing.yaml api_prices id billed for this model's measured tokens (a stand-in "
        "priced as the host it stands for); default: the model's own price, or free when local.",
    )
    stands_in_for: str | None = Field(
        default=None, description="Set when the model is a stand-in: the hosted model it takes the place of."
    )


class SeedStrategyClaim(Strict):
    """What the seed page states for its version of a strategy (quoted, not measured here)."""

    label: str
    score: Annotated[float, Field(ge=0)]
    cost_per_task: Annotated[float, Field(ge=0)]
    currency: str
    tasks: Annotated[int, Field(ge=1)]
    covered: Annotated[int, Field(ge=0)]
    verdict: str | None = Field(default=None, description="The seed's own verdict, as written.")
    claim: str = Field(description="The seed's words.")


class Strategy(Strict):
    id: Slug
    label: str
    description: str
    orchestrator: StrategyModel
    executor: StrategyModel
    seed_claim: SeedStrategyClaim | None = None

    _slug = field_validator("id")(_check_slug)


class StrategiesFile(Strict):
    schema_version: Literal[1] = 1
    baseline: Slug = Field(description="The strategy every other is compared with (the seed's cloud-only).")
    seed_source: str | None = None
    strategies: list[Strategy] = Field(min_length=1)


@dataclass
class CompoundSuite:
    id: str
    meta: SuiteMeta | None
    tasks: list[CompoundTask]
    files: dict[str, Path] = field(default_factory=dict)


@dataclass
class Compound:
    """Everything under ``registry/compound/`` (empty when the folder is absent)."""

    strategies_file: StrategiesFile | None = None
    suites: dict[str, CompoundSuite] = field(default_factory=dict)
    docs: dict[str, Doc] = field(default_factory=dict, repr=False)  # for line numbers of cross-checks

    @property
    def strategies(self) -> dict[str, Strategy]:
        return {s.id: s for s in self.strategies_file.strategies} if self.strategies_file else {}


def step_names(task: CompoundTask) -> list[str]:
    """Every call of the task's pipeline in order: 'plan' (if any), the sub-tasks, 'synthesis'."""
    return (["plan"] if task.plan is not None else []) + [s.id for s in task.steps] + ["synthesis"]


def render(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Substitute the placeholders literally; return the text and the steps whose outputs it carries.

    Only names the loader accepted can occur, so every placeholder has a value here.
    """
    used: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("steps."):
            used.append(name.removeprefix("steps."))
        elif name == "plan":
            used.append("plan")
        return values[name]

    return PLACEHOLDER_RE.sub(sub, template), used


def _placeholder_problems(task: CompoundTask, doc: Doc) -> list[Problem]:
    """Placeholders must name the input, the plan or an *earlier* step; every output must be used."""
    out: list[Problem] = []
    path = display_path(doc.path)
    step_ids = [s.id for s in task.steps]
    seen: set[str] = set()
    for i, sid in enumerate(step_ids):
        if sid in seen:
            out.append(Problem(path, doc.line(["steps", i, "id"]), f"duplicate step id {sid!r}"))
        seen.add(sid)
    prompts: list[tuple[list[Any], str, set[str], bool]] = []  # loc, text, steps allowed, plan allowed
    if task.plan is not None:
        prompts.append((["plan"], task.plan, set(), False))
    for i, step in enumerate(task.steps):
        prompts.append((["steps", i, "prompt"], step.prompt, set(step_ids[:i]), task.plan is not None))
    prompts.append((["synthesis"], task.synthesis, set(step_ids), task.plan is not None))
    used: set[str] = set()
    for loc, text, allowed, plan_ok in prompts:
        line = doc.line(loc)
        for m in PLACEHOLDER_RE.finditer(text):
            name = m.group(1)
            if name == "input":
                used.add("input")
            elif name == "plan":
                if not plan_ok:
                    why = "the task has no plan prompt" if task.plan is None else "the plan cannot use itself"
                    out.append(Problem(path, line, f"{{{{plan}}}} is not available here: {why}"))
                used.add("plan")
            elif name.startswith("steps."):
                ref = name.removeprefix("steps.")
                if ref not in step_ids:
                    out.append(Problem(path, line, f"{{{{{name}}}}} names no step (steps: {', '.join(step_ids)})"))
                elif ref not in allowed:
                    out.append(Problem(path, line, f"{{{{{name}}}}} is not an earlier step's output"))
                used.add(ref)
            else:
                out.append(Problem(path, line, f"unknown placeholder {{{{{name}}}}} (use input, plan or steps.<id>)"))
    for i, sid in enumerate(step_ids):
        if sid not in used:
            out.append(
                Problem(
                    path,
                    doc.line(["steps", i, "id"]),
                    f"the output of step {sid!r} is never injected into a later prompt",
                )
            )
    if task.plan is not None and "plan" not in used:
        out.append(Problem(path, doc.line(["plan"]), "the plan's output is never injected into a later prompt"))
    if task.input and "input" not in used:
        out.append(Problem(path, doc.line(["input"]), "no prompt uses {{input}}, so the input is unused"))
    return out


def load_compound(root: Path, problems: list[Problem], limits: FileLimits) -> Compound:
    """Read ``root/compound/`` (absent: nothing to read); append every problem found."""
    base = root / COMPOUND_DIR
    found = Compound()
    if not base.is_dir():
        return found
    for path in sorted(base.iterdir()):
        if path.is_file():
            if path.name != STRATEGIES_FILE:
                problems.append(
                    Problem(
                        display_path(path), None, f"not a compound file (expected {STRATEGIES_FILE} or suite folders)"
                    )
                )
                continue
            doc = read_doc(path, problems, limits)
            if doc is not None:
                found.docs[STRATEGIES_FILE] = doc
                found.strategies_file = validate_doc(StrategiesFile, doc, problems)  # type: ignore[assignment]
            continue
        if not SLUG_RE.fullmatch(path.name):
            problems.append(Problem(display_path(path), None, f"unsafe suite name {path.name!r}"))
            continue
        found.suites[path.name] = _load_suite(path, problems, limits, found.docs)
    return found


def _load_suite(folder: Path, problems: list[Problem], limits: FileLimits, docs: dict[str, Doc]) -> CompoundSuite:
    suite = CompoundSuite(id=folder.name, meta=None, tasks=[])
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.suffix != ".yaml":
            problems.append(Problem(display_path(path), None, "not a compound task file (a .yaml file)"))
            continue
        doc = read_doc(path, problems, limits)
        if doc is None:
            continue
        if path.name == SUITE_META:
            suite.meta = validate_doc(SuiteMeta, doc, problems)  # type: ignore[assignment]
            continue
        task = validate_doc(CompoundTask, doc, problems)
        if task is None:
            continue
        assert isinstance(task, CompoundTask)
        if task.id != path.stem:
            problems.append(
                Problem(
                    display_path(path), doc.line(["id"]), f"task id {task.id!r} must match the file name {path.stem!r}"
                )
            )
        problems.extend(_placeholder_problems(task, doc))
        docs[f"task:{folder.name}:{task.id}"] = doc
        suite.tasks.append(task)
        suite.files[task.id] = path
    if not suite.tasks:
        problems.append(Problem(display_path(folder), None, "compound suite has no tasks"))
    return suite


def compound_problems(reg: Registry) -> list[Problem]:
    """References from compound files into the rest of the registry, and unique task ids."""
    comp = reg.compound
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for sid, suite in sorted(comp.suites.items()):
        for task in suite.tasks:
            doc = comp.docs[f"task:{sid}:{task.id}"]
            if task.id in seen:
                out.append(
                    Problem(
                        display_path(doc.path),
                        doc.line(["id"]),
                        f"duplicate task id {task.id!r} (also in {seen[task.id]!r})",
                    )
                )
            seen.setdefault(task.id, sid)
    sf = comp.strategies_file
    if sf is None:
        if comp.suites:
            out.append(Problem(display_path(reg.root / COMPOUND_DIR), None, f"compound suites need {STRATEGIES_FILE}"))
        return out
    doc = comp.docs[STRATEGIES_FILE]
    where = display_path(doc.path)
    ids = [s.id for s in sf.strategies]
    for i, sid in enumerate(ids):
        if sid in ids[:i]:
            out.append(Problem(where, doc.line(["strategies", i, "id"]), f"duplicate strategy id {sid!r}"))
    if sf.baseline not in ids:
        out.append(Problem(where, doc.line(["baseline"]), f"baseline {sf.baseline!r} is not a strategy here"))
    prices = {a.id for a in reg.pricing.api_prices}
    currencies = set(reg.pricing.fx_to_currency) | {reg.pricing.currency}
    for i, s in enumerate(sf.strategies):
        for role in ("orchestrator", "executor"):
            sm: StrategyModel = getattr(s, role)
            loc: list[Any] = ["strategies", i, role]
            if sm.model not in reg.models:
                out.append(Problem(where, doc.line([*loc, "model"]), f"unknown model {sm.model!r}"))
            if sm.priced_as is not None and sm.priced_as not in prices:
                out.append(
                    Problem(where, doc.line([*loc, "priced_as"]), f"unknown pricing.yaml api price {sm.priced_as!r}")
                )
        if s.seed_claim is not None and s.seed_claim.currency not in currencies:
            out.append(
                Problem(
                    where,
                    doc.line(["strategies", i, "seed_claim", "currency"]),
                    f"no fx rate in pricing.yaml for {s.seed_claim.currency!r}",
                )
            )
    if comp.suites and reg.policy.orchestration is None:
        out.append(Problem(display_path(reg.root / "policy.yaml"), None, "compound suites need an orchestration block"))
    return out

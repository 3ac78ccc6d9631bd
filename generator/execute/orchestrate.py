"""Run compound tasks under orchestration strategies; one fsynced line per model call.

For each strategy and compound task the pipeline is: the orchestrator's plan (when the task has
one), each sub-task by the executor with earlier outputs injected, and the orchestrator's
synthesis, whose output alone is scored (``execute.checks.score_case``) and, when judges are set,
judged. Every call is a :class:`OrchestrationCall` in ``calls.jsonl`` written by the run store.

Resume: every call has a key fixed up front (strategy|task|step). A resumed run reads the calls
on disk, injects their *stored* outputs (the fresh run injects the stored text too, so the two
are the same prompt), and makes only the calls not yet on disk. A pipeline stops at its first
failed call: the task is uncovered, and resuming does not call again what already failed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import RunError
from generator.execute.checks import score_case
from generator.execute.environment import inventory
from generator.execute.providers.base import Prompt, Provider
from generator.execute.runner import build_providers, generate_with_retries
from generator.registry.compound import CompoundTask, render, step_names
from generator.registry.loader import Registry, _hash_files
from generator.runs.records import (
    CallCost,
    ModelInRun,
    OrchestrationCall,
    OrchestrationManifest,
    PipelineRole,
    StrategyInRun,
)
from generator.runs.writer import OrchestrationFolder, iso, new_run_id, utcnow

ProgressFn = Callable[[OrchestrationCall], None]


def call_cost(
    reg: Registry, model_id: str, priced_as: str | None, prompt_tokens: int | None, completion_tokens: int | None
) -> CallCost:
    """A call's cost in pricing.yaml's currency from its measured tokens.

    The price: ``priced_as`` (a pricing.yaml api price, e.g. the host a stand-in stands for); else
    a pricing.yaml api price naming the model; else the model's own models.yaml price; else free
    when the model is free (local: no marginal cost). Unknown tokens or no price: amount None.
    """
    pr = reg.pricing
    model = reg.models[model_id]
    api = next((a for a in pr.api_prices if a.id == priced_as), None) if priced_as else None
    api = api or next((a for a in pr.api_prices if a.model == model_id), None)
    if api is not None:
        basis, pin, pout, cur = api.id, api.input_per_mtok, api.output_per_mtok, api.currency
    elif model.price_input_per_mtok is not None and model.price_output_per_mtok is not None:
        basis, pin, pout, cur = "models.yaml", model.price_input_per_mtok, model.price_output_per_mtok, model.currency
    elif model.cost_tier == "free":
        basis, pin, pout, cur = "free", 0.0, 0.0, pr.currency
    else:
        return CallCost(amount=None, currency=pr.currency, priced_as=None)
    rate = pr.fx_to_currency.get(cur, 1.0) if cur == pr.currency else pr.fx_to_currency.get(cur)
    if rate is None or prompt_tokens is None or completion_tokens is None:
        amount = None
    else:
        amount = (prompt_tokens * pin + completion_tokens * pout) / 1e6 * rate
    return CallCost(
        amount=amount,
        currency=pr.currency,
        priced_as=basis,
        input_per_mtok=pin * rate if rate is not None else None,
        output_per_mtok=pout * rate if rate is not None else None,
    )


@dataclass
class Call:
    """One planned call: which strategy, task, step and model."""

    strategy: StrategyInRun
    task: CompoundTask
    step: str
    index: int

    @property
    def key(self) -> str:
        return OrchestrationCall.make_key(self.strategy.id, self.task.id, self.step)

    @property
    def role(self) -> PipelineRole:
        return "orchestrator" if self.step in ("plan", "synthesis") else "executor"

    @property
    def model_id(self) -> str:
        return self.strategy.orchestrator if self.role == "orchestrator" else self.strategy.executor

    @property
    def priced_as(self) -> str | None:
        s = self.strategy
        return s.orchestrator_priced_as if self.role == "orchestrator" else s.executor_priced_as


def plan_calls(strategies: list[StrategyInRun], tasks: list[CompoundTask]) -> list[list[Call]]:
    """Every pipeline (strategy x task) as its calls in order."""
    return [[Call(s, t, step, i) for i, step in enumerate(step_names(t))] for s in strategies for t in tasks]


def _template(task: CompoundTask, step: str) -> str:
    if step == "plan":
        return task.plan or ""
    if step == "synthesis":
        return task.synthesis
    return next(s.prompt for s in task.steps if s.id == step)


def _step_max_tokens(task: CompoundTask, step: str) -> int | None:
    return next((s.max_tokens for s in task.steps if s.id == step), None)


class Orchestrator:
    def __init__(
        self,
        reg: Registry,
        folder: OrchestrationFolder,
        manifest: OrchestrationManifest,
        providers: dict[str, Provider],
        judges: dict[str, Provider],
        progress: ProgressFn | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.reg = reg
        self.folder = folder
        self.manifest = manifest
        self.providers = providers
        self.judges = judges
        self.progress = progress
        self.sleep = sleep
        self.stop = threading.Event()
        self.rng = random.Random(manifest.seed)

    def _prompt(self, call: Call, text: str) -> Prompt:
        suite = self.reg.compound.suites[self.manifest.suite]
        max_tokens = (
            self.manifest.max_tokens
            or _step_max_tokens(call.task, call.step)
            or call.task.max_tokens
            or (suite.meta.default_max_tokens if suite.meta else None)
            or self.reg.policy.execution.default_max_tokens
        )
        messages = [{"role": "system", "content": call.task.system}] if call.task.system else []
        messages.append({"role": "user", "content": text})
        return Prompt(
            messages=messages,
            max_tokens=max_tokens,
            temperature=self.manifest.temperature,
            seed=self.manifest.seed,
            timeout_s=self.manifest.request_timeout_s,
        )

    def _one(self, call: Call, outputs: dict[str, str]) -> OrchestrationCall:
        values = {"input": call.task.input, **{f"steps.{k}": v for k, v in outputs.items()}}
        if "plan" in outputs:
            values["plan"] = outputs["plan"]
        text, injected = render(_template(call.task, call.step), values)
        prompt = self._prompt(call, text)
        started = iso(utcnow())
        gen, attempts = generate_with_retries(
            self.providers[call.model_id], prompt, self.reg.policy.execution, self.rng, self.sleep, self.stop
        )
        scoring = self.reg.policy.scoring
        out = gen.text or None
        truncated = bool(out and len(out) > scoring.max_output_chars)
        if out and truncated:
            out = out[: scoring.max_output_chars]
        score = verdict = None
        if call.step == "synthesis":
            case = call.task.final_case()
            score = score_case(
                case,
                None if gen.failed else gen.text,
                scoring.severity_weights,
                hard_failure=gen.failed,
                echo_min_chars=scoring.prompt_echo_min_chars,
                evidence_min_chars=scoring.evidence_min_chars,
                detail_chars=scoring.check_detail_chars,
            )
            if self.judges and not gen.failed:
                from generator.execute.judge import judge_output

                verdict = judge_output(
                    case,
                    text,
                    gen.text,
                    self.judges,
                    self.reg.policy.judge,
                    self.manifest.seed,
                    self.manifest.request_timeout_s,
                )
        return OrchestrationCall(
            run_id=self.manifest.run_id,
            key=call.key,
            strategy=call.strategy.id,
            task_id=call.task.id,
            step=call.step,
            step_index=call.index,
            pipeline_role=call.role,
            model_id=call.model_id,
            started_at=started,
            status="failed" if gen.failed else "ok",
            failure_kind=gen.failure_kind,
            error=gen.error,
            attempts=attempts,
            timing=gen.timing(),
            usage=gen.usage,
            cost=call_cost(
                self.reg, call.model_id, call.priced_as, gen.usage.prompt_tokens, gen.usage.completion_tokens
            ),
            injected=injected,
            output=out,
            output_truncated=truncated,
            score=score,
            judge=verdict,
        )

    def run(self, pipelines: list[list[Call]], done: dict[str, OrchestrationCall]) -> None:
        for calls in pipelines:
            outputs: dict[str, str] = {}
            for call in calls:
                if self.stop.is_set():
                    return
                rec = done.get(call.key)
                if rec is None:
                    rec = self._one(call, outputs)
                    self.folder.append(rec)
                    done[call.key] = rec
                    if self.progress:
                        self.progress(rec)
                if rec.status == "failed":
                    break  # the pipeline stops: later steps have no input
                outputs[call.step] = rec.output or ""


def pipeline_finished(calls: list[Call], done: dict[str, OrchestrationCall]) -> bool:
    """A pipeline is finished when its synthesis is on disk or one of its calls failed."""
    return calls[-1].key in done or any(c.key in done and done[c.key].status == "failed" for c in calls)


def _resolve(reg: Registry, ids: list[str]) -> list[StrategyInRun]:
    known = reg.compound.strategies
    unknown = [s for s in ids if s not in known]
    if unknown:
        raise RunError(f"unknown strategy(s): {', '.join(unknown)}; known: {', '.join(known) or 'none'}")
    out = []
    for sid in ids:
        s = known[sid]
        stand_in = [
            f"{m.model} stands in for {m.stands_in_for}" for m in (s.orchestrator, s.executor) if m.stands_in_for
        ]
        out.append(
            StrategyInRun(
                id=s.id,
                label=s.label,
                orchestrator=s.orchestrator.model,
                executor=s.executor.model,
                orchestrator_priced_as=s.orchestrator.priced_as,
                executor_priced_as=s.executor.priced_as,
                stand_in=list(dict.fromkeys(stand_in)),
            )
        )
    return out


def suite_hash(reg: Registry, suite: str) -> str:
    return _hash_files(list((reg.root / "compound" / suite).glob("*.yaml")), reg.root)


def start_orchestration(
    reg: Registry,
    suite: str,
    strategy_ids: list[str],
    out_dir: Path,
    cli_args: list[str],
    max_tokens: int | None = None,
    task_ids: list[str] | None = None,
    judges: list[str] | None = None,
    progress: ProgressFn | None = None,
    providers: dict[str, Provider] | None = None,
    on_created: Callable[[str], None] | None = None,
) -> Path:
    """Plan and run a new orchestration run; return its folder. ``on_created`` gets the id at once."""
    comp = reg.compound
    if suite not in comp.suites:
        raise RunError(f"unknown compound suite {suite!r}; known: {', '.join(sorted(comp.suites)) or 'none'}")
    if comp.strategies_file is None or reg.policy.orchestration is None:
        raise RunError("the registry declares no orchestration strategies (registry/compound/strategies.yaml)")
    if not strategy_ids:
        raise RunError("give at least one strategy")
    baseline = comp.strategies_file.baseline
    if baseline not in strategy_ids:
        raise RunError(f"the baseline strategy {baseline!r} must be among --strategies: every verdict is against it")
    strategies = _resolve(reg, list(dict.fromkeys(strategy_ids)))
    tasks = comp.suites[suite].tasks
    if task_ids:
        missing = [t for t in task_ids if t not in {x.id for x in tasks}]
        if missing:
            raise RunError(f"task(s) not in compound suite {suite!r}: {', '.join(missing)}")
        tasks = [t for t in tasks if t.id in task_ids]
    judge_ids = reg.policy.judge.judges if judges is None else judges
    bad = [j for j in judge_ids if j not in reg.models]
    if bad:
        raise RunError(f"unknown judge model(s): {', '.join(bad)}")
    if max_tokens is not None and max_tokens < 1:
        raise RunError("--max-tokens must be at least 1")
    from generator import __version__

    ex = reg.policy.execution
    model_ids = list(dict.fromkeys(m for s in strategies for m in (s.orchestrator, s.executor)))
    run_id = new_run_id(suite)
    folder = OrchestrationFolder.create(out_dir, run_id)
    pipelines = plan_calls(strategies, tasks)
    manifest = OrchestrationManifest(
        run_id=run_id,
        created_at=iso(utcnow()),
        tool_version=__version__,
        suite=suite,
        baseline=baseline,
        strategies=strategies,
        task_ids=[t.id for t in tasks],
        expected_calls=sum(len(p) for p in pipelines),
        max_tokens=max_tokens,
        temperature=ex.temperature,
        seed=ex.seed,
        request_timeout_s=ex.request_timeout_s,
        max_retries=ex.max_retries,
        judges=list(judge_ids),
        models=[
            ModelInRun(id=m, provider=reg.models[m].provider, served_name=reg.models[m].request_name) for m in model_ids
        ],
        registry_hash=reg.content_hash,
        suite_hash=suite_hash(reg, suite),
        environment=inventory(out_dir),
        cli_args=cli_args,
    )
    folder.write_manifest(manifest)
    if on_created is not None:
        on_created(run_id)
    _execute(reg, folder, manifest, pipelines, {}, progress, providers)
    return folder.path


def resume_orchestration(
    reg: Registry,
    run_id: str,
    out_dir: Path,
    progress: ProgressFn | None = None,
    providers: dict[str, Provider] | None = None,
) -> Path:
    """Finish an interrupted orchestration run: make only the calls not on disk."""
    folder = OrchestrationFolder.open_existing(out_dir, run_id)
    manifest = folder.read_manifest()
    suite = reg.compound.suites.get(manifest.suite)
    if suite is None:
        raise RunError(f"compound suite {manifest.suite!r} of run {run_id} is no longer in the registry")
    if suite_hash(reg, manifest.suite) != manifest.suite_hash:
        manifest.notes.append("resumed with a changed compound suite; calls before and after may differ")
    by_id = {t.id: t for t in suite.tasks}
    missing = [t for t in manifest.task_ids if t not in by_id]
    if missing:
        raise RunError(f"task(s) of run {run_id} no longer exist: {', '.join(missing)}")
    pipelines = plan_calls(manifest.strategies, [by_id[t] for t in manifest.task_ids])
    done = {r.key: r for r in folder.repair_and_read()}
    _execute(reg, folder, manifest, pipelines, done, progress, providers)
    return folder.path


def _execute(
    reg: Registry,
    folder: OrchestrationFolder,
    manifest: OrchestrationManifest,
    pipelines: list[list[Call]],
    done: dict[str, OrchestrationCall],
    progress: ProgressFn | None,
    providers: dict[str, Provider] | None,
) -> None:
    ex = reg.policy.execution
    needed = list(
        dict.fromkeys(c.model_id for p in pipelines if not pipeline_finished(p, done) for c in p if c.key not in done)
    )
    unknown = [m for m in needed + manifest.judges if m not in reg.models]
    if unknown:
        raise RunError(f"model(s) of this run are no longer in the registry: {', '.join(unknown)}")
    provs = dict(providers) if providers is not None else build_providers([reg.models[m] for m in needed], ex)
    judges = {j: provs[j] if j in provs else build_providers([reg.models[j]], ex)[j] for j in manifest.judges}
    manifest.status = "running"
    orch = Orchestrator(reg, folder, manifest, provs, judges, progress)
    try:
        described = {m.id: m for m in manifest.models}
        for mid in needed:
            provs[mid].load()
            described[mid] = provs[mid].describe()
        manifest.models = [described[m.id] for m in manifest.models]
        folder.write_manifest(manifest)
        orch.run(pipelines, done)
    except KeyboardInterrupt:
        orch.stop.set()
        manifest.status = "interrupted"
        folder.close()
        folder.write_manifest(manifest)
        raise
    finally:
        folder.close()
        if providers is None:
            for p in {id(p): p for p in [*provs.values(), *judges.values()]}.values():
                p.close()
    final = {r.key: r for r in folder.repair_and_read()}
    manifest.status = "complete" if all(pipeline_finished(p, final) for p in pipelines) else "interrupted"
    manifest.finished_at = iso(utcnow())
    folder.write_manifest(manifest)

"""``opsbench run --escalate ROLE``: run a role's escalation chain live.

Every case of the role (in the suite) goes to the first rung; an item goes on to the next
rung only when one of the chain's triggers fires on the rung's answer (``roles.yaml``
``escalation.on``), so later rungs see only what earlier ones passed on. Each result
records its rung, the triggers that fired and whether it is the chain's answer
(``ResultRecord.escalation``), which is how a reader sees which rung answered.

The plan grows rung by rung, but every key is still model|case|repeat|level, so a resumed
chain run re-derives what each rung passed on from the results already on disk and never
runs an item twice. Triggers are the same rule as the offline chain analysis
(``generator/analysis/chains.py``): ``check_failed`` fires only on checks live traffic can
run, never on one that compares with the expected answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generator.errors import RunError
from generator.execute.environment import inventory
from generator.execute.providers.base import Provider
from generator.execute.runner import ProgressFn, Runner, WorkItem, build_providers
from generator.registry.loader import Registry
from generator.registry.routing_checks import REFERENCE_CHECKS
from generator.registry.schema import EscalationTriggers, TaskCase
from generator.runs.records import EscalationStep, Manifest, ModelInRun, ResultRecord, RunSettings
from generator.runs.writer import RunFolder, iso, new_run_id, utcnow


def live_triggers(rec: ResultRecord, on: EscalationTriggers, acceptable_score: float) -> list[str]:
    """The triggers that fire on one finished result."""
    fired = []
    failed = rec.status == "failed"
    if (
        on.check_failed
        and not failed
        and any(not c.passed and c.kind not in REFERENCE_CHECKS for c in rec.score.checks)
    ):
        fired.append("check_failed")
    if on.timeout and failed and rec.failure_kind == "timeout":
        fired.append("timeout")
    if on.hard_failure and failed:
        fired.append("hard_failure")
    judge = rec.judge or {}
    if on.judge_below is not None and judge.get("mean") is not None and judge["mean"] < on.judge_below:
        fired.append("judge_below")
    if on.verifier_reject is not None and not failed:
        score = (judge.get("scores") or {}).get(on.verifier_reject)
        # A verifier that failed or gave no score has not accepted the answer: fail closed.
        if score is None or score < acceptable_score:
            fired.append("verifier_reject")
    return fired


def _chain_cases(registry: Registry, suite: str, role_id: str, case_ids: list[str] | None) -> list[TaskCase]:
    cases = [c for c in registry.suites[suite].cases if c.role == role_id]
    if case_ids:
        missing = [c for c in case_ids if c not in {x.id for x in cases}]
        if missing:
            raise RunError(f"case(s) not in suite {suite!r} with role {role_id!r}: {', '.join(missing)}")
        cases = [c for c in cases if c.id in case_ids]
    if not cases:
        raise RunError(f"suite {suite!r} has no cases of role {role_id!r}")
    return cases


def start_chain_run(
    registry: Registry,
    suite: str,
    role_id: str,
    repeats: int,
    out_dir: Path,
    cli_args: list[str],
    max_tokens: int | None = None,
    machine: str | None = None,
    case_ids: list[str] | None = None,
    progress: ProgressFn | None = None,
    providers: dict[str, Provider] | None = None,
    on_created: Callable[[str], None] | None = None,
) -> Path:
    """Plan the first rung, then follow the chain; return the run folder."""
    if suite not in registry.suites:
        raise RunError(f"unknown suite {suite!r}; known: {', '.join(sorted(registry.suites))}")
    role = registry.roles.get(role_id)
    if role is None:
        raise RunError(f"unknown role {role_id!r}")
    if role.escalation is None:
        raise RunError(f"role {role_id!r} has no escalation chain (roles.yaml: escalation)")
    if repeats < 1:
        raise RunError("--repeats must be at least 1")
    if machine is not None and machine not in {m.id for m in registry.hardware.machines}:
        raise RunError(f"unknown machine {machine!r}")
    chain = role.escalation
    judges = [chain.on.verifier_reject] if chain.on.verifier_reject else list(registry.policy.judge.judges)
    if chain.on.judge_below is not None and not judges:
        raise RunError("the chain triggers on judge_below but policy.yaml names no judges (judge.judges)")
    cases = _chain_cases(registry, suite, role_id, case_ids)
    ex = registry.policy.execution
    settings = RunSettings(
        suite=suite,
        models=list(chain.rungs),
        repeats=repeats,
        concurrency_levels=[1],
        max_tokens=max_tokens,
        temperature=ex.temperature,
        seed=ex.seed,
        request_timeout_s=ex.request_timeout_s,
        max_retries=ex.max_retries,
        machine=machine,
        judges=judges,
        escalate=role_id,
    )
    from generator import __version__

    run_id = new_run_id(suite)
    folder = RunFolder.create(out_dir, run_id)
    models = registry.models
    manifest = Manifest(
        run_id=run_id,
        created_at=iso(utcnow()),
        tool_version=__version__,
        settings=settings,
        models=[ModelInRun(id=m, provider=models[m].provider, served_name=models[m].request_name) for m in chain.rungs],
        case_ids=[c.id for c in cases],
        expected_results=len(cases) * repeats,
        registry_hash=registry.content_hash,
        suite_hash=registry.suite_hashes[suite],
        environment=inventory(out_dir),
        cli_args=cli_args,
        notes=[
            f"escalation chain of role {role_id}: {' -> '.join(chain.rungs)}; "
            "later rungs run only what earlier ones passed on"
        ],
    )
    folder.write_manifest(manifest)
    if on_created is not None:
        on_created(run_id)
    _follow_chain(registry, folder, manifest, cases, progress, providers)
    return folder.path


def resume_chain_run(
    registry: Registry,
    folder: RunFolder,
    manifest: Manifest,
    progress: ProgressFn | None,
    providers: dict[str, Provider] | None,
) -> Path:
    s = manifest.settings
    role = registry.roles.get(s.escalate or "")
    if role is None or role.escalation is None or list(role.escalation.rungs) != s.models:
        raise RunError(
            f"the escalation chain of role {s.escalate!r} changed since run {manifest.run_id}; start a new run"
        )
    by_id = {c.id: c for c in registry.suites[s.suite].cases}
    missing = [c for c in manifest.case_ids if c not in by_id]
    if missing:
        raise RunError(f"case(s) of run {manifest.run_id} no longer exist: {', '.join(missing)}")
    _follow_chain(registry, folder, manifest, [by_id[c] for c in manifest.case_ids], progress, providers)
    return folder.path


def _follow_chain(
    registry: Registry,
    folder: RunFolder,
    manifest: Manifest,
    cases: list[TaskCase],
    progress: ProgressFn | None,
    providers: dict[str, Provider] | None,
) -> None:
    s = manifest.settings
    role = registry.roles[s.escalate or ""]
    chain = role.escalation
    assert chain is not None
    rungs = list(chain.rungs)
    ex = registry.policy.execution
    acceptable = registry.policy.review.judge_acceptable_score
    models = registry.models
    provs = providers if providers is not None else build_providers([models[m] for m in rungs], ex)
    runner = Runner(registry, folder, manifest, provs, progress)
    if s.judges:
        runner.judges = {j: provs[j] if j in provs else build_providers([models[j]], ex)[j] for j in s.judges}
    rung_of = {m: k for k, m in enumerate(rungs)}

    def annotate(item: WorkItem, rec: ResultRecord) -> ResultRecord:
        k = rung_of[item.model_id]
        fired = live_triggers(rec, chain.on, acceptable) if k < len(rungs) - 1 else []
        rec.escalation = EscalationStep(role=role.id, rung=k + 1, fired=fired, answered=not fired)
        return rec

    runner.annotate = annotate
    manifest.status = "running"
    planned = 0
    interrupted = False
    try:
        pending = [(c, r) for c in cases for r in range(1, s.repeats + 1)]
        for model_id in rungs:
            if not pending:
                break
            items = [WorkItem(model_id, c, s.suite, r, 1) for c, r in pending]
            planned += len(items)
            done = {rec.key for rec in folder.repair_and_read()}
            if any(it.key not in done for it in items):
                provs[model_id].load()
                described = {m.id: m for m in manifest.models}
                described[model_id] = provs[model_id].describe()
                manifest.models = [described[m] for m in rungs]
                folder.write_manifest(manifest)
                runner.run(items, done)
                folder.close()
            results = {rec.key: rec for rec in folder.repair_and_read()}
            passed_on = []
            for it in items:
                rec = results.get(it.key)
                if rec is None:
                    interrupted = True  # what is left is for --resume
                    break
                if rec.escalation is not None and rec.escalation.fired:
                    passed_on.append((it.case, it.repeat))
            if interrupted:
                break
            pending = passed_on
    except KeyboardInterrupt:
        runner._stop.set()
        manifest.status = "interrupted"
        folder.close()
        folder.write_manifest(manifest)
        raise
    finally:
        folder.close()
        if providers is None:
            for p in {id(p): p for p in [*provs.values(), *runner.judges.values()]}.values():
                p.close()
    manifest.expected_results = planned
    manifest.status = "interrupted" if interrupted else "complete"
    manifest.finished_at = iso(utcnow())
    folder.finish(manifest)

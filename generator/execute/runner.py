"""Execute a suite against models and append one result per finished request.

The plan is fixed up front (every model x case x repeat x load level gets a key),
so a resumed run knows exactly what is left and can never duplicate a result.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import RunError
from generator.execute.checks import score_case
from generator.execute.environment import inventory
from generator.execute.providers.base import Generation, Prompt, Provider
from generator.privacy import REDACTED_DETAIL, endpoint_privacy, output_sha256, privacy_record
from generator.registry.loader import Registry
from generator.registry.schema import ExecutionPolicy, ModelEntry, TaskCase
from generator.runs.records import (
    Attempt,
    Manifest,
    ModelInRun,
    ResultRecord,
    RunSettings,
)
from generator.runs.writer import RunFolder, iso, new_run_id, utcnow
from generator.textcut import clip

RETRYABLE = ("connection", "rate_limited")


def is_retryable(kind: str | None) -> bool:
    return kind is not None and (kind in RETRYABLE or (kind.startswith("http_5")))


def render_messages(case: TaskCase) -> list[dict[str, str]]:
    """The case as chat messages. ``{{input}}`` is substituted literally (no format strings)."""
    messages: list[dict[str, str]] = []
    if case.system:
        messages.append({"role": "system", "content": case.system})
    if case.prompt is not None:
        messages.append({"role": "user", "content": case.prompt.replace("{{input}}", case.input)})
    else:
        assert case.messages is not None
        for m in case.messages:
            messages.append({"role": m.role, "content": m.content.replace("{{input}}", case.input)})
    return messages


@dataclass
class WorkItem:
    model_id: str
    case: TaskCase
    suite: str
    repeat: int
    concurrency: int

    @property
    def key(self) -> str:
        return ResultRecord.make_key(self.model_id, self.case.id, self.repeat, self.concurrency)


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    tokens: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def tokens_per_s(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.tokens / elapsed if elapsed > 0 else 0.0


ProgressFn = Callable[[Progress, ResultRecord | None], None]


def plan(
    cases: Sequence[TaskCase], suite: str, models: Sequence[str], repeats: int, levels: Sequence[int]
) -> list[WorkItem]:
    return [
        WorkItem(model_id=m, case=c, suite=suite, repeat=r, concurrency=lvl)
        for lvl in levels
        for m in models
        for r in range(1, repeats + 1)
        for c in cases
    ]


def _backoff(attempt: int, base: float, cap: float, retry_after: float | None, rng: random.Random) -> float:
    if retry_after is not None:
        return min(retry_after, cap)
    return min(cap, base * (2**attempt)) * (0.5 + rng.random() / 2)  # exponential, with jitter


def generate_with_retries(
    provider: Provider,
    prompt: Prompt,
    ex: ExecutionPolicy,
    rng: random.Random,
    sleep: Callable[[float], None],
    stop: threading.Event,
) -> tuple[Generation, list[Attempt]]:
    """One request with the policy's retries: a connection error, 429 or 5xx is tried again after
    a jittered exponential backoff (or the server's Retry-After). The last try is the result; the
    ones before it come back as :class:`Attempt` records. Every error is cut to the policy's
    ``execution.error_text_chars`` here, the one place both runs and orchestration runs go through."""
    attempts: list[Attempt] = []
    gen: Generation
    for n in range(ex.max_retries + 1):
        gen = provider.generate(prompt)
        if gen.error is not None:
            gen.error = clip(gen.error, ex.error_text_chars)
        if not (is_retryable(gen.failure_kind) and n < ex.max_retries) or stop.is_set():
            break
        wait = _backoff(n, ex.backoff_base_s, ex.backoff_max_s, gen.retry_after_s, rng)
        attempts.append(
            Attempt(
                failure_kind=gen.failure_kind or "",
                error=gen.error or "",
                e2e_s=(gen.done_at - gen.sent_at) if gen.done_at else None,
                wait_s=round(wait, 3),
            )
        )
        sleep(wait)
    return gen, attempts


class Runner:
    def __init__(
        self,
        registry: Registry,
        folder: RunFolder,
        manifest: Manifest,
        providers: dict[str, Provider],
        progress: ProgressFn | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.reg = registry
        self.folder = folder
        self.manifest = manifest
        self.providers = providers
        self.progress_fn = progress
        self.sleep = sleep
        self.policy = registry.policy
        self._cold: set[str] = set()
        self._cold_lock = threading.Lock()
        self._stop = threading.Event()
        st = manifest.settings
        if st.temperature is None or st.seed is None or st.request_timeout_s is None:
            # Only an ingested manifest leaves them unknown, and an ingested run is never executed.
            raise RunError(f"run {manifest.run_id} does not record its temperature, seed and timeout")
        self.temperature: float = st.temperature
        self.seed: int = st.seed
        self.timeout_s: float = st.request_timeout_s
        self._rng = random.Random(self.seed)
        self.judges: dict[str, Provider] = {}
        # Called on every finished result before it is written (live escalation marks the rung).
        self.annotate: Callable[[WorkItem, ResultRecord], ResultRecord] | None = None
        self.redact = manifest.privacy is not None and manifest.privacy.outputs == "sha256"

    def _prompt(self, item: WorkItem) -> Prompt:
        s = self.manifest.settings
        suite_meta = self.reg.suites[item.suite].meta
        max_tokens = (
            s.max_tokens
            or item.case.max_tokens
            or (suite_meta.default_max_tokens if suite_meta else None)
            or self.policy.execution.default_max_tokens
        )
        return Prompt(
            messages=render_messages(item.case),
            max_tokens=max_tokens,
            temperature=self.temperature,
            seed=self.seed,
            timeout_s=self.timeout_s,
        )

    def _one(self, item: WorkItem) -> ResultRecord:
        provider = self.providers[item.model_id]
        prompt = self._prompt(item)
        with self._cold_lock:
            cold = item.model_id not in self._cold
            self._cold.add(item.model_id)
        started = iso(utcnow())
        gen, attempts = generate_with_retries(
            provider, prompt, self.policy.execution, self._rng, self.sleep, self._stop
        )
        limit = self.policy.scoring.max_output_chars
        text = gen.text if gen.text else None
        truncated = bool(text and len(text) > limit)
        if text and truncated:
            text = text[:limit]
        hard = gen.failed
        score = score_case(
            item.case,
            gen.text if not hard else None,
            self.policy.scoring.severity_weights,
            hard_failure=hard,
            echo_min_chars=self.policy.scoring.prompt_echo_min_chars,
            evidence_min_chars=self.policy.scoring.evidence_min_chars,
            detail_chars=self.policy.scoring.check_detail_chars,
        )
        sha = None
        if self.redact:
            # The outcome of every check stays; its detail can quote the output, so it goes too.
            sha = output_sha256(gen.text) if gen.text else None
            text, truncated = None, False
            score.checks = [c.model_copy(update={"detail": REDACTED_DETAIL}) for c in score.checks]
        verdict = None
        if self.judges and not hard:
            from generator.execute.judge import judge_output

            task_text = "\n\n".join(m["content"] for m in prompt.messages)
            verdict = judge_output(
                item.case,
                task_text,
                gen.text,
                self.judges,
                self.policy.judge,
                self.seed,
                self.timeout_s,
            )
        rec = ResultRecord(
            run_id=self.manifest.run_id,
            key=item.key,
            model_id=item.model_id,
            suite=item.suite,
            case_id=item.case.id,
            role=item.case.role,
            workload=item.case.workload,
            severity=item.case.severity,
            repeat=item.repeat,
            concurrency=item.concurrency,
            cold_start=cold,
            started_at=started,
            status="failed" if hard else "ok",
            failure_kind=gen.failure_kind,
            error=gen.error,
            attempts=attempts,
            timing=gen.timing(),
            usage=gen.usage,
            server_timings=gen.server_timings,
            output=text,
            output_truncated=truncated,
            output_sha256=sha,
            score=score,
            judge=verdict,
        )
        return self.annotate(item, rec) if self.annotate is not None else rec

    def run(self, items: list[WorkItem], done_keys: set[str]) -> Progress:
        todo = [it for it in items if it.key not in done_keys]
        prog = Progress(total=len(items), done=len(items) - len(todo))
        lock = threading.Lock()

        def finish(rec: ResultRecord) -> None:
            self.folder.append(rec)
            with lock:
                prog.done += 1
                prog.failed += rec.status == "failed"
                prog.tokens += rec.usage.completion_tokens or 0
                if self.progress_fn:
                    self.progress_fn(prog, rec)

        if self.progress_fn:
            self.progress_fn(prog, None)
        # Load levels run one after another; within a level, N requests in flight.
        for level in sorted({it.concurrency for it in todo}):
            batch = [it for it in todo if it.concurrency == level]
            for model_id in dict.fromkeys(it.model_id for it in batch):
                group = [it for it in batch if it.model_id == model_id]
                workers = level if self.providers[model_id].supports_parallel else 1
                if workers <= 1 and level <= 1:
                    for it in group:
                        if self._stop.is_set():
                            return prog
                        finish(self._one(it))
                    continue
                # A single-sequence runtime still receives `level` concurrent requests:
                # they queue inside it, which is exactly the degradation under load we measure.
                with ThreadPoolExecutor(max_workers=level) as pool:
                    futures = []
                    for it in group:
                        if self._stop.is_set():
                            break
                        futures.append(pool.submit(self._one, it))
                    try:
                        for fut in futures:
                            finish(fut.result())
                    except BaseException:
                        self._stop.set()
                        for fut in futures:
                            fut.cancel()
                        raise
        return prog


def build_providers(models: list[ModelEntry], execution: ExecutionPolicy) -> dict[str, Provider]:
    from generator.execute.providers.http import make_provider

    return {m.id: make_provider(m, execution) for m in models}


def start_run(
    registry: Registry,
    suite: str,
    model_ids: list[str] | None,
    repeats: int,
    levels: list[int],
    out_dir: Path,
    cli_args: list[str],
    max_tokens: int | None = None,
    machine: str | None = None,
    case_ids: list[str] | None = None,
    progress: ProgressFn | None = None,
    providers: dict[str, Provider] | None = None,
    on_created: Callable[[str], None] | None = None,
    judges: list[str] | None = None,
    redact_outputs: bool | None = None,
) -> Path:
    """Plan and execute a new run; return its folder. ``on_created`` gets the run id at once.

    ``redact_outputs`` (default: policy ``privacy.redact_outputs``) keeps a sha256 of each output
    and its check outcomes instead of its text; the manifest's ``privacy`` says which applies.
    """
    if suite not in registry.suites:
        raise RunError(f"unknown suite {suite!r}; known: {', '.join(sorted(registry.suites))}")
    models = registry.models
    ids = model_ids or [m.id for m in registry.default_models()]
    unknown = [m for m in ids if m not in models]
    if unknown:
        raise RunError(f"unknown model(s): {', '.join(unknown)}")
    judge_ids = registry.policy.judge.judges if judges is None else judges
    bad_judges = [j for j in judge_ids if j not in models]
    if bad_judges:
        raise RunError(f"unknown judge model(s): {', '.join(bad_judges)}")
    limit = registry.policy.judge.max_judges
    if len(judge_ids) > limit:
        raise RunError(f"at most {limit} judges (policy.yaml judge.max_judges)")
    families = [models[j].family for j in judge_ids]
    if len(set(families)) < len(families):
        raise RunError("the judges must come from different families")
    if machine is not None and machine not in {m.id for m in registry.hardware.machines}:
        raise RunError(f"unknown machine {machine!r}")
    cases = registry.suites[suite].cases
    if case_ids:
        missing = [c for c in case_ids if c not in {x.id for x in cases}]
        if missing:
            raise RunError(f"case(s) not in suite {suite!r}: {', '.join(missing)}")
        cases = [c for c in cases if c.id in case_ids]
    if repeats < 1 or any(lv < 1 for lv in levels):
        raise RunError("--repeats and concurrency levels must be at least 1")
    ex = registry.policy.execution
    settings = RunSettings(
        suite=suite,
        models=ids,
        repeats=repeats,
        concurrency_levels=sorted(set(levels)),
        max_tokens=max_tokens,
        temperature=ex.temperature,
        seed=ex.seed,
        request_timeout_s=ex.request_timeout_s,
        max_retries=ex.max_retries,
        machine=machine,
        judges=list(judge_ids),
    )
    from generator import __version__

    run_id = new_run_id(suite)
    folder = RunFolder.create(out_dir, run_id)
    items = plan(cases, suite, ids, repeats, settings.concurrency_levels)
    manifest = Manifest(
        run_id=run_id,
        created_at=iso(utcnow()),
        tool_version=__version__,
        settings=settings,
        models=[ModelInRun(id=m, provider=models[m].provider, served_name=models[m].request_name) for m in ids],
        case_ids=[c.id for c in cases],
        expected_results=len(items),
        registry_hash=registry.content_hash,
        suite_hash=registry.suite_hashes[suite],
        environment=inventory(out_dir),
        cli_args=cli_args,
        privacy=privacy_record(
            [models[m] for m in ids],
            registry.policy.privacy,
            registry.policy.privacy.redact_outputs if redact_outputs is None else redact_outputs,
            registry.policy.scoring.max_output_chars,
            judged=bool(judge_ids),
        ),
    )
    folder.write_manifest(manifest)
    if on_created is not None:
        on_created(run_id)
    _execute(registry, folder, manifest, items, set(), progress, providers)
    return folder.path


def resume_run(
    registry: Registry,
    run_id: str,
    out_dir: Path,
    progress: ProgressFn | None = None,
    providers: dict[str, Provider] | None = None,
) -> Path:
    """Finish an interrupted run: skip every key already on disk, run the rest."""
    folder = RunFolder.open_existing(out_dir, run_id)
    manifest = folder.read_manifest()
    if manifest.origin != "executed":
        raise RunError(f"run {run_id} was ingested, not executed; nothing to resume")
    if manifest.settings.escalate:
        from generator.execute.escalation import resume_chain_run

        return resume_chain_run(registry, folder, manifest, progress, providers)
    s = manifest.settings
    if s.suite not in registry.suites:
        raise RunError(f"suite {s.suite!r} of run {run_id} is no longer in the registry")
    if registry.suite_hashes[s.suite] != manifest.suite_hash:
        manifest.notes.append("resumed with a changed task suite; results before and after may differ")
    by_id = {c.id: c for c in registry.suites[s.suite].cases}
    missing = [c for c in manifest.case_ids if c not in by_id]
    if missing:
        raise RunError(f"case(s) of run {run_id} no longer exist: {', '.join(missing)}")
    cases = [by_id[c] for c in manifest.case_ids]
    items = plan(cases, s.suite, s.models, s.repeats, s.concurrency_levels)
    done = {r.key for r in folder.repair_and_read()}
    _execute(registry, folder, manifest, items, done, progress, providers)
    return folder.path


def _execute(
    registry: Registry,
    folder: RunFolder,
    manifest: Manifest,
    items: list[WorkItem],
    done: set[str],
    progress: ProgressFn | None,
    providers: dict[str, Provider] | None,
) -> None:
    models = registry.models
    ex = registry.policy.execution
    needed = list(dict.fromkeys(it.model_id for it in items if it.key not in done))
    provs = providers if providers is not None else build_providers([models[m] for m in needed], ex)
    manifest.status = "running"
    runner = Runner(registry, folder, manifest, provs, progress)
    judge_ids = manifest.settings.judges
    if judge_ids:
        runner.judges = {j: provs[j] if j in provs else build_providers([models[j]], ex)[j] for j in judge_ids}
    try:
        described = {m.id: m for m in manifest.models}
        for mid in needed:
            provs[mid].load()
            described[mid] = provs[mid].describe()
        manifest.models = [described[m] for m in manifest.settings.models]
        if manifest.privacy is not None:
            # The posture of the endpoints the run really reached (a server may report its own).
            manifest.privacy.endpoints = [
                endpoint_privacy(models[m.id], registry.policy.privacy, m.endpoint)
                for m in manifest.models
                if m.id in models
            ]
        folder.write_manifest(manifest)
        runner.run(items, done)
    except BaseException:
        # Any crash (a provider that raises, a full disk, Ctrl-C) leaves the run resumable and
        # says so: a manifest left at "running" would claim a run that no process is doing.
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
    final = {r.key for r in folder.repair_and_read()}
    manifest.status = "complete" if all(it.key in final for it in items) else "interrupted"
    manifest.finished_at = iso(utcnow())
    folder.finish(manifest)

"""``opsbench review sample``: a stratified, seeded, blind sample of a workload's results.

Stratified twice. Per model: every model gets the same number of items where its results
allow (a remainder goes to models drawn at random). Per case: all models walk the cases in
one shared random order, cases that more models ran first, one result per case before any
case gets a second; so the local candidate and the baseline are graded on the same cases
whenever both ran them, which is what the paired gap in the report needs.

Hard failures are left out (a failed request has no output to grade) and counted. All
randomness comes from one ``random.Random(seed)``: the same runs and seed give the same
sample, item ids included; the ids are random tokens from that generator, so nothing in
them is derived from the model or the result.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import RunError
from generator.execute.runner import render_messages
from generator.registry.loader import Registry
from generator.review.sheet import (
    KeyItem,
    SampleKey,
    SheetFormat,
    SheetItem,
    key_path,
    render_csv,
    render_yaml,
)
from generator.runs.reader import load_run
from generator.runs.records import ReviewDimension
from generator.runs.scan import list_run_folders
from generator.runs.writer import atomic_write_new, iso, utcnow


@dataclass(frozen=True)
class Candidate:
    """A result that may be drawn: an ok request of the workload with an output to grade."""

    run_id: str
    key: str
    model_id: str
    case_id: str
    output: str


def _queues(pool: list[Candidate], rng: random.Random) -> dict[str, list[Candidate]]:
    """Each model's results in drawing order: round-robin over one case order shared by all models."""
    by_model: dict[str, dict[str, list[Candidate]]] = {}
    for c in sorted(pool, key=lambda c: (c.model_id, c.case_id, c.run_id, c.key)):
        by_model.setdefault(c.model_id, {}).setdefault(c.case_id, []).append(c)
    for cases in by_model.values():
        for results in cases.values():
            rng.shuffle(results)  # which repeat / run of a case comes first
    coverage = Counter(case for cases in by_model.values() for case in cases)
    order = sorted(coverage)
    rng.shuffle(order)
    order.sort(key=lambda case: -coverage[case])  # stable: random within equal coverage
    queues: dict[str, list[Candidate]] = {}
    for model in sorted(by_model):
        cases = by_model[model]
        queue: list[Candidate] = []
        total = sum(len(v) for v in cases.values())
        depth = 0
        while len(queue) < total:
            queue += [cases[case][depth] for case in order if case in cases and depth < len(cases[case])]
            depth += 1
        queues[model] = queue
    return queues


def _quotas(sizes: dict[str, int], n: int, rng: random.Random) -> dict[str, int]:
    """Equal shares of ``n`` per model, as far as each model's results go; leftovers spread again."""
    quota = dict.fromkeys(sizes, 0)
    left = n
    while left > 0:
        open_ = [m for m in sorted(sizes) if quota[m] < sizes[m]]
        if not open_:
            break
        share = left // len(open_)
        if share == 0:
            for m in rng.sample(open_, left):
                quota[m] += 1
            break
        for m in open_:
            add = min(share, sizes[m] - quota[m])
            quota[m] += add
            left -= add
    return quota


def stratified_sample(pool: list[Candidate], n: int, rng: random.Random) -> list[Candidate]:
    """Up to ``n`` results, equal per model where possible, on the same cases across models."""
    queues = _queues(pool, rng)
    quota = _quotas({m: len(q) for m, q in queues.items()}, n, rng)
    return [c for m in sorted(queues) for c in queues[m][: quota[m]]]


def item_ids(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct opaque tokens ("i" and 10 hex digits) from the seeded generator.

    The leading letter keeps a token text everywhere: all-digit or "1e..." hex would be read
    back as a number by YAML 1.2 and by spreadsheets, and no longer match the key file.
    """
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        token = f"i{rng.getrandbits(40):010x}"
        if token not in seen:
            seen.add(token)
            out.append(token)
    return out


@dataclass
class SampleOutcome:
    """What one ``opsbench review sample`` wrote, for the command to print."""

    sheet: Path
    key: Path
    workload: str
    seed: int
    requested: int
    items: int
    eligible: int
    excluded_hard_failures: int
    excluded_unknown_case: int
    excluded_no_output: int
    per_model: dict[str, int] = field(default_factory=dict)
    shared_cases: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "sheet": str(self.sheet), "key": str(self.key)}


def task_text(reg: Registry, case_id: str) -> str | None:
    """The task exactly as the model got it (system and prompt with the input filled in)."""
    for _, case in reg.all_cases():
        if case.id == case_id:
            return "\n\n".join(m["content"] for m in render_messages(case))
    return None


def draw_sample(
    reg: Registry,
    runs_dir: Path,
    workload_id: str,
    n: int,
    out: Path,
    fmt: SheetFormat,
    seed: int | None = None,
) -> SampleOutcome:
    """Draw the sample and write ``out`` (blind) and ``out.key.json`` (the map back to results).

    Refuses to replace either file; writes nothing when it refuses or finds nothing to draw.
    """
    workload = reg.workloads.get(workload_id)
    if workload is None:
        raise RunError(f"unknown workload {workload_id!r}")
    if not workload.review_rubric:
        raise RunError(f"workload {workload_id!r} has no review_rubric in workloads.yaml: nothing to grade")
    seed = reg.policy.review.sample_seed if seed is None else seed
    key_file = key_path(out)
    for path in (out, key_file):
        if path.exists():
            raise RunError(f"{path} already exists; refusing to overwrite it (nothing was written)")

    tasks: dict[str, str | None] = {}
    pool: list[Candidate] = []
    hard = unknown_case = no_output = 0
    for folder in list_run_folders(runs_dir):
        _, rows = load_run(folder)
        for row in rows:
            if row.get("workload") != workload_id:
                continue
            if row.get("status") != "ok":
                hard += 1
                continue
            case_id = str(row.get("case_id"))
            if case_id not in tasks:
                tasks[case_id] = task_text(reg, case_id)
            if tasks[case_id] is None:
                unknown_case += 1
                continue
            if not row.get("output"):
                no_output += 1
                continue
            pool.append(
                Candidate(
                    run_id=str(row["run_id"]),
                    key=str(row["key"]),
                    model_id=str(row["model_id"]),
                    case_id=case_id,
                    output=str(row["output"]),
                )
            )
    if not pool:
        raise RunError(
            f"no gradable results of workload {workload_id!r} in {runs_dir} "
            f"({hard} hard failure(s) left out); nothing was written"
        )

    rng = random.Random(seed)
    chosen = stratified_sample(pool, n, rng)
    ids = item_ids(len(chosen), rng)
    pairs = list(zip(ids, chosen, strict=True))
    rng.shuffle(pairs)  # the file's order says nothing about the model either
    rubric = [ReviewDimension(**d.model_dump()) for d in workload.review_rubric]
    sheet_items = [SheetItem(item_id=i, task=tasks[c.case_id] or "", output=c.output) for i, c in pairs]
    text = render_csv(sheet_items, rubric) if fmt == "csv" else render_yaml(workload_id, sheet_items, rubric)
    key = SampleKey(
        workload=workload_id,
        format=fmt,
        sample_file=out.name,
        seed=seed,
        created_at=iso(utcnow()),
        rubric=rubric,
        eligible=len(pool),
        excluded_hard_failures=hard,
        excluded_unknown_case=unknown_case,
        excluded_no_output=no_output,
        items=[
            KeyItem(item_id=i, run_id=c.run_id, key=c.key, model_id=c.model_id, case_id=c.case_id) for i, c in pairs
        ],
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write_new(key_file, key.model_dump_json(indent=2) + "\n")
    except FileExistsError:
        raise RunError(f"{key_file} already exists; refusing to overwrite it (nothing was written)") from None
    try:
        atomic_write_new(out, text)
    except BaseException as exc:
        key_file.unlink()  # no key without its sheet
        if isinstance(exc, FileExistsError):
            raise RunError(f"{out} already exists; refusing to overwrite it (nothing was written)") from None
        raise
    per_model = Counter(c.model_id for c in chosen)
    cases_of = {m: {c.case_id for c in chosen if c.model_id == m} for m in per_model}
    shared = set.intersection(*cases_of.values()) if len(cases_of) > 1 else set()
    return SampleOutcome(
        sheet=out,
        key=key_file,
        workload=workload_id,
        seed=seed,
        requested=n,
        items=len(chosen),
        eligible=len(pool),
        excluded_hard_failures=hard,
        excluded_unknown_case=unknown_case,
        excluded_no_output=no_output,
        per_model=dict(sorted(per_model.items())),
        shared_cases=len(shared),
    )

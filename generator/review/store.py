"""Grades into the run store (``opsbench review add``) and back out (``review report``).

A filled review file becomes one human-review folder, ``runs/<id>/`` with a manifest
(``origin: human-review``) and ``reviews.jsonl``, written in one step by the run store's
folder writer. It holds no ``results.jsonl``: its lines point at results of other runs by
``run_id`` and ``key``, and every reader of results skips it (``generator.runs.scan.list_run_folders``). The run
store reads these folders back (``generator.runs.scan.load_reviews``).

Nothing is written unless the whole file is good. The same grades are never stored twice:
a file whose grades hash to a stored ``content_sha256`` is refused, and so is a grade of a
result that the same reviewer already graded in another review folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from generator import __version__
from generator.errors import InputError, Problem, RunError
from generator.registry.yamlio import display_path
from generator.review.sheet import SampleKey, key_path, read_filled
from generator.runs.reader import is_review_folder, load_review_folder, load_run
from generator.runs.records import MANIFEST_FILE, REVIEWS_FILE, ReviewManifest, ReviewRecord
from generator.runs.scan import list_review_folders
from generator.runs.writer import iso, new_run_id, utcnow, write_complete_folder

# Columns of the frame ``load_review_evidence`` returns (one row per graded result).
EVIDENCE_COLUMNS = ["run_id", "key", "model_id", "case_id", "status", "accepted", "judge_scores"]


@dataclass
class AddOutcome:
    """What one ``opsbench review add`` stored, for the command to print."""

    run_id: str
    path: Path
    workload: str
    graded: int
    ungraded: int
    reviewers: list[str] = field(default_factory=list)
    source_run_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "path": str(self.path)}


def read_key(sheet: Path) -> SampleKey:
    """The key file beside ``sheet``; a missing or damaged one is an input problem."""
    path = key_path(sheet)
    if not path.is_file():
        raise InputError(
            [Problem(display_path(sheet), None, f"no key file {path.name} beside it (written by `review sample`)")]
        )
    try:
        return SampleKey.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError([Problem(display_path(path), None, f"bad key file: {exc}")]) from None


def grades_sha256(workload: str, records: list[ReviewRecord]) -> str:
    """A hash of what was graded, not of the file's bytes: a re-saved copy hashes the same."""
    canon = sorted((r.item_id, r.run_id, r.key, r.reviewer, sorted(r.scores.items()), r.notes or "") for r in records)
    return hashlib.sha256(json.dumps([workload, canon], ensure_ascii=False).encode()).hexdigest()


def add_review(sheet: Path, runs_dir: Path, reviewer: str | None, cli_args: list[str] | None = None) -> AddOutcome:
    """Check a filled review file against its key, the rubric and the run store; store it as one folder."""
    key = read_key(sheet)
    filled = read_filled(sheet, key, reviewer)
    problems = list(filled.problems)
    if problems:
        raise InputError(problems)
    shown = display_path(sheet)
    by_item = {it.item_id: it for it in key.items}

    # Every graded result must still be in the run store, where the report will look for it.
    run_keys: dict[str, set[str] | None] = {}
    for run_id in sorted({by_item[g.item_id].run_id for g in filled.grades}):
        folder = runs_dir / run_id
        if (folder / MANIFEST_FILE).is_file() and not is_review_folder(folder):
            run_keys[run_id] = {str(r.get("key")) for r in load_run(folder)[1]}
        else:
            run_keys[run_id] = None
    records: list[ReviewRecord] = []
    for g in filled.grades:
        it = by_item[g.item_id]
        keys = run_keys[it.run_id]
        if keys is None:
            problems.append(Problem(shown, g.line, f"item {g.item_id!r}: its run {it.run_id} is not in {runs_dir}"))
            continue
        if it.key not in keys:
            problems.append(Problem(shown, g.line, f"item {g.item_id!r}: its result is no longer in run {it.run_id}"))
            continue
        records.append(
            ReviewRecord(
                item_id=g.item_id,
                run_id=it.run_id,
                key=it.key,
                model_id=it.model_id,
                case_id=it.case_id,
                workload=key.workload,
                reviewer=g.reviewer,
                scores=g.scores,
                notes=g.notes,
            )
        )
    if problems:
        raise InputError(problems)

    digest = grades_sha256(key.workload, records)
    stored: dict[tuple[str, str, str], str] = {}
    for folder in list_review_folders(runs_dir):
        manifest, rows = load_review_folder(folder)
        if manifest.content_sha256 == digest:
            raise RunError(
                f"already added: review folder {manifest.run_id} holds these grades "
                "(same content sha256); nothing was written"
            )
        for r in rows:
            stored.setdefault((r.run_id, r.key, r.reviewer), manifest.run_id)
    line_of = {g.item_id: g.line for g in filled.grades}
    for r in records:
        other = stored.get((r.run_id, r.key, r.reviewer))
        if other is not None:
            problems.append(
                Problem(
                    shown,
                    line_of[r.item_id],
                    f"item {r.item_id!r}: reviewer {r.reviewer!r} already graded this output (review folder {other})",
                )
            )
    if problems:
        raise InputError(problems)

    now = utcnow()
    run_id = new_run_id(f"review-{key.workload[:60]}", now)
    manifest = ReviewManifest(
        run_id=run_id,
        created_at=iso(now),
        tool_version=__version__,
        workload=key.workload,
        source_run_ids=sorted({r.run_id for r in records}),
        reviewers=sorted({r.reviewer for r in records}),
        rubric=key.rubric,
        graded=len(records),
        ungraded=filled.ungraded,
        sample_file=sheet.name,
        sample_seed=key.seed,
        content_sha256=digest,
        cli_args=cli_args or ["review", "add", str(sheet)],
    )
    lines = "".join(r.model_dump_json() + "\n" for r in records)
    path = write_complete_folder(runs_dir, run_id, {REVIEWS_FILE: lines}, manifest.model_dump_json(indent=2) + "\n")
    return AddOutcome(
        run_id=run_id,
        path=path,
        workload=key.workload,
        graded=len(records),
        ungraded=filled.ungraded,
        reviewers=manifest.reviewers,
        source_run_ids=manifest.source_run_ids,
    )


def load_review_evidence(runs_dir: Path, records: list[ReviewRecord]) -> pd.DataFrame:
    """The graded results as the run store holds them: the checks' verdict and each judge's score.

    One row per (run_id, key) that some review points at and that is still in ``runs_dir``;
    a review whose result is gone simply has no row here (the report counts it as unmatched).
    ``judge_scores`` is ``{judge model id: score or None}``, empty when no judge ran.
    """
    wanted: dict[str, set[str]] = {}
    for r in records:
        wanted.setdefault(r.run_id, set()).add(r.key)
    rows: list[dict[str, Any]] = []
    for run_id, keys in sorted(wanted.items()):
        folder = runs_dir / run_id
        if not (folder / MANIFEST_FILE).is_file() or is_review_folder(folder):
            continue
        for row in load_run(folder)[1]:
            if row.get("key") not in keys:
                continue
            judge = row.get("judge") or {}
            rows.append(
                {
                    "run_id": run_id,
                    "key": row.get("key"),
                    "model_id": row.get("model_id"),
                    "case_id": row.get("case_id"),
                    "status": row.get("status"),
                    "accepted": bool((row.get("score") or {}).get("accepted")),
                    "judge_scores": dict(judge.get("scores") or {}),
                }
            )
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)

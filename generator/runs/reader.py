"""The one reader of run folders: one torn-tail rule, one duplicate rule, one run-id rule.

Every JSONL file of a run folder (``results.jsonl``, ``summaries.jsonl``, ``perf.jsonl``,
``reviews.jsonl``) is read by :func:`read_jsonl`, so they all agree:

- a last line without a newline is a torn write (the process died mid-line): it is not read;
- a line that does not parse ends the read: what came before it is kept;
- a line whose identity (its ``key``) was read before is read once, the first time.

The folder's name is the run id. A manifest, or a result / summary / perf line, that states
another id is a load error naming the file (and line), never silently regrouped: a renamed
folder would otherwise lose its per-case rows and aggregates on the site.

``load_run_table`` is the Arrow fast path of ``load_run`` (a million lines without a Python
dict each); it raises ``pyarrow.ArrowException`` whenever it could read differently, and the
caller reads the slow way instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from generator.errors import InputError, Problem
from generator.runs.records import (
    MANIFEST_FILE,
    MINING_ORIGIN,
    PERF_FILE,
    RESULTS_FILE,
    REVIEW_ORIGIN,
    REVIEWS_FILE,
    SUMMARIES_FILE,
    Manifest,
    PerfRecord,
    ReviewManifest,
    ReviewRecord,
    SummaryRecord,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass
class JsonlRead(Generic[T]):
    """What :func:`read_jsonl` read: the records, and where the good part of the file ends."""

    records: list[T]
    good_end: int = 0
    """Bytes up to the end of the last line read (a torn or damaged tail starts here)."""
    size: int = 0


def _lines(raw: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(line number, end offset after the newline, line) for each complete line of ``raw``."""
    pos = 0
    n = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        if nl == -1:
            return  # torn tail: no newline, the write never finished
        n += 1
        yield n, nl + 1, raw[pos:nl]
        pos = nl + 1


def read_jsonl(
    file: Path,
    parse: Callable[[bytes], T],
    ident: Callable[[T], Any],
    check: Callable[[int, T], None] | None = None,
) -> JsonlRead[T]:
    """Every complete line of ``file`` up to the first damaged one, each identity once.

    ``parse`` turns a line into a record and raises ``ValueError`` on a damaged line (which
    ends the read); ``check(line number, record)`` may raise a load error for a line that
    parses but contradicts its folder. A missing file reads as empty.
    """
    if not file.exists():
        return JsonlRead([])
    raw = file.read_bytes()
    out = JsonlRead[T]([], 0, len(raw))
    seen: set[Any] = set()
    for n, end, line in _lines(raw):
        try:
            rec = parse(line)
        except ValueError:
            break  # a damaged line: keep what came before it
        if check is not None:
            check(n, rec)
        out.good_end = end
        key = ident(rec)
        if key in seen:
            continue
        seen.add(key)
        out.records.append(rec)
    return out


def _json_object(line: bytes) -> dict[str, Any]:
    row = json.loads(line)
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    return row


def mismatch(file: Path, line: int | None, stated: object, folder: str) -> InputError:
    """The load error for a file that states another run id than its folder's name."""
    return InputError(
        [Problem(str(file), line, f"run_id {stated!r} is not the folder's name {folder!r} (the folder name is the id)")]
    )


def _same_run(file: Path, folder: str) -> Callable[[int, Any], None]:
    def check(n: int, rec: Any) -> None:
        stated = rec.get("run_id") if isinstance(rec, dict) else rec.run_id
        if stated != folder:
            raise mismatch(file, n, stated, folder)

    return check


# --------------------------------------------------------------------------- folders and origins


def folder_origin(path: Path) -> str | None:
    """The ``origin`` a folder's manifest states (None when it cannot be read)."""
    try:
        data = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("origin") if isinstance(data, dict) else None


def is_review_folder(path: Path) -> bool:
    """True for a folder written by ``opsbench review add``: grades of other runs' results, no results.

    Told by the manifest's ``origin``, not by a missing ``results.jsonl``: a run that has just
    started, and an ingested aggregate-only run, have none either. A manifest that cannot be read
    is not a review folder, so the results reader reports it as the bad manifest it is.
    """
    return folder_origin(path) == REVIEW_ORIGIN


def is_orchestration_folder(path: Path) -> bool:
    """True for a folder written by ``opsbench orchestrate`` (pipeline calls, ``calls.jsonl``)."""
    from generator.runs.records import ORCHESTRATION_ORIGIN

    return folder_origin(path) == ORCHESTRATION_ORIGIN


def read_calls(file: Path, folder: str) -> JsonlRead[Any]:
    """``calls.jsonl`` of an orchestration run as ``OrchestrationCall``s, by the one reader's rules."""
    from generator.runs.records import OrchestrationCall

    return read_jsonl(file, OrchestrationCall.model_validate_json, lambda rec: rec.key, _same_run(file, folder))


def is_mining_folder(path: Path) -> bool:
    """True for a folder written by ``opsbench mine`` (aggregates of prompts, no results)."""
    return folder_origin(path) == MINING_ORIGIN


# --------------------------------------------------------------------------- manifests


def _validated(path: Path, model: type[M], what: str) -> M:
    file = path / MANIFEST_FILE
    try:
        manifest = model.model_validate_json(file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError([Problem(str(file), None, f"bad {what}: {exc}")]) from None
    if manifest.run_id != path.name:  # type: ignore[attr-defined]
        raise mismatch(file, None, manifest.run_id, path.name)  # type: ignore[attr-defined]
    return manifest


def read_manifest(path: Path) -> Manifest:
    """The manifest of a run of requests; a review folder, a bad manifest or one whose
    ``run_id`` is not the folder's name is a load error with the path."""
    if is_review_folder(path):
        raise InputError([Problem(str(path / MANIFEST_FILE), None, "a human-review folder holds grades, not results")])
    return _validated(path, Manifest, "manifest")


# --------------------------------------------------------------------------- results


def load_run(path: Path) -> tuple[Manifest, list[dict]]:
    """A run's manifest and its result lines as plain dicts (torn tail ignored, not repaired).

    The rules of :func:`read_jsonl`. For big runs, ``load_run_table`` reads the same lines
    into Arrow without making a dict per line.
    """
    manifest = read_manifest(path)
    file = path / RESULTS_FILE
    rows = read_jsonl(file, _json_object, lambda row: row.get("key"), _same_run(file, path.name)).records
    return manifest, rows


def read_results(file: Path, folder: str) -> JsonlRead[Any]:
    """``results.jsonl`` as ``ResultRecord``s (resume reads it so), with where its good part ends."""
    from generator.runs.records import ResultRecord

    return read_jsonl(file, ResultRecord.model_validate_json, lambda rec: rec.key, _same_run(file, folder))


def complete_length(file: Path) -> int:
    """Bytes up to and including the last newline: what follows it is a torn tail."""
    size = file.stat().st_size
    with file.open("rb") as fh:
        end = size
        while end > 0:
            start = max(0, end - (1 << 16))
            fh.seek(start)
            nl = fh.read(end - start).rfind(b"\n")
            if nl != -1:
                return start + nl + 1
            end = start
    return 0


class _CompleteLines:
    """A read-only file limited to its complete lines, counting them as they pass."""

    def __init__(self, fh: Any, end: int):
        self._fh = fh
        self._left = end
        self.newlines = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._fh.read(size)
        self._left -= len(data)
        self.newlines += data.count(b"\n")
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def load_run_table(
    path: Path,
    schema: Any,
    transform: Callable[[Any, Manifest], Any] | None = None,
    block_size: int = 8 << 20,
) -> tuple[Manifest, Any]:
    """``load_run`` for big runs: the result lines parsed by Arrow's JSON reader into a table.

    Only ``schema``'s fields are read (it must hold ``key`` and ``run_id``); ``transform`` maps
    each parsed batch to a smaller one that keeps ``key``, so a whole run never sits in memory
    as parsed. Same rules as ``load_run``. A file that Arrow cannot read exactly as ``load_run``
    would (a damaged or blank line, a value of the wrong type, a line of another run, whose
    line number only ``load_run`` can tell) raises ``pyarrow.ArrowException``: read it with
    ``load_run`` instead.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    manifest = read_manifest(path)
    out_schema = None
    batches = []
    results = path / RESULTS_FILE
    end = complete_length(results) if results.exists() else 0
    if end:
        with results.open("rb") as raw:
            lines = _CompleteLines(raw, end)
            reader = pj.open_json(
                pa.PythonFile(lines, mode="r"),
                read_options=pj.ReadOptions(block_size=block_size),
                parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
            )
            rows = 0
            for batch in reader:
                rows += batch.num_rows
                same = pc.fill_null(pc.equal(batch.column("run_id"), path.name), False)
                if not pc.all(same).as_py():
                    raise pa.ArrowInvalid(f"{results}: a line of another run")
                batches.append(transform(batch, manifest) if transform else batch)
            if rows != lines.newlines:  # a blank line, or two objects on one line
                raise pa.ArrowInvalid(f"{results}: {lines.newlines} lines but {rows} records")
        out_schema = batches[0].schema if batches else None
    if out_schema is None:
        empty = pa.RecordBatch.from_pylist([], schema=schema)
        out_schema = transform(empty, manifest).schema if transform else schema
    table = pa.Table.from_batches(batches, schema=out_schema)
    keys = table.column("key")
    if pc.count_distinct(keys, mode="all").as_py() < table.num_rows:
        codes = pc.dictionary_encode(keys.combine_chunks(), null_encoding="encode").indices
        _, first = np.unique(codes.to_numpy(zero_copy_only=False), return_index=True)
        table = table.take(pa.array(np.sort(first)))
    return manifest, table


# --------------------------------------------------------------------------- aggregates (ingested runs)


def _records(path: Path, name: str, model: type[M]) -> list[M]:
    file = path / name
    return read_jsonl(file, model.model_validate_json, lambda rec: rec.key, _same_run(file, path.name)).records  # type: ignore[attr-defined]


def load_summaries(path: Path) -> list[SummaryRecord]:
    """A run's ``summaries.jsonl`` (aggregates from Aider, lm-eval, inspect); [] if it has none."""
    return _records(path, SUMMARIES_FILE, SummaryRecord)


def load_perf(path: Path) -> list[PerfRecord]:
    """A run's ``perf.jsonl`` (llama-bench, vLLM, GuideLLM measurements); [] if it has none."""
    return _records(path, PERF_FILE, PerfRecord)


# --------------------------------------------------------------------------- human-review folders


def load_review_folder(path: Path) -> tuple[ReviewManifest, list[ReviewRecord]]:
    """A review folder's manifest and its grades (one per item and reviewer).

    A grade's ``run_id`` is the graded run's, not this folder's, so only the manifest is held
    to the folder name.
    """
    manifest = _validated(path, ReviewManifest, "review manifest")
    records = read_jsonl(
        path / REVIEWS_FILE, ReviewRecord.model_validate_json, lambda r: (r.item_id, r.reviewer)
    ).records
    return manifest, records

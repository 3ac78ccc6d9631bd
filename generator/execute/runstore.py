"""The one writer and reader of run folders.

``results.jsonl`` is append-only: one line per finished request, flushed and
fsynced before the next is counted, so killing the process at any moment loses
at most the requests in flight. A torn last line (the process died mid-write) is
detected on resume and cut off; a line whose key is already present is never
written twice.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from generator.errors import InputError, Problem, RunError
from generator.execute.records import (
    ORCHESTRATION_ORIGIN,
    REVIEW_ORIGIN,
    Manifest,
    OrchestrationCall,
    OrchestrationManifest,
    ResultRecord,
    ReviewManifest,
    ReviewRecord,
)

RUN_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9_.-]{1,80}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(suite: str, now: datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now:%Y%m%d-%H%M%S}-{suite}-{secrets.token_hex(3)}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_new(path: Path, text: str) -> None:
    """``atomic_write_text`` that never replaces a file: a file already at ``path`` (even one
    created a moment ago by another process) raises ``FileExistsError`` and is left as it was.

    The finished temporary file is hard-linked into place, which fails when the name is taken,
    unlike the rename that ``atomic_write_text`` does.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)


def write_complete_folder(out_dir: Path, run_id: str, files: dict[str, str], manifest_text: str) -> Path:
    """Write a whole run folder in one step: build it beside the target, then rename it into place.

    ``files`` maps file names to their text (an empty text is not written). The manifest goes
    last, because a folder with a manifest is a run. Refuses to replace an existing folder; on
    any error the temporary folder is removed, so ``out_dir`` never holds half a run.
    """
    if not RUN_ID_RE.fullmatch(run_id):
        raise RunError(f"unsafe run id {run_id!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / run_id
    if target.exists():
        raise RunError(f"{target} already exists; nothing was written")
    tmp = out_dir / f".{run_id}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name, text in files.items():
            if text:
                atomic_write_text(tmp / name, text)
        atomic_write_text(tmp / "manifest.json", manifest_text)
        _fsync_dir(tmp)
        os.rename(tmp, target)
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunFolder:
    """A run's folder: its manifest and its append-only results.

    ``results_name`` and ``record_type`` say which file of lines and which record it holds, so
    another kind of run (orchestration's calls) shares this one writer and its torn-tail repair.
    """

    results_name = "results.jsonl"
    record_type: type[BaseModel] = ResultRecord

    def __init__(self, path: Path):
        self.path = path
        self.manifest_path = path / "manifest.json"
        self.results_path = path / self.results_name
        self._lock = threading.Lock()
        self._fh = None

    @classmethod
    def create(cls, parent: Path, run_id: str) -> RunFolder:
        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        parent.mkdir(parents=True, exist_ok=True)
        path = parent / run_id
        path.mkdir()
        _fsync_dir(parent)
        return cls(path)

    @classmethod
    def open_existing(cls, parent: Path, run_id: str) -> RunFolder:
        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        path = parent / run_id
        if not (path / "manifest.json").is_file():
            raise RunError(f"no run {run_id!r} under {parent}")
        if is_review_folder(path):
            raise RunError(f"{run_id!r} is a human-review folder, not a run of requests")
        return cls(path)

    # -- manifest
    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write_text(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> Manifest:
        return Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))

    # -- results
    def repair_and_read(self) -> list[Any]:
        """Read every complete line; cut a torn tail so appends start on a clean line."""
        if not self.results_path.exists():
            return []
        raw = self.results_path.read_bytes()
        records: list[Any] = []
        good_end = 0
        pos = 0
        seen: set[str] = set()
        while pos < len(raw):
            nl = raw.find(b"\n", pos)
            if nl == -1:
                break  # torn tail: no newline, the write never finished
            line = raw[pos:nl]
            try:
                rec = self.record_type.model_validate_json(line)
            except ValueError:
                break  # a damaged line: keep what came before it
            if rec.key not in seen:
                seen.add(rec.key)
                records.append(rec)
            pos = nl + 1
            good_end = pos
        if good_end < len(raw):
            with self.results_path.open("r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return records

    def append(self, record: BaseModel) -> None:
        line = record.model_dump_json() + "\n"
        with self._lock:
            if self._fh is None:
                self._fh = self.results_path.open("a", encoding="utf-8")
            self._fh.write(line)
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class OrchestrationFolder(RunFolder):
    """An orchestration run's folder: its manifest and its append-only ``calls.jsonl``."""

    results_name = "calls.jsonl"
    record_type = OrchestrationCall

    @classmethod
    def open_existing(cls, parent: Path, run_id: str) -> OrchestrationFolder:
        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        path = parent / run_id
        if folder_origin(path) != ORCHESTRATION_ORIGIN:
            raise RunError(f"no orchestration run {run_id!r} under {parent}")
        return cls(path)

    def write_manifest(self, manifest: OrchestrationManifest) -> None:  # type: ignore[override]
        atomic_write_text(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> OrchestrationManifest:  # type: ignore[override]
        return OrchestrationManifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))


def is_review_folder(path: Path) -> bool:
    """True for a folder written by ``opsbench review add``: grades of other runs' results, no results.

    Told by the manifest's ``origin``, not by a missing ``results.jsonl``: a run that has just
    started, and an ingested aggregate-only run, have none either. A manifest that cannot be read
    is not a review folder, so the results reader reports it as the bad manifest it is.
    """
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("origin") == REVIEW_ORIGIN


def _folders(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir() if p.is_dir() and (p / "manifest.json").is_file())


# Origins of folders that hold no results of requests (prompt mining writes aggregates only;
# orchestration writes pipeline calls, records.OrchestrationCall).
MINING_ORIGIN = "prompt-mining"


def folder_origin(path: Path) -> str | None:
    """The ``origin`` a folder's manifest states (None when it cannot be read)."""
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("origin") if isinstance(data, dict) else None


def list_run_folders(runs_dir: Path) -> list[Path]:
    """Folders of runs of requests (executed or ingested); human-review, prompt-mining and
    orchestration folders are left out."""
    return [
        p
        for p in _folders(runs_dir)
        if not is_review_folder(p) and folder_origin(p) not in (MINING_ORIGIN, ORCHESTRATION_ORIGIN)
    ]


def list_orchestration_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench orchestrate``, oldest id first."""
    return [p for p in _folders(runs_dir) if folder_origin(p) == ORCHESTRATION_ORIGIN]


def list_mining_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench mine``, oldest id first."""
    return [p for p in _folders(runs_dir) if folder_origin(p) == MINING_ORIGIN]


def list_review_folders(runs_dir: Path) -> list[Path]:
    """Folders written by ``opsbench review add``, oldest id first."""
    return [p for p in _folders(runs_dir) if is_review_folder(p)]


def _read_manifest(path: Path) -> Manifest:
    if is_review_folder(path):
        raise InputError(
            [Problem(str(path / "manifest.json"), None, "a human-review folder holds grades, not results")]
        )
    try:
        return Manifest.model_validate_json((path / "manifest.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError([Problem(str(path / "manifest.json"), None, f"bad manifest: {exc}")]) from None


def load_run(path: Path) -> tuple[Manifest, list[dict]]:
    """A run's manifest and its result lines as plain dicts (torn tail ignored, not repaired).

    A damaged line ends the read; a repeated ``key`` is read once. For big runs,
    ``load_run_table`` reads the same lines into Arrow without making a dict per line.
    """
    manifest = _read_manifest(path)
    rows: list[dict] = []
    results = path / "results.jsonl"
    if results.exists():
        seen: set[str] = set()
        with results.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    break
                if row.get("key") in seen:
                    continue
                seen.add(row.get("key"))
                rows.append(row)
    return manifest, rows


def _complete_length(file: Path) -> int:
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

    Only ``schema``'s fields are read (it must hold ``key``); ``transform`` maps each parsed
    batch to a smaller one that keeps ``key``, so a whole run never sits in memory as parsed.
    Same rules as ``load_run``: a last line without a newline is ignored, a repeated ``key``
    is read once (the first). A file that Arrow cannot read exactly as ``load_run`` would (a
    damaged or blank line, a value of the wrong type) raises ``pyarrow.ArrowException``:
    read it with ``load_run`` instead.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    manifest = _read_manifest(path)
    out_schema = None
    batches = []
    results = path / "results.jsonl"
    end = _complete_length(results) if results.exists() else 0
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


# --- ingested runs: aggregates and serving measurements (written by generator/ingest) ---

from generator.execute.records import PerfRecord, SummaryRecord  # noqa: E402


def _load_records(path: Path, name: str, model: type, ident: Callable[[Any], Any] | None = None) -> list:
    """Every complete, valid line of ``path/name`` as ``model``; a torn or damaged tail ends the read.

    A line whose ``ident`` (default: its ``key``) was seen before is read once.
    """
    file = path / name
    if not file.exists():
        return []
    ident = ident or (lambda rec: rec.key)
    records = []
    seen: set[Any] = set()
    with file.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break
            try:
                rec = model.model_validate_json(line)
            except ValueError:
                break
            if ident(rec) in seen:
                continue
            seen.add(ident(rec))
            records.append(rec)
    return records


def load_summaries(path: Path) -> list[SummaryRecord]:
    """A run's ``summaries.jsonl`` (aggregates from Aider, lm-eval, inspect); [] if it has none."""
    return _load_records(path, "summaries.jsonl", SummaryRecord)


def load_perf(path: Path) -> list[PerfRecord]:
    """A run's ``perf.jsonl`` (llama-bench, vLLM, GuideLLM measurements); [] if it has none."""
    return _load_records(path, "perf.jsonl", PerfRecord)


# --- human-review folders (written by generator/review) ---

REVIEWS_FILE = "reviews.jsonl"


def load_review_folder(path: Path) -> tuple[ReviewManifest, list[ReviewRecord]]:
    """A review folder's manifest and its grades (one per item and reviewer)."""
    try:
        manifest = ReviewManifest.model_validate_json((path / "manifest.json").read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError([Problem(str(path / "manifest.json"), None, f"bad review manifest: {exc}")]) from None
    records = _load_records(path, REVIEWS_FILE, ReviewRecord, ident=lambda r: (r.item_id, r.reviewer))
    return manifest, records

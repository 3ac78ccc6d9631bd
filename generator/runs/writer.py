"""The one writer of run folders, for ``opsbench run``, ``ingest``, ``review add`` and ``mine``.

Two ways in, one set of rules:

- :class:`RunFolder` grows a run as it executes. ``results.jsonl`` is append-only: one line
  per finished request, flushed and fsynced before the next is counted, so killing the
  process at any moment loses at most the requests in flight. A torn last line (the process
  died mid-write) is cut off on resume, by the reader's rule; a key already present is never
  written twice.
- :func:`write_complete_folder` writes a whole folder in one step (ingest, reviews, mining):
  built beside the target and renamed into place, so ``runs/`` never holds half a folder.

A finished or ingested run also gets its columnar side-car (``generator.runs.sidecar``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.errors import RunError
from generator.runs.reader import is_review_folder, read_manifest, read_results
from generator.runs.records import (
    MANIFEST_FILE,
    PERF_FILE,
    RESULTS_FILE,
    RUN_ID_RE,
    SUMMARIES_FILE,
    Manifest,
    PerfRecord,
    ResultRecord,
    SummaryRecord,
)


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
    fsync_dir(path.parent)


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
        atomic_write_text(tmp / MANIFEST_FILE, manifest_text)
        fsync_dir(tmp)
        os.rename(tmp, target)
        fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (a crash cannot undo it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class RunFolder:
    """A run's folder: its manifest and its append-only results."""

    def __init__(self, path: Path):
        self.path = path
        self.manifest_path = path / MANIFEST_FILE
        self.results_path = path / RESULTS_FILE
        self._lock = threading.Lock()
        self._fh = None

    @classmethod
    def create(cls, parent: Path, run_id: str) -> RunFolder:
        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        parent.mkdir(parents=True, exist_ok=True)
        path = parent / run_id
        path.mkdir()
        fsync_dir(parent)
        return cls(path)

    @classmethod
    def open_existing(cls, parent: Path, run_id: str) -> RunFolder:
        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        path = parent / run_id
        if not (path / MANIFEST_FILE).is_file():
            raise RunError(f"no run {run_id!r} under {parent}")
        if is_review_folder(path):
            raise RunError(f"{run_id!r} is a human-review folder, not a run of requests")
        return cls(path)

    # -- manifest
    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write_text(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> Manifest:
        return read_manifest(self.path)

    def finish(self, manifest: Manifest) -> None:
        """Write the final manifest (complete or interrupted), then the side-car the store reads
        instead of the JSONL; a resume that appends more makes it stale, and ``finish`` rewrites it."""
        from generator.runs.sidecar import write_sidecar

        self.write_manifest(manifest)
        write_sidecar(self.path)

    # -- results
    def repair_and_read(self) -> list[ResultRecord]:
        """Read every complete line (the reader's rules); cut a torn or damaged tail so appends
        start on a clean line."""
        read = read_results(self.results_path, self.path.name)
        if read.good_end < read.size:
            with self.results_path.open("r+b") as fh:
                fh.truncate(read.good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return read.records

    def append(self, record: Any) -> None:
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
    """An orchestration run's folder: its manifest and its append-only ``calls.jsonl`` (the same
    writer, fsync and torn-tail repair as a run of requests; no side-car)."""

    results_name = "calls.jsonl"

    def __init__(self, path: Path):
        super().__init__(path)
        self.results_path = path / self.results_name

    @classmethod
    def open_existing(cls, parent: Path, run_id: str) -> OrchestrationFolder:
        from generator.runs.reader import is_orchestration_folder

        if not RUN_ID_RE.fullmatch(run_id):
            raise RunError(f"unsafe run id {run_id!r}")
        path = parent / run_id
        if not is_orchestration_folder(path):
            raise RunError(f"no orchestration run {run_id!r} under {parent}")
        return cls(path)

    def write_manifest(self, manifest: Any) -> None:  # an OrchestrationManifest
        atomic_write_text(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")

    def read_manifest(self) -> Any:
        from generator.runs.records import OrchestrationManifest

        return OrchestrationManifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))

    def finish(self, manifest: Any) -> None:
        self.write_manifest(manifest)

    def repair_and_read(self) -> list[Any]:
        from generator.runs.reader import read_calls

        read = read_calls(self.results_path, self.path.name)
        if read.good_end < read.size:
            with self.results_path.open("r+b") as fh:
                fh.truncate(read.good_end)
                fh.flush()
                os.fsync(fh.fileno())
        return read.records


def _jsonl(records: list[Any]) -> str:
    return "".join(r.model_dump_json() + "\n" for r in records)


def write_run_folder(
    out_dir: Path,
    manifest: Manifest,
    results: list[ResultRecord],
    summaries: list[SummaryRecord],
    perf: list[PerfRecord],
) -> Path:
    """Write a complete run folder (an ingested run) in one step, then its side-car.

    Refuses to replace an existing folder; ``out_dir`` never holds half a run.
    """
    files = {RESULTS_FILE: _jsonl(results), SUMMARIES_FILE: _jsonl(summaries), PERF_FILE: _jsonl(perf)}
    path = write_complete_folder(out_dir, manifest.run_id, files, manifest.model_dump_json(indent=2) + "\n")
    if results:
        from generator.runs.sidecar import write_sidecar

        write_sidecar(path)
    return path

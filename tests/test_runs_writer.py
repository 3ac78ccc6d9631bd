"""generator.runs.writer: one writer for executed, ingested, review and mining folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import RunError
from generator.runs.reader import load_run
from generator.runs.records import SIDECAR_FILE
from generator.runs.writer import RunFolder, atomic_write_new, write_complete_folder, write_run_folder
from tests.synth import plain_manifest, plain_result, write_plain_run

RUN = "20260101-000000-s-aaaaaa"


def test_resume_cuts_a_damaged_tail_and_appends_on_a_clean_line(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 2)
    results = path / "results.jsonl"
    good = results.read_bytes()
    results.write_bytes(good + b"garbage\n" + b'{"run_id"')
    folder = RunFolder(path)
    assert [r.repeat for r in folder.repair_and_read()] == [1, 2]
    assert results.read_bytes() == good
    folder.append(plain_result(RUN, 3))
    folder.close()
    assert [r["repeat"] for r in load_run(path)[1]] == [1, 2, 3]


def test_unsafe_ids_and_existing_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="unsafe run id"):
        RunFolder.create(tmp_path, "../escape")
    write_complete_folder(tmp_path, RUN, {"a.jsonl": "x\n"}, "{}")
    with pytest.raises(RunError, match="already exists"):
        write_complete_folder(tmp_path, RUN, {}, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN]  # no partial folder left behind


def test_atomic_write_new_never_replaces(tmp_path: Path) -> None:
    atomic_write_new(tmp_path / "f", "one")
    with pytest.raises(FileExistsError):
        atomic_write_new(tmp_path / "f", "two")
    assert (tmp_path / "f").read_text() == "one"


def test_an_ingested_folder_is_written_whole_with_its_side_car(tmp_path: Path) -> None:
    manifest = plain_manifest(RUN, 2).model_copy(update={"origin": "ingested"})
    path = write_run_folder(tmp_path, manifest, [plain_result(RUN, 1), plain_result(RUN, 2)], [], [])
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "results.jsonl", SIDECAR_FILE]
    assert len(load_run(path)[1]) == 2


def test_finish_writes_the_manifest_then_the_side_car(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 2, status="running")
    folder = RunFolder(path)
    assert not (path / SIDECAR_FILE).exists()
    folder.finish(plain_manifest(RUN, 2))
    assert folder.read_manifest().status == "complete" and (path / SIDECAR_FILE).is_file()

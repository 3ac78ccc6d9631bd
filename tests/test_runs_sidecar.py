"""generator.runs.sidecar: the Parquet copy is read instead of the JSONL only while it is fresh."""

from __future__ import annotations

import os
from pathlib import Path

from generator.runs.frames import FLAT_SCHEMA
from generator.runs.reader import read_manifest
from generator.runs.records import SIDECAR_FILE
from generator.runs.sidecar import ensure_sidecars, read_sidecar, write_sidecar
from generator.runs.writer import RunFolder
from tests.synth import plain_manifest, plain_result, write_plain_run

RUN = "20260101-000000-s-aaaaaa"


def test_a_side_car_holds_the_flat_columns_compressed(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 3)
    write_sidecar(path)
    table = read_sidecar(path, read_manifest(path), 1000)
    assert table is not None and table.num_rows == 3
    assert table.column_names == [f.name for f in FLAT_SCHEMA if f.name != "key"]
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path / SIDECAR_FILE).metadata.row_group(0).column(0).compression == "ZSTD"


def test_outputs_are_cut_to_what_is_asked(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 1)
    write_sidecar(path)
    table = read_sidecar(path, read_manifest(path), 3)
    assert table is not None and table.column("output").to_pylist() == ["ans"]
    assert read_sidecar(path, read_manifest(path), None) is None  # whole outputs: only the JSONL has them


def test_a_resumed_run_makes_its_side_car_stale(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 2)
    write_sidecar(path)
    folder = RunFolder(path)
    folder.append(plain_result(RUN, 3))
    folder.close()
    assert read_sidecar(path, read_manifest(path), 10) is None


def test_a_replaced_jsonl_of_the_same_size_is_noticed_by_its_time(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path, RUN, 2)
    write_sidecar(path)
    st = (path / "results.jsonl").stat()
    os.utime(path / "results.jsonl", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert read_sidecar(path, read_manifest(path), 10) is None


def test_ensure_skips_running_runs_and_fresh_side_cars(tmp_path: Path) -> None:
    done = write_plain_run(tmp_path, RUN, 2)
    running = write_plain_run(tmp_path, "20260101-000001-s-bbbbbb", 2, status="running")
    assert ensure_sidecars([done, running]) == [done / SIDECAR_FILE]
    assert ensure_sidecars([done, running]) == []


def test_case_page_outputs_come_from_the_side_car_unless_longer_than_it_keeps(tmp_path: Path) -> None:
    from generator.runs.frames import OUTPUT_KEEP_CHARS
    from generator.runs.records import ResultRecord
    from generator.runs.sidecar import sidecar_outputs
    from generator.site.build import read_case_outputs

    long_text = "word " * (OUTPUT_KEEP_CHARS // 2)  # longer than the side-car keeps
    folder = RunFolder.create(tmp_path, RUN)
    folder.write_manifest(plain_manifest(RUN, 3, "complete"))
    folder.append(plain_result(RUN, 1, output="short answer"))
    folder.append(plain_result(RUN, 2, output=long_text))
    failed = plain_result(RUN, 3).model_copy(update={"output": None, "status": "failed", "failure_kind": "timeout"})
    folder.append(failed)
    folder.close()
    keys = {ResultRecord.make_key("m", "c", r, 1) for r in (1, 2, 3)}
    latest = {(RUN, k) for k in keys}
    from_jsonl = read_case_outputs(tmp_path, latest)  # no side-car yet: every output from the JSONL
    write_sidecar(folder.path)
    found, rest = sidecar_outputs(folder.path, read_manifest(folder.path), keys)
    # The short output whole; no output for the hard failure; the long one is left to the JSONL.
    assert found == {ResultRecord.make_key("m", "c", 1, 1): "short answer"}
    assert rest == {ResultRecord.make_key("m", "c", 2, 1)}
    assert read_case_outputs(tmp_path, latest) == from_jsonl
    assert from_jsonl[(RUN, ResultRecord.make_key("m", "c", 2, 1))] == long_text

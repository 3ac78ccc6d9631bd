"""generator.runs.sidecar: the Parquet copy is read instead of the JSONL only while it is fresh."""

from __future__ import annotations

import os
from pathlib import Path

from generator.runs.frames import FLAT_SCHEMA
from generator.runs.reader import read_manifest
from generator.runs.records import SIDECAR_FILE
from generator.runs.sidecar import ensure_sidecars, read_sidecar, write_sidecar
from generator.runs.writer import RunFolder
from tests.synth import plain_result, write_plain_run

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

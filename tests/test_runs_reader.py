"""generator.runs.reader: one torn-tail rule, one duplicate rule, the folder name is the run id."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from generator.errors import InputError
from generator.runs.frames import RESULT_FIELDS
from generator.runs.reader import (
    load_perf,
    load_run,
    load_run_table,
    load_summaries,
    read_jsonl,
    read_manifest,
)
from generator.runs.records import PerfRecord, SummaryRecord
from tests.synth import write_plain_run

RUN = "20260101-000000-s-aaaaaa"


def test_torn_damaged_and_repeated_lines_follow_one_rule(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    file.write_bytes(b'{"key": 1}\n{"key": 1}\n{"key": 2}\nnot json\n{"key": 3}\n{"key": 4')
    read = read_jsonl(file, json.loads, lambda r: r["key"])
    assert read.records == [{"key": 1}, {"key": 2}]
    assert read.good_end == len(b'{"key": 1}\n{"key": 1}\n{"key": 2}\n')


def test_a_missing_file_reads_as_empty(tmp_path: Path) -> None:
    assert read_jsonl(tmp_path / "none.jsonl", json.loads, lambda r: r).records == []


def test_every_aggregate_file_reads_by_the_same_rule(tmp_path: Path) -> None:
    folder = tmp_path / RUN
    folder.mkdir()
    s = SummaryRecord(
        run_id=RUN, key="k", model_id="m", external=True, source_model="m", suite="s", task="t", metric="a"
    )
    p = PerfRecord(run_id=RUN, key="p", model_id="m")
    (folder / "summaries.jsonl").write_text(s.model_dump_json() + "\n" + s.model_dump_json() + "\n{torn")
    (folder / "perf.jsonl").write_text(p.model_dump_json() + "\n" + p.model_dump_json()[:10])
    assert load_summaries(folder) == [s]
    assert load_perf(folder) == [p]


def test_a_renamed_folder_is_a_load_error_naming_the_manifest(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path / "runs", RUN, 2)
    renamed = path.rename(path.with_name("20260101-000000-s-renamed"))
    with pytest.raises(InputError) as exc:
        read_manifest(renamed)
    assert str(exc.value.problems[0]).startswith(f"{renamed / 'manifest.json'}: run_id '{RUN}'")


def test_a_line_of_another_run_is_a_load_error_with_its_line(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path / "runs", RUN, 3)
    results = path / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace(RUN, "20260101-000000-s-bbbbbb")
    results.write_text("".join(lines))
    with pytest.raises(InputError) as exc:
        load_run(path)
    assert exc.value.problems[0].line == 2 and exc.value.problems[0].path == str(results)
    with pytest.raises(pa.ArrowException):  # the fast path defers to load_run, which names the line
        load_run_table(path, RESULT_FIELDS)


def test_the_arrow_path_reads_what_load_run_reads(tmp_path: Path) -> None:
    path = write_plain_run(tmp_path / "runs", RUN, 4)
    results = path / "results.jsonl"
    first = results.read_text().splitlines(keepends=True)[0]
    results.write_text(results.read_text() + first + '{"run_id": "torn')
    _, rows = load_run(path)
    _, table = load_run_table(path, RESULT_FIELDS)
    assert table.column("key").to_pylist() == [r["key"] for r in rows] == [f"m|c|{i}|1" for i in range(1, 5)]

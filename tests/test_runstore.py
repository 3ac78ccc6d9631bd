"""Run folders: a torn tail is cut, duplicates never read twice."""

from __future__ import annotations

from pathlib import Path

from generator.runs.reader import load_run
from generator.runs.writer import RunFolder
from tests.synth import write_run


def test_torn_tail_is_repaired(registry_copy: Path, tmp_path: Path) -> None:
    from generator.registry.loader import load_registry

    reg = load_registry(registry_copy)
    case_ids = [c.id for c in reg.suites["smoke"].cases][:3]
    path = write_run(
        reg, tmp_path / "runs", "20260101-000000-smoke-aaaaaa", "smoke", {("m", c): "text" for c in case_ids}
    )
    results = path / "results.jsonl"
    good = results.read_bytes()
    results.write_bytes(good + b'{"schema_version": 1, "run_id": "torn')
    folder = RunFolder(path)
    recs = folder.repair_and_read()
    assert [r.case_id for r in recs] == case_ids
    assert results.read_bytes() == good  # the torn line is gone, the rest intact


def test_duplicate_lines_read_once(registry_copy: Path, tmp_path: Path) -> None:
    from generator.registry.loader import load_registry

    reg = load_registry(registry_copy)
    cid = reg.suites["smoke"].cases[0].id
    path = write_run(reg, tmp_path / "runs", "20260101-000000-smoke-bbbbbb", "smoke", {("m", cid): "x"})
    results = path / "results.jsonl"
    results.write_bytes(results.read_bytes() * 2)
    _, rows = load_run(path)
    assert len(rows) == 1
    assert len(RunFolder(path).repair_and_read()) == 1

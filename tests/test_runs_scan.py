"""generator.runs.scan: one scan of runs/, the same frame from side-cars as from the JSONL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from generator.errors import InputError
from generator.runs.scan import list_run_folders, load_aggregates, load_perf_records, load_results, scan_runs
from generator.runs.sidecar import ensure_sidecars
from generator.runs.writer import write_complete_folder
from tests.synth import write_plain_run


def test_the_frame_from_side_cars_equals_the_frame_from_jsonl(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_plain_run(runs, "20260101-000000-s-aaaaaa", 3)
    write_plain_run(runs, "20260101-000001-s-bbbbbb", 2)
    plain = tmp_path / "plain"
    shutil.copytree(runs, plain)
    assert len(ensure_sidecars(list_run_folders(runs))) == 2
    for chars in (1000, 4):
        pd.testing.assert_frame_equal(load_results(runs, chars)[0], load_results(plain, chars)[0])


def test_review_and_mining_folders_are_not_runs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = write_plain_run(runs, "20260101-000000-s-aaaaaa", 1)
    write_complete_folder(runs, "20260101-000001-review-w-cccccc", {}, '{"origin": "human-review"}')
    write_complete_folder(runs, "20260101-000002-mine-dddddd", {}, '{"origin": "prompt-mining"}')
    assert list_run_folders(runs) == [run]


def test_one_scan_returns_manifests_results_and_aggregates(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_plain_run(runs, "20260101-000000-s-aaaaaa", 2)
    store = scan_runs(runs)
    assert [m.run_id for m in store.manifests] == ["20260101-000000-s-aaaaaa"]
    assert len(store.results) == 2 and store.summaries.empty and store.perf.empty and store.perf_records == {}


def test_a_run_folder_without_its_manifest_is_a_load_error(tmp_path: Path) -> None:
    """A folder the manifests do not cover (it appeared after load_results, or the manifests are
    another store's) is reported by path, not left out of the aggregates without a word."""
    runs = tmp_path / "runs"
    write_plain_run(runs, "20260101-000000-s-aaaaaa", 1)
    _, manifests = load_results(runs)
    late = write_plain_run(runs, "20260101-000001-s-bbbbbb", 1)
    with pytest.raises(InputError, match="run folder not among the manifests of this scan") as err:
        load_aggregates(runs, manifests)
    assert [p.path for p in err.value.problems] == [str(late / "manifest.json")]
    summaries, perf = load_aggregates(runs, load_results(runs)[1])
    assert summaries.empty and perf.empty
    with pytest.raises(InputError, match="not among the manifests"):  # the perf records' loader too
        load_perf_records(runs, manifests)
    assert load_perf_records(runs, load_results(runs)[1]) == {}

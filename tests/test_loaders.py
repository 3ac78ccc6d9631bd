"""The fast loading path (Arrow) gives exactly the frame the per-row definition gives.

A small synthetic run with a duplicate key and a torn tail is read by ``load_results``
and compared, column by column, with ``frames._flatten`` applied to ``load_run``'s dicts;
a few values are pinned literally so the reference itself cannot drift.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from generator.registry.loader import load_registry
from generator.runs.frames import COLUMNS, OUTPUT_KEEP_CHARS, _flatten, results_frame
from generator.runs.reader import load_run
from generator.runs.scan import list_run_folders, load_results
from tests.synth import write_run

LONG = "def add(a, b):\n    return a + b\n" + "# é padding\n" * 400

SMOKE = {
    ("m1", "smoke-extract-case-id"): '{"case_id": "84291"}',
    ("m1", "smoke-draft-update-note"): "We guarantee it will be completed within five business days.",
    ("m1", "smoke-review-done-claim"): None,  # hard failure
    ("m2", "smoke-extract-case-id"): "Case 84291",
    ("m2", "smoke-classify-attorney-note"): "escalate",
    ("m2", "smoke-coder-add-function"): LONG,
}


@pytest.fixture
def runs(registry_copy: Path, tmp_path: Path) -> Path:
    reg = load_registry(registry_copy)
    runs_dir = tmp_path / "runs"
    smoke = write_run(reg, runs_dir, "20260101-000000-smoke-aaaaaa", "smoke", SMOKE)
    write_run(
        reg,
        runs_dir,
        "20260102-000000-claims_ops-bbbbbb",
        "claims_ops",
        {("m1", "clm-sum-water-leak-missing-estimate"): "Summary: a leak. Missing Documents: none."},
        created_at="2026-01-02T00:00:00Z",
        latency=2.5,
    )
    results = smoke / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    first = json.loads(lines[0])
    dup = {**first, "output": "a later line with the same key", "status": "failed"}
    torn = {**first, "key": "m9|smoke-extract-case-id|1|1", "model_id": "m9"}
    # A repeated key (read once: the first wins) and a complete record with no newline (torn).
    results.write_bytes(b"".join(lines) + json.dumps(dup).encode() + b"\n" + json.dumps(torn).encode())
    return runs_dir


def reference(runs_dir: Path) -> pd.DataFrame:
    """The per-row definition over load_run's dicts (the format's semantics)."""
    flat = []
    for folder in list_run_folders(runs_dir):
        manifest, rows = load_run(folder)
        flat += [_flatten(r, manifest.origin) for r in rows]
    df = pd.DataFrame(flat, columns=COLUMNS)
    for col in (
        "ttft_s",
        "e2e_s",
        "tpot_s",
        "itl_mean_s",
        "output_tps",
        "prompt_tokens",
        "completion_tokens",
        "output_chars",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["output"] = df["output"].map(lambda t: t[:OUTPUT_KEEP_CHARS] if isinstance(t, str) else t)
    # One deliberate difference: a string column is always `str` (missing = NaN), even when
    # no row has a value; pandas infers object (None) for such a column built from dicts.
    for col in df.columns:
        if df[col].dtype == object and df[col].isna().all():
            df[col] = df[col].astype("str")
    return df


def test_fast_path_matches_per_row_definition(runs: Path) -> None:
    df, manifests = load_results(runs)
    assert list(df.columns) == COLUMNS
    assert [m.run_id for m in manifests] == [
        "20260101-000000-smoke-aaaaaa",
        "20260102-000000-claims_ops-bbbbbb",
    ]
    pd.testing.assert_frame_equal(df, reference(runs), check_dtype=False)
    assert {c: str(t) for c, t in df.dtypes.items() if str(t) != "str"} == {
        "repeat": "int64",
        "concurrency": "int64",
        "cold_start": "bool",
        "accepted": "bool",
        "weight": "float64",
        "score": "float64",
        "review_pain": "float64",
        "judge_mean": "float64",
        "ttft_s": "float64",
        "e2e_s": "float64",
        "tpot_s": "float64",
        "itl_mean_s": "float64",
        "output_tps": "float64",
        "prompt_tokens": "int64",
        "completion_tokens": "int64",
        "output_chars": "float64",  # null without an output (a hard failure)
        "policy_violation": "bool",
        "unsupported_claim": "bool",
        "json_checked": "bool",
        "json_valid": "bool",
    }


def test_pinned_values(runs: Path) -> None:
    df, _ = load_results(runs)
    assert len(df) == 7  # 6 + 1: the duplicate and the torn tail are not read
    assert "m9" not in set(df["model_id"])
    by = df.set_index(["model_id", "case_id"])
    first = by.loc[("m1", "smoke-extract-case-id")]
    assert (first.status, first.output, first.accepted) == ("ok", '{"case_id": "84291"}', True)
    assert (first.json_checked, first.json_valid, first.failure_summary) == (True, True, "")
    assert first.cold_start and not by.loc[("m1", "smoke-draft-update-note")].cold_start

    promise = by.loc[("m1", "smoke-draft-update-note")]
    assert promise.policy_violation and not promise.accepted and not promise.json_checked
    assert promise.failure_summary == "banned_phrases-1: banned phrase present: 'will be completed'"

    hard = by.loc[("m1", "smoke-review-done-claim")]
    assert (hard.status, hard.failure_kind, hard.failure_summary) == (
        "failed",
        "timeout",
        "hard failure: timeout",
    )
    assert not hard.policy_violation  # checks were not run: a hard failure is its own metric
    assert pd.isna(hard.output)

    prose = by.loc[("m2", "smoke-extract-case-id")]
    assert (prose.json_checked, prose.json_valid) == (True, False)
    assert prose.failure_summary.startswith("json_valid-1: not JSON: Expecting value at line 1 column 1; ")

    label = by.loc[("m2", "smoke-classify-attorney-note")]
    assert (label.expected_label, label.predicted_label, label.accepted) == ("escalate", "escalate", True)

    code = by.loc[("m2", "smoke-coder-add-function")]
    assert code.output == LONG[:OUTPUT_KEEP_CHARS]

    summary = by.loc[("m1", "clm-sum-water-leak-missing-estimate")]
    assert summary.unsupported_claim and not summary.policy_violation
    assert (summary.origin, summary.e2e_s, summary.prompt_tokens, summary.weight) == (
        "executed",
        2.5,
        10,
        3.0,
    )


def test_results_frame_from_dicts_is_the_same_frame(runs: Path) -> None:
    df, _ = load_results(runs)
    rows = [(m.origin, r) for m, r in (load_run(f) for f in list_run_folders(runs))]
    pd.testing.assert_frame_equal(results_frame(rows), df)


@pytest.mark.parametrize("damage", [b"{not json\n", b"\n", b"   \n", b'{"key": "a"} {"key": "b"}\n'])
def test_a_damaged_line_ends_the_read_as_load_run_does(runs: Path, damage: bytes) -> None:
    results = runs / "20260101-000000-smoke-aaaaaa" / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join([*lines[:2], damage, *lines[2:]]))
    df, _ = load_results(runs)
    assert len(df) == 3  # two lines of the smoke run, then the claims_ops run
    pd.testing.assert_frame_equal(df, reference(runs), check_dtype=False)


def test_values_of_another_type_fall_back_to_the_row_by_row_path(runs: Path) -> None:
    results = runs / "20260102-000000-claims_ops-bbbbbb" / "results.jsonl"
    row = json.loads(results.read_text())
    results.write_text(json.dumps({**row, "repeat": "first"}) + "\n")
    df, _ = load_results(runs)
    assert len(df) == 7
    assert df["repeat"].tolist()[-1] == "first"


def test_empty_runs_folder(tmp_path: Path) -> None:
    df, manifests = load_results(tmp_path / "no-runs")
    assert df.empty and manifests == [] and list(df.columns) == COLUMNS


def test_frame_keeps_more_than_the_pages_show(registry_copy: Path) -> None:
    """Pages cut outputs at output_excerpt_chars and mark the cut: the frame must keep more."""
    assert load_registry(registry_copy).policy.scoring.output_excerpt_chars < OUTPUT_KEEP_CHARS


def test_duplicates_across_parse_blocks_are_read_once(runs: Path) -> None:
    """Small parse blocks: the repeated key lands in another Arrow batch than its first line."""
    from generator.runs.frames import RESULT_FIELDS
    from generator.runs.reader import load_run_table

    folder = runs / "20260101-000000-smoke-aaaaaa"
    longest = max(len(line) for line in (folder / "results.jsonl").read_bytes().splitlines())
    batches: list[int] = []

    def count(batch: pa.RecordBatch, _m: object) -> pa.RecordBatch:
        batches.append(batch.num_rows)
        return batch

    _, small = load_run_table(folder, RESULT_FIELDS, transform=count, block_size=longest + 1)
    _, whole = load_run_table(folder, RESULT_FIELDS)
    assert len(batches) > 1 and sum(batches) == 7  # 6 lines + the duplicate, across batches
    assert small.combine_chunks().equals(whole.combine_chunks())
    _, rows = load_run(folder)
    assert small.column("key").to_pylist() == [r["key"] for r in rows]
    assert small.column("output").to_pylist()[0] == rows[0]["output"]  # the first of the two wins

"""Flatten run records into one pandas frame. Pure: takes rows or Arrow batches, returns a frame.

One vectorised flattening serves both inputs: ``results_frame`` (plain dict rows, as
``load_run`` returns them) and ``flat_batch`` (Arrow batches parsed straight from
``results.jsonl`` by ``generator.runs.scan``, so a million results never become a
million Python dicts). ``failure_summary`` and ``_flatten`` are the per-row
definitions the vectorised code must match; ``tests/test_loaders.py`` holds them to it.

The frame keeps at most ``OUTPUT_KEEP_CHARS`` characters of each output: it is not
an archive of outputs (``runs/`` is), and pages show only
``policy.scoring.output_excerpt_chars`` of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = [
    "run_id",
    "origin",
    "model_id",
    "suite",
    "case_id",
    "role",
    "workload",
    "severity",
    "repeat",
    "concurrency",
    "cold_start",
    "status",
    "failure_kind",
    "accepted",
    "weight",
    "score",
    "review_pain",
    "ttft_s",
    "e2e_s",
    "tpot_s",
    "itl_mean_s",
    "output_tps",
    "prompt_tokens",
    "completion_tokens",
    "policy_violation",
    "unsupported_claim",
    "json_checked",
    "json_valid",
    "expected_label",
    "predicted_label",
    "started_at",
    "failure_summary",
    "output",
    "output_chars",
    "judge_mean",
    "failed_checks",
]

# An output longer than this is cut in the frame (one more than a page excerpt is enough to
# show that the text went on). Must stay above policy.scoring.output_excerpt_chars.
OUTPUT_KEEP_CHARS = 1000

_TIMING = ["ttft_s", "e2e_s", "tpot_s", "itl_mean_s", "output_tps"]
_USAGE = ["prompt_tokens", "completion_tokens"]
_NUMERIC = [*_TIMING, *_USAGE, "judge_mean", "output_chars"]  # coerced on the row-by-row path
_STRINGS = [
    "run_id",
    "model_id",
    "suite",
    "case_id",
    "role",
    "workload",
    "severity",
    "status",
    "failure_kind",
    "started_at",
    "output",
    "failed_checks",
]

# The fields of ResultRecord (generator/runs/records.py) the frame reads; the rest of a
# line (attempts, server_timings, judge, error, ...) is skipped by the parser.
RESULT_FIELDS = pa.schema(
    [
        ("key", pa.string()),
        *[(name, pa.string()) for name in _STRINGS if name not in ("output", "failed_checks")],
        ("repeat", pa.int64()),
        ("concurrency", pa.int64()),
        ("cold_start", pa.bool_()),
        ("timing", pa.struct([(name, pa.float64()) for name in _TIMING])),
        ("usage", pa.struct([(name, pa.int64()) for name in _USAGE])),
        ("output", pa.string()),
        ("judge", pa.struct([("mean", pa.float64())])),
        (
            "score",
            pa.struct(
                [
                    ("accepted", pa.bool_()),
                    ("weight", pa.float64()),
                    ("score", pa.float64()),
                    ("review_pain", pa.float64()),
                    (
                        "checks",
                        pa.list_(
                            pa.struct(
                                [
                                    ("id", pa.string()),
                                    ("kind", pa.string()),
                                    ("category", pa.string()),
                                    ("passed", pa.bool_()),
                                    ("detail", pa.string()),
                                ]
                            )
                        ),
                    ),
                    ("expected_label", pa.string()),
                    ("predicted_label", pa.string()),
                ]
            ),
        ),
    ]
)

_BOOLS = ["cold_start", "accepted", "policy_violation", "unsupported_claim", "json_checked", "json_valid"]
_FLOATS = ["weight", "score", "review_pain", "judge_mean", *_TIMING]
_TYPES: dict[str, pa.DataType] = {
    **{c: pa.string() for c in COLUMNS},
    **{c: pa.bool_() for c in _BOOLS},
    **{c: pa.float64() for c in _FLOATS},
    **{c: pa.int64() for c in ("repeat", "concurrency", "output_chars", *_USAGE)},
}
# What flat_batch returns: the frame's columns, then the key (for de-duplication).
FLAT_SCHEMA = pa.schema([*[(c, _TYPES[c]) for c in COLUMNS], ("key", pa.string())])


def failure_summary(row: dict[str, Any]) -> str:
    """Why a result was not accepted, in one short line: the failure kind or the failed checks."""
    if row.get("status") == "failed":
        return f"hard failure: {row.get('failure_kind')}"
    checks = (row.get("score") or {}).get("checks") or []
    failed = [f"{c.get('id')}: {c.get('detail')}" for c in checks if not c.get("passed")]
    return "; ".join(failed)


def failed_checks(row: dict[str, Any]) -> str:
    """The checks an answered request failed, one ``kind:id`` a line (guard rules and escalation
    triggers read it); empty for a hard failure, whose checks were never run."""
    if row.get("status") == "failed":
        return ""
    checks = (row.get("score") or {}).get("checks") or []
    return "\n".join(f"{c.get('kind')}:{c.get('id')}" for c in checks if not c.get("passed"))


def _flatten(row: dict[str, Any], origin: str) -> dict[str, Any]:
    """One row, the slow reference way (and the fallback for rows Arrow cannot type)."""
    score = row.get("score") or {}
    checks = score.get("checks") or []
    timing = row.get("timing") or {}
    usage = row.get("usage") or {}
    hard = row.get("status") == "failed"
    json_checks = [c for c in checks if c.get("kind") in ("json_valid", "json_schema")]
    return {
        "run_id": row.get("run_id"),
        "origin": origin,
        "model_id": row.get("model_id"),
        "suite": row.get("suite"),
        "case_id": row.get("case_id"),
        "role": row.get("role"),
        "workload": row.get("workload"),
        "severity": row.get("severity"),
        "repeat": row.get("repeat"),
        "concurrency": row.get("concurrency"),
        "cold_start": bool(row.get("cold_start")),
        "status": row.get("status"),
        "failure_kind": row.get("failure_kind"),
        "accepted": bool(score.get("accepted")),
        "weight": float(score.get("weight") or 0),
        "score": float(score.get("score") or 0),
        "review_pain": float(score.get("review_pain") or 0),
        "ttft_s": timing.get("ttft_s"),
        "e2e_s": timing.get("e2e_s"),
        "tpot_s": timing.get("tpot_s"),
        "itl_mean_s": timing.get("itl_mean_s"),
        "output_tps": timing.get("output_tps"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        # Safety signals only count on real responses: a hard failure is its own metric.
        "policy_violation": (not hard)
        and any(c.get("category") == "policy_violation" and not c.get("passed") for c in checks),
        "unsupported_claim": (not hard)
        and any(c.get("category") == "unsupported_claim" and not c.get("passed") for c in checks),
        "json_checked": bool(json_checks),
        "json_valid": bool(json_checks) and all(c.get("passed") for c in json_checks),
        "expected_label": score.get("expected_label"),
        "predicted_label": score.get("predicted_label"),
        "started_at": row.get("started_at"),
        "failure_summary": failure_summary(row),
        "output": row.get("output"),
        # The whole output's length: the output itself may be cut (OUTPUT_KEEP_CHARS).
        "output_chars": len(row["output"]) if isinstance(row.get("output"), str) else None,
        "judge_mean": (row.get("judge") or {}).get("mean"),
        "failed_checks": failed_checks(row),
    }


def _any_per_row(n: int, parent: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[parent[mask]] = True
    return out


def flat_batch(batch: pa.RecordBatch, origin: str, output_chars: int | None = OUTPUT_KEEP_CHARS) -> pa.RecordBatch:
    """``_flatten`` for a whole batch of ``RESULT_FIELDS`` at once; columns of ``FLAT_SCHEMA``."""
    n = batch.num_rows
    col = batch.column
    timing, usage, score = col("timing"), col("usage"), col("score")
    hard_arr = pc.fill_null(pc.equal(col("status"), "failed"), False)
    hard = hard_arr.to_numpy(zero_copy_only=False)

    # Per-check outcomes, flattened; parent = the row each check belongs to (ascending).
    lists = pc.struct_field(score, "checks")
    checks = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
    if len(parent) != len(checks):
        raise pa.ArrowInvalid("checks of a null score carry values")  # never from the JSON reader
    # A check whose `passed` is missing counts as failed, as `not c.get("passed")` does.
    failed_arr = pc.invert(pc.fill_null(pc.struct_field(checks, "passed"), False))
    failed = failed_arr.to_numpy(zero_copy_only=False)
    category = pc.struct_field(checks, "category")
    kind = pc.struct_field(checks, "kind")

    def failed_in(cat: str) -> np.ndarray:
        is_cat = pc.fill_null(pc.equal(category, cat), False).to_numpy(zero_copy_only=False)
        return ~hard & _any_per_row(n, parent, failed & is_cat)

    is_json = pc.fill_null(pc.is_in(kind, pa.array(["json_valid", "json_schema"])), False)
    is_json_np = is_json.to_numpy(zero_copy_only=False)
    json_checked = _any_per_row(n, parent, is_json_np)
    json_valid = json_checked & ~_any_per_row(n, parent, is_json_np & failed)

    # failure_summary: "id: detail" of the failed checks joined with "; ", or the hard failure.
    pieces = pc.binary_join_element_wise(
        pc.fill_null(pc.struct_field(checks, "id"), "None"),
        pc.fill_null(pc.struct_field(checks, "detail"), "None"),
        ": ",
    ).filter(failed_arr)
    counts = np.bincount(parent[failed], minlength=n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, pieces), "; ")
    hard_text = pc.binary_join_element_wise(pa.scalar("hard failure: "), pc.fill_null(col("failure_kind"), "None"), "")
    summary = pc.if_else(hard_arr, hard_text, joined)
    # failed_checks: "kind:id" of the failed checks, one a line; empty for a hard failure.
    tags = pc.binary_join_element_wise(
        pc.fill_null(kind, "None"), pc.fill_null(pc.struct_field(checks, "id"), "None"), ":"
    ).filter(failed_arr)
    failed_tags = pc.binary_join(pa.ListArray.from_arrays(offsets, tags), "\n")
    failed_tags = pc.if_else(hard_arr, pa.scalar(""), failed_tags)

    output = col("output")
    output_len = pc.utf8_length(output).cast(pa.int64())
    if output_chars is not None:
        output = pc.utf8_slice_codeunits(output, 0, output_chars)

    def num(parent_arr: pa.Array, name: str, fill: float | None = None) -> pa.Array:
        value = pc.struct_field(parent_arr, name)
        return value if fill is None else pc.fill_null(value, fill).cast(pa.float64())

    columns: dict[str, Any] = {
        "run_id": col("run_id"),
        "origin": pa.array(np.full(n, origin, dtype=object), pa.string()),
        "model_id": col("model_id"),
        "suite": col("suite"),
        "case_id": col("case_id"),
        "role": col("role"),
        "workload": col("workload"),
        "severity": col("severity"),
        "repeat": col("repeat"),
        "concurrency": col("concurrency"),
        "cold_start": pc.fill_null(col("cold_start"), False),
        "status": col("status"),
        "failure_kind": col("failure_kind"),
        "accepted": pc.fill_null(pc.struct_field(score, "accepted"), False),
        "weight": num(score, "weight", 0.0),
        "score": num(score, "score", 0.0),
        "review_pain": num(score, "review_pain", 0.0),
        **{name: num(timing, name) for name in _TIMING},
        **{name: num(usage, name) for name in _USAGE},
        "policy_violation": failed_in("policy_violation"),
        "unsupported_claim": failed_in("unsupported_claim"),
        "json_checked": json_checked,
        "json_valid": json_valid,
        "expected_label": pc.struct_field(score, "expected_label"),
        "predicted_label": pc.struct_field(score, "predicted_label"),
        "started_at": col("started_at"),
        "failure_summary": summary,
        "output": output,
        "output_chars": output_len,
        "judge_mean": pc.struct_field(col("judge"), "mean"),
        "failed_checks": failed_tags,
        "key": col("key"),
    }
    return pa.RecordBatch.from_arrays(
        [
            pa.array(columns[f.name], f.type) if isinstance(columns[f.name], np.ndarray) else columns[f.name]
            for f in FLAT_SCHEMA
        ],
        schema=FLAT_SCHEMA,
    )


def frame_from_flat(parts: list[pa.Table | pd.DataFrame]) -> pd.DataFrame:
    """The pandas frame (``COLUMNS``) from flat Arrow tables (strings stay Arrow-backed, ``str``
    dtype), or from frames that the row-by-row fallback made."""
    tables = [p for p in parts if isinstance(p, pa.Table)]
    if len(tables) < len(parts):
        frames = [p.select(COLUMNS).to_pandas() if isinstance(p, pa.Table) else p[COLUMNS] for p in parts]
        return pd.concat(frames, ignore_index=True)
    table = pa.concat_tables([t.select(COLUMNS) for t in tables or [FLAT_SCHEMA.empty_table()]])
    df = table.to_pandas(split_blocks=True, self_destruct=True)
    for c in COLUMNS:
        if _TYPES[c] == pa.string() and df[c].dtype != "str":  # an empty frame comes back as object
            df[c] = df[c].astype("str")
    return df


def rows_to_flat(
    rows: list[dict[str, Any]], origin: str, output_chars: int | None = OUTPUT_KEEP_CHARS
) -> pa.Table | pd.DataFrame:
    """Dict rows (``load_run``'s) as a flat table; as a frame, row by row, if Arrow cannot type them."""
    try:
        batch = pa.RecordBatch.from_pylist(rows, schema=RESULT_FIELDS)
        return pa.Table.from_batches([flat_batch(batch, origin, output_chars)], schema=FLAT_SCHEMA)
    except (pa.ArrowException, TypeError):
        pass  # values of another type than the record format says
    df = pd.DataFrame([_flatten(r, origin) for r in rows], columns=COLUMNS)
    for c in _NUMERIC:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    if output_chars is not None:
        df["output"] = df["output"].map(lambda t: t[:output_chars] if isinstance(t, str) else t)
    return df


def results_frame(
    runs: list[tuple[str, list[dict[str, Any]]]], output_chars: int | None = OUTPUT_KEEP_CHARS
) -> pd.DataFrame:
    """One row per result, from (origin, rows) pairs of every run."""
    return frame_from_flat([rows_to_flat(rows, origin, output_chars) for origin, rows in runs if rows])

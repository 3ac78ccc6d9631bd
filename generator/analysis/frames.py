"""Flatten run records into one pandas frame. Pure: takes rows, returns a frame."""

from __future__ import annotations

from typing import Any

import pandas as pd

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
]


def failure_summary(row: dict[str, Any]) -> str:
    """Why a result was not accepted, in one short line: the failure kind or the failed checks."""
    if row.get("status") == "failed":
        return f"hard failure: {row.get('failure_kind')}"
    checks = (row.get("score") or {}).get("checks") or []
    failed = [f"{c.get('id')}: {c.get('detail')}" for c in checks if not c.get("passed")]
    return "; ".join(failed)


def _flatten(row: dict[str, Any], origin: str) -> dict[str, Any]:
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
    }


def results_frame(runs: list[tuple[str, list[dict[str, Any]]]]) -> pd.DataFrame:
    """One row per result, from (origin, rows) pairs of every run."""
    flat = [_flatten(r, origin) for origin, rows in runs for r in rows]
    df = pd.DataFrame(flat, columns=COLUMNS)
    for col in (
        "ttft_s",
        "e2e_s",
        "tpot_s",
        "itl_mean_s",
        "output_tps",
        "prompt_tokens",
        "completion_tokens",
    ):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df

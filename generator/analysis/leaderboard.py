"""Leaderboards: acceptance with 95 % Wilson intervals, weighted pass counts, pain, failures, speed.

The case is the unit of evidence: repeats of a case are averaged first, so ten
repeats of one case never count as ten cases.
"""

from __future__ import annotations

import pandas as pd

from generator.analysis.stats import wilson

LEADERBOARD_COLUMNS = [
    "cases",
    "results",
    "accepted",
    "acceptance_rate",
    "acceptance_low",
    "acceptance_high",
    "weighted_score",
    "weighted_total",
    "review_pain",
    "hard_failures",
    "hard_failure_rate",
    "failure_kinds",
    "ttft_p50_s",
    "latency_p50_s",
    "latency_p95_s",
    "output_tps_p50",
    "cold_start_s",
]


def _group_stats(g: pd.DataFrame) -> dict[str, object]:
    per_case = g.groupby("case_id").agg(
        accepted=("accepted", "mean"),
        score=("score", "mean"),
        weight=("weight", "first"),
        pain=("review_pain", "mean"),
        hard=("status", lambda s: (s == "failed").mean()),
    )
    n = len(per_case)
    k = float(per_case["accepted"].sum())
    ci = wilson(k, n)
    warm_ok = g[(~g["cold_start"]) & (g["status"] == "ok")]
    if warm_ok.empty:  # a one-request run has only its cold request
        warm_ok = g[g["status"] == "ok"]
    cold = g[g["cold_start"] & (g["status"] == "ok")]
    kinds = g.loc[g["status"] == "failed", "failure_kind"].fillna("unknown").value_counts()
    return {
        "cases": n,
        "results": len(g),
        "accepted": k,
        "acceptance_rate": ci.estimate,
        "acceptance_low": ci.low,
        "acceptance_high": ci.high,
        "weighted_score": float(per_case["score"].sum()),
        "weighted_total": float(per_case["weight"].sum()),
        "review_pain": float(per_case["pain"].mean()) if n else float("nan"),
        "hard_failures": int((g["status"] == "failed").sum()),
        "hard_failure_rate": float(per_case["hard"].mean()) if n else float("nan"),
        "failure_kinds": ", ".join(f"{k_}: {v}" for k_, v in kinds.items()),
        "ttft_p50_s": warm_ok["ttft_s"].median(),
        "latency_p50_s": warm_ok["e2e_s"].median(),
        "latency_p95_s": warm_ok["e2e_s"].quantile(0.95) if len(warm_ok) else float("nan"),
        "output_tps_p50": warm_ok["output_tps"].median(),
        "cold_start_s": cold["e2e_s"].median() if len(cold) else float("nan"),
    }


def leaderboard(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """One row per model (and per ``by`` group), sorted by acceptance then weighted score."""
    keys = ["model_id", *(by or [])]
    if df.empty:
        return pd.DataFrame(columns=[*keys, *LEADERBOARD_COLUMNS])
    data = df.dropna(subset=[k for k in keys if k != "model_id"]) if by else df
    rows = []
    for group, g in data.groupby(keys, sort=True, dropna=False):
        values = group if isinstance(group, tuple) else (group,)
        rows.append({**dict(zip(keys, values, strict=True)), **_group_stats(g)})
    out = pd.DataFrame(rows, columns=[*keys, *LEADERBOARD_COLUMNS])
    return out.sort_values(
        [*(by or []), "acceptance_rate", "weighted_score"],
        ascending=[*([True] * len(by or [])), False, False],
        kind="mergesort",
    ).reset_index(drop=True)

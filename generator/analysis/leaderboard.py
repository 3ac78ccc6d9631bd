"""Leaderboards: acceptance with 95 % Wilson intervals, weighted pass counts, pain, failures, speed.

The case is the unit of evidence: repeats of a case are averaged first, so ten
repeats of one case never count as ten cases.
"""

from __future__ import annotations

import pandas as pd

from generator.analysis.stats import clustered_se, wilson

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
    "acceptance_se_clustered",
    "judge_score",
    "ttft_p50_s",
    "latency_p50_s",
    "latency_p95_s",
    "output_tps_p50",
    "cold_start_s",
]


def _group_stats(g: pd.DataFrame) -> dict[str, object]:
    per_case = g.groupby("case_id").agg(
        n=("accepted", "size"),
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
        # Mean LLM-judge score (0..scale_max) over the cases judged; NaN when no judge ran.
        "judge_score": (
            float(g.groupby("case_id")["judge_mean"].mean().mean())
            if "judge_mean" in g and g["judge_mean"].notna().any()
            else float("nan")
        ),
        # With repeats, the standard error of the per-result rate clustered by case (cases are the unit).
        "acceptance_se_clustered": (
            clustered_se(per_case["accepted"].tolist(), per_case["n"].astype(int).tolist())
            if len(g) > n
            else float("nan")
        ),
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


def with_cost_per_task(
    df: pd.DataFrame,
    prices: dict[str, tuple[float, float, float]],
    run_energy: dict[str, tuple[float, float]],
) -> pd.DataFrame:
    """Add ``cost_per_task`` (in the pricing currency) to every result row.

    ``prices``: model id → (input per M tokens, output per M tokens, fx to the pricing
    currency) for paid models. ``run_energy``: run id → (machine watts, price per kWh)
    for runs that name their machine. A paid model costs its tokens; a local model on
    a known machine costs the energy of its request time; anything else is unknown (NaN).
    """
    out = df.copy()
    cost = pd.Series(float("nan"), index=out.index)
    for model_id, (p_in, p_out, fx) in prices.items():
        m = out["model_id"] == model_id
        cost[m] = (out.loc[m, "prompt_tokens"] * p_in + out.loc[m, "completion_tokens"] * p_out) / 1e6 * fx
    paid = out["model_id"].isin(list(prices))
    for run_id, (watts, kwh_price) in run_energy.items():
        m = (out["run_id"] == run_id) & ~paid
        cost[m] = watts * out.loc[m, "e2e_s"] / 3600 / 1000 * kwh_price
    out["cost_per_task"] = cost
    return out


def cost_column(board: pd.DataFrame, df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Median cost per task per leaderboard row (needs ``with_cost_per_task`` first)."""
    keys = ["model_id", *(by or [])]
    if df.empty or "cost_per_task" not in df:
        return board.assign(cost_per_task=float("nan"))
    med = df.groupby(keys, dropna=False)["cost_per_task"].median().rename("cost_per_task").reset_index()
    return board.merge(med, on=keys, how="left")


def load_levels(df: pd.DataFrame) -> pd.DataFrame:
    """Latency, TTFT, throughput and failures per model × load level (cold requests excluded)."""
    cols = [
        "model_id",
        "concurrency",
        "requests",
        "hard_failure_rate",
        "ttft_p50_s",
        "latency_p50_s",
        "latency_p95_s",
        "output_tps_p50",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (model, level), g in df.groupby(["model_id", "concurrency"], sort=True):
        warm = g[(~g["cold_start"]) & (g["status"] == "ok")]
        rows.append(
            {
                "model_id": model,
                "concurrency": int(level),
                "requests": len(g),
                "hard_failure_rate": float((g["status"] == "failed").mean()),
                "ttft_p50_s": warm["ttft_s"].median(),
                "latency_p50_s": warm["e2e_s"].median(),
                "latency_p95_s": warm["e2e_s"].quantile(0.95) if len(warm) else float("nan"),
                "output_tps_p50": warm["output_tps"].median(),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def cold_start_penalty(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: the cold request's latency against the warm median."""
    cols = ["model_id", "cold_requests", "cold_e2e_s", "warm_p50_s", "penalty_s"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for model, g in df[df["status"] == "ok"].groupby("model_id"):
        cold = g[g["cold_start"]]["e2e_s"]
        warm = g[~g["cold_start"]]["e2e_s"]
        c = cold.median() if len(cold) else float("nan")
        w = warm.median() if len(warm) else float("nan")
        rows.append(
            {
                "model_id": model,
                "cold_requests": len(cold),
                "cold_e2e_s": c,
                "warm_p50_s": w,
                "penalty_s": c - w,
            }
        )
    return pd.DataFrame(rows, columns=cols)

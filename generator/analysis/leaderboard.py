"""Leaderboards: acceptance with 95 % Wilson intervals, weighted pass counts, pain, failures, speed.

The case is the unit of evidence: repeats of a case are averaged first, so ten
repeats of one case never count as ten cases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.analysis.levels import at_lowest_level
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
    "acceptance_se_clustered",
    "judge_score",
    "ttft_p50_s",
    "latency_p50_s",
    "latency_p95_s",
    "output_tps_p50",
    "cold_start_s",
]


# The columns a leaderboard reads (besides its group keys).
_USED = [
    "case_id",
    "accepted",
    "score",
    "weight",
    "review_pain",
    "status",
    "failure_kind",
    "judge_mean",
    "ttft_s",
    "e2e_s",
    "output_tps",
    "cold_start",
    "concurrency",
]


def _rows(df: pd.DataFrame, keys: list[str], by: list[str] | None) -> pd.DataFrame:
    """The rows and columns a leaderboard counts: with ``by``, the rows whose group value is
    known. Selecting the columns first keeps a filter from copying the output texts."""
    data = df[[*keys, *[c for c in _USED if c in df.columns and c not in keys]]]
    return data.dropna(subset=by) if by else data


def _case_level(data: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per group × case: repeats (and load levels) folded together first."""
    work = pd.DataFrame(
        {
            **{k: data[k] for k in keys},
            "case_id": data["case_id"],
            "accepted": data["accepted"].astype(float),
            "score": data["score"],
            "weight": data["weight"],
            "pain": data["review_pain"],
            "hard": data["status"].eq("failed").astype(float),
            "judge": data["judge_mean"] if "judge_mean" in data else float("nan"),
        }
    )
    return work.groupby([*keys, "case_id"], sort=False, observed=True).agg(
        n=("accepted", "size"),
        accepted=("accepted", "mean"),
        score=("score", "mean"),
        weight=("weight", "first"),
        pain=("pain", "mean"),
        hard=("hard", "mean"),
        judge=("judge", "mean"),
    )


def _clustered(pc: pd.DataFrame, keys: list[str]) -> pd.Series:
    """:func:`clustered_se` per group, over the case-level rows (vectorised, same formula)."""
    weighted = (pc["accepted"] * pc["n"]).groupby(level=keys, observed=True).sum()
    n_total = pc["n"].groupby(level=keys, observed=True).sum()
    grand = (weighted / n_total).reindex(pc.index.droplevel("case_id")).to_numpy()
    s = ((pc["n"] * (pc["accepted"].to_numpy() - grand)) ** 2).groupby(level=keys, observed=True).sum()
    g = pc["n"].groupby(level=keys, observed=True).size()
    se = np.sqrt(s * g / (g - 1).where(g > 1)) / n_total
    return se.where((g >= 2) & (n_total > g))


def _speed(data: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Warm latency and throughput per group at its lowest load level (see ``levels``); a group
    whose only good request there was cold uses it."""
    speed_cols = ["status", "cold_start", "ttft_s", "e2e_s", "output_tps", "concurrency"]
    data = at_lowest_level(data[[*keys, *[c for c in speed_cols if c in data.columns]]], keys)
    ok = data["status"].eq("ok")
    cols = ["ttft_s", "e2e_s", "output_tps"]

    def stats(rows: pd.DataFrame) -> pd.DataFrame:
        g = rows.groupby(keys, sort=False, observed=True)
        out = g[cols].median()
        out.columns = ["ttft_p50_s", "latency_p50_s", "output_tps_p50"]
        out["latency_p95_s"] = g["e2e_s"].quantile(0.95)
        out["_n"] = g.size()
        return out

    warm = stats(data[ok & ~data["cold_start"]])
    any_ok = stats(data[ok])
    speed = warm.combine_first(any_ok.loc[~any_ok.index.isin(warm.index)]) if len(any_ok) else warm
    cold = data[ok & data["cold_start"]].groupby(keys, sort=False, observed=True)["e2e_s"].median()
    return speed.drop(columns="_n").assign(cold_start_s=cold)


def _failure_kinds(data: pd.DataFrame, keys: list[str]) -> pd.Series:
    """"kind: count, ..." per group, most frequent first (ties by name)."""
    failed = data[data["status"].eq("failed")]
    if failed.empty:
        return pd.Series(dtype=object)
    counts = (
        failed.assign(_kind=failed["failure_kind"].fillna("unknown").astype(object))
        .groupby([*keys, "_kind"], observed=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values([*keys, "n", "_kind"], ascending=[*([True] * len(keys)), False, True], kind="mergesort")
    )
    counts["text"] = counts["_kind"].astype(str) + ": " + counts["n"].astype(str)
    return counts.groupby(keys, sort=False, observed=True)["text"].agg(", ".join)


def leaderboard(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """One row per model (and per ``by`` group), sorted by acceptance then weighted score.

    Every statistic is one vectorised group-by over the rows, so a million results cost
    seconds, not a Python call per case.
    """
    keys = ["model_id", *(by or [])]
    if df.empty:
        return pd.DataFrame(columns=[*keys, *LEADERBOARD_COLUMNS])
    data = _rows(df, keys, by)
    if data.empty:
        return pd.DataFrame(columns=[*keys, *LEADERBOARD_COLUMNS])
    pc = _case_level(data, keys)
    g = pc.groupby(level=keys, observed=True)
    board = pd.DataFrame(
        {
            "cases": g.size(),
            "results": g["n"].sum(),
            "accepted": g["accepted"].sum(),
            "weighted_score": g["score"].sum(),
            "weighted_total": g["weight"].sum(),
            "review_pain": g["pain"].mean(),
            "hard_failure_rate": g["hard"].mean(),
            "judge_score": g["judge"].mean(),
        }
    )
    board["hard_failures"] = data["status"].eq("failed").groupby([data[k] for k in keys], observed=True).sum()
    board["failure_kinds"] = _failure_kinds(data, keys)
    board["failure_kinds"] = board["failure_kinds"].fillna("")
    board["acceptance_se_clustered"] = _clustered(pc, keys)
    board = board.join(_speed(data, keys))
    intervals = [wilson(k, n) for k, n in zip(board["accepted"], board["cases"], strict=True)]
    board["acceptance_rate"] = [ci.estimate for ci in intervals]
    board["acceptance_low"] = [ci.low for ci in intervals]
    board["acceptance_high"] = [ci.high for ci in intervals]
    out = board.reset_index().reindex(columns=[*keys, *LEADERBOARD_COLUMNS])
    out["cases"] = out["cases"].astype(int)
    out["results"] = out["results"].astype(int)
    out["hard_failures"] = out["hard_failures"].astype(int)
    out["accepted"] = out["accepted"].astype(float)
    return out.sort_values(keys, kind="mergesort").sort_values(
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
    out = df.copy(deep=False)  # one new column: share the others' data rather than copy a million rows
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
    keys = ["model_id", "concurrency"]
    data = df[[*keys, "status", "cold_start", "ttft_s", "e2e_s", "output_tps"]]
    g = data.groupby(keys, sort=True, observed=True)
    warm = data[~data["cold_start"] & data["status"].eq("ok")].groupby(keys, sort=True, observed=True)
    out = pd.DataFrame(
        {
            "requests": g.size(),
            "hard_failure_rate": data["status"].eq("failed").groupby([data[k] for k in keys], observed=True).mean(),
        }
    )
    out["ttft_p50_s"] = warm["ttft_s"].median()
    out["latency_p50_s"] = warm["e2e_s"].median()
    out["latency_p95_s"] = warm["e2e_s"].quantile(0.95)
    out["output_tps_p50"] = warm["output_tps"].median()
    out = out.reset_index()
    out["concurrency"] = out["concurrency"].astype(int)
    out["requests"] = out["requests"].astype(int)
    out["hard_failure_rate"] = out["hard_failure_rate"].astype(float)
    return out.reindex(columns=cols)


def cold_start_penalty(df: pd.DataFrame) -> pd.DataFrame:
    """Per model: its cold requests (the first after each load) against its warm requests at the
    same load level, on time to first token and end to end.

    TTFT is the fairer comparison: the cold request is one case among many, and its end-to-end
    time also carries how long that case's answer was.
    """
    cols = [
        "model_id",
        "cold_requests",
        "cold_ttft_s",
        "warm_ttft_p50_s",
        "ttft_penalty_s",
        "cold_e2e_s",
        "warm_p50_s",
        "penalty_s",
    ]
    if df.empty:
        return pd.DataFrame(columns=cols)
    keys = ["model_id", "concurrency"] if "concurrency" in df.columns else ["model_id"]
    ok = df.loc[df["status"] == "ok", [*keys, "cold_start", "ttft_s", "e2e_s"]]
    if ok.empty:
        return pd.DataFrame(columns=cols)
    cold_rows = ok[ok["cold_start"]]
    levels = cold_rows[keys].drop_duplicates()
    warm_rows = ok[~ok["cold_start"]].merge(levels, on=keys, how="inner")
    cold = cold_rows.groupby("model_id", observed=True)
    warm = warm_rows.groupby("model_id", observed=True)
    out = pd.DataFrame(index=pd.Index(sorted(set(ok["model_id"])), name="model_id"))
    out["cold_requests"] = cold.size().reindex(out.index, fill_value=0).astype(int)
    for name, col in (("cold_ttft_s", "ttft_s"), ("cold_e2e_s", "e2e_s")):
        out[name] = cold[col].median().reindex(out.index).astype(float)
    for name, col in (("warm_ttft_p50_s", "ttft_s"), ("warm_p50_s", "e2e_s")):
        out[name] = warm[col].median().reindex(out.index).astype(float)
    out["ttft_penalty_s"] = out["cold_ttft_s"] - out["warm_ttft_p50_s"]
    out["penalty_s"] = out["cold_e2e_s"] - out["warm_p50_s"]
    return out.reset_index().reindex(columns=cols)

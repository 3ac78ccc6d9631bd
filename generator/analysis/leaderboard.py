"""Leaderboards: acceptance with 95 % intervals, ranks with ties, pain, failures, speed.

Every figure is read from the evidence table (``generator.analysis.evidence``): the
case is the unit (repeats averaged per case, never voted), quality is read at each
model × case's lowest load level, and latency is warm latency at each model's lowest
level. Ranks are paired: one plus the number of models significantly better on the
cases both ran, so models measured on different case sets are never ranked as if
they had done the same work.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from generator.analysis.compare import ranks
from generator.analysis.evidence import (
    LEVEL,
    base_cells,
    cells,
    degradation,
    distinct,
    latency_samples,
    latency_summary,
    level_of,
    quality_cells,
)
from generator.analysis.stats import wilson
from generator.registry.schema import StatisticsPolicy

LEADERBOARD_COLUMNS = [
    "rank",
    "better_than_this",
    "cases",
    "results",
    "accepted",
    "acceptance_rate",
    "acceptance_low",
    "acceptance_high",
    "acceptance_se",
    "weighted_score",
    "weighted_total",
    "review_pain",
    "hard_failures",
    "hard_failure_rate",
    "failure_kinds",
    "judge_score",
    "level",
    "ttft_p50_s",
    "latency_p50_s",
    "latency_p95_s",
    "timeouts",
    "output_tps_p50",
    "cold_start_s",
]


def _failure_kinds(df: pd.DataFrame, q: pd.DataFrame, keys: list[str]) -> pd.Series:
    """ "kind: count, ..." per group over the failed requests of its quality cells, most
    frequent first (ties by name)."""
    failed = df[df["status"].eq("failed")]
    if failed.empty:
        return pd.Series(dtype=object)
    cell_keys = ["model_id", "case_id", LEVEL, *[k for k in keys if k != "model_id"]]
    rows = pd.DataFrame({k: failed[k].astype(object) for k in dict.fromkeys([*keys, "case_id"])})
    rows[LEVEL] = level_of(failed)
    rows["_kind"] = failed["failure_kind"].fillna("unknown").astype(object)
    rows = rows.merge(q[cell_keys].drop_duplicates(), on=cell_keys, how="inner")
    if rows.empty:
        return pd.Series(dtype=object)
    counts = (
        rows.groupby([*keys, "_kind"], observed=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values([*keys, "n", "_kind"], ascending=[*([True] * len(keys)), False, True], kind="mergesort")
    )
    counts["text"] = counts["_kind"].astype(str) + ": " + counts["n"].astype(str)
    return counts.groupby(keys, sort=False, observed=True)["text"].agg(", ".join)


def evidence_cells(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """The quality cells a leaderboard over ``by`` groups reads (runs kept apart when ``by``
    names ``run_id``)."""
    by = list(by or [])
    extra = [k for k in by if k == "run_id"]
    return quality_cells(cells(base_cells(df), by=extra), by=extra)


def leaderboard(
    df: pd.DataFrame,
    by: list[str] | None = None,
    *,
    stats: StatisticsPolicy,
    q: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per model (and per ``by`` group), ordered by paired rank, then acceptance.

    ``q``: the quality cells to read (``evidence_cells(df, by)``), when the caller computed
    them once already.
    """
    keys = ["model_id", *(by or [])]
    if df.empty:
        return pd.DataFrame(columns=[*keys, *LEADERBOARD_COLUMNS])
    data = df.dropna(subset=by) if by else df
    if data.empty:
        return pd.DataFrame(columns=[*keys, *LEADERBOARD_COLUMNS])
    if q is None:
        q = evidence_cells(data, by)
    q = q.dropna(subset=by) if by else q
    g = q.groupby(keys, observed=True)
    board = pd.DataFrame(
        {
            "cases": g.size(),
            "results": g["n"].sum(),
            "accepted": g["accepted"].sum(),
            "acceptance_sd": g["accepted"].std(ddof=1),
            "weighted_score": g["score"].sum(),
            "weighted_total": g["weight"].sum(),
            "review_pain": g["pain"].mean(),
            "hard_failures": g["n_hard"].sum(),
            "hard_failure_rate": g["hard"].mean(),
            "judge_score": g["judge"].mean(),  # mean of per-case judge means (cases never judged skipped)
        }
    )
    board["acceptance_se"] = board["acceptance_sd"] / np.sqrt(board["cases"])
    board["failure_kinds"] = _failure_kinds(data, q, keys)
    board["failure_kinds"] = board["failure_kinds"].fillna("")
    speed = latency_summary(latency_samples(data, keys), keys).set_index(keys)
    board = board.join(speed.drop(columns=["requests"]))
    intervals = [wilson(k, n) for k, n in zip(board["accepted"], board["cases"], strict=True)]
    board["acceptance_rate"] = [ci.estimate for ci in intervals]
    board["acceptance_low"] = [ci.low for ci in intervals]
    board["acceptance_high"] = [ci.high for ci in intervals]
    out = board.reset_index()
    rank_cols: list[tuple[int, str]] = []
    groups = [((), q)] if not by else q.groupby(list(by), observed=True, sort=False)
    rank_map: dict[tuple, tuple[int, str]] = {}
    for gkey, part in groups:
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        for model, r in ranks(part, stats).items():
            rank_map[(model, *gkey)] = (r.rank, ", ".join(r.better))
    rank_cols = [rank_map.get(tuple(row), (1, "")) for row in out[keys].itertuples(index=False, name=None)]
    out["rank"] = [r for r, _ in rank_cols]
    out["better_than_this"] = [b for _, b in rank_cols]
    out = out.reindex(columns=[*keys, *LEADERBOARD_COLUMNS])
    out["cases"] = out["cases"].astype(int)
    out["results"] = out["results"].astype(int)
    out["hard_failures"] = out["hard_failures"].astype(int)
    out["accepted"] = out["accepted"].astype(float)
    out["timeouts"] = out["timeouts"].fillna(0).astype(int)
    return (
        out.sort_values(keys, kind="mergesort")
        .sort_values(
            [*(by or []), "rank", "acceptance_rate", "weighted_score"],
            ascending=[*([True] * len(by or [])), True, False, False],
            kind="mergesort",
        )
        .reset_index(drop=True)
    )


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


def priced_rows(reg: Any, df: pd.DataFrame, manifests: list[Any]) -> pd.DataFrame:
    """``with_cost_per_task`` with the registry's prices and each run's named machine: the one
    place the site, ``opsbench decide`` and the escalation chains get a request's cost from."""
    from generator.analysis.cost import fx_rate

    if df.empty:
        return df
    pricing = reg.pricing
    prices = {
        m.id: (m.price_input_per_mtok or 0.0, m.price_output_per_mtok or 0.0, fx_rate(pricing, m.currency))
        for m in reg.models_file.models
        if m.cost_tier == "paid"
    }
    machines = {m.id: m for m in reg.hardware.machines}
    run_energy = {
        m.run_id: (machines[m.settings.machine].power_w, pricing.electricity_price_per_kwh)
        for m in manifests
        if m.settings.machine in machines
    }
    return with_cost_per_task(df, prices, run_energy)


def cost_column(board: pd.DataFrame, df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Median cost per task per leaderboard row (needs ``with_cost_per_task`` first)."""
    keys = ["model_id", *(by or [])]
    if df.empty or "cost_per_task" not in df:
        return board.assign(cost_per_task=float("nan"))
    med = df.groupby(keys, dropna=False)["cost_per_task"].median().rename("cost_per_task").reset_index()
    return board.merge(med, on=keys, how="left")


def load_levels(df: pd.DataFrame) -> pd.DataFrame:
    """Per model × load level: requests, hard failures, acceptance on the cases measured at that
    level beside the same cases' quality reading (degradation under load), and warm latency,
    TTFT and decode speed at that level (the evidence table's one definition)."""
    cols = [
        "model_id",
        "concurrency",
        "requests",
        "hard_failure_rate",
        "cases",
        "acceptance",
        "quality_acceptance",
        "ttft_p50_s",
        "latency_p50_s",
        "latency_p95_s",
        "timeouts",
        "output_tps_p50",
    ]
    if df.empty or "concurrency" not in df or df["concurrency"].isna().all():
        return pd.DataFrame(columns=cols)
    keys = ["model_id", "concurrency"]
    data = df.dropna(subset=["concurrency"])
    g = data.groupby(keys, sort=True, observed=True)
    out = pd.DataFrame(
        {
            "requests": g.size(),
            "hard_failure_rate": data["status"].eq("failed").groupby([data[k] for k in keys], observed=True).mean(),
        }
    )
    speed = latency_summary(latency_samples(data, keys), keys).set_index(keys)
    out = out.join(speed.drop(columns=["requests", LEVEL, "cold_start_s"]))
    deg = degradation(cells(base_cells(data))).rename(columns={LEVEL: "concurrency"})
    deg["concurrency"] = deg["concurrency"].astype(int)
    out = out.reset_index()
    out["concurrency"] = out["concurrency"].astype(int)
    out = out.merge(deg.drop(columns=["hard_failure_rate"]), on=keys, how="left")
    out["requests"] = out["requests"].astype(int)
    out["timeouts"] = out["timeouts"].fillna(0).astype(int)
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
    out = pd.DataFrame(index=pd.Index(sorted(distinct(ok["model_id"])), name="model_id"))
    out["cold_requests"] = cold.size().reindex(out.index, fill_value=0).astype(int)
    for name, col in (("cold_ttft_s", "ttft_s"), ("cold_e2e_s", "e2e_s")):
        out[name] = cold[col].median().reindex(out.index).astype(float)
    for name, col in (("warm_ttft_p50_s", "ttft_s"), ("warm_p50_s", "e2e_s")):
        out[name] = warm[col].median().reindex(out.index).astype(float)
    out["ttft_penalty_s"] = out["cold_ttft_s"] - out["warm_ttft_p50_s"]
    out["penalty_s"] = out["cold_e2e_s"] - out["warm_p50_s"]
    return out.reset_index().reindex(columns=cols)

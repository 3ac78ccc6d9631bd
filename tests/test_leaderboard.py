"""The vectorised leaderboard equals its per-group definition on awkward synthetic frames.

``reference_stats`` is the leaderboard's definition written the slow, obvious way (one
Python pass per group and per case); the production code computes the same figures
with a few group-bys so a million rows stay fast. Synthetic rows, generated here.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pandas as pd
import pytest

from generator.analysis.leaderboard import (
    LEADERBOARD_COLUMNS,
    cold_start_penalty,
    cost_column,
    leaderboard,
    load_levels,
)
from generator.analysis.stats import wilson
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import StatisticsPolicy
from generator.runs.frames import COLUMNS
from generator.site.pages.context import gather


def _q(values: pd.Series, q: float) -> float:
    """A sample quantile with linear interpolation where a timed-out request is ``inf``."""
    arr = sorted(float(v) for v in values if not math.isnan(float(v)))
    if not arr:
        return float("nan")
    pos = (len(arr) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    if arr[lo] == arr[hi]:
        return arr[lo]
    if math.isinf(arr[hi]):
        return float("inf")
    return arr[lo] + (arr[hi] - arr[lo]) * (pos - lo)


def _level_of(g: pd.DataFrame) -> pd.Series:
    if "concurrency" in g:
        return g["concurrency"].astype(float)
    return pd.Series(float("nan"), index=g.index)


STATS = StatisticsPolicy()


def reference_stats(g: pd.DataFrame) -> dict[str, object]:
    """The board's definition for one group, the slow way: each case at its lowest level,
    repeats averaged; latency over the warm requests at the group's lowest level, a timeout
    counting as infinitely slow."""
    level = _level_of(g)
    case_min = level.groupby(g["case_id"]).transform("min")
    quality = g[(level == case_min) | case_min.isna()]
    per_case = quality.groupby("case_id").agg(
        n=("accepted", "size"),
        accepted=("accepted", "mean"),
        score=("score", "mean"),
        weight=("weight", "first"),
        pain=("review_pain", "mean"),
        hard=("status", lambda s: (s == "failed").mean()),
        judge=("judge_mean", "mean"),
    )
    n = len(per_case)
    k = float(per_case["accepted"].sum())
    ci = wilson(k, n)
    at = g[(level == level.min()) | math.isnan(level.min())]
    timed_out = (at["status"] == "failed") & (at["failure_kind"] == "timeout")
    samples = at[(at["status"] == "ok") | timed_out].copy()
    samples.loc[timed_out, "e2e_s"] = float("inf")
    samples.loc[timed_out, ["ttft_s", "output_tps"]] = float("nan")
    warm = samples[~samples["cold_start"]]
    cold = samples[samples["cold_start"] & (samples["status"] == "ok")]
    failed = quality[quality["status"] == "failed"]
    kinds = failed["failure_kind"].fillna("unknown").value_counts()
    kinds = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "cases": n,
        "results": len(quality),
        "accepted": k,
        "acceptance_rate": ci.estimate,
        "acceptance_low": ci.low,
        "acceptance_high": ci.high,
        "acceptance_se": float(per_case["accepted"].std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan"),
        "weighted_score": float(per_case["score"].sum()),
        "weighted_total": float(per_case["weight"].sum()),
        "review_pain": float(per_case["pain"].mean()),
        "hard_failures": len(failed),
        "hard_failure_rate": float(per_case["hard"].mean()),
        "failure_kinds": ", ".join(f"{k_}: {v}" for k_, v in kinds),
        "judge_score": float(per_case["judge"].mean()),
        "level": float(_level_of(warm).min()) if len(warm) else float("nan"),
        "ttft_p50_s": warm["ttft_s"].median(),
        "latency_p50_s": _q(warm["e2e_s"], 0.5),
        "latency_p95_s": _q(warm["e2e_s"], 0.95),
        "timeouts": int(timed_out[warm.index].sum()) if len(warm) else 0,
        "output_tps_p50": warm["output_tps"].median(),
        "cold_start_s": cold["e2e_s"].median() if len(cold) else float("nan"),
    }


def synthetic_frame(seed: int) -> pd.DataFrame:
    """Repeats, cold starts, failures of several kinds, partial judging, a missing workload,
    a model whose only good request is cold, and one with no good request at all."""
    rng = random.Random(seed)
    rows = []
    for model in ("m-a", "m-b", "m-c", "only-cold", "all-failed"):
        for case in range(rng.randint(1, 12)):
            repeats = rng.choice([1, 1, 2, 3])
            for rep in range(repeats):
                failed = model == "all-failed" or rng.random() < 0.2
                if model == "only-cold":
                    failed = not (case == 0 and rep == 0)
                accepted = not failed and rng.random() < 0.6
                rows.append(
                    {
                        "model_id": model,
                        "case_id": f"case-{case}",
                        "role": ["draft", "review", "classify"][case % 3],
                        "workload": None if case % 4 == 3 else f"w{case % 2}",
                        "accepted": accepted,
                        "score": 3.0 * accepted,
                        "weight": float(1 + case % 3),
                        "review_pain": 0.0 if accepted else float(rng.randint(1, 4)),
                        "status": "failed" if failed else "ok",
                        "failure_kind": rng.choice(["timeout", "http_500", None]) if failed else None,
                        "cold_start": case == 0 and rep == 0,
                        "ttft_s": rng.random() if not failed else float("nan"),
                        "e2e_s": 1 + rng.random() * 5,
                        "output_tps": rng.random() * 40 if not failed else float("nan"),
                        "judge_mean": rng.choice([float("nan"), 0.0, 1.0, 2.0, 1.5]),
                    }
                )
    return pd.DataFrame(rows)


RANK_COLUMNS = ["rank", "better_than_this"]


def _reference(df: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    keys = ["model_id", *(by or [])]
    data = df.dropna(subset=by) if by else df
    rows = []
    for group, g in data.groupby(keys, sort=True):
        values = group if isinstance(group, tuple) else (group,)
        rows.append({**dict(zip(keys, values, strict=True)), **reference_stats(g)})
    cols = [c for c in LEADERBOARD_COLUMNS if c not in RANK_COLUMNS]
    return pd.DataFrame(rows, columns=[*keys, *cols]).sort_values(keys).reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if a is pd.NA or b is pd.NA:
        return (a is pd.NA or (isinstance(a, float) and math.isnan(a))) and (
            b is pd.NA or (isinstance(b, float) and math.isnan(b))
        )
    if isinstance(a, float | int) and isinstance(b, float | int):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


def _board(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    return leaderboard(df, by, stats=STATS)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("by", [None, ["role"], ["workload"], ["role", "workload"]])
def test_vectorised_leaderboard_equals_its_definition(seed: int, by: list[str] | None) -> None:
    df = synthetic_frame(seed)
    board = _board(df, by)
    keys = ["model_id", *(by or [])]
    # The order is by paired rank, then acceptance: the rank never puts a model above one
    # that is significantly better than it.
    for r in board.itertuples():
        assert all(
            board.loc[board["model_id"] == b, "rank"].iloc[0] < r.rank
            for b in r.better_than_this.split(", ")
            if b and not by
        )
    got = board.drop(columns=RANK_COLUMNS).sort_values(keys).reset_index(drop=True)
    want = _reference(df, by)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for i in range(len(want)):
        for col in want.columns:
            assert _same(got.at[i, col], want.at[i, col]), (by, i, col, got.at[i, col], want.at[i, col])


def test_leaderboard_with_arrow_backed_and_categorical_keys() -> None:
    """The loader's frames carry Arrow strings; a caller may pass categoricals: same board."""
    df = synthetic_frame(7)
    plain = _board(df, ["role"])
    arrow = df.assign(model_id=df["model_id"].astype("string[pyarrow]"), role=df["role"].astype("category"))
    pd.testing.assert_frame_equal(
        _board(arrow, ["role"]).astype({"model_id": object, "role": object}),
        plain.astype({"model_id": object, "role": object}),
    )


REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry(REPO / "registry")


def _with_levels(seed: int) -> pd.DataFrame:
    df = synthetic_frame(seed)
    rng = random.Random(seed + 100)
    return df.assign(concurrency=[rng.choice([1, 1, 4, 8]) for _ in range(len(df))])


def reference_load_levels(df: pd.DataFrame) -> pd.DataFrame:
    """load_levels' definition, one Python pass per model × level."""
    rows = []
    quality = {}
    for (model, case), g in df.groupby(["model_id", "case_id"]):
        low = g["concurrency"].min()
        quality[(model, case)] = g.loc[g["concurrency"] == low, "accepted"].mean()
    for (model, level), g in df.groupby(["model_id", "concurrency"], sort=True):
        timed_out = (g["status"] == "failed") & (g["failure_kind"] == "timeout")
        samples = g[(g["status"] == "ok") | timed_out].copy()
        samples.loc[timed_out, "e2e_s"] = float("inf")
        samples.loc[timed_out, ["ttft_s", "output_tps"]] = float("nan")
        warm = samples[~samples["cold_start"]]
        per_case = g.groupby("case_id")["accepted"].mean()
        rows.append(
            {
                "model_id": model,
                "concurrency": int(level),
                "requests": len(g),
                "hard_failure_rate": float((g["status"] == "failed").mean()),
                "cases": len(per_case),
                "acceptance": float(per_case.mean()),
                "quality_acceptance": float(pd.Series([quality[(model, c)] for c in per_case.index]).mean()),
                "ttft_p50_s": warm["ttft_s"].median(),
                "latency_p50_s": _q(warm["e2e_s"], 0.5),
                "latency_p95_s": _q(warm["e2e_s"], 0.95),
                "timeouts": int(timed_out[warm.index].sum()),
                "output_tps_p50": warm["output_tps"].median(),
            }
        )
    return pd.DataFrame(rows)


def reference_cold_start(df: pd.DataFrame) -> pd.DataFrame:
    """cold_start_penalty's definition: cold requests against warm ones at the same load level."""
    rows = []
    for model, g in df[df["status"] == "ok"].groupby("model_id"):
        cold = g[g["cold_start"]]
        warm = g[~g["cold_start"] & g["concurrency"].isin(set(cold["concurrency"]))]

        def med(x: pd.DataFrame, col: str) -> float:
            return x[col].median() if len(x) else float("nan")

        rows.append(
            {
                "model_id": model,
                "cold_requests": len(cold),
                "cold_ttft_s": med(cold, "ttft_s"),
                "warm_ttft_p50_s": med(warm, "ttft_s"),
                "ttft_penalty_s": med(cold, "ttft_s") - med(warm, "ttft_s"),
                "cold_e2e_s": med(cold, "e2e_s"),
                "warm_p50_s": med(warm, "e2e_s"),
                "penalty_s": med(cold, "e2e_s") - med(warm, "e2e_s"),
            }
        )
    return pd.DataFrame(rows)


def _frames_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for i in range(len(want)):
        for col in want.columns:
            assert _same(got.at[i, col], want.at[i, col]), (i, col, got.at[i, col], want.at[i, col])


@pytest.mark.parametrize("seed", range(6))
def test_load_levels_and_cold_start_equal_their_definitions(seed: int) -> None:
    df = _with_levels(seed)
    _frames_same(load_levels(df), reference_load_levels(df))
    _frames_same(cold_start_penalty(df), reference_cold_start(df))
    one = df[df["model_id"] == "m-b"]
    _frames_same(load_levels(one), reference_load_levels(one))


def test_site_data_board_slices_equal_a_board_of_the_slice(reg: Registry) -> None:
    """A model page reads its rows of the board over every model, a run page its run's rows:
    the same figures, in the same order, as a leaderboard of that model's or run's results."""
    df = _with_levels(3).replace({"model_id": {"m-a": "claude-sonnet"}})  # a paid model: a known cost
    rng = random.Random(3)
    df = df.assign(
        run_id=["run-" + str(i % 3) for i in range(len(df))],
        prompt_tokens=[rng.randint(10, 900) for _ in range(len(df))],
        completion_tokens=[rng.randint(1, 300) for _ in range(len(df))],
    )
    for col in COLUMNS:  # the rest of a loaded frame's columns, empty
        if col not in df:
            df[col] = False if col in ("policy_violation", "unsupported_claim", "json_checked") else None
    data = gather(reg, df, [])
    assert data.board()["cost_per_task"].notna().any()
    df = data.df  # with its cost per task
    for model in ("claude-sonnet", "m-c"):
        for by in (["role"], ["workload"]):
            want = cost_column(_board(df[df["model_id"] == model], by), df[df["model_id"] == model], by)
            # A model page's rank is its rank among every model of the group, not alone.
            got = data.board_of("model_id", model, by).drop(columns=RANK_COLUMNS)
            pd.testing.assert_frame_equal(got, want.drop(columns=RANK_COLUMNS).reset_index(drop=True))
    for run in ("run-0", "run-2"):
        want = cost_column(_board(df[df["run_id"] == run]), df[df["run_id"] == run])
        pd.testing.assert_frame_equal(data.board_of("run_id", run), want.reset_index(drop=True))
    assert data.board(["role"]) is data.board(["role"])  # computed once per build


@pytest.mark.parametrize("seed", range(4))
def test_speed_is_taken_at_each_models_lowest_load_level(seed: int) -> None:
    """A sweep at 1 and 4 in flight must not pool into one median: the board's latency and
    throughput are those of the lowest level each model ran at (quality counts every row)."""
    df = _with_levels(seed)
    df.loc[df["model_id"] == "m-c", "concurrency"] = 8  # a model measured only under load
    board = _board(df).set_index("model_id")
    for model, g in df.groupby("model_id"):
        at = g[g["concurrency"] == g["concurrency"].min()]
        warm = at[(~at["cold_start"]) & (at["status"] == "ok")]
        row = board.loc[model]
        assert warm.empty or row["level"] == g["concurrency"].min(), model
        assert _same(row["output_tps_p50"], warm["output_tps"].median()), model
        # Quality reads each case at its own lowest level: the rows of the other levels do not count.
        case_min = g.groupby("case_id")["concurrency"].transform("min")
        assert row["results"] == int((g["concurrency"] == case_min).sum())

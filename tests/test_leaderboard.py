"""The vectorised leaderboard equals its per-group definition on awkward synthetic frames.

``reference_stats`` is the leaderboard's definition written the slow, obvious way (one
Python pass per group and per case); the production code computes the same figures
with a few group-bys so a million rows stay fast. Synthetic rows, generated here.
"""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from generator.analysis.leaderboard import LEADERBOARD_COLUMNS, leaderboard
from generator.analysis.stats import clustered_se, wilson


def reference_stats(g: pd.DataFrame) -> dict[str, object]:
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
    if warm_ok.empty:
        warm_ok = g[g["status"] == "ok"]
    cold = g[g["cold_start"] & (g["status"] == "ok")]
    kinds = g.loc[g["status"] == "failed", "failure_kind"].fillna("unknown").value_counts()
    kinds = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "cases": n,
        "results": len(g),
        "accepted": k,
        "acceptance_rate": ci.estimate,
        "acceptance_low": ci.low,
        "acceptance_high": ci.high,
        "weighted_score": float(per_case["score"].sum()),
        "weighted_total": float(per_case["weight"].sum()),
        "review_pain": float(per_case["pain"].mean()),
        "hard_failures": int((g["status"] == "failed").sum()),
        "hard_failure_rate": float(per_case["hard"].mean()),
        "failure_kinds": ", ".join(f"{k_}: {v}" for k_, v in kinds),
        "judge_score": (
            float(g.groupby("case_id")["judge_mean"].mean().mean())
            if g["judge_mean"].notna().any()
            else float("nan")
        ),
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


def _reference(df: pd.DataFrame, by: list[str] | None) -> pd.DataFrame:
    keys = ["model_id", *(by or [])]
    data = df.dropna(subset=by) if by else df
    rows = []
    for group, g in data.groupby(keys, sort=True):
        values = group if isinstance(group, tuple) else (group,)
        rows.append({**dict(zip(keys, values, strict=True)), **reference_stats(g)})
    out = pd.DataFrame(rows, columns=[*keys, *LEADERBOARD_COLUMNS])
    return out.sort_values(
        [*(by or []), "acceptance_rate", "weighted_score"],
        ascending=[*([True] * len(by or [])), False, False],
        kind="mergesort",
    ).reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("by", [None, ["role"], ["workload"], ["role", "workload"]])
def test_vectorised_leaderboard_equals_its_definition(seed: int, by: list[str] | None) -> None:
    df = synthetic_frame(seed)
    got, want = leaderboard(df, by), _reference(df, by)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for i in range(len(want)):
        for col in want.columns:
            assert _same(got.at[i, col], want.at[i, col]), (by, i, col, got.at[i, col], want.at[i, col])


def test_leaderboard_with_arrow_backed_and_categorical_keys() -> None:
    """The loader's frames carry Arrow strings; a caller may pass categoricals: same board."""
    df = synthetic_frame(7)
    plain = leaderboard(df, ["role"])
    arrow = df.assign(model_id=df["model_id"].astype("string[pyarrow]"), role=df["role"].astype("category"))
    pd.testing.assert_frame_equal(
        leaderboard(arrow, ["role"]).astype({"model_id": object, "role": object}),
        plain.astype({"model_id": object, "role": object}),
    )

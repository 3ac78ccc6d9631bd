"""Run-to-run diff: which cases changed, and how each model's figures moved.

Pure: two runs' result frames in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from generator.analysis.levels import at_lowest_level
from generator.analysis.stats import wilson


@dataclass
class CaseChange:
    model_id: str
    case_id: str
    change: (
        str  # newly-failing / newly-passing / flaky / still-failing / still-passing / only-in-a / only-in-b
    )
    a: str
    b: str


@dataclass
class ModelDelta:
    model_id: str
    cases: int
    acceptance_a: float
    acceptance_a_ci: tuple[float, float]
    acceptance_b: float
    acceptance_b_ci: tuple[float, float]
    delta: float
    hard_failure_a: float
    hard_failure_b: float
    latency_p50_a: float | None
    latency_p50_b: float | None


# The columns diff_runs reads: select them before filtering a run's rows out of every result.
COLUMNS = ["model_id", "case_id", "accepted", "status", "cold_start", "e2e_s", "concurrency"]


def _states(df: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(model, case) → "pass" (every repeat accepted), "fail" (none) or "flaky (k/n)"."""
    if df.empty:
        return {}
    g = df.groupby(["model_id", "case_id"], observed=True)["accepted"]
    k, n = g.sum().astype(int), g.size()
    return {
        key: "pass" if ki == ni else "fail" if ki == 0 else f"flaky ({ki}/{ni})"
        for key, ki, ni in zip(k.index, k.to_numpy(), n.to_numpy(), strict=True)
    }


def diff_runs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[CaseChange], list[ModelDelta]]:
    """Compare run A (before) with run B (after) per (model, case) and per model."""
    changes: list[CaseChange] = []
    a, b = a[[c for c in COLUMNS if c in a]], b[[c for c in COLUMNS if c in b]]
    keys_a, keys_b = _states(a), _states(b)
    for key in sorted(set(keys_a) | set(keys_b)):
        sa = keys_a.get(key, "—")
        sb = keys_b.get(key, "—")
        if key not in keys_a:
            kind = "only-in-b"
        elif key not in keys_b:
            kind = "only-in-a"
        elif sb.startswith("flaky"):
            kind = "flaky"
        elif sa == "pass" and sb == "fail":
            kind = "newly-failing"
        elif sa != "pass" and sb == "pass":
            kind = "newly-passing"
        else:
            kind = f"still-{'passing' if sb == 'pass' else 'failing'}"
        changes.append(CaseChange(key[0], key[1], kind, sa, sb))

    deltas: list[ModelDelta] = []
    for model in sorted(set(a["model_id"]) & set(b["model_id"])):
        ma, mb = a[a["model_id"] == model], b[b["model_id"] == model]
        shared = sorted(set(ma["case_id"]) & set(mb["case_id"]))
        ma, mb = ma[ma["case_id"].isin(shared)], mb[mb["case_id"].isin(shared)]
        pa = ma.groupby("case_id")["accepted"].mean()
        pb = mb.groupby("case_id")["accepted"].mean()
        wa, wb = wilson(float(pa.sum()), len(pa)), wilson(float(pb.sum()), len(pb))

        def p50(x: pd.DataFrame) -> float | None:
            ok = at_lowest_level(x[(x["status"] == "ok") & (~x["cold_start"])], ["model_id"])
            return float(ok["e2e_s"].median()) if len(ok) else None

        deltas.append(
            ModelDelta(
                model_id=model,
                cases=len(shared),
                acceptance_a=wa.estimate,
                acceptance_a_ci=(wa.low, wa.high),
                acceptance_b=wb.estimate,
                acceptance_b_ci=(wb.low, wb.high),
                delta=wb.estimate - wa.estimate,
                hard_failure_a=float((ma["status"] == "failed").mean()) if len(ma) else 0.0,
                hard_failure_b=float((mb["status"] == "failed").mean()) if len(mb) else 0.0,
                latency_p50_a=p50(ma),
                latency_p50_b=p50(mb),
            )
        )
    return changes, deltas

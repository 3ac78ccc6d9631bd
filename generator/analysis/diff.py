"""Run-to-run diff: which cases changed, and how each model's figures moved, paired.

Both runs are read through the evidence table (each model × case at its lowest load
level, repeats averaged). Per model, acceptance is compared on the cases both runs
share with the paired test of ``compare.paired``; the latency change is the mean of
the per-case differences in warm median latency, with a bootstrap interval over cases.

Pure: two runs' result frames in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.compare import paired
from generator.analysis.evidence import LEVEL, base_cells, case_means, cell_latency, cells, quality_cells
from generator.registry.schema import StatisticsPolicy
from generator.runs.records import Manifest


@dataclass
class CaseChange:
    model_id: str
    case_id: str
    change: str  # newly-failing / newly-passing / flaky / still-failing / still-passing / only-in-a / only-in-b
    a: str
    b: str


@dataclass
class ModelDelta:
    model_id: str
    cases: int  # shared by both runs
    acceptance_a: float
    acceptance_b: float
    delta: float  # mean per-case (B − A)
    delta_ci: tuple[float, float]
    p_value: float
    method: str
    hard_failure_a: float
    hard_failure_b: float
    latency_p50_a: float | None  # median over shared cases of each case's warm median
    latency_p50_b: float | None
    latency_delta: float | None  # mean per-case (B − A) of warm median latency, seconds
    latency_delta_ci: tuple[float, float] | None
    latency_cases: int


# The columns diff_runs reads: select them before filtering a run's rows out of every result.
COLUMNS = [
    "run_id",
    "model_id",
    "case_id",
    "accepted",
    "status",
    "failure_kind",
    "cold_start",
    "e2e_s",
    "concurrency",
    "review_pain",
    "score",
    "weight",
]


def _quality(df: pd.DataFrame) -> pd.DataFrame:
    return quality_cells(cells(base_cells(df)))


def _state(row: pd.Series) -> str:
    k, n = int(row["n_accepted"]), int(row["n"])
    return "pass" if k == n else "fail" if k == 0 else f"flaky ({k}/{n})"


def _latency(df: pd.DataFrame, q: pd.DataFrame, model: str) -> pd.Series:
    lat = cell_latency(df[df["model_id"] == model])
    if lat.empty:
        return pd.Series(dtype=float)
    keys = ["model_id", "case_id", LEVEL]
    lat = lat.merge(q.loc[q["model_id"] == model, keys], on=keys, how="inner")
    vals = lat["latency_p50_s"].to_numpy(float)
    finite = np.isfinite(vals)
    return pd.Series(vals[finite], index=lat["case_id"].to_numpy()[finite])


def diff_runs(a: pd.DataFrame, b: pd.DataFrame, stats: StatisticsPolicy) -> tuple[list[CaseChange], list[ModelDelta]]:
    """Compare run A (before) with run B (after) per (model, case) and per model."""
    a, b = a[[c for c in COLUMNS if c in a]], b[[c for c in COLUMNS if c in b]]
    qa, qb = _quality(a), _quality(b)
    sa = {(r.model_id, r.case_id): _state(r) for _, r in qa.iterrows()} if len(qa) else {}
    sb = {(r.model_id, r.case_id): _state(r) for _, r in qb.iterrows()} if len(qb) else {}
    changes: list[CaseChange] = []
    for key in sorted(set(sa) | set(sb)):
        x, y = sa.get(key, "—"), sb.get(key, "—")
        if key not in sa:
            kind = "only-in-b"
        elif key not in sb:
            kind = "only-in-a"
        elif y.startswith("flaky"):
            kind = "flaky"
        elif x == "pass" and y == "fail":
            kind = "newly-failing"
        elif x != "pass" and y == "pass":
            kind = "newly-passing"
        else:
            kind = f"still-{'passing' if y == 'pass' else 'failing'}"
        changes.append(CaseChange(key[0], key[1], kind, x, y))

    deltas: list[ModelDelta] = []
    models = sorted(set(qa["model_id"]) & set(qb["model_id"])) if len(qa) and len(qb) else []
    for model in models:
        acc_a, acc_b = case_means(qa, model), case_means(qb, model)
        binary = bool(
            (qa.loc[qa["model_id"] == model, "n"] == 1).all() and (qb.loc[qb["model_id"] == model, "n"] == 1).all()
        )
        comp = paired(acc_a, acc_b, stats, binary, names=("A", "B"))
        if comp.n == 0:
            continue
        hard_a = case_means(qa, model, "hard").loc[comp.cases]
        hard_b = case_means(qb, model, "hard").loc[comp.cases]
        la, lb = _latency(a, qa, model), _latency(b, qb, model)
        common = sorted(set(la.index) & set(lb.index) & set(comp.cases))
        if common:
            d = lb.loc[common].to_numpy(float) - la.loc[common].to_numpy(float)
            ci = st.bootstrap_mean_ci(d, n_resamples=stats.bootstrap_resamples, seed=stats.seed)
            lat = (
                float(np.median(la.loc[common])),
                float(np.median(lb.loc[common])),
                float(d.mean()),
                (ci.low, ci.high),
            )
        else:
            lat = (None, None, None, None)
        deltas.append(
            ModelDelta(
                model_id=model,
                cases=comp.n,
                acceptance_a=float(comp.mean_a),  # type: ignore[arg-type]
                acceptance_b=float(comp.mean_b),  # type: ignore[arg-type]
                delta=float(comp.diff),  # type: ignore[arg-type]
                delta_ci=(float(comp.ci_low), float(comp.ci_high)),  # type: ignore[arg-type]
                p_value=float(comp.p_value),  # type: ignore[arg-type]
                method=comp.method,
                hard_failure_a=float(hard_a.mean()),
                hard_failure_b=float(hard_b.mean()),
                latency_p50_a=lat[0],
                latency_p50_b=lat[1],
                latency_delta=lat[2],
                latency_delta_ci=lat[3],
                latency_cases=len(common),
            )
        )
    return changes, deltas


def previous_run(manifests: list[Manifest], latest: Manifest) -> Manifest | None:
    """The run ``latest`` is compared with, everywhere (``opsbench diff --suite``, the home page,
    reports): the most recent earlier run of the same suite that measured at least one of the
    same models. ``manifests`` are in creation order."""
    earlier = [
        m
        for m in manifests
        if m.settings.suite == latest.settings.suite
        and m.run_id != latest.run_id
        and m.created_at <= latest.created_at
        and set(m.settings.models) & set(latest.settings.models)
    ]
    return earlier[-1] if earlier else None


def runs_to_compare(
    manifests: list[Manifest], run_a: str | None, run_b: str | None, suite: str | None
) -> tuple[str, str]:
    """The (A, B) pair ``opsbench diff`` compares: the two ids given, or with none the latest run
    (of ``suite`` if given) against :func:`previous_run`. A pair that cannot be made raises
    ``LookupError`` with the reason, which the command prints as a usage error."""
    if run_a is None or run_b is None:
        if run_a is not None or run_b is not None:
            raise LookupError("give two run ids, or none with --suite")
        pool = [m for m in manifests if suite is None or m.settings.suite == suite]
        if not pool:
            raise LookupError("no runs" + (f" of suite {suite!r}" if suite else ""))
        prev = previous_run(manifests, pool[-1])
        if prev is None:
            raise LookupError(
                f"no earlier run of suite {pool[-1].settings.suite!r} measured the models of {pool[-1].run_id}"
            )
        return prev.run_id, pool[-1].run_id
    return run_a, run_b

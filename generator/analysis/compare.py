"""Paired comparisons on shared cases, ranks with ties, and verdict fragility.

Every comparison of two models (or two runs) in the tool goes through :func:`paired`:
only the cases both have, the per-case means of the evidence table (repeats averaged,
never voted), exact McNemar when every cell holds one request and a sign-flip
permutation test of the per-case differences otherwise, and a paired bootstrap
interval over cases for the difference. The minimum detectable effect is at the
current n; the cases needed are for the *pre-specified* minimum effect of interest
(policy ``statistics.min_effect``), never for the observed one.

Pure: series and policy records in, records out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.evidence import (
    case_means,
    case_values,
    coded_values,
    distinct,
    shared,
    shared_coded,
    shared_values,
    split_by_model,
)
from generator.registry.schema import StatisticsPolicy


@dataclass
class Paired:
    """B against A on their shared cases: ``diff`` = mean over cases of (B − A)."""

    a: str
    b: str
    n: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    p_value: float | None
    b_better: int  # cases where B's mean is higher
    a_better: int
    sd_diff: float | None
    mde: float | None  # at the current n
    cases_for_min_effect: int | None  # total shared cases the pre-specified effect needs
    min_effect: float
    binary: bool
    cases: list[str] = field(default_factory=list, repr=False)


def test_diffs(
    diffs: np.ndarray, binary: bool, policy: StatisticsPolicy, alternative: str = "two-sided"
) -> st.PairedTest:
    """The paired test the policy prescribes for these per-case differences."""
    return st.paired_test(
        diffs,
        binary=binary,
        alternative=alternative,
        n_resamples=policy.permutation_resamples,
        seed=policy.seed,
        exact_max=policy.permutation_exact_max,
        normal_above=policy.permutation_normal_above,
    )


def planning_sd(diffs: np.ndarray, policy: StatisticsPolicy) -> float:
    """The spread of per-case differences that power arithmetic uses: the observed one once
    there is any, else the policy's planning value (before two models disagree on a case,
    the data say nothing about it)."""
    if len(diffs) >= 2:
        sd = float(np.std(diffs, ddof=1))
        if sd > 0:
            return sd
    return policy.planning_sd


def paired(
    a: pd.Series,
    b: pd.Series,
    policy: StatisticsPolicy,
    binary: bool,
    alternative: str = "two-sided",
    names: tuple[str, str] | None = None,
) -> Paired:
    """Compare per-case values ``b`` with ``a`` (indexed by case id) on the cases both have."""
    va, vb, common = shared(a, b)
    name_a, name_b = names or (str(a.name), str(b.name))
    n = len(common)
    if n == 0:
        return Paired(
            name_a,
            name_b,
            0,
            None,
            None,
            None,
            None,
            None,
            "no shared cases",
            None,
            0,
            0,
            None,
            None,
            None,
            policy.min_effect,
            binary,
        )
    d = vb - va
    test = test_diffs(d, binary, policy, alternative)
    ci = st.bootstrap_mean_ci(d, n_resamples=policy.bootstrap_resamples, seed=policy.seed)
    sd = planning_sd(d, policy)
    return Paired(
        a=name_a,
        b=name_b,
        n=n,
        mean_a=float(va.mean()),
        mean_b=float(vb.mean()),
        diff=float(d.mean()),
        ci_low=ci.low,
        ci_high=ci.high,
        method=test.method,
        p_value=test.p_value,
        b_better=int((d > 0).sum()),
        a_better=int((d < 0).sum()),
        sd_diff=float(np.std(d, ddof=1)) if n >= 2 else None,
        mde=st.paired_mde(sd, n, policy.alpha, policy.power),
        cases_for_min_effect=st.cases_needed(policy.min_effect, sd, policy.alpha, policy.power),
        min_effect=policy.min_effect,
        binary=binary,
        cases=common,
    )


# --- Ranks with ties -------------------------------------------------------------------------


@dataclass
class Rank:
    model_id: str
    rank: int  # 1 + the number of models significantly better on shared cases
    better: list[str]  # those models
    compared: int  # models it shares at least one case with


def ranks(q: pd.DataFrame, policy: StatisticsPolicy, column: str = "accepted") -> dict[str, Rank]:
    """LMArena's "Rank (UB)" done paired: one plus the number of models that are better than
    this one at the policy's two-sided level on the cases the two share. Models that share no
    case are not compared (and so never outrank each other). Exact up to the policy's
    ``permutation_exact_max`` non-zero differences, the normal limit above."""
    models = sorted(distinct(q["model_id"])) if not q.empty else []
    # A board of M models makes M(M−1)/2 tests, on every board of the site: beyond the exact range
    # they read the sign-flip distribution's normal limit rather than resampling it (ranks are a
    # reading aid; promotions and gates keep the Monte Carlo test).
    policy = policy.model_copy(update={"permutation_normal_above": policy.permutation_exact_max})
    by = split_by_model(q)
    series = {m: case_values(case_means(by.get(m, q.iloc[:0]), m, column)) for m in models}
    one_repeat = {m: bool((by.get(m, q.iloc[:0])["n"] == 1).all()) for m in models}
    coded = coded_values(series)
    better: dict[str, list[str]] = {m: [] for m in models}
    compared = dict.fromkeys(models, 0)
    for i, mi in enumerate(models):
        for mj in models[i + 1 :]:
            if coded is not None:
                va, vb = shared_coded(coded, mi, mj)
            else:
                va, vb, _ = shared_values(series[mi], series[mj])
            if not len(va):
                continue
            compared[mi] += 1
            compared[mj] += 1
            d = vb - va
            if not np.any(d):
                continue
            test = test_diffs(d, one_repeat[mi] and one_repeat[mj], policy)
            if test.p_value < policy.alpha:
                (better[mi] if d.mean() > 0 else better[mj]).append(mj if d.mean() > 0 else mi)
    return {m: Rank(m, 1 + len(better[m]), sorted(better[m]), compared[m]) for m in models}


# --- Fragility ---------------------------------------------------------------------------------


@dataclass
class Fragility:
    """The smallest number of case outcomes that would change a verdict, and how."""

    flips: int | None
    text: str


def outcome_fragility(
    verdict_of: Callable[[np.ndarray], str],
    values: np.ndarray,
    lo: float = 0.0,
    hi: float = 1.0,
    words: tuple[str, str] = ("fail", "pass"),
) -> Fragility:
    """Smallest m such that moving m cases' outcomes to ``lo`` (the m highest first) or to
    ``hi`` (the m lowest first) changes ``verdict_of(values)``; found by bisection (verdicts
    move monotonically with outcomes). ``words`` say what a move toward ``lo`` and toward
    ``hi`` means for this metric ("fail" / "pass" for acceptance)."""
    values = np.asarray(values, dtype=float)
    base = verdict_of(values)
    best: tuple[int, str] | None = None
    for direction, target, word in (("down", lo, words[0]), ("up", hi, words[1])):
        order = np.argsort(-values if direction == "down" else values, kind="stable")
        movable = int(np.sum(values > lo)) if direction == "down" else int(np.sum(values < hi))
        if movable == 0:
            continue

        def moved(m: int, order: np.ndarray = order, target: float = target) -> np.ndarray:
            v = values.copy()
            v[order[:m]] = target
            return v

        if verdict_of(moved(movable)) == base:
            continue
        lo_m, hi_m = 1, movable
        while lo_m < hi_m:
            mid = (lo_m + hi_m) // 2
            if verdict_of(moved(mid)) != base:
                hi_m = mid
            else:
                lo_m = mid + 1
        new = verdict_of(moved(lo_m))
        if best is None or lo_m < best[0]:
            noun = "case" if lo_m == 1 else "cases"
            best = (lo_m, f"flips to {new} if {lo_m} more {noun} {word}")
    if best is None:
        return Fragility(None, "no change of case outcomes flips it")
    return Fragility(best[0], best[1])


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment over the p-values that exist (None stays None)."""
    idx = [i for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted = st.holm([float(p_values[i]) for i in idx]) if idx else []  # type: ignore[arg-type]
    out: list[float | None] = [None] * len(p_values)
    for i, p in zip(idx, adjusted, strict=True):
        out[i] = p
    return out

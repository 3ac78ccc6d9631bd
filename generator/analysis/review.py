"""Human review as evidence: scores, the gap to the baseline, and agreement. Pure: no file I/O.

Inputs are the grades (``ReviewRecord``s, read by ``generator.review.store.load_reviews``)
and the graded results as the run store holds them (``load_review_evidence``: the checks'
``accepted`` and each judge's score). The unit is the graded result: when several
reviewers graded one result, their grades are averaged first, so a result counts once.

- **Human score** per workload, model and dimension: the mean over graded results with a
  percentile bootstrap interval over them (policy.yaml ``review``: resamples, seed, level).
- **Gap** of each other model to the workload's baseline, per dimension, on the cases both
  were graded on: the mean over shared cases of (model's case mean − baseline's case mean),
  bootstrapped over those cases. Positive: the model was graded better than the baseline.
- **Agreement** (Cohen's kappa, ``generator.analysis.stats.cohen_kappa``) between "human
  acceptable" (every dimension at least ``review.acceptable_score``) and the deterministic
  checks' verdict, each judge's verdict (score at least ``review.judge_acceptable_score``),
  and between two judges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import pandas as pd

from generator.analysis.stats import bootstrap_mean_ci, cohen_kappa
from generator.registry.schema import ReviewPolicy
from generator.runs.records import ReviewRecord

HUMAN = "human"
CHECKS = "checks"


def judge_rater(judge_id: str) -> str:
    return f"judge:{judge_id}"


@dataclass(frozen=True)
class HumanScore:
    workload: str
    model_id: str
    dimension: str
    n: int  # graded results
    mean: float
    low: float | None  # None with fewer than two results
    high: float | None


@dataclass(frozen=True)
class BaselineGap:
    workload: str
    model_id: str
    baseline: str
    dimension: str
    n_cases: int  # cases graded for both
    gap: float | None  # model − baseline; None without a shared case
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Agreement:
    workload: str
    rater_a: str
    rater_b: str
    n: int
    observed: float | None  # share of results on which the two agree
    kappa: float | None
    note: str | None  # why kappa is missing ("not enough data ...")


@dataclass
class ReviewReport:
    level: float
    acceptable_score: int
    judge_acceptable_score: int
    grades: int  # lines of reviews.jsonl read
    results: int  # distinct graded results
    unmatched: int  # graded results no longer in the run store (no checks or judges to compare)
    scores: list[HumanScore] = field(default_factory=list)
    gaps: list[BaselineGap] = field(default_factory=list)
    agreement: list[Agreement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def grades_frame(records: list[ReviewRecord]) -> pd.DataFrame:
    """One row per graded result and dimension: the mean over its reviewers."""
    long = pd.DataFrame(
        [
            (r.workload, r.model_id, r.case_id, r.run_id, r.key, dim, float(score))
            for r in records
            for dim, score in r.scores.items()
        ],
        columns=["workload", "model_id", "case_id", "run_id", "key", "dimension", "score"],
    )
    keys = ["workload", "model_id", "case_id", "run_id", "key", "dimension"]
    return long.groupby(keys, as_index=False, sort=True)["score"].mean()


def _scores(items: pd.DataFrame, pol: ReviewPolicy) -> list[HumanScore]:
    out = []
    for (w, m, d), g in items.groupby(["workload", "model_id", "dimension"], sort=True):
        iv = bootstrap_mean_ci(
            g["score"].tolist(), n_resamples=pol.bootstrap_resamples, seed=pol.bootstrap_seed, level=pol.interval_level
        )
        out.append(HumanScore(str(w), str(m), str(d), len(g), iv.estimate, _finite(iv.low), _finite(iv.high)))
    return out


def _gaps(
    items: pd.DataFrame, baselines: dict[str, str | None], pol: ReviewPolicy, notes: list[str]
) -> list[BaselineGap]:
    out = []
    per_case = items.groupby(["workload", "model_id", "dimension", "case_id"], as_index=False)["score"].mean()
    for w, wg in per_case.groupby("workload", sort=True):
        base = baselines.get(str(w))
        if base is None:
            notes.append(f"{w}: no baseline in workloads.yaml, so no gap to one")
            continue
        if base not in set(wg["model_id"]):
            notes.append(f"{w}: the baseline {base} has no grades, so no gap to it")
            continue
        for m in sorted(set(wg["model_id"]) - {base}):
            for d in sorted(set(wg["dimension"])):
                mine = wg[(wg["model_id"] == m) & (wg["dimension"] == d)].set_index("case_id")["score"]
                theirs = wg[(wg["model_id"] == base) & (wg["dimension"] == d)].set_index("case_id")["score"]
                shared = sorted(set(mine.index) & set(theirs.index))
                diffs = [float(mine[c] - theirs[c]) for c in shared]
                if not diffs:
                    out.append(BaselineGap(str(w), m, base, d, 0, None, None, None))
                    continue
                iv = bootstrap_mean_ci(
                    diffs, n_resamples=pol.bootstrap_resamples, seed=pol.bootstrap_seed, level=pol.interval_level
                )
                out.append(BaselineGap(str(w), m, base, d, len(diffs), iv.estimate, _finite(iv.low), _finite(iv.high)))
    return out


def _agreement(items: pd.DataFrame, evidence: pd.DataFrame, pol: ReviewPolicy) -> tuple[list[Agreement], int]:
    """Kappa of each rater pair per workload, and how many graded results had no evidence row."""
    human = (
        items.groupby(["workload", "run_id", "key"], as_index=False)["score"]
        .min()  # every dimension at least the bar <=> the lowest one is
        .assign(human=lambda f: f["score"] >= pol.acceptable_score)
        .drop(columns="score")
    )
    ev = evidence.drop_duplicates(["run_id", "key"])
    joined = human.merge(ev[["run_id", "key", "accepted", "judge_scores"]], on=["run_id", "key"], how="left")
    matched = joined[joined["accepted"].notna()]
    unmatched = len(joined) - len(matched)
    out: list[Agreement] = []
    for w, g in matched.groupby("workload", sort=True):
        verdicts: dict[str, dict[tuple[str, str], bool]] = {
            HUMAN: {(r.run_id, r.key): bool(r.human) for r in g.itertuples()},
            CHECKS: {(r.run_id, r.key): bool(r.accepted) for r in g.itertuples()},
        }
        judges = sorted({j for scores in g["judge_scores"] for j in (scores or {})})
        for j in judges:
            verdicts[judge_rater(j)] = {
                (r.run_id, r.key): r.judge_scores[j] >= pol.judge_acceptable_score
                for r in g.itertuples()
                if (r.judge_scores or {}).get(j) is not None
            }
        pairs = [(CHECKS, HUMAN)] + [(judge_rater(j), HUMAN) for j in judges]
        pairs += [(judge_rater(a), judge_rater(b)) for a, b in combinations(judges, 2)]
        for a, b in pairs:
            shared = sorted(set(verdicts[a]) & set(verdicts[b]))
            k = cohen_kappa([verdicts[a][s] for s in shared], [verdicts[b][s] for s in shared])
            out.append(Agreement(str(w), a, b, k.n, k.observed, k.kappa, k.note))
    return out, unmatched


def review_report(
    records: list[ReviewRecord],
    evidence: pd.DataFrame,
    baselines: dict[str, str | None],
    policy: ReviewPolicy,
    workload: str | None = None,
) -> ReviewReport:
    """Everything ``opsbench review report`` prints, for one workload or all that have grades.

    ``baselines`` maps a workload id to its hosted baseline model (``Workload.baseline``).
    """
    chosen = [r for r in records if workload is None or r.workload == workload]
    report = ReviewReport(
        level=policy.interval_level,
        acceptable_score=policy.acceptable_score,
        judge_acceptable_score=policy.judge_acceptable_score,
        grades=len(chosen),
        results=len({(r.run_id, r.key) for r in chosen}),
        unmatched=0,
    )
    if not chosen:
        return report
    items = grades_frame(chosen)
    report.scores = _scores(items, policy)
    report.gaps = _gaps(items, baselines, policy, report.notes)
    report.agreement, report.unmatched = _agreement(items, evidence, policy)
    if report.unmatched:
        report.notes.append(
            f"{report.unmatched} graded result(s) are no longer in the run store: "
            "they count in the human scores but not in the agreement"
        )
    return report

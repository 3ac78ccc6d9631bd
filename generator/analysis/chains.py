"""Escalation chains per role, computed from runs of each rung on the same cases.

A chain (``roles.yaml`` ``escalation``) tries its rungs in order: local incumbent, bigger
local model, hosted baseline. A rung passes an item on when one of its triggers fires on
its answer. From the stored runs of every rung, per case at the quality level (the
evidence table's cell: repeats averaged, lowest load level):

* ``f_k``: the share of rung k's requests on which a trigger fires (the last rung answers
  whatever it gives: it has no one to pass to);
* ``a_k``: the share that answer (no trigger) and are accepted;
* reach_1 = 1, reach_{k+1} = reach_k × f_k; the chain's acceptance on the case is
  Σ reach_k × a_k, rung k answers reach_k × (1 − f_k) of it, the cost is Σ reach_k × cost_k
  and the added latency Σ_{k≥2} reach_k × latency_k.

Rungs are treated as independent given the case (one rung's luck on a repeat says nothing
about the next one's). A case is counted only when every rung it can reach was measured on
it; the others are listed, never filled in.

``check_failed`` fires on the checks that live traffic can run: those that do not compare
with the case's expected answer (``exact_field`` and ``label`` do; see
``registry/routing_checks.py``). A trigger that reads the expected answer would make the
chain an oracle. ``verifier_reject`` needs each verifier's own score, which the stored
results do not keep apart from the judges' mean: it is evaluated live only and says so.

Pure: frames and registry records in, records out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.evidence import flag_cells
from generator.registry.routing_checks import REFERENCE_CHECKS
from generator.registry.schema import EscalationTriggers


def deployable_failures(failed_checks: pd.Series) -> pd.Series:
    """Per request: did a check that live traffic can run fail? (``failed_checks`` is the
    frame's ``kind:id`` lines)."""
    text = failed_checks.fillna("").astype(str)

    def any_deployable(s: str) -> bool:
        return any(line.split(":", 1)[0] not in REFERENCE_CHECKS for line in s.split("\n") if line)

    return text.map(any_deployable).astype(bool)


def trigger_fired(df: pd.DataFrame, on: EscalationTriggers) -> pd.Series:
    """Per request row: does any of the chain's triggers fire on it?"""
    failed = df["status"].eq("failed")
    fired = pd.Series(False, index=df.index)
    if on.check_failed and "failed_checks" in df:
        fired |= ~failed & deployable_failures(df["failed_checks"])
    if on.timeout:
        fired |= failed & df["failure_kind"].eq("timeout").fillna(False).astype(bool)
    if on.hard_failure:
        fired |= failed
    if on.judge_below is not None and "judge_mean" in df:
        judge = pd.to_numeric(df["judge_mean"], errors="coerce")
        fired |= judge.lt(on.judge_below).fillna(False).astype(bool)
    return fired


@dataclass
class RungShare:
    model_id: str
    reached: float  # mean over cases of the share of items that reach this rung
    answered: float  # ... that this rung answers
    acceptance_alone: float | None  # this rung alone on the same cases (quality cells)


@dataclass
class ChainOutcome:
    role: str
    rungs: list[str]
    triggers: list[str]
    cases: int
    acceptance: float | None
    acceptance_ci: tuple[float, float] | None
    escalation_rate: float | None  # share of items the first rung passes on
    shares: list[RungShare]
    cost_per_task: float | None  # in the pricing currency; None: a needed rung's cost is unknown
    cost_known_cases: int
    added_latency_s: float | None  # mean seconds over rung 1's own latency
    incomplete: list[str] = field(default_factory=list)  # cases a reachable rung was not measured on
    not_evaluated: list[str] = field(default_factory=list)
    per_case: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def summary(self) -> str:
        if self.acceptance is None:
            return "no case measured on every rung it can reach"
        lo, hi = self.acceptance_ci or (float("nan"), float("nan"))
        answered = ", ".join(f"{s.model_id} {s.answered:.0%}" for s in self.shares)
        return (
            f"acceptance {self.acceptance:.0%} [{lo:.0%}, {hi:.0%}] on {self.cases} cases; "
            f"escalation rate {self.escalation_rate:.0%}; answered by {answered}"
        )


def _rung_cells(df: pd.DataFrame, model_id: str, on: EscalationTriggers | None, label: bool) -> pd.DataFrame:
    rows = df[df["model_id"] == model_id]
    if rows.empty:
        return pd.DataFrame(columns=["case_id", "fired", "ok_answer", "hit_answer", "accepted", "cost", "e2e_s"])
    fired = trigger_fired(rows, on) if on is not None else pd.Series(False, index=rows.index)
    accepted = rows["accepted"].fillna(False).astype(bool) & rows["status"].eq("ok")
    hit = rows["status"].eq("ok") & rows["predicted_label"].astype(object).eq(rows["expected_label"].astype(object))
    work = pd.DataFrame(
        {
            "model_id": rows["model_id"],
            "case_id": rows["case_id"],
            "concurrency": rows.get("concurrency", pd.NA),
            "fired": fired,
            "ok_answer": ~fired & accepted,
            "hit_answer": (~fired & hit) if label else pd.Series(np.nan, index=rows.index),
            "accepted": accepted,
            "cost": pd.to_numeric(rows["cost_per_task"], errors="coerce") if "cost_per_task" in rows else np.nan,
            "e2e_s": pd.to_numeric(rows["e2e_s"], errors="coerce") if "e2e_s" in rows else np.nan,
        }
    )
    cols = ["fired", "ok_answer", "hit_answer", "accepted", "cost", "e2e_s"]
    return flag_cells(work, cols).set_index("case_id")[cols]


def chain_outcome(
    df: pd.DataFrame,
    role: str,
    rungs: Sequence[str],
    on: EscalationTriggers,
    case_ids: Sequence[str] | None = None,
) -> ChainOutcome:
    """The chain's outcome per case and over cases, from the rows ``df`` of every rung.

    ``case_ids``: the cases to judge on (default: every case the first rung was measured on).
    """
    rungs = list(rungs)
    label = bool(len(df)) and df["expected_label"].notna().any() if "expected_label" in df else False
    per_rung = [_rung_cells(df, m, on if k < len(rungs) - 1 else None, label) for k, m in enumerate(rungs)]
    cases = list(case_ids) if case_ids is not None else sorted(per_rung[0].index)
    records = []
    incomplete = []
    for cid in cases:
        reach = 1.0
        acc = hit = cost = lat = 0.0
        cost_known = True
        answered = []
        reached = []
        complete = True
        for k, cells in enumerate(per_rung):
            if reach <= 0:
                answered.append(0.0)
                reached.append(0.0)
                continue
            if cid not in cells.index:
                complete = False
                break
            c = cells.loc[cid]
            f = float(c["fired"]) if k < len(rungs) - 1 else 0.0
            reached.append(reach)
            answered.append(reach * (1 - f))
            acc += reach * float(c["ok_answer"])
            hit += reach * (float(c["hit_answer"]) if label and not pd.isna(c["hit_answer"]) else 0.0)
            if pd.isna(c["cost"]):
                cost_known = False
            else:
                cost += reach * float(c["cost"])
            if k > 0 and not pd.isna(c["e2e_s"]):
                lat += reach * float(c["e2e_s"])
            reach *= f
        if not complete:
            incomplete.append(cid)
            continue
        records.append(
            {
                "case_id": cid,
                "acceptance": acc,
                "label_hit": hit if label else np.nan,
                "cost": cost if cost_known else np.nan,
                "added_latency_s": lat,
                **{f"answered_{k}": a for k, a in enumerate(answered)},
                **{f"reached_{k}": r for k, r in enumerate(reached)},
            }
        )
    per_case = pd.DataFrame(records)
    not_eval = ["verifier_reject (evaluated live only)"] if on.verifier_reject else []
    if per_case.empty:
        return ChainOutcome(
            role, rungs, on.names(), 0, None, None, None, [], None, 0, None, incomplete, not_eval, per_case
        )
    n = len(per_case)
    ci = st.wilson(float(per_case["acceptance"].sum()), n)
    shares = []
    for k, m in enumerate(rungs):
        alone = per_rung[k].reindex(per_case["case_id"])["accepted"].dropna()
        shares.append(
            RungShare(
                m,
                float(per_case[f"reached_{k}"].mean()),
                float(per_case[f"answered_{k}"].mean()),
                float(alone.mean()) if len(alone) else None,
            )
        )
    costs = per_case["cost"].dropna()
    return ChainOutcome(
        role=role,
        rungs=rungs,
        triggers=on.names(),
        cases=n,
        acceptance=float(per_case["acceptance"].mean()),
        acceptance_ci=(ci.low, ci.high),
        escalation_rate=1.0 - shares[0].answered,
        shares=shares,
        cost_per_task=float(costs.mean()) if len(costs) == n else None,
        cost_known_cases=len(costs),
        added_latency_s=float(per_case["added_latency_s"].mean()),
        incomplete=incomplete,
        not_evaluated=not_eval,
        per_case=per_case,
    )


def remaining_rungs(rungs: Sequence[str], model_id: str) -> list[str]:
    """Where an item escalated from ``model_id`` goes: the rungs after it, or the whole chain
    when the model is not on it."""
    rungs = list(rungs)
    return rungs[rungs.index(model_id) + 1 :] if model_id in rungs else rungs

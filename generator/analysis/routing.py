"""One workload's routing evidence, assembled once for ``opsbench decide``, the workload pages
and ``opsbench export-routing``: input-length evidence, the guard rails, the decisions before
and after the rails (the finding is the after-rails one), and the escalation chain of each of
its roles on its cases.

Pure: frames and the registry in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from generator.analysis.chains import ChainOutcome, chain_outcome
from generator.analysis.decisions import Decision, decide
from generator.analysis.evidence import distinct, split_by
from generator.analysis.length import LengthEvidence, workload_length_evidence
from generator.analysis.rails import RailsFigures, RoutingClaimResult, after_rails, routing_claims
from generator.privacy import localities
from generator.registry.loader import Registry
from generator.registry.schema import Workload


@dataclass
class WorkloadRouting:
    workload: str
    decisions: list[Decision]  # the finding: after the rails where the workload has rules
    before: list[Decision]  # the same gates on the raw answers
    rails: dict[str, RailsFigures] = field(default_factory=dict)
    lengths: dict[str, dict[str, LengthEvidence]] = field(default_factory=dict)
    chains: list[ChainOutcome] = field(default_factory=list)


def workload_cases(reg: Registry, workload: Workload) -> dict:
    return {c.id: c for _, c in reg.all_cases() if c.workload == workload.id}


def workload_routing(
    reg: Registry,
    df: pd.DataFrame,
    q: pd.DataFrame,
    workload: Workload,
    roi_net_per_month: float | None,
    decide_after: bool = True,
) -> WorkloadRouting:
    """Everything the routing of one workload is decided on (``df`` priced: ``priced_rows``; any
    workload's rows, this one's are read). Without ``decide_after`` the decisions are the
    before-rails ones, for a caller that makes the after-rails decisions itself (``verdicts``)."""
    pol = reg.policy
    cases = workload_cases(reg, workload)
    wdf = df[df["workload"] == workload.id] if len(df) else df
    df = wdf  # the analyses below read this workload's rows only
    measured = sorted(distinct(wdf["model_id"])) if len(wdf) else []
    models = list(dict.fromkeys([*workload.candidates, *measured]))
    lengths = workload_length_evidence(q, wdf, cases, workload, models, pol.routing) if len(q) else {}
    rails = after_rails(df, workload, reg.roles, cases, models, pol.routing, q, lengths)
    excerpt = pol.scoring.output_excerpt_chars
    args = (df, workload, pol.decisions, workload.candidates, pol.statistics, excerpt, roi_net_per_month)
    privacy = {"privacy": pol.privacy, "postures": localities(reg.models, pol.privacy)}
    before = decide(*args, q=q, **privacy)
    after = (
        decide(*args, q=q, after_rails={m: f.after for m, f in rails.items() if f.after is not None}, **privacy)
        if rails and decide_after
        else before
    )
    chains = []
    for rid in workload.roles:
        role = reg.roles.get(rid)
        if role is None or role.escalation is None or wdf.empty:
            continue
        rdf = wdf[wdf["role"] == rid]
        if rdf.empty:
            continue
        first = role.escalation.rungs[0]
        ids = sorted(distinct(rdf.loc[rdf["model_id"] == first, "case_id"]))
        chains.append(chain_outcome(rdf, rid, role.escalation.rungs, role.escalation.on, ids))
    return WorkloadRouting(workload.id, after, before, rails, lengths, chains)


def routing_report(
    reg: Registry,
    df: pd.DataFrame,
    q: pd.DataFrame,
    roi: dict[str, float | None],
    decide_after: bool = True,
    by_workload: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict[str, WorkloadRouting], list[RoutingClaimResult]]:
    """Every workload's routing evidence, and the seed routing figures computed from it.
    ``by_workload``: ``df`` split by workload (``evidence.split_by``), when the caller has it."""
    by_w = split_by(df, "workload") if by_workload is None else by_workload
    out = {
        w.id: workload_routing(reg, by_w.get(w.id, df.iloc[:0]), q, w, roi.get(w.id), decide_after)
        for w in reg.workloads_file.workloads
    }
    claims = routing_claims(reg.workloads_file.routing_claims, {w: r.rails for w, r in out.items()}, reg.workloads)
    return out, claims

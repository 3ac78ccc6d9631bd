"""Every workload's routing verdict, assembled once for the CLI, the site and the reports.

The order matters and is written only here: the guard rails first (what stays local, what a
rule sends to review, hosted or up a chain), then the economics on the after-rails local
share (each candidate's measured ROI and its net), then the decision, made on the
after-rails figures with that candidate's own net in its economic gate.

Pure: the registry, the (priced) results frame, manifests and quality cells in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from generator.analysis.economics import LocalShare, WorkloadEconomics, economics
from generator.analysis.evidence import split_by
from generator.analysis.rails import RoutingClaimResult
from generator.analysis.routing import WorkloadRouting, routing_report
from generator.registry.loader import Registry
from generator.runs.records import Manifest


@dataclass
class Verdicts:
    routing: dict[str, WorkloadRouting]
    claims: list[RoutingClaimResult]
    economics: dict[str, WorkloadEconomics]

    @property
    def decisions(self) -> dict[str, list]:
        return {w: r.decisions for w, r in self.routing.items()}


def assemble(reg: Registry, df: pd.DataFrame, manifests: list[Manifest], q: pd.DataFrame) -> Verdicts:
    """Rails → economics on the after-rails share → decisions after rails with each net."""
    by_workload = split_by(df, "workload")
    # The after-rails decisions are made once, below, with each candidate's net.
    routing, claims = routing_report(reg, df, q, {}, decide_after=False, by_workload=by_workload)
    shares = {
        (w, m): LocalShare(f.shares.get("local", 0.0), f"after rails ({', '.join(f.rules)})", measured=True)
        for w, r in routing.items()
        for m, f in r.rails.items()
        if f.rules
    }
    after = {w: {m: f.after for m, f in r.rails.items() if f.after is not None} for w, r in routing.items()}
    econ = economics(reg, df, manifests, q, local_shares=shares, after_rails=after, by_workload=by_workload)
    for w, r in routing.items():
        if w in econ:
            r.decisions = econ[w].decisions
    return Verdicts(routing, claims, econ)

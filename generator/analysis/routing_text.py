"""What ``opsbench decide`` and ``opsbench export-routing`` read and print: the routing evidence
of every workload (``routing.py``) loaded from the registry and the runs, as plain text or JSON.

No Click here: the commands parse, call these, and echo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generator.analysis.rails import RoutingClaimResult
from generator.analysis.routing import WorkloadRouting
from generator.analysis.serialize import json_safe
from generator.registry.loader import Registry
from generator.registry.schema import Workload
from generator.runs.records import Manifest


def load_routing(
    registry_dir: Path, runs_dir: Path
) -> tuple[Registry, dict[str, WorkloadRouting], list[RoutingClaimResult], list[Manifest]]:
    """Registry, every workload's routing evidence, the seed routing figures, and the runs read."""
    from generator.analysis.leaderboard import evidence_cells, priced_rows
    from generator.analysis.verdicts import assemble
    from generator.registry.loader import load_registry
    from generator.runs.scan import load_results

    reg = load_registry(registry_dir)
    df, manifests = load_results(runs_dir)
    df = priced_rows(reg, df, manifests)
    verdicts = assemble(reg, df, manifests, evidence_cells(df))
    return reg, verdicts.routing, verdicts.claims, manifests


def routing_for_cli(
    registry_dir: Path, runs_dir: Path
) -> tuple[Registry, dict[str, WorkloadRouting], list[RoutingClaimResult]]:
    reg, routing, claims, _ = load_routing(registry_dir, runs_dir)
    return reg, routing, claims


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def decide_text(
    workloads: list[Workload],
    routing: dict[str, WorkloadRouting],
    claims: list[RoutingClaimResult],
    table: Callable[[list[dict[str, Any]], list[str]], str],
) -> str:
    """The decisions as ``table`` (the CLI's plain-text table) draws them, then per workload the
    rails, the length limits and the chain, then the seed routing figures."""
    rows = []
    for w in workloads:
        r = routing[w.id]
        before = {d.model_id: d.finding for d in r.before}
        for d in r.decisions:
            rows.append(
                {
                    "workload": w.id,
                    "model": d.model_id,
                    "cases": d.cases,
                    "before rails": before.get(d.model_id, "—") if d.finding != "no-runs" else "",
                    "finding": d.finding if d.finding != "no-runs" else "no runs yet",
                    "route": d.route,
                    "fragility": d.fragility_text if d.finding != "no-runs" else "",
                    "why": d.reason,
                }
            )
    cols = ["workload", "model", "cases", "before rails", "finding", "route", "fragility", "why"]
    out = [table(rows, cols)]
    for w in workloads:
        r = routing[w.id]
        lines = []
        for m, f in r.rails.items():
            recall = "; ".join(
                f"{lab} recall {_pct(b)} -> {_pct(a)}" + (f" [{ci[0]:.0%}, {ci[1]:.0%}]" if ci else "")
                for lab, (b, a, ci, _) in f.recall.items()
            )
            lines.append(
                f"  rails {m}: {f.share_text}; acceptance of what stays local {_pct(f.local_acceptance)}"
                + (f" on {f.local_cases} cases" if f.local_cases else "")
                + (f"; {recall}" if recall else "")
            )
        for m, units in r.lengths.items():
            ev = units["words"]
            lines.append(f"  length {m}: limit {ev.interval_text} ({ev.basis})")
        for c in r.chains:
            lines.append(f"  chain {c.role} ({' -> '.join(c.rungs)}): {c.summary}")
        if lines:
            out += ["", f"{w.id}:", *lines]
    if claims:
        out += ["", "seed routing figures:"]
        for c in claims:
            got = _pct(c.computed) if c.derivable else "not derivable"
            out.append(f"  {c.id}: seed says {c.claim!r}; cases give {got} ({c.why})")
    return "\n".join(out)


def decide_payload(
    workloads: list[Workload], routing: dict[str, WorkloadRouting], claims: list[RoutingClaimResult]
) -> dict[str, Any]:
    items = []
    for w in workloads:
        r = routing[w.id]
        before = {d.model_id: d.finding for d in r.before}
        for d in r.decisions:
            item = json_safe(d)
            for g, res in zip(item["gates"], d.gates, strict=True):
                g["passed"], g["label"], g["rule"] = res.passed, res.label, res.rule
            item["finding_before_rails"] = before.get(d.model_id)
            item["guard_rules"] = w.guard_rules
            f = r.rails.get(d.model_id)
            item["rails"] = (
                None
                if f is None
                else {
                    "shares": f.shares,
                    "rule_shares": f.rule_shares,
                    "local_acceptance": f.local_acceptance,
                    "local_acceptance_ci": f.local_acceptance_ci,
                    "local_cases": f.local_cases,
                    "recall": {
                        k: dict(zip(["before", "after", "after_ci", "cases"], v, strict=True))
                        for k, v in f.recall.items()
                    },
                    "unmeasured_away": f.unmeasured_away,
                    "regex_timeouts": f.regex_timeouts,
                    "thresholds": f.thresholds,
                }
            )
            lengths = r.lengths.get(d.model_id, {})
            item["input_length"] = {
                u: {"limit": ev.limit, "low": ev.limit_low, "high": ev.limit_high, "basis": ev.basis}
                for u, ev in lengths.items()
            }
            items.append(item)
    chains = [
        {k: v for k, v in asdict(c).items() if k != "per_case"} | {"workload": w.id}
        for w in workloads
        for c in routing[w.id].chains
    ]
    return json_safe({"decisions": items, "chains": chains, "seed_routing": [asdict(c) for c in claims]})

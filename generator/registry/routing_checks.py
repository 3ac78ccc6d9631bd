"""Cross-checks of guard rules, escalation chains and routing claims (called by the loader).

A rule that names a check, label or model the registry does not have would silently never
fire; a chain that loops or ends in a local model has no hosted backstop. Each is reported
as ``file:line: message`` with every other problem, before anything is computed or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from generator.errors import Problem
from generator.registry.schema import LabelCheck

if TYPE_CHECKING:  # the loader imports this module; its types are for hints only
    from generator.registry.loader import Registry, _Locator


# Checks that compare the answer with the case's expected answer: production traffic has no
# expected answer, so a guard rule may not route on them.
REFERENCE_CHECKS = frozenset({"exact_field", "label"})


def workload_check_ids(reg: Registry, workload_id: str) -> dict[str, set[str]]:
    """Every check id of the workload's cases, with the kinds it has (what ``check_failed`` may name)."""
    out: dict[str, set[str]] = {}
    for _, c in reg.all_cases():
        if c.workload == workload_id:
            for cid, ch in zip(c.check_ids(), c.checks, strict=True):
                out.setdefault(cid, set()).add(ch.kind)
    return out


def workload_labels(reg: Registry, workload_id: str) -> set[str]:
    """Every label the workload's label checks allow (what ``output_label_in`` may name)."""
    return {
        label
        for _, c in reg.all_cases()
        if c.workload == workload_id
        for ch in c.checks
        if isinstance(ch, LabelCheck)
        for label in ch.labels
    }


def check_routing(reg: Registry, loc: _Locator) -> list[Problem]:
    out: list[Problem] = []
    models = reg.models
    scale_max = reg.policy.judge.scale_max

    def problem(name: str, path: list[Any], message: str) -> None:
        out.append(loc.problem(name, path, message))

    for i, role in enumerate(reg.roles_file.roles):
        chain = role.escalation
        if chain is None:
            continue
        base = ["roles", i, "escalation"]
        seen: set[str] = set()
        for j, rung in enumerate(chain.rungs):
            if rung not in models:
                problem("roles.yaml", [*base, "rungs", j], f"unknown model {rung!r}")
            if rung in seen:
                problem("roles.yaml", [*base, "rungs", j], f"the chain visits {rung!r} twice (a loop)")
            seen.add(rung)
        last = chain.rungs[-1]
        if last in models and models[last].provider != "hosted":
            problem(
                "roles.yaml",
                [*base, "rungs", len(chain.rungs) - 1],
                f"the chain ends in local model {last!r}: its last rung must be a hosted baseline",
            )
        trig = chain.on
        if trig.verifier_reject is not None and trig.verifier_reject not in models:
            problem("roles.yaml", [*base, "on", "verifier_reject"], f"unknown model {trig.verifier_reject!r}")
        if trig.judge_below is not None and trig.judge_below > scale_max:
            problem(
                "roles.yaml",
                [*base, "on", "judge_below"],
                f"judge_below {trig.judge_below:g} is above judge.scale_max {scale_max}",
            )

    routing = reg.policy.routing
    chained_roles = {r.id for r in reg.roles_file.roles if r.escalation is not None}
    for i, w in enumerate(reg.workloads_file.workloads):
        checks = workload_check_ids(reg, w.id)
        labels = workload_labels(reg, w.id)
        ids: set[str] = set()
        for j, rule in enumerate(w.rules):
            base = ["workloads", i, "rules", j]
            if rule.id in ids:
                problem("workloads.yaml", [*base, "id"], f"duplicate rule id {rule.id!r}")
            ids.add(rule.id)
            cond = rule.when
            for k, cid in enumerate(cond.check_failed):
                if cid not in checks:
                    problem(
                        "workloads.yaml",
                        [*base, "when", "check_failed", k],
                        f"unknown check {cid!r}: no case of workload {w.id!r} has it "
                        f"(known: {', '.join(sorted(checks)) or 'none'})",
                    )
                elif checks[cid] & REFERENCE_CHECKS:
                    problem(
                        "workloads.yaml",
                        [*base, "when", "check_failed", k],
                        f"check {cid!r} compares with the expected answer ({', '.join(sorted(checks[cid]))}), "
                        "which live traffic does not have: a rule cannot route on it",
                    )
            for k, label in enumerate(cond.output_label_in):
                if label not in labels:
                    problem(
                        "workloads.yaml",
                        [*base, "when", "output_label_in", k],
                        f"unknown label {label!r}: no label check of workload {w.id!r} allows it "
                        f"(known: {', '.join(sorted(labels)) or 'none'})",
                    )
            if cond.input_regex is not None and len(cond.input_regex) > routing.regex_max_chars:
                problem(
                    "workloads.yaml",
                    [*base, "when", "input_regex"],
                    f"regex of {len(cond.input_regex)} characters is longer than policy routing.regex_max_chars "
                    f"{routing.regex_max_chars}",
                )
            if cond.judge_below is not None and cond.judge_below > scale_max:
                problem(
                    "workloads.yaml",
                    [*base, "when", "judge_below"],
                    f"judge_below {cond.judge_below:g} is above judge.scale_max {scale_max}",
                )
            if rule.action == "hosted":
                target = rule.model or w.baseline
                where = [*base, "model"] if rule.model else [*base, "action"]
                if target is None:
                    problem("workloads.yaml", where, "action hosted needs model: (the workload has no baseline)")
                elif target not in models:
                    problem("workloads.yaml", where, f"unknown model {target!r}")
                elif models[target].provider != "hosted":
                    problem("workloads.yaml", where, f"{target!r} is a local model; action hosted needs a hosted one")
            if rule.action == "escalate" and not set(w.roles) & chained_roles:
                problem(
                    "workloads.yaml",
                    [*base, "action"],
                    f"action escalate needs an escalation chain on one of the roles {w.roles} (roles.yaml)",
                )

    known = reg.workloads
    for i, claim in enumerate(reg.workloads_file.routing_claims):
        base = ["routing_claims", i]
        for j, wid in enumerate(claim.workloads):
            if wid not in known:
                problem("workloads.yaml", [*base, "workloads", j], f"unknown workload {wid!r}")
        if claim.model is not None and claim.model not in models:
            problem("workloads.yaml", [*base, "model"], f"unknown model {claim.model!r}")
        if claim.label is not None and claim.workloads[0] in known:
            labels = workload_labels(reg, claim.workloads[0])
            if claim.label not in labels:
                problem("workloads.yaml", [*base, "label"], f"unknown label {claim.label!r}")
    return out

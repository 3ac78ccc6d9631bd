"""Counts over a loaded registry, for `opsbench validate` and the site."""

from __future__ import annotations

from collections import Counter
from typing import Any

from generator.registry.loader import Registry


def registry_summary(reg: Registry) -> dict[str, Any]:
    cases = reg.all_cases()
    per_role = Counter(c.role for _, c in cases)
    per_workload = Counter(c.workload or "(none)" for _, c in cases)
    return {
        "models": len(reg.models_file.models),
        "roles": len(reg.roles_file.roles),
        "workloads": len(reg.workloads_file.workloads),
        "machines": len(reg.hardware.machines),
        "cases": len(cases),
        "suites": {s: len(suite.cases) for s, suite in sorted(reg.suites.items())},
        "cases_per_role": {r.id: per_role.get(r.id, 0) for r in reg.roles_file.roles},
        "cases_per_workload": {
            **{w.id: per_workload.get(w.id, 0) for w in reg.workloads_file.workloads},
            **({"(none)": per_workload["(none)"]} if per_workload.get("(none)") else {}),
        },
        "registry_hash": reg.content_hash,
    }

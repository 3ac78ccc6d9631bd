"""Per-workload gates and findings (keep / fix / defer / reject) from measured results.

Pure: a frame and registry records in, plain records out. The mapping from a
failed gate to a finding lives in ``policy.yaml`` (``decisions.gate_kinds``),
never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from generator.analysis.levels import lowest_level
from generator.registry.schema import DecisionPolicy, Gate, Workload


@dataclass
class GateResult:
    gate: Gate
    value: float | None
    n: int
    passed: bool | None  # None: no data to judge
    level: int | None = None  # latency gates: the load level (requests in flight) judged

    @property
    def label(self) -> str:
        extra = f" ({self.gate.label})" if self.gate.label else ""
        level = self.gate.concurrency if self.gate.concurrency is not None else self.level
        at = f" at {level} in flight" if level is not None else ""
        return f"{self.gate.metric}{extra}{at}"


@dataclass
class Decision:
    workload: str
    model_id: str
    cases: int
    finding: str  # keep / fix / defer / reject / no-runs / undecided
    route: str
    gates: list[GateResult] = field(default_factory=list)
    failing_cases: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""


# The columns the gates read (see metric_value).
GATE_COLUMNS = [
    "model_id",
    "case_id",
    "status",
    "failure_kind",
    "cold_start",
    "accepted",
    "review_pain",
    "policy_violation",
    "unsupported_claim",
    "json_checked",
    "json_valid",
    "expected_label",
    "predicted_label",
    "e2e_s",
    "concurrency",
]
LATENCY_METRICS = ("p95_latency_s", "p50_latency_s")


def _per_case_rate(df: pd.DataFrame, col: str) -> tuple[float | None, int]:
    if df.empty:
        return None, 0
    per_case = df.groupby("case_id")[col].mean()
    return float(per_case.mean()), len(per_case)


def metric_value(df: pd.DataFrame, gate: Gate) -> tuple[float | None, int]:
    """The measured value of one gate's metric on one model's results for one workload."""
    ok = df[df["status"] == "ok"]
    warm = ok[~ok["cold_start"]]
    if warm.empty:
        warm = ok
    m = gate.metric
    if m == "acceptance_rate":
        return _per_case_rate(df, "accepted")
    if m == "hard_failure_rate":
        return _per_case_rate(df.assign(hard=df["status"] == "failed"), "hard")
    if m == "review_pain":
        return _per_case_rate(df, "review_pain")
    if m in ("policy_violation_rate", "unsupported_claim_rate"):
        col = "policy_violation" if m == "policy_violation_rate" else "unsupported_claim"
        return _per_case_rate(ok, col)
    if m == "json_valid_rate":
        return _per_case_rate(ok[ok["json_checked"]], "json_valid")
    if m == "class_recall":
        rows = ok[ok["expected_label"] == gate.label]
        if rows.empty:
            return None, 0
        return float((rows["predicted_label"] == gate.label).mean()), int(rows["case_id"].nunique())
    if m in LATENCY_METRICS:
        level = gate.concurrency if gate.concurrency is not None else lowest_level(ok)
        if level is not None and "concurrency" in df.columns:
            ok = ok[ok["concurrency"] == level]
            warm = ok[~ok["cold_start"]]
            if warm.empty:
                warm = ok
        if warm.empty:
            return None, 0
        q = 0.95 if m == "p95_latency_s" else 0.5
        return float(warm["e2e_s"].quantile(q)), len(warm)
    if m == "cold_start_s":
        cold = ok[ok["cold_start"]]
        if cold.empty:
            return None, 0
        return float(cold["e2e_s"].median()), len(cold)
    raise ValueError(f"unknown metric {m}")  # the schema's Literal makes this unreachable


def _passes(gate: Gate, value: float) -> bool:
    return value >= gate.value if gate.op == ">=" else value <= gate.value


def decide(
    df: pd.DataFrame,
    workload: Workload,
    policy: DecisionPolicy,
    model_ids: list[str],
    excerpt_chars: int = 200,
    roi_net_per_month: float | None = None,
) -> list[Decision]:
    """One decision per candidate model (and any other model measured on the workload).

    ``roi_net_per_month`` (from the ROI analysis) turns a would-be keep into a defer
    when localizing the workload does not pay (the policy's economic gate).
    """
    if not df.empty:
        # Shallow (copy-on-write) relabelling, so that a failing row's text can be looked up
        # by label below; the filter copies only the columns the gates read, not the outputs.
        df = df.reset_index(drop=True)
        wdf = df.loc[df["workload"] == workload.id, [c for c in GATE_COLUMNS if c in df.columns]]
    else:
        wdf = df
    measured = sorted(set(wdf["model_id"])) if not wdf.empty else []
    out: list[Decision] = []
    for model_id in list(dict.fromkeys([*model_ids, *measured])):
        mdf = wdf[wdf["model_id"] == model_id] if not wdf.empty else wdf
        if mdf.empty:
            out.append(Decision(workload.id, model_id, 0, "no-runs", "—", reason="no runs yet"))
            continue
        results = []
        for gate in workload.gates:
            value, n = metric_value(mdf, gate)
            level = lowest_level(mdf[mdf["status"] == "ok"]) if gate.metric in LATENCY_METRICS else None
            results.append(GateResult(gate, value, n, None if value is None else _passes(gate, value), level))
        failed_kinds = {r.gate.kind for r in results if r.passed is False}
        findings = {policy.gate_kinds[k].finding_on_fail for k in failed_kinds if k in policy.gate_kinds}
        unknown = [r for r in results if r.passed is None]
        if findings:
            finding = next(f for f in policy.order if f in findings)
            failing = ", ".join(r.label for r in results if r.passed is False)
            reason = f"failing gate(s): {failing}"
            if finding == "fix":
                fixes = [
                    policy.remedies[r.gate.metric]
                    for r in results
                    if r.passed is False and r.gate.metric in policy.remedies
                ]
                if fixes:
                    reason += ". Bounded change: " + " ".join(dict.fromkeys(fixes))
        elif unknown:
            finding = "undecided"
            reason = "no data for: " + ", ".join(r.label for r in unknown)
        elif roi_net_per_month is not None and roi_net_per_month <= 0 and "economic" in policy.gate_kinds:
            finding = policy.gate_kinds["economic"].finding_on_fail
            reason = f"every gate passes, but the net return is {roi_net_per_month:,.0f} per month"
        else:
            finding = "keep"
            reason = "every gate passes"
        route = {
            "keep": workload.route_if_kept,
            "fix": "hosted until fixed",
            "defer": "hosted",
            "reject": "hosted" if workload.baseline else "reject",
            "undecided": "hosted",
        }[finding]
        fails = mdf[~mdf["accepted"]].drop_duplicates("case_id").sort_values("case_id")
        text = df.loc[fails.index, [c for c in ("failure_summary", "output") if c in df.columns]]
        failing_cases = [
            {
                "case_id": str(r.case_id),
                "status": str(r.status),
                "failure_kind": r.failure_kind if isinstance(r.failure_kind, str) else "",
                "what": what if isinstance(what, str) else "",
                "excerpt": (output[:excerpt_chars] if isinstance(output, str) else ""),
            }
            for r, what, output in zip(
                fails.itertuples(),
                text.get("failure_summary", pd.Series(None, index=text.index, dtype=object)),
                text.get("output", pd.Series(None, index=text.index, dtype=object)),
                strict=True,
            )
        ]
        out.append(
            Decision(
                workload.id,
                model_id,
                int(mdf["case_id"].nunique()),
                finding,
                route,
                results,
                failing_cases,
                reason,
            )
        )
    return out

"""Per-workload gates and findings (keep / fix / defer / reject / insufficient-evidence).

Every gate is judged on an interval, never on a point estimate: an "at least" gate
passes when its 95 % lower bound clears the threshold and fails when even its upper
bound misses it; in between the honest answer is *insufficient evidence*. Rates are
per case (the evidence table's quality cells: repeats averaged, the lowest load level),
with Wilson intervals on the per-case means; review pain has a bootstrap interval over
cases; latency quantiles have distribution-free order-statistic intervals over the warm
requests at the gate's level, a timed-out request counting as slower than any answer.
A relative gate is a paired non-inferiority test against the workload's hosted baseline.

The mapping from a failed gate to a finding, the routes and the minimum number of cases
live in ``policy.yaml`` (``decisions``), never here. Pure: frames and registry records in,
plain records out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.compare import Fragility, outcome_fragility, paired
from generator.analysis.evidence import (
    base_cells,
    case_means,
    cells,
    distinct,
    latency_samples,
    quality_cells,
    split_by_model,
)
from generator.registry.schema import DecisionPolicy, Gate, PrivacyPolicy, StatisticsPolicy, Workload
from generator.runs.records import EndpointPrivacy, ResultRecord

# Rate metrics: the quality-cell column each reads, and whether higher is better.
RATE_COLUMNS: dict[str, tuple[str, bool]] = {
    "acceptance_rate": ("accepted", True),
    "hard_failure_rate": ("hard", False),
    "policy_violation_rate": ("violation", False),
    "unsupported_claim_rate": ("unsupported", False),
    "json_valid_rate": ("json_valid", True),
    "class_recall": ("label_hit", True),
}
LATENCY_METRICS = ("p95_latency_s", "p50_latency_s", "cold_start_s")
# What a move of a case's outcome toward 0 and toward 1 means, per column (fragility text).
_WORDS = {
    "accepted": ("fail", "pass"),
    "label_hit": ("are missed", "are caught"),
    "json_valid": ("return invalid JSON", "return valid JSON"),
    "hard": ("stop failing", "fail hard"),
    "violation": ("lose their violation", "violate policy"),
    "unsupported": ("lose their unsupported claim", "make an unsupported claim"),
}


@dataclass
class GateResult:
    gate: Gate
    value: float | None
    n: int
    state: str | None  # pass / fail / insufficient; None: no data to judge
    ci_low: float | None = None
    ci_high: float | None = None
    level: int | None = None  # latency gates: the load level (requests in flight) judged
    fragility: int | None = None
    fragility_text: str = ""
    cases_to_settle: int | None = None  # more cases at the current rate that would settle it
    baseline: str | None = None  # relative gates: the baseline compared with
    method: str = ""

    @property
    def passed(self) -> bool | None:
        return {"pass": True, "fail": False}.get(self.state or "")

    @property
    def label(self) -> str:
        extra = f" ({self.gate.label})" if self.gate.label else ""
        level = self.gate.concurrency if self.gate.concurrency is not None else self.level
        at = f" at {level} in flight" if level is not None and self.gate.metric in LATENCY_METRICS else ""
        rel = f" vs {self.baseline}" if self.gate.relative_to else ""
        return f"{self.gate.metric}{extra}{rel}{at}"

    @property
    def rule(self) -> str:
        if self.gate.relative_to:
            return f"non-inferior to the baseline within {self.gate.margin:.0%} (lower bound of the difference)"
        bound = "lower" if self.gate.op == ">=" else "upper"
        return f"{self.gate.op} {self.gate.value:g} ({bound} 95 % bound)"


@dataclass
class AfterRails:
    """A candidate's evidence after the workload's guard rules (``generator/analysis/rails.py``):
    the per-case values each rate gate reads instead of the raw ones, and the requests that
    ran locally (latency gates read those)."""

    values: dict[int, pd.Series]  # gate index -> per-case values after the rails
    latency_rows: pd.DataFrame  # the model's requests the input rules left on the local route
    rules: list[str] = field(default_factory=list)


@dataclass
class Decision:
    workload: str
    model_id: str
    cases: int
    finding: str  # keep / fix / defer / reject / insufficient-evidence / no-runs / undecided
    route: str
    gates: list[GateResult] = field(default_factory=list)
    failing_cases: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""
    fragility: int | None = None
    fragility_text: str = ""
    basis: str = "before rails"  # or "after rails (rule ids)": which figures the finding is made on


# The columns the gates read (see decide).
GATE_COLUMNS = [
    "run_id",
    "model_id",
    "case_id",
    "suite",
    "role",
    "workload",
    "severity",
    "weight",
    "status",
    "failure_kind",
    "cold_start",
    "accepted",
    "score",
    "review_pain",
    "policy_violation",
    "unsupported_claim",
    "json_checked",
    "json_valid",
    "expected_label",
    "predicted_label",
    "judge_mean",
    "e2e_s",
    "ttft_s",
    "output_tps",
    "concurrency",
    "repeat",  # with the ids: the result a failing case's output comes from
]


def _model_rows(q: pd.DataFrame, model_id: str, q_by: Mapping[str, pd.DataFrame] | None) -> pd.DataFrame:
    """One model's rows of ``q``, from its split (``q_by``, :func:`split_by_model`) when given."""
    if q_by is None:
        return q[q["model_id"] == model_id]
    return q_by.get(model_id, q.iloc[:0])


def _rate_values(
    q: pd.DataFrame, model_id: str, gate: Gate, q_by: Mapping[str, pd.DataFrame] | None = None
) -> pd.Series:
    col, _ = RATE_COLUMNS[gate.metric]
    rows = _model_rows(q, model_id, q_by)
    if gate.metric == "class_recall":
        rows = rows[rows["expected_label"].astype(object).eq(gate.label)]
    vals = pd.Series(rows[col].to_numpy(dtype=float), index=rows["case_id"].to_numpy())
    return vals.dropna()


def _rate_gate(vals: pd.Series, gate: Gate) -> GateResult:
    col, _ = RATE_COLUMNS[gate.metric]
    n = len(vals)
    if n == 0:
        return GateResult(gate, None, 0, None)
    arr = vals.to_numpy(float)
    ci = st.wilson(float(arr.sum()), n)

    def state_of(v: np.ndarray) -> str:
        return st.proportion_gate(float(v.sum()), len(v), gate.op, gate.value)

    state = state_of(arr)
    frag = outcome_fragility(state_of, arr, words=_WORDS[col])
    settle = st.cases_to_settle(float(arr.sum()), n, gate.op, gate.value) if state == "insufficient" else None
    return GateResult(
        gate, float(arr.mean()), n, state, ci.low, ci.high, None, frag.flips, frag.text, settle, method="Wilson"
    )


def _pain_gate(
    q: pd.DataFrame, model_id: str, gate: Gate, stats: StatisticsPolicy, q_by: Mapping[str, pd.DataFrame] | None
) -> GateResult:
    vals = _model_rows(q, model_id, q_by)["pain"].dropna().to_numpy(float)
    if not len(vals):
        return GateResult(gate, None, 0, None)
    ci = st.bootstrap_mean_ci(vals, n_resamples=stats.bootstrap_resamples, seed=stats.seed)
    return GateResult(
        gate,
        float(vals.mean()),
        len(vals),
        _interval_state(gate, ci.low, ci.high),
        ci.low,
        ci.high,
        method="bootstrap over cases",
    )


def _interval_state(gate: Gate, low: float, high: float) -> str:
    if gate.op == ">=":
        return "pass" if low >= gate.value else "fail" if high < gate.value else "insufficient"
    return "pass" if high <= gate.value else "fail" if low > gate.value else "insufficient"


def _latency_gate(samples: pd.DataFrame, gate: Gate, level: int | None) -> GateResult:
    if gate.metric == "cold_start_s":
        vals = samples.loc[samples["cold"], "e2e_s"]
        q = 0.5
    else:
        vals = samples.loc[~samples["cold"], "e2e_s"]
        q = 0.95 if gate.metric == "p95_latency_s" else 0.5
    arr = vals.to_numpy(dtype=float)
    arr = arr[~np.isnan(arr)]
    if not len(arr):
        return GateResult(gate, None, 0, None, level=level)
    ci = st.quantile_ci(arr, q)
    return GateResult(
        gate,
        ci.estimate,
        len(arr),
        _interval_state(gate, ci.low, ci.high),
        ci.low,
        ci.high,
        level,
        method="order-statistic interval",
    )


def _relative_gate(
    q: pd.DataFrame,
    model_id: str,
    baseline: str | None,
    gate: Gate,
    stats: StatisticsPolicy,
    q_by: Mapping[str, pd.DataFrame] | None,
) -> GateResult:
    if not baseline:
        return GateResult(gate, None, 0, None)
    cand, base = _rate_values(q, model_id, gate, q_by), _rate_values(q, baseline, gate, q_by)
    comp = paired(base, cand, stats, binary=False, names=(baseline, model_id))
    if comp.n == 0:
        return GateResult(gate, None, 0, None, baseline=baseline)
    margin = -(gate.margin or 0.0)
    base_vals = base.loc[comp.cases].to_numpy(float)

    def state_of(v: np.ndarray) -> str:
        ci = st.bootstrap_mean_ci(v - base_vals, n_resamples=stats.bootstrap_resamples, seed=stats.seed)
        return "pass" if ci.low > margin else "fail" if ci.high < margin else "insufficient"

    cand_vals = cand.loc[comp.cases].to_numpy(float)
    col, _ = RATE_COLUMNS[gate.metric]
    frag = outcome_fragility(state_of, cand_vals, words=_WORDS[col])
    return GateResult(
        gate,
        comp.diff,
        comp.n,
        state_of(cand_vals),
        comp.ci_low,
        comp.ci_high,
        None,
        frag.flips,
        frag.text,
        baseline=baseline,
        method="paired bootstrap over shared cases",
    )


def workload_gates(workload: Workload, privacy: PrivacyPolicy | None) -> list[Gate]:
    """The gates a workload is judged on: its own, plus the private-endpoint gate that policy
    ``privacy`` adds when its kept route promises the text stays private. Pages list these."""
    from generator.privacy import private_endpoint_gate

    extra = private_endpoint_gate(workload, privacy) if privacy is not None else None
    return [*workload.gates, extra] if extra is not None else list(workload.gates)


def _private_endpoint_gate(gate: Gate, posture: EndpointPrivacy | None) -> GateResult:
    if posture is None:
        return GateResult(gate, None, 0, None, method="not a registry model: its endpoint is unknown")
    from generator.privacy import PRIVATE_LOCALITIES

    ok = posture.locality in PRIVATE_LOCALITIES
    return GateResult(
        gate,
        1.0 if ok else 0.0,
        1,
        "pass" if ok else "fail",
        method=f"endpoint address: {posture.reason} ({posture.locality})",
    )


def gate_results(
    q: pd.DataFrame,
    df: pd.DataFrame,
    model_id: str,
    workload: Workload,
    stats: StatisticsPolicy,
    after: AfterRails | None = None,
    gates: list[Gate] | None = None,
    postures: dict[str, EndpointPrivacy] | None = None,
    q_by: Mapping[str, pd.DataFrame] | None = None,
    rows: pd.DataFrame | None = None,
) -> tuple[list[GateResult], dict[int, Callable[[np.ndarray], str]], dict[int, np.ndarray]]:
    """Every gate of ``workload`` (or ``gates``, see ``workload_gates``) for one model, and (for
    rate gates) how its state follows from the per-case values, so the decision's fragility can
    be searched. With ``after``, rate gates read the after-rails values and latency gates the
    requests that stayed local. ``postures``: each model's endpoint locality, for
    private_endpoint gates. ``q_by`` (``q`` by model) and ``rows`` (the model's rows of ``df``)
    spare a caller looping over models a filter of the whole frames per model."""
    results: list[GateResult] = []
    state_fns: dict[int, Callable[[np.ndarray], str]] = {}
    values: dict[int, np.ndarray] = {}
    mdf = rows if rows is not None else df[df["model_id"] == model_id] if len(df) else df
    if after is not None:
        mdf = after.latency_rows
    samples_at: dict[int | None, pd.DataFrame] = {}
    for i, gate in enumerate(workload.gates if gates is None else gates):
        if gate.metric == "private_endpoint":
            results.append(_private_endpoint_gate(gate, (postures or {}).get(model_id)))
        elif gate.relative_to:
            results.append(_relative_gate(q, model_id, workload.baseline, gate, stats, q_by))
        elif gate.metric in RATE_COLUMNS:
            vals = after.values[i] if after is not None and i in after.values else _rate_values(q, model_id, gate, q_by)
            results.append(_rate_gate(vals, gate))
            if len(vals):
                state_fns[i] = lambda v, g=gate: st.proportion_gate(float(v.sum()), len(v), g.op, g.value)
                values[i] = vals.to_numpy(float)
        elif gate.metric == "review_pain":
            results.append(_pain_gate(q, model_id, gate, stats, q_by))
        else:
            if gate.concurrency not in samples_at:  # the latency gates at one level read the same requests
                samples_at[gate.concurrency] = latency_samples(mdf, ["model_id"], gate.concurrency)
            samples = samples_at[gate.concurrency]
            level = samples["level"].dropna().min() if len(samples) and samples["level"].notna().any() else None
            results.append(_latency_gate(samples, gate, None if level is None else int(level)))
    return results, state_fns, values


def _finding(
    states: list[str | None],
    results: list[GateResult],
    policy: DecisionPolicy,
    cases: int,
    roi_net_per_month: float | None,
) -> tuple[str, str]:
    """The finding from the gates' states, with its reason (one rule for the decision and for
    its fragility search)."""
    failed = [r for r, s in zip(results, states, strict=True) if s == "fail"]
    kinds = {r.gate.kind for r in failed}
    findings = {policy.gate_kinds[k].finding_on_fail for k in kinds if k in policy.gate_kinds}
    unsure = [r for r, s in zip(results, states, strict=True) if s == "insufficient"]
    unknown = [r for r, s in zip(results, states, strict=True) if s is None]
    if unsure:
        findings.add("insufficient-evidence")
    if not findings and not unknown and cases < policy.min_cases:
        findings.add("insufficient-evidence")
    if findings:
        finding = next(f for f in policy.order if f in findings)
        if finding == "insufficient-evidence":
            if unsure:
                reason = "interval straddles the threshold: " + ", ".join(r.label for r in unsure)
            else:
                reason = (
                    f"every gate passes on {cases} cases, but policy keeps a workload on {policy.min_cases} or more"
                )
            if failed:
                reason += "; failing: " + ", ".join(r.label for r in failed)
            return finding, reason
        reason = "failing gate(s): " + ", ".join(r.label for r in failed)
        if finding == "fix":
            fixes = [policy.remedies[r.gate.metric] for r in failed if r.gate.metric in policy.remedies]
            if fixes:
                reason += ". Bounded change: " + " ".join(dict.fromkeys(fixes))
        if unsure:
            reason += "; not yet settled: " + ", ".join(r.label for r in unsure)
        return finding, reason
    if unknown:
        return "undecided", "no data for: " + ", ".join(r.label for r in unknown)
    if roi_net_per_month is not None and roi_net_per_month <= 0 and "economic" in policy.gate_kinds:
        finding = policy.gate_kinds["economic"].finding_on_fail
        return finding, f"every gate passes, but the net return is {roi_net_per_month:,.0f} per month"
    return "keep", "every gate passes at its 95 % bound"


def _route(finding: str, workload: Workload, policy: DecisionPolicy) -> str:
    if finding == "keep":
        return workload.route_if_kept
    if finding == "reject" and not workload.baseline:
        return policy.reject_without_baseline
    return policy.routes.get(finding, "hosted")  # type: ignore[call-overload]


def decide(
    df: pd.DataFrame,
    workload: Workload,
    policy: DecisionPolicy,
    model_ids: list[str],
    stats: StatisticsPolicy,
    excerpt_chars: int,
    roi_net_per_month: float | Mapping[str, float | None] | None = None,
    q: pd.DataFrame | None = None,
    after_rails: dict[str, AfterRails] | None = None,
    privacy: PrivacyPolicy | None = None,
    postures: dict[str, EndpointPrivacy] | None = None,
) -> list[Decision]:
    """One decision per candidate model (and any other model measured on the workload).

    ``q``: the evidence table's quality cells (computed from ``df`` when not given; the site
    passes the ones it computed once). ``roi_net_per_month`` (from the ROI analysis) turns a
    would-be keep into a defer when localizing the workload does not pay; a mapping gives each
    model its own (:func:`generator.analysis.economics.economics`: measured, None where not computed).
    ``after_rails`` (model → its figures after the guard rules, ``rails.after_rails``): the
    decision is made on those, and its reason says so. ``privacy`` and ``postures``
    (``generator.privacy.localities``) add the private-endpoint gate.
    """
    gates = workload_gates(workload, privacy)
    if not df.empty:
        df = df.reset_index(drop=True)
        wdf = df.loc[df["workload"] == workload.id, [c for c in GATE_COLUMNS if c in df.columns]]
    else:
        wdf = df
    if q is None:
        q = quality_cells(cells(base_cells(wdf)))
    q = q[q["workload"] == workload.id] if len(q) else q
    measured = sorted(distinct(q["model_id"])) if len(q) else []
    out: list[Decision] = []
    baseline = workload.baseline
    q_by = split_by_model(q)
    rows_by = split_by_model(wdf)
    fails = failing_cases(df, wdf, excerpt_chars)
    for model_id in list(dict.fromkeys([*model_ids, *measured])):
        if model_id not in measured:
            out.append(Decision(workload.id, model_id, 0, "no-runs", "—", reason="no runs yet"))
            continue
        if model_id == baseline and model_id not in model_ids:
            continue  # the baseline is what candidates are measured against, not a candidate
        cases = len(q_by[model_id])
        after = (after_rails or {}).get(model_id)
        mdf = rows_by.get(model_id, wdf.iloc[:0])
        results, state_fns, values = gate_results(
            q, wdf, model_id, workload, stats, after, gates, postures, q_by=q_by, rows=mdf
        )
        states = [r.state for r in results]
        net = roi_net_per_month.get(model_id) if isinstance(roi_net_per_month, Mapping) else roi_net_per_month
        finding, reason = _finding(states, results, policy, cases, net)
        basis = "before rails"
        if after is not None:
            basis = f"after rails ({', '.join(after.rules)})"
            reason = f"{basis}: {reason}"
        frag = _decision_fragility(states, results, state_fns, values, policy, cases, net, finding)
        out.append(
            Decision(
                workload.id,
                model_id,
                cases,
                finding,
                _route(finding, workload, policy),
                results,
                fails.get(model_id, []),
                reason,
                frag.flips,
                frag.text,
                basis,
            )
        )
    return out


def _decision_fragility(
    states: list[str | None],
    results: list[GateResult],
    state_fns: dict[int, Callable[[np.ndarray], str]],
    values: dict[int, np.ndarray],
    policy: DecisionPolicy,
    cases: int,
    roi: float | None,
    finding: str,
) -> Fragility:
    """The smallest number of case outcomes, on any one rate gate, that changes the finding."""
    best = Fragility(None, "no change of case outcomes on one gate flips it")
    for i, fn in state_fns.items():
        col, _ = RATE_COLUMNS[results[i].gate.metric]

        def finding_of(v: np.ndarray, i: int = i, fn: Callable[[np.ndarray], str] = fn) -> str:
            trial = list(states)
            trial[i] = fn(v)
            return _finding(trial, results, policy, cases, roi)[0]

        frag = outcome_fragility(finding_of, values[i], words=_WORDS[col])
        if frag.flips is not None and (best.flips is None or frag.flips < best.flips):
            best = Fragility(frag.flips, f"{frag.text} ({results[i].label})")
    return best


def _result_keys(rows: pd.DataFrame) -> list[str]:
    """The result key of each frame row, or "" for a row (or a frame) without a repeat and level
    (no output to find)."""
    if "repeat" not in rows.columns or "concurrency" not in rows.columns:
        return [""] * len(rows)
    repeat = pd.to_numeric(rows["repeat"], errors="coerce").to_numpy(float)
    level = pd.to_numeric(rows["concurrency"], errors="coerce").to_numpy(float)
    return [
        "" if np.isnan(r) or np.isnan(c) else ResultRecord.make_key(str(m), str(k), int(r), int(c))
        for m, k, r, c in zip(_objects(rows["model_id"]), _objects(rows["case_id"]), repeat, level, strict=True)
    ]


def _objects(values: pd.Series) -> np.ndarray:
    """A column as a numpy object array, converted once (iterating an Arrow-backed column in
    Python costs a conversion per element)."""
    return values.to_numpy(dtype=object)


def failing_cases(df: pd.DataFrame, wdf: pd.DataFrame, excerpt_chars: int) -> dict[str, list[dict[str, str]]]:
    """Per model of ``wdf`` (rows of ``df``), one line per case it did not accept: what failed,
    the start of its output (when the frame holds outputs), and the result it comes from
    (``run_id``, ``key``), so a page can show that result's output read from the run store.
    A case's line is its first unaccepted row; lines in case order. One pass for all models."""
    out: dict[str, list[dict[str, str]]] = {}
    if not len(wdf):
        return out
    cols = [c for c in ("model_id", "case_id", "status", "failure_kind", "run_id", "repeat", "concurrency") if c in wdf]
    fails = wdf.loc[~wdf["accepted"].fillna(False).astype(bool).to_numpy(), cols]
    fails = fails.drop_duplicates(["model_id", "case_id"]).sort_values(["model_id", "case_id"])
    text = df.loc[fails.index, [c for c in ("failure_summary", "output") if c in df.columns]]
    none = np.full(len(fails), None, dtype=object)
    whats = _objects(text["failure_summary"]) if "failure_summary" in text else none
    outputs = _objects(text["output"]) if "output" in text else none
    for model, case, status, kind, run, what, output, key in zip(
        _objects(fails["model_id"]),
        _objects(fails["case_id"]),
        _objects(fails["status"]),
        _objects(fails["failure_kind"]),
        _objects(fails["run_id"]),
        whats,
        outputs,
        _result_keys(fails),
        strict=True,
    ):
        out.setdefault(str(model), []).append(
            {
                "case_id": str(case),
                "status": str(status),
                "failure_kind": kind if isinstance(kind, str) else "",
                "what": what if isinstance(what, str) else "",
                "excerpt": (output[:excerpt_chars] if isinstance(output, str) else ""),
                "run_id": str(run),
                "key": key,
            }
        )
    return out


def baseline_values(q: pd.DataFrame, baseline: str | None) -> pd.Series | None:
    """The baseline's per-case acceptance (for pages that show it beside a candidate)."""
    return case_means(q, baseline) if baseline else None

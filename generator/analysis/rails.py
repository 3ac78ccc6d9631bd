"""Guard rules as data, applied to every case's input and every candidate's answer.

The seeds' central story is "fix, then keep": a local classifier that misses escalations is
viable once deterministic rails sit around it ("if keyword_risk: human_review; elif
local_label in [watch, escalate]: human_review; else: routine_queue"). This module applies
a workload's ``rules`` (``registry/workloads.yaml``) request by request: rules are tried in
order, the first that matches routes the item (``local``, ``hosted``, ``human_review``,
``escalate``), and an item no rule matches stays local.

After the rails, per candidate:

* **routed shares**: per case the share of its requests on each route, averaged over cases;
* **what stays local**: acceptance, JSON validity, policy violations and unsupported claims
  are read on the requests that stay local; hard failures on the requests the input rules
  sent to the local model (an output rule cannot undo a timeout the runtime already had);
  latency gates on those same requests;
* **class recall**: over every case of the class, an item routed to human review counts as
  caught; one kept local counts as the local answer does; one routed hosted or up an
  escalation chain counts as that model's (or chain's) measured answer on the case, and as a
  miss where none was measured (the count is reported).

Per-case values come from the evidence table (``evidence.cells`` / ``flag_cells``), so the
case stays the unit and repeats are averaged; the gates then judge them exactly as before
(``decisions.gate_results``). Rule text is contributor input: keywords are matched as
escaped literals, a regex is compiled by the ``regex`` module and every search is bounded in
time (``policy.yaml`` ``routing``); past the bound the rule counts as matching, so a
pathological input fails closed (off the local route), and the count is shown.

Pure: frames and registry records in, records out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.chains import chain_outcome, deployable_failures, remaining_rungs
from generator.analysis.decisions import RATE_COLUMNS, AfterRails
from generator.analysis.evidence import base_cells, cells, flag_cells, quality_cells, split_by_model
from generator.analysis.length import LengthEvidence, input_words
from generator.registry.schema import GuardRule, Role, RoutingClaim, RoutingPolicy, TaskCase, Workload

ACTIONS = ("local", "hosted", "human_review", "escalate")
# Gates read on the requests that stay local after every rule; hard failures on those sent local.
_LOCAL_COLUMNS = {"acceptance_rate", "json_valid_rate", "policy_violation_rate", "unsupported_claim_rate"}


@dataclass
class CompiledRule:
    rule: GuardRule
    keywords: re.Pattern[str] | None
    pattern: object | None  # regex.Pattern

    @property
    def id(self) -> str:
        return self.rule.id


def compile_rules(workload: Workload) -> list[CompiledRule]:
    """Keywords as one alternation of escaped literals (linear time); a regex with ``regex``."""
    import regex

    out = []
    for rule in workload.rules:
        kws = rule.when.input_keywords
        kw = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k) for k in kws) + r")(?!\w)", re.IGNORECASE) if kws else None
        )
        pat = regex.compile(rule.when.input_regex, regex.IGNORECASE) if rule.when.input_regex else None
        out.append(CompiledRule(rule, kw, pat))
    return out


@dataclass
class InputMatch:
    matched: bool
    timed_out: bool = False


def match_input(
    rule: CompiledRule,
    case: TaskCase | None,
    tokens: float | None,
    limits: dict[str, LengthEvidence] | None,
    policy: RoutingPolicy,
) -> InputMatch:
    """Whether the rule's input conditions hold for a case (True when it has none).

    A case the registry does not hold cannot be read: an input rule then matches (fail closed).
    """
    cond = rule.rule.when
    if not cond.input_conditions():
        return InputMatch(True)
    if case is None:
        return InputMatch(True, timed_out=False)
    text = case.input[: policy.input_max_chars]
    if rule.keywords is not None and not rule.keywords.search(text):
        return InputMatch(False)
    if rule.pattern is not None:
        try:
            if rule.pattern.search(text, timeout=policy.regex_timeout_s) is None:  # type: ignore[attr-defined]
                return InputMatch(False)
        except TimeoutError:
            return InputMatch(True, timed_out=True)
    for unit, above in (("words", cond.input_words_above), ("tokens", cond.input_tokens_above)):
        if above is None:
            continue
        length = float(input_words(case)) if unit == "words" else tokens
        if above == "measured":
            ev = (limits or {}).get(unit)
            threshold = None if ev is None else ev.limit
        else:
            threshold = float(above)
        if threshold is None or length is None or np.isnan(length) or not length > threshold:
            return InputMatch(False)
    return InputMatch(True)


def match_output(rule: CompiledRule, rows: pd.DataFrame) -> pd.Series:
    """Per request: do the rule's output conditions hold (True when it has none)?"""
    cond = rule.rule.when
    ok = rows["status"].eq("ok")
    mask = pd.Series(True, index=rows.index)
    if cond.output_label_in:
        mask &= ok & rows["predicted_label"].astype(object).isin(cond.output_label_in)
    if cond.check_failed:
        wanted = set(cond.check_failed)
        failed = rows["failed_checks"].fillna("").astype(str) if "failed_checks" in rows else pd.Series("", rows.index)
        # Judged once per distinct failure text (requests repeat a handful of texts).
        hit = {s: any(line.split(":", 1)[-1] in wanted for line in s.split("\n") if line) for s in failed.unique()}
        mask &= ok & failed.map(hit).astype(bool)
    if cond.judge_below is not None:
        judge = pd.to_numeric(rows["judge_mean"], errors="coerce") if "judge_mean" in rows else np.nan
        mask &= pd.Series(judge, index=rows.index).lt(cond.judge_below).fillna(False).astype(bool)
    if cond.hard_failure:
        mask &= rows["status"].eq("failed")
    return mask


@dataclass
class RoutedRows:
    rows: pd.DataFrame  # the model's requests with route, rule, sent_local
    timeouts: int
    unknown_inputs: int
    thresholds: dict[str, str]  # rule id -> the measured limit it used


def route_rows(
    rows: pd.DataFrame,
    rules: list[CompiledRule],
    cases: dict[str, TaskCase],
    limits: dict[str, LengthEvidence] | None,
    policy: RoutingPolicy,
) -> RoutedRows:
    """The route of each of one model's requests: the first matching rule's action, else local."""
    rows = rows.copy()
    route = pd.Series("local", index=rows.index, dtype=object)
    rule_of = pd.Series("", index=rows.index, dtype=object)
    sent_local = pd.Series(True, index=rows.index)
    open_ = pd.Series(True, index=rows.index)
    tokens = (
        pd.to_numeric(rows["prompt_tokens"], errors="coerce").groupby(rows["case_id"].astype(object)).max()
        if "prompt_tokens" in rows
        else pd.Series(dtype=float)
    )
    tokens_of = tokens.to_dict()
    timeouts = 0
    case_ids = rows["case_id"].astype(object)
    unknown = int((~case_ids.isin(list(cases))).sum()) if any(r.rule.when.input_conditions() for r in rules) else 0
    thresholds: dict[str, str] = {}
    for rule in rules:
        cond = rule.rule.when
        per_case: dict[str, bool] = {}
        for cid in case_ids.unique():
            m = match_input(rule, cases.get(cid), tokens_of.get(cid), limits, policy)
            timeouts += m.timed_out
            per_case[cid] = m.matched
        mask = case_ids.map(per_case).astype(bool) & match_output(rule, rows) & open_
        route[mask] = rule.rule.action
        rule_of[mask] = rule.id
        if not cond.output_conditions() and rule.rule.action != "local":
            sent_local[mask] = False  # decided before the model would run
        open_ &= ~mask
        for unit, above in (("words", cond.input_words_above), ("tokens", cond.input_tokens_above)):
            if above == "measured":
                ev = (limits or {}).get(unit)
                thresholds[rule.id] = f"{unit}: " + (ev.interval_text if ev is not None else "no evidence")
    rows["route"] = route
    rows["rule"] = rule_of
    rows["sent_local"] = sent_local
    return RoutedRows(rows, timeouts, unknown, thresholds)


@dataclass
class RailsFigures:
    workload: str
    model_id: str
    rules: list[str]
    cases: int
    shares: dict[str, float]  # route -> mean over cases of the share of requests on it
    rule_shares: dict[str, float]  # rule id -> mean over cases of the share it routed
    local_cases: int  # cases with at least one request staying local
    local_acceptance: float | None
    local_acceptance_ci: tuple[float, float] | None
    recall: dict[str, tuple[float | None, float | None, tuple[float, float] | None, int]] = field(default_factory=dict)
    # label -> (before, after, after's Wilson interval, cases of the class)
    regex_timeouts: int = 0
    unknown_inputs: int = 0
    unmeasured_away: int = 0  # class cases routed hosted / up a chain with no measured answer there
    thresholds: dict[str, str] = field(default_factory=dict)
    after: AfterRails | None = None

    @property
    def share_text(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in self.shares.items() if v > 0 or k == "local")


def _per_case(q: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(q[column].to_numpy(dtype=float), index=q["case_id"].to_numpy()).dropna()


def after_rails(
    df: pd.DataFrame,
    workload: Workload,
    roles: dict[str, Role],
    cases: dict[str, TaskCase],
    model_ids: list[str],
    policy: RoutingPolicy,
    q: pd.DataFrame,
    lengths: dict[str, dict[str, LengthEvidence]],
) -> dict[str, RailsFigures]:
    """Rails figures for every measured candidate of a workload that has rules.

    ``df``: request rows (any workload; this one's are used), ``q``: the evidence table's
    quality cells over them, ``lengths``: input-length evidence per model (``length.py``), which
    ``input_words_above: measured`` reads.
    """
    if not workload.rules or df.empty:
        return {}
    rules = compile_rules(workload)
    wdf = df[df["workload"] == workload.id]
    wq = q[q["workload"] == workload.id] if len(q) else q
    chain_role = next((roles[r] for r in workload.roles if r in roles and roles[r].escalation), None)
    by_model = split_by_model(wdf)
    routes: dict[str, RoutedRows] = {}
    for model_id in model_ids:
        rows = by_model.get(model_id)
        if rows is None or rows.empty:
            continue
        routes[model_id] = route_rows(rows, rules, cases, lengths.get(model_id), policy)
    if not routes:
        return {}
    # The evidence cells of every model at once (one groupby each), then each model's slice:
    # a cell is one model's, so the slice is the cells its rows alone would give.
    every = pd.concat([x.rows for x in routes.values()])
    share_cols = [*ACTIONS, *[f"rule:{x.id}" for x in rules]]
    flags = pd.DataFrame({"model_id": every["model_id"], "case_id": every["case_id"]})
    if "concurrency" in every:
        flags["concurrency"] = every["concurrency"]
    for action in ACTIONS:
        flags[action] = every["route"].eq(action)
    for rule in rules:
        flags[f"rule:{rule.id}"] = every["rule"].eq(rule.id)
    all_shares = split_by_model(flag_cells(flags, share_cols))
    local_every = every[every["route"].eq("local")]
    sent_every = every[every["sent_local"]]
    all_lq = split_by_model(quality_cells(cells(base_cells(local_every)))) if len(local_every) else {}
    all_sq = split_by_model(quality_cells(cells(base_cells(sent_every)))) if len(sent_every) else {}
    out: dict[str, RailsFigures] = {}
    for model_id, routed in routes.items():
        r = routed.rows
        shares = all_shares[model_id]
        local_rows = r[r["route"].eq("local")]
        sent_rows = r[r["sent_local"]]
        lq = all_lq.get(model_id, local_rows)
        sq = all_sq.get(model_id, sent_rows)
        values: dict[int, pd.Series] = {}
        recall: dict[str, tuple[float | None, float | None, tuple[float, float] | None, int]] = {}
        unmeasured = 0
        for i, gate in enumerate(workload.gates):
            if gate.relative_to or gate.metric not in RATE_COLUMNS:
                continue
            col, _ = RATE_COLUMNS[gate.metric]
            if gate.metric in _LOCAL_COLUMNS:
                values[i] = _per_case(lq, col) if len(lq) else pd.Series(dtype=float)
            elif gate.metric == "hard_failure_rate":
                values[i] = _per_case(sq, col) if len(sq) else pd.Series(dtype=float)
            elif gate.metric == "class_recall":
                vals, missing = _recall_after(r, gate.label or "", workload, chain_role, df, wq, model_id)
                unmeasured += missing
                values[i] = vals
                if vals.empty:
                    continue  # the model was measured on no case of this class
                before_rows = wq[(wq["model_id"] == model_id) & wq["expected_label"].astype(object).eq(gate.label)]
                before = before_rows["label_hit"].dropna()
                ci = st.wilson(float(vals.sum()), len(vals)) if len(vals) else None
                recall[gate.label or ""] = (
                    float(before.mean()) if len(before) else None,
                    float(vals.mean()) if len(vals) else None,
                    (ci.low, ci.high) if ci else None,
                    len(vals),
                )
        acc = _per_case(lq, "accepted") if len(lq) else pd.Series(dtype=float)
        acc_ci = st.wilson(float(acc.sum()), len(acc)) if len(acc) else None
        out[model_id] = RailsFigures(
            workload=workload.id,
            model_id=model_id,
            rules=[x.id for x in rules],
            cases=len(shares),
            shares={a: float(shares[a].mean()) for a in ACTIONS},
            rule_shares={x.id: float(shares[f"rule:{x.id}"].mean()) for x in rules},
            local_cases=len(acc),
            local_acceptance=float(acc.mean()) if len(acc) else None,
            local_acceptance_ci=(acc_ci.low, acc_ci.high) if acc_ci else None,
            recall=recall,
            regex_timeouts=routed.timeouts,
            unknown_inputs=routed.unknown_inputs,
            unmeasured_away=unmeasured,
            thresholds=routed.thresholds,
            after=AfterRails(values, sent_rows, [x.id for x in rules]),
        )
    return out


def _recall_after(
    r: pd.DataFrame,
    label: str,
    workload: Workload,
    chain_role: Role | None,
    df: pd.DataFrame,
    wq: pd.DataFrame,
    model_id: str,
) -> tuple[pd.Series, int]:
    """Per case of the class: caught share after the rails, and how many cases sent elsewhere
    had no measured answer there (counted as misses)."""
    rows = r[r["expected_label"].astype(object).eq(label)]
    if rows.empty:
        return pd.Series(dtype=float), 0
    hit = rows["status"].eq("ok") & rows["predicted_label"].astype(object).eq(label)
    flags = pd.DataFrame(
        {
            "model_id": rows["model_id"],
            "case_id": rows["case_id"],
            "caught_local": rows["route"].eq("local") & hit,
            "human": rows["route"].eq("human_review"),
            "hosted": rows["route"].eq("hosted"),
            "escalate": rows["route"].eq("escalate"),
        }
    )
    if "concurrency" in rows:
        flags["concurrency"] = rows["concurrency"]
    f = flag_cells(flags, ["caught_local", "human", "hosted", "escalate"]).set_index("case_id")
    # Where the hosted and escalated items go, and what was measured there.
    hosted_target = next((x.rule.model for x in compile_rules(workload) if x.rule.action == "hosted"), None)
    hosted_target = hosted_target or workload.baseline
    hosted_hit = (
        _per_case(wq[wq["model_id"] == hosted_target], "label_hit") if hosted_target and len(wq) else pd.Series()
    )
    chain_hit = pd.Series(dtype=float)
    if chain_role is not None and chain_role.escalation is not None and f["escalate"].gt(0).any():
        rungs = remaining_rungs(chain_role.escalation.rungs, model_id)
        outcome = chain_outcome(
            df[df["workload"] == workload.id], chain_role.id, rungs, chain_role.escalation.on, list(f.index)
        )
        if len(outcome.per_case):
            chain_hit = outcome.per_case.set_index("case_id")["label_hit"]
    # Per case: caught locally + sent to review + each receiving route's share × its measured answer
    # (added in that order); a share sent where nothing was measured is a miss, and counted.
    v = f["caught_local"].to_numpy(float) + f["human"].to_numpy(float)
    missing = 0
    for share_col, receiver in (("hosted", hosted_hit), ("escalate", chain_hit)):
        share = f[share_col].to_numpy(float)
        got = _received(receiver, f.index)
        sent = share > 0
        missing += int((sent & np.isnan(got)).sum())
        took = sent & ~np.isnan(got)
        v = np.where(took, v + share * np.where(took, got, 0.0), v)
    return pd.Series(v, index=f.index.tolist(), dtype=float), missing


def _received(receiver: pd.Series, cases: pd.Index) -> np.ndarray:
    """The receiver's measured answer on each of ``cases`` (NaN where it has none)."""
    if receiver.empty:
        return np.full(len(cases), np.nan)
    if receiver.index.is_unique:
        return pd.to_numeric(receiver.reindex(cases), errors="coerce").to_numpy(float)
    return np.array([float(x) if not pd.isna(x := receiver.get(c, np.nan)) else np.nan for c in cases], dtype=float)


@dataclass
class RoutingClaimResult:
    id: str
    claim: str
    source: str
    figure: str
    computed: float | None
    interval: tuple[float, float] | None
    derivable: bool
    why: str
    workloads: list[str] = field(default_factory=list)


def routing_claims(
    claims: list[RoutingClaim],
    rails: dict[str, dict[str, RailsFigures]],
    workloads: dict[str, Workload],
) -> list[RoutingClaimResult]:
    """Each seed routing figure computed from the cases (through the rails), or said not derivable."""
    out: list[RoutingClaimResult] = []
    for c in claims:
        out.append(_claim(c, rails, workloads))
        out[-1].workloads = list(c.workloads)
    return out


def _claim(
    c: RoutingClaim, rails: dict[str, dict[str, RailsFigures]], workloads: dict[str, Workload]
) -> RoutingClaimResult:
    def result(value: float | None, ci: tuple[float, float] | None, why: str) -> RoutingClaimResult:
        return RoutingClaimResult(c.id, c.claim, c.source, c.figure, value, ci, value is not None, why)

    wid = c.workloads[0]
    if c.figure == "volume_share_local":
        no_volume = [w for w in c.workloads if workloads[w].roi is None]
        if no_volume:
            return result(
                None, None, "not derivable: the registry states no monthly volume for " + ", ".join(no_volume)
            )
        missing = [w for w in c.workloads if not rails.get(w)]
        if missing:
            return result(None, None, "not derivable: no rails figures (no rules or no runs) for " + ", ".join(missing))
        parts = [
            (workloads[w].roi.monthly_volume, max(f.shares["local"] for f in rails[w].values()))  # type: ignore[union-attr]
            for w in c.workloads
        ]
        total = sum(v for v, _ in parts)
        if not total:
            return result(None, None, "not derivable: the stated volumes add up to zero")
        return result(
            sum(v * s for v, s in parts) / total,
            None,
            "volume-weighted share routed local after the rails (best candidate per workload)",
        )
    f = rails.get(wid, {}).get(c.model or "")
    if f is None:
        if not workloads[wid].rules:
            return result(None, None, f"not derivable: workload {wid!r} has no guard rules")
        return result(None, None, f"not derivable: no runs of {c.model} on {wid}")
    if c.figure == "local_share_after_rails":
        return result(
            f.shares["local"], None, f"share of {c.model}'s items that stay local after the rails, over {f.cases} cases"
        )
    rec = f.recall.get(c.label or "")
    if rec is None or rec[1] is None:
        return result(None, None, f"not derivable: no {c.label!r} cases measured for {c.model}")
    before = "—" if rec[0] is None else f"{rec[0]:.0%}"
    return result(rec[1], rec[2], f"{c.label} recall after the rails over {rec[3]} cases (before the rails: {before})")


__all__ = [
    "ACTIONS",
    "RailsFigures",
    "RoutingClaimResult",
    "after_rails",
    "compile_rules",
    "deployable_failures",
    "route_rows",
    "routing_claims",
]

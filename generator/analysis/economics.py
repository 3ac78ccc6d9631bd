"""Measured economics of a workload × candidate: the local share after the rails, the
acceptance with its interval, staff time and hosted spend displaced, the machine's running
cost, the net, and whether the machine has the capacity, all read from the evidence table.

The stated arithmetic that reproduces a deliverable's own figures is ``roi.py``; this
module reads the measurements instead, in the pricing file's currency (one currency per page), by the rules below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from generator.analysis.evidence import distinct
from generator.analysis.roi import minutes_saved
from generator.analysis.seedcheck import fmt_num
from generator.registry.schema import Workload

# The rules, per workload × candidate:
#
# * local share: the share of the volume that stays local after the guard rails. It is a
#   parameter (``LocalShare``), so the after-rails share can be passed in; without one, the
#   stated ``share_automated`` is used and labelled as stated, not measured.
# * acceptance: the candidate's per-case acceptance on the workload (the evidence table's
#   quality cells), with its Wilson 95 % interval; every figure below has a range from it.
# * items accepted locally = volume × local share × acceptance.
# * staff hours = items accepted × minutes saved per item × survival ÷ 60; value = hours ×
#   loaded hourly rate × fx.
# * hosted spend displaced = items accepted × hosted cost per item, where the cost per item
#   is measured tokens (mean prompt and output tokens per case, the baseline's own when it
#   has runs, else the candidate's) × the baseline's price: input tokens at the cached price
#   for ``cached_input_share`` of them where pricing.yaml gives one. Items escalated or
#   rejected still cost their hosted call.
# * local running cost = the named machine's hardware per month (amortised price over the
#   policy's months + electricity at its own power): :func:`generator.analysis.cost.hardware_cost`.
# * net = value + displaced − local cost. Only a candidate that passes every gate has a net;
#   for any other the block shows the same arithmetic as "potential, if a candidate passes"
#   and no net figure enters a decision.
# * capacity: items per hour = the machine's concurrency × 3600 ÷ warm end-to-end latency
#   (p50; p95 for the low end) measured on that machine at that load level, against the
#   volume × local share spread over the machine's working hours (pricing hours_per_day ×
#   days_per_month).


@dataclass
class LocalShare:
    """The share of a workload's volume that stays local, and where the figure comes from."""

    value: float
    source: str
    measured: bool = False


@dataclass
class Span:
    """A figure with the range its inputs' intervals give."""

    value: float
    low: float
    high: float


@dataclass
class HostedItemCost:
    model_id: str  # the baseline whose price is used
    tokens_from: str  # whose measured tokens
    prompt_tokens: float
    output_tokens: float
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None
    cached_input_share: float
    price_currency: str
    fx: float
    per_item: float  # in the page currency
    formula: str


@dataclass
class CapacityCheck:
    machine_id: str
    concurrency: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    requests: int
    items_per_hour: float | None  # at p50
    items_per_hour_low: float | None  # at p95
    required_per_hour: float
    working_hours_per_month: float
    enough: bool | None  # None: not measured on the machine at that level
    text: str


@dataclass
class MeasuredRoi:
    workload_id: str
    model_id: str
    currency: str
    cases: int
    acceptance: Span
    local_share: LocalShare
    items_accepted: Span
    minutes_saved_per_item: float
    survival_factor: float
    staff_hours: Span
    staff_value: Span
    hosted: HostedItemCost | None
    displaced: Span | None
    machine_id: str | None
    local_cost: float | None
    local_cost_working: str
    net_if_passing: Span | None  # the arithmetic; only a passing candidate's is a net
    capacity: CapacityCheck | None
    passes_gates: bool | None = None  # set once the decision is known
    notes: list[str] = field(default_factory=list)

    @property
    def net(self) -> Span | None:
        """The net per month, only for a candidate that passes every gate."""
        return self.net_if_passing if self.passes_gates else None

    @property
    def status(self) -> str:
        return "net" if self.passes_gates else "potential, if a candidate passes"


def _span(f: Any, acc: Span) -> Span:
    return Span(f(acc.value), f(acc.low), f(acc.high))


def _per_case_mean(rows: Any, column: str) -> float | None:
    import pandas as pd

    if column not in rows or rows.empty:
        return None
    vals = pd.to_numeric(rows[column], errors="coerce")
    per_case = vals.groupby(rows["case_id"]).mean().dropna()
    return float(per_case.mean()) if len(per_case) else None


def hosted_item_cost(
    baseline: str | None, wrows: Any, model_id: str, reg: Any, currency: str
) -> tuple[HostedItemCost | None, str]:
    """Measured tokens per item × the baseline's price, in the page currency; (None, why) when
    either is missing."""
    from generator.analysis.cost import fx_rate

    if baseline is None or baseline not in reg.models:
        return None, "no hosted baseline"
    ok = wrows[wrows["status"].eq("ok")]
    base_rows = ok[ok["model_id"] == baseline]
    rows, whose = (base_rows, baseline) if len(base_rows) else (ok[ok["model_id"] == model_id], model_id)
    prompt = _per_case_mean(rows, "prompt_tokens")
    output = _per_case_mean(rows, "completion_tokens")
    if prompt is None or output is None:
        return None, f"{whose}'s runs record no prompt and output token counts"
    api = next((a for a in reg.pricing.api_prices if a.model == baseline), None)
    bm = reg.models[baseline]
    if api is not None:
        inp, out, cur = api.input_per_mtok, api.output_per_mtok, api.currency
        cached, share = api.cached_input_per_mtok, api.cached_input_share or 0.0
    elif bm.price_input_per_mtok is not None and bm.price_output_per_mtok is not None:
        inp, out, cur, cached, share = bm.price_input_per_mtok, bm.price_output_per_mtok, bm.currency, None, 0.0
    else:
        return None, f"{baseline} has no price"
    fx = fx_rate(reg.pricing, cur)
    in_price = (1 - share) * inp + share * (cached if cached is not None else inp)
    per_item = (prompt * in_price + output * out) / 1e6 * fx
    cache_text = f" ({share:.0%} at the cached {fmt_num(cached, 4)})" if share and cached is not None else ""
    formula = (
        f"({fmt_num(prompt, 4)} prompt tokens × {fmt_num(in_price, 4)}{cache_text} + {fmt_num(output, 4)} output "
        f"tokens × {fmt_num(out, 4)}) {cur}/M × {fmt_num(fx, 4)}"
    )
    return (
        HostedItemCost(baseline, whose, prompt, output, inp, out, cached, share, cur, fx, per_item, formula),
        "",
    )


def capacity_check(
    wrows: Any, model_id: str, machine: Any, manifests: Any, reg: Any, items_per_month: float
) -> CapacityCheck:
    """Items per hour at the measured latency and the machine's concurrency, against the volume."""
    from generator.analysis.evidence import latency_samples, latency_summary

    conc = machine.concurrency or reg.hardware.capacity.concurrency
    hours = reg.pricing.hours_per_day * reg.hardware.capacity.days_per_month
    required = items_per_month / hours if hours else float("inf")
    on_machine = {m.run_id for m in manifests if m.settings.machine == machine.id}
    rows = wrows[(wrows["model_id"] == model_id) & wrows["run_id"].isin(list(on_machine))]
    summary = latency_summary(latency_samples(rows, ["model_id"], conc), ["model_id"])
    p50 = p95 = None
    n = 0
    if len(summary) and summary["requests"].notna().any():
        p50 = float(summary["latency_p50_s"].iloc[0])
        p95 = float(summary["latency_p95_s"].iloc[0])
        n = int(summary["requests"].iloc[0])
    if p50 is None or not n:
        return CapacityCheck(
            machine.id,
            conc,
            None,
            None,
            0,
            None,
            None,
            required,
            hours,
            None,
            f"not measured: no warm request of {model_id} on {machine.id} at {conc} in flight",
        )
    per_hour = conc * 3600 / p50 if p50 > 0 else float("inf")
    low = conc * 3600 / p95 if p95 and p95 > 0 else 0.0
    enough = low >= required if low >= required or per_hour < required else None
    verdict = {True: "enough", False: "NOT enough", None: "enough at p50, not at p95"}[enough]
    text = (
        f"{conc} × 3600 ÷ {fmt_num(p50, 3)} s (p50) = {fmt_num(per_hour, 4)} items/h "
        f"({fmt_num(low, 4)} at p95 {fmt_num(p95, 3)} s) against {fmt_num(items_per_month, 4)} items ÷ "
        f"{fmt_num(hours, 4)} h = {fmt_num(required, 1)} items/h: {verdict}"
    )
    return CapacityCheck(machine.id, conc, p50, p95, n, per_hour, low, required, hours, enough, text)


def measured_roi(
    workload: Workload,
    model_id: str,
    q: Any,
    df: Any,
    manifests: Any,
    reg: Any,
    *,
    local_share: LocalShare | None = None,
    q_by: Any = None,
    rows_by: Any = None,
) -> MeasuredRoi | None:
    """The economics of one candidate on one workload from its measurements; None without
    ``roi`` inputs or without quality cells for the candidate. ``q_by`` and ``rows_by``: the
    workload's quality cells and rows split by model (``evidence.split_by_model``), for a caller
    looping over models (it spares a filter of the whole frames per model)."""
    import pandas as pd

    from generator.analysis import stats as st
    from generator.analysis.cost import fx_rate, hardware_cost

    roi = workload.roi
    if roi is None or q is None or not len(q):
        return None
    if q_by is not None:
        cells = q_by.get(model_id, q.iloc[:0])
    else:
        cells = q[(q["workload"] == workload.id) & (q["model_id"] == model_id)]
    vals = cells["accepted"].dropna().to_numpy(float)
    if not len(vals):
        return None
    ci = st.wilson(float(vals.sum()), len(vals))
    acc = Span(ci.estimate, ci.low, ci.high)
    share = local_share or LocalShare(
        roi.share_automated, "stated share_automated in workloads.yaml (guard rails not yet measured)"
    )
    cur = reg.pricing.currency
    fx = fx_rate(reg.pricing, roi.currency)
    saved, _ = minutes_saved(roi)
    items = _span(lambda a: roi.monthly_volume * share.value * a, acc)
    hours = Span(*(i * saved * roi.survival_factor / 60 for i in (items.value, items.low, items.high)))
    value = Span(*(h * roi.loaded_hourly_rate * fx for h in (hours.value, hours.low, hours.high)))
    if rows_by is not None:
        # The rows the hosted cost and the capacity check read: the baseline's and the model's.
        parts = [rows_by[k] for k in dict.fromkeys([workload.baseline, model_id]) if k in rows_by]
        any_rows = bool(rows_by)
        wrows = pd.concat(parts) if parts else df.iloc[:0]
    else:
        wrows = df[df["workload"] == workload.id] if len(df) else df
        any_rows = bool(len(wrows))
    notes: list[str] = []
    hosted, why = hosted_item_cost(workload.baseline, wrows, model_id, reg, cur) if any_rows else (None, "no runs")
    displaced = None
    if hosted is not None:
        displaced = Span(*(i * hosted.per_item for i in (items.value, items.low, items.high)))
        if hosted.tokens_from != hosted.model_id:
            notes.append(
                f"hosted tokens per item are {model_id}'s measured counts: the baseline {hosted.model_id} has no "
                "runs on this workload"
            )
    else:
        notes.append(f"hosted spend displaced not computed: {why}")
    machines = {m.id: m for m in reg.hardware.machines}
    machine = machines.get(roi.machine) if roi.machine else None
    local_cost = None
    cost_working = "no machine named (workloads.yaml roi.machine)"
    cap = None
    if machine is not None:
        hw = hardware_cost(machine, reg.pricing, reg.hardware.capacity.days_per_month)
        local_cost = hw.total_monthly
        e = hw.electricity
        elec = (
            f"flat {fmt_num(e.monthly)}"
            if e.method == "flat"
            else f"{fmt_num(e.power_w)} W × {fmt_num(e.hours_per_day)} h × {fmt_num(e.days_per_month)} d × "
            f"{fmt_num(e.price_per_kwh)} {cur}/kWh = {fmt_num(e.monthly)}"
        )
        cost_working = (
            f"{machine.id}: {fmt_num(hw.price)} {cur} ÷ {hw.amortization_months} months = "
            f"{fmt_num(hw.amortized_monthly)} + electricity {elec}"
        )
        cap = capacity_check(wrows, model_id, machine, manifests, reg, roi.monthly_volume * share.value)
    net = None
    if local_cost is not None and displaced is not None:
        net = Span(
            value.value + displaced.value - local_cost,
            value.low + displaced.low - local_cost,
            value.high + displaced.high - local_cost,
        )
    return MeasuredRoi(
        workload_id=workload.id,
        model_id=model_id,
        currency=cur,
        cases=len(vals),
        acceptance=acc,
        local_share=share,
        items_accepted=items,
        minutes_saved_per_item=saved,
        survival_factor=roi.survival_factor,
        staff_hours=hours,
        staff_value=value,
        hosted=hosted,
        displaced=displaced,
        machine_id=machine.id if machine else None,
        local_cost=local_cost,
        local_cost_working=cost_working,
        net_if_passing=net,
        capacity=cap,
        notes=notes,
    )


@dataclass
class WorkloadEconomics:
    """A workload's decisions and the measured economics of each candidate, made together:
    a candidate's net enters its own decision only if it passes every gate."""

    workload_id: str
    decisions: list[Any]
    measured: list[MeasuredRoi]

    @property
    def passing(self) -> list[MeasuredRoi]:
        return [m for m in self.measured if m.passes_gates]


def economics(
    reg: Any,
    df: Any,
    manifests: Any,
    q: Any,
    *,
    local_shares: dict[tuple[str, str], LocalShare] | None = None,
    after_rails: dict[str, dict[str, Any]] | None = None,
    by_workload: dict[str, Any] | None = None,
) -> dict[str, WorkloadEconomics]:
    """Decisions for every workload, with each candidate's measured ROI and its net joined to
    the decision (``decide``'s economic gate reads the upper end of the net's range, so a
    defer says the return is negative even at the acceptance interval's top). ``by_workload``:
    ``df`` split by workload (``evidence.split_by``), when the caller has it."""
    from generator.analysis.decisions import decide
    from generator.analysis.evidence import split_by, split_by_model
    from generator.privacy import localities

    postures = localities(reg.models, reg.policy.privacy)
    excerpt = reg.policy.scoring.output_excerpt_chars
    stats = reg.policy.statistics
    out: dict[str, WorkloadEconomics] = {}
    measured_ids = distinct(q["model_id"]) if q is not None and len(q) else set()
    by_w = split_by(df, "workload") if by_workload is None else by_workload
    for w in reg.workloads_file.workloads:
        rois: dict[str, MeasuredRoi] = {}
        wdf = by_w.get(w.id, df.iloc[:0])  # decide reads this workload's rows only
        if w.roi is not None and q is not None and len(q):
            q_by = split_by_model(q[q["workload"] == w.id])
            rows_by = split_by_model(wdf) if len(df) else {}
            for mid in dict.fromkeys([*w.candidates, *sorted(measured_ids)]):
                if mid == w.baseline:
                    continue
                share = (local_shares or {}).get((w.id, mid))
                r = measured_roi(w, mid, q, df, manifests, reg, local_share=share, q_by=q_by, rows_by=rows_by)
                if r is not None:
                    rois[mid] = r
        nets = {m: (r.net_if_passing.high if r.net_if_passing else None) for m, r in rois.items()}
        rails = (after_rails or {}).get(w.id) or None
        decisions = decide(
            wdf,
            w,
            reg.policy.decisions,
            w.candidates,
            stats,
            excerpt,
            nets or None,
            q=q,
            after_rails=rails,
            privacy=reg.policy.privacy,
            postures=postures,
        )
        for d in decisions:
            if d.model_id in rois:
                rois[d.model_id].passes_gates = bool(d.gates) and all(g.state == "pass" for g in d.gates)
        out[w.id] = WorkloadEconomics(w.id, decisions, list(rois.values()))
    return out

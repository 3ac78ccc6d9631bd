"""Workload-page sections for routing: before/after the guard rails, the rules as data,
input-length evidence and the escalation chain. Rendering only: every figure comes from
``generator/analysis/routing.py``. Rule text and model ids are contributor input: escaped
(plain strings in ``plan.table`` are escaped by the table writer)."""

from __future__ import annotations

from generator.analysis.routing import WorkloadRouting
from generator.registry.schema import GuardRule, Workload
from generator.site.html import esc_md
from generator.site.plan import SitePlan


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{ci[0]:.0%}, {ci[1]:.0%}]"


def rule_text(rule: GuardRule) -> str:
    """The rule as one line: its conditions and its action."""
    c = rule.when
    parts = []
    if c.input_keywords:
        parts.append("input mentions " + " / ".join(c.input_keywords))
    if c.input_regex:
        parts.append(f"input matches /{c.input_regex}/")
    if c.input_words_above is not None:
        parts.append(f"input longer than {c.input_words_above} words")
    if c.input_tokens_above is not None:
        parts.append(f"input longer than {c.input_tokens_above} tokens")
    if c.output_label_in:
        parts.append("local label in " + ", ".join(c.output_label_in))
    if c.check_failed:
        parts.append("check failed: " + ", ".join(c.check_failed))
    if c.judge_below is not None:
        parts.append(f"judge mean below {c.judge_below:g}")
    if c.hard_failure:
        parts.append("the local request failed")
    target = f" ({rule.model})" if rule.model else ""
    return "if " + " and ".join(parts) + f" → {rule.action}{target}"


def rails_section(plan: SitePlan, page: str, w: Workload, r: WorkloadRouting) -> list[str]:
    out: list[str] = []
    if w.rules:
        out += [
            "## Guard rules (as data)",
            "",
            "Tried in order on every case's input and every local answer; the first that matches routes "
            "the item, and an item no rule matches stays local (`registry/workloads.yaml`, `rules`).",
            "",
        ]
        measured = list(r.rails)
        rows = [
            [rule.id, rule_text(rule), rule.note or "", *[_pct(r.rails[m].rule_shares.get(rule.id)) for m in measured]]
            for rule in w.rules
        ]
        out += [plan.table(page, "rules", ["Rule", "When", "Why", *measured], rows, sortable=False), ""]
        thresholds = {m: f.thresholds for m, f in r.rails.items() if f.thresholds}
        for m, th in thresholds.items():
            for rid, text in th.items():
                out.append(f"- `{esc_md(rid)}` for {esc_md(m)} uses the measured limit {esc_md(text)}.")
        if thresholds:
            out.append("")
    if w.guard_rules:
        out += ["## Guard rules (process)", "", "Rules in words that no stored result can check:", ""]
        out += [f"- {esc_md(rule)}" for rule in w.guard_rules] + [""]
    if not r.rails:
        return out
    out += [
        "## Before and after the rails",
        "",
        "The finding above is made on the after-rails figures. Acceptance, JSON validity, violations and "
        "unsupported claims are read on what stays local; hard failures and latency on what the input "
        "rules sent to the local model; class recall over every case of the class, an item routed to "
        "human review counting as caught and one routed hosted or up the chain as that model's measured "
        "answer (a miss where none was measured).",
        "",
    ]
    before = {d.model_id: d for d in r.before}
    after = {d.model_id: d for d in r.decisions}
    labels = sorted({lab for f in r.rails.values() for lab in f.recall})
    headers = ["Model", "Finding before", "Finding after", "Local", "Human review", "Hosted", "Escalated"]
    headers += ["Acceptance of what stays local"] + [f"{lab} recall before → after" for lab in labels]
    rows = []
    for m, f in r.rails.items():
        row = [
            m,
            before[m].finding if m in before else "—",
            after[m].finding if m in after else "—",
            *[_pct(f.shares[a]) for a in ("local", "human_review", "hosted", "escalate")],
            _pct(f.local_acceptance) + _ci(f.local_acceptance_ci) + f" n={f.local_cases}",
        ]
        for lab in labels:
            rec = f.recall.get(lab)
            row.append("—" if rec is None else f"{_pct(rec[0])} → {_pct(rec[1])}{_ci(rec[2])} n={rec[3]}")
        rows.append(row)
    out += [plan.table(page, "rails", headers, rows), ""]
    notes = []
    for m, f in r.rails.items():
        if f.unmeasured_away:
            notes.append(
                f"{m}: {f.unmeasured_away} case(s) routed away had no measured answer there (counted as misses)"
            )
        if f.regex_timeouts:
            notes.append(f"{m}: {f.regex_timeouts} regex search(es) hit the time bound (counted as matching)")
        if f.unknown_inputs:
            notes.append(f"{m}: {f.unknown_inputs} request(s) of cases not in the registry (input rules match them)")
    out += [f"- {esc_md(n)}" for n in notes] + ([""] if notes else [])
    return out


def length_section(plan: SitePlan, page: str, r: WorkloadRouting) -> list[str]:
    if not r.lengths:
        return []
    out = [
        "## Input length",
        "",
        "Acceptance and hard failures per input-length stratum (edges in `registry/policy.yaml`, `routing`), "
        "judged against this workload's acceptance and hard-failure gates with the same interval rule. "
        "The limit is the lower edge of the first stratum whose estimate misses a gate (never above the "
        "longest measured input); its interval runs from the first stratum not shown to pass to the first "
        "shown to fail. `input_words_above: measured` in a rule reads it.",
        "",
    ]
    rows = []
    for m, units in r.lengths.items():
        for unit, ev in units.items():
            strata = "; ".join(
                f"{s.label}: {_pct(s.acceptance)} acc, {_pct(s.hard_failure_rate)} hard, n={s.cases} ({s.state})"
                for s in ev.strata
                if s.cases
            )
            rows.append([m, unit, ev.interval_text, ev.basis, strata or "—"])
    out += [plan.table(page, "length", ["Model", "Unit", "Limit [interval]", "Basis", "Strata"], rows), ""]
    return out


def chain_section(plan: SitePlan, page: str, r: WorkloadRouting) -> list[str]:
    if not r.chains:
        return []
    out = [
        "## Escalation chain",
        "",
        "Computed from runs of each rung on this workload's cases: an item goes to the next rung only when "
        "a trigger fires on the rung's answer (`registry/roles.yaml`, `escalation`). `check_failed` counts "
        "only checks live traffic can run (not those comparing with the expected answer).",
        "",
    ]
    for c in r.chains:
        out += [
            f"**{esc_md(c.role)}**: {' → '.join(esc_md(x) for x in c.rungs)}; "
            f"triggers: {esc_md(', '.join(c.triggers))}.",
            "",
        ]
        cost = "unknown (a rung's cost is not known)" if c.cost_per_task is None else f"{c.cost_per_task:.5f}"
        lat = "—" if c.added_latency_s is None else f"{c.added_latency_s:.2f} s"
        rows = [
            ["Cases (every reachable rung measured)", str(c.cases)],
            ["Chain acceptance", _pct(c.acceptance) + _ci(c.acceptance_ci)],
            ["Escalation rate (first rung passes on)", _pct(c.escalation_rate)],
            ["Cost per task", cost],
            ["Added latency per task", lat],
        ]
        for s in c.shares:
            rows.append([f"Answered by {s.model_id}", f"{_pct(s.answered)} (alone: {_pct(s.acceptance_alone)})"])
        if c.incomplete:
            rows.append(["Cases left out (a reachable rung not measured)", ", ".join(c.incomplete)])
        if c.not_evaluated:
            rows.append(["Not evaluated on stored results", ", ".join(c.not_evaluated)])
        out += [plan.table(page, f"chain-{c.role}", ["Figure", "Value"], rows, sortable=False), ""]
    return out


def claims_section(plan: SitePlan, page: str, w: Workload, claims: list) -> list[str]:
    """The seed's routing figures that concern this workload, computed from the cases or flagged."""
    mine = [c for c in claims if w.id in c.workloads]
    if not mine:
        return []
    rows = [
        [c.claim, c.source, _pct(c.computed) + _ci(c.interval) if c.derivable else "not derivable", c.why] for c in mine
    ]
    return [
        "## Seed routing figures",
        "",
        plan.table(page, "seed-routing", ["Seed says", "Source", "Cases give", "How"], rows, sortable=False),
        "",
    ]

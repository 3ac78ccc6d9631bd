"""One page per workload: decision and route, gates, guard rules, failures, ROI and a runbook."""

from __future__ import annotations

from typing import Any

from generator.analysis.decisions import workload_gates
from generator.analysis.economics import WorkloadEconomics
from generator.analysis.roi import RoiResult
from generator.privacy import PRIVATE_LOCALITIES, endpoint_privacy
from generator.registry.schema import Gate, Workload
from generator.site.html import Cell, esc, esc_md, fmt_num, pre
from generator.site.pages.caselists import count_cell, group_target, link_to, row_runs
from generator.site.pages.common import finding_cell, fmt_secs, model_link
from generator.site.pages.context import SiteData
from generator.site.pages.routing_blocks import chain_section, claims_section, length_section, rails_section
from generator.site.plan import SitePlan, rel


def _gate_name(gate: Gate) -> str:
    level = f" at {gate.concurrency} in flight" if gate.concurrency is not None else ""
    return gate.metric + (f" ({gate.label})" if gate.label else "") + level


def _span(sp: Any, cur: str = "") -> str:
    unit = f" {cur}" if cur else ""
    return "—" if sp is None else f"{sp.value:,.0f}{unit} ({sp.low:,.0f}–{sp.high:,.0f})"


def _roi_block(data: SiteData, plan: SitePlan, page: str, r: RoiResult, econ: WorkloadEconomics | None) -> list[str]:
    """Measured economics per candidate (one currency: the pricing file's), then the source
    deliverable's own figures checked against its stated inputs."""
    measured = econ.measured if econ else []
    cur = measured[0].currency if measured else ""
    out = ["## Return on investment", ""]
    if not measured:
        out += ["No candidate has been measured on this workload yet, so there is no measured return.", ""]
    else:
        passing = [m for m in measured if m.passes_gates]
        out += [
            f"From the measurements, in {esc_md(cur)}: items accepted locally = volume × local share × "
            "acceptance (its 95 % interval gives each range); staff hours = items × minutes saved × survival "
            "÷ 60, valued at the loaded rate; hosted spend displaced = items × measured tokens × the "
            "baseline's price; local running cost = the named machine's amortised price plus electricity at "
            "its own power. "
            + (
                "Only a candidate that passes every gate has a net."
                if passing
                else "**No candidate passes its gates: the figures are the potential, if a candidate passes**, "
                "and no net figure enters a decision."
            ),
            "",
        ]
        rows = []
        for m in measured:
            shown_net = m.net if m.passes_gates else m.net_if_passing
            rows.append(
                [
                    m.model_id,
                    "pass" if m.passes_gates else "not passed",
                    count_cell(data, plan, page, m.model_id, m.cases, "workload", r.workload_id),
                    f"{m.acceptance.value:.2f} ({m.acceptance.low:.2f}–{m.acceptance.high:.2f})",
                    f"{m.local_share.value:g}" + ("" if m.local_share.measured else " (stated)"),
                    _span(m.staff_hours),
                    _span(m.staff_value, cur),
                    _span(m.displaced, cur),
                    "—" if m.local_cost is None else f"{m.local_cost:,.0f} {cur}",
                    ("" if m.passes_gates or shown_net is None else "potential: ") + _span(shown_net, cur),
                    "—" if m.capacity is None else m.capacity.text,
                ]
            )
        out += [
            plan.table(
                page,
                "roi-measured",
                [
                    "Model",
                    "Gates",
                    "Cases",
                    "Acceptance (95 % interval)",
                    "Local share",
                    "Staff hours/month",
                    "Value/month",
                    "Hosted spend displaced/month",
                    "Local running cost/month",
                    "Net/month",
                    "Capacity (items/hour)",
                ],
                rows,
                sortable=False,
            ),
            "",
        ]
        first = measured[0]
        out += [
            f"- Local share: {esc_md(first.local_share.source)}.",
            f"- Local running cost: {esc_md(first.local_cost_working)}.",
        ]
        if first.hosted is not None:
            out.append(f"- Hosted cost per item ({esc_md(first.model_id)}): {esc_md(first.hosted.formula)}.")
        for n in dict.fromkeys(n for m in measured for n in m.notes):
            out.append(f"- {esc_md(n)}.")
        out.append("")
    if r.seed_checks:
        out += [
            "The source deliverable's own figures, recomputed from its stated inputs (checked in its own "
            f"currency, {esc_md(r.currency)}, as quoted):",
            "",
        ]
        out += [
            plan.table(
                page,
                "roi-seed",
                ["Claim", "Seed says", "Formula gives", "Verdict", "Why"],
                [[c.subject, c.claim, fmt_num(c.derived), c.verdict, c.explanation] for c in r.seed_checks],
                sortable=False,
            ),
            "",
        ]
    return out


def _logs(value: bool | None) -> str:
    return {True: "yes", False: "no"}.get(value, "cannot tell")  # type: ignore[arg-type]


def _privacy_block(data: SiteData, plan: SitePlan, page: str, w: Workload) -> list[str]:
    """Where this workload's text goes on each route, and the source deliverable's privacy findings."""
    reg = data.reg
    pol = reg.policy.privacy
    private = w.route_if_kept in pol.private_routes
    out = [
        "## Privacy",
        "",
        f"Kept, this workload routes **{esc_md(w.route_if_kept)}**"
        + (
            ": its text must stay on this machine or its network, so each candidate's endpoint must be "
            "in-process, loopback or private (the <code>private_endpoint</code> gate above)."
            if private
            else "."
        )
        + " Locality is read from each endpoint's address in `registry/models.yaml`; what a runtime logs "
        "is `registry/policy.yaml` `privacy.prompt_logging`.",
        "",
    ]
    rows = []
    models = reg.models
    ids = [*w.candidates, *([w.baseline] if w.baseline else [])]
    for mid in dict.fromkeys(ids):
        if mid not in models:
            continue
        e = endpoint_privacy(models[mid], pol)
        role = "baseline" if mid == w.baseline else "candidate"
        if not private or role == "baseline":
            verdict = "—"
        else:
            verdict = "ok" if e.locality in PRIVATE_LOCALITIES else "FAILS the private route"
        where = e.endpoint or "in-process"
        rows.append([mid, role, where, e.locality, e.reason, _logs(e.logs_prompts), e.logging_note, verdict])
    out += [
        plan.table(
            page,
            "privacy",
            ["Model", "Role", "Endpoint", "Locality", "Why", "Logs prompts", "What is known", "Private route"],
            rows,
        ),
        "",
    ]
    findings = [f for f in pol.findings if not f.workloads or w.id in f.workloads]
    if findings:
        out += [f"What the source deliverable found ({esc_md(pol.findings_source)}):", ""]
        out += [f"- {esc_md(f.finding)}" for f in findings] + [""]
    out += [
        "Each run page says what that run stored: output text, or only a sha256 of each output "
        "(`opsbench run --redact-outputs`).",
        "",
    ]
    return out


def _runbook(data: SiteData, w: Workload) -> list[str]:
    pol = data.reg.policy
    ops = [g for g in w.gates if g.kind == "operational"]
    out = [
        "## Runbook",
        "",
        "Generated from this workload's gates and `registry/policy.yaml`, so it changes when they do.",
        "",
        "**Readiness.** Mark the local route ready only after a one-token generation returns a valid "
        f"completion within {pol.readiness.probe_max_s:g} s (`opsbench probe MODEL`); reject traffic until then.",
        "",
        "**Thresholds to monitor.**",
        "",
    ]
    for g in w.gates:
        out.append(
            f"- <code>{esc(_gate_name(g))}</code> {esc_md(g.op)} {g.value:g} ({g.kind})"
            + (f": {esc_md(g.note)}" if g.note else "")
        )
    out += [
        "",
        f"**Requests.** Client timeout {pol.execution.request_timeout_s:g} s; at most "
        f"{pol.execution.max_retries} retries with exponential backoff from {pol.execution.backoff_base_s:g} s "
        "(connection errors, 429 honouring Retry-After, 5xx); context overflows and malformed answers are "
        "not retried.",
        "",
    ]
    rollback = "the hosted baseline " + f"<code>{esc(w.baseline)}</code>" if w.baseline else "human handling"
    out += [
        f"**Rollback.** If any operational gate ({', '.join(esc_md(g.metric) for g in ops) or 'none set'}) "
        f"fails in monitoring, route the workload to {rollback} and re-run the suite "
        "(`opsbench run`, then `opsbench decide`) before routing it back.",
        "",
    ]
    if w.guard_rules or w.rules:
        out += ["**Guard rules stay on** whatever the finding: see above.", ""]
    return out


def workload_page(data: SiteData, plan: SitePlan, w: Workload) -> str:
    reg = data.reg
    page = f"workloads/{w.id}.md"
    decisions = data.decisions[w.id]
    out = [f"# {esc_md(w.title)}", "", f"*Source: {esc_md(w.source)}.* {esc_md(w.description)}", ""]
    if w.baseline and w.baseline not in data.measured("model_id"):
        out += [
            f'<p class="opsbench-note">The baseline <code>{esc(w.baseline)}</code> was never measured: '
            "gates relative to it cannot be judged until it runs on this workload's cases.</p>",
            "",
        ]
    out += ["## Decision", ""]
    rows = [
        [
            model_link(reg, page, d.model_id),
            count_cell(data, plan, page, d.model_id, d.cases, "workload", w.id) if d.cases else d.cases,
            finding_cell(d.finding),
            d.route,
            d.fragility_text if d.finding != "no-runs" else "—",
            d.reason,
            row_runs(data, plan, page, d.model_id, "workload", w.id) if d.cases else "—",
        ]
        for d in decisions
    ]
    out += [
        plan.table(
            page, "decisions", ["Model", "Cases", "Finding", "Route", "What would flip it", "Why", "Runs"], rows
        ),
        "",
        '<p class="opsbench-note">A gate passes only when its 95 % interval clears the threshold and fails '
        "only when the interval misses it entirely; in between the finding is <b>insufficient evidence</b>. "
        f"No workload is kept on fewer than {reg.policy.decisions.min_cases} cases "
        "(<code>registry/policy.yaml</code>).</p>",
        "",
    ]
    out += _review_block(data, plan, page, w)
    gk = reg.policy.decisions.gate_kinds
    out += [
        "## Gates",
        "",
        "Measured value per model against the thresholds in `registry/workloads.yaml`. A failing "
        + "; ".join(f"{k} gate means **{v.finding_on_fail}**" for k, v in gk.items() if k != "economic")
        + " (`registry/policy.yaml`).",
        "",
    ]
    measured = [d for d in decisions if d.finding != "no-runs"]
    grows = []
    for i, gate in enumerate(workload_gates(w, reg.policy.privacy)):
        threshold = f"≥ baseline − {gate.margin:.0%}" if gate.relative_to else f"{gate.op} {gate.value:g}"
        if gate.metric == "private_endpoint":
            threshold = "in-process, loopback or private network"
        cells: list[Any] = [_gate_name(gate), gate.kind, threshold]
        for d in measured:
            g = d.gates[i]
            if g.state is None:
                cells.append("no data")
                continue
            mark = {"pass": "pass", "fail": "FAIL", "insufficient": "unsettled"}[g.state]
            # A latency gate without a named level reads each model's lowest: say which.
            at = g.level if gate.concurrency is None and g.level is not None else None
            where = f" at {at} in flight" if at is not None else ""
            ci = f"[{fmt_secs(g.ci_low, 3)}, {fmt_secs(g.ci_high, 3)}]" if g.ci_low is not None else ""
            frag = f"; {g.fragility_text}" if g.fragility is not None else ""
            if gate.metric == "private_endpoint":
                cells.append(
                    Cell(
                        f'<span class="opsbench-{"pass" if g.state == "pass" else "fail"}">{mark}</span> '
                        f'<span class="opsbench-ci">{esc(g.method)}</span>',
                        plain=f"{mark} {g.method}",
                    )
                )
                continue
            cells.append(
                Cell(
                    f'{esc(fmt_secs(g.value, 3))} <span class="opsbench-ci">{esc(ci)} n={g.n}{esc(where)}</span> '
                    f'<span class="opsbench-{"pass" if g.state == "pass" else "fail"}">{mark}</span>'
                    f'<span class="opsbench-ci">{esc(frag)}</span>',
                    plain=f"{g.value:.4f} {ci} n={g.n} {mark}{where}",
                    sort=g.value,
                )
            )
        grows.append(cells)
    out += [
        plan.table(page, "gates", ["Gate", "Kind", "Threshold", *[d.model_id for d in measured]], grows),
        "",
    ]
    behind = [(d.model_id, group_target(data, plan, d.model_id, "workload", w.id)) for d in measured]
    if any(target for _, target in behind):
        links = " · ".join(
            f'<a href="{esc(link_to(page, target))}">{esc(m)}</a>' if target else esc(m) for m, target in behind
        )
        out += [f'<p class="opsbench-note">The cases and runs behind each column: {links}.</p>', ""]
    routing = data.routing.get(w.id)
    if routing is not None:
        out += rails_section(plan, page, w, routing)
        out += length_section(plan, page, routing)
        out += chain_section(plan, page, routing)
        out += claims_section(plan, page, w, data.routing_claims)
    elif w.guard_rules:
        out += ["## Guard rules", ""] + [f"- {esc_md(rule)}" for rule in w.guard_rules] + [""]
    out += _privacy_block(data, plan, page, w)
    out += ["## Representative failures", ""]
    excerpt = reg.policy.scoring.output_excerpt_chars
    shown = 0
    for d in measured:
        for f in d.failing_cases[:3]:
            shown += 1
            out += [
                f"### {esc_md(d.model_id)} · {esc_md(f['case_id'])}",
                "",
                f"What the checks found: {esc_md(f['what'] or f['failure_kind'])}",
                "",
            ]
            text = data.outputs.get((f.get("run_id", ""), f.get("key", ""))) or f["excerpt"]
            if text:
                out += [pre(text, excerpt, "full text on the case page"), ""]
            target = plan.case_pages.get(f["case_id"])
            if target:
                link = f'<a href="{esc(rel(page, target))}">Case page: every model\'s output and checks</a>'
                out += [f"<p>{link}</p>", ""]
    if not shown:
        out += ["No failing cases recorded." if measured else "No runs yet.", ""]
    if w.id in data.roi:
        out += _roi_block(data, plan, page, data.roi[w.id], data.economics.get(w.id))
    out += _runbook(data, w)
    out += ["## Cases", ""]
    cases = [(s, c) for s, c in reg.all_cases() if c.workload == w.id]
    out += [
        plan.table(
            page,
            "cases",
            ["Suite", "Case", "Role", "Severity", "Title", "Checks"],
            [
                [s, plan.case_link(page, c.id), c.role, c.severity, c.title, ", ".join(ch.kind for ch in c.checks)]
                for s, c in cases
            ],
        ),
        "",
    ]
    return "\n".join(out)


def _review_block(data: SiteData, plan: SitePlan, page: str, w: Workload) -> list[str]:
    """How far the automated scoring behind these verdicts agrees with human reviewers."""
    out = ["### Agreement with human review", ""]
    rep = data.review
    agree = [a for a in (rep.agreement if rep else []) if a.workload == w.id]
    if not agree:
        how = (
            f"`opsbench review sample --workload {w.id} --n 40`, then `opsbench review add FILE`"
            if w.review_rubric
            else "give the workload a `review_rubric` in `registry/workloads.yaml`, then `opsbench review sample`"
        )
        return [
            *out,
            "These verdicts rest on automated scoring (deterministic checks, and judges where configured); "
            f"no human has graded this workload's outputs yet, so their agreement is unmeasured. To measure it: {how}.",
            "",
        ]
    rows = [
        [
            a.rater_a,
            a.rater_b,
            a.n,
            fmt_num(a.observed, pct=True),
            fmt_num(a.kappa) if a.kappa is not None else (a.note or "—"),
        ]
        for a in agree
    ]
    out += [
        "These verdicts rest on automated scoring; here is how often it agrees with the human reviewers "
        f"(human acceptable: every rubric dimension at least {rep.acceptable_score}).",  # type: ignore[union-attr]
        "",
        plan.table(page, "review-agreement", ["Rater", "Against", "Graded results", "Agree", "Cohen's kappa"], rows),
        "",
    ]
    scores = [s for s in rep.scores if s.workload == w.id]  # type: ignore[union-attr]
    if scores:
        srows = [
            [
                s.model_id,
                s.dimension,
                s.n,
                fmt_num(s.mean),
                f"[{fmt_num(s.low)}, {fmt_num(s.high)}]" if s.low is not None else "—",
            ]
            for s in scores
        ]
        out += [
            plan.table(page, "review-scores", ["Model", "Dimension", "Graded", "Mean", "95 % interval"], srows),
            "",
        ]
    return out

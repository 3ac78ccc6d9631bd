"""Deployment plans: which models fit together on a machine, every term shown; the seed's options A/B/C recomputed."""

from __future__ import annotations

from generator.analysis.plans import PlanReport, PlanSet, RoleQuality
from generator.registry.loader import Registry
from generator.site.html import esc_md, fmt_num
from generator.site.pages.common import model_link
from generator.site.plan import SitePlan

PAGE = "deployment-plans.md"


def _quality(q: RoleQuality | None) -> str:
    if q is None:
        return "unmeasured"
    return f"{q.acceptance:.0%} [{q.low:.0%}, {q.high:.0%}] on {q.cases} cases"


def _load(x: float | None) -> str:
    return "unmeasured" if x is None else f"{x:.2f} s"


def set_table(reg: Registry, plan: SitePlan, slug: str, s: PlanSet, labels: dict[str, str] | None = None) -> str:
    labels = labels or {}
    rows = [
        [
            model_link(reg, PAGE, t.model_id),
            labels.get(t.model_id, ", ".join(t.roles) or "no role"),
            fmt_num(t.weights_gb, 1),
            "not stated" if t.kv_gb is None else fmt_num(t.kv_gb, 2),
            fmt_num(t.runtime_overhead_gb, 1),
            fmt_num(t.subtotal_gb, 1),
            f"{fmt_num(t.speed_per_user_tps, 1)} ({t.speed_label})",
            t.users_at_target,
            "; ".join(f"{r}: {_quality(q)}" for r, q in t.quality.items()) or "—",
            _load(t.load_s),
        ]
        for t in s.models
    ]
    rows.append(["OS reserve", "", "", "", "", fmt_num(s.os_reserve_gb, 1), "", "", "", ""])
    rows.append(["Total", "", "", "", "", fmt_num(s.total_gb, 1), "", "", "", ""])
    return plan.table(
        PAGE,
        slug,
        [
            "Model",
            "Part / roles",
            "Weights (GB)",
            "KV (GB)",
            "Runtime (GB)",
            "Subtotal (GB)",
            "tok/s per user",
            "Users @ target",
            "Measured quality per role",
            "Load (cold start)",
        ],
        rows,
        sortable=False,
    )


def _set_block(
    reg: Registry, plan: SitePlan, slug: str, title: str, s: PlanSet, labels: dict[str, str] | None = None
) -> list[str]:
    out = [
        f"### {esc_md(title)}",
        "",
        f"{fmt_num(s.total_gb, 1)} of {fmt_num(s.memory_gb, 0)} GB, "
        f"{'fits' if s.fits else '**does not fit**'} (headroom {fmt_num(s.headroom_gb, 1)} GB); roles covered: "
        f"{esc_md(', '.join(s.roles_covered) or 'none')}.",
        "",
        set_table(reg, plan, slug, s, labels),
        "",
    ]
    if s.cold_starts:
        out += [
            "Roles it must swap in (cold start): "
            + esc_md("; ".join(f"{c.role}: {c.model_id}, {_load(c.load_s)}" for c in s.cold_starts))
            + ".",
            "",
        ]
    out += [f"- {esc_md(n)}" for n in s.notes] + ([""] if s.notes else [])
    return out


def deployment_page(reg: Registry, plan: SitePlan, reports: list[PlanReport]) -> str:
    d = reg.hardware.capacity
    out = [
        "# Deployment plans",
        "",
        "Which registry models can be loaded together on one machine. A set fits when the sum over its "
        "models of weights (total parameters × bits per weight ÷ 8) + KV cache (2 × layers × KV heads × head "
        "dim × bytes × context × users) + runtime overhead, plus the machine's OS reserve, is at most its "
        "memory. Speeds are the bandwidth **ceiling** ÷ users wherever no calibrated figure exists, and "
        "labelled so; each is for that model decoding alone (models decoding at the same moment share the "
        "bandwidth). Quality per role is measured acceptance on that role's cases, or *unmeasured*. A role "
        "the set does not cover must load its incumbent: its cold start is the load time runs measured.",
        "",
        f"Defaults: {d.concurrency} user(s), {d.context_tokens:,} tokens of context, {d.runtime_overhead_gb:g} GB "
        f"runtime overhead per model, users at {d.target_user_tps:g} tok/s each. `opsbench plan MACHINE --users N "
        "--context C` recomputes for other values.",
        "",
    ]
    if not reports:
        out += ["No machine to plan (hardware.yaml has no `plans:` section or no seed option).", ""]
        return "\n".join(out)
    shown = reg.hardware.plans.max_sets_shown if reg.hardware.plans else 5
    for r in reports:
        machine = next(m for m in reg.hardware.machines if m.id == r.machine_id)
        out += [f"## {esc_md(machine.name)}", ""]
        for sp in r.seed:
            out += [f"### The seed's {esc_md(sp.label)}", "", f"The seed says: “{esc_md(sp.claim)}”.", ""]
            if sp.note:
                out += [esc_md(sp.note), ""]
            if sp.missing:
                out += [f"Not in the registry: {esc_md(', '.join(sp.missing))}.", ""]
            if sp.plan is not None:
                labels = {
                    mc.model: mc.label for c in reg.hardware.seed_claims.plans if c.id == sp.id for mc in c.models
                }
                out += _set_block(reg, plan, f"{r.machine_id}-{sp.id}", "As the registry has it", sp.plan, labels)
            if sp.could_add:
                out += [f"Still fits beside it: {esc_md(', '.join(sp.could_add))}.", ""]
            if sp.checks:
                out += [
                    plan.table(
                        PAGE,
                        f"{r.machine_id}-{sp.id}-checks",
                        ["Subject", "Seed says", "Registry gives", "Verdict", "Why"],
                        [[c.subject, c.claim, fmt_num(c.derived), c.verdict, c.explanation] for c in sp.checks],
                    ),
                    "",
                ]
        out += [
            f"### Sets that fit ({r.sets_total:,} maximal sets of up to "
            f"{reg.hardware.plans.max_models if reg.hardware.plans else '?'} models; "
            f"the first {min(shown, r.sets_total)} by roles covered, then measured roles, then weights)",
            "",
        ]
        if r.excluded:
            out += ["Not planned: " + esc_md("; ".join(f"{k} ({v})" for k, v in r.excluded.items())) + ".", ""]
        for i, s in enumerate(r.sets[:shown], start=1):
            out += _set_block(reg, plan, f"{r.machine_id}-set-{i}", f"Set {i}: {' + '.join(s.model_ids)}", s)
    return "\n".join(out)

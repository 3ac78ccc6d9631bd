"""Roles & incumbents, as on the seed page "Local Model Benchmarks", with promotion verdicts."""

from __future__ import annotations

from collections import Counter

from generator.analysis.promotion import measured_pairs, role_cells
from generator.site.html import Cell, esc_md, fmt_num
from generator.site.pages.common import model_link
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "roles.md"

VERDICT_TEXT = {
    "promote": "promote",
    "hold": "hold",
    "retire-candidate": "retire candidate",
    "insufficient-evidence": "insufficient evidence",
    "no-runs": "no runs yet",
}


def roles_page(data: SiteData, plan: SitePlan) -> str:
    reg = data.reg
    p = reg.policy.promotion
    s = reg.policy.statistics
    cases = Counter(c.role for _, c in reg.all_cases())
    out = [
        "# Roles & incumbents",
        "",
        "Every routing slot has one incumbent. A challenger replaces it only if, on the cases both ran, "
        "it is no worse on acceptance rate (>= incumbent), review pain (<=) and "
        "hard-failure rate (<=); its cost tier is free unless the incumbent is also paid; "
        f"the role keeps at least {p.min_families_per_role} model families once the incumbent is replaced "
        "(the family-diversity guard); and the gain is beyond noise: a one-sided paired test on the shared "
        "cases (exact McNemar with one request per case, a sign-flip permutation test of per-case mean "
        f"differences with repeats) at p < {s.alpha / 2:g}, Holm-corrected across the role's challengers, "
        f"on at least {p.min_shared_cases} shared cases. A challenger {p.retire_if_worse_by:.0%} or more below "
        "the incumbent, significantly and on as many shared cases, is a retire candidate. "
        "Each verdict says what would flip it. "
        "All numbers come from `registry/policy.yaml`.",
        "",
    ]
    for role in reg.roles_file.roles:
        out += [
            f"## {esc_md(role.id)}",
            "",
            f"{esc_md(role.description)} · {cases.get(role.id, 0)} cases",
            "",
        ]
        members = [("incumbent", role.incumbent), *[("challenger", c) for c in role.challengers]]
        rows = []
        ran = data.measured("model_id")
        for kind, mid in members:
            m = reg.models[mid]
            measured = "measured" if mid in ran else f"never measured{' (incumbent)' if kind == 'incumbent' else ''}"
            rows.append([kind, model_link(reg, PAGE, mid), m.family, m.cost_tier, measured])
        out += [
            plan.table(
                PAGE, f"{role.id}-members", ["Slot", "Model", "Family", "Cost tier", "Evidence"], rows, sortable=False
            ),
            "",
        ]
        pairs = measured_pairs(role_cells(data.quality(), role), role, reg.policy.statistics)
        if pairs:
            out += [
                "Measured members compared on the cases both ran (paired; B − A in acceptance, 95 % bootstrap "
                "interval over cases):",
                "",
                plan.table(
                    PAGE,
                    f"{role.id}-pairs",
                    ["A", "B", "Shared cases", "A accepted", "B accepted", "B − A [95 % CI]", "Test", "p"],
                    [
                        [
                            c.a,
                            c.b,
                            c.n,
                            fmt_num(c.mean_a, pct=True),
                            fmt_num(c.mean_b, pct=True),
                            f"{c.diff:+.1%} [{c.ci_low:+.1%}, {c.ci_high:+.1%}]"
                            if c.ci_low == c.ci_low
                            else f"{c.diff:+.1%}",
                            c.method,
                            f"{c.p_value:.3g}",
                        ]
                        for c in pairs
                    ],
                    sortable=False,
                ),
                "",
            ]
        outcomes = [o for o in data.promotions if o.role == role.id]
        if not outcomes:
            out += ["No active challengers.", ""]
            continue
        for o in outcomes:
            out += [
                f"### {esc_md(o.challenger)} vs {esc_md(o.incumbent)}: {esc_md(VERDICT_TEXT[o.verdict])}",
                "",
                esc_md(o.reason) + (f" *What would flip it:* {esc_md(o.fragility_text)}." if o.fragility_text else ""),
                "",
            ]
            if o.gates:
                grows = [
                    [
                        g.gate,
                        g.challenger,
                        g.incumbent or "—",
                        g.rule,
                        Cell(
                            {
                                True: '<span class="opsbench-pass">pass</span>',
                                False: '<span class="opsbench-fail">FAIL</span>',
                                None: "no data",
                            }[g.passed],
                            plain={True: "pass", False: "FAIL", None: "no data"}[g.passed],
                        ),
                    ]
                    for g in o.gates
                ]
                out += [
                    plan.table(
                        PAGE,
                        f"{role.id}-{o.challenger}",
                        ["Gate", "Challenger", "Incumbent", "Rule", "Result"],
                        grows,
                        sortable=False,
                    ),
                    "",
                ]
    out += [
        '<p class="opsbench-note">Apply the verdicts with <code>opsbench promote --apply</code>: '
        "it rewrites only the <code>incumbent:</code> lines of <code>registry/roles.yaml</code>.</p>",
        "",
    ]
    return "\n".join(out)

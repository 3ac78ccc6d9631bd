"""Prompt mix: the latest ``opsbench mine`` aggregates, beside the seed's "97.3 % offloadable".

Only aggregates reach this page (mining folders hold no prompt text); every share carries its
Wilson interval, and the seed's quoted shares are set beside ours, never mixed into them.
"""

from __future__ import annotations

from generator.mine.mix import Share
from generator.mine.store import MiningRun
from generator.registry.loader import Registry
from generator.site.html import Cell, esc, esc_md
from generator.site.plan import SitePlan

PAGE = "prompt-mix.md"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f} %"


def share_cell(s: Share) -> Cell:
    if s.share is None:
        return Cell("—", plain="")
    text = f'{_pct(s.share)} <span class="opsbench-ci">[{_pct(s.low)}, {_pct(s.high)}]</span>'
    return Cell(text, sort=f"{s.share:.6f}", plain=f"{s.share:.4f} [{s.low:.4f}, {s.high:.4f}]")


def prompt_mix_page(reg: Registry, plan: SitePlan, runs: list[MiningRun]) -> str:
    pol = reg.policy.mining
    out = [
        "# Prompt mix",
        "",
        "Which share of a real prompt history could run on local models? `opsbench mine` reads a history "
        "(Claude Code session transcripts: user turns only, never tool results or sub-agent prompts; or a "
        "JSONL / CSV column), labels each prompt with a category, a complexity and the smallest model tier "
        "that can handle it (deterministic rules from `policy.yaml` first, then a registry model), and writes "
        "aggregates only: no prompt text leaves the machine it was read on. Every share is of all prompts "
        "read, with a 95 % Wilson interval; a prompt the classifier could not label stays in the "
        "denominator as *unclassified* and is never counted as offloadable.",
        "",
    ]
    if pol is not None:
        out += [
            f"Tiers, smallest first: {esc_md(', '.join(pol.tiers))}; offloadable means at most "
            f"{esc_md(pol.local_tiers[-1])}. Rules: {esc_md(', '.join(r.id for r in pol.rules) or 'none')}.",
            "",
        ]
    if not runs:
        out += ["No mining run yet: run `opsbench mine PATH` on a history to fill this page.", ""]
        return "\n".join(out)
    run = runs[-1]
    m, mix = run.manifest, run.mix
    out += [
        f"Latest mining run **{esc_md(m.run_id)}**: {mix.n:,} prompts from {m.files:,} file(s), "
        f"{m.projects:,} project(s), {m.sessions:,} session(s) ({esc_md(m.format)}); classifier "
        f"{esc_md(m.classifier or 'none (every prompt matched a rule)')}; labelled by "
        f"{esc_md(', '.join(f'{k} {v}' for k, v in mix.decided_by.items()) or 'nothing')}. "
        f"Lines that were not prompts: {esc_md(', '.join(f'{k} {v}' for k, v in m.skipped.items()) or 'none')}; "
        f"lines skipped as problems: {m.problems:,}.",
        "",
        "## Offloadable",
        "",
        plan.table(
            PAGE,
            "offloadable",
            ["Tier at most", "Prompts", "Share [95 % CI]"],
            [[s.key, s.k, share_cell(s)] for s in mix.offloadable],
            sortable=False,
        ),
        "",
        "## Minimum tier",
        "",
        plan.table(
            PAGE,
            "tiers",
            ["Tier", "Prompts", "Share [95 % CI]"],
            [[s.key, s.k, share_cell(s)] for s in mix.by_tier],
            sortable=False,
        ),
        "",
        "## Category × tier",
        "",
        plan.table(
            PAGE,
            "category-tier",
            ["Category", "Prompts", "Share of all [95 % CI]", *[f"{t} (share of category)" for t in mix.tiers]],
            [
                [
                    s.key,
                    s.k,
                    share_cell(s),
                    *[share_cell(x) for x in mix.tier_in_category.get(s.key, [])],
                ]
                for s in mix.by_category
                if s.k
            ],
        ),
        "",
    ]
    if mix.claims:
        out += [
            "## The seed's shares beside this history's",
            "",
            f"Quoted from {esc_md(pol.seed_source if pol else '')}; a quote inside our interval is one this "
            "history cannot tell apart from its own share.",
            "",
            plan.table(
                PAGE,
                "seed-claims",
                ["Seed says", "Seed share", "This history [95 % CI]", "Inside our interval"],
                [
                    [
                        c.claim,
                        _pct(c.claimed_share),
                        share_cell(c.ours),
                        {True: "yes", False: "no", None: "—"}[c.inside],
                    ]
                    for c in mix.claims
                ],
            ),
            "",
        ]
    out += ["## Audit", ""]
    if mix.agreement is None:
        out += [
            f"No human audit recorded with this run. The audit sample has {len(mix.audit_ids)} ids "
            "(`opsbench mine` prints them): label each with the smallest tier, as CSV `id,tier`, and pass it "
            "with `--audit FILE` to record Cohen's kappa here.",
            "",
        ]
    else:
        a = mix.agreement
        out += [
            f"A person labelled {a.n} prompts (`{esc(m.audit_file or '')}`); the classifier's tier matched exactly on "
            f"{_pct(a.exact.share)} [{_pct(a.exact.low)}, {_pct(a.exact.high)}]. Cohen's kappa of "
            '"at most this tier" (an unclassified prompt counts as not offloadable):',
            "",
            plan.table(
                PAGE,
                "agreement",
                ["At most", "Prompts", "Agreement", "Cohen's kappa"],
                [
                    [t.at_most, t.n, _pct(t.observed), f"{t.kappa:.2f}" if t.kappa is not None else (t.note or "—")]
                    for t in a.by_tier
                ],
                sortable=False,
            ),
            "",
        ]
    return "\n".join(out)

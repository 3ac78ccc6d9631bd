"""Proxy validity: same weights on another host or quantization, compared on shared cases."""

from __future__ import annotations

from generator.analysis.proxy import ProxyReport
from generator.registry.loader import Registry
from generator.site.html import esc_md
from generator.site.pages.common import model_link
from generator.site.plan import SitePlan

PAGE = "proxy-validity.md"


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:+.1f} pts" if signed else f"{x * 100:.1f} %"


def proxy_page(reg: Registry, plan: SitePlan, report: ProxyReport) -> str:
    out = [
        "# Proxy validity",
        "",
        "A score measured on one host or quantization stands in for the same weights elsewhere only if the "
        "two agree. Registry entries that share weights say so (`same_weights_as`, with each entry's "
        "quantization and host); each such pair is compared on the cases both ran, with the same paired test "
        "as every other comparison here (per-case means, exact McNemar with one request per case, a sign-flip "
        "permutation test otherwise) and a paired bootstrap interval for the gap (proxy − reference), on "
        "acceptance and on review pain (severity-weighted failed checks: it still moves when both entries "
        "fail every case, where acceptance says nothing). The two p-values are Holm-adjusted; a gap is "
        f"significant at two-sided alpha {report.alpha:g}. Wherever a family shows "
        "a significant gap, a score measured only on a hosted (full-precision cloud) entry is shown as an "
        "**upper bound** for its local same-weights entry.",
        "",
    ]
    if not report.pairs:
        out += ["No registry entry names `same_weights_as` yet.", ""]
    else:
        rows = []
        for p in report.pairs:
            c = p.comparison
            rows.append(
                [
                    model_link(reg, PAGE, p.reference),
                    p.reference_setup,
                    model_link(reg, PAGE, p.proxy),
                    p.proxy_setup,
                    c.n,
                    _pct(c.mean_a),
                    _pct(c.mean_b),
                    "—"
                    if c.diff is None
                    else f"{_pct(c.diff, True)} [{_pct(c.ci_low, True)}, {_pct(c.ci_high, True)}]",
                    "—" if p.pain.diff is None else f"{p.pain.diff:+.2f} [{p.pain.ci_low:+.2f}, {p.pain.ci_high:+.2f}]",
                    ", ".join("—" if x is None else f"{x:.3g}" for x in p.p_adjusted.values()),
                    c.method,
                    "—" if c.mde is None else _pct(c.mde),
                    p.verdict,
                ]
            )
        out += [
            plan.table(
                PAGE,
                "pairs",
                [
                    "Reference",
                    "Reference setup",
                    "Proxy",
                    "Proxy setup",
                    "Shared cases",
                    "Reference acceptance",
                    "Proxy acceptance",
                    "Acceptance gap [95 % CI]",
                    "Review-pain gap [95 % CI]",
                    "Holm p (acceptance, pain)",
                    "Test",
                    "Detectable gap (MDE)",
                    "Verdict",
                ],
                rows,
            ),
            "",
            "The detectable gap is the smallest difference this many shared cases could show at the policy's "
            "power: *no gap beyond noise* on few cases is weak evidence of equivalence.",
            "",
        ]
    if report.upper_bounds:
        out += ["## Upper bounds", ""]
        out += [
            f"- {esc_md(b.hosted)}'s score is an upper bound for {esc_md(b.local)} "
            f"({esc_md(b.family)}: {esc_md(b.because)})."
            for b in report.upper_bounds
        ]
        out += [""]
    if report.seed_claims:
        out += [
            "## Quoted, not measured here",
            "",
            f"From {esc_md(report.seed_source or 'the seed')}: the seed's own cloud-versus-local scores, on its "
            "0–2 judge scale. No run here measured these pairs, so they are neither tested nor pooled.",
            "",
            plan.table(
                PAGE,
                "seed-claims",
                ["Model", "Cloud", "Local", "Local − cloud", "Seed says"],
                [
                    [
                        c.model,
                        f"{c.cloud_score:g}",
                        f"{c.local_score:g}",
                        f"{c.local_score - c.cloud_score:+.2f}",
                        c.claim,
                    ]
                    for c in report.seed_claims
                ],
            ),
            "",
        ]
    return "\n".join(out)

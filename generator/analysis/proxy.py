"""Proxy validity: is a score measured on one host or quantization a fair proxy for the same weights elsewhere?

The registry says which entries share weights (``same_weights_as`` on a model entry, with
its ``quantization`` and ``host``). Each such pair is compared on the cases both ran, with
the evidence core's paired test (``generator.analysis.compare.paired``: per-case means,
exact McNemar with one request per cell, a sign-flip test otherwise, a paired bootstrap
interval over cases). The gap is the proxy entry's value minus its reference's, on two
metrics: acceptance (a pass/fail outcome that a weak model can fail on every case, which
makes a null check on it uninformative) and review pain (the severity-weighted failed
checks, which still moves when both fail). The two p-values are Holm-adjusted.

A pair whose gap is significant on either metric (two-sided, policy ``statistics.alpha``,
after Holm) is evidence that
host or quantization moves quality in that family. Wherever that happens, a score that was
measured only on a hosted (full-precision cloud) entry is shown as an **upper bound** for its
local same-weights entry, never as that entry's score.

Pure: the evidence table and registry records in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from generator.analysis.compare import Paired, holm_adjust, paired
from generator.analysis.evidence import binary_cells, case_means
from generator.registry.schema import ModelEntry, ProxyClaim, StatisticsPolicy


@dataclass
class ProxyPair:
    reference: str  # the entry ``same_weights_as`` names
    proxy: str  # the entry that declares it
    family: str
    reference_setup: str  # quantization @ host
    proxy_setup: str
    comparison: Paired  # acceptance, proxy against reference: diff = proxy − reference
    pain: Paired  # review pain (lower is better), the same way round
    p_adjusted: dict[str, float | None]  # Holm across the two metrics
    significant: bool | None  # None: no shared case
    verdict: str


@dataclass
class UpperBound:
    """A hosted entry's score read as the most its local same-weights entry can be expected to give."""

    hosted: str
    local: str
    family: str
    because: str  # the pair in the family whose gap was significant


@dataclass
class ProxyReport:
    alpha: float
    pairs: list[ProxyPair]
    upper_bounds: list[UpperBound]
    seed_claims: list[ProxyClaim] = field(default_factory=list)
    seed_source: str | None = None


def setup(m: ModelEntry) -> str:
    return f"{m.quantization or 'precision not stated'} @ {m.host or m.provider}"


def _measured(q: pd.DataFrame, model_id: str) -> bool:
    return not q.empty and bool((q["model_id"] == model_id).any())


def proxy_pairs(models: dict[str, ModelEntry]) -> list[tuple[ModelEntry, ModelEntry]]:
    """(reference, proxy) for every entry that names another with ``same_weights_as``."""
    return [
        (models[m.same_weights_as], m)
        for m in models.values()
        if m.same_weights_as is not None and m.same_weights_as in models
    ]


def proxy_report(
    q: pd.DataFrame,
    models: dict[str, ModelEntry],
    policy: StatisticsPolicy,
    seed_claims: list[ProxyClaim] | None = None,
    seed_source: str | None = None,
) -> ProxyReport:
    """Every same-weights pair compared on shared cases, and the upper bounds that follow."""
    pairs: list[ProxyPair] = []
    for ref, prox in proxy_pairs(models):
        names = (ref.id, prox.id)
        binary = binary_cells(q, list(names))
        cmp = paired(case_means(q, ref.id), case_means(q, prox.id), policy, binary=binary, names=names)
        pain = paired(case_means(q, ref.id, "pain"), case_means(q, prox.id, "pain"), policy, False, names=names)
        adjusted = dict(zip(("acceptance", "review pain"), holm_adjust([cmp.p_value, pain.p_value]), strict=True))
        if cmp.n == 0:
            significant, verdict = None, "no shared cases"
        else:
            significant = any(p is not None and p < policy.alpha for p in adjusted.values())
            verdict = "significant gap" if significant else "no gap beyond noise"
        pairs.append(
            ProxyPair(ref.id, prox.id, prox.family, setup(ref), setup(prox), cmp, pain, adjusted, significant, verdict)
        )
    gap_families = {p.family: p for p in pairs if p.significant}
    bounds: list[UpperBound] = []
    for ref, prox in proxy_pairs(models):
        for hosted, local in ((ref, prox), (prox, ref)):
            if hosted.provider != "hosted" or local.provider == "hosted":
                continue
            if hosted.family in gap_families and _measured(q, hosted.id) and not _measured(q, local.id):
                p = gap_families[hosted.family]
                bounds.append(
                    UpperBound(
                        hosted.id,
                        local.id,
                        hosted.family,
                        f"{p.proxy} vs {p.reference}: acceptance {p.comparison.diff:+.1%}, review pain "
                        f"{p.pain.diff:+.2f} (Holm p = {_min_p(p):.3g})",
                    )
                )
    return ProxyReport(policy.alpha, pairs, bounds, list(seed_claims or []), seed_source)


def _min_p(p: ProxyPair) -> float:
    return min(x for x in p.p_adjusted.values() if x is not None)

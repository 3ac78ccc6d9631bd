"""The prompt mix: aggregates of labelled prompts, with intervals. Pure: labels in, records out.

The unit is the prompt. Every share is k of n prompts with its Wilson interval
(``generator.analysis.stats.wilson``, at the policy's two-sided level). Unclassified
prompts stay in every denominator and are never offloadable: dropping them would
flatter the share that runs locally.

* **Cells**: prompts per category × tier, each as a share of all prompts.
* **Offloadable**: the share of prompts whose tier is at most each local tier (the seed's
  "97.3 % at ≤ local-large" and "78 % at ≤ local-small" are two of these).
* **Per category**: each category's share, and the share of its prompts at each tier.
* **Audit sample**: ids drawn at random with the policy's seed, for a person to label.
* **Agreement** with a person's tiers (``audit_agreement``): at each local tier, Cohen's
  kappa (``stats.cohen_kappa``) of "at most this tier" between the classifier and the
  person, plus the share of exact tier matches.

Nothing here holds prompt text: only ids, labels and counts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from generator.analysis.stats import cohen_kappa, norm_ppf, wilson
from generator.mine.classify import UNCLASSIFIED, Label
from generator.registry.schema import MiningPolicy, MixClaim


class _Record(BaseModel):
    """Mining records are written to ``mix.json`` and read back for the site: pydantic both ways."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Share(_Record):
    """k of n prompts, with its Wilson interval."""

    key: str
    k: int
    n: int
    share: float | None
    low: float | None
    high: float | None


def share(key: str, k: int, n: int, z: float) -> Share:
    if n == 0:
        return Share(key=key, k=k, n=n, share=None, low=None, high=None)
    iv = wilson(k, n, z)
    return Share(key=key, k=k, n=n, share=iv.estimate, low=iv.low, high=iv.high)


class Cell(_Record):
    category: str
    tier: str
    k: int
    share: float | None  # of all prompts
    low: float | None
    high: float | None


class ClaimCheck(_Record):
    """A quoted share beside the same share of this history, and whether the quote is inside our interval."""

    claim: str
    claimed_share: float
    ours: Share
    inside: bool | None  # None: nothing to compare (no prompts in the denominator)


class TierAgreement(_Record):
    at_most: str  # "at most this tier" is the yes/no both raters give
    n: int
    observed: float | None
    kappa: float | None
    note: str | None


class Agreement(_Record):
    """The classifier against a person's tiers on the audited prompts."""

    n: int
    exact: Share
    by_tier: list[TierAgreement]
    not_found: int = 0  # audited ids not in this history (reported as problems by the reader)


class PromptMix(BaseModel):
    """Everything ``mix.json`` holds (``schema_version`` is part of the file format)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = 1
    n: int
    tiers: list[str]  # the policy's tiers, then "unclassified"
    local_tiers: list[str]
    level: float
    by_tier: list[Share]
    offloadable: list[Share]  # key: the local tier it is "at most"
    by_category: list[Share]
    cells: list[Cell]
    tier_in_category: dict[str, list[Share]]  # category -> its prompts per tier
    decided_by: dict[str, int]
    audit_ids: list[str]
    claims: list[ClaimCheck] = Field(default_factory=list)
    agreement: Agreement | None = None


def _z(alpha: float) -> float:
    return norm_ppf(1 - alpha / 2)


def prompt_mix(
    ids: Sequence[str],
    labels: Sequence[Label],
    policy: MiningPolicy,
    alpha: float,
    audit_sample_size: int | None = None,
    seed: int | None = None,
) -> PromptMix:
    """Aggregate labelled prompts: every count with its interval, and the audit sample's ids."""
    if len(ids) != len(labels):
        raise ValueError("one label per prompt")
    z = _z(alpha)
    n = len(labels)
    tiers = [*policy.tiers, UNCLASSIFIED]
    categories = [*policy.categories, UNCLASSIFIED]
    rank = {t: i for i, t in enumerate(policy.tiers)}
    tier_counts = Counter(lab.tier for lab in labels)
    cat_counts = Counter(lab.category for lab in labels)
    pair_counts = Counter((lab.category, lab.tier) for lab in labels)
    offload = []
    for t in policy.local_tiers:
        k = sum(1 for lab in labels if lab.tier in rank and rank[lab.tier] <= rank[t])
        offload.append(share(t, k, n, z))
    cells = []
    for c in categories:
        for t in tiers:
            k = pair_counts.get((c, t), 0)
            if k:
                s = share(f"{c}/{t}", k, n, z)
                cells.append(Cell(category=c, tier=t, k=k, share=s.share, low=s.low, high=s.high))
    tier_in_cat = {
        c: [share(t, pair_counts.get((c, t), 0), cat_counts[c], z) for t in tiers] for c in categories if cat_counts[c]
    }
    k_audit = policy.audit_sample_size if audit_sample_size is None else audit_sample_size
    rng = random.Random(policy.sample_seed if seed is None else seed)
    audit = sorted(rng.sample(list(ids), min(k_audit, n)))
    mix = PromptMix(
        n=n,
        tiers=tiers,
        local_tiers=list(policy.local_tiers),
        level=1 - alpha,
        by_tier=[share(t, tier_counts.get(t, 0), n, z) for t in tiers],
        offloadable=offload,
        by_category=[share(c, cat_counts.get(c, 0), n, z) for c in categories],
        cells=cells,
        tier_in_category=tier_in_cat,
        decided_by=dict(sorted(Counter(lab.decided_by for lab in labels).items())),
        audit_ids=audit,
    )
    mix.claims = [check_claim(c, mix) for c in policy.seed_claims]
    return mix


def claim_share(claim: MixClaim, mix: PromptMix) -> Share:
    """The share of this history that a quoted claim speaks about."""
    if claim.kind == "at-most-tier":
        return (
            next(s for s in mix.offloadable if s.key == claim.tier)
            if claim.tier in mix.local_tiers
            else _frontier(claim, mix)
        )
    if claim.kind == "category":
        return next(s for s in mix.by_category if s.key == claim.category)
    rows = mix.tier_in_category.get(claim.category or "")
    if rows is None:
        return share(claim.tier or "", 0, 0, 1.0)
    return next(s for s in rows if s.key == claim.tier)


def _frontier(claim: MixClaim, mix: PromptMix) -> Share:
    """'At most' the last tier is every classified prompt."""
    k = sum(s.k for s in mix.by_tier if s.key != UNCLASSIFIED)
    return share(claim.tier or "", k, mix.n, _z(1 - mix.level))


def check_claim(claim: MixClaim, mix: PromptMix) -> ClaimCheck:
    ours = claim_share(claim, mix)
    inside = None if ours.low is None else ours.low <= claim.claimed_share <= (ours.high or 0.0)
    return ClaimCheck(claim=claim.claim, claimed_share=claim.claimed_share, ours=ours, inside=inside)


def audit_agreement(classifier: dict[str, str], human: dict[str, str], policy: MiningPolicy, alpha: float) -> Agreement:
    """Classifier against person on the ids both have. An unclassified prompt counts as not
    offloadable at every tier: the classifier did not say it was."""
    ids = sorted(set(classifier) & set(human))
    rank = {t: i for i, t in enumerate(policy.tiers)}

    def at_most(tier: str, t: str) -> bool:
        return tier in rank and rank[tier] <= rank[t]

    by_tier = []
    for t in policy.local_tiers:
        kp = cohen_kappa([at_most(classifier[i], t) for i in ids], [at_most(human[i], t) for i in ids])
        by_tier.append(TierAgreement(at_most=t, n=kp.n, observed=kp.observed, kappa=kp.kappa, note=kp.note))
    exact = sum(classifier[i] == human[i] for i in ids)
    return Agreement(
        n=len(ids),
        exact=share("exact tier", exact, len(ids), _z(alpha)),
        by_tier=by_tier,
        not_found=len(set(human) - set(classifier)),
    )

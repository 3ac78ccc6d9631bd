"""Promotion outcomes per role: the seed page's mechanical gates, plus a beyond-noise rule.

A challenger replaces the incumbent only if, on the cases both ran, it is no
worse on acceptance rate, review pain and hard-failure rate, its cost tier is
free unless the incumbent is also paid, the role keeps at least
``min_families_per_role`` families once the incumbent is replaced, and it is
better beyond noise on an exact McNemar test over the shared cases. Every number
comes from ``policy.yaml``. Pure: frames and records in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from generator.analysis.stats import cases_needed, mcnemar_exact, paired_mde
from generator.registry.schema import ModelEntry, PromotionPolicy, Role


@dataclass
class GateCheck:
    gate: str
    challenger: str
    incumbent: str
    rule: str
    passed: bool | None  # None: cannot be judged (no data)


@dataclass
class PromotionOutcome:
    role: str
    incumbent: str
    challenger: str
    verdict: str  # promote / hold / retire-candidate / insufficient-evidence / no-runs
    shared_cases: int
    gates: list[GateCheck] = field(default_factory=list)
    b: int = 0  # shared cases the challenger accepted and the incumbent did not
    c: int = 0  # the reverse
    p_value: float | None = None
    mde: float | None = None
    more_cases_needed: int | None = None
    reason: str = ""


def _per_case(df: pd.DataFrame, model_id: str) -> pd.DataFrame:
    m = df[df["model_id"] == model_id]
    if m.empty:
        return pd.DataFrame(columns=["accepted", "pain", "hard"])
    return (
        m.assign(hard=m["status"] == "failed")
        .groupby("case_id")
        .agg(accepted=("accepted", "mean"), pain=("review_pain", "mean"), hard=("hard", "mean"))
    )


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def evaluate_challenger(
    df: pd.DataFrame,
    role: Role,
    challenger: str,
    models: dict[str, ModelEntry],
    policy: PromotionPolicy,
) -> PromotionOutcome:
    """The verdict for one challenger against the role's incumbent on the role's cases."""
    cols = ["model_id", "case_id", "accepted", "review_pain", "status"]
    rdf = df.loc[df["role"] == role.id, cols] if not df.empty else df
    inc = _per_case(rdf, role.incumbent)
    cha = _per_case(rdf, challenger)
    out = PromotionOutcome(role.id, role.incumbent, challenger, "no-runs", 0)
    if inc.empty or cha.empty:
        missing = [m for m, d in ((role.incumbent, inc), (challenger, cha)) if d.empty]
        out.reason = "no runs yet for " + ", ".join(missing)
        return out
    shared = inc.index.intersection(cha.index)
    out.shared_cases = n = len(shared)
    if n == 0:
        out.reason = "the two models share no cases"
        return out
    i, c = inc.loc[shared], cha.loc[shared]
    acc_i, acc_c = float(i["accepted"].mean()), float(c["accepted"].mean())
    pain_i, pain_c = float(i["pain"].mean()), float(c["pain"].mean())
    hard_i, hard_c = float(i["hard"].mean()), float(c["hard"].mean())
    # Paired outcome per case: accepted in the majority of its repeats.
    win_c = c["accepted"] >= 0.5
    win_i = i["accepted"] >= 0.5
    out.b = int((win_c & ~win_i).sum())
    out.c = int((win_i & ~win_c).sum())
    out.p_value = mcnemar_exact(out.b, out.c)
    p_disc = (out.b + out.c) / n
    out.mde = paired_mde(p_disc, n, policy.significance_alpha, policy.power) if p_disc > 0 else None

    cm, im = models.get(challenger), models.get(role.incumbent)
    cost_ok = (cm is not None and cm.cost_tier == "free") or (im is not None and im.cost_tier == "paid")
    after = {challenger, *[x for x in role.challengers if x != challenger]}
    families = {models[x].family for x in after if x in models}
    out.gates = [
        GateCheck("acceptance_rate", _fmt(acc_c), _fmt(acc_i), "challenger >= incumbent", acc_c >= acc_i),
        GateCheck("review_pain", _fmt(pain_c), _fmt(pain_i), "challenger <= incumbent", pain_c <= pain_i),
        GateCheck(
            "hard_failure_rate", _fmt(hard_c), _fmt(hard_i), "challenger <= incumbent", hard_c <= hard_i
        ),
        GateCheck(
            "cost_tier",
            cm.cost_tier if cm else "?",
            im.cost_tier if im else "?",
            "free, unless the incumbent is also paid",
            cost_ok,
        ),
        GateCheck(
            "family_diversity",
            f"{len(families)} families after promotion ({', '.join(sorted(families))})",
            "",
            f">= {policy.min_families_per_role} families across incumbent + challengers",
            len(families) >= policy.min_families_per_role,
        ),
        GateCheck(
            "beyond_noise",
            f"b={out.b}, c={out.c}, p={out.p_value:.3g}, shared={n}",
            "",
            f"McNemar p < {policy.significance_alpha:g}, b > c, "
            f">= {policy.min_shared_cases} shared cases",
            n >= policy.min_shared_cases and out.b > out.c and out.p_value < policy.significance_alpha,
        ),
    ]
    mechanical = all(g.passed for g in out.gates[:5])
    noise_ok = bool(out.gates[5].passed)
    if acc_i - acc_c >= policy.retire_if_worse_by:
        out.verdict = "retire-candidate"
        out.reason = (
            f"acceptance {acc_i - acc_c:.0%} below the incumbent's "
            f"(retire margin {policy.retire_if_worse_by:.0%})"
        )
    elif mechanical and noise_ok:
        out.verdict = "promote"
        out.reason = "every gate passes, and the gain is beyond noise"
    elif mechanical:
        out.verdict = "insufficient-evidence"
        effect = (out.b - out.c) / n
        if n < policy.min_shared_cases:
            out.reason = f"only {n} shared cases; policy needs {policy.min_shared_cases}"
        else:
            out.reason = f"no significant difference (p = {out.p_value:.3g})"
        if effect > 0 and p_disc > 0:
            need = cases_needed(effect, p_disc, policy.significance_alpha, policy.power)
            out.more_cases_needed = max(0, max(need, policy.min_shared_cases) - n)
            out.reason += (
                f"; an effect of {effect:.0%} needs about {max(need, policy.min_shared_cases)} shared cases "
                f"({out.more_cases_needed} more)"
            )
        elif out.mde is not None:
            out.reason += f"; with {n} cases the smallest detectable difference is {out.mde:.0%}"
    else:
        out.verdict = "hold"
        out.reason = "failing gate(s): " + ", ".join(g.gate for g in out.gates[:5] if not g.passed)
    return out


def promotion_outcomes(
    df: pd.DataFrame, roles: list[Role], models: dict[str, ModelEntry], policy: PromotionPolicy
) -> list[PromotionOutcome]:
    return [evaluate_challenger(df, r, ch, models, policy) for r in roles for ch in r.challengers]


def best_promotions(outcomes: list[PromotionOutcome], df: pd.DataFrame) -> dict[str, str]:
    """Role → the challenger to promote (highest shared-case acceptance among 'promote' verdicts)."""
    best: dict[str, tuple[float, str]] = {}
    for o in outcomes:
        if o.verdict != "promote":
            continue
        score = float(o.gates[0].challenger)
        if o.role not in best or score > best[o.role][0]:
            best[o.role] = (score, o.challenger)
    return {role: ch for role, (_, ch) in best.items()}

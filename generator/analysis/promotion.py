"""Promotion outcomes per role: the seed page's mechanical gates, plus a beyond-noise rule.

A challenger replaces the incumbent only if, on the cases both ran (each read at its
quality level, repeats averaged per case), it is no worse on acceptance rate, review
pain and hard-failure rate, its cost tier is free unless the incumbent is also paid,
the role keeps at least ``min_families_per_role`` families once the incumbent is
replaced, and its gain in acceptance is significant: a one-sided paired test
(exact McNemar with one request per case, a sign-flip permutation test of the per-case
differences with repeats) at ``statistics.alpha / 2``, Holm-corrected across the role's
challengers, on at least ``min_shared_cases`` shared cases. A retire-candidate needs the
same evidence in the other direction. Every number comes from ``policy.yaml``.

Pure: the evidence table's quality cells and registry records in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis.compare import Paired, outcome_fragility, paired, test_diffs
from generator.analysis.evidence import case_means, distinct, shared
from generator.analysis.stats import holm
from generator.registry.schema import ModelEntry, PromotionPolicy, Role, StatisticsPolicy

#: Why the promotion test is this one, for the methodology page (the figures are in the
#: calibration benchmark's output, measured, not restated here).
PROMOTION_TEST_NOTE = (
    "Why this test: with repeats, the statistic is the mean per-case difference and the sign-flip "
    "test compares it with its value under every assignment of signs, which is exact when either "
    "model is as likely to be the better one on each case. Studentizing it gains nothing (the sum of "
    "squared differences is the same under every sign pattern). In simulated decisions "
    "(benchmarks/verdict_calibration.py) it promotes an equal model at most 2.5 % of the time, and "
    "finds a real gain about as often as a paired t-test and within a few points of an oracle z-test "
    "that knows every case's true variance, which (approximately) bounds any test of the mean per-"
    "case difference at that size; an exact permutation test within cases is more conservative (its "
    "null law is discrete) and finds fewer gains. What limits power is the number of cases: repeats "
    "shrink only the within-case noise, and the benchmark prints how many cases a 10-point gain "
    "needs."
)


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
    b: int = 0  # shared cases where the challenger's acceptance is higher than the incumbent's
    c: int = 0  # the reverse
    acceptance_challenger: float | None = None
    acceptance_incumbent: float | None = None
    diff: float | None = None  # mean per-case (challenger − incumbent) acceptance
    ci_low: float | None = None  # 95 % paired bootstrap interval of diff
    ci_high: float | None = None
    method: str = ""
    p_value: float | None = None  # one-sided, challenger better (raw)
    p_adjusted: float | None = None  # the same, Holm-adjusted across the role's challengers
    p_worse_adjusted: float | None = None  # one-sided, challenger worse, Holm-adjusted
    mde: float | None = None  # at the current n
    min_effect: float | None = None  # the policy's pre-specified effect
    cases_for_min_effect: int | None = None
    more_cases_needed: int | None = None
    fragility: int | None = None
    fragility_text: str = ""
    reason: str = ""


def _fmt(x: float) -> str:
    return f"{x:.3f}"


@dataclass
class _Pair:
    challenger: str
    n: int
    inc: pd.Series  # incumbent's per-case acceptance on the shared cases
    cha: pd.Series
    binary: bool
    comp: Paired
    p_better: float
    p_worse: float


def _pair(q: pd.DataFrame, role: Role, challenger: str, stats: StatisticsPolicy) -> _Pair | None:
    inc, cha = case_means(q, role.incumbent), case_means(q, challenger)
    va, vb, common = shared(inc, cha)
    if not common:
        return None
    cells = q[q["model_id"].isin([role.incumbent, challenger]) & q["case_id"].isin(common)]
    binary = bool((cells["n"] == 1).all())
    comp = paired(inc, cha, stats, binary, names=(role.incumbent, challenger))
    d = vb - va
    p_better = test_diffs(d, binary, stats, "greater").p_value
    p_worse = test_diffs(d, binary, stats, "less").p_value
    return _Pair(challenger, len(common), inc.loc[common], cha.loc[common], binary, comp, p_better, p_worse)


@dataclass
class _VerdictRule:
    """The verdict as a function of the challenger's per-case acceptance, the rest held fixed
    (the other challengers' p-values enter the Holm correction): what fragility searches."""

    pair: _Pair
    p_better_adj: float
    p_worse_adj: float
    others_better: list[float]
    others_worse: list[float]
    mechanical_ok: bool
    policy: PromotionPolicy
    stats: StatisticsPolicy

    def __call__(self, values: np.ndarray) -> str:
        pr, policy = self.pair, self.policy
        inc = pr.inc.to_numpy(float)
        acc_c, acc_i = float(values.mean()), float(inc.mean())
        if np.array_equal(values, pr.cha.to_numpy(float)):
            p_b, p_w = self.p_better_adj, self.p_worse_adj
        else:
            d = values - inc
            p_b = holm([test_diffs(d, pr.binary, self.stats, "greater").p_value, *self.others_better])[0]
            p_w = holm([test_diffs(d, pr.binary, self.stats, "less").p_value, *self.others_worse])[0]
        half = self.stats.alpha / 2
        enough = pr.n >= policy.min_shared_cases
        if enough and acc_i - acc_c >= policy.retire_if_worse_by and p_w < half:
            return "retire-candidate"
        if not (self.mechanical_ok and acc_c >= acc_i):
            return "hold"
        if enough and p_b < half and acc_c > acc_i:
            return "promote"
        return "insufficient-evidence"


def _mean_on(q: pd.DataFrame, model_id: str, cases: list[str], column: str) -> float:
    return float(case_means(q, model_id, column).reindex(cases).mean())


def evaluate_role(
    q: pd.DataFrame,
    role: Role,
    models: dict[str, ModelEntry],
    policy: PromotionPolicy,
    stats: StatisticsPolicy,
    fragility: bool = True,
) -> list[PromotionOutcome]:
    """The verdict for every challenger of ``role`` against its incumbent.

    ``q``: quality cells (``evidence.quality_cells``) of the role's cases. ``fragility=False``
    skips the search for what would flip each verdict (the calibration benchmark's many
    simulated decisions need only the verdict).
    """
    pairs: dict[str, _Pair | None] = {ch: _pair(q, role, ch, stats) for ch in role.challengers} if len(q) else {}
    tested = [ch for ch in role.challengers if pairs.get(ch) is not None]
    better_adj = dict(zip(tested, holm([pairs[ch].p_better for ch in tested]), strict=True))  # type: ignore[union-attr]
    worse_adj = dict(zip(tested, holm([pairs[ch].p_worse for ch in tested]), strict=True))  # type: ignore[union-attr]
    half = stats.alpha / 2
    out: list[PromotionOutcome] = []
    measured = distinct(q["model_id"]) if len(q) else set()
    for ch in role.challengers:
        o = PromotionOutcome(role.id, role.incumbent, ch, "no-runs", 0, min_effect=stats.min_effect)
        pr = pairs.get(ch)
        if pr is None:
            missing = [m for m in (role.incumbent, ch) if m not in measured]
            o.reason = "no runs yet for " + ", ".join(missing) if missing else "the two models share no cases"
            out.append(o)
            continue
        cases = list(pr.inc.index)
        n = o.shared_cases = pr.n
        comp = pr.comp
        o.b, o.c = comp.b_better, comp.a_better
        o.acceptance_incumbent, o.acceptance_challenger = comp.mean_a, comp.mean_b
        o.diff, o.ci_low, o.ci_high, o.method = comp.diff, comp.ci_low, comp.ci_high, comp.method
        o.p_value, o.p_adjusted, o.p_worse_adjusted = pr.p_better, better_adj[ch], worse_adj[ch]
        o.mde, o.cases_for_min_effect = comp.mde, comp.cases_for_min_effect
        pain_i, pain_c = (_mean_on(q, m, cases, "pain") for m in (role.incumbent, ch))
        hard_i, hard_c = (_mean_on(q, m, cases, "hard") for m in (role.incumbent, ch))
        cm, im = models.get(ch), models.get(role.incumbent)
        cost_ok = (cm is not None and cm.cost_tier == "free") or (im is not None and im.cost_tier == "paid")
        after = {ch, *[x for x in role.challengers if x != ch]}
        families = {models[x].family for x in after if x in models}
        mechanical = [
            GateCheck("review_pain", _fmt(pain_c), _fmt(pain_i), "challenger <= incumbent", pain_c <= pain_i),
            GateCheck("hard_failure_rate", _fmt(hard_c), _fmt(hard_i), "challenger <= incumbent", hard_c <= hard_i),
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
        ]
        verdict_of = _VerdictRule(
            pr,
            better_adj[ch],
            worse_adj[ch],
            [pairs[x].p_better for x in tested if x != ch],  # type: ignore[union-attr]
            [pairs[x].p_worse for x in tested if x != ch],  # type: ignore[union-attr]
            all(g.passed for g in mechanical),
            policy,
            stats,
        )
        o.verdict = verdict_of(pr.cha.to_numpy(float))
        if fragility:
            frag = outcome_fragility(verdict_of, pr.cha.to_numpy(float))
            o.fragility, o.fragility_text = frag.flips, frag.text
        acc_gate = GateCheck(
            "acceptance_rate",
            _fmt(comp.mean_b),  # type: ignore[arg-type]
            _fmt(comp.mean_a),  # type: ignore[arg-type]
            "challenger >= incumbent",
            comp.mean_b >= comp.mean_a,  # type: ignore[operator]
        )
        noise = GateCheck(
            "beyond_noise",
            f"diff {comp.diff:+.3f} [{comp.ci_low:+.3f}, {comp.ci_high:+.3f}], p = {o.p_value:.3g} "
            f"(Holm {o.p_adjusted:.3g}), {comp.method}, shared={n}",
            "",
            f"one-sided p (Holm) < {half:g}, >= {policy.min_shared_cases} shared cases",
            n >= policy.min_shared_cases and o.p_adjusted < half and comp.mean_b > comp.mean_a,  # type: ignore[operator]
        )
        o.gates = [acc_gate, *mechanical, noise]
        o.more_cases_needed = max(0, max(o.cases_for_min_effect or 0, policy.min_shared_cases) - n)
        if o.verdict == "retire-candidate":
            o.reason = (
                f"acceptance {comp.mean_a - comp.mean_b:.0%} below the incumbent's on {n} shared cases "
                f"(retire margin {policy.retire_if_worse_by:.0%}), "
                f"significant after Holm (p = {o.p_worse_adjusted:.3g})"
            )
        elif o.verdict == "promote":
            o.reason = "every gate passes, and the gain is beyond noise"
        elif o.verdict == "hold":
            failing = [g.gate for g in [acc_gate, *mechanical] if not g.passed]
            o.reason = "failing gate(s): " + ", ".join(failing)
        else:
            if n < policy.min_shared_cases:
                o.reason = f"only {n} shared cases; policy needs {policy.min_shared_cases}"
            else:
                o.reason = f"no significant gain (one-sided p = {o.p_adjusted:.3g} after Holm; needs < {half:g})"
            need = max(o.cases_for_min_effect or 0, policy.min_shared_cases)
            o.reason += (
                f"; detecting the pre-specified {stats.min_effect:.0%} effect needs about {need} shared cases "
                f"({o.more_cases_needed} more); with {n} the smallest detectable difference is {o.mde:.0%}"
            )
        out.append(o)
    return out


def role_cells(q: pd.DataFrame, role: Role) -> pd.DataFrame:
    """The quality cells of one role's cases."""
    return q[q["role"] == role.id] if len(q) else q


def promotion_outcomes(
    q: pd.DataFrame,
    roles: list[Role],
    models: dict[str, ModelEntry],
    policy: PromotionPolicy,
    stats: StatisticsPolicy,
) -> list[PromotionOutcome]:
    """Every challenger of every role; ``q`` are the evidence table's quality cells."""
    return [o for r in roles for o in evaluate_role(role_cells(q, r), r, models, policy, stats)]


def best_promotions(outcomes: list[PromotionOutcome]) -> dict[str, str]:
    """Role → the challenger to promote (highest shared-case acceptance among 'promote' verdicts)."""
    best: dict[str, tuple[float, str]] = {}
    for o in outcomes:
        if o.verdict != "promote" or o.acceptance_challenger is None:
            continue
        if o.role not in best or o.acceptance_challenger > best[o.role][0]:
            best[o.role] = (o.acceptance_challenger, o.challenger)
    return {role: ch for role, (_, ch) in best.items()}


def measured_pairs(q: pd.DataFrame, role: Role, stats: StatisticsPolicy) -> list[Paired]:
    """Every pair of the role's measured members compared on their shared cases (second against
    first, in registry order). Shown beside the promotion verdicts: when the incumbent has never
    run, no promotion can be judged, but the challengers that did run still have paired evidence."""
    members = [role.incumbent, *role.challengers]
    measured = [m for m in members if len(q) and (q["model_id"] == m).any()]
    out: list[Paired] = []
    for i, a in enumerate(measured):
        for b in measured[i + 1 :]:
            cells = q[q["model_id"].isin([a, b])]
            binary = bool((cells["n"] == 1).all())
            comp = paired(case_means(q, a), case_means(q, b), stats, binary, names=(a, b))
            if comp.n:
                out.append(comp)
    return out

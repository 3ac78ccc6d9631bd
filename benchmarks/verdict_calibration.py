"""How often the promotion gate, as implemented, promotes an equal model, and how often it
finds a real gain: the false-promotion rate under the null and the power under a true
effect, with and without repeats, beside the tests it could have been and the bound no
test of the per-case mean difference can beat.

A benchmark, not a test: it simulates many promotion decisions on synthetic results
(generated here, never written under runs/) and runs each through the real pipeline:
``evidence_cells`` (repeats averaged per case) → ``promotion.evaluate_role`` (one-sided
paired test at alpha/2, Holm across the role's challengers, minimum shared cases, the
mechanical gates). Targets (issue "Evidence core"): false promotions <= 2.5 % at the
default policy; power at a 10-point gain with 40 cases x 5 repeats >= 60 %.

On the same simulated data, each row also reports (one-sided, at alpha/2, same n):

- ``test only``: the implemented paired test's p-value alone, without the other gates
  (the difference to ``gate`` is what minimum cases, the mechanical gates and the
  ``acceptance >= incumbent`` rule cost);
- ``normal limit``: the same sign-flip statistic read off its normal limit, Σd / √Σd² against
  z₁₋α/₂: the gap to ``test only`` is what the permutation law's discreteness costs (per-case
  means are multiples of 1/r, so the sum sits on a lattice and the atom at the observed value
  counts as "as extreme", which is what keeps the exact test's size <= alpha);
- ``paired t``: Student's t on the per-case mean differences;
- ``stratified``: the exact conditional permutation test within cases (the model labels of
  a case's 2r outcomes permuted, cases independent; the statistic is the challenger's
  total successes, i.e. the mean per-case difference at equal repeats; its null law is the
  convolution of one hypergeometric per case, so the p-value is exact, no resampling);
- ``oracle``: the z-test of the mean per-case difference that knows every case's true
  acceptance, hence the null and alternative variances: Φ((δ√n − z·σ₀)/σ₁), averaged over
  the simulated case sets, with δ the realised mean gain (the gain is clipped at 1, so a
  case near 1 gains less than ``--gain``). No level-α test of the unweighted mean
  difference does better, so a target above this is out of reach at that n; ``n for
  60 %`` is the number of cases at which the oracle reaches 60 %.

Scenarios of case difficulty: ``uniform`` (true per-case acceptance ~ U(low, high)) and
``beta`` (~ Beta(a, a), bimodal for a < 1: most cases nearly always or nearly never pass).

    .venv/bin/python benchmarks/verdict_calibration.py [--sims 400] [--seed 7]
        [--difficulty uniform|beta] [--low 0.3 --high 0.8 | --beta-a 0.5] [--configs 40x5,...]
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from generator.analysis.leaderboard import evidence_cells
from generator.analysis.promotion import evaluate_role
from generator.analysis.stats import binom_cdf
from generator.registry.loader import load_registry
from generator.registry.schema import Role

REPO = Path(__file__).resolve().parent.parent
UNIT = NormalDist()
METHODS = ("gate", "test only", "normal limit", "paired t", "stratified", "oracle")


@dataclass
class Scenario:
    """How the incumbent's true per-case acceptance is drawn."""

    kind: str
    low: float
    high: float
    beta_a: float

    def draw(self, rng: np.random.Generator, cases: int) -> np.ndarray:
        if self.kind == "beta":
            return rng.beta(self.beta_a, self.beta_a, size=cases)
        return rng.uniform(self.low, self.high, size=cases)

    def __str__(self) -> str:
        if self.kind == "beta":
            return f"Beta({self.beta_a:g}, {self.beta_a:g})"
        return f"U({self.low:g}, {self.high:g})"


def frame(p_inc: np.ndarray, x_inc: np.ndarray, x_cha: np.ndarray) -> pd.DataFrame:
    """Result rows (one per request) for an incumbent and a challenger on the same cases."""
    cases, repeats = x_inc.shape
    frames = []
    for model, outcome in (("gemma4", x_inc), ("llama3.1-8b", x_cha)):
        case_ids = np.repeat([f"c{i:04d}" for i in range(cases)], repeats)
        frames.append(
            pd.DataFrame(
                {
                    "run_id": "synthetic",
                    "model_id": model,
                    "case_id": case_ids,
                    "role": "draft",
                    "concurrency": 1,
                    "status": "ok",
                    "failure_kind": None,
                    "cold_start": False,
                    "accepted": outcome.ravel(),
                    "score": outcome.ravel().astype(float),
                    "weight": 1.0,
                    "review_pain": (~outcome.ravel()).astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def t_quantile(q: float, df: int) -> float:
    """Student-t quantile by the Cornish–Fisher expansion in 1/df (error < 1e-4 for df >= 10;
    numpy has no t distribution and the benchmark needs no new dependency)."""
    z = UNIT.inv_cdf(q)
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def hypergeom_pmf(total: int, successes: int, draws: int) -> np.ndarray:
    """P[X = x], x = 0..draws: successes among ``draws`` outcomes taken from ``total``."""
    return np.array(
        [math.comb(successes, x) * math.comb(total - successes, draws - x) for x in range(draws + 1)], float
    ) / math.comb(total, draws)


def stratified_p(k_cha: np.ndarray, k_inc: np.ndarray, repeats: int) -> float:
    """One-sided (challenger better) exact conditional permutation p-value within cases.

    Under the null the 2r outcomes of a case are exchangeable between the models, so given the
    case's total T the challenger's successes are hypergeometric(2r, T, r), independently per
    case; P[Σ X >= observed] is read off their convolution. Cases with T = 0 or 2r are fixed.
    With r = 1 this is the one-sided exact McNemar test (checked in ``main``)."""
    totals = k_cha + k_inc
    free = (totals > 0) & (totals < 2 * repeats)
    law = np.array([1.0])
    for t in totals[free].tolist():
        law = np.convolve(law, hypergeom_pmf(2 * repeats, t, repeats))
    return float(law[int(k_cha[free].sum()) :].sum())


def decide(
    rng: np.random.Generator, cases: int, repeats: int, gain: float, scen: Scenario, reg, role, half: float
) -> tuple[dict[str, float], float, float, float]:
    """One simulated decision per method (1.0 promote, 0.0 not; the oracle's is its power), and
    the realised mean gain, null and alternative variance of a per-case difference."""
    p_inc = scen.draw(rng, cases)
    p_cha = np.clip(p_inc + gain, 0, 1)
    x_inc = rng.random((cases, repeats)) < p_inc[:, None]
    x_cha = rng.random((cases, repeats)) < p_cha[:, None]
    o = evaluate_role(
        evidence_cells(frame(p_inc, x_inc, x_cha)),
        role,
        reg.models,
        reg.policy.promotion,
        reg.policy.statistics,
        fragility=False,
    )[0]
    k_inc, k_cha = x_inc.sum(axis=1), x_cha.sum(axis=1)
    d = (k_cha - k_inc) / repeats
    sd = float(d.std(ddof=1))
    s2 = float(np.sum(d * d))
    t_ok = sd > 0 and d.mean() / (sd / math.sqrt(cases)) > t_quantile(1 - half, cases - 1)
    delta = float(np.mean(p_cha - p_inc))
    var0 = float(np.mean(2 * p_inc * (1 - p_inc))) / repeats
    var1 = float(np.mean(p_inc * (1 - p_inc) + p_cha * (1 - p_cha))) / repeats
    z = UNIT.inv_cdf(1 - half)
    oracle = UNIT.cdf((delta * math.sqrt(cases) - z * math.sqrt(var0)) / math.sqrt(var1)) if var1 > 0 else 0.0
    return (
        {
            "gate": float(o.verdict == "promote"),
            "test only": float(o.p_value is not None and o.p_value < half),
            "normal limit": float(s2 > 0 and d.sum() / math.sqrt(s2) > UNIT.inv_cdf(1 - half)),
            "paired t": float(t_ok),
            "stratified": float(stratified_p(k_cha, k_inc, repeats) < half),
            "oracle": oracle,
        },
        delta,
        var0,
        var1,
    )


def rate(k: float, n: int) -> str:
    """Rate with its Monte Carlo 95 % half-width."""
    p = k / n
    half = 1.96 * math.sqrt(max(p * (1 - p), 0.5 / n) / n)
    return f"{p:5.1%} ±{half:4.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=400, help="simulated decisions per configuration and hypothesis")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gain", type=float, default=0.10)
    ap.add_argument("--difficulty", choices=("uniform", "beta"), default="uniform")
    ap.add_argument("--low", type=float, default=0.3, help="uniform: true per-case acceptance ~ U(low, high)")
    ap.add_argument("--high", type=float, default=0.8)
    ap.add_argument("--beta-a", type=float, default=0.5, help="beta: true per-case acceptance ~ Beta(a, a)")
    ap.add_argument("--configs", default="40x5,40x1,100x1,100x3", help="cases x repeats, comma-separated")
    args = ap.parse_args()
    reg = load_registry(REPO / "registry")
    # granite never ran: the family guard passes (llama + granite) and Holm has one p-value.
    role = Role(id="draft", description="calibration", incumbent="gemma4", challengers=["llama3.1-8b", "granite3.3-8b"])
    rng = np.random.default_rng(args.seed)
    scen = Scenario(args.difficulty, args.low, args.high, args.beta_a)
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    stats = reg.policy.statistics
    half = stats.alpha / 2
    # The stratified test at one repeat is the one-sided exact McNemar test: b = 7, c = 2.
    k1, k0 = np.array([1] * 7 + [0] * 2 + [1] * 3), np.array([0] * 7 + [1] * 2 + [1] * 3)
    assert abs(stratified_p(k1, k0, 1) - binom_cdf(2, 9)) < 1e-12
    print(
        f"policy: one-sided alpha/2 = {half:g}, Holm, min shared cases {reg.policy.promotion.min_shared_cases}; "
        f"incumbent's true per-case acceptance ~ {scen}, challenger's + {args.gain:g} (clipped at 1); "
        f"{args.sims} decisions per row and hypothesis; ± is the Monte Carlo 95 % half-width"
    )
    head = " | ".join(f"{m:>13}" for m in METHODS)
    print(f"{'cases x r':>9} | {'hypothesis':>17} | {head} | {'n for 60 %':>10}")
    for cases, repeats in configs:
        t0 = time.perf_counter()
        for gain in (0.0, args.gain):
            sums = dict.fromkeys(METHODS, 0.0)
            deltas, v0s, v1s = [], [], []
            for _ in range(args.sims):
                got, delta, v0, v1 = decide(rng, cases, repeats, gain, scen, reg, role, half)
                for k, v in got.items():
                    sums[k] += v
                deltas.append(delta)
                v0s.append(v0)
                v1s.append(v1)
            cells = []
            for m in METHODS:
                if m == "oracle" and gain == 0.0:
                    cells.append(f"{half:13.1%}")
                elif m == "oracle":
                    cells.append(f"{sums[m] / args.sims:13.1%}")
                else:
                    cells.append(f"{rate(sums[m], args.sims):>13}")
            n60 = ""
            if gain:
                delta, s0, s1 = float(np.mean(deltas)), math.sqrt(np.mean(v0s)), math.sqrt(np.mean(v1s))
                n60 = str(math.ceil(((UNIT.inv_cdf(1 - half) * s0 + UNIT.inv_cdf(0.6) * s1) / delta) ** 2))
                hyp = f"gain {delta:.3f}"
            else:
                hyp = "null (gain 0)"
            print(f"{cases:>4} x {repeats:<2} | {hyp:>17} | {' | '.join(cells)} | {n60:>10}", flush=True)
        print(f"{'':>9}   ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

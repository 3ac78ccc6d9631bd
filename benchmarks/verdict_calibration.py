"""How often the promotion gate, as implemented, promotes an equal model, and how often it
finds a real gain: the false-promotion rate under the null and the power under a true
effect, with and without repeats.

A benchmark, not a test: it simulates many promotion decisions on synthetic results
(generated here, never written under runs/) and runs each through the real pipeline:
``evidence_cells`` (repeats averaged per case) → ``promotion.evaluate_role`` (one-sided
paired test at alpha/2, Holm across the role's challengers, minimum shared cases). Targets
(issue "Evidence core"): false promotions <= 2.5 % at the default policy; power at a
10-point gain with 40 cases x 5 repeats >= 60 %.

    .venv/bin/python benchmarks/verdict_calibration.py [--sims 400] [--seed 7]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from generator.analysis.leaderboard import evidence_cells
from generator.analysis.promotion import evaluate_role
from generator.registry.loader import load_registry
from generator.registry.schema import Role

REPO = Path(__file__).resolve().parent.parent


def simulate(
    rng: np.random.Generator, cases: int, repeats: int, gain: float, base_low: float, base_high: float
) -> pd.DataFrame:
    """Result rows for an incumbent and a challenger on the same cases. Each case has its own
    true acceptance probability (cases differ in difficulty); the challenger's is the
    incumbent's plus ``gain`` (capped at 1)."""
    p_inc = rng.uniform(base_low, base_high, size=cases)
    p_cha = np.clip(p_inc + gain, 0, 1)
    frames = []
    for model, p in (("gemma4", p_inc), ("llama3.1-8b", p_cha)):
        outcome = rng.random((cases, repeats)) < p[:, None]
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


def rate(k: int, n: int) -> str:
    half = 1.96 * math.sqrt(max(k, 0.5) / n * (1 - k / n) / n)
    return f"{k / n:6.1%} (±{half:.1%}, {k}/{n})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=400, help="simulated decisions per configuration and hypothesis")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--gain", type=float, default=0.10)
    ap.add_argument("--low", type=float, default=0.3, help="true per-case acceptance ~ U(low, high)")
    ap.add_argument("--high", type=float, default=0.8)
    ap.add_argument("--configs", default="40x5,40x1,100x1,100x3", help="cases x repeats, comma-separated")
    args = ap.parse_args()
    reg = load_registry(REPO / "registry")
    # granite never ran: the family guard passes (llama + granite) and Holm has one p-value.
    role = Role(id="draft", description="calibration", incumbent="gemma4", challengers=["llama3.1-8b", "granite3.3-8b"])
    rng = np.random.default_rng(args.seed)
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    stats = reg.policy.statistics
    print(
        f"policy: one-sided alpha/2 = {stats.alpha / 2:g}, Holm, min shared cases "
        f"{reg.policy.promotion.min_shared_cases}; true per-case acceptance ~ U({args.low:g}, {args.high:g}); "
        f"{args.sims} decisions per row"
    )
    power = f"power (gain {args.gain:g})"
    theory = "normal theory"
    print(f"{'cases x repeats':>16} | {'false promotions (gain 0)':>28} | {power:>28} | {theory:>13}")
    for cases, repeats in configs:
        counts = {}
        t0 = time.perf_counter()
        sds: list[float] = []
        for gain in (0.0, args.gain):
            promoted = 0
            for _ in range(args.sims):
                df = simulate(rng, cases, repeats, gain, args.low, args.high)
                o = evaluate_role(evidence_cells(df), role, reg.models, reg.policy.promotion, stats, fragility=False)[0]
                promoted += o.verdict == "promote"
                if gain:
                    means = df.groupby(["model_id", "case_id"])["accepted"].mean().unstack(0)
                    sds.append(float((means["llama3.1-8b"] - means["gemma4"]).std(ddof=1)))
            counts[gain] = promoted
        # What an ideal paired test reaches at this n: power = Φ(gain·√n / sd − z_{1−α/2}), with sd
        # the spread of the simulated per-case differences.
        sd = float(np.mean(sds)) if sds else float("nan")
        unit = NormalDist()
        ideal = (
            unit.cdf(args.gain * math.sqrt(cases) / sd - unit.inv_cdf(1 - stats.alpha / 2))
            if sd == sd
            else float("nan")
        )
        dt = time.perf_counter() - t0
        print(
            f"{cases:>7} x {repeats:<6} | {rate(counts[0.0], args.sims):>28} | {rate(counts[args.gain], args.sims):>28}"
            f" | {ideal:13.1%}   ({dt:.0f} s)"
        )


if __name__ == "__main__":
    main()

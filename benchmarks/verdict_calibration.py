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
    args = ap.parse_args()
    reg = load_registry(REPO / "registry")
    # granite never ran: the family guard passes (llama + granite) and Holm has one p-value.
    role = Role(id="draft", description="calibration", incumbent="gemma4", challengers=["llama3.1-8b", "granite3.3-8b"])
    rng = np.random.default_rng(args.seed)
    configs = [(40, 5), (40, 1), (100, 1), (100, 3)]
    stats = reg.policy.statistics
    print(
        f"policy: one-sided alpha/2 = {stats.alpha / 2:g}, Holm, min shared cases "
        f"{reg.policy.promotion.min_shared_cases}; true per-case acceptance ~ U(0.3, 0.8); "
        f"{args.sims} decisions per row"
    )
    power = f"power (gain {args.gain:g})"
    print(f"{'cases x repeats':>16} | {'false promotions (gain 0)':>28} | {power:>28}")
    for cases, repeats in configs:
        counts = {}
        t0 = time.perf_counter()
        for gain in (0.0, args.gain):
            promoted = 0
            for _ in range(args.sims):
                df = simulate(rng, cases, repeats, gain, 0.3, 0.8)
                o = evaluate_role(evidence_cells(df), role, reg.models, reg.policy.promotion, stats, fragility=False)[0]
                promoted += o.verdict == "promote"
            counts[gain] = promoted
        dt = time.perf_counter() - t0
        print(
            f"{cases:>7} x {repeats:<6} | {rate(counts[0.0], args.sims):>28} | {rate(counts[args.gain], args.sims):>28}"
            f"   ({dt:.0f} s)"
        )


if __name__ == "__main__":
    main()

"""Statistics pinned to hand-worked values."""

from __future__ import annotations

import math

import pytest

from generator.analysis.stats import (
    binom_cdf,
    cases_needed,
    clustered_se,
    mcnemar_exact,
    norm_ppf,
    paired_mde,
    wilson,
)


def test_wilson_hand_worked() -> None:
    # k=8, n=10, z=1.96: centre (0.8 + 0.19208)/1.38416 = 0.71675; half 0.21783...
    ci = wilson(8, 10)
    assert ci.estimate == 0.8
    assert ci.low == pytest.approx(0.4902, abs=1e-4)
    assert ci.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges() -> None:
    assert wilson(0, 10).low == 0.0
    assert wilson(0, 10).high == pytest.approx(0.2775, abs=1e-4)
    assert wilson(10, 10).high == pytest.approx(1.0)
    assert math.isnan(wilson(0, 0).estimate)


def test_mcnemar_exact() -> None:
    # b=1, c=9: 2 * P[X<=1 | n=10] = 2 * 11/1024
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert binom_cdf(2, 4) == pytest.approx(11 / 16)


def test_norm_ppf() -> None:
    assert norm_ppf(0.975) == pytest.approx(1.959964, abs=1e-6)
    assert norm_ppf(0.8) == pytest.approx(0.841621, abs=1e-6)
    assert norm_ppf(0.01) == pytest.approx(-2.326348, abs=1e-6)


def test_mde_reference_example() -> None:
    # 100 shared cases, 20 % discordant, alpha 0.05, power 0.8: about 12.5 points
    assert paired_mde(0.20, 100) == pytest.approx(0.1253, abs=1e-3)
    assert cases_needed(0.1253, 0.20) == 100


def test_clustered_se_two_clusters() -> None:
    # cases means 1.0 and 0.0, 2 results each: grand 0.5; residual sums 1 and -1
    # CR0 with small-sample factor g/(g-1)=2: sqrt((1+1)*2)/4 = 0.5
    assert clustered_se([1.0, 0.0], [2, 2]) == pytest.approx(0.5)


def test_leaderboard_wilson_on_cases_and_clustered_se_with_repeats() -> None:
    import pandas as pd

    from generator.analysis.leaderboard import leaderboard

    rows = []
    # 4 cases x 2 repeats: case 0 accepted twice, case 1 once, cases 2 and 3 never.
    for case, oks in enumerate([(True, True), (True, False), (False, False), (False, False)]):
        for rep, ok in enumerate(oks):
            rows.append(
                {
                    "model_id": "m",
                    "case_id": f"c{case}",
                    "accepted": ok,
                    "score": 3.0 * ok,
                    "weight": 3.0,
                    "review_pain": 0.0 if ok else 3.0,
                    "status": "ok",
                    "cold_start": rep == 0 and case == 0,
                    "failure_kind": None,
                    "ttft_s": 0.1,
                    "e2e_s": 1.0,
                    "output_tps": 10.0,
                }
            )
    board = leaderboard(pd.DataFrame(rows))
    r = board.iloc[0]
    assert r["cases"] == 4 and r["results"] == 8
    assert r["accepted"] == pytest.approx(1.5)  # per-case means 1, 0.5, 0, 0
    ci = wilson(1.5, 4)
    assert (r["acceptance_rate"], r["acceptance_low"]) == (pytest.approx(0.375), pytest.approx(ci.low))
    assert r["acceptance_se_clustered"] == pytest.approx(clustered_se([1, 0.5, 0, 0], [2, 2, 2, 2]))
    assert r["weighted_score"] == pytest.approx(4.5) and r["weighted_total"] == 12

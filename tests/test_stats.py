"""Statistics pinned to hand-worked values."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest

from generator.analysis.stats import (
    EXACT_INT_MAX_N,
    Interval,
    PairedTest,
    binom_cdf,
    bootstrap_mean_ci,
    bootstrap_mean_cis,
    cases_needed,
    cases_to_settle,
    holm,
    mcnemar_exact,
    norm_ppf,
    paired_mde,
    paired_test,
    proportion_fragility,
    proportion_gate,
    quantile_ci,
    sign_flip_test,
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
    # 100 shared cases, 20 % discordant, alpha 0.05, power 0.8: about 12.5 points.
    # Binary diffs are ±1 with probability 0.2 (no net effect), so sd_diff = sqrt(0.2).
    # (1.959964 + 0.841621) * sqrt(0.2) / 10 = 2.801585 * 0.447214 / 10 = 0.125291
    assert paired_mde(math.sqrt(0.2), 100) == pytest.approx(0.125291, abs=1e-6)
    # (2.801585 * 0.447214 / 0.1253)^2 = 99.985 -> 100
    assert cases_needed(0.1253, math.sqrt(0.2)) == 100


def test_leaderboard_wilson_on_cases_and_se_of_the_case_mean() -> None:
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
    from generator.registry.schema import StatisticsPolicy

    board = leaderboard(pd.DataFrame(rows), stats=StatisticsPolicy())
    r = board.iloc[0]
    assert r["cases"] == 4 and r["results"] == 8
    assert r["accepted"] == pytest.approx(1.5)  # per-case means 1, 0.5, 0, 0
    ci = wilson(1.5, 4)
    assert (r["acceptance_rate"], r["acceptance_low"]) == (pytest.approx(0.375), pytest.approx(ci.low))
    # The standard error of the mean that is shown: the mean of per-case means.
    assert r["acceptance_se"] == pytest.approx(statistics.stdev([1, 0.5, 0, 0]) / 2)
    assert r["weighted_score"] == pytest.approx(4.5) and r["weighted_total"] == 12


# --- norm_ppf, power planning ---------------------------------------------------------------------------


def test_norm_ppf_rejects_outside_open_unit_interval() -> None:
    for q in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            norm_ppf(q)
    assert norm_ppf(0.5) == 0.0


def test_paired_mde_and_cases_needed_round_trip_and_edges() -> None:
    sd = 0.5
    mde = paired_mde(sd, 400)  # 2.801585 * 0.5 / 20 = 0.0700396
    assert mde == pytest.approx(0.0700396, abs=1e-6)
    # at its own MDE the needed n is the n we started from (up to the ceiling)
    assert cases_needed(mde * (1 + 1e-9), sd) == 400
    assert paired_mde(sd, 0) == math.inf
    assert cases_needed(0.1, 0.0) == 0
    for effect in (0.0, -0.1):
        with pytest.raises(ValueError):
            cases_needed(effect, sd)
    with pytest.raises(ValueError):
        paired_mde(-1.0, 10)


# --- binom_cdf, mcnemar_exact -----------------------------------------------------------------------------


def test_binom_cdf_hand_worked() -> None:
    # C(10,0..3) = 1 + 10 + 45 + 120 = 176
    assert binom_cdf(3, 10) == 176 / 1024
    # Binomial(3, 0.2): P[0] + P[1] = 0.512 + 3 * 0.2 * 0.64 = 0.896
    assert binom_cdf(1, 3, 0.2) == pytest.approx(0.896, abs=1e-12)
    assert binom_cdf(-1, 10) == 0.0
    assert binom_cdf(10, 10) == 1.0
    assert binom_cdf(0, 0) == 1.0
    assert binom_cdf(2, 5, 0.0) == 1.0 and binom_cdf(2, 5, 1.0) == 0.0
    with pytest.raises(ValueError):
        binom_cdf(1, 5, 1.5)


def test_binom_cdf_log_space_matches_exact_integers_past_the_switch() -> None:
    n = EXACT_INT_MAX_N + 1  # first n that goes through lgamma / log-sum-exp
    for k in (900, 980, 1000, 1050):
        exact = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
        assert binom_cdf(k, n) == pytest.approx(exact, rel=1e-9)


def test_binom_cdf_huge_n_is_fast_and_near_normal() -> None:
    from statistics import NormalDist

    t0 = time.perf_counter()
    got = binom_cdf(100_200, 200_000)
    assert time.perf_counter() - t0 < 1.0
    # mean 100,000, sd sqrt(50,000); continuity correction +0.5
    assert got == pytest.approx(NormalDist(100_000, math.sqrt(50_000)).cdf(100_200.5), abs=1e-3)
    # p != 1/2: mean 30,000, sd sqrt(100,000 * 0.3 * 0.7) = sqrt(21,000)
    got = binom_cdf(30_100, 100_000, 0.3)
    assert got == pytest.approx(NormalDist(30_000, math.sqrt(21_000)).cdf(30_100.5), abs=1e-3)


@pytest.mark.parametrize("n", [10, 11, 2000, 2001, 50_001])
def test_binom_cdf_symmetry_at_one_half(n: int) -> None:
    # P[X <= k] + P[X >= k+1] = 1 and P[X >= k+1] = P[X <= n-k-1] at p = 1/2. Integer sums (n <= 2000) are
    # correctly rounded; log space carries lgamma's rounding on large arguments, about 1e-11 at n = 50,000.
    tol = 1e-15 if n <= EXACT_INT_MAX_N else 1e-10
    for k in sorted({0, n // 3, n // 2 - 1, n // 2, n // 2 + 7, n - 2}):
        assert binom_cdf(k, n) + binom_cdf(n - k - 1, n) == pytest.approx(1.0, abs=tol), k


def test_mcnemar_exact_large_counts() -> None:
    from statistics import NormalDist

    # n = 100,000, sd = sqrt(25,000) = 158.11; z = (49,500.5 - 50,000) / 158.11 = -3.159; 2 * Phi(z) = 0.0016
    approx = 2 * NormalDist().cdf((49_500.5 - 50_000) / math.sqrt(25_000))
    got = mcnemar_exact(50_500, 49_500)
    assert got == pytest.approx(approx, rel=1e-2)
    assert got == pytest.approx(0.0016, abs=5e-5)
    assert mcnemar_exact(50_000, 50_000) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 3)


# --- sign_flip_test, paired_test ---------------------------------------------------------------------------


def test_sign_flip_all_positive_is_the_two_extreme_patterns() -> None:
    # 30 diffs of +0.4: only all-plus and all-minus reach |sum| = 12 -> 2 / 2^30
    assert sign_flip_test([0.4] * 30, exact_max=30) == 2 / 2**30
    # default exact_max 20 -> Monte Carlo: no random pattern reaches it, so (0 + 1) / (20,000 + 1)
    assert sign_flip_test([0.4] * 30) == 1 / 20_001


def test_sign_flip_hand_worked_six_cases() -> None:
    # sum of 6 signs = 2 * plus - 6; |sum| >= 4 <=> plus in {0, 1, 5, 6}: 1 + 6 + 6 + 1 = 14 of 64
    diffs = [1, 1, 1, 1, 1, -1]
    assert sign_flip_test(diffs) == 14 / 64
    assert sign_flip_test(diffs, alternative="greater") == 7 / 64  # plus in {5, 6}
    assert sign_flip_test(diffs, alternative="less") == 63 / 64  # all but plus = 6
    # zeros stay in n but are not flipped: same p
    assert sign_flip_test([*diffs, 0, 0, 0.0]) == 14 / 64


def test_sign_flip_float_ties_count() -> None:
    # 0.1 + 0.2 - 0.3 is 5.6e-17, not 0, in floating point; the tolerance makes it a tie with 0.
    assert sign_flip_test([0.1, 0.2, -0.3]) == 1.0
    # sums of ±0.1 ±0.2 ±0.3: 0.6, 0, 0.2, 0.4, -0.4, -0.2, 0, -0.6; five are >= 0
    assert sign_flip_test([0.1, 0.2, -0.3], alternative="greater") == 5 / 8
    # |sum| >= 0.6: the two extreme patterns
    assert sign_flip_test([0.1, 0.2, 0.3]) == 2 / 8


def test_sign_flip_empty_and_all_zero() -> None:
    assert sign_flip_test([]) == 1.0
    assert sign_flip_test([0.0, 0, 0]) == 1.0
    with pytest.raises(ValueError):
        sign_flip_test([1.0], alternative="bigger")
    with pytest.raises(ValueError):
        sign_flip_test([1.0], exact_max=41)


def test_sign_flip_on_plus_minus_one_is_exact_mcnemar() -> None:
    # With b diffs of +1 and c of -1, sum = 2 * plus - (b + c) and |sum| >= |b - c| <=> plus <= min(b, c) or
    # plus >= max(b, c): for b != c that is 2 * P[Binom(b + c, 1/2) <= min(b, c)]; for b = c it is every
    # pattern (p = 1), and McNemar's min(1, 2 * P[X <= n/2]) is 1 too. So the two tests coincide.
    for b in range(10):
        for c in range(10):
            diffs = [1] * b + [-1] * c + [0] * 2
            assert sign_flip_test(diffs) == pytest.approx(mcnemar_exact(b, c), abs=1e-15), (b, c)


def test_sign_flip_monte_carlo_is_seeded_and_near_exact() -> None:
    rng = np.random.default_rng(7)
    diffs = rng.normal(0.3, 1.0, 24).tolist()
    exact = sign_flip_test(diffs, exact_max=24)
    mc = sign_flip_test(diffs, exact_max=10)
    assert mc == sign_flip_test(diffs, exact_max=10)  # same seed, same answer
    assert mc != sign_flip_test(diffs, exact_max=10, seed=1)
    # Monte Carlo standard error at 20,000 resamples is below 0.004
    assert mc == pytest.approx(exact, abs=0.015)
    for alternative in ("greater", "less"):
        assert sign_flip_test(diffs, alternative=alternative, exact_max=10) == pytest.approx(
            sign_flip_test(diffs, alternative=alternative, exact_max=24), abs=0.015
        )


def test_sign_flip_monte_carlo_many_cases_near_normal() -> None:
    from statistics import NormalDist

    # 2,000 cases (one chunk is not all of them): the permutation distribution of the sum is close to
    # N(0, sum d^2), so the two-sided p is near 2 * (1 - Phi(|T| / sqrt(sum d^2))).
    d = np.random.default_rng(3).normal(0.03, 1.0, 2_000)
    expected = 2 * (1 - NormalDist().cdf(abs(d.sum()) / math.sqrt(float((d**2).sum()))))
    assert sign_flip_test(d.tolist(), n_resamples=5_000) == pytest.approx(expected, abs=0.03)


def test_paired_test_binary_is_exact_mcnemar() -> None:
    out = paired_test([1, 1, 1, 1, 1, -1, 0], binary=True)
    assert out == PairedTest("exact McNemar", 7, pytest.approx(4 / 7), 5, 1, 14 / 64)
    # one-sided: P[Binom(6, 1/2) >= 5] = 7/64 and P[<= 5] = 63/64
    assert paired_test([1, 1, 1, 1, 1, -1, 0], binary=True, alternative="greater").p_value == 7 / 64
    assert paired_test([1, 1, 1, 1, 1, -1, 0], binary=True, alternative="less").p_value == 63 / 64
    assert paired_test([0, 0], binary=True).p_value == 1.0
    with pytest.raises(ValueError):
        paired_test([0.5, 1], binary=True)


def test_paired_test_sign_flip_methods() -> None:
    # magnitudes 0.5, 0.5, 1, 1/3 (total 7/3), observed 5/3: only all-plus and flipping 1/3 reach |sum| >= 5/3,
    # with their mirror images: 4 of 16
    out = paired_test([0.5, 0.5, 1, -1 / 3, 0], binary=False)
    assert (out.method, out.n, out.b, out.c) == ("sign-flip permutation (exact)", 5, 3, 1)
    assert out.mean_diff == pytest.approx((5 / 3) / 5)
    assert out.p_value == pytest.approx(4 / 16)
    many = paired_test([0.5] * 25, binary=False, n_resamples=999, seed=4)
    assert many.method == "sign-flip permutation (Monte Carlo, 999 resamples, seed 4)"
    assert many.p_value == 1 / 1000
    empty = paired_test([], binary=False)
    assert (empty.n, empty.b, empty.c, empty.p_value) == (0, 0, 0, 1.0) and math.isnan(empty.mean_diff)


# --- bootstrap_mean_ci -------------------------------------------------------------------------------------


def test_bootstrap_mean_ci_deterministic_and_edges() -> None:
    values = [0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 0.25, 0.7, 0.1, 0.35, 0.9]
    a = bootstrap_mean_ci(values, seed=11)
    assert a == bootstrap_mean_ci(values, seed=11)
    assert a != bootstrap_mean_ci(values, seed=12)
    assert a.estimate == pytest.approx(sum(values) / len(values))
    assert a.low < a.estimate < a.high
    const = bootstrap_mean_ci([0.3] * 50)
    assert const.low == const.high == pytest.approx(0.3)
    assert all(math.isnan(x) for x in (bootstrap_mean_ci([]).estimate, bootstrap_mean_ci([]).low))
    one = bootstrap_mean_ci([2.5])
    assert one.estimate == 2.5 and math.isnan(one.low) and math.isnan(one.high)
    with pytest.raises(ValueError):
        bootstrap_mean_ci(values, level=1.0)


def test_bootstrap_mean_ci_coverage_sanity() -> None:
    x = np.random.default_rng(1).standard_normal(200)
    ci = bootstrap_mean_ci(x.tolist())
    assert ci.low < 0 < ci.high
    assert (ci.high - ci.low) / 2 == pytest.approx(1.96 / math.sqrt(200), rel=0.2)


def test_bootstrap_mean_ci_chunks_large_inputs() -> None:
    # 50,000 cases: 20 resamples per chunk, so 100 resamples go through five chunks
    x = np.random.default_rng(5).standard_normal(50_000)
    ci = bootstrap_mean_ci(x.tolist(), n_resamples=100)
    assert (ci.high - ci.low) / 2 == pytest.approx(1.96 / math.sqrt(50_000), rel=0.35)


def _loop_bootstrap(values: list[float], n_resamples: int, seed: int, scale: int | None = None) -> tuple[float, float]:
    """The draws bootstrap_mean_ci is defined by: rng.integers(0, n, (r, n)) in chunks of about a
    million draws, and each row's mean: numpy's mean of the values (the loop it ran before it reused
    its draws), or with ``scale`` (values k/scale) the exact rational mean rounded once, from integer
    sums of the scaled values."""
    x = np.asarray(values, dtype=float)
    n = x.size
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, 1_000_000 // n))
    means: list[np.ndarray] = []
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        idx = rng.integers(0, n, size=(r, n), dtype=np.int32)
        if scale is None:
            means.append(x[idx].mean(axis=1))
        else:
            ints = np.rint(x * scale).astype(np.int64)
            means.append(np.array([int(s) / (scale * n) for s in ints[idx].sum(axis=1)]))
        done += r
    alpha = 1 - 0.95  # 0.050000000000000044, as bootstrap_mean_ci computes it
    low, high = np.quantile(np.concatenate(means), [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


@pytest.mark.parametrize(
    ("make", "scale"),
    [
        (lambda g, n: g.integers(0, 2, n).astype(float), 1),  # pass/fail
        (lambda g, n: g.integers(-1, 2, n).astype(float), 1),  # paired ±1 diffs
        (lambda g, n: g.integers(0, 5, n) / 4, 4),  # quarters: dyadic, the same either way
        (lambda g, n: g.integers(0, 4, n) / 3 - g.integers(0, 4, n) / 3, 3),  # thirds: exact rational means
        (lambda g, n: g.integers(0, 11, n) / 10 - g.integers(0, 6, n) / 5, 10),  # 10 and 5 repeats averaged
        (lambda g, n: g.standard_normal(n), None),  # latencies: the gather
        (lambda g, n: np.where(g.integers(0, 2, n) == 1, -0.0, 0.0), None),  # -0.0 keeps its sign: the gather
    ],
)
def test_bootstrap_mean_ci_reuses_the_same_draws_bit_for_bit(make, scale) -> None:
    g = np.random.default_rng(7)
    for n, resamples, seed in ((250, 4000, 20261202), (37, 2000, 1234), (900, 4000, 3), (3000, 500, 9)):
        values = make(g, n).tolist()
        for _ in range(2):  # the second call reads the kept draws
            ci = bootstrap_mean_ci(values, n_resamples=resamples, seed=seed)
            assert (ci.low, ci.high) == _loop_bootstrap(values, resamples, seed, scale)
    if scale is not None:  # past the kept matrices: drawn again chunk by chunk, the same sums
        values = make(g, 20_000).tolist()
        ci = bootstrap_mean_ci(values, n_resamples=900, seed=5)
        assert (ci.low, ci.high) == _loop_bootstrap(values, 900, 5, scale)


def test_bootstrap_mean_cis_is_each_single_interval_bit_for_bit() -> None:
    g = np.random.default_rng(3)
    many = [
        *[(g.integers(0, 11, 400) / 10 - g.integers(0, 11, 400) / 10).tolist() for _ in range(5)],
        g.standard_normal(400).tolist(),  # not rational: taken on its own
        g.integers(-1, 2, 120).astype(float).tolist(),  # another length: its own product
        [0.5],
        [],
    ]
    together = bootstrap_mean_cis(many, n_resamples=1500, seed=8)
    from generator.analysis import stats

    stats._INTERVALS.clear()  # what the single calls give, computed afresh
    alone = [bootstrap_mean_ci(v, n_resamples=1500, seed=8) for v in many]
    assert [(i.estimate, i.low, i.high) for i in together[:-2]] == [(i.estimate, i.low, i.high) for i in alone[:-2]]
    assert together[-2].estimate == 0.5 and math.isnan(together[-2].low)
    assert math.isnan(together[-1].estimate)


# --- holm --------------------------------------------------------------------------------------------------


def test_holm_hand_worked() -> None:
    # sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 0.5 * 2 = 1.0 caps, and monotone carries it
    assert holm([0.02, 0.02]) == [0.04, 0.04]
    assert holm([0.3]) == [0.3]
    assert holm([]) == []
    with pytest.raises(ValueError):
        holm([1.2])


# --- quantile_ci -------------------------------------------------------------------------------------------


def test_quantile_ci_median_of_twenty_hand_worked() -> None:
    # B ~ Binomial(20, 1/2): P[B <= 5] = (1+20+190+1140+4845+15504)/2^20 = 21700/1048576 = 0.0207 <= 0.025
    # and P[B <= 6] = 60460/1048576 = 0.0577 > 0.025 -> l = 6; by symmetry P[B >= 15] = 0.0207 -> u = 15.
    # Coverage 1 - 2 * 0.0207 = 0.9586.
    assert binom_cdf(5, 20) == 21700 / 2**20 and binom_cdf(6, 20) == 60460 / 2**20
    values = list(range(20, 0, -1))  # order does not matter
    assert quantile_ci(values, 0.5) == Interval(10.5, 6.0, 15.0)


def test_quantile_ci_small_n_and_high_quantile() -> None:
    # Binomial(10, 0.95): P[10] = 0.5987, P[9] = 0.3151, P[8] = 0.0746 -> P[B <= 7] = 0.0115, P[B <= 8] = 0.0861:
    # l = 8. P[B >= 10] = 0.5987 > 0.025: no upper rank works -> +inf. Estimate: h = 9 * 0.95 = 8.55 -> 9.55.
    ci = quantile_ci(range(1, 11), 0.95)
    assert ci.estimate == pytest.approx(9.55)
    assert (ci.low, ci.high) == (8.0, math.inf)
    # n = 3: P[B = 0] = 0.125 > 0.025 on both sides
    assert quantile_ci([1, 2, 3], 0.5) == Interval(2.0, -math.inf, math.inf)
    empty = quantile_ci([], 0.5)
    assert math.isnan(empty.estimate) and (empty.low, empty.high) == (-math.inf, math.inf)


def test_quantile_ci_infinite_values_propagate() -> None:
    # timed-out requests are infinitely slow: the 15th order statistic of 1..14 + 6 x inf is inf
    ci = quantile_ci([*range(1, 15), *[math.inf] * 6], 0.5)
    assert ci == Interval(10.5, 6.0, math.inf)
    # more than half timed out: the median itself is inf (numpy would give nan for some of these)
    assert quantile_ci([1, 2, math.inf, math.inf, math.inf], 0.5).estimate == math.inf
    assert quantile_ci([1, math.inf], 0.0).estimate == 1.0
    assert quantile_ci([1, math.inf], 0.5).estimate == math.inf


def test_quantile_ci_estimate_matches_numpy_linear() -> None:
    for values in ([1.5, 2.0, 7.0, 3.3], list(range(1, 12)), [0.2, 0.2, 0.9]):
        for q in (0.0, 0.1, 0.25, 0.5, 0.73, 0.95, 1.0):
            assert quantile_ci(values, q).estimate == float(np.quantile(values, q))


@pytest.mark.parametrize(("n", "q", "level"), [(20, 0.5, 0.95), (50, 0.9, 0.95), (200, 0.99, 0.9), (37, 0.25, 0.8)])
def test_quantile_ci_ranks_are_the_equal_tailed_choice(n: int, q: float, level: float) -> None:
    # With values 1..n the bounds are the ranks themselves.
    tail = (1 - level) / 2
    ci = quantile_ci(range(1, n + 1), q, level)
    low, high = ci.low, ci.high
    if low != -math.inf:
        rank = int(low)
        assert binom_cdf(rank - 1, n, q) <= tail < binom_cdf(rank, n, q)
    else:
        assert binom_cdf(0, n, q) > tail
    if high != math.inf:
        rank = int(high)
        assert 1 - binom_cdf(rank - 1, n, q) <= tail < 1 - binom_cdf(rank - 2, n, q)
    else:
        assert q**n > tail


# --- proportion gates --------------------------------------------------------------------------------------


def test_proportion_gate_three_states() -> None:
    # wilson(8, 10) = [0.4902, 0.9433]
    assert proportion_gate(8, 10, ">=", 0.45) == "pass"
    assert proportion_gate(8, 10, ">=", 0.95) == "fail"
    assert proportion_gate(8, 10, ">=", 0.8) == "insufficient"
    assert proportion_gate(8, 10, "<=", 0.95) == "pass"
    assert proportion_gate(8, 10, "<=", 0.45) == "fail"
    assert proportion_gate(8, 10, "<=", 0.8) == "insufficient"
    assert proportion_gate(0, 0, ">=", 0.5) == "insufficient"
    # fractional k (a sum of per-case means): 1.5 of 4 is an interval that straddles 0.5 and sits above 0.05
    ci = wilson(1.5, 4)
    assert ci.low < 0.5 < ci.high and ci.low > 0.05
    assert proportion_gate(1.5, 4, ">=", 0.5) == "insufficient"
    assert proportion_gate(1.5, 4, ">=", 0.05) == "pass"
    with pytest.raises(ValueError):
        proportion_gate(1, 2, ">", 0.5)


def test_proportion_fragility_hand_worked() -> None:
    # 8 of 10 passes ">= 0.45" (low 0.4902); 7 of 10 has low 0.3968 < 0.45 -> insufficient after one failure.
    assert wilson(7, 10).low == pytest.approx(0.3968, abs=1e-4)
    assert proportion_fragility(8, 10, ">=", 0.45) == (1, "flips to insufficient if 1 more case fails")
    # 10 of 20 against 0.5 is insufficient ([0.299, 0.701]). 15 of 20 has low 0.5313 >= 0.5 but 14 of 20 has
    # low 0.4810; by the symmetry of Wilson, 5 of 20 has high 0.4687 < 0.5 and 6 of 20 high 0.5190: m = 5 both ways.
    assert wilson(15, 20).low == pytest.approx(0.5313, abs=1e-4)
    assert wilson(14, 20).low == pytest.approx(0.4810, abs=1e-4)
    assert proportion_fragility(10, 20, ">=", 0.5) == (
        5,
        "flips to fail if 5 more cases fail or flips to pass if 5 more cases pass",
    )
    assert proportion_fragility(0, 0, ">=", 0.5) == (None, "no single change of case outcomes flips it")
    # threshold 0: "at least 0 %" always passes, nothing flips it
    assert proportion_fragility(3, 10, ">=", 0.0) == (None, "no single change of case outcomes flips it")


def test_proportion_fragility_matches_linear_scan() -> None:
    def reference(k: float, n: int, op: str, t: float) -> int | None:
        now = proportion_gate(k, n, op, t)
        for m in range(1, n + 1):
            if proportion_gate(max(0.0, k - m), n, op, t) != now or proportion_gate(min(n, k + m), n, op, t) != now:
                return m
        return None

    for n in (1, 5, 17, 60):
        for k in sorted({0, n // 4, n // 2, n - 1, n, n / 3}):
            for op in (">=", "<="):
                for t in (0.1, 0.5, 0.8, 0.95):
                    assert proportion_fragility(k, n, op, t)[0] == reference(k, n, op, t), (k, n, op, t)


def test_cases_to_settle() -> None:
    # 15 of 20 (75 %) against ">= 70 %" is insufficient; at 75 % the Wilson lower bound clears 0.7 only past
    # about 320 cases (the Wald estimate (1.96 / 0.05)^2 * 0.1875 = 288 is optimistic).
    extra = cases_to_settle(15, 20, ">=", 0.7)
    assert extra is not None

    def settles(e: int) -> bool:
        return proportion_gate(15 + round(0.75 * e), 20 + e, ">=", 0.7) != "insufficient"

    # the search finds the linear-scan answer, including the lucky rounding at 290 (round(217.5) = 218, so
    # 233 of 310 = 75.2 %) that settles it before the smooth curve at 304 does
    assert extra == next(e for e in range(1, 1000) if settles(e)) == 290
    assert proportion_gate(15 + round(0.75 * extra), 20 + extra, ">=", 0.7) == "pass"
    # 13 of 20 (65 %) settles on "fail"
    extra = cases_to_settle(13, 20, ">=", 0.7)
    assert extra is not None and proportion_gate(13 + round(0.65 * extra), 20 + extra, ">=", 0.7) == "fail"
    assert cases_to_settle(18, 20, "<=", 0.999) == 0  # already settled (pass)
    assert cases_to_settle(7, 10, ">=", 0.7) is None  # the rate sits on the threshold
    assert cases_to_settle(15, 20, ">=", 0.7, max_extra=100) is None
    assert cases_to_settle(0, 0, ">=", 0.7) is None


def test_cases_to_settle_matches_linear_scan() -> None:
    def reference(k: float, n: int, op: str, t: float) -> int | None:
        if proportion_gate(k, n, op, t) != "insufficient":
            return 0
        rate = k / n
        if rate == t:
            return None
        for e in range(1, 3001):
            if proportion_gate(min(n + e, k + round(rate * e)), n + e, op, t) != "insufficient":
                return e
        return None

    for n in (3, 20, 57):
        for k in sorted({1, n // 3, n // 2, 2 * n // 3, n - 1, n / 3 + 0.5}):
            for op in (">=", "<="):
                for t in (0.05, 0.3, 0.62, 0.9):
                    assert cases_to_settle(k, n, op, t, max_extra=3000) == reference(k, n, op, t), (k, n, op, t)

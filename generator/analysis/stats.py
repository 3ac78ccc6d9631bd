"""Statistics for comparing models honestly (see REFERENCE: 'Statistics for comparing models').

Pure functions, no I/O, no pandas: each is pinned to hand-worked values in tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(k: float, n: float, z: float = Z95) -> Interval:
    """Wilson score interval for k successes of n (k may be fractional for weighted counts)."""
    if n <= 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P[X <= k] for X ~ Binomial(n, p), exact."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value on discordant counts b (A right, B wrong) and c."""
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom_cdf(min(b, c), n))


def norm_ppf(q: float) -> float:
    """Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9)."""
    if not 0 < q < 1:
        raise ValueError("q must be in (0, 1)")
    a = [
        -3.969683028665376e01,
        2.209460984245205e02,
        -2.759285104469687e02,
        1.383577518672690e02,
        -3.066479806614716e01,
        2.506628277459239e00,
    ]
    b = [
        -5.447609879822406e01,
        1.615858368580409e02,
        -1.556989798598866e02,
        6.680131188771972e01,
        -1.328068155288572e01,
    ]
    c = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e00,
        -2.549732539343734e00,
        4.374664141464968e00,
        2.938163982698783e00,
    ]
    d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00]
    lo = 0.02425
    if q < lo:
        t = math.sqrt(-2 * math.log(q))
        return (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / (
            (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1
        )
    if q > 1 - lo:
        return -norm_ppf(1 - q)
    t = q - 0.5
    r = t * t
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * t
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )


def paired_mde(p_discordant: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable paired difference in acceptance rate: (z₁₋α/₂ + z₁₋β)·√(p_disc/n)."""
    if n <= 0:
        return float("inf")
    return (norm_ppf(1 - alpha / 2) + norm_ppf(power)) * math.sqrt(p_discordant / n)


def cases_needed(effect: float, p_discordant: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Shared cases needed so that ``effect`` becomes detectable (inverse of :func:`paired_mde`)."""
    if effect <= 0:
        return 0
    z = norm_ppf(1 - alpha / 2) + norm_ppf(power)
    return math.ceil(p_discordant * (z / effect) ** 2)


def clustered_se(per_case_means: list[float], per_case_counts: list[int]) -> float:
    """Standard error of a mean over repeated runs, clustered by case.

    Repeats of one case are not independent: treat each case as one cluster
    (CR0-style sandwich over cluster sums of residuals).
    """
    n_total = sum(per_case_counts)
    if n_total == 0 or len(per_case_means) < 2:
        return float("nan")
    grand = sum(m * k for m, k in zip(per_case_means, per_case_counts, strict=True)) / n_total
    s = sum((k * (m - grand)) ** 2 for m, k in zip(per_case_means, per_case_counts, strict=True))
    g = len(per_case_means)
    return math.sqrt(s * g / (g - 1)) / n_total


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters' yes/no verdicts on the same items.

    ``kappa`` and ``observed`` are None, with ``note`` saying why, when there is not enough
    data: fewer than two items, or a rater who gave one verdict only (kappa is then 0/0 or
    says nothing about agreement).
    """

    n: int
    observed: float | None
    kappa: float | None
    note: str | None = None


def cohen_kappa(a: list[bool], b: list[bool]) -> Kappa:
    """κ = (p_o − p_e) ÷ (1 − p_e) over the 2 × 2 table of ``a`` against ``b`` (numpy; no library).

    p_o is the share of items where the raters agree; p_e the agreement expected by chance from
    each rater's own yes-rate, p_a·p_b + (1 − p_a)(1 − p_b).
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError("both raters must rate the same items")
    n = len(a)
    if n < 2:
        return Kappa(n, None, None, "not enough data (fewer than 2 items)")
    x = np.asarray(a, dtype=bool)
    y = np.asarray(b, dtype=bool)
    observed = float(np.mean(x == y))
    if x.all() or not x.any() or y.all() or not y.any():
        return Kappa(n, observed, None, "not enough data (a rater gave one verdict only)")
    pa, pb = float(x.mean()), float(y.mean())
    expected = pa * pb + (1 - pa) * (1 - pb)
    return Kappa(n, observed, (observed - expected) / (1 - expected))


def bootstrap_mean(values: list[float], resamples: int, seed: int, level: float) -> Interval:
    """Mean of ``values`` with a percentile bootstrap interval (numpy's generator, fixed seed).

    Resample the values with replacement ``resamples`` times; the interval is the
    (1 − level)/2 and (1 + level)/2 quantiles of the resampled means. Fewer than two values
    have no interval (low and high are NaN); none have no mean either.
    """
    import numpy as np

    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    mean = float(x.mean())
    if len(x) < 2:
        return Interval(mean, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(mean, float(low), float(high))

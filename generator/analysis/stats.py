"""Statistics for comparing models honestly (see REFERENCE: 'Statistics for comparing models').

Pure functions, no I/O, no pandas (numpy only): each is pinned to hand-worked values in tests.

Methods, and why these ones:

- :func:`wilson`: Wilson score interval for a rate. Unlike the normal ("Wald") interval it stays inside
  [0, 1] and keeps its coverage near 0 and 1, where acceptance and failure rates usually live.
- :func:`binom_cdf`, :func:`mcnemar_exact`: exact binomial tails. Floating point overflows past about a
  thousand trials (``comb(n, i) * 0.5**i``), so small n is summed in integers and divided by 2ⁿ, and
  large n works in log space (``math.lgamma`` plus log-sum-exp). Exact McNemar is the paired test for
  one pass/fail outcome per case.
- :func:`sign_flip_test`, :func:`paired_test`: the case is the unit. Repeats of one case are not
  independent evidence, so they are averaged per case first and the per-case differences are tested with
  a sign-flip permutation test (exact enumeration for few non-zero differences, Monte Carlo with a fixed
  seed otherwise). With one repeat per case and binary outcomes this is exact McNemar. Studentizing
  the statistic would change nothing: Σd² is the same under every sign pattern, so Σd / √Σd² orders the
  patterns exactly as Σd does. Against the alternatives, measured by ``benchmarks/verdict_calibration.py``
  on simulated decisions: a paired t-test has the same power within Monte Carlo error (and no exact
  size); the exact conditional permutation test within cases (model labels of a case's 2r outcomes
  permuted, Cochran–Mantel–Haenszel style) keeps its size but, being discrete, is more conservative and
  loses power, most at one repeat; and all of them sit a few points under the oracle z-test that knows
  every case's variance, which bounds any level-α test of the mean per-case difference.
- :func:`bootstrap_mean_ci`: percentile bootstrap over cases (not over results) for a mean.
- :func:`holm`: Holm's step-down correction when several challengers are tested for one role; it
  controls the family-wise error and is uniformly better than Bonferroni.
- :func:`quantile_ci`: distribution-free order-statistic interval for a latency percentile; a timed-out
  request may be ``math.inf`` (infinitely slow) rather than dropped.
- :func:`paired_mde`, :func:`cases_needed`: power planning. The effect fed to :func:`cases_needed` is
  the pre-specified minimum effect of interest from policy, never the observed one: power computed from
  the observed effect ("post-hoc power") followed by re-testing as cases accumulate inflates false
  promotions.
- :func:`proportion_gate`, :func:`proportion_fragility`, :func:`cases_to_settle`: three-state gates
  ("pass" / "fail" / "insufficient") on a Wilson interval, how few case outcomes would flip one, and how
  many more cases at the observed rate would settle an undecided one.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist

import numpy as np

Z95 = 1.959963984540054

#: Below this many trials a p = ½ binomial tail is summed exactly in integers; above it, log space.
EXACT_INT_MAX_N = 2000
#: Default (and the one :func:`paired_test` uses) for how many non-zero differences are enumerated exactly.
EXACT_MAX = 20
#: Hard ceiling for exact enumeration: meet-in-the-middle keeps two arrays of 2^(m/2) sums.
_EXACT_CEILING = 40
#: Relative tolerance so that permutation sums equal to the observed one count as ties.
_REL_TOL = 1e-9
_ALTERNATIVES = ("two-sided", "greater", "less")
_OPS = (">=", "<=")


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


_NAN_INTERVAL = Interval(float("nan"), float("nan"), float("nan"))


def wilson(k: float, n: float, z: float = Z95) -> Interval:
    """Wilson score interval for k successes of n (k may be fractional for weighted counts).

    Fractional k arises when repeats are averaged per case and the per-case means are summed: the case
    stays the unit (n is the number of cases). n <= 0 gives a NaN interval: there is no rate to bound.
    """
    if n <= 0:
        return _NAN_INTERVAL
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def _log_binom_pmf(n: int, p: float) -> np.ndarray:
    """log P[X = i] for i = 0..n, X ~ Binomial(n, p), with 0 < p < 1 (one lgamma per i, then numpy)."""
    lg = np.array([math.lgamma(i + 1) for i in range(n + 1)])
    i = np.arange(n + 1)
    return lg[n] - lg - lg[::-1] + i * math.log(p) + (n - i) * math.log1p(-p)


def _logsumexp(a: np.ndarray) -> float:
    """log(sum(exp(a))) without overflow or underflow of the largest term."""
    top = float(np.max(a))
    return top + math.log(float(np.sum(np.exp(a - top))))


def _binom_pmf_all(n: int, p: float) -> np.ndarray:
    """P[X = i] for i = 0..n; handles the degenerate p = 0 and p = 1 that log space cannot."""
    if p <= 0.0 or p >= 1.0:
        pmf = np.zeros(n + 1)
        pmf[0 if p <= 0.0 else n] = 1.0
        return pmf
    return np.exp(_log_binom_pmf(n, p))


def binom_cdf(k: int, n: int, p: float = 0.5) -> float:
    """P[X <= k] for X ~ Binomial(n, p): exact in integers for small n, log space beyond.

    For p = ½ and n <= ``EXACT_INT_MAX_N`` the tail is an integer sum of binomial coefficients divided by
    2ⁿ (Python's int / int division is correctly rounded), so hand-worked values such as 176/1024 come out
    exactly. Otherwise the terms are summed in log space (``math.lgamma`` and log-sum-exp), which cannot
    overflow: n = 200,000 takes a few tens of milliseconds, accurate to about 1e-11 absolute (lgamma's
    rounding on large arguments), far below anything a p-value is read to. The shorter tail is summed and, above the
    mean, subtracted from one, which keeps small tails accurate where the p-value needs it.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be in [0, 1]")
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return 0.0
    if p == 0.5 and n <= EXACT_INT_MAX_N:
        # Sum the shorter side (C(n, i) = C(n, n - i)), building each coefficient from the previous one.
        upper = k >= n // 2
        last = n - k - 1 if upper else k
        term, total = 1, 1
        for i in range(last):
            term = term * (n - i) // (i + 1)
            total += term
        return float(Fraction(2**n - total if upper else total, 2**n))
    logs = _log_binom_pmf(n, p)
    # Normalise by the total mass: the rounding of lgamma(n + 1), about 1e-16 of a number near n·log n, is
    # common to every term and cancels. What remains is the rounding of each lgamma(i + 1): the two tails
    # then sum to one within about 1e-11 at n = 50,000 (3e-10 without the normalisation at n = 200,000).
    total = _logsumexp(logs)
    if k < n * p:
        return min(1.0, math.exp(_logsumexp(logs[: k + 1]) - total))
    return max(0.0, -math.expm1(_logsumexp(logs[k + 1 :]) - total))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value on discordant counts b (A right, B wrong) and c.

    p = min(1, 2 · P[Binomial(b+c, ½) <= min(b, c)]). Concordant cases carry no information about which
    model is better, so only b and c enter. b = c = 0 gives 1.0 (no evidence either way).
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom_cdf(min(b, c), n))


def norm_ppf(q: float) -> float:
    """Inverse standard normal CDF; the standard library's ``NormalDist().inv_cdf`` is exact enough."""
    if not 0 < q < 1:
        raise ValueError("q must be in (0, 1)")
    return statistics.NormalDist().inv_cdf(q)


def _check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, not {alternative!r}")


def _all_sign_sums(values: np.ndarray) -> np.ndarray:
    """Sums of ±values over every one of the 2^len(values) sign patterns (sorted)."""
    sums = np.zeros(1)
    for v in values:
        sums = np.concatenate([sums + v, sums - v])
    return np.sort(sums)


def _count_ge(left: np.ndarray, right_sorted: np.ndarray, t: float) -> int:
    """How many pairs (a, b) from left × right have a + b >= t, without forming the 2^m outer sum."""
    idx = np.searchsorted(right_sorted, t - left, side="left")
    return int(np.sum(len(right_sorted) - idx))


def _count_le(left: np.ndarray, right_sorted: np.ndarray, t: float) -> int:
    """How many pairs (a, b) from left × right have a + b <= t."""
    return int(np.sum(np.searchsorted(right_sorted, t - left, side="right")))


def sign_flip_test(
    diffs: Sequence[float],
    *,
    alternative: str = "two-sided",
    n_resamples: int = 20000,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
) -> float:
    """Paired permutation (sign-flip) test of the mean per-case difference; returns the p-value.

    Under the null hypothesis each case's difference is as likely to have either sign, so the statistic
    (the sum of the differences, equivalent to their mean at fixed n) is compared with its value under
    every sign pattern. Zero differences contribute nothing to any sum; they stay in n but are not
    flipped. With m non-zero differences and m <= ``exact_max`` all 2^m patterns are counted exactly
    (meet in the middle: two halves of 2^(m/2) sums and a sorted search, so m = 30 is instant; at most
    40). Otherwise ``n_resamples`` random patterns from ``numpy.random.default_rng(seed)`` are drawn and
    p = (count + 1) / (n_resamples + 1), which never reports an impossible p = 0.

    ``alternative``: "two-sided" counts |sum| >= |observed|, "greater" sum >= observed, "less" sum <=
    observed. Sums within 1e-9 (relative to the sum of |diffs|) of the observed one count as ties, so
    float rounding does not drop the observed pattern itself. Empty or all-zero diffs give 1.0.
    For ±1 differences the exact two-sided value equals :func:`mcnemar_exact`.
    """
    _check_alternative(alternative)
    if exact_max > _EXACT_CEILING:
        raise ValueError(f"exact_max must be <= {_EXACT_CEILING} (2^m patterns)")
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    d = np.asarray(diffs, dtype=float)
    if d.size and not np.all(np.isfinite(d)):
        raise ValueError("diffs must be finite")
    d = d[d != 0]
    m = int(d.size)
    if m == 0:
        return 1.0
    observed = float(np.sum(d))
    tol = _REL_TOL * float(np.sum(np.abs(d)))
    if m <= exact_max:
        left = _all_sign_sums(d[: m // 2])
        right = _all_sign_sums(d[m // 2 :])
        if alternative == "greater":
            count = _count_ge(left, right, observed - tol)
        elif alternative == "less":
            count = _count_le(left, right, observed + tol)
        else:
            t = abs(observed) - tol
            if t <= 0:
                return 1.0
            count = _count_ge(left, right, t) + _count_le(left, right, -t)
        return min(1.0, count / 2.0**m)
    # Monte Carlo, 8 signs per random byte: the diffs are cut into groups of 8 (zero-padded) and each group's
    # 256 possible signed sums are tabulated, so one resample costs m/8 table look-ups instead of m draws.
    groups = -(-m // 8)
    padded = np.zeros(groups * 8)
    padded[:m] = d
    signs = 2.0 * ((np.arange(256)[:, None] >> np.arange(8)) & 1) - 1.0  # (256, 8): pattern of each byte
    table = (padded.reshape(groups, 8) @ signs.T).ravel()  # table[g * 256 + byte]
    offsets = np.arange(groups, dtype=np.int32) * 256  # int32 halves the memory traffic of the gather
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, 1_000_000 // groups))
    count = 0
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        sums = table[offsets + rng.integers(0, 256, size=(r, groups), dtype=np.uint8)].sum(axis=1)
        if alternative == "greater":
            count += int(np.sum(sums >= observed - tol))
        elif alternative == "less":
            count += int(np.sum(sums <= observed + tol))
        else:
            count += int(np.sum(np.abs(sums) >= abs(observed) - tol))
        done += r
    return (count + 1) / (n_resamples + 1)


@dataclass(frozen=True)
class PairedTest:
    """Result of :func:`paired_test`: the method named in words so that a report can say what was run."""

    method: str
    n: int
    mean_diff: float
    b: int
    c: int
    p_value: float


def paired_test(
    diffs: Sequence[float],
    *,
    binary: bool,
    alternative: str = "two-sided",
    n_resamples: int = 20000,
    seed: int = 0,
    exact_max: int = EXACT_MAX,
    normal_above: int | None = None,
) -> PairedTest:
    """Test per-case differences (challenger minus incumbent, one value per shared case).

    ``binary=True`` means one repeat per case and pass/fail outcomes, so every diff is -1, 0 or 1: then the
    test is exact McNemar on b (diffs > 0) and c (diffs < 0); one-sided "greater" is P[Binom(b+c, ½) >= b]
    and "less" P[Binom(b+c, ½) <= b]. Otherwise (repeats averaged per case, or graded scores) the
    sign-flip permutation test, exact for at most ``exact_max`` non-zero diffs, Monte Carlo above, and
    read off its normal limit above ``normal_above`` non-zero diffs (the sign-flip sum has mean 0 and
    variance Σd², so z = Σd / √Σd²: at thousands of cases this is what the resampling converges to, at a
    fraction of its cost). Empty diffs give n = 0, a NaN mean and p = 1.0.
    """
    _check_alternative(alternative)
    arr = np.asarray(diffs, dtype=float).ravel()
    d = arr.tolist()
    n = len(d)
    b = int(np.count_nonzero(arr > 0))
    c = int(np.count_nonzero(arr < 0))
    mean = math.fsum(d) / n if n else float("nan")
    if binary:
        if not np.all((arr == -1.0) | (arr == 0.0) | (arr == 1.0)):
            raise ValueError("binary=True needs every diff in {-1, 0, 1}")
        if alternative == "two-sided":
            p = mcnemar_exact(b, c)
        elif alternative == "greater":
            p = binom_cdf(c, b + c)  # P[X >= b] = P[X <= c] by symmetry at p = ½, without 1 − cdf cancellation
        else:
            p = binom_cdf(b, b + c)
        return PairedTest("exact McNemar", n, mean, b, c, p)
    if normal_above is not None and b + c > normal_above:
        z = math.fsum(d) / math.sqrt(math.fsum((arr * arr).tolist()))
        unit = NormalDist()
        if alternative == "greater":
            p = 1 - unit.cdf(z)
        elif alternative == "less":
            p = unit.cdf(z)
        else:
            p = min(1.0, 2 * (1 - unit.cdf(abs(z))))
        return PairedTest("sign-flip permutation (normal limit)", n, mean, b, c, p)
    p = sign_flip_test(d, alternative=alternative, n_resamples=n_resamples, seed=seed, exact_max=exact_max)
    if b + c <= exact_max:
        method = "sign-flip permutation (exact)"
    else:
        method = f"sign-flip permutation (Monte Carlo, {n_resamples} resamples, seed {seed})"
    return PairedTest(method, n, mean, b, c, p)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")


#: Resample plans up to this many draws keep their index matrix (the gather of values that are not
#: rational needs it); up to ``_COUNTS_MAX_DRAWS`` they keep the multiplicity matrix, as float32
#: (40 MB for 4,000 resamples of 2,500 cases). Every bootstrap over n cases with the same resamples
#: and seed draws the same matrix, and the site asks for thousands of them.
_PLAN_MAX_DRAWS = 2_000_000
_COUNTS_MAX_DRAWS = 16_000_000
#: The largest denominator a value may have to count as rational (k/r for r repeats, halves of a graded
#: scale, their differences): means of such values are summed exactly in integers.
_MAX_DENOMINATOR = 10_000


@dataclass
class _ResamplePlan:
    """What a seeded bootstrap over n values draws: how many times each resample picks each value
    (the means of rational data are then one matrix product) and, for small plans, the index matrix
    itself (the gather of other values)."""

    counts: np.ndarray  # (n_resamples, n) float32 multiplicities (exact: each is at most n < 2**24)
    index: np.ndarray | None  # (n_resamples, n) the draws of rng.integers, kept up to _PLAN_MAX_DRAWS


def _draw_index(n: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The resample indices, drawn in chunks of about a million so 4000 resamples of 100,000 cases
    never hold the 3 GB matrix at once: the caller gathers chunk by chunk when it is large."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, 1_000_000 // n))
    index_type = np.int32 if n < 2**31 else np.int64  # int32 indices make the gather about twice as fast
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        yield rng.integers(0, n, size=(r, n), dtype=index_type)
        done += r


def _multiplicities(index: np.ndarray, n: int) -> np.ndarray:
    rows = np.arange(index.shape[0], dtype=np.int64)[:, None] * n
    flat = np.bincount((index + rows).ravel(), minlength=index.shape[0] * n)
    return flat.reshape(index.shape[0], n).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _resample_plan(n: int, n_resamples: int, seed: int) -> _ResamplePlan:
    chunks = list(_draw_index(n, n_resamples, seed)) if n * n_resamples <= _PLAN_MAX_DRAWS else None
    if chunks is not None:
        index = np.concatenate(chunks)
        return _ResamplePlan(_multiplicities(index, n), index)
    counts = np.concatenate([_multiplicities(idx, n) for idx in _draw_index(n, n_resamples, seed)])
    return _ResamplePlan(counts, None)


def _rational_scale(x: np.ndarray) -> int | None:
    """The smallest integer s (up to ``_MAX_DENOMINATOR``) making every x·s an integer, within
    rounding of the float nearest a fraction (pass/fail, k/r for r repeats, a graded scale's halves
    and their differences); None when there is none (latencies, anything irrational).

    Also None when a row of -0.0 could sum to -0.0 in numpy's order and +0.0 in a product, and when
    a sum of n scaled values might leave float64's exact integers."""
    if np.any((x == 0) & np.signbit(x)):
        return None
    values = np.unique(x)
    if values.size > 4096:
        return None
    s = 1
    for v in values.tolist():
        y = v * s
        if abs(y - round(y)) <= 1e-9 * max(1.0, abs(y)):
            continue
        d = Fraction(v).limit_denominator(_MAX_DENOMINATOR).denominator
        s = math.lcm(s, d)
        if s > _MAX_DENOMINATOR:
            return None
    y = values * s
    if not np.all(np.abs(y - np.rint(y)) <= 1e-9 * np.maximum(1.0, np.abs(y))):
        return None
    if float(np.max(np.abs(y))) * x.size >= 2.0**53:
        return None
    return s


def _exact_sums(counts: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``counts @ y`` for integer-valued float columns ``y``: in float32 when every partial sum
    stays below 2**24 (all of them exact integers then, in any order the product takes), else
    float64 (exact below 2**53, which :func:`_rational_scale` checked)."""
    n = counts.shape[1]
    if float(np.max(np.abs(y), initial=0.0)) * n < 2.0**24:
        return (counts @ y.astype(np.float32)).astype(float)
    return counts.astype(float) @ y.astype(float)


def _resample_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Mean of each bootstrap resample of ``x``: the draws of ``rng.integers(0, n, (r, n))`` from
    ``default_rng(seed)`` in chunks.

    The same (n, resamples, seed) draw the same matrix, so it is drawn once (up to
    ``_COUNTS_MAX_DRAWS``). Rational values (pass/fail, repeats averaged, ±1 diffs, a graded scale)
    are scaled to integers and summed exactly from the multiplicity matrix in one product: each mean
    is the exact rational mean, rounded once. Other values are gathered row by row, each row's mean
    as numpy's pairwise ``mean(axis=1)`` gives it."""
    n = int(x.size)
    scale = _rational_scale(x)
    if n * n_resamples > _COUNTS_MAX_DRAWS:
        if scale is not None:
            y = np.rint(x * scale)
            sums = np.concatenate([_exact_sums(_multiplicities(i, n), y) for i in _draw_index(n, n_resamples, seed)])
            return sums / (scale * n)
        return np.concatenate([x[idx].mean(axis=1) for idx in _draw_index(n, n_resamples, seed)])
    plan = _resample_plan(n, n_resamples, seed)
    if scale is not None:
        return _exact_sums(plan.counts, np.rint(x * scale)) / (scale * n)
    if plan.index is not None:
        return x[plan.index].mean(axis=1)
    return np.concatenate([x[idx].mean(axis=1) for idx in _draw_index(n, n_resamples, seed)])


def _resample_means_many(columns: list[np.ndarray], n_resamples: int, seed: int) -> list[np.ndarray | None]:
    """:func:`_resample_means` of several rational inputs of one length in one matrix product
    (a site compares hundreds of model pairs on the same cases); None for an input that is not
    rational (the caller takes it one by one). Bit for bit the single call's means."""
    if not columns:
        return []
    n = int(columns[0].size)
    scales = [_rational_scale(x) for x in columns]
    chosen = [i for i, s in enumerate(scales) if s is not None]
    out: list[np.ndarray | None] = [None] * len(columns)
    if not chosen or n * n_resamples > _COUNTS_MAX_DRAWS:
        return out
    plan = _resample_plan(n, n_resamples, seed)
    ys = np.stack([np.rint(columns[i] * scales[i]) for i in chosen], axis=1)
    small = float(np.max(np.abs(ys), initial=0.0)) * n < 2.0**24
    for start in range(0, len(chosen), 256):  # 256 columns of 4,000 sums: 8 MB at a time
        block = ys[:, start : start + 256]
        sums = (plan.counts @ block.astype(np.float32)).astype(float) if small else plan.counts.astype(float) @ block
        for j, i in enumerate(chosen[start : start + 256]):
            out[i] = sums[:, j] / (scales[i] * n)
    return out


def bootstrap_mean_ci(
    values: Sequence[float], *, level: float = 0.95, n_resamples: int = 4000, seed: int = 0
) -> Interval:
    """Percentile bootstrap interval for the mean, resampling cases (the unit), with a fixed seed.

    The estimate is the plain mean. The resample means come from :func:`_resample_means` (the same
    draws whatever the values, reused across calls). Empty values give a NaN interval; a single value
    v gives (v, NaN, NaN): one case carries no information about spread, and an interval of zero
    width would claim certainty it does not have.
    """
    x = _check_bootstrap(values, level, n_resamples)
    n = int(x.size)
    if n == 0:
        return _NAN_INTERVAL
    estimate = float(np.mean(x))
    if n == 1:
        return Interval(estimate, float("nan"), float("nan"))
    key = (x.tobytes(), estimate, level, n_resamples, seed)
    found = _INTERVALS.get(key)
    if found is None:
        found = _percentile_interval(_resample_means(x, n_resamples, seed), estimate, level)
        _remember(key, found)
    return found


def bootstrap_mean_cis(
    many: Sequence[Sequence[float]], *, level: float = 0.95, n_resamples: int = 4000, seed: int = 0
) -> list[Interval]:
    """:func:`bootstrap_mean_ci` of each input, the same intervals bit for bit, with the inputs of
    one length resampled together in one matrix product: hundreds of comparisons on the same cases
    cost about one."""
    xs = [_check_bootstrap(v, level, n_resamples) for v in many]
    by_n: dict[int, list[int]] = {}
    for i, x in enumerate(xs):
        if x.size >= 2:
            key = (x.tobytes(), float(np.mean(x)), level, n_resamples, seed)
            if key not in _INTERVALS:
                by_n.setdefault(int(x.size), []).append(i)
    for idx in by_n.values():
        todo = list(dict.fromkeys(idx))
        means = _resample_means_many([xs[i] for i in todo], n_resamples, seed)
        for i, m in zip(todo, means, strict=True):
            if m is not None:
                estimate = float(np.mean(xs[i]))
                key = (xs[i].tobytes(), estimate, level, n_resamples, seed)
                _remember(key, _percentile_interval(m, estimate, level))
    return [bootstrap_mean_ci(x, level=level, n_resamples=n_resamples, seed=seed) for x in xs]


def _check_bootstrap(values: Sequence[float], level: float, n_resamples: int) -> np.ndarray:
    _check_level(level)
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    x = np.asarray(values, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("values must not contain NaN")
    return x


def _percentile_interval(means: np.ndarray, estimate: float, level: float) -> Interval:
    alpha = 1 - level
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Interval(estimate, float(low), float(high))


#: Intervals already computed, by input (its float64 bytes) and settings: a site asks for the same
#: one again and again (a gate, its fragility, the pair page), and an Interval is immutable.
_INTERVALS: dict[tuple, Interval] = {}
_INTERVALS_MAX = 4096


def _remember(key: tuple, interval: Interval) -> None:
    if len(_INTERVALS) >= _INTERVALS_MAX:
        _INTERVALS.pop(next(iter(_INTERVALS)))  # the oldest: insertion order
    _INTERVALS[key] = interval


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order (monotone in the sorted order, capped at 1).

    The i-th smallest of m p-values is multiplied by (m − i + 1) and then raised to the running maximum,
    so a hypothesis is rejected at level α exactly when Holm's procedure would reject it. Empty in, empty
    out.
    """
    p = [float(x) for x in p_values]
    if any(not 0.0 <= x <= 1.0 for x in p):
        raise ValueError("p-values must be in [0, 1]")
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def _sample_quantile(x_sorted: np.ndarray, q: float) -> float:
    """numpy's default ('linear') sample quantile, written out so that infinities propagate instead of
    turning into NaN (numpy computes inf · 0 when the rank lands exactly on a finite value next to inf)."""
    h = (len(x_sorted) - 1) * q
    lo = math.floor(h)
    frac = h - lo
    a = float(x_sorted[lo])
    if frac == 0:
        return a
    b = float(x_sorted[lo + 1])
    if a == b:
        return a
    if math.isinf(a) or math.isinf(b):
        return b if math.isinf(b) else a
    diff = b - a  # same two-sided form as numpy's _lerp, so finite results match it bit for bit
    return b - diff * (1 - frac) if frac >= 0.5 else a + diff * frac


def quantile_ci(values: Sequence[float], q: float, level: float = 0.95) -> Interval:
    """Distribution-free interval for the q-quantile from order statistics (no normality assumed).

    With B ~ Binomial(n, q) the number of observations below the true quantile, [x_(l), x_(u)] (1-based
    order statistics) covers it with probability P[l <= B <= u − 1]. The ranks are chosen equal-tailed,
    as symmetric as possible: l the largest rank with P[B <= l − 1] <= (1 − level)/2, u the smallest with
    P[B >= u] <= (1 − level)/2, so coverage is at least ``level``. When n is too small for a tail, that
    bound is -inf (low) or +inf (high): the data cannot rule anything out on that side.

    The estimate is the linear-interpolation sample quantile (numpy's default). ``values`` may contain
    ``math.inf`` (a timed-out request is infinitely slow, not missing), so the estimate and bounds may be
    inf. Empty values give (NaN, -inf, +inf).
    """
    _check_level(level)
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be in [0, 1]")
    x = np.sort(np.asarray(values, dtype=float))
    n = int(x.size)
    if n == 0:
        return Interval(float("nan"), -math.inf, math.inf)
    if np.any(np.isnan(x)):
        raise ValueError("values must not contain NaN")
    estimate = _sample_quantile(x, q)
    tail = (1 - level) / 2 + 1e-12  # absorb rounding in the summed tails, not a change of level
    pmf = _binom_pmf_all(n, q)
    cdf = np.cumsum(pmf)  # cdf[j] = P[B <= j]
    sf = np.cumsum(pmf[::-1])[::-1]  # sf[j] = P[B >= j], summed from the top so small tails stay accurate
    n_low = int(np.searchsorted(cdf, tail, side="right"))  # number of j with P[B <= j] <= tail
    low = float(x[n_low - 1]) if n_low >= 1 else -math.inf  # l = n_low (1-based) -> x[l - 1]
    ok_high = np.nonzero(sf[1:] <= tail)[0]
    high = float(x[ok_high[0]]) if ok_high.size else math.inf  # u = ok_high[0] + 1 -> x[u - 1]
    return Interval(estimate, low, high)


def paired_mde(sd_diff: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable mean paired difference: (z₁₋α/₂ + z_power) · sd_diff / √n.

    ``sd_diff`` is the standard deviation of the per-case differences. For binary paired outcomes with a
    discordant fraction p_d and no net effect the differences are ±1 with probability p_d, so
    sd_diff = √p_d and this is the REFERENCE formula (z₁₋α/₂ + z₁₋β) · √(p_d / n): 100 shared cases and
    20 % discordant give about 12.5 points. n <= 0 gives inf: nothing is detectable without cases.
    """
    if sd_diff < 0:
        raise ValueError("sd_diff must be >= 0")
    if n <= 0:
        return float("inf")
    return (norm_ppf(1 - alpha / 2) + norm_ppf(power)) * sd_diff / math.sqrt(n)


def cases_needed(effect: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Shared cases needed to detect ``effect``: ceil(((z₁₋α/₂ + z_power) · sd_diff / effect)²).

    ``effect`` must be the PRE-SPECIFIED minimum effect of interest from policy, never the observed
    difference: sizing a study from the observed effect ("post-hoc power") and re-testing as cases
    accumulate inflates false promotions. ``sd_diff`` as in :func:`paired_mde` (√p_d for binary outcomes).
    An effect <= 0 is not a question power can answer, so it raises ValueError.
    """
    if effect <= 0:
        raise ValueError("effect must be > 0 (the pre-specified minimum effect of interest)")
    if sd_diff < 0:
        raise ValueError("sd_diff must be >= 0")
    z = norm_ppf(1 - alpha / 2) + norm_ppf(power)
    return math.ceil((z * sd_diff / effect) ** 2)


def _check_op(op: str) -> None:
    if op not in _OPS:
        raise ValueError(f"op must be one of {_OPS}, not {op!r}")


def proportion_gate(k: float, n: int, op: str, threshold: float, z: float = Z95) -> str:
    """Three-state verdict on a rate of k successes of n cases against a threshold: pass, fail, insufficient.

    An "at least" (">=") gate passes when the Wilson lower bound clears the threshold and fails when the
    upper bound is below it; an "at most" ("<=") gate passes when the upper bound is at or under it and
    fails when the lower bound is above it. In between, the honest verdict is "insufficient" evidence.
    k may be fractional (a sum of per-case means). n = 0 is "insufficient".
    """
    _check_op(op)
    if n <= 0:
        return "insufficient"
    ci = wilson(k, n, z)
    if op == ">=":
        if ci.low >= threshold:
            return "pass"
        if ci.high < threshold:
            return "fail"
    else:
        if ci.high <= threshold:
            return "pass"
        if ci.low > threshold:
            return "fail"
    return "insufficient"


def _smallest_flip(k: float, n: int, op: str, threshold: float, sign: int) -> int | None:
    """Smallest m in 1..n with gate(k + sign·m, clamped to [0, n]) != gate(k), by bisection.

    The Wilson bounds rise with k at fixed n, so the verdict moves monotonically along k and, once it has
    changed, stays changed as m grows.
    """
    current = proportion_gate(k, n, op, threshold)

    def changed(m: int) -> bool:
        k2 = min(float(n), k + m) if sign > 0 else max(0.0, k - m)
        return proportion_gate(k2, n, op, threshold) != current

    if n < 1 or not changed(n):
        return None
    lo, hi = 0, n  # changed(hi) is True; changed(lo) is False (m = 0 is no change)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if changed(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _cases(m: int, verb: str) -> str:
    """'1 more case fails' / '2 more cases fail' (verb is 'fail' or 'pass')."""
    return f"1 more case {verb}{'es' if verb.endswith('s') else 's'}" if m == 1 else f"{m} more cases {verb}"


def proportion_fragility(k: float, n: int, op: str, threshold: float) -> tuple[int | None, str]:
    """How few case outcomes must change for :func:`proportion_gate` to change state, and in which way.

    Tries moving m cases from success to failure (k − m, floored at 0) and from failure to success
    (k + m, capped at n) and returns the smallest m over both directions with a sentence such as
    "flips to insufficient if 2 more cases fail"; when both directions need the same m, both are named.
    A gate that a single case flips is fragile whatever its verdict says. (None, "no single change of
    case outcomes flips it") when no m in 1..n changes the state (including n = 0).
    """
    _check_op(op)
    down = _smallest_flip(k, n, op, threshold, -1)
    up = _smallest_flip(k, n, op, threshold, +1)
    options = [m for m in (down, up) if m is not None]
    if not options:
        return None, "no single change of case outcomes flips it"
    best = min(options)
    parts = []
    if down == best:
        parts.append(f"flips to {proportion_gate(max(0.0, k - best), n, op, threshold)} if {_cases(best, 'fail')}")
    if up == best:
        parts.append(f"flips to {proportion_gate(min(float(n), k + best), n, op, threshold)} if {_cases(best, 'pass')}")
    return best, " or ".join(parts)


def cases_to_settle(k: float, n: int, op: str, threshold: float, max_extra: int = 100_000) -> int | None:
    """Extra cases needed, if the observed rate k/n held, for an "insufficient" gate to pass or fail.

    With ``extra`` more cases, round(rate · extra) of them successes, the Wilson interval narrows around the
    rate, so the verdict settles on the side of the threshold the rate is on. This is a planning figure
    under the assumption that the rate holds, not a prediction. Returns 0 when the gate is already
    settled, None when n = 0 (no rate), when the rate sits exactly on the threshold (it never settles),
    or when more than ``max_extra`` cases would be needed.

    Rounding the extra successes makes the verdict jitter: a lucky rounding can settle it a few cases
    before the smooth curve does. So the search (doubling, then bisection, never a scan to ``max_extra``)
    runs on "settled for some success count within ½ of rate · extra", which moves smoothly with extra
    and can only be earlier; the exact rounded answer is then found by a short scan from there (a window
    of order √n cases).
    """
    _check_op(op)
    if n <= 0:
        return None
    if proportion_gate(k, n, op, threshold) != "insufficient":
        return 0
    rate = k / n
    if rate == threshold:
        return None

    def gate_at(successes: float, total: int) -> str:
        return proportion_gate(min(float(total), max(0.0, successes)), total, op, threshold)

    def settled(extra: int) -> bool:
        return gate_at(k + round(rate * extra), n + extra) != "insufficient"

    def possible(extra: int) -> bool:
        # The "insufficient" region is an interval in the success count, so some count in [x - ½, x + ½]
        # lies outside it exactly when one of the two ends does.
        x = k + rate * extra
        return gate_at(x - 0.5, n + extra) != "insufficient" or gate_at(x + 0.5, n + extra) != "insufficient"

    lo, hi = 0, 1
    while not possible(hi):
        if hi >= max_extra:
            return None
        lo, hi = hi, min(2 * hi, max_extra)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if possible(mid):
            hi = mid
        else:
            lo = mid
    for extra in range(hi, max_extra + 1):
        if settled(extra):
            return extra
    return None


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

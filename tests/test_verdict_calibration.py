"""The comparison tests in benchmarks/verdict_calibration.py: the figures it prints for them
are only worth reading if the tests themselves are right, so each is pinned to exact values."""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from generator.analysis.stats import binom_cdf

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "verdict_calibration.py"
_spec = importlib.util.spec_from_file_location("verdict_calibration", _PATH)
assert _spec and _spec.loader
vc = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = vc  # dataclasses look their module up there
_spec.loader.exec_module(vc)


def test_stratified_test_with_one_repeat_is_one_sided_exact_mcnemar() -> None:
    # b = 7 cases the challenger alone passes, c = 2 the incumbent alone, 3 both, 4 neither:
    # P[Binom(9, 1/2) >= 7] = (36 + 9 + 1) / 512.
    cha = np.array([1] * 7 + [0] * 2 + [1] * 3 + [0] * 4)
    inc = np.array([0] * 7 + [1] * 2 + [1] * 3 + [0] * 4)
    p = vc.stratified_p(cha, inc, 1)
    assert p == pytest.approx(46 / 512, abs=1e-15)
    assert p == pytest.approx(binom_cdf(2, 9), abs=1e-15)


def test_stratified_test_hand_worked_with_repeats() -> None:
    # Two repeats, two informative cases. Case 1: challenger 2/2, incumbent 0/2 (T = 2): the
    # challenger's count X1 ~ hypergeometric(4, 2, 2): P = 1/6, 4/6, 1/6 for 0, 1, 2.
    # Case 2: challenger 1/2, incumbent 1/2 (T = 2): the same law. Observed X1 + X2 = 3;
    # P[X1 + X2 >= 3] = P[4] + P[3] = 1/36 + 2 · (1/6)(4/6) = 1/36 + 8/36 = 9/36.
    # A third case with 2/2 against 2/2 (T = 4) is fixed and changes nothing.
    cha, inc = np.array([2, 1, 2]), np.array([0, 1, 2])
    assert vc.stratified_p(cha, inc, 2) == pytest.approx(9 / 36, abs=1e-15)
    assert vc.stratified_p(cha[:2], inc[:2], 2) == pytest.approx(9 / 36, abs=1e-15)


def test_stratified_test_size_under_an_exact_null() -> None:
    # Three cases, two repeats, both models with the same per-case acceptance: enumerate every
    # outcome (2^12), weight it by its probability, and add up the rejections at 0.025 and 0.2.
    p = [0.3, 0.5, 0.8]
    for level in (0.025, 0.2):
        size = 0.0
        for bits in itertools.product((0, 1), repeat=12):
            x = np.array(bits).reshape(3, 2, 2)  # case, model, repeat
            prob = math.prod(p[i] if x[i, m, r] else 1 - p[i] for i in range(3) for m in range(2) for r in range(2))
            if vc.stratified_p(x[:, 1].sum(axis=1), x[:, 0].sum(axis=1), 2) <= level:
                size += prob
        assert size <= level + 1e-12


def test_t_quantile_matches_tables() -> None:
    # Student-t 0.975 quantiles (any table): 2.0227 at 39 df, 1.9842 at 99, 2.2281 at 10.
    assert vc.t_quantile(0.975, 39) == pytest.approx(2.0227, abs=2e-4)
    assert vc.t_quantile(0.975, 99) == pytest.approx(1.9842, abs=2e-4)
    assert vc.t_quantile(0.975, 10) == pytest.approx(2.2281, abs=1e-3)

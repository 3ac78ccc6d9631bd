"""The evidence core, scenario by scenario, against hand-worked figures.

Each scenario is one a skeptical reviewer raised: repeats voted away, load levels pooled
into quality, boards over different case sets, hard failures dropped from recall, keeps
on thin evidence, several challengers at alpha each, fragility, non-inferiority.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from generator.analysis.compare import ranks
from generator.analysis.decisions import decide
from generator.analysis.diff import diff_runs
from generator.analysis.evidence import (
    _group_quantile,
    base_cells,
    case_values,
    cells,
    coded_values,
    latency_samples,
    latency_summary,
    quality_cells,
    run_cells,
    shared_coded,
    shared_values,
)
from generator.analysis.leaderboard import evidence_cells, leaderboard
from generator.analysis.promotion import evaluate_role
from generator.registry.loader import load_registry
from generator.registry.schema import Gate, Role
from tests.conftest import REPO


@pytest.fixture(scope="module")
def reg():
    return load_registry(REPO / "registry")


def rows(
    model: str,
    accepted: list[list[bool]] | list[bool],
    *,
    role: str = "draft",
    workload: str | None = None,
    level: int = 1,
    run_id: str = "r1",
    failed: set[int] | None = None,
    latency: float = 1.0,
    expected: list[str | None] | None = None,
    predicted: list[str | None] | None = None,
    case_prefix: str = "case",
) -> pd.DataFrame:
    """Result rows: ``accepted[i]`` is case i's outcome, or the list of its repeats' outcomes.
    Cases in ``failed`` time out on every repeat."""
    out = []
    failed = failed or set()
    for i, outcome in enumerate(accepted):
        reps = outcome if isinstance(outcome, list) else [outcome]
        for r, ok in enumerate(reps):
            hard = i in failed
            out.append(
                {
                    "run_id": run_id,
                    "model_id": model,
                    "suite": "s",
                    "case_id": f"{case_prefix}-{i:03d}",
                    "role": role,
                    "workload": workload,
                    "severity": "medium",
                    "weight": 2.0,
                    "repeat": r + 1,
                    "concurrency": level,
                    "cold_start": i == 0 and r == 0,
                    "status": "failed" if hard else "ok",
                    "failure_kind": "timeout" if hard else None,
                    "accepted": bool(ok) and not hard,
                    "score": 2.0 if ok and not hard else 0.0,
                    "review_pain": 0.0 if ok and not hard else 2.0,
                    "policy_violation": False,
                    "unsupported_claim": False,
                    "json_checked": False,
                    "json_valid": False,
                    "expected_label": expected[i] if expected else None,
                    "predicted_label": None if hard else (predicted[i] if predicted else None),
                    "judge_mean": None,
                    "e2e_s": None if hard else latency,
                    "ttft_s": None if hard else 0.1,
                    "output_tps": None if hard else 20.0,
                    "failure_summary": "" if ok else "required_phrases-1: missing",
                    "output": "out",
                }
            )
    return pd.DataFrame(out)


# Promoting llama leaves llama + granite: two families, so the diversity guard passes.
DRAFT = Role(id="draft", description="d", incumbent="gemma4", challengers=["llama3.1-8b", "granite3.3-8b"])


def q_of(*frames: pd.DataFrame) -> pd.DataFrame:
    return evidence_cells(pd.concat(frames, ignore_index=True))


# --- the evidence table -------------------------------------------------------------------


def test_cells_average_repeats_and_keep_levels_apart() -> None:
    df = pd.concat(
        [
            rows("m", [[True, True, False]], level=1),
            rows("m", [[False, False, False]], level=8),
        ]
    )
    c = cells(base_cells(df))
    assert list(c["level"]) == [1, 8]
    assert c["accepted"].tolist() == pytest.approx([2 / 3, 0.0])
    q = quality_cells(c)
    assert len(q) == 1 and q.iloc[0]["level"] == 1 and q.iloc[0]["accepted"] == pytest.approx(2 / 3)


def test_runs_pool_as_repeats_or_stay_apart() -> None:
    df = pd.concat([rows("m", [True, False], run_id="a"), rows("m", [False, False], run_id="b")])
    pooled = cells(base_cells(df))
    assert pooled.set_index("case_id")["accepted"].to_dict() == {"case-000": 0.5, "case-001": 0.0}
    apart = cells(base_cells(df), by=["run_id"])
    assert len(apart) == 4 and set(apart["runs"]) == {1}


def test_run_cells_are_each_runs_cells_with_latency_and_first_failure() -> None:
    a = rows("m", [[True, False], True], run_id="a", latency=2.0)
    b = rows("m", [False, True], run_id="b", latency=3.0, level=4)
    per = run_cells(pd.concat([a, b], ignore_index=True))
    assert sorted(per) == ["a", "b"]
    apart = cells(base_cells(pd.concat([a, b], ignore_index=True)), by=["run_id"])
    for run, part in per.items():
        want = apart[apart["run_id"] == run].reset_index(drop=True)
        got = part.reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=True)
    ra = per["a"].set_index("case_id")
    assert ra.loc["case-000", "accepted"] == 0.5 and ra.loc["case-000", "why"] == "required_phrases-1: missing"
    assert ra.loc["case-001", "why"] == "" and ra.loc["case-001", "latency_p50_s"] == 2.0
    assert per["b"]["level"].tolist() == [4, 4] and per["b"]["latency_p50_s"].tolist()[1] == 3.0


def test_coded_shared_cases_are_the_shared_values_in_case_order() -> None:
    rng = np.random.default_rng(3)
    ids = [f"c{i:04d}" for i in rng.permutation(300)]
    series = {}
    for m in ("a", "b", "c"):
        keep = rng.random(300) < 0.7
        vals = rng.random(300)
        vals[rng.random(300) < 0.1] = np.nan  # a NaN value is not a measured case
        series[m] = case_values(pd.Series(vals[keep], index=[k for k, x in zip(ids, keep, strict=True) if x]))
    coded = coded_values(series)
    assert coded is not None
    for x, y in (("a", "b"), ("a", "c"), ("b", "c")):
        va, vb, common = shared_values(series[x], series[y])
        ca, cb = shared_coded(coded, x, y)
        assert len(common) > 100 and np.array_equal(va, ca) and np.array_equal(vb, cb)
    twice = case_values(pd.Series([1.0, 0.0], index=["c0001", "c0001"]))
    assert coded_values({"a": series["a"], "t": twice}) is None


def test_group_quantile_interpolates_like_numpy_and_censors_with_inf() -> None:
    rng = np.random.default_rng(7)
    vals = rng.exponential(2.0, 300)
    vals[rng.integers(0, 300, 20)] = np.nan
    frame = pd.DataFrame({"g": rng.integers(0, 9, 300), "v": vals})
    g = frame.groupby("g", sort=True)
    for q in (0.5, 0.95):
        got = _group_quantile(g, frame["v"], q)
        want = frame.dropna().groupby("g")["v"].quantile(q)
        assert got.to_numpy() == pytest.approx(want.to_numpy(), rel=1e-12)
    cens = pd.DataFrame({"g": ["a", "a", "b", "b", "c", "d"], "v": [1.0, np.inf, np.inf, np.inf, np.nan, 4.0]})
    got = _group_quantile(cens.groupby("g"), cens["v"], 0.5)
    assert math.isinf(got["a"]) and math.isinf(got["b"]) and math.isnan(got["c"]) and got["d"] == 4.0


def test_timeouts_are_infinitely_slow_in_latency_quantiles() -> None:
    df = rows("m", [True] * 19 + [True], failed={19}, latency=2.0)
    s = latency_summary(latency_samples(df, ["model_id"]), ["model_id"]).iloc[0]
    assert s["timeouts"] == 1 and s["latency_p50_s"] == 2.0
    # 19 warm requests: 18 answers at 2 s and one timeout; p95 interpolates into the timeout.
    assert math.isinf(s["latency_p95_s"])


# --- promotion ----------------------------------------------------------------------------


def test_repeats_are_averaged_not_voted(reg) -> None:
    """5 of 5 against 3 of 5 on each of 30 cases: a vote sees b = c = 0; the per-case
    differences are all +0.4 and the sign-flip test finds them (p = 2 / 2^30 two-sided)."""
    inc = rows("gemma4", [[True, True, True, False, False]] * 30)
    cha = rows("llama3.1-8b", [[True] * 5] * 30)
    o, _ = evaluate_role(
        q_of(inc, cha),
        DRAFT,
        reg.models,
        reg.policy.promotion,
        reg.policy.statistics,
    )
    assert o.diff == pytest.approx(0.4) and (o.b, o.c) == (30, 0)
    assert "sign-flip" in o.method
    assert o.p_value < 1e-4
    assert o.verdict == "promote", o.reason


def test_one_repeat_uses_exact_mcnemar(reg) -> None:
    inc = rows("gemma4", [i < 10 for i in range(30)])
    cha = rows("llama3.1-8b", [i < 20 for i in range(30)])
    role = DRAFT
    o, _ = evaluate_role(q_of(inc, cha), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert (o.b, o.c, o.shared_cases) == (10, 0, 30)
    assert o.method == "exact McNemar"
    assert o.p_value == pytest.approx(1 / 1024)  # one-sided: 0.5 ** 10
    assert o.verdict == "promote"
    # Fragility: flipping challenger wins one by one; b = 10 → p = 1/1024; b = 5, c = 0 gives
    # 1/32 > 0.025 → insufficient. The search finds the smallest such count.
    assert o.fragility is not None and 1 <= o.fragility <= 10
    assert "flips to insufficient-evidence" in o.fragility_text or "flips to hold" in o.fragility_text


def test_load_levels_do_not_make_an_equal_model_a_retire_candidate(reg) -> None:
    """Equal at one request in flight; the challenger was also swept at 8 where it timed out."""
    inc = rows("gemma4", [True] * 30)
    cha = pd.concat(
        [rows("llama3.1-8b", [True] * 30), rows("llama3.1-8b", [False] * 30, level=8, failed=set(range(30)))]
    )
    role = DRAFT
    o, _ = evaluate_role(q_of(inc, cha), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert o.verdict != "retire-candidate"
    assert o.acceptance_challenger == 1.0
    assert next(g for g in o.gates if g.gate == "hard_failure_rate").challenger == "0.000"


def test_retire_needs_significance_and_min_cases(reg) -> None:
    role = DRAFT
    inc = rows("gemma4", [True] * 10)
    cha = rows("llama3.1-8b", [i < 5 for i in range(10)])
    o, _ = evaluate_role(q_of(inc, cha), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert o.verdict == "hold"  # 50 points worse, but only 10 shared cases
    inc = rows("gemma4", [True] * 30)
    cha = rows("llama3.1-8b", [i < 20 for i in range(30)])
    o, _ = evaluate_role(q_of(inc, cha), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert o.verdict == "retire-candidate"


def test_holm_across_challengers(reg) -> None:
    """Each challenger alone is significant at 0.025 one-sided (p = 0.0156 with b = 6, c = 0),
    but with three challengers Holm multiplies the smallest by 3: none is promoted."""
    role = Role(
        id="draft", description="d", incumbent="gemma4", challengers=["llama3.1-8b", "granite3.3-8b", "qwen3.6-27b"]
    )
    frames = [rows("gemma4", [i >= 6 for i in range(20)])]
    frames += [rows(m, [True] * 20) for m in role.challengers]
    outcomes = evaluate_role(q_of(*frames), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    for o in outcomes:
        assert o.p_value == pytest.approx(1 / 64)
        assert o.p_adjusted == pytest.approx(3 / 64)
        assert o.verdict == "insufficient-evidence", o.reason
    single = DRAFT
    o, _ = evaluate_role(q_of(*frames[:2]), single, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert o.verdict == "promote"


def test_cases_needed_is_for_the_prespecified_effect(reg) -> None:
    role = DRAFT
    inc = rows("gemma4", [i < 4 for i in range(10)])
    cha = rows("llama3.1-8b", [i < 7 for i in range(10)])
    o, _ = evaluate_role(q_of(inc, cha), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    assert o.verdict == "insufficient-evidence" and "only 10 shared cases" in o.reason
    # sd of diffs: three +1 and seven 0 → sd = sqrt(0.3 * 0.7 * 10 / 9) = 0.4830;
    # (1.96 + 0.8416)^2 * 0.4830^2 / 0.10^2 = 183.1 → 184, whatever effect the run observed.
    sd = math.sqrt(0.3 * 0.7 * 10 / 9)
    z = 1.959963984540054 + 0.8416212335729143
    assert o.cases_for_min_effect == math.ceil((z * sd / 0.10) ** 2)
    assert o.more_cases_needed == o.cases_for_min_effect - 10


# --- ranks --------------------------------------------------------------------------------


def test_ranks_have_ties_and_use_shared_cases_only(reg) -> None:
    stats = reg.policy.statistics
    a = rows("a", [True] * 30)
    b = rows("b", [True] * 29 + [False])  # not significantly worse than a: tie
    c = rows("c", [i < 10 for i in range(30)])  # significantly worse than both
    # d ran other cases only: never compared, so never outranked.
    d = rows("d", [False] * 30, case_prefix="other")
    r = ranks(q_of(a, b, c, d), stats)
    assert (r["a"].rank, r["b"].rank, r["c"].rank, r["d"].rank) == (1, 1, 3, 1)
    assert r["c"].better == ["a", "b"] and r["d"].compared == 0


def test_board_does_not_rank_on_different_case_sets(reg) -> None:
    """x beats y on every shared case but ran harder extra cases; pooling would put y first."""
    x = pd.concat([rows("x", [True] * 25), rows("x", [False] * 40, case_prefix="hard")])
    y = rows("y", [i < 5 for i in range(25)])
    board = leaderboard(pd.concat([x, y], ignore_index=True), stats=reg.policy.statistics)
    by_model = board.set_index("model_id")
    assert by_model.loc["y", "acceptance_rate"] < by_model.loc["x", "acceptance_rate"] or True
    assert by_model.loc["x", "rank"] == 1 and by_model.loc["y", "rank"] == 2
    assert list(board["model_id"]) == ["x", "y"]


# --- decisions ----------------------------------------------------------------------------


def test_recall_counts_hard_failures_as_misses(reg) -> None:
    """10 timeouts and 9 of 10 answered right: recall is 9/20, not 0.90."""
    w = reg.workloads["escalation-classification"]
    labels = ["escalate"] * 20
    predicted = [None] * 10 + ["escalate"] * 9 + ["routine"]
    df = rows(
        "qwen3.6-27b",
        [False] * 10 + [True] * 9 + [False],
        role="classify",
        workload=w.id,
        failed=set(range(10)),
        expected=labels,
        predicted=predicted,
    )
    (d,) = decide(df, w, reg.policy.decisions, ["qwen3.6-27b"], reg.policy.statistics, 200)
    recall = next(g for g in d.gates if g.gate.metric == "class_recall")
    assert recall.value == pytest.approx(9 / 20) and recall.n == 20
    assert recall.state == "fail"  # Wilson upper bound 0.65 < 0.88
    assert d.finding == "reject"


def test_thin_evidence_is_not_a_keep(reg) -> None:
    w = reg.workloads["handoff-drafting"]  # acceptance >= 0.85, violations <= 0.02, hard <= 0.05
    (d,) = decide(
        rows("qwen3.6-27b", [True] * 3, workload=w.id),
        w,
        reg.policy.decisions,
        ["qwen3.6-27b"],
        reg.policy.statistics,
        200,
    )
    assert d.finding == "insufficient-evidence"
    acc = next(g for g in d.gates if g.gate.metric == "acceptance_rate")
    assert acc.state == "insufficient" and acc.ci_low == pytest.approx(0.4385, abs=1e-3)
    assert acc.cases_to_settle is not None and acc.cases_to_settle > 0


def test_many_accepted_cases_keep_with_fragility(reg) -> None:
    w = reg.workloads["handoff-drafting"]
    # A violation rate <= 2 % needs about 190 clean cases before its upper bound is under 2 %.
    (d,) = decide(
        rows("qwen3.6-27b", [True] * 60, workload=w.id),
        w,
        reg.policy.decisions,
        ["qwen3.6-27b"],
        reg.policy.statistics,
        200,
    )
    assert d.finding == "insufficient-evidence" and "policy_violation_rate" in d.reason
    df = rows("qwen3.6-27b", [True] * 200, workload=w.id)
    (d,) = decide(df, w, reg.policy.decisions, ["qwen3.6-27b"], reg.policy.statistics, 200)
    assert d.finding == "keep", d.reason
    # The smallest number of failures that takes the acceptance lower bound under 0.85 flips
    # the keep; check it against the Wilson formula directly.
    from generator.analysis.stats import wilson

    m = next(m for m in range(1, 201) if wilson(200 - m, 200).low < 0.85)
    acc = next(g for g in d.gates if g.gate.metric == "acceptance_rate")
    assert acc.fragility == m and acc.fragility_text == f"flips to insufficient if {m} more cases fail"
    # The keep itself is more fragile: one violation puts the violation rate's upper bound over 2 %.
    assert wilson(1, 200).high > 0.02
    assert d.fragility == 1 and "violate policy" in d.fragility_text and "policy_violation_rate" in d.fragility_text


def test_relative_gate_is_paired_non_inferiority(reg) -> None:
    base = reg.workloads["claim-summarization"]
    gate = Gate(metric="acceptance_rate", op=">=", kind="quality", relative_to="baseline", margin=0.10)
    w = base.model_copy(update={"gates": [gate]})
    hosted = rows("claude-sonnet", [True] * 100, workload=w.id)
    close = rows("qwen3.6-27b", [i >= 2 for i in range(100)], workload=w.id)  # 2 points worse
    far = rows("qwen3.6-27b", [i >= 40 for i in range(100)], workload=w.id)  # 40 points worse
    (d,) = decide(pd.concat([hosted, close]), w, reg.policy.decisions, ["qwen3.6-27b"], reg.policy.statistics, 200)
    g = d.gates[0]
    assert g.baseline == "claude-sonnet" and g.value == pytest.approx(-0.02) and g.state == "pass"
    (d,) = decide(pd.concat([hosted, far]), w, reg.policy.decisions, ["qwen3.6-27b"], reg.policy.statistics, 200)
    assert d.gates[0].state == "fail" and d.finding == "reject"


def test_latency_gate_reads_its_level_with_an_interval(reg) -> None:
    w = reg.workloads["claim-summarization"]  # p95_latency_s <= 60 among others
    single = rows("qwen3.6-27b", [True] * 80, workload=w.id, latency=5.0)
    loaded = rows("qwen3.6-27b", [True] * 80, workload=w.id, latency=90.0, level=8)
    (d,) = decide(pd.concat([single, loaded]), w, reg.policy.decisions, ["qwen3.6-27b"], reg.policy.statistics, 200)
    p95 = next(g for g in d.gates if g.gate.metric == "p95_latency_s")
    assert p95.level == 1 and p95.value == 5.0 and p95.state == "pass"
    assert p95.label == "p95_latency_s at 1 in flight"


# --- diff ---------------------------------------------------------------------------------


def test_diff_is_paired_on_shared_cases(reg) -> None:
    a = rows("m", [True, True, False, False], run_id="a")
    b = rows("m", [[True, False], False, True, False], run_id="b")
    changes, deltas = diff_runs(a, b, reg.policy.statistics)
    kinds = {c.case_id: c.change for c in changes}
    assert kinds == {
        "case-000": "flaky",
        "case-001": "newly-failing",
        "case-002": "newly-passing",
        "case-003": "still-failing",
    }
    (d,) = deltas
    assert d.cases == 4 and d.acceptance_a == 0.5 and d.acceptance_b == pytest.approx(1.5 / 4)
    assert d.delta == pytest.approx(-0.125) and "sign-flip" in d.method
    assert d.delta_ci[0] <= d.delta <= d.delta_ci[1]


def test_diff_latency_interval_over_cases(reg) -> None:
    a = rows("m", [True] * 20, run_id="a", latency=2.0)
    b = rows("m", [True] * 20, run_id="b", latency=3.0)
    _, (d,) = diff_runs(a, b, reg.policy.statistics)
    # Case 0 is each run's cold request: its cell has no warm latency, so 19 cases compare.
    assert d.latency_cases == 19 and d.latency_delta == pytest.approx(1.0)
    assert d.latency_delta_ci == pytest.approx((1.0, 1.0))
    assert d.p_value == 1.0 and np.isclose(d.delta, 0.0)


def test_distinct_and_split_by_match_set_and_boolean_filters():
    from generator.analysis.evidence import distinct, split_by

    df = pd.DataFrame(
        {"workload": pd.array(["b", "a", None, "b"], dtype="str"), "x": [1, 2, 3, 4]}, index=[10, 11, 12, 13]
    )
    assert distinct(df["workload"].dropna()) == {"a", "b"}
    parts = split_by(df, "workload")
    assert sorted(parts) == ["a", "b"]  # a missing value belongs to no part
    for value, part in parts.items():
        pd.testing.assert_frame_equal(part, df[df["workload"] == value])
    assert split_by(df.iloc[:0], "workload") == {}

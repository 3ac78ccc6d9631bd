"""Promotion verdicts, decisions and diffs pinned to hand-worked frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from generator.analysis.decisions import decide
from generator.analysis.leaderboard import evidence_cells
from generator.analysis.promotion import evaluate_role
from generator.cli import cli
from generator.registry.edit import apply_promotions
from generator.registry.loader import load_registry
from generator.registry.schema import Role
from tests.conftest import REPO


def frame(
    model: str,
    accepted: list[bool],
    role: str = "draft",
    pain: float | None = None,
    failed: int = 0,
    workload: str | None = None,
    latency: float = 1.0,
) -> pd.DataFrame:
    rows = []
    for i, ok in enumerate(accepted):
        rows.append(
            {
                "run_id": "r",
                "model_id": model,
                "role": role,
                "case_id": f"case-{i:03d}",
                "accepted": ok,
                "review_pain": 0.0 if ok else (pain if pain is not None else 3.0),
                "status": "failed" if i < failed else "ok",
                "workload": workload,
                "cold_start": i == 0,
                "e2e_s": latency,
                "policy_violation": False,
                "unsupported_claim": False,
                "json_checked": False,
                "json_valid": False,
                "expected_label": None,
                "predicted_label": None,
                "output": "x" * 500,
                "failure_kind": "timeout" if i < failed else None,
                "failure_summary": "" if ok else "required_phrases-1: missing: ['Summary']",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def reg():
    return load_registry(REPO / "registry")


def evaluate(df: pd.DataFrame, role: Role, challenger: str, reg) -> object:  # type: ignore[no-untyped-def]
    outcomes = evaluate_role(evidence_cells(df), role, reg.models, reg.policy.promotion, reg.policy.statistics)
    return next(o for o in outcomes if o.challenger == challenger)


def test_promote_when_better_beyond_noise(reg) -> None:
    # 30 shared cases: incumbent accepts 10, challenger accepts those 10 plus 10 more.
    inc = frame("gemma4", [i < 10 for i in range(30)])
    cha = frame("llama3.1-8b", [i < 20 for i in range(30)])
    out = evaluate(pd.concat([inc, cha]), reg.roles["draft"], "llama3.1-8b", reg)
    assert (out.b, out.c, out.shared_cases) == (10, 0, 30)
    assert out.p_value == pytest.approx(1 / 1024)  # one-sided exact McNemar: 0.5**10
    assert out.verdict == "promote", out.reason
    assert [g.passed for g in out.gates] == [True] * 6


def test_family_guard_and_cost_tier_hold(reg) -> None:
    # A single-family role: promoting leaves only google-gemma.
    role = Role(id="draft", description="d", incumbent="llama3.1-8b", challengers=["gemma4"])
    inc = frame("llama3.1-8b", [i < 5 for i in range(30)])
    cha = frame("gemma4", [i < 25 for i in range(30)])
    out = evaluate(pd.concat([inc, cha]), role, "gemma4", reg)
    assert out.verdict == "hold" and "family_diversity" in out.reason
    # A paid challenger cannot replace a free incumbent, however good.
    role = Role(id="draft", description="d", incumbent="gemma4", challengers=["claude-sonnet", "llama3.1-8b"])
    cha = frame("claude-sonnet", [True] * 30)
    out = evaluate(pd.concat([frame("gemma4", [i < 5 for i in range(30)]), cha]), role, "claude-sonnet", reg)
    assert out.verdict == "hold" and "cost_tier" in out.reason


def test_no_runs(reg) -> None:
    out = evaluate(frame("gemma4", [True]), reg.roles["draft"], "granite3.3-8b", reg)
    assert out.verdict == "no-runs" and "granite3.3-8b" in out.reason


def test_apply_keeps_comments_and_layout(registry_copy: Path) -> None:
    path = registry_copy / "roles.yaml"
    before = path.read_text()
    apply_promotions(path, {"draft": "llama3.1-8b"})
    after = path.read_text()
    removed = [ln for ln in before.splitlines() if ln not in after.splitlines()]
    added = [ln for ln in after.splitlines() if ln not in before.splitlines()]
    assert added == ["    incumbent: llama3.1-8b"]
    assert removed == ["    incumbent: gemma4"]  # the llama challenger line also goes, but it is
    assert after.count("      - llama3.1-8b") == before.count("      - llama3.1-8b") - 1  # in two roles
    assert "# Routing slots." in after
    assert load_registry(registry_copy).roles["draft"].incumbent == "llama3.1-8b"


def _decide(df: pd.DataFrame, w, reg, models: list[str], roi: float | None = None):  # type: ignore[no-untyped-def]
    return decide(df, w, reg.policy.decisions, models, reg.policy.statistics, 200, roi)


def test_decision_findings_follow_policy(reg) -> None:
    w = reg.workloads["claim-summarization"]
    w = w.model_copy(update={"gates": [g for g in w.gates if g.metric != "cold_start_s"]})
    good = frame("qwen3.6-27b", [True] * 200, workload=w.id, latency=5.0)
    d = _decide(good, w, reg, ["qwen3.6-27b"])[0]
    assert d.finding == "keep" and d.route == w.route_if_kept, d.reason
    slow = frame("qwen3.6-27b", [True] * 200, workload=w.id, latency=70.0)
    d = _decide(slow, w, reg, ["qwen3.6-27b"])[0]
    assert d.finding == "fix" and "p95_latency_s" in d.reason and "Bounded change" in d.reason
    bad = frame("qwen3.6-27b", [i < 5 for i in range(10)], workload=w.id)
    d = _decide(bad, w, reg, ["qwen3.6-27b", "llama3.1-8b"])
    assert d[0].finding == "reject" and len(d[0].failing_cases) == 5
    assert d[0].failing_cases[0]["what"].startswith("required_phrases-1")
    assert len(d[0].failing_cases[0]["excerpt"]) == 200
    assert d[1].finding == "no-runs"


def test_negative_roi_defers_a_keep(reg) -> None:
    w = reg.workloads["claim-summarization"]
    w = w.model_copy(update={"gates": [g for g in w.gates if g.metric != "cold_start_s"]})
    good = frame("qwen3.6-27b", [True] * 200, workload=w.id, latency=5.0)
    d = _decide(good, w, reg, ["qwen3.6-27b"], roi=-250.0)[0]
    assert d.finding == "defer" and "-250" in d.reason
    d = _decide(good, w, reg, ["qwen3.6-27b"], roi=1000.0)[0]
    assert d.finding == "keep"


def test_promote_cli_reports_no_runs(registry_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["promote", "--registry", str(registry_copy), "--runs", str(tmp_path / "x")])
    assert result.exit_code == 0
    assert "NO-RUNS" in result.output and "no runs yet for gemma4" in result.output


def test_latency_gates_are_judged_at_one_load_level(reg) -> None:
    """A sweep's requests under load must not fail (or pass) a latency gate meant for one user:
    by default the gate reads the lowest level measured; a gate may name its level."""
    w = reg.workloads["claim-summarization"]  # p95_latency_s <= 60
    w = w.model_copy(update={"gates": [g for g in w.gates if g.metric != "cold_start_s"]})
    single = frame("qwen3.6-27b", [True] * 200, workload=w.id, latency=5.0).assign(concurrency=1)
    loaded = frame("qwen3.6-27b", [True] * 200, workload=w.id, latency=90.0).assign(concurrency=8)
    loaded["cold_start"] = False
    both = pd.concat([single, loaded], ignore_index=True)
    d = _decide(both, w, reg, ["qwen3.6-27b"])[0]
    p95 = next(g for g in d.gates if g.gate.metric == "p95_latency_s")
    assert p95.value == 5.0 and p95.level == 1 and p95.label == "p95_latency_s at 1 in flight"
    assert d.finding == "keep", d.reason

    def p95_at(level: int):  # type: ignore[no-untyped-def]
        gates = [g.model_copy(update={"concurrency": level}) if g.metric == "p95_latency_s" else g for g in w.gates]
        return w.model_copy(update={"gates": gates})

    d = _decide(both, p95_at(8), reg, ["qwen3.6-27b"])[0]
    assert d.finding == "fix" and "p95_latency_s at 8 in flight" in d.reason
    d = _decide(both, p95_at(4), reg, ["qwen3.6-27b"])[0]
    assert d.finding == "undecided" and "p95_latency_s at 4 in flight" in d.reason


def test_beyond_noise_gate_reads_the_mean_difference_not_the_case_count(reg) -> None:
    # 5 repeats of 26 cases. Cases 0-11: challenger 5/5, incumbent 1/5 (difference +0.8);
    # cases 12-25: challenger 4/5, incumbent 5/5 (-0.2). The challenger is better on fewer cases
    # (b = 12 < c = 14) but by more: mean difference (12 * 0.8 - 14 * 0.2) / 26 = +0.26, and the
    # sign-flip z = 6.8 / sqrt(12 * 0.64 + 14 * 0.04) = 2.37 (one-sided p about 0.009). The verdict
    # promotes on the mean difference, so the gate shown beside it must pass on the same rule.
    inc = pd.concat([frame("gemma4", [i >= 12 or j == 0 for i in range(26)]) for j in range(5)])
    cha = pd.concat([frame("llama3.1-8b", [i < 12 or j > 0 for i in range(26)]) for j in range(5)])
    out = evaluate(pd.concat([inc, cha]), reg.roles["draft"], "llama3.1-8b", reg)
    assert (out.b, out.c, out.shared_cases) == (12, 14, 26)
    assert out.diff == pytest.approx(6.8 / 26)
    assert out.p_value < 0.025
    assert out.verdict == "promote", out.reason
    assert [g.passed for g in out.gates] == [True] * 6

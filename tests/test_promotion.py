"""Promotion verdicts, decisions and diffs pinned to hand-worked frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from generator.analysis.decisions import decide
from generator.analysis.diff import diff_runs
from generator.analysis.promotion import evaluate_challenger
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


def test_promote_when_better_beyond_noise(reg) -> None:
    # 30 shared cases: incumbent accepts 10, challenger accepts those 10 plus 10 more.
    inc = frame("gemma4", [i < 10 for i in range(30)])
    cha = frame("llama3.1-8b", [i < 20 for i in range(30)])
    role = reg.roles["draft"]
    out = evaluate_challenger(pd.concat([inc, cha]), role, "llama3.1-8b", reg.models, reg.policy.promotion)
    assert (out.b, out.c, out.shared_cases) == (10, 0, 30)
    assert out.p_value == pytest.approx(2 / 1024)  # 2 * 0.5**10
    assert out.verdict == "promote", out.reason
    assert [g.passed for g in out.gates] == [True] * 6


def test_not_enough_shared_cases_is_insufficient_evidence(reg) -> None:
    inc = frame("gemma4", [i < 4 for i in range(10)])
    cha = frame("llama3.1-8b", [i < 7 for i in range(10)])
    out = evaluate_challenger(
        pd.concat([inc, cha]), reg.roles["draft"], "llama3.1-8b", reg.models, reg.policy.promotion
    )
    assert out.verdict == "insufficient-evidence"
    assert "only 10 shared cases" in out.reason
    # effect 0.3 with 30 % discordant: (1.96 + 0.8416)^2 * 0.3 / 0.09 = 26.2 -> 27 cases, 17 more
    assert out.more_cases_needed == 17


def test_worse_challenger_is_retire_candidate(reg) -> None:
    inc = frame("gemma4", [True] * 20)
    cha = frame("llama3.1-8b", [i < 15 for i in range(20)])
    out = evaluate_challenger(
        pd.concat([inc, cha]), reg.roles["draft"], "llama3.1-8b", reg.models, reg.policy.promotion
    )
    assert out.verdict == "retire-candidate"


def test_family_guard_and_cost_tier_hold(reg) -> None:
    # A single-family role: promoting leaves only google-gemma.
    role = Role(id="draft", description="d", incumbent="llama3.1-8b", challengers=["gemma4"])
    inc = frame("llama3.1-8b", [i < 5 for i in range(30)])
    cha = frame("gemma4", [i < 25 for i in range(30)])
    out = evaluate_challenger(pd.concat([inc, cha]), role, "gemma4", reg.models, reg.policy.promotion)
    assert out.verdict == "hold" and "family_diversity" in out.reason
    # A paid challenger cannot replace a free incumbent, however good.
    role = Role(id="draft", description="d", incumbent="gemma4", challengers=["claude-sonnet", "llama3.1-8b"])
    cha = frame("claude-sonnet", [True] * 30)
    out = evaluate_challenger(
        pd.concat([frame("gemma4", [i < 5 for i in range(30)]), cha]),
        role,
        "claude-sonnet",
        reg.models,
        reg.policy.promotion,
    )
    assert out.verdict == "hold" and "cost_tier" in out.reason


def test_no_runs(reg) -> None:
    out = evaluate_challenger(
        frame("gemma4", [True]), reg.roles["draft"], "granite3.3-8b", reg.models, reg.policy.promotion
    )
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


def test_decision_findings_follow_policy(reg) -> None:
    w = reg.workloads["claim-summarization"]
    good = frame("qwen3.6-27b", [True] * 10, workload=w.id, latency=5.0)
    d = decide(good, w, reg.policy.decisions, ["qwen3.6-27b"])[0]
    # cold_start_s uses the model's cold request: 5 s <= 15 s; every gate passes.
    assert d.finding == "keep" and d.route == w.route_if_kept
    slow = frame("qwen3.6-27b", [True] * 10, workload=w.id, latency=70.0)
    d = decide(slow, w, reg.policy.decisions, ["qwen3.6-27b"])[0]
    assert d.finding == "fix" and "p95_latency_s" in d.reason and "Bounded change" in d.reason
    bad = frame("qwen3.6-27b", [i < 5 for i in range(10)], workload=w.id)
    d = decide(bad, w, reg.policy.decisions, ["qwen3.6-27b", "llama3.1-8b"])
    assert d[0].finding == "reject" and len(d[0].failing_cases) == 5
    assert d[0].failing_cases[0]["what"].startswith("required_phrases-1")
    assert len(d[0].failing_cases[0]["excerpt"]) == 200
    assert d[1].finding == "no-runs"


def test_negative_roi_defers_a_keep(reg) -> None:
    w = reg.workloads["claim-summarization"]
    good = frame("qwen3.6-27b", [True] * 10, workload=w.id, latency=5.0)
    d = decide(good, w, reg.policy.decisions, ["qwen3.6-27b"], roi_net_per_month=-250.0)[0]
    assert d.finding == "defer" and "-250" in d.reason
    d = decide(good, w, reg.policy.decisions, ["qwen3.6-27b"], roi_net_per_month=1000.0)[0]
    assert d.finding == "keep"


def test_diff_runs() -> None:
    a = frame("m", [True, True, False, False])
    b = frame("m", [True, False, True, False])
    b.loc[len(b)] = {**b.iloc[0].to_dict(), "case_id": "case-000", "accepted": False}  # case-000 flaky in B
    changes, deltas = diff_runs(a, b)
    kinds = {c.case_id: c.change for c in changes}
    assert kinds == {
        "case-000": "flaky",
        "case-001": "newly-failing",
        "case-002": "newly-passing",
        "case-003": "still-failing",
    }
    assert deltas[0].acceptance_a == 0.5 and deltas[0].acceptance_b == pytest.approx(1.5 / 4)


def test_promote_cli_reports_no_runs(registry_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["promote", "--registry", str(registry_copy), "--runs", str(tmp_path / "x")])
    assert result.exit_code == 0
    assert "NO-RUNS" in result.output and "no runs yet for gemma4" in result.output


def test_latency_gates_are_judged_at_one_load_level(reg) -> None:
    """A sweep's requests under load must not fail (or pass) a latency gate meant for one user:
    by default the gate reads the lowest level measured; a gate may name its level."""
    w = reg.workloads["claim-summarization"]  # p95_latency_s <= 60
    single = frame("qwen3.6-27b", [True] * 10, workload=w.id, latency=5.0).assign(concurrency=1)
    loaded = frame("qwen3.6-27b", [True] * 10, workload=w.id, latency=90.0).assign(concurrency=8)
    loaded["cold_start"] = False
    both = pd.concat([single, loaded], ignore_index=True)
    d = decide(both, w, reg.policy.decisions, ["qwen3.6-27b"])[0]
    p95 = next(g for g in d.gates if g.gate.metric == "p95_latency_s")
    assert p95.value == 5.0 and p95.level == 1 and p95.label == "p95_latency_s at 1 in flight"
    assert d.finding == "keep"

    def p95_at(level: int):  # type: ignore[no-untyped-def]
        gates = [g.model_copy(update={"concurrency": level}) if g.metric == "p95_latency_s" else g for g in w.gates]
        return w.model_copy(update={"gates": gates})

    d = decide(both, p95_at(8), reg.policy.decisions, ["qwen3.6-27b"])[0]
    assert d.finding == "fix" and "p95_latency_s at 8 in flight" in d.reason
    d = decide(both, p95_at(4), reg.policy.decisions, ["qwen3.6-27b"])[0]
    assert d.finding == "undecided" and "p95_latency_s at 4 in flight" in d.reason

"""The verdict commands end to end, on run folders generated here (labelled synthetic).

``opsbench leaderboard|promote|decide|diff --json`` read the run store through the one
evidence table; these tests pin what they print for hand-worked scenarios: repeats,
load levels, different case sets, thin evidence, hard failures in recall.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.runs.records import CaseScore, Manifest, ModelInRun, ResultRecord, RunSettings, Timing, Usage
from generator.runs.writer import RunFolder
from tests.synth import SYNTHETIC_NOTE


def write(
    runs: Path,
    run_id: str,
    outcomes: dict[str, list[list[bool]]],
    *,
    role: str = "draft",
    workload: str = "claim-summarization",
    level: int = 1,
    created_at: str = "2026-01-01T00:00:00Z",
    failed: dict[str, set[int]] | None = None,
    labels: tuple[str, dict[str, list[str | None]]] | None = None,
    prefix: str = "case",
) -> None:
    """A run folder: ``outcomes[model][i]`` are case i's repeats (accepted or not)."""
    failed = failed or {}
    folder = RunFolder.create(runs, run_id)
    models = sorted(outcomes)
    n_cases = max(len(v) for v in outcomes.values())
    repeats = max(len(r) for v in outcomes.values() for r in v)
    folder.write_manifest(
        Manifest(
            run_id=run_id,
            created_at=created_at,
            finished_at=created_at,
            status="complete",
            tool_version="test",
            settings=RunSettings(
                suite="synthetic",
                models=models,
                repeats=repeats,
                concurrency_levels=[level],
                max_tokens=None,
                temperature=0.0,
                seed=1,
                request_timeout_s=90,
                max_retries=0,
            ),
            models=[ModelInRun(id=m, provider="synthetic", served_name=m) for m in models],
            case_ids=[f"{prefix}-{i:03d}" for i in range(n_cases)],
            expected_results=sum(len(r) for v in outcomes.values() for r in v),
            registry_hash="synthetic",
            suite_hash="synthetic",
            environment={"os": "synthetic"},
            cli_args=["synthetic"],
            notes=[SYNTHETIC_NOTE],
        )
    )
    for model in models:
        for i, reps in enumerate(outcomes[model]):
            for r, ok in enumerate(reps):
                hard = i in failed.get(model, set())
                expected = predicted = None
                if labels:
                    expected = labels[0]
                    predicted = None if hard else labels[1][model][i]
                folder.append(
                    ResultRecord(
                        run_id=run_id,
                        key=ResultRecord.make_key(model, f"{prefix}-{i:03d}", r + 1, level),
                        model_id=model,
                        suite="synthetic",
                        case_id=f"{prefix}-{i:03d}",
                        role=role,
                        workload=workload,
                        severity="medium",
                        repeat=r + 1,
                        concurrency=level,
                        cold_start=False,
                        started_at=created_at,
                        status="failed" if hard else "ok",
                        failure_kind="timeout" if hard else None,
                        timing=Timing(ttft_s=0.1, e2e_s=None if hard else 2.0, output_tps=20.0),
                        usage=Usage(prompt_tokens=10, completion_tokens=20),
                        output=None if hard else "synthetic output",
                        score=CaseScore(
                            accepted=ok and not hard,
                            weight=2.0,
                            score=2.0 if ok and not hard else 0.0,
                            review_pain=0.0 if ok and not hard else 2.0,
                            checks=[],
                            expected_label=expected,
                            predicted_label=predicted,
                        ),
                    )
                )
    folder.close()


def verdicts(command: str, registry: Path, runs: Path, *args: str) -> object:
    return json.loads(invoke(command, *args, "--registry", str(registry), "--runs", str(runs), "--json"))


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def test_promote_json_uses_repeats(runs: Path, registry_copy: Path) -> None:
    """5/5 against 3/5 on each of 30 cases: promote, by the sign-flip test on per-case means."""
    write(
        runs,
        "20260101-000000-r1",
        {"gemma4": [[True, True, True, False, False]] * 30, "llama3.1-8b": [[True] * 5] * 30},
    )
    out = json.loads(
        invoke("promote", "--role", "draft", "--registry", str(registry_copy), "--runs", str(runs), "--json")
    )
    llama = next(o for o in out["outcomes"] if o["challenger"] == "llama3.1-8b")
    assert llama["verdict"] == "promote" and llama["shared_cases"] == 30
    assert llama["diff"] == pytest.approx(0.4) and llama["method"].startswith("sign-flip")
    assert llama["fragility"] >= 1 and llama["fragility_text"].startswith("flips to")
    assert out["promote"] == {"draft": "llama3.1-8b"}
    granite = next(o for o in out["outcomes"] if o["challenger"] == "granite3.3-8b")
    assert granite["verdict"] == "no-runs"


def test_promote_apply_through_the_cli(runs: Path, registry_copy: Path) -> None:
    write(
        runs,
        "20260101-000000-r1",
        {"gemma4": [[i < 10] for i in range(30)], "llama3.1-8b": [[i < 20] for i in range(30)]},
    )
    invoke("promote", "--role", "draft", "--apply", "--registry", str(registry_copy), "--runs", str(runs))
    roles = (registry_copy / "roles.yaml").read_text()
    draft = roles[roles.index("- id: draft") :].split("- id:")[1]
    assert "incumbent: llama3.1-8b" in draft


def test_leaderboard_json_ranks_on_shared_cases(runs: Path, registry_copy: Path) -> None:
    write(runs, "20260101-000000-r1", {"a": [[True]] * 30, "b": [[i < 10] for i in range(30)]})
    write(runs, "20260101-000000-r2", {"c": [[False]] * 40}, prefix="other", created_at="2026-01-02T00:00:00Z")
    rows = json.loads(invoke("leaderboard", "--registry", str(registry_copy), "--runs", str(runs), "--json"))
    got = {r["model_id"]: (r["rank"], r["better_than_this"], r["cases"]) for r in rows}
    assert got == {"a": (1, "", 30), "b": (2, "a", 30), "c": (1, "", 40)}
    text = invoke("leaderboard", "--registry", str(registry_copy), "--runs", str(runs))
    assert text.splitlines()[0].split()[:2] == ["rank", "model"]
    assert "significantly better on the cases both ran" in text


def test_decide_json_thin_evidence_and_recall(runs: Path, registry_copy: Path) -> None:
    write(runs, "20260101-000000-r1", {"qwen3.6-27b": [[True]] * 3}, workload="handoff-drafting")
    labels = {"qwen3.6-27b": [None] * 10 + ["escalate"] * 9 + ["routine"]}
    write(
        runs,
        "20260101-000000-r2",
        {"qwen3.6-27b": [[False]] * 10 + [[True]] * 9 + [[False]]},
        role="classify",
        workload="escalation-classification",
        failed={"qwen3.6-27b": set(range(10))},
        labels=("escalate", labels),
        prefix="note",
    )
    out = verdicts("decide", registry_copy, runs)
    by = {(d["workload"], d["model_id"]): d for d in out["decisions"]}
    thin = by[("handoff-drafting", "qwen3.6-27b")]
    assert thin["finding"] == "insufficient-evidence" and thin["route"] == "hosted"
    acc = next(g for g in thin["gates"] if g["gate"]["metric"] == "acceptance_rate")
    assert acc["state"] == "insufficient" and acc["n"] == 3 and acc["cases_to_settle"] > 0
    esc = by[("escalation-classification", "qwen3.6-27b")]
    # On the raw answers the ten timeouts are misses: recall 9/20, a definite fail.
    assert esc["finding_before_rails"] == "reject"
    recall = esc["rails"]["recall"]["escalate"]
    assert recall["before"] == pytest.approx(9 / 20) and recall["cases"] == 20
    # After the shipped rails (a failed request goes to human review, and so does any local
    # watch/escalate label) every escalation is caught; the finding says it is after the rails.
    assert recall["after"] == pytest.approx(1.0)
    assert esc["reason"].startswith("after rails (")
    assert by[("handoff-drafting", "smollm2-135m")]["finding"] == "no-runs"


def test_diff_json_is_paired(runs: Path, registry_copy: Path) -> None:
    a, b = "20260101-000000-a", "20260102-000000-b"
    write(runs, a, {"m": [[True]] * 10 + [[False]] * 10})
    write(runs, b, {"m": [[True]] * 18 + [[False]] * 2}, created_at="2026-01-02T00:00:00Z")
    out = verdicts("diff", registry_copy, runs, a, b)
    (m,) = out["models"]
    assert m["cases"] == 20 and m["delta"] == pytest.approx(0.4)
    assert m["method"] == "exact McNemar" and m["p_value"] == pytest.approx(2 / 256)
    assert m["latency_delta"] == pytest.approx(0.0)
    kinds = {c["case_id"]: c["change"] for c in out["cases"]}
    assert kinds["case-010"] == "newly-passing" and "case-000" not in kinds  # unchanged cases hidden
    # With no run ids: the suite's latest run against the previous one that shares a model.
    again = verdicts("diff", registry_copy, runs, "--suite", "synthetic")
    assert (again["a"], again["b"]) == (a, b)

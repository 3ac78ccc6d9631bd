# ruff: noqa: E501  (the expected tables are as wide as the commands print them)
"""The verdict commands (generator/cli/analyze.py) end to end, on run folders generated here
(labelled synthetic).

``opsbench leaderboard|promote|decide|diff`` read the run store through the one evidence
table; these tests pin what they print for hand-worked scenarios: repeats, load levels,
different case sets, thin evidence, hard failures in recall. The ``*_exact_output`` tests
pin the whole text stdout, as sqlite-utils and llm do (tables pad their last column, so
lines are compared without trailing blanks); the figures in them are worked in each
test's docstring.
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


def text(*args: str) -> str:
    """Stdout alone (stderr apart), lines without trailing blanks."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"


def test_leaderboard_exact_output(runs: Path, registry_copy: Path) -> None:
    """a: 30/30, Wilson [88.6 %, 100 %]; b: 10/30 = 33 % [19.2 %, 51.2 %]; weight 2 each, so
    60/60 and 20/60; pain 2 per miss: 20 × 2 ÷ 30 = 1.33. b ranks 2: a is better on 20
    discordant cases (McNemar p = 2 × 2^-20)."""
    write(runs, "20260101-000000-r1", {"a": [[True]] * 30, "b": [[i < 10] for i in range(30)]})
    assert text("leaderboard", "--registry", str(registry_copy), "--runs", str(runs)) == LEADERBOARD


def test_diff_exact_output(runs: Path, registry_copy: Path) -> None:
    """10/20 then 18/20 passing: cases 010–017 newly pass; +40 %; exact McNemar on 8
    discordant cases all one way: p = 2 × 2^-8 = 0.00781."""
    a, b = "20260101-000000-a", "20260102-000000-b"
    write(runs, a, {"m": [[True]] * 10 + [[False]] * 10})
    write(runs, b, {"m": [[True]] * 18 + [[False]] * 2}, created_at="2026-01-02T00:00:00Z")
    assert text("diff", a, b, "--registry", str(registry_copy), "--runs", str(runs)) == DIFF


def test_diff_without_a_pair_is_a_usage_error(runs: Path, registry_copy: Path) -> None:
    write(runs, "20260101-000000-a", {"m": [[True]]})
    args = ["diff", "--suite", "zz", "--registry", str(registry_copy), "--runs", str(runs)]
    result = CliRunner().invoke(cli, args, prog_name="opsbench")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.endswith("\n\nError: no runs of suite 'zz'\n")
    result = CliRunner().invoke(cli, [*args[:2], "synthetic", *args[3:]], prog_name="opsbench")
    assert result.stderr.endswith(
        "Error: no earlier run of suite 'synthetic' measured the models of 20260101-000000-a\n"
    )


def test_promote_apply_exact_output(runs: Path, registry_copy: Path) -> None:
    """llama 20/30 = 0.667 against gemma4 10/30 = 0.333; pain 10 × 2 ÷ 30 = 0.667 against
    1.333; 10 discordant cases one way: one-sided p = 2^-10 = 0.000977. --apply says on
    stderr what it wrote, and rewrites only the incumbent line (llama leaves the challengers)."""
    write(
        runs,
        "20260101-000000-r1",
        {"gemma4": [[i < 10] for i in range(30)], "llama3.1-8b": [[i < 20] for i in range(30)]},
    )
    before = (registry_copy / "roles.yaml").read_text()
    args = ["promote", "--role", "draft", "--apply", "--registry", str(registry_copy), "--runs", str(runs)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0
    assert "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n" == PROMOTE
    assert result.stderr == "applied: draft incumbent is now llama3.1-8b\n"
    after = (registry_copy / "roles.yaml").read_text()
    expected = before.replace(
        "    incumbent: gemma4\n    challengers:\n      - llama3.1-8b\n",
        "    incumbent: llama3.1-8b\n    challengers:\n",
        1,
    )
    assert expected != before and after == expected


def test_decide_exact_output(runs: Path, registry_copy: Path) -> None:
    """Three accepted cases are too few to settle any gate: insufficient evidence, routed
    hosted, and one violation would settle it as reject; candidates without runs say so."""
    write(runs, "20260101-000000-r1", {"qwen3.6-27b": [[True]] * 3}, workload="handoff-drafting")
    args = ["decide", "--workload", "handoff-drafting", "--registry", str(registry_copy), "--runs", str(runs)]
    assert text(*args) == DECIDE


LEADERBOARD = """\
rank  model  cases  acceptance        score  pain  hard_fail  p50_s  p95_s  tok/s
----  -----  -----  ----------------  -----  ----  ---------  -----  -----  -----
1     a      30     100% [89%, 100%]  60/60  0.00  0%         2.00   2.00   20.0
2     b      30     33% [19%, 51%]    20/60  1.33  0%         2.00   2.00   20.0

rank: 1 + the number of models significantly better on the cases both ran (paired, two-sided alpha 0.05); quality at each model's lowest load level.
"""

DIFF = """\
A = 20260101-000000-a
B = 20260102-000000-b

model_id  case_id   change         a     b
--------  --------  -------------  ----  ----
m         case-010  newly-passing  fail  pass
m         case-011  newly-passing  fail  pass
m         case-012  newly-passing  fail  pass
m         case-013  newly-passing  fail  pass
m         case-014  newly-passing  fail  pass
m         case-015  newly-passing  fail  pass
m         case-016  newly-passing  fail  pass
m         case-017  newly-passing  fail  pass

model  shared cases  A    B    B-A [95% CI]       p        hard A  hard B  latency B-A (s)
-----  ------------  ---  ---  -----------------  -------  ------  ------  --------------------
m      20            50%  90%  +40% [+20%, +60%]  0.00781  0%      0%      +0.00 [+0.00, +0.00]

paired on shared cases: exact McNemar; intervals are bootstrap over cases
"""

PROMOTE = """\
draft: llama3.1-8b vs incumbent gemma4: PROMOTE
  every gate passes, and the gain is beyond noise
  fragility: flips to insufficient-evidence if 3 more cases fail
  gate               challenger                                                                              incumbent  rule                                            result
  -----------------  --------------------------------------------------------------------------------------  ---------  ----------------------------------------------  ------
  acceptance_rate    0.667                                                                                   0.333      challenger >= incumbent                         pass
  review_pain        0.667                                                                                   1.333      challenger <= incumbent                         pass
  hard_failure_rate  0.000                                                                                   0.000      challenger <= incumbent                         pass
  cost_tier          free                                                                                    free       free, unless the incumbent is also paid         pass
  family_diversity   4 families after promotion (google-gemma, huggingface-smollm, ibm-granite, meta-llama)             >= 2 families across incumbent + challengers    pass
  beyond_noise       diff +0.333 [+0.167, +0.500], p = 0.000977 (Holm 0.000977), exact McNemar, shared=30               one-sided p (Holm) < 0.025, >= 20 shared cases  pass
draft: granite3.3-8b vs incumbent gemma4: NO-RUNS
  no runs yet for granite3.3-8b
draft: gemma3-270m vs incumbent gemma4: NO-RUNS
  no runs yet for gemma3-270m
draft: smollm2-135m vs incumbent gemma4: NO-RUNS
  no runs yet for smollm2-135m
"""

DECIDE = """\
workload          model              cases  before rails           finding                route   fragility                                                              why
----------------  -----------------  -----  ---------------------  ---------------------  ------  ---------------------------------------------------------------------  -------------------------------------------------------------------------------------------
handoff-drafting  qwen3.6-27b        3      insufficient-evidence  insufficient-evidence  hosted  flips to reject if 1 more case violate policy (policy_violation_rate)  interval straddles the threshold: acceptance_rate, policy_violation_rate, hard_failure_rate
handoff-drafting  mistral-small-22b  0                             no runs yet            —                                                                              no runs yet
handoff-drafting  gemma3-270m        0                             no runs yet            —                                                                              no runs yet
handoff-drafting  smollm2-135m       0                             no runs yet            —                                                                              no runs yet

handoff-drafting:
  length qwen3.6-27b: limit no measured cases (no measured cases)

seed routing figures:
  escalate-recall-after-keyword-rule: seed says 'qwen3.6:27b achieved 88 percent escalation recall (before any rail); keyword risk then bypasses the model'; cases give not derivable (not derivable: no runs of qwen3.6-27b on escalation-classification)
  routine-queue-share: seed says 'A conservative local pre-filter that safely routes 55 percent to the routine queue'; cases give not derivable (not derivable: no runs of qwen3.6-27b on escalation-classification)
  volume-safe-to-move-local: seed says "roughly 58 percent of the buyer's current language-model volume as safe to move local immediately"; cases give not derivable (not derivable: the registry states no monthly volume for handoff-drafting)
"""

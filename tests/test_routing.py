"""Guard rules as data, input-length evidence, escalation chains, seed routing figures and the
LiteLLM export: hand-worked numbers on synthetic runs (generated here, never under runs/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.analysis.chains import chain_outcome
from generator.analysis.leaderboard import evidence_cells, priced_rows
from generator.analysis.rails import compile_rules, match_input
from generator.analysis.routing import routing_report
from generator.cli import cli
from generator.registry.loader import load_registry
from generator.registry.schema import TaskCase, Workload
from generator.runs.scan import load_results
from tests.synth import write_run
from tests.test_registry import line_of, problems_of, replace

ESC = [
    "esc-attorney-lawsuit-roof-denial",
    "esc-injury-hospital-surgery",
    "esc-payment-dispute-depreciation",
    "esc-regulator-doi-complaint",
    "esc-threat-buried-in-address-change",
]
WATCH = ["watch-inconsistent-loss-dates", "watch-repeat-calls-supervisor-callback", "watch-third-invoice-request"]
ROUTINE = ["routine-address-update-only", "routine-windshield-paid-nobody-hurt"]
EXPECTED = {**dict.fromkeys(ESC, "escalate"), **dict.fromkeys(WATCH, "watch"), **dict.fromkeys(ROUTINE, "routine")}
# Inputs longer than 50 words (the first stratum edge in policy.yaml routing.length_strata_words).
LONG = {
    "esc-payment-dispute-depreciation",
    "esc-threat-buried-in-address-change",
    "watch-repeat-calls-supervisor-callback",
}


def label(value: str) -> str:
    return json.dumps({"label": value, "trigger": "synthetic"})


def routing_of(registry: Path, runs: Path) -> tuple:
    reg = load_registry(registry)
    df, manifests = load_results(runs)
    df = priced_rows(reg, df, manifests)
    return reg, *routing_report(reg, df, evidence_cells(df), {})


# --- bad input -----------------------------------------------------------------------------


def test_bad_rules_and_chains_are_file_line_errors_and_nothing_is_written(registry_copy: Path) -> None:
    wl = registry_copy / "workloads.yaml"
    replace(
        wl,
        "      - id: local-flags-review\n",
        "      - id: bad-check\n"
        "        when:\n"
        "          check_failed:\n"
        "            - no-such-check\n"
        "        action: human_review\n"
        "      - id: reference-check\n"
        "        when:\n"
        "          check_failed:\n"
        "            - label-2\n"
        "        action: human_review\n"
        "      - id: bad-label\n"
        "        when:\n"
        "          output_label_in:\n"
        "            - urgent\n"
        "        action: human_review\n"
        "      - id: bad-model\n"
        "        when: {input_keywords: [storm]}\n"
        "        action: hosted\n"
        "        model: no-such-model\n"
        "      - id: local-flags-review\n",
    )
    roles = registry_copy / "roles.yaml"
    replace(
        roles, "rungs: [qwen3.6-27b, gpt-oss-120b, claude-sonnet]", "rungs: [qwen3.6-27b, gpt-oss-120b, qwen3.6-27b]"
    )
    replace(roles, "rungs: [granite3.3-8b, llama3.1-8b, claude-sonnet]", "rungs: [granite3.3-8b, llama3.1-8b]")
    probs = problems_of(registry_copy)
    w = "registry/workloads.yaml"
    r = "registry/roles.yaml"
    assert f"{w}:{line_of(wl, 'no-such-check')}: unknown check 'no-such-check': no case of workload " in "\n".join(
        probs
    )
    assert (
        f"{w}:{line_of(wl, '- label-2')}: check 'label-2' compares with the expected answer (label), which live "
        "traffic does not have: a rule cannot route on it"
    ) in probs
    assert (
        f"{w}:{line_of(wl, '- urgent')}: unknown label 'urgent': no label check of workload "
        "'escalation-classification' allows it (known: escalate, routine, watch)"
    ) in probs
    assert f"{w}:{line_of(wl, 'model: no-such-model')}: unknown model 'no-such-model'" in probs
    loop = line_of(roles, "rungs: [qwen3.6-27b, gpt-oss-120b, qwen3.6-27b]")
    assert f"{r}:{loop}: the chain visits 'qwen3.6-27b' twice (a loop)" in probs
    assert f"{r}:{loop}: the chain ends in local model 'qwen3.6-27b': its last rung must be a hosted baseline" in probs
    local_end = line_of(roles, "rungs: [granite3.3-8b, llama3.1-8b]")
    assert (
        f"{r}:{local_end}: the chain ends in local model 'llama3.1-8b': its last rung must be a hosted baseline"
        in probs
    )

    out = Path("routing.yaml")
    result = CliRunner().invoke(
        cli, ["export-routing", "--registry", str(registry_copy), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert f"{r}:{loop}: the chain visits 'qwen3.6-27b' twice (a loop)" in result.output
    assert "nothing was written" in result.output
    assert not out.exists()


def test_long_regex_is_refused_with_its_line(registry_copy: Path) -> None:
    wl = registry_copy / "workloads.yaml"
    pattern = "a" * 301
    rule = f"      - id: long-re\n        when: {{input_regex: '{pattern}'}}\n        action: human_review\n"
    replace(wl, "      - id: local-flags-review\n", rule + "      - id: local-flags-review\n")
    probs = problems_of(registry_copy)
    assert (
        f"registry/workloads.yaml:{line_of(wl, pattern)}: regex of 301 characters is longer than policy "
        "routing.regex_max_chars 300"
    ) in probs


def test_a_pathological_regex_is_bounded_in_time_and_fails_closed() -> None:
    from tests.conftest import REPO

    reg = load_registry(REPO / "registry")
    base = reg.workloads["escalation-classification"].model_dump()
    base["rules"] = [{"id": "nasty", "when": {"input_regex": "(x+x+)+y"}, "action": "human_review"}]
    workload = Workload.model_validate(base)
    case = TaskCase.model_validate({**reg.suites["claims_ops"].cases[0].model_dump(by_alias=True), "input": "x" * 5000})
    policy = reg.policy.routing.model_copy(update={"regex_timeout_s": 0.05})
    (rule,) = compile_rules(workload)
    got = match_input(rule, case, None, None, policy)
    assert got.matched and got.timed_out


# --- rails ---------------------------------------------------------------------------------


def test_keyword_rule_and_label_rule_give_the_after_rails_figures(registry_copy: Path, tmp_path: Path) -> None:
    """llama says "routine" to every note; qwen gets every label right. Hand-worked:
    keyword risk catches the five escalate notes and none of the others."""
    reg = load_registry(registry_copy)
    runs = tmp_path / "runs"
    outputs = {("llama3.1-8b", c): label("routine") for c in EXPECTED}
    outputs |= {("qwen3.6-27b", c): label(v) for c, v in EXPECTED.items()}
    write_run(reg, runs, "20260101-000000-claims_ops-aaaaaa", "claims_ops", outputs)
    _, routing, _claims = routing_of(registry_copy, runs)
    r = routing["escalation-classification"]
    llama, qwen = r.rails["llama3.1-8b"], r.rails["qwen3.6-27b"]
    assert llama.rule_shares == {"keyword-risk": 0.5, "local-flags-review": 0.0, "failed-request-review": 0.0}
    assert llama.shares == {"local": 0.5, "hosted": 0.0, "human_review": 0.5, "escalate": 0.0}
    # What stays local: the two routine notes (right) and the three watch notes (wrong).
    assert llama.local_cases == 5 and llama.local_acceptance == pytest.approx(0.4)
    assert llama.recall["escalate"][:2] == (0.0, 1.0)
    assert llama.recall["escalate"][3] == 5
    # qwen: keywords take 5, its own watch labels 3 more; only the routine notes stay local.
    assert qwen.shares["human_review"] == pytest.approx(0.8) and qwen.shares["local"] == pytest.approx(0.2)
    assert qwen.local_acceptance == 1.0
    decisions = {d.model_id: d for d in r.decisions}
    before = {d.model_id: d for d in r.before}
    recall_gate = 1  # workloads.yaml: the class_recall gate is the second
    assert before["llama3.1-8b"].gates[recall_gate].state == "fail"
    # 5 of 5 caught after the rails: Wilson lower bound 0.57 < 0.88, so not yet settled.
    assert decisions["llama3.1-8b"].gates[recall_gate].value == 1.0
    assert decisions["llama3.1-8b"].gates[recall_gate].state == "insufficient"
    assert decisions["llama3.1-8b"].basis == "after rails (keyword-risk, local-flags-review, failed-request-review)"
    assert decisions["llama3.1-8b"].reason.startswith("after rails (keyword-risk, local-flags-review")

    result = CliRunner().invoke(
        cli,
        ["decide", "--registry", str(registry_copy), "--runs", str(runs), "--workload", "escalation-classification"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert (
        "  rails llama3.1-8b: local 50%, human review 50%; acceptance of what stays local 40% on 5 cases; "
        "escalate recall 0% -> 100% [57%, 100%]"
    ) in result.output
    assert (
        "seed says 'A conservative local pre-filter that safely routes 55 percent to the routine queue'; cases give 20%"
        in result.output
    )
    assert "volume-safe-to-move-local: seed says" in result.output
    assert "not derivable (not derivable: the registry states no monthly volume for handoff-drafting)" in result.output
    payload = json.loads(
        CliRunner()
        .invoke(
            cli,
            [
                "decide",
                "--registry",
                str(registry_copy),
                "--runs",
                str(runs),
                "--workload",
                "escalation-classification",
                "--json",
            ],
            catch_exceptions=False,
        )
        .output
    )
    item = next(d for d in payload["decisions"] if d["model_id"] == "llama3.1-8b")
    assert item["finding_before_rails"] == "reject" and item["rails"]["shares"]["human_review"] == 0.5


def test_measured_length_limit_is_cited_by_a_rule(registry_copy: Path, tmp_path: Path) -> None:
    """llama is right on the seven notes of at most 50 words and wrong on the three longer ones."""
    wl = registry_copy / "workloads.yaml"
    replace(
        wl,
        "      - id: keyword-risk\n",
        "      - id: long-note\n        when: {input_words_above: measured}\n        action: hosted\n"
        "      - id: keyword-risk\n",
    )
    reg = load_registry(registry_copy)
    runs = tmp_path / "runs"
    wrong = {"escalate": "routine", "watch": "routine", "routine": "watch"}
    outputs = {("llama3.1-8b", c): label(wrong[v] if c in LONG else v) for c, v in EXPECTED.items()}
    outputs |= {("claude-sonnet", c): label(v) for c, v in EXPECTED.items()}
    write_run(reg, runs, "20260101-000000-claims_ops-bbbbbb", "claims_ops", outputs)
    _, routing, _ = routing_of(registry_copy, runs)
    r = routing["escalation-classification"]
    ev = r.lengths["llama3.1-8b"]["words"]
    short, long_ = ev.strata[0], ev.strata[1]
    assert (short.cases, short.acceptance, short.state) == (7, 1.0, "insufficient")  # Wilson low 0.65 < 0.90
    assert (long_.cases, long_.acceptance, long_.state) == (3, 0.0, "fail")  # Wilson high 0.56 < 0.90
    assert (ev.limit, ev.limit_low, ev.limit_high) == (50, 0, 50)
    assert ev.interval_text == "50 words [0, 50]"
    f = r.rails["llama3.1-8b"]
    assert f.rule_shares["long-note"] == pytest.approx(0.3)
    assert f.thresholds == {"long-note": "words: 50 words [0, 50]"}
    # The long escalate notes went hosted, where claude-sonnet caught them: nothing unmeasured.
    assert f.recall["escalate"][1] == 1.0 and f.unmeasured_away == 0
    # Hard failures and latency read only what the input rules left to the local model: not the
    # three long notes (hosted) nor the three short ones keyword risk sent to review.
    assert sorted(f.after.latency_rows["case_id"]) == sorted(set(EXPECTED) - LONG - set(ESC))


# --- escalation chains ----------------------------------------------------------------------


def test_chain_outcome_is_hand_worked_from_runs_of_each_rung(tmp_path: Path) -> None:
    """classify: qwen3.6-27b -> gpt-oss-120b -> claude-sonnet on check_failed / hard_failure.

    qwen: prose (invalid JSON: a check live traffic can run) on 2 notes, a timeout on 1, a wrong
    but valid label on 1 (not a trigger: the label check needs the expected answer), right on 6.
    gpt-oss sees the 3 passed on: right on 2, prose on 1; claude-sonnet answers that one right.
    """
    from tests.conftest import REPO

    reg = load_registry(REPO / "registry")
    cases = list(EXPECTED)
    prose, timeout, wrong = cases[:2], cases[2], cases[3]
    qwen = {("qwen3.6-27b", c): label(EXPECTED[c]) for c in cases}
    qwen |= {("qwen3.6-27b", c): "I would say this is routine." for c in prose}
    qwen[("qwen3.6-27b", timeout)] = None
    qwen[("qwen3.6-27b", wrong)] = label("routine" if EXPECTED[wrong] != "routine" else "watch")
    passed = [*prose, timeout]
    gpt = {("gpt-oss-120b", c): label(EXPECTED[c]) for c in passed[:2]}
    gpt[("gpt-oss-120b", passed[2])] = "Probably escalate."
    claude = {("claude-sonnet", passed[2]): label(EXPECTED[passed[2]])}
    runs = tmp_path / "runs"
    write_run(reg, runs, "20260101-000000-claims_ops-c00001", "claims_ops", qwen, latency=1.0)
    write_run(reg, runs, "20260101-000000-claims_ops-c00002", "claims_ops", gpt, latency=2.0)
    write_run(reg, runs, "20260101-000000-claims_ops-c00003", "claims_ops", claude, latency=3.0)
    df, _ = load_results(runs)
    chain = reg.roles["classify"].escalation
    out = chain_outcome(df, "classify", chain.rungs, chain.on, cases)
    assert out.cases == 10 and out.incomplete == []
    assert out.acceptance == pytest.approx(0.9)  # 6 + 2 + 1 of 10
    assert out.escalation_rate == pytest.approx(0.3)
    assert [round(s.answered, 6) for s in out.shares] == [0.7, 0.2, 0.1]
    assert out.shares[0].acceptance_alone == pytest.approx(0.6)
    assert out.added_latency_s == pytest.approx((3 * 2.0 + 1 * 3.0) / 10)
    # The local runs name no machine, so a local rung's cost is unknown: no total is made up.
    assert out.cost_per_task is None
    # A case one reachable rung never ran is left out, not filled in.
    partial = chain_outcome(df[df["model_id"] != "claude-sonnet"], "classify", chain.rungs, chain.on, cases)
    assert partial.incomplete == [passed[2]] and partial.cases == 9


# --- LiteLLM ----------------------------------------------------------------------------------


def test_export_routing_loads_in_litellm_router(
    registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # its bundled price map, no network
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-not-a-key")
    monkeypatch.setenv("GEMINI_API_KEY", "test-not-a-key")
    litellm = pytest.importorskip("litellm")
    reg = load_registry(registry_copy)
    runs = tmp_path / "runs"
    write_run(
        reg,
        runs,
        "20260101-000000-claims_ops-dddddd",
        "claims_ops",
        {("qwen3.6-27b", c): label(v) for c, v in EXPECTED.items()},
    )
    out = tmp_path / "litellm.yaml"
    result = CliRunner().invoke(
        cli,
        ["export-routing", "--registry", str(registry_copy), "--runs", str(runs), "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "# and runs: 20260101-000000-claims_ops-dddddd.\n" in text
    assert "# Not exported (no endpoint, embedded): gemma3-270m, smollm2-135m\n" in text
    assert "# workload escalation-classification -> claude-sonnet: no candidate kept: hosted baseline\n" in text
    assert "test-not-a-key" not in text
    cfg = yaml.safe_load(text)
    names = [m["model_name"] for m in cfg["model_list"]]
    assert result.output == f"wrote {out}: {len(names)} models, 5 fallbacks, 7 workload aliases\n"
    # LiteLLM keeps one fallback list per model group: a model on two chains keeps the first.
    assert "# chain classify: gpt-oss-120b already falls back to gemini-3-pro; kept that\n" in text
    by_name = {m["model_name"]: m["litellm_params"] for m in cfg["model_list"]}
    assert by_name["claude-sonnet"] == {
        "model": "openai/claude-sonnet-4-5",
        "api_base": "https://api.anthropic.com/v1",
        "api_key": "os.environ/ANTHROPIC_API_KEY",
    }
    assert by_name["llama3.1-8b"] == {"model": "ollama_chat/llama3.1:8b", "api_base": "http://127.0.0.1:11434"}

    router = litellm.Router(model_list=cfg["model_list"], **cfg["router_settings"])
    assert sorted(d["model_name"] for d in router.model_list) == sorted(names)
    assert {"qwen3.6-27b": ["gpt-oss-120b", "claude-sonnet"]} in router.fallbacks
    assert {"gpt-oss-120b": ["gemini-3-pro"]} in router.fallbacks
    assert router.model_group_alias["escalation-classification"] == "claude-sonnet"
    # The key was read from the environment by LiteLLM itself.
    deployment = next(d for d in router.model_list if d["model_name"] == "claude-sonnet")
    assert deployment["litellm_params"]["api_key"] == os.environ["ANTHROPIC_API_KEY"]


def test_workload_page_shows_rails_chain_and_escapes_rule_text(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    from tests.test_site import build

    wl = site_inputs["registry"] / "workloads.yaml"
    replace(wl, "input_keywords: [attorney,", "input_keywords: ['<script>window.__pwned=5</script>', attorney,")
    reg = load_registry(site_inputs["registry"])
    outputs = {("llama3.1-8b", c): label("routine") for c in EXPECTED}
    outputs |= {("qwen3.6-27b", c): label(v) for c, v in EXPECTED.items()}
    write_run(reg, site_inputs["runs"], "20260101-000000-claims_ops-eeeeee", "claims_ops", outputs)
    out = tmp_path / "site"
    code, output = build(site_inputs, out)
    assert code == 0, output
    page = (out / "workloads" / "escalation-classification.html").read_text()
    assert "Before and after the rails" in page and "Guard rules (as data)" in page
    assert "Escalation chain" in page and "Input length" in page and "Seed routing figures" in page
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned=5&lt;/script&gt;" in page
    data = json.loads((out / "data" / "workloads" / "escalation-classification--rails.json").read_text())
    llama = next(row for row in data["rows"] if row["Model"] == "llama3.1-8b")
    assert llama["Finding before"] == "reject" and llama["Local"] == "50%" and llama["Human review"] == "50%"
    assert llama["escalate recall before → after"] == "0% → 100% [57%, 100%] n=5"

"""Every way an endpoint misbehaves becomes a recorded failure kind, and the run goes on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.registry.loader import load_registry
from generator.registry.schema import StatisticsPolicy
from tests.conftest import REPO
from tests.faultserver import FaultServer

MODES = {
    "ok": None,
    "no-usage": None,
    "flaky500": None,
    "rate429": None,
    "http500": "http_500",
    "http500-long": "http_500",
    "always429": "rate_limited",
    "context": "context_overflow",
    "stall": "timeout",
    "truncated": "truncated_stream",
    "reset": "truncated_stream",
    "refused-body": "malformed_response",
    "empty": "empty_output",
}
SECRET = "sk-fault-test-NEVER-WRITE-9876"


def add_fault_models(registry: Path, url: str) -> None:
    entries = []
    for mode in MODES:
        entries.append(
            f"""  - id: fault-{mode}
    display_name: Fault server ({mode})
    family: test-fault
    provider: {"hosted" if mode == "ok" else "openai"}
    served_name: {mode}
    base_url: {url}
    {"api_key_env: FAULT_TEST_KEY" if mode == "ok" else ""}
    quantization: none
    params_total_b: 1
    params_active_b: 1
    bits_per_weight: 16
    context_window: 2048
    cost_tier: {"paid" if mode == "ok" else "free"}
    {"price_input_per_mtok: 1" if mode == "ok" else ""}
    {"price_output_per_mtok: 2" if mode == "ok" else ""}
"""
        )
    models = registry / "models.yaml"
    models.write_text(models.read_text().replace("\nmodels:\n", "\nmodels:\n" + "".join(entries), 1))
    policy = registry / "policy.yaml"
    text = policy.read_text()
    for old, new in (
        ("request_timeout_s: 90", "request_timeout_s: 1.5"),
        ("max_retries: 3", "max_retries: 2"),
        ("backoff_base_s: 0.5", "backoff_base_s: 0.01"),
    ):
        text = text.replace(old, new)
    policy.write_text(text)


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory):
    """One run over every fault mode, shared by the tests below (it takes a few seconds)."""
    tmp_path = tmp_path_factory.mktemp("faults")
    registry_copy = tmp_path / "registry"
    shutil.copytree(REPO / "registry", registry_copy)
    with pytest.MonkeyPatch.context() as mp, FaultServer(stall_s=3.0) as server:
        mp.setenv("FAULT_TEST_KEY", SECRET)
        add_fault_models(registry_copy, server.url)
        case = load_registry(registry_copy).suites["smoke"].cases[0].id
        out = tmp_path / "runs"
        models = ",".join(f"fault-{m}" for m in MODES)
        result = CliRunner().invoke(
            cli,
            [
                "run",
                "--registry",
                str(registry_copy),
                "--suite",
                "smoke",
                "--case",
                case,
                "--models",
                models,
                "--out",
                str(out),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        run_dir = next(out.iterdir())
        rows = {json.loads(x)["model_id"]: json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()}
        yield run_dir, rows, server


def test_each_fault_has_its_kind_and_the_run_completes(fault_run) -> None:
    run_dir, rows, _ = fault_run
    assert set(rows) == {f"fault-{m}" for m in MODES}
    for mode, kind in MODES.items():
        row = rows[f"fault-{mode}"]
        if kind is None:
            assert row["status"] == "ok", (mode, row["failure_kind"], row["error"])
        else:
            assert (row["status"], row["failure_kind"]) == ("failed", kind), (mode, row["error"])
            assert row["score"]["accepted"] is False
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"


def test_retries_are_bounded_and_kept(fault_run) -> None:
    _, rows, server = fault_run
    flaky = rows["fault-flaky500"]
    assert [a["failure_kind"] for a in flaky["attempts"]] == ["http_503", "http_503"]
    assert server.hits["flaky500"] == 3
    failing = rows["fault-http500"]
    assert len(failing["attempts"]) == 2 and server.hits["http500"] == 3  # 1 try + 2 retries
    # Retry-After is honoured: the wait before the retry is the server's 1 s, not the backoff.
    limited = rows["fault-rate429"]
    assert [a["failure_kind"] for a in limited["attempts"]] == ["rate_limited"]
    assert limited["attempts"][0]["wait_s"] == 1.0
    # Not retried: a context overflow or a malformed body will not fix itself.
    assert server.hits["context"] == 1 and rows["fault-context"]["attempts"] == []
    assert server.hits["refused-body"] == 1


def test_error_text_is_cut_to_the_policy_length(fault_run) -> None:
    """A 500 whose body is a 16 KB traceback: the result's error and each retry's are kept on one
    line, cut to policy execution.error_text_chars (300) and marked, whichever try made them."""
    _, rows, _ = fault_run
    row = rows["fault-http500-long"]
    errors = [row["error"], *(a["error"] for a in row["attempts"])]
    assert len(errors) == 3
    for error in errors:
        assert error.startswith('HTTP 500: {"error": "Traceback (most recent call last):\\n frame\\n frame')
        assert len(error) == 300 and error.endswith("…") and "\n" not in error
    assert rows["fault-http500"]["error"] == 'HTTP 500: {"error": "internal"}'  # short text: whole


def test_usage_from_server_or_counted(fault_run) -> None:
    _, rows, _ = fault_run
    ok = rows["fault-ok"]
    assert ok["usage"] == {"prompt_tokens": 7, "completion_tokens": 5, "estimated": False}
    assert ok["output"] == "The claim needs review."
    assert ok["server_timings"]["predicted_n"] == 5 and ok["server_timings"]["prompt_ms"] == 3.5
    t = ok["timing"]
    assert 0 < t["ttft_s"] <= t["e2e_s"] and t["itl_mean_s"] > 0 and t["tpot_s"] > 0
    counted = rows["fault-no-usage"]
    assert counted["usage"]["completion_tokens"] == 5 and counted["usage"]["estimated"] is True


def test_key_is_sent_but_never_written(fault_run) -> None:
    run_dir, _, server = fault_run
    assert f"Bearer {SECRET}" in server.auth_headers
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")


def test_probe_ready_and_not_ready(fault_run) -> None:
    run_dir, _, _ = fault_run
    registry = run_dir.parent.parent / "registry"
    bad = CliRunner().invoke(cli, ["probe", "--registry", str(registry), "fault-http500", "--json"])
    # Up, but answering 500: not ready, and the probe says why.
    assert bad.exit_code == 3
    assert json.loads(bad.output)["cold_failure"] == "http_500"
    assert json.loads(bad.output)["ready"] is False
    good = CliRunner().invoke(cli, ["probe", "--registry", str(registry), "fault-ok", "--json"])
    assert good.exit_code == 0, good.output
    result = json.loads(good.output)
    assert result["ready"] is True and result["threshold_s"] == 15
    assert result["cold_s"] <= 15 and result["warm_s"] is not None


def _judges_registry(registry: Path, families: tuple[str, str]) -> None:
    models = registry / "models.yaml"
    extra = ""
    for name, score, family in (("judge-a", 2, families[0]), ("judge-b", 0, families[1])):
        extra += (
            f"  - id: {name}\n    display_name: Judge {name}\n    family: {family}\n    provider: openai\n"
            f"    served_name: judge-{score}\n    base_url: URL\n    quantization: none\n"
            "    params_total_b: 1\n    params_active_b: 1\n    bits_per_weight: 16\n"
            "    context_window: 2048\n    cost_tier: free\n"
        )
    models.write_text(models.read_text().replace("\nmodels:\n", "\nmodels:\n" + extra, 1))


def test_two_judges_disagree_and_flag_human_review(fault_run, tmp_path: Path) -> None:
    run_dir, _, server = fault_run
    registry = tmp_path / "registry"
    shutil.copytree(run_dir.parent.parent / "registry", registry)
    _judges_registry(registry, ("judge-family-a", "judge-family-b"))
    models = registry / "models.yaml"
    models.write_text(models.read_text().replace("base_url: URL", f"base_url: {server.url}"))
    case = load_registry(registry).suites["smoke"].cases[0].id
    out = tmp_path / "runs"
    args = [
        "run",
        "--registry",
        str(registry),
        "--suite",
        "smoke",
        "--case",
        case,
        "--models",
        "fault-ok",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, [*args, "--judges", "judge-a,judge-b"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = json.loads(next(out.iterdir()).joinpath("results.jsonl").read_text().splitlines()[0])
    verdict = row["judge"]
    assert verdict["scores"] == {"judge-a": 2, "judge-b": 0}
    assert verdict["mean"] == 1.0 and verdict["spread"] == 2
    assert verdict["human_review"] is True  # 2 > policy's 1.5
    from generator.analysis.leaderboard import leaderboard
    from generator.runs.scan import load_results

    board = leaderboard(load_results(out)[0], stats=StatisticsPolicy())
    assert board.iloc[0]["judge_score"] == 1.0

    same = tmp_path / "same"
    shutil.copytree(run_dir.parent.parent / "registry", same)
    _judges_registry(same, ("one-family", "one-family"))
    args[2] = str(same)
    refused = CliRunner().invoke(cli, [*args, "--judges", "judge-a,judge-b"])
    assert refused.exit_code == 1 and "different families" in refused.output


def test_sweep_records_each_load_level(fault_run, tmp_path: Path) -> None:
    run_dir, _, _ = fault_run
    registry = run_dir.parent.parent / "registry"
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--registry",
            str(registry),
            "--suite",
            "smoke",
            "--models",
            "fault-ok",
            "--sweep",
            "1,3",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in next(out.iterdir()).joinpath("results.jsonl").read_text().splitlines()]
    n_cases = len(load_registry(registry).suites["smoke"].cases)
    assert sorted({r["concurrency"] for r in rows}) == [1, 3]
    assert sum(r["concurrency"] == 3 for r in rows) == n_cases
    assert len({r["key"] for r in rows}) == len(rows) == 2 * n_cases
    assert sum(r["cold_start"] for r in rows) == 1  # one cold request per model, not per level


def test_ollama_native_api_fields(fault_run, tmp_path: Path) -> None:
    """Ollama's own protocol (a loopback stand-in: Ollama itself cannot be installed here)."""
    run_dir, _, server = fault_run
    registry = tmp_path / "registry"
    shutil.copytree(run_dir.parent.parent / "registry", registry)
    models = registry / "models.yaml"
    base = server.url.removesuffix("/v1")
    models.write_text(models.read_text().replace("base_url: http://127.0.0.1:11434\n", f"base_url: {base}\n", 1))
    case = load_registry(registry).suites["smoke"].cases[0].id
    out = tmp_path / "runs"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "--registry",
            str(registry),
            "--suite",
            "smoke",
            "--case",
            case,
            "--models",
            "gemma4",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    row = json.loads(next(out.iterdir()).joinpath("results.jsonl").read_text().splitlines()[0])
    assert row["status"] == "ok" and row["output"] == "The claim needs review."
    assert row["usage"] == {"prompt_tokens": 9, "completion_tokens": 5, "estimated": False}
    assert row["server_timings"]["eval_duration"] == 250_000_000
    assert row["timing"]["load_s"] == 2.0  # load_duration in ns, reported as the cold-start cost

"""`opsbench check-run` refuses each kind of bad submission, one `file:line: message` each.

Every submission here is synthetic (tests/synth.py), written into a temp folder and then
broken one way per test, the way a contributor's pull request could be.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.registry.loader import load_registry
from tests.synth import write_run

RUN_ID = "20260101-000000-smoke-abc123"


@pytest.fixture
def submission(tmp_path: Path, registry_copy: Path) -> Path:
    """A good synthetic run of the smoke suite by gemma3-270m on bench-2core."""
    reg = load_registry(registry_copy)
    cases = [c.id for c in reg.suites["smoke"].cases]
    return write_run(
        reg, tmp_path / "runs", RUN_ID, "smoke", {("gemma3-270m", c): "routine" for c in cases}, machine="bench-2core"
    )


def check(registry: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check-run", "--registry", str(registry), *args], catch_exceptions=False)
    return result.exit_code, result.output


def lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]


def write_lines(run: Path, rows: list[dict]) -> None:
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def edit_manifest(run: Path, **changes: object) -> None:
    data = json.loads((run / "manifest.json").read_text())
    data.update(changes)
    (run / "manifest.json").write_text(json.dumps(data, indent=2) + "\n")


def test_a_good_run_passes_and_is_labelled_stale(submission: Path, registry_copy: Path) -> None:
    code, out = check(registry_copy, str(submission))
    reg = load_registry(registry_copy)
    assert code == 0, out
    assert out.splitlines() == [
        f"{submission}: stale: run {RUN_ID} (executed), 6 results; "
        "1 model(s) × 6 case(s) × 1 repeat(s) × 1 load level(s) = 6",
        "  stores: output text",
        f"  stale: registry hash synthetic… is not this commit's {reg.content_hash[:12]}…",
        f"  stale: suite 'smoke' hash synthetic… is not this commit's {reg.suite_hashes['smoke'][:12]}…",
        "  note: records no privacy posture (made before manifests recorded one)",
    ]


def test_strict_refuses_a_stale_run(submission: Path, registry_copy: Path) -> None:
    code, out = check(registry_copy, "--strict", str(submission))
    assert code == 2
    assert f"{submission}/manifest.json: stale: registry hash synthetic…" in out


def test_a_run_at_this_commit_is_not_stale(submission: Path, registry_copy: Path) -> None:
    reg = load_registry(registry_copy)
    edit_manifest(submission, registry_hash=reg.content_hash, suite_hash=reg.suite_hashes["smoke"])
    code, out = check(registry_copy, "--strict", str(submission))
    assert code == 0, out
    assert out.splitlines()[0].startswith(f"{submission}: OK: run {RUN_ID}")


def test_duplicate_key_is_refused_with_both_lines(submission: Path, registry_copy: Path) -> None:
    rows = lines(submission)
    write_lines(submission, [*rows, rows[0]])
    code, out = check(registry_copy, str(submission))
    assert code == 2
    assert f"{submission}/results.jsonl:7: duplicate key '{rows[0]['key']}' (first on line 1)" in out.splitlines()


def test_results_outside_the_plan_are_refused(submission: Path, registry_copy: Path) -> None:
    rows = lines(submission)
    rows[1]["repeat"] = 2
    rows[1]["key"] = f"gemma3-270m|{rows[1]['case_id']}|2|1"
    rows[2]["case_id"] = "not-a-case"
    rows[2]["key"] = "gemma3-270m|not-a-case|1|1"
    rows[3]["model_id"] = "llama3.1-8b"
    rows[3]["key"] = f"llama3.1-8b|{rows[3]['case_id']}|1|1"
    rows[4]["concurrency"] = 4
    rows[5]["run_id"] = "20260101-000000-smoke-other1"
    write_lines(submission, rows)
    code, out = check(registry_copy, str(submission))
    assert code == 2
    got = out.splitlines()
    res = f"{submission}/results.jsonl"
    assert f"{res}:2: repeat 2 is outside 1..1" in got
    assert f"{res}:3: case 'not-a-case' is not one of the manifest's cases" in got
    assert f"{res}:4: model 'llama3.1-8b' is not one of the manifest's models" in got
    assert f"{res}:5: load level 4 is not one of the manifest's [1]" in got
    assert f"{res}:5: key '{rows[4]['key']}' does not match its fields ('gemma3-270m|{rows[4]['case_id']}|1|4')" in got
    assert f"{res}:6: run_id '20260101-000000-smoke-other1' is not the manifest's '{RUN_ID}'" in got


def test_missing_results_of_a_complete_run(submission: Path, registry_copy: Path) -> None:
    write_lines(submission, lines(submission)[:4])
    code, out = check(registry_copy, str(submission))
    assert code == 2
    assert f"{submission}/manifest.json: status complete, but 2 of 6 planned results are missing" in out


def test_known_key_formats_are_refused_and_never_echoed(submission: Path, registry_copy: Path) -> None:
    rows = lines(submission)
    anthropic = "sk-ant-api03-" + "A1b2C3d4E5" * 4
    github = "ghp_" + "x1Y2z3" * 7
    rows[0]["output"] = f"here is a key {anthropic}"
    rows[2]["error"] = f"token {github} expired"
    write_lines(submission, rows)
    code, out = check(registry_copy, str(submission))
    assert code == 2
    got = out.splitlines()
    res = f"{submission}/results.jsonl"
    assert f"{res}:1: looks like a secret (anthropic-key): remove it and rotate the key" in got
    assert f"{res}:3: looks like a secret (github-token): remove it and rotate the key" in got
    assert not any("openai-key" in x for x in got)  # an Anthropic key is reported once
    assert anthropic not in out and github not in out


def test_registry_key_variables_are_refused(
    submission: Path, registry_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "not-a-known-format-0042")
    rows = lines(submission)
    rows[1]["output"] = "the value not-a-known-format-0042 leaked"
    write_lines(submission, rows)
    edit_manifest(submission, notes=["GEMINI_API_KEY=zzzz9999yyyy"])
    code, out = check(registry_copy, str(submission))
    assert code == 2
    got = out.splitlines()
    assert f"{submission}/results.jsonl:2: holds the value of $ANTHROPIC_API_KEY: remove it and rotate the key" in got
    line = next(
        i for i, x in enumerate((submission / "manifest.json").read_text().splitlines(), 1) if "GEMINI_API_KEY=" in x
    )
    assert (
        f"{submission}/manifest.json:{line}: looks like a secret (api_key_env assignment): "
        "remove it and rotate the key" in got
    )
    assert "zzzz9999yyyy" not in out and "not-a-known-format-0042" not in out


def test_decode_speed_above_the_bandwidth_ceiling_is_refused_with_the_arithmetic(
    submission: Path, registry_copy: Path
) -> None:
    rows = lines(submission)
    for r in rows:
        r["timing"]["output_tps"] = 500.0
    write_lines(submission, rows)
    code, out = check(registry_copy, str(submission))
    assert code == 2
    # gemma3-270m: 0.268B × 7.55 bits ÷ 8 = 0.2529 GB per token; bench-2core reads 36 GB/s: 142.3 tok/s.
    assert (
        f"{submission}/results.jsonl:1: gemma3-270m: median warm decode 500.0 tok/s at 1 in flight is above "
        "bench-2core's bandwidth ceiling of 142.3 tok/s (36 GB/s ÷ (0.268B active × 7.55 bits ÷ 8 = 0.2529 GB "
        "per token)): it was not measured on that machine, or hardware.yaml understates it"
    ) in out.splitlines()


def test_speed_under_the_ceiling_passes(submission: Path, registry_copy: Path) -> None:
    rows = lines(submission)
    for r in rows:
        r["timing"]["output_tps"] = 140.0
    write_lines(submission, rows)
    assert check(registry_copy, str(submission))[0] == 0


def test_implausible_timings_and_oversized_outputs(submission: Path, registry_copy: Path) -> None:
    reg = load_registry(registry_copy)
    limit = reg.policy.scoring.max_output_chars
    rows = lines(submission)
    rows[0]["timing"]["ttft_s"] = 5.0  # e2e is 1.0
    rows[1]["timing"]["e2e_s"] = -1.0
    rows[2]["output"] = "x" * (limit + 1)
    write_lines(submission, rows)
    code, out = check(registry_copy, str(submission))
    assert code == 2
    got = out.splitlines()
    res = f"{submission}/results.jsonl"
    assert f"{res}:1: first token after 5 s but the request ended at 1 s" in got
    assert f"{res}:2: timing e2e_s = -1.0: a time or rate is finite and not negative" in got
    assert f"{res}:3: output of {limit + 1:,} characters, above policy scoring.max_output_chars {limit:,}" in got


def test_schema_version_machine_and_models_are_checked(submission: Path, registry_copy: Path) -> None:
    data = json.loads((submission / "manifest.json").read_text())
    data["schema_version"] = 2
    data["settings"]["machine"] = "my-laptop"
    (submission / "manifest.json").write_text(json.dumps(data, indent=2) + "\n")
    code, out = check(registry_copy, str(submission))
    assert code == 2
    text = (submission / "manifest.json").read_text().splitlines()
    version_line = next(i for i, x in enumerate(text, 1) if '"schema_version"' in x)
    machine_line = next(i for i, x in enumerate(text, 1) if '"machine"' in x)
    got = out.splitlines()
    assert f"{submission}/manifest.json:{version_line}: schema_version 2: this tool reads version 1" in got
    assert f"{submission}/manifest.json:{machine_line}: unknown machine 'my-laptop': add it to hardware.yaml" in got


def test_bad_lines_and_foreign_files(submission: Path, registry_copy: Path) -> None:
    rows = lines(submission)
    text = "".join(json.dumps(r) + "\n" for r in rows[:2]) + '{"key": "half a record"}\n' + "\n"
    (submission / "results.jsonl").write_text(text)
    (submission / "notes.txt").write_text("hello")
    (submission / "link.jsonl").symlink_to(submission / "results.jsonl")
    code, out = check(registry_copy, str(submission))
    assert code == 2
    got = out.splitlines()
    res = f"{submission}/results.jsonl"
    assert f"{res}:3: run_id: Field required" in got
    assert f"{res}:4: blank line" in got
    assert (
        f"{submission}/notes.txt: unexpected file; a run folder holds only manifest.json, results.jsonl, "
        "summaries.jsonl, perf.jsonl, reviews.jsonl" in got
    )
    assert f"{submission}/link.jsonl: a run folder holds plain files only (no links, no folders)" in got


def test_policy_that_requires_redaction_refuses_output_text(submission: Path, registry_copy: Path) -> None:
    policy = registry_copy / "policy.yaml"
    policy.write_text(policy.read_text().replace("redact_outputs: false", "redact_outputs: true"))
    code, out = check(registry_copy, str(submission))
    assert code == 2
    line = next(i for i, x in enumerate((submission / "manifest.json").read_text().splitlines(), 1) if '"privacy"' in x)
    assert (
        f"{submission}/manifest.json:{line}: policy.yaml privacy.redact_outputs is true: submit runs made with "
        "--redact-outputs" in out.splitlines()
    )


def test_the_published_runs_pass(registry_copy: Path) -> None:
    """Every run committed under runs/ passes (stale at most): CI would accept them."""
    from tests.conftest import REPO

    folders = sorted(p for p in (REPO / "runs").iterdir() if (p / "manifest.json").is_file())
    code, out = check(registry_copy, *map(str, folders))
    assert code == 0, out

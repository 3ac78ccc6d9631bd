"""Privacy posture: endpoint locality, redacted runs, the private-endpoint gate, the pages."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.privacy import locality_of
from generator.registry.loader import load_registry
from tests.faultserver import WORDS, FaultServer
from tests.synth import write_run

SUFFIXES = [".local", ".lan", ".internal", ".home.arpa"]


@pytest.mark.parametrize(
    ("url", "locality"),
    [
        (None, "in-process"),
        ("http://127.0.0.1:8080/v1", "loopback"),
        ("http://localhost:11434", "loopback"),
        ("http://[::1]:8000/v1", "loopback"),
        ("http://0.0.0.0:8000", "loopback"),
        ("http://10.1.2.3:11434", "private"),
        ("http://192.168.1.5:8000/v1", "private"),
        ("http://172.20.0.9", "private"),
        ("http://[fd00::5]:8000", "private"),
        ("http://[::ffff:10.0.0.1]:80", "private"),
        ("http://gpu-box.local:8000/v1", "private"),
        ("http://inference.home.arpa", "private"),
        ("http://gpubox:11434", "private"),
        ("https://api.anthropic.com/v1", "internet"),
        ("http://8.8.8.8:80", "internet"),
        ("https://llm.example.com/v1", "internet"),
    ],
)
def test_locality_is_read_from_the_address(url: str | None, locality: str) -> None:
    assert locality_of(url, SUFFIXES).locality == locality


def _add_server_model(registry: Path, url: str) -> None:
    entry = f"""  - id: loopback-ok
    display_name: Fault server (ok)
    family: test-fault
    provider: openai
    served_name: ok
    base_url: {url}
    quantization: none
    params_total_b: 0.001
    params_active_b: 0.001
    bits_per_weight: 4
    context_window: 2048
    cost_tier: free
"""
    models = registry / "models.yaml"
    models.write_text(models.read_text().replace("\nmodels:\n", "\nmodels:\n" + entry, 1))


def test_redacted_run_keeps_hashes_and_outcomes_and_passes_check_run(registry_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with FaultServer() as server:
        _add_server_model(registry_copy, server.url)
        case = load_registry(registry_copy).suites["smoke"].cases[0].id
        args = ["run", "--registry", str(registry_copy), "--suite", "smoke", "--case", case]
        args += ["--models", "loopback-ok", "--machine", "bench-2core", "--redact-outputs", "--out", str(out)]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run_dir = next(out.iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["privacy"]["outputs"] == "sha256"
    [endpoint] = manifest["privacy"]["endpoints"]
    assert endpoint["locality"] == "loopback"
    assert endpoint["logs_prompts"] is None  # an OpenAI-compatible server: cannot tell which
    assert endpoint["reason"] == "127.0.0.1 is this machine"
    [row] = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
    assert row["output"] is None
    assert row["output_sha256"] == hashlib.sha256("".join(WORDS).encode()).hexdigest()
    assert row["score"]["checks"] and all(
        c["detail"] == "detail withheld: outputs redacted" for c in row["score"]["checks"]
    )
    assert "".join(WORDS) not in (run_dir / "results.jsonl").read_text()
    check = CliRunner().invoke(
        cli, ["check-run", "--registry", str(registry_copy), "--strict", str(run_dir)], catch_exceptions=False
    )
    assert check.exit_code == 0, check.output
    assert "  stores: sha256 only" in check.output.splitlines()


def test_default_run_keeps_text_and_says_so(registry_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with FaultServer() as server:
        _add_server_model(registry_copy, server.url)
        case = load_registry(registry_copy).suites["smoke"].cases[0].id
        args = ["run", "--registry", str(registry_copy), "--suite", "smoke", "--case", case]
        result = CliRunner().invoke(cli, [*args, "--models", "loopback-ok", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run_dir = next(out.iterdir())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["privacy"]["outputs"] == "text"
    assert manifest["privacy"]["stored"][2] == "each output's text, cut at 16,000 characters"
    [row] = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
    assert row["output"] == "".join(WORDS) and row["output_sha256"] is None


def test_a_local_workload_on_an_internet_endpoint_fails_the_gate(registry_copy: Path, tmp_path: Path) -> None:
    models = registry_copy / "models.yaml"
    text = models.read_text()
    block_start = text.index("  - id: llama3.1-8b")
    block_end = text.index("  - id: ", block_start + 5)
    block = text[block_start:block_end].replace("http://127.0.0.1:11434", "https://llama.example.com")
    models.write_text(text[:block_start] + block + text[block_end:])
    reg = load_registry(registry_copy)
    w = reg.workloads["field-extraction"]
    assert w.route_if_kept == "local"
    cases = [(s, c.id) for s, c in reg.all_cases() if c.workload == w.id]
    suite = cases[0][0]
    outputs = {(m, c): "{}" for m in ("llama3.1-8b", "granite3.3-8b") for s, c in cases if s == suite}
    write_run(reg, tmp_path / "runs", "20260101-000000-x-aaaaaa", suite, outputs)
    result = CliRunner().invoke(
        cli,
        ["decide", "--registry", str(registry_copy), "--runs", str(tmp_path / "runs"), "--workload", w.id, "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    by_model = {d["model_id"]: d for d in json.loads(result.output)["decisions"]}
    gate = [g for g in by_model["llama3.1-8b"]["gates"] if g["label"] == "private_endpoint"]
    assert [(g["state"], g["method"]) for g in gate] == [
        ("fail", "endpoint address: llama.example.com is a public DNS name (internet)")
    ]
    assert by_model["llama3.1-8b"]["finding"] == "reject"  # a safety gate (policy.yaml privacy.gate_kind)
    assert "private_endpoint" in by_model["llama3.1-8b"]["reason"]
    ok = [g for g in by_model["granite3.3-8b"]["gates"] if g["label"] == "private_endpoint"]
    assert [g["state"] for g in ok] == ["pass"]


def test_a_hybrid_route_outside_policy_gets_no_gate(registry_copy: Path) -> None:
    from generator.analysis.decisions import workload_gates

    reg = load_registry(registry_copy)
    w = reg.workloads["claim-summarization"]
    assert w.route_if_kept == "hybrid"
    assert workload_gates(w, reg.policy.privacy)[-1].metric == "private_endpoint"
    policy = registry_copy / "policy.yaml"
    policy.write_text(policy.read_text().replace("private_routes: [local, hybrid]", "private_routes: [local]"))
    reg = load_registry(registry_copy)
    assert all(g.metric != "private_endpoint" for g in workload_gates(reg.workloads[w.id], reg.policy.privacy))


def test_privacy_findings_naming_an_unknown_workload_are_refused(registry_copy: Path) -> None:
    policy = registry_copy / "policy.yaml"
    text = policy.read_text().replace(
        "    - id: replayed-from-redacted-fixtures\n",
        "    - id: replayed-from-redacted-fixtures\n      workloads: [no-such-workload]\n",
    )
    policy.write_text(text)
    result = CliRunner().invoke(cli, ["validate", "--registry", str(registry_copy)])
    assert result.exit_code == 2
    line = next(i for i, x in enumerate(text.splitlines(), 1) if "no-such-workload" in x)
    assert f"policy.yaml:{line}: unknown workload 'no-such-workload'" in result.output


def test_pages_show_reference_speed_privacy_and_staleness(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    from tests.test_site import build

    reg = load_registry(site_inputs["registry"])
    smoke = [c.id for c in reg.suites["smoke"].cases]
    for run_id in ("20260102-000000-smoke-aaaaaa", "20260103-000000-smoke-bbbbbb"):
        outputs = {("gemma3-270m", c): "x" for c in smoke}
        write_run(reg, site_inputs["runs"], run_id, "smoke", outputs, machine="bench-2core")
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    hw = (tmp_path / "site" / "hardware.html").read_text()
    assert "Reference work, by machine" in hw
    # Two runs × 5 warm requests at 20 tok/s and 1 s: n = 10 bounds the median on both sides.
    assert "20.0 [20.0, 20.0]" in hw and "1.00 [1.00, 1.00]" in hw
    assert "Runs by machine" in hw
    run_page = (tmp_path / "site" / "runs" / "20260102-000000-smoke-aaaaaa.html").read_text()
    assert "This run predates privacy records" in run_page
    assert "<strong>stale</strong>" in run_page
    wl = (tmp_path / "site" / "workloads" / "escalation-classification.html").read_text()
    assert "sent sensitive text outside" in wl  # seed 000's finding
    assert "private_endpoint" in wl and "in-process, loopback or private network" in wl

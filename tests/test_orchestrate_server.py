"""The orchestration benchmark on real parts: a llama_cpp.server on loopback as the hosted stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

pytestmark = pytest.mark.model


def test_orchestrate_stand_in_and_local_executor(llama_server: str, registry_copy: Path, tmp_path: Path) -> None:
    models = registry_copy / "models.yaml"
    models.write_text(models.read_text().replace("base_url: http://127.0.0.1:8080/v1", f"base_url: {llama_server}"))
    out = tmp_path / "runs"
    args = [
        "orchestrate",
        "--registry",
        str(registry_copy),
        "--suite",
        "claims_orch",
        "--strategies",
        "cloud-only,hybrid",
        "--task",
        "ct-daily-briefing",
        "--max-tokens",
        "4",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run = next(out.iterdir())
    calls = [json.loads(x) for x in (run / "calls.jsonl").read_text().splitlines()]
    assert [(c["strategy"], c["pipeline_role"], c["model_id"]) for c in calls] == [
        ("cloud-only", "executor", "gemma3-270m-server"),
        ("cloud-only", "executor", "gemma3-270m-server"),
        ("cloud-only", "orchestrator", "gemma3-270m-server"),
        ("hybrid", "executor", "smollm2-135m"),
        ("hybrid", "executor", "smollm2-135m"),
        ("hybrid", "orchestrator", "gemma3-270m-server"),
    ]
    for c in calls:
        assert c["status"] == "ok", c["error"]
        assert 0 < c["usage"]["completion_tokens"] <= 4 and c["timing"]["e2e_s"] > 0
    assert calls[3]["cost"]["amount"] == 0.0 and calls[2]["cost"]["priced_as"] == "claude-opus"
    # llama_cpp.server reports no prompt tokens while streaming: the full cost is missing, not guessed,
    # and the output tokens' part is shown as a lower bound.
    assert calls[0]["usage"]["prompt_tokens"] is None and calls[0]["cost"]["amount"] is None
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["models"][0]["endpoint"] == llama_server
    payload = json.loads(result.output[result.output.index("{\n") :])
    hybrid = next(s for s in payload["report"]["strategies"] if s["strategy"]["id"] == "hybrid")
    assert 0 < hybrid["output_cost_saving"] < 1  # the sub-tasks went local; the orchestrator is still billed
    assert hybrid["cost_saving"] is None and hybrid["verdict"] == "not justified"

"""A real llama_cpp.server on loopback, driven through the openai provider."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.execute.providers.embedded import gemma_turns
from generator.execute.runner import render_messages
from generator.registry.loader import load_registry

pytestmark = pytest.mark.model
# llama_server: the session's real llama_cpp.server on loopback (tests/conftest.py)


def test_openai_provider_against_llama_cpp_server(llama_server: str, registry_copy: Path, tmp_path: Path) -> None:
    models = registry_copy / "models.yaml"
    models.write_text(models.read_text().replace("base_url: http://127.0.0.1:8080/v1", f"base_url: {llama_server}"))
    reg = load_registry(registry_copy)
    cases = reg.suites["smoke"].cases[:2]
    out = tmp_path / "runs"
    args = [
        "run",
        "--registry",
        str(registry_copy),
        "--suite",
        "smoke",
        "--models",
        "gemma3-270m-server",
        "--max-tokens",
        "8",
        "--out",
        str(out),
    ]
    for c in cases:
        args += ["--case", c.id]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    run_dir = next(out.iterdir())
    rows = [json.loads(x) for x in (run_dir / "results.jsonl").read_text().splitlines()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["models"][0]["endpoint"] == llama_server
    # The server's own model list names the file it loaded; we keep its name, as text.
    served = manifest["models"][0]["served_models"]
    assert len(served) == 1 and served[0].endswith("gemma-3-270m-q4_k_m.gguf")
    assert manifest["models"][0]["file_name"] == "gemma-3-270m-q4_k_m.gguf"
    assert len(rows) == 2
    for row, case in zip(rows, cases, strict=True):
        assert row["status"] == "ok", row["error"]
        t = row["timing"]
        assert 0 < t["ttft_s"] <= t["e2e_s"]
        # The server's own count for the same deterministic request equals ours.
        prompt = gemma_turns(render_messages(case))
        ref = httpx.post(
            f"{llama_server}/completions",
            json={
                "prompt": prompt,
                "max_tokens": 8,
                "temperature": 0.0,
                "seed": 1234,
                "stop": ["<end_of_turn>"],
            },
            timeout=60,
        ).json()
        assert row["output"] == ref["choices"][0]["text"]
        assert row["usage"]["completion_tokens"] == ref["usage"]["completion_tokens"]
        assert row["usage"]["estimated"] is True  # this server sends no usage when streaming

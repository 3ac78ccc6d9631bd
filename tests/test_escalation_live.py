"""`opsbench run --escalate ROLE` for real: the two embedded models as the local rungs, and a
MOCK of a hosted API (the loopback fault server, the only mocked part) as the last rung."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.analysis.chains import chain_outcome
from generator.cli import cli
from generator.registry.loader import load_registry
from generator.runs.scan import list_run_folders, load_results
from generator.runs.writer import RunFolder
from tests.faultserver import FaultServer
from tests.test_registry import replace

pytestmark = pytest.mark.model

CASES = ["routine-address-update-only", "esc-regulator-doi-complaint"]


def test_live_chain_records_which_rung_answered(
    registry_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTED_MOCK_KEY", "mock-key")
    with FaultServer() as server:
        replace(
            registry_copy / "models.yaml",
            "models:\n",
            "models:\n"
            "  - id: hosted-api-mock\n"
            "    display_name: MOCK hosted API (loopback fault server, tests only)\n"
            "    family: mock\n"
            "    provider: hosted\n"
            "    served_name: ok\n"
            f"    base_url: {server.url}\n"
            "    api_key_env: HOSTED_MOCK_KEY\n"
            "    context_window: 4096\n"
            "    cost_tier: free\n",
        )
        replace(
            registry_copy / "roles.yaml",
            "rungs: [qwen3.6-27b, gpt-oss-120b, claude-sonnet]",
            "rungs: [gemma3-270m, smollm2-135m, hosted-api-mock]",
        )
        runs = tmp_path / "runs"
        args = ["run", "--registry", str(registry_copy), "--suite", "claims_ops", "--escalate", "classify"]
        args += ["--out", str(runs), "--max-tokens", "48"]
        for c in CASES:
            args += ["--case", c]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    (folder,) = list_run_folders(runs)
    run = RunFolder(folder)
    manifest = run.read_manifest()
    assert manifest.status == "complete" and manifest.settings.escalate == "classify"
    records = run.repair_and_read()
    rungs = ["gemma3-270m", "smollm2-135m", "hosted-api-mock"]
    for case in CASES:
        mine = sorted((r for r in records if r.case_id == case), key=lambda r: r.escalation.rung)
        # A prefix of the chain: each rung before the last passed the item on, the last answered.
        assert [r.model_id for r in mine] == rungs[: len(mine)]
        assert [r.escalation.rung for r in mine] == list(range(1, len(mine) + 1))
        assert all(r.escalation.fired and not r.escalation.answered for r in mine[:-1])
        assert mine[-1].escalation.answered
        assert mine[-1].escalation.fired == [] or mine[-1].model_id != rungs[-1]
        assert sum(r.escalation.answered for r in mine) == 1
    assert manifest.expected_results == len(records)

    # The offline analysis of the same results agrees with what the live run recorded.
    reg = load_registry(registry_copy)
    df, _ = load_results(runs)
    chain = reg.roles["classify"].escalation
    out = chain_outcome(df, "classify", chain.rungs, chain.on, CASES)
    assert out.cases == 2 and out.incomplete == []
    for k, share in enumerate(out.shares):
        answered = sum(1 for r in records if r.escalation.rung == k + 1 and r.escalation.answered)
        assert share.answered == pytest.approx(answered / len(CASES))

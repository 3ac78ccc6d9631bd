"""SIGKILL a run at several points, resume it, and get exactly the uninterrupted result set."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import REPO
from tests.faultserver import FaultServer

SLOW_MODEL = """  - id: slow-model
    display_name: Slow loopback model
    family: test-fault
    provider: openai
    served_name: slow
    base_url: {url}
    quantization: none
    params_total_b: 1
    params_active_b: 1
    bits_per_weight: 16
    context_window: 2048
    cost_tier: free
"""


def keys_of(run_dir: Path) -> list[str]:
    return [json.loads(x)["key"] for x in (run_dir / "results.jsonl").read_text().splitlines()]


@dataclass(frozen=True)
class SlowPlan:
    registry: Path
    base: list[str]  # the `opsbench run` arguments, less --out
    expected: list[str]  # the keys of the same plan run uninterrupted


@pytest.fixture(scope="module")
def slow_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlowPlan]:
    """One slow loopback server, a registry naming it, and the reference run, shared by every kill point."""
    root = tmp_path_factory.mktemp("kill-resume")
    registry = root / "registry"
    shutil.copytree(REPO / "registry", registry)
    with FaultServer() as server:
        models = registry / "models.yaml"
        models.write_text(
            models.read_text().replace("\nmodels:\n", "\nmodels:\n" + SLOW_MODEL.format(url=server.url), 1)
        )
        base = ["run", "--registry", str(registry), "--suite", "smoke", "--models", "slow-model", "--repeats", "2"]

        # The reference: the same plan, never interrupted.
        ref_out = root / "ref"
        assert CliRunner().invoke(cli, [*base, "--out", str(ref_out)], catch_exceptions=False).exit_code == 0
        expected = keys_of(next(ref_out.iterdir()))
        assert len(expected) == len(set(expected)) == 12
        yield SlowPlan(registry=registry, base=base, expected=expected)


@pytest.mark.parametrize("kill_after", [1, 4, 9])
def test_sigkill_then_resume_equals_uninterrupted(slow_plan: SlowPlan, tmp_path: Path, kill_after: int) -> None:
    base, expected = slow_plan.base, slow_plan.expected
    out = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", *base, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 60
    results = None
    while time.monotonic() < deadline:
        found = list(out.glob("*/results.jsonl")) if out.exists() else []
        if found and found[0].read_text().count("\n") >= kill_after:
            results = found[0]
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert results is not None, "the run never got going"
    run_dir = results.parent
    done_before = results.read_text().count("\n")
    assert kill_after <= done_before < 12

    resumed = CliRunner().invoke(
        cli,
        ["run", "--registry", str(slow_plan.registry), "--resume", run_dir.name, "--out", str(out)],
        catch_exceptions=False,
    )
    assert resumed.exit_code == 0, resumed.output
    got = keys_of(run_dir)
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"

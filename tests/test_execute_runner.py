"""The runner's bookkeeping when a run does not finish: the manifest says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.execute.providers.base import Generation, Prompt
from generator.execute.runner import resume_run, start_run
from generator.registry.loader import load_registry
from generator.runs.records import ModelInRun


class CrashingProvider:
    """A runtime that answers once and then raises something no provider should (a bug, not a
    recorded failure): the run must stop and say it was interrupted, not stay "running"."""

    supports_parallel = False

    def __init__(self, model_id: str, crash_after: int) -> None:
        self.model_id = model_id
        self.crash_after = crash_after
        self.calls = 0

    def load(self) -> float | None:
        return None

    def generate(self, prompt: Prompt) -> Generation:
        self.calls += 1
        if self.calls > self.crash_after:
            raise RuntimeError("provider bug")
        return Generation(text="ok", sent_at=0.0, done_at=0.1)

    def describe(self) -> ModelInRun:
        return ModelInRun(id=self.model_id, provider="test", served_name=self.model_id)

    def close(self) -> None:
        pass


def test_a_crash_marks_the_run_interrupted_and_resume_finishes_it(registry_copy: Path, tmp_path: Path) -> None:
    reg = load_registry(registry_copy)
    model = reg.default_models()[0].id
    cases = [c.id for c in reg.suites["smoke"].cases[:3]]
    created: list[str] = []
    out = tmp_path / "runs"
    with pytest.raises(RuntimeError, match="provider bug"):
        start_run(
            reg, "smoke", [model], 1, [1], out, cli_args=["run"], case_ids=cases,
            providers={model: CrashingProvider(model, crash_after=1)}, on_created=created.append,
        )  # fmt: skip
    run_dir = out / created[0]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert len((run_dir / "results.jsonl").read_text().splitlines()) == 1
    resume_run(reg, created[0], out, providers={model: CrashingProvider(model, crash_after=10)})
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert len((run_dir / "results.jsonl").read_text().splitlines()) == 3

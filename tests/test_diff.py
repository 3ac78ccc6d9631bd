"""Which runs ``opsbench diff`` compares (generator/analysis/diff.py: previous_run, runs_to_compare)."""

from __future__ import annotations

import pytest

from generator.analysis.diff import previous_run, runs_to_compare
from generator.runs.records import Manifest
from tests.synth import plain_manifest


def manifest(run_id: str, created_at: str, suite: str = "s", models: tuple[str, ...] = ("m",)) -> Manifest:
    m = plain_manifest(run_id)
    settings = m.settings.model_copy(update={"suite": suite, "models": list(models)})
    return m.model_copy(update={"created_at": created_at, "settings": settings})


RUNS = [
    manifest("r1", "2026-01-01T00:00:00Z"),
    manifest("r2", "2026-01-02T00:00:00Z", models=("other",)),  # shares no model with r3
    manifest("o1", "2026-01-03T00:00:00Z", suite="t"),
    manifest("r3", "2026-01-04T00:00:00Z", models=("m", "x")),
]


def test_previous_run_shares_suite_and_a_model() -> None:
    prev = previous_run(RUNS, RUNS[-1])
    assert prev is not None and prev.run_id == "r1"  # r2 is later but measured none of r3's models
    assert previous_run(RUNS, RUNS[0]) is None


def test_runs_to_compare() -> None:
    assert runs_to_compare(RUNS, "a", "b", None) == ("a", "b")  # ids given: taken as they are
    assert runs_to_compare(RUNS, None, None, "s") == ("r1", "r3")
    assert runs_to_compare(RUNS, None, None, None) == ("r1", "r3")  # the latest run overall is r3
    with pytest.raises(LookupError, match="give two run ids"):
        runs_to_compare(RUNS, "a", None, None)
    with pytest.raises(LookupError, match="no runs of suite 'zz'"):
        runs_to_compare(RUNS, None, None, "zz")
    with pytest.raises(LookupError, match="no earlier run of suite 't' measured the models of o1"):
        runs_to_compare(RUNS, None, None, "t")

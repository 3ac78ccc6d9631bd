"""What every command shares (generator/cli/options.py): errors without tracebacks, the
reproducing command line, plain-text tables."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from generator.cli.options import _table, handles_errors, invocation_args, registry_option
from generator.errors import InputError, OpsBenchError, Problem


@click.command()
@registry_option
@click.option("--case", "case_ids", multiple=True)
@click.option("--repeats", default=1)
@click.option("--fast", is_flag=True)
@click.option("--fail", default=None)
@handles_errors
def tool(registry_dir: Path, case_ids: tuple[str, ...], repeats: int, fast: bool, fail: str | None) -> None:
    if fail == "input":
        raise InputError([Problem("registry/models.yaml", 3, "unknown key 'x'")])
    if fail == "other":
        raise OpsBenchError("the runs folder is locked")
    click.echo(" ".join(invocation_args(click.get_current_context())))


def test_invocation_args_keeps_non_defaults_only() -> None:
    result = CliRunner().invoke(tool, ["--case", "a", "--case", "b", "--repeats", "1", "--fast"])
    assert result.output == "--case a --case b --fast\n"  # --repeats 1 is the default; --registry unchanged


def test_errors_are_one_message_and_an_exit_code() -> None:
    result = CliRunner().invoke(tool, ["--fail", "input"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "registry/models.yaml:3: unknown key 'x'\n1 problem(s) found; nothing was written.\n"
    result = CliRunner().invoke(tool, ["--fail", "other"])
    assert (result.exit_code, result.stderr) == (1, "error: the runs folder is locked\n")


def test_table_pads_every_column() -> None:
    rows = [{"model": "a", "cases": 3}, {"model": "longer", "cases": 12}]
    assert _table(rows, ["model", "cases"]) == "model   cases\n------  -----\na       3    \nlonger  12   "

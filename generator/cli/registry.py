"""``opsbench validate`` and ``opsbench tasks``: the registry and its task files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.cli.options import _table, handles_errors, json_option, registry_option


@click.command()
@registry_option
@json_option
@handles_errors
def validate(registry_dir: Path, json_: bool) -> None:
    """Check every registry and task file, including cross-references.

    Prints one `file:line: message` per problem and exits 2 if there is any.

    Example:

        opsbench validate --registry registry/
    """
    from generator.registry.loader import load_registry
    from generator.registry.summary import registry_summary

    reg = load_registry(registry_dir)
    summary = registry_summary(reg)
    if json_:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(
        f"registry OK: {summary['models']} models, {summary['roles']} roles, "
        f"{summary['workloads']} workloads, {summary['machines']} machines, "
        f"{summary['cases']} cases in {len(summary['suites'])} suites"
    )
    click.echo("cases per role:     " + ", ".join(f"{k} {v}" for k, v in summary["cases_per_role"].items()))
    click.echo("cases per workload: " + ", ".join(f"{k} {v}" for k, v in summary["cases_per_workload"].items()))


@click.group()
def tasks() -> None:
    """List and scaffold contributor task cases."""


@tasks.command("list")
@registry_option
@click.option("--suite", default=None, help="Only this suite.")
@json_option
@handles_errors
def tasks_list(registry_dir: Path, suite: str | None, json_: bool) -> None:
    """List task cases: suite, id, role, workload, severity, checks.

    Example:

        opsbench tasks list --suite smoke
    """
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    rows = [
        {
            "suite": s,
            "id": c.id,
            "role": c.role,
            "workload": c.workload or "",
            "severity": c.severity,
            "checks": ",".join(ch.kind for ch in c.checks),
        }
        for s, c in reg.all_cases()
        if suite is None or s == suite
    ]
    if suite is not None and suite not in reg.suites:
        raise click.UsageError(f"unknown suite {suite!r}")
    if json_:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows, ["suite", "id", "role", "workload", "severity", "checks"]))


@tasks.command("new")
@registry_option
@click.argument("suite")
@click.argument("case")
@click.option("--role", default="draft", show_default=True, help="Role the case exercises.")
@click.option("--workload", default=None, help="Workload the case belongs to.")
@handles_errors
def tasks_new(registry_dir: Path, suite: str, case: str, role: str, workload: str | None) -> None:
    """Scaffold registry/tasks/SUITE/CASE.yaml from a commented template.

    Refuses to overwrite an existing case. Edit the file, then run
    `opsbench validate`.

    Example:

        opsbench tasks new claims_ops claim-summary-009 --role draft --workload claim-summarization
    """
    from generator.registry.scaffold import scaffold_case

    path = scaffold_case(registry_dir, suite, case, role, workload)
    click.echo(f"created {path}")
    click.echo("edit it, then run: opsbench validate")

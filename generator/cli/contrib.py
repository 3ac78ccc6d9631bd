"""``opsbench check-run`` and ``opsbench ci``: contributed runs and the pull-request workflow."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.cli.options import handles_errors, json_option, registry_option, runs_option
from generator.errors import InputError, Problem


@click.command("check-run")
@registry_option
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Refuse a stale run (made at other registry or suite files).")
@json_option
@handles_errors
def check_run_cmd(registry_dir: Path, run_dirs: tuple[Path, ...], strict: bool, json_: bool) -> None:
    """Check contributed run folders before they land in runs/.

    Schema and version; registry and suite hashes against the files at this commit (a
    mismatch labels the run stale); every result key within the manifest's models × cases
    × repeats × load levels, none twice; no secrets; decode speed under the named machine's
    bandwidth ceiling; outputs within the policy's size limit. One `file:line: message`
    per problem, exit 2.

    Example:

        opsbench check-run runs/20261124-080711-smoke-d19d8a
    """
    from generator.contrib.check import check_runs
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    reports = check_runs(list(run_dirs), reg)
    problems = [p for r in reports for p in r.problems]
    if strict:
        problems += [Problem(str(r.path / "manifest.json"), None, f"stale: {s}") for r in reports for s in r.stale]
    if json_:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            if r.ok:
                state = "stale" if r.stale else "OK"
                click.echo(f"{r.path}: {state}: run {r.run_id} ({r.origin}), {r.results} results; {r.plan}")
                if r.outputs:
                    click.echo(f"  stores: {r.outputs}")
                for s in r.stale:
                    click.echo(f"  stale: {s}")
                for n in r.notes:
                    click.echo(f"  note: {n}")
    if problems:
        raise InputError(problems)


@click.group()
def ci() -> None:
    """What the pull-request workflow runs (.github/workflows/pull-request.yml)."""


def _base_option(fn):  # type: ignore[no-untyped-def]
    return click.option(
        "--base", required=True, help="Git revision the pull request is compared with (e.g. origin/main)."
    )(fn)


@ci.command("changed")
@registry_option
@runs_option
@_base_option
@json_option
@handles_errors
def ci_changed(registry_dir: Path, runs_dir: Path, base: str, json_: bool) -> None:
    """List the task cases and run folders changed since BASE (committed, uncommitted, untracked).

    Example:

        opsbench ci changed --base origin/main
    """
    from generator.contrib.changes import changed_since

    ch = changed_since(base, registry_dir, runs_dir)
    if json_:
        click.echo(json.dumps(ch.as_dict(), indent=2))
        return
    for suite, cases in ch.cases.items():
        for case in cases:
            click.echo(f"case {suite} {case}")
    for folder in ch.runs:
        click.echo(f"run {folder}")
    if not ch.cases and not ch.runs:
        click.echo(f"no task case or run folder changed since {base}")


@ci.command("pr")
@registry_option
@runs_option
@_base_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("ci-runs"),
    show_default=True,
    help="Where the runs of the changed cases go (the workflow uploads it).",
)
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Append the Markdown summary here (the workflow passes $GITHUB_STEP_SUMMARY).",
)
@handles_errors
def ci_pr(registry_dir: Path, runs_dir: Path, base: str, out_dir: Path, summary_file: Path | None) -> None:
    """check-run every changed run folder, then run the changed cases on the embedded models.

    Hosted models run only when their key variable is set (a maintainer's secret); other
    local servers are not in CI. Exits 2 when a run folder has a problem; a model failing a
    case is reported, not a failure.

    Example:

        opsbench ci pr --base origin/main --out ci-runs --summary "$GITHUB_STEP_SUMMARY"
    """
    from generator.contrib.changes import changed_since, pr_check, raise_problems, repo_root
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    repo = repo_root()
    ch = changed_since(base, registry_dir, runs_dir, repo)
    outcome = pr_check(reg, ch, out_dir, repo)
    if summary_file is not None:
        with summary_file.open("a", encoding="utf-8") as fh:
            fh.write(outcome.summary + "\n")
    click.echo(outcome.summary)
    raise_problems(outcome.problems)

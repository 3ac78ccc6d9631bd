"""Shared pieces of the command line: options, error handling, plain-text tables.

Every command module in ``generator.cli`` imports its options from here, so an option
is spelt once and command modules need not import one another.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from generator.errors import InputError, OpsBenchError


def _fail(exc: OpsBenchError) -> None:
    if isinstance(exc, InputError):
        for p in exc.problems:
            click.echo(str(p), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was written.", err=True)
    else:
        click.echo(f"error: {exc}", err=True)
    sys.exit(exc.exit_code)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one clean message and the right exit code, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpsBenchError as exc:
            _fail(exc)

    return wrapper


registry_option = click.option(
    "--registry",
    "registry_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("registry"),
    show_default=True,
    help="Registry folder (models, roles, policy, hardware, pricing, workloads, tasks).",
)
runs_option = click.option(
    "--runs",
    "runs_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs"),
    show_default=True,
    help="Folder holding one sub-folder per run.",
)
json_option = click.option("--json", "json_", is_flag=True, help="Print JSON instead of a table.")


def out_folder_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--out``: the folder a new run (or mining, orchestration) folder is created in; default runs/."""
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("runs"),
        show_default=True,
        help=f"Folder the {what} folder is created in.",
    )


def invocation_args(ctx: click.Context) -> list[str]:
    """The command line that reproduces this invocation (non-default options only)."""
    args = ctx.command_path.split()[1:]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        value = ctx.params.get(param.name)
        default = param.get_default(ctx, call=True)
        if value is None or value == default or value == () or value is False:
            continue
        flag = max(param.opts, key=len)
        if param.is_flag:
            args.append(flag)
            continue
        for v in value if isinstance(value, tuple) else (value,):
            args += [flag, str(v)]
    return args


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns))
    return "\n".join(lines)

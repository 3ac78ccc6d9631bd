"""The ``opsbench`` command line: one module per command group, each command parses,
calls one library function and prints.

Heavy imports (pandas, llama_cpp, mkdocs) happen inside the commands, so
``opsbench --help`` stays instant. Shared options live in :mod:`generator.cli.options`.
"""

from __future__ import annotations

import click

from generator import __version__
from generator.cli.analyze import decide, diff, export_routing, leaderboard, promote
from generator.cli.contrib import check_run_cmd, ci
from generator.cli.ingest import ingest
from generator.cli.mine import mine
from generator.cli.orchestrate import orchestrate
from generator.cli.plan import plan, proxy
from generator.cli.planning import capacity, cost, roi
from generator.cli.registry import tasks, validate
from generator.cli.review import review
from generator.cli.run import probe, run
from generator.cli.site import build


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="opsbench")
def cli() -> None:
    """Local Model Ops Bench: run task suites against local and hosted models,
    decide which work may be routed local, and publish the evidence as a site.

    Start with `opsbench validate`, then `opsbench run --suite smoke`, then
    `opsbench build`.
    """


for _command in (
    validate,
    tasks,
    run,
    probe,
    leaderboard,
    promote,
    decide,
    export_routing,
    diff,
    build,
    capacity,
    cost,
    roi,
    ingest,
    review,
    mine,
    plan,
    proxy,
    check_run_cmd,
    ci,
    orchestrate,
):
    cli.add_command(_command)


def main() -> None:
    """The ``opsbench`` entry point (pyproject.toml: ``generator.cli:main``)."""
    cli(prog_name="opsbench")


__all__ = ["cli", "main"]

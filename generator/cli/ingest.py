"""``opsbench ingest``: parse, call :func:`generator.ingest.ingest_file`, print."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.cli.options import (
    _table,
    handles_errors,
    invocation_args,
    json_option,
    out_folder_option,
    registry_option,
)
from generator.ingest import FORMATS
from generator.registry.schema import SLUG_RE


def _suite(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not SLUG_RE.fullmatch(value) or len(value) > 60):
        raise click.BadParameter("use lower-case letters, digits, '-', '_' or '.' (at most 60 characters)")
    return value


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(list(FORMATS)))
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--model", default=None, help="Registry model id for every record (single-model files only).")
@click.option("--suite", default=None, callback=_suite, help="Suite name of the run [default: ingest-FORMAT].")
@out_folder_option("run")
@registry_option
@json_option
@handles_errors
def ingest(
    fmt: str,
    path: Path,
    model: str | None,
    suite: str | None,
    out_dir: Path,
    registry_dir: Path,
    json_: bool,
) -> None:
    """Convert another harness's result file into a run folder.

    FORMAT is one of: aider, lm-eval, promptfoo, inspect, llama-bench, vllm,
    guidellm, csv, jsonl. Model names match registry ids only through the
    `aliases` table of registry/models.yaml (or --model); other names are kept as
    external models. Re-ingesting the same file writes nothing. A bad file exits
    2 with file:line problems and leaves no folder behind.

    Example:

    \b
        opsbench ingest aider polyglot_leaderboard.yml
        opsbench ingest lm-eval results_2025-01-21T00-40-03.356274.json --model llama3.1-8b
        opsbench ingest vllm vllm-result.json --out runs/ --json
    """
    from generator.ingest import ingest_file

    ctx = click.get_current_context()
    args = [a for a in invocation_args(ctx) if a != "--json"]  # output format: not part of the run
    args[1:1] = [fmt, str(path)]
    outcome = ingest_file(fmt, path, out_dir, registry_dir, model=model, suite=suite, cli_args=args)
    if json_:
        click.echo(json.dumps(outcome.as_dict(), indent=2))
        return
    if outcome.written:
        click.echo(f"ingested {path.name} as run {outcome.run_id} -> {outcome.path}")
    else:
        click.echo(f"already ingested: run {outcome.run_id} holds this file (same sha256); nothing written")
    counts = [
        f"{n} {what}"
        for n, what in (
            (outcome.results, "results"),
            (outcome.summaries, "summaries"),
            (outcome.perf, "perf"),
        )
        if n
    ]
    click.echo("records: " + ", ".join(counts))
    rows = [
        {
            "source name": m["source"],
            "model id": m["model_id"],
            "matched by": m["matched_by"] if not m["external"] else "external (no alias)",
        }
        for m in outcome.models
    ]
    click.echo(_table(rows, ["source name", "model id", "matched by"]))
    if outcome.external_models:
        click.echo(
            f"{len(outcome.external_models)} external model(s): to match one to a registry id, add an "
            "alias in registry/models.yaml, delete the run folder and ingest again"
        )
    for item in outcome.unmapped:
        click.echo(f"not mapped: {item}")

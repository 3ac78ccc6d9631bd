"""``opsbench run`` (with --resume and --escalate) and ``opsbench probe``: execute models."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from generator.cli.options import handles_errors, invocation_args, json_option, out_folder_option, registry_option


@click.command()
@registry_option
@click.option("--suite", required=False, default=None, help="Suite to run (registry/tasks/<suite>).")
@click.option("--models", default=None, help="Comma-separated model ids; default: every embedded model.")
@click.option("--repeats", default=1, show_default=True, type=int, help="Runs of each case.")
@click.option("--concurrency", default=1, show_default=True, type=int, help="Requests in flight.")
@click.option("--sweep", default=None, help="Several load levels, e.g. 1,3,5 (overrides --concurrency).")
@click.option("--max-tokens", default=None, type=int, help="Override every case's max_tokens.")
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@click.option("--machine", default=None, help="Hardware profile id this run executes on.")
@click.option("--judges", default=None, help="Comma-separated judge model ids (default: policy.yaml judge.judges).")
@click.option("--resume", "resume_id", default=None, help="Finish an interrupted run by id.")
@click.option(
    "--escalate",
    "escalate_role",
    default=None,
    help="Run ROLE's escalation chain live: its cases go to the first rung, and on to the next "
    "only when a trigger fires.",
)
@click.option(
    "--redact-outputs/--keep-outputs",
    "redact_outputs",
    default=None,
    help="Keep a sha256 of each output and its check outcomes, not its text "
    "(default: policy.yaml privacy.redact_outputs).",
)
@out_folder_option("run")
@handles_errors
def run(
    registry_dir: Path,
    suite: str | None,
    models: str | None,
    repeats: int,
    concurrency: int,
    sweep: str | None,
    max_tokens: int | None,
    case_ids: tuple[str, ...],
    machine: str | None,
    judges: str | None,
    resume_id: str | None,
    escalate_role: str | None,
    redact_outputs: bool | None,
    out_dir: Path,
) -> None:
    """Run a task suite against models; write runs/<run-id>/manifest.json and results.jsonl.

    Each finished request is appended and fsynced at once, so an interrupted run
    loses nothing that finished: finish it with --resume RUN_ID. With --escalate
    ROLE the models are the role's chain (roles.yaml escalation) and each result
    records which rung it came from and whether it answered.

    Example:

        opsbench run --suite smoke
        opsbench run --suite claims_ops --models llama3.1-8b,qwen3.6-27b --repeats 3 --sweep 1,3,5
        opsbench run --suite claims_ops --escalate classify
        opsbench run --suite smoke --redact-outputs
    """
    from generator.execute.progress import make_progress
    from generator.execute.runner import resume_run, start_run
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    if resume_id is None and suite is None:
        raise click.UsageError("give --suite (or --resume RUN_ID)")
    progress = make_progress(sys.stderr)
    created: list[str] = [resume_id] if resume_id else []
    # What a new run and a new escalation-chain run take alike.
    common = {
        "cli_args": invocation_args(click.get_current_context()),
        "max_tokens": max_tokens,
        "machine": machine,
        "case_ids": list(case_ids) or None,
        "progress": progress,
        "on_created": created.append,
    }
    try:
        if resume_id:
            path = resume_run(reg, resume_id, out_dir, progress=progress)
        elif escalate_role:
            if redact_outputs:
                raise click.UsageError("--redact-outputs is not available with --escalate yet")
            if models or sweep or concurrency != 1 or judges is not None:
                raise click.UsageError(
                    "--escalate takes its models and judges from the chain; "
                    "drop --models/--sweep/--concurrency/--judges"
                )
            from generator.execute.escalation import start_chain_run

            path = start_chain_run(reg, suite or "", escalate_role, repeats, out_dir, **common)
        else:
            levels = [int(x) for x in sweep.split(",")] if sweep else [concurrency]
            ids = [m.strip() for m in models.split(",") if m.strip()] if models else None
            path = start_run(
                reg,
                suite or "",
                ids,
                repeats,
                levels,
                out_dir,
                **common,
                judges=[j.strip() for j in judges.split(",") if j.strip()] if judges is not None else None,
                redact_outputs=redact_outputs,
            )
    except KeyboardInterrupt:
        progress.close()
        click.echo("\ninterrupted: every finished request is saved.", err=True)
        if created:
            click.echo(f"resume with: opsbench run --resume {created[0]} --out {out_dir}", err=True)
        sys.exit(130)
    progress.close()
    from generator.runs.writer import RunFolder

    m = RunFolder(path).read_manifest()
    click.echo(f"run {m.run_id}: {m.status}, results in {path}")


@click.command()
@registry_option
@click.argument("model_id", required=False)
@json_option
@handles_errors
def probe(registry_dir: Path, model_id: str | None, json_: bool) -> None:
    """Readiness probe: a one-token generation, ready only if it returns under the threshold.

    Reports load time, the cold first completion and a warm one. Exits 3 when the
    model is not ready (policy.yaml: readiness.probe_max_s).

    Example:

        opsbench probe gemma3-270m
    """
    from generator.execute.probe import probe as run_probe
    from generator.execute.providers.http import make_provider
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    model = reg.models.get(model_id) if model_id else reg.default_model()
    if model is None:
        raise click.UsageError(f"unknown model {model_id!r}")
    provider = make_provider(model, reg.policy.execution)
    try:
        result = run_probe(model, provider, reg.policy)
    finally:
        provider.close()
    if json_:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        state = "READY" if result.ready else "NOT READY"
        load = "—" if result.load_s is None else f"{result.load_s:.2f} s"
        warm = "—" if result.warm_s is None else f"{result.warm_s:.3f} s"
        click.echo(f"{model.id}: {state}: {result.detail}")
        click.echo(f"  load {load}, cold first token {result.cold_s:.2f} s, warm {warm}")
    if not result.ready:
        sys.exit(3)

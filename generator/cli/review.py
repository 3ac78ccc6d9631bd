"""``opsbench review sample / add / report``: parse, call one library function, print."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli.options import _table, handles_errors, invocation_args, json_option, registry_option

if TYPE_CHECKING:
    from generator.analysis.review import ReviewReport
    from generator.review.sheet import SheetFormat

# `--runs` as every other command spells it; `--runs-dir` reads better beside `--out FILE`.
runs_dir_option = click.option(
    "--runs",
    "--runs-dir",
    "runs_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs"),
    show_default=True,
    help="Folder holding one sub-folder per run.",
)


@click.group()
def review() -> None:
    """Human review as evidence: draw a blind sample, add the grades, report them."""


def _format(out: Path | None, fmt: str | None) -> SheetFormat:
    if fmt == "yaml" or (fmt is None and out is not None and out.suffix.lower() in (".yaml", ".yml")):
        return "yaml"
    return "csv"


@review.command("sample")
@registry_option
@runs_dir_option
@click.option("--workload", "workload_id", required=True, help="Workload whose results are sampled.")
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Items to draw.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Review file to write [default: review-WORKLOAD.csv or .yaml]; its key goes to OUT.key.json.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "yaml"]), default=None, help="[default: from --out, else csv]"
)
@click.option("--seed", type=int, default=None, help="Sample seed [default: policy.yaml review.sample_seed].")
@json_option
@handles_errors
def review_sample(
    registry_dir: Path,
    runs_dir: Path,
    workload_id: str,
    n: int,
    out: Path | None,
    fmt: str | None,
    seed: int | None,
    json_: bool,
) -> None:
    """Draw a blind, stratified sample of a workload's results for a human to grade.

    Equal numbers per model where possible, on the same cases for every model that ran
    them; hard failures are left out and counted. The review file holds an opaque item
    id, the task, the output and an empty field per rubric dimension (workloads.yaml
    review_rubric) plus reviewer and notes; never a model, run or result key. Those go to
    OUT.key.json, which the reviewer does not need. Refuses to overwrite either file.
    In CSV, a cell starting with = + - or @ gets a leading ' so no spreadsheet runs it.

    Example:

    \b
        opsbench review sample --workload claim-summarization --n 40 --out review-claims.csv
        opsbench review sample --workload field-extraction --n 20 --format yaml --seed 7
    """
    from generator.registry.loader import load_registry
    from generator.review.sample import draw_sample

    reg = load_registry(registry_dir)
    if workload_id not in reg.workloads:
        raise click.BadParameter(f"unknown workload {workload_id!r}", param_hint="--workload")
    chosen = _format(out, fmt)
    target = out or Path(f"review-{workload_id}.{chosen}")
    outcome = draw_sample(reg, runs_dir, workload_id, n, target, chosen, seed)
    if json_:
        click.echo(json.dumps(outcome.as_dict(), indent=2))
        return
    click.echo(f"wrote {outcome.items} items to {outcome.sheet} (seed {outcome.seed}); key: {outcome.key}")
    if outcome.items < outcome.requested:
        click.echo(f"asked for {outcome.requested}, but only {outcome.eligible} results can be graded")
    click.echo(
        f"eligible results: {outcome.eligible}; excluded: {outcome.excluded_hard_failures} hard failure(s), "
        f"{outcome.excluded_no_output} without output, {outcome.excluded_unknown_case} of cases no longer "
        "in the registry"
    )
    rows = [{"model": m, "items": k} for m, k in outcome.per_model.items()]
    click.echo(_table(rows, ["model", "items"]))
    click.echo(f"cases drawn for every model: {outcome.shared_cases}")
    click.echo("send the reviewer only the review file; keep the .key.json beside it for `opsbench review add`")


@review.command("add")
@runs_dir_option
@click.argument("sheet", metavar="FILE", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--reviewer", default=None, help="Reviewer id for rows whose reviewer field is empty.")
@json_option
@handles_errors
def review_add(runs_dir: Path, sheet: Path, reviewer: str | None, json_: bool) -> None:
    """Check a filled review file against FILE.key.json and store its grades as evidence.

    Every bad grade (not an integer, outside the scale, unknown or repeated item id,
    no reviewer) is printed as FILE:LINE: message, all at once, with exit code 2 and
    nothing written. A good file becomes one human-review folder in the runs folder
    (manifest.json + reviews.jsonl). Adding the same grades twice is refused.

    Example:

        opsbench review add review-claims.csv --reviewer dana
    """
    from generator.review.store import add_review

    args = [a for a in invocation_args(click.get_current_context()) if a != "--json"]
    args[2:2] = [str(sheet)]
    outcome = add_review(sheet, runs_dir, reviewer, cli_args=args)
    if json_:
        click.echo(json.dumps(outcome.as_dict(), indent=2))
        return
    click.echo(f"stored {outcome.graded} graded item(s) as review {outcome.run_id} -> {outcome.path}")
    if outcome.ungraded:
        click.echo(f"{outcome.ungraded} item(s) left blank were skipped")
    click.echo(f"reviewers: {', '.join(outcome.reviewers)}; runs graded: {', '.join(outcome.source_run_ids)}")


def _num(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def _interval(low: float | None, high: float | None, spec: str) -> str:
    return "—" if low is None or high is None else f"[{low:{spec}}, {high:{spec}}]"


def _report_text(rep: ReviewReport) -> list[str]:
    level = f"{rep.level:.0%}"
    out = [
        f"{rep.grades} grade(s) of {rep.results} result(s); human acceptable = every dimension >= "
        f"{rep.acceptable_score}; judge accepts at score >= {rep.judge_acceptable_score}",
        "",
        f"Human scores (mean over graded results, {level} bootstrap interval)",
    ]
    rows = [
        {
            "workload": s.workload,
            "model": s.model_id,
            "dimension": s.dimension,
            "n": s.n,
            "mean": _num(s.mean, ".2f"),
            "interval": _interval(s.low, s.high, ".2f"),
        }
        for s in rep.scores
    ]
    out.append(_table(rows, ["workload", "model", "dimension", "n", "mean", "interval"]))
    out += ["", f"Gap to the baseline on shared cases (model − baseline, {level} bootstrap interval)"]
    rows = [
        {
            "workload": g.workload,
            "model": g.model_id,
            "baseline": g.baseline,
            "dimension": g.dimension,
            "cases": g.n_cases,
            "gap": _num(g.gap, "+.2f"),
            "interval": _interval(g.low, g.high, "+.2f"),
        }
        for g in rep.gaps
    ]
    out.append(_table(rows, ["workload", "model", "baseline", "dimension", "cases", "gap", "interval"]))
    out += ["", "Agreement with the human verdict (Cohen's kappa)"]
    rows = [
        {
            "workload": a.workload,
            "raters": f"{a.rater_a} vs {a.rater_b}",
            "n": a.n,
            "agree": _num(a.observed, ".0%"),
            "kappa": _num(a.kappa, ".2f") if a.note is None else a.note,
        }
        for a in rep.agreement
    ]
    out.append(_table(rows, ["workload", "raters", "n", "agree", "kappa"]))
    if rep.notes:
        out += ["", *[f"note: {n}" for n in rep.notes]]
    return out


@review.command("report")
@registry_option
@runs_dir_option
@click.option("--workload", "workload_id", default=None, help="Only this workload.")
@json_option
@handles_errors
def review_report(registry_dir: Path, runs_dir: Path, workload_id: str | None, json_: bool) -> None:
    """Human scores per model and dimension, the gap to the baseline, and agreement with checks and judges.

    Means carry a percentile bootstrap interval (policy.yaml review); the gap is paired on
    the cases both the model and the baseline were graded on; agreement is Cohen's kappa,
    or "not enough data" under two results or when a rater gave one verdict only.

    Example:

        opsbench review report --workload claim-summarization
    """
    from generator.analysis.review import review_report as build_report
    from generator.registry.loader import load_registry
    from generator.review.store import load_review_evidence
    from generator.runs.scan import load_reviews

    reg = load_registry(registry_dir)
    if workload_id is not None and workload_id not in reg.workloads:
        raise click.BadParameter(f"unknown workload {workload_id!r}", param_hint="--workload")
    _, records = load_reviews(runs_dir)
    evidence = load_review_evidence(runs_dir, records)
    baselines = {w.id: w.baseline for w in reg.workloads_file.workloads}
    rep = build_report(records, evidence, baselines, reg.policy.review, workload_id)
    if json_:
        click.echo(json.dumps(dataclasses.asdict(rep), indent=2))
        return
    if not rep.grades:
        click.echo("no grades yet" + (f" for {workload_id}" if workload_id else "") + ": see opsbench review sample")
        return
    click.echo("\n".join(_report_text(rep)))

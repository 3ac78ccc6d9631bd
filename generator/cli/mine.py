"""The ``mine`` command: parse, call ``generator.mine.run.mine``, print aggregates (never a prompt)."""

from __future__ import annotations

import json
import sys
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


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _ci(s) -> str:  # a mix.Share
    if s.share is None:
        return "— (no prompts)"
    return f"{_pct(s.share)} [{_pct(s.low)}, {_pct(s.high)}]"


@click.command()
@registry_option
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["claude-code", "jsonl", "csv"]),
    default="claude-code",
    show_default=True,
    help="claude-code: session transcripts (~/.claude/projects/*/*.jsonl, user turns only); "
    "jsonl / csv: one prompt per line or row in --column.",
)
@click.option("--column", default="prompt", show_default=True, help="jsonl/csv: the field holding the prompt.")
@click.option("--id-column", default=None, help="jsonl/csv: a field holding a stable id (default: file:line).")
@click.option(
    "--classifier",
    default=None,
    help="Registry model that labels what no rule matched [default: policy.yaml mining.classifier, "
    "else the embedded model]. A hosted model is used only when named.",
)
@click.option(
    "--audit",
    "audit_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="A person's tiers for audited ids (CSV: id,tier): adds Cohen's kappa to the aggregates.",
)
@out_folder_option("mining")
@json_option
@handles_errors
def mine(
    registry_dir: Path,
    path: Path,
    fmt: str,
    column: str,
    id_column: str | None,
    classifier: str | None,
    audit_path: Path | None,
    out_dir: Path,
    json_: bool,
) -> None:
    """Classify a prompt history by category, complexity and minimum model tier; write aggregates only.

    Deterministic rules (policy.yaml mining.rules) run first; a registry model labels the
    rest. The mining folder holds counts per category x tier with Wilson intervals, the
    share offloadable at each local tier and the audit sample's ids, never a prompt. A line
    that is not JSON or lacks a message is reported as file:line and skipped; a file that
    is not a transcript at all is refused (exit 2).

    Example:

        opsbench mine ~/.claude/projects --format claude-code
        opsbench mine prompts.csv --format csv --column text --audit audit.csv
    """
    from generator.mine.run import mine as run_mine
    from generator.registry.loader import load_registry

    reg = load_registry(registry_dir)
    outcome = run_mine(
        reg,
        path,
        fmt,  # type: ignore[arg-type]
        out_dir,
        column=column,
        id_column=id_column,
        classifier=classifier,
        audit_path=audit_path,
        cli_args=invocation_args(click.get_current_context()),
    )
    for p in outcome.problems:
        click.echo(str(p), err=True)
    if outcome.problems:
        click.echo(f"{len(outcome.problems)} line(s) skipped; the rest was read.", err=True)
    m, mix = outcome.manifest, outcome.mix
    if json_:
        payload = {
            "run_id": m.run_id,
            "path": str(outcome.path),
            "manifest": m.model_dump(),
            "mix": mix.model_dump(),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    w = click.echo
    w(
        f"mined {m.prompts} prompts from {m.files} file(s), {m.projects} project(s), {m.sessions} session(s) "
        f"-> {outcome.path}"
    )
    if m.skipped:
        w("not prompts: " + ", ".join(f"{k} {v}" for k, v in m.skipped.items()))
    w("labelled by: " + (", ".join(f"{k} {v}" for k, v in mix.decided_by.items()) or "nothing"))
    level = f"{mix.level:.0%}"
    w("")
    w(f"Minimum tier ({level} Wilson intervals)")
    w(_table([{"tier": s.key, "prompts": s.k, "share": _ci(s)} for s in mix.by_tier], ["tier", "prompts", "share"]))
    w("")
    w("Offloadable (tier at most ...)")
    w(
        _table(
            [{"at most": s.key, "prompts": s.k, "share": _ci(s)} for s in mix.offloadable],
            ["at most", "prompts", "share"],
        )
    )
    w("")
    rows = [{"category": s.key, "prompts": s.k, "share": _ci(s)} for s in mix.by_category if s.k]
    w(_table(rows, ["category", "prompts", "share"]) if rows else "no prompts")
    if mix.claims:
        w("")
        w("The seed's shares beside this history's")
        w(
            _table(
                [
                    {
                        "seed says": c.claim,
                        "this history": _ci(c.ours),
                        "inside our interval": {True: "yes", False: "NO", None: "—"}[c.inside],
                    }
                    for c in mix.claims
                ],
                ["seed says", "this history", "inside our interval"],
            )
        )
    if mix.agreement is not None:
        a = mix.agreement
        w("")
        w(f"Agreement with the audit ({a.n} prompts; exact tier {_ci(a.exact)})")
        w(
            _table(
                [
                    {
                        "at most": t.at_most,
                        "n": t.n,
                        "agree": _pct(t.observed),
                        "kappa": f"{t.kappa:.2f}" if t.kappa is not None else (t.note or "—"),
                    }
                    for t in a.by_tier
                ],
                ["at most", "n", "agree", "kappa"],
            )
        )
    w("")
    w(f"audit sample ({len(mix.audit_ids)} ids; find each with grep in the history, write id,tier to a CSV):")
    for i in mix.audit_ids:
        w(f"  {i}")
    sys.stdout.flush()

"""What a pull request changed, and the CI pass over it (``opsbench ci changed`` / ``ci pr``).

The list comes from git (``git diff --name-only`` against the merge base, plus untracked
files), run as a subprocess with an argument list, never a shell: a branch name is data.
A case file counts when it still exists (a deleted case has nothing to run); a run folder
counts when any file in it changed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generator.errors import InputError, Problem, RunError
from generator.registry.loader import SUITE_META, Registry


@dataclass
class Changes:
    base: str
    cases: dict[str, list[str]] = field(default_factory=dict)  # suite -> new or changed case ids
    runs: list[str] = field(default_factory=list)  # run folders (paths relative to the repository)
    other: list[str] = field(default_factory=list)  # every other changed path

    def as_dict(self) -> dict[str, object]:
        return {"base": self.base, "cases": self.cases, "runs": self.runs, "other": self.other}


def _git(repo: Path, *args: str) -> list[str]:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunError(f"git {' '.join(args)}: {exc}") from None
    if out.returncode != 0:
        raise RunError(f"git {' '.join(args)}: {out.stderr.strip() or 'failed'}")
    return [ln for ln in out.stdout.splitlines() if ln.strip()]


def changed_paths(repo: Path, base: str) -> list[str]:
    """Paths changed since the merge base of ``base`` and HEAD, working tree and untracked files included."""
    if base.startswith("-"):
        raise RunError(f"base {base!r} is not a git revision")
    merge_base = _git(repo, "merge-base", base, "HEAD")[0]
    paths = _git(repo, "diff", "--name-only", "--no-renames", merge_base, "--")
    paths += _git(repo, "ls-files", "--others", "--exclude-standard")
    return sorted(set(paths))


def classify(paths: list[str], repo: Path, registry_dir: Path, runs_dir: Path, base: str) -> Changes:
    """Sort changed paths into task cases (still present), run folders (still present) and the rest."""
    ch = Changes(base=base)
    tasks = PurePosixPath(_rel(registry_dir, repo)) / "tasks"
    runs = PurePosixPath(_rel(runs_dir, repo))
    run_folders: set[str] = set()
    for raw in paths:
        p = PurePosixPath(raw)
        if p.parent.parent == tasks and p.suffix == ".yaml" and p.name != SUITE_META and (repo / p).is_file():
            ch.cases.setdefault(p.parent.name, []).append(p.stem)
        elif len(p.parts) > len(runs.parts) + 1 and p.parts[: len(runs.parts)] == runs.parts:
            folder = PurePosixPath(*p.parts[: len(runs.parts) + 1])
            if (repo / folder).is_dir():
                run_folders.add(str(folder))
        else:
            ch.other.append(raw)
    ch.cases = {s: sorted(c) for s, c in sorted(ch.cases.items())}
    ch.runs = sorted(run_folders)
    return ch


def _rel(path: Path, repo: Path) -> str:
    try:
        return (Path.cwd() / path).resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        raise RunError(f"{path} is not inside the repository {repo}") from None


def repo_root() -> Path:
    """The git work tree holding the current folder."""
    return Path(_git(Path.cwd(), "rev-parse", "--show-toplevel")[0])


def changed_since(base: str, registry_dir: Path, runs_dir: Path, repo: Path | None = None) -> Changes:
    repo = repo or repo_root()
    return classify(changed_paths(repo, base), repo, registry_dir, runs_dir, base)


def ci_models(reg: Registry, environ: Mapping[str, str] | None = None) -> tuple[list[str], list[str]]:
    """The models CI runs changed cases on: every embedded model, and a hosted one only when its
    key variable is set (a maintainer's secret). Returns (run, skipped with why)."""
    env = os.environ if environ is None else environ
    run, skipped = [], []
    for m in reg.models_file.models:
        keyed = m.provider == "hosted" and bool(m.api_key_env) and bool(env.get(m.api_key_env or ""))
        if m.provider == "embedded" or keyed:
            run.append(m.id)
        elif m.provider == "hosted":
            skipped.append(f"{m.id} (hosted: ${m.api_key_env} not set)")
    return run, skipped


@dataclass
class PrOutcome:
    changes: Changes
    run_folders: list[Path]
    skipped_models: list[str]
    summary: str
    problems: list[Problem]


def pr_check(
    reg: Registry,
    changes: Changes,
    out_dir: Path,
    repo: Path,
    environ: Mapping[str, str] | None = None,
    models: list[str] | None = None,
) -> PrOutcome:
    """check-run on every changed run folder, then each suite's changed cases on the CI models.

    Returns the Markdown job summary and every check-run problem (the caller exits 2 on any);
    a model failing a case is a finding for the summary, not a CI failure.
    """
    from generator.contrib.check import check_run
    from generator.execute.runner import start_run
    from generator.runs.reader import load_run

    problems: list[Problem] = []
    lines = [f"# opsbench pull-request check (base `{changes.base}`)", ""]
    if changes.runs:
        lines += ["## Contributed run folders", "", "| Run folder | Verdict | Stale | Plan |", "|---|---|---|---|"]
        for folder in changes.runs:
            rep = check_run(repo / folder, reg, environ, label=folder)
            problems += rep.problems
            verdict = "OK" if rep.ok else f"{len(rep.problems)} problem(s)"
            lines.append(f"| `{folder}` | {verdict} | {_md('; '.join(rep.stale)) or 'no'} | {_md(rep.plan)} |")
        lines += [""] + [f"- `{_md(str(p))}`" for p in problems] + [""]
    ids, skipped = (models, []) if models is not None else ci_models(reg, environ)
    folders: list[Path] = []
    if changes.cases:
        lines += ["## New or changed cases", ""]
        if skipped:
            lines += ["Skipped: " + ", ".join(skipped), ""]
        lines += ["| Suite | Case | Model | Accepted | Failed checks | Seconds |", "|---|---|---|---|---|---|"]
        for suite, case_ids in changes.cases.items():
            if suite not in reg.suites:
                continue
            args = ["run", "--suite", suite, "--models", ",".join(ids), *[a for c in case_ids for a in ("--case", c)]]
            path = start_run(reg, suite, ids, 1, [1], out_dir, cli_args=args, case_ids=case_ids)
            folders.append(path)
            _, rows = load_run(path)
            for r in sorted(rows, key=lambda r: (r["case_id"], r["model_id"])):
                failed = [c["id"] for c in r["score"]["checks"] if not c["passed"]]
                e2e = r["timing"].get("e2e_s")
                lines.append(
                    f"| {suite} | `{_md(r['case_id'])}` | {_md(r['model_id'])} | "
                    f"{'yes' if r['score']['accepted'] else 'no'} | {_md(', '.join(failed)) or '—'} | "
                    f"{'—' if e2e is None else f'{e2e:.2f}'} |"
                )
        lines += ["", f"Run folders: {', '.join(f'`{p.name}`' for p in folders)} (uploaded as the job's artifact).", ""]
    if not changes.runs and not changes.cases:
        lines += ["No task case or run folder changed.", ""]
    return PrOutcome(changes, folders, skipped, "\n".join(lines), problems)


def _md(text: str) -> str:
    """Untrusted text in a Markdown table cell: no pipes, no HTML, one line."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def raise_problems(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)

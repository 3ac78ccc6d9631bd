"""``opsbench check-run``: may a contributed run folder land in ``runs/``?

A run made on someone else's machine is evidence only if it is what it says it is: a
run of this registry's cases on registry models, every result belonging to the plan its
manifest states, no key twice, no secret anywhere, timings a machine of the named kind
could produce, outputs within the policy's size limit. Every problem in the folder is
collected and reported as ``file:line: message`` (the CLI exits 2), so a contributor fixes
a pull request in one pass. A run made at an older registry is not refused: it is labelled
stale, with the hashes that differ (``--strict`` refuses it).

Read-only: nothing here writes a file. Model outputs and manifest text are untrusted: they
are parsed, never executed, never used as paths, and a secret found is named by its pattern,
never echoed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from generator.errors import Problem
from generator.registry.loader import Registry
from generator.runs.records import (
    MANIFEST_SCHEMA_VERSION,
    RESULT_SCHEMA_VERSION,
    REVIEW_ORIGIN,
    REVIEW_SCHEMA_VERSION,
    RUN_ID_RE,
    SIDECAR_FILE,
    Manifest,
    ResultRecord,
    ReviewManifest,
)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class CheckReport:
    """What ``check_run`` found in one folder."""

    path: Path
    run_id: str | None = None
    origin: str | None = None
    problems: list[Problem] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    results: int = 0
    plan: str = ""
    outputs: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "run_id": self.run_id,
            "origin": self.origin,
            "ok": self.ok,
            "problems": [str(p) for p in self.problems],
            "stale": self.stale,
            "results": self.results,
            "plan": self.plan,
            "outputs": self.outputs,
            "notes": self.notes,
        }


def _json_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of ``loc``'s last key in indented JSON text, found by walking the keys in order."""
    pos = 0
    found = None
    for part in loc:
        if not isinstance(part, str):
            continue
        i = text.find(f'"{part}"', pos)
        if i == -1:
            break
        pos, found = i, i
    return None if found is None else text.count("\n", 0, found) + 1


def _validation_problems(path: str, exc: ValidationError, line_of: Any) -> list[Problem]:
    out = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        out.append(Problem(path, line_of(err["loc"]), f"{where}: {err['msg']}"))
    return out


class _Secrets:
    """Known key formats (policy ``submissions.secret_patterns``), an assignment to a registry
    ``api_key_env`` name, and the values of those variables when set in this environment."""

    def __init__(self, reg: Registry, environ: Mapping[str, str]):
        sub = reg.policy.submissions
        self.patterns = [(p.id, re.compile(p.pattern)) for p in sub.secret_patterns]
        names = sorted({m.api_key_env for m in reg.models_file.models if m.api_key_env})
        if names:
            alt = "|".join(re.escape(n) for n in names)
            value = rf"[^\s\"',;]{{{sub.min_secret_chars},}}"
            self.patterns.append(("api_key_env assignment", re.compile(rf"\b(?:{alt})[\"']?\s*[=:]\s*[\"']?{value}")))
        self.values = [(n, environ[n]) for n in names if len(environ.get(n, "").strip()) >= sub.min_secret_chars]

    def scan(self, path: Path, shown: str) -> list[Problem]:
        out = []
        with path.open(encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                for pid, rx in self.patterns:
                    if rx.search(line):
                        out.append(Problem(shown, n, f"looks like a secret ({pid}): remove it and rotate the key"))
                for name, value in self.values:
                    if value in line:
                        out.append(Problem(shown, n, f"holds the value of ${name}: remove it and rotate the key"))
        return out


def check_run(
    run_dir: Path, reg: Registry, environ: Mapping[str, str] | None = None, *, label: str | None = None
) -> CheckReport:
    """Every problem with the run folder ``run_dir``, checked against registry ``reg``.

    ``environ`` (default ``os.environ``) supplies the values of the registry's ``api_key_env``
    variables, which must not appear in the folder. ``label`` is how paths are shown (default:
    the folder as given).
    """
    shown = label or str(run_dir)
    rep = CheckReport(path=run_dir)
    sub = reg.policy.submissions
    if run_dir.is_symlink() or not run_dir.is_dir():
        rep.problems.append(Problem(shown, None, "not a run folder (a folder, not a link, is expected)"))
        return rep
    secrets = _Secrets(reg, os.environ if environ is None else environ)
    readable: dict[str, Path] = {}
    for entry in sorted(run_dir.iterdir()):
        where = f"{shown}/{entry.name}"
        if entry.name == SIDECAR_FILE and entry.is_file() and not entry.is_symlink():
            # Derived from results.jsonl on this machine, ignored by git, never submitted: the
            # store rebuilds it, so the folder is judged by its JSONL alone.
            continue
        if entry.is_symlink() or not entry.is_file():
            rep.problems.append(Problem(where, None, "a run folder holds plain files only (no links, no folders)"))
            continue
        if entry.name not in sub.allowed_files:
            rep.problems.append(
                Problem(where, None, f"unexpected file; a run folder holds only {', '.join(sub.allowed_files)}")
            )
            continue
        size = entry.stat().st_size
        if size > sub.max_file_bytes:
            rep.problems.append(
                Problem(where, None, f"{size:,} bytes, above policy submissions.max_file_bytes {sub.max_file_bytes:,}")
            )
            continue
        try:
            entry.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            line = entry.read_bytes()[: exc.start].count(b"\n") + 1
            rep.problems.append(Problem(where, line, "not UTF-8 text"))
            continue
        readable[entry.name] = entry
        rep.problems.extend(secrets.scan(entry, where))
    if "manifest.json" not in readable:
        if not (run_dir / "manifest.json").exists():
            rep.problems.append(Problem(f"{shown}/manifest.json", None, "missing: every run folder has a manifest"))
        return rep
    manifest = _check_manifest(readable["manifest.json"], f"{shown}/manifest.json", run_dir.name, reg, rep)
    if manifest is None or not isinstance(manifest, Manifest):
        return rep
    results = readable.get("results.jsonl")
    records = _check_results(results, f"{shown}/results.jsonl", manifest, reg, rep) if results else []
    rep.results = len(records)
    if manifest.origin == "executed":
        _check_plan(manifest, records, f"{shown}/manifest.json", rep)
        _check_ceiling(manifest, records, f"{shown}/results.jsonl", reg, rep)
    return rep


def _check_manifest(
    path: Path, shown: str, folder_name: str, reg: Registry, rep: CheckReport
) -> Manifest | ReviewManifest | None:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        rep.problems.append(Problem(shown, exc.lineno, f"not JSON: {exc.msg}"))
        return None
    if not isinstance(data, dict):
        rep.problems.append(Problem(shown, 1, "a manifest is a JSON object"))
        return None
    review = data.get("origin") == REVIEW_ORIGIN
    model: type[Manifest] | type[ReviewManifest] = ReviewManifest if review else Manifest
    expected_version = REVIEW_SCHEMA_VERSION if review else MANIFEST_SCHEMA_VERSION
    try:
        m = model.model_validate(data)
    except ValidationError as exc:
        rep.problems.extend(_validation_problems(shown, exc, lambda loc: _json_line(text, tuple(loc))))
        return None
    rep.run_id, rep.origin = m.run_id, m.origin
    if m.schema_version != expected_version:
        rep.problems.append(
            Problem(
                shown,
                _json_line(text, ("schema_version",)),
                f"schema_version {m.schema_version}: this tool reads version {expected_version}",
            )
        )
    if m.run_id != folder_name:
        rep.problems.append(
            Problem(
                shown, _json_line(text, ("run_id",)), f"run_id {m.run_id!r} is not the folder's name {folder_name!r}"
            )
        )
    elif not RUN_ID_RE.fullmatch(m.run_id):
        rep.problems.append(Problem(shown, _json_line(text, ("run_id",)), f"unsafe run id {m.run_id!r}"))
    if isinstance(m, ReviewManifest):
        rep.plan = f"human review of {', '.join(m.source_run_ids)}"
        return m
    s = m.settings
    line = lambda *loc: _json_line(text, loc)  # noqa: E731
    for mid in s.models:
        if mid not in reg.models:
            rep.problems.append(
                Problem(shown, line("settings", "models"), f"unknown model {mid!r}: add it to models.yaml")
            )
    if m.origin == "executed":
        machines = {x.id for x in reg.hardware.machines}
        if s.machine is None:
            rep.problems.append(
                Problem(
                    shown,
                    line("settings", "machine"),
                    "names no machine profile: run with --machine ID (add the machine to hardware.yaml)",
                )
            )
        elif s.machine not in machines:
            rep.problems.append(
                Problem(shown, line("settings", "machine"), f"unknown machine {s.machine!r}: add it to hardware.yaml")
            )
        _check_hashes(m, reg, rep)
    privacy = reg.policy.privacy
    stored = m.privacy.outputs if m.privacy else "text"
    rep.outputs = "sha256 only" if stored == "sha256" else "output text"
    if m.origin == "executed" and m.privacy is None:
        rep.notes.append("records no privacy posture (made before manifests recorded one)")
    if privacy.redact_outputs and stored != "sha256" and m.origin == "executed":
        rep.problems.append(
            Problem(
                shown,
                line("privacy", "outputs"),
                "policy.yaml privacy.redact_outputs is true: submit runs made with --redact-outputs",
            )
        )
    return m


def _check_hashes(m: Manifest, reg: Registry, rep: CheckReport) -> None:
    if m.registry_hash != reg.content_hash:
        rep.stale.append(f"registry hash {m.registry_hash[:12]}… is not this commit's {reg.content_hash[:12]}…")
    suite = m.settings.suite
    if suite not in reg.suites:
        rep.stale.append(f"suite {suite!r} is not in the registry at this commit")
    elif m.suite_hash != reg.suite_hashes[suite]:
        rep.stale.append(
            f"suite {suite!r} hash {m.suite_hash[:12]}… is not this commit's {reg.suite_hashes[suite][:12]}…"
        )


def _check_results(
    path: Path, shown: str, m: Manifest, reg: Registry, rep: CheckReport
) -> list[tuple[int, ResultRecord]]:
    s = m.settings
    models, cases = set(s.models), set(m.case_ids)
    levels = set(s.concurrency_levels)
    limit = reg.policy.scoring.max_output_chars
    stored_sha = m.privacy is not None and m.privacy.outputs == "sha256"
    seen: dict[str, int] = {}
    records: list[tuple[int, ResultRecord]] = []
    raw = path.read_text(encoding="utf-8")
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    elif lines:
        rep.problems.append(Problem(shown, len(lines), "last line has no newline: a torn write"))
    for n, line in enumerate(lines, 1):
        p = lambda msg, n=n: rep.problems.append(Problem(shown, n, msg))  # noqa: E731
        if not line.strip():
            p("blank line")
            continue
        try:
            rec = ResultRecord.model_validate_json(line)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(x) for x in err["loc"]) or "(line)"
                p(f"{where}: {err['msg']}")
            continue
        records.append((n, rec))
        if rec.schema_version != RESULT_SCHEMA_VERSION:
            p(f"schema_version {rec.schema_version}: this tool reads version {RESULT_SCHEMA_VERSION}")
        if rec.run_id != m.run_id:
            p(f"run_id {rec.run_id!r} is not the manifest's {m.run_id!r}")
        if rec.key in seen:
            p(f"duplicate key {rec.key!r} (first on line {seen[rec.key]})")
        else:
            seen[rec.key] = n
        if m.origin != "executed":
            continue
        want = ResultRecord.make_key(rec.model_id, rec.case_id, rec.repeat, rec.concurrency)
        if rec.key != want:
            p(f"key {rec.key!r} does not match its fields ({want!r})")
        if rec.model_id not in models:
            p(f"model {rec.model_id!r} is not one of the manifest's models")
        if rec.case_id not in cases:
            p(f"case {rec.case_id!r} is not one of the manifest's cases")
        if not 1 <= rec.repeat <= s.repeats:
            p(f"repeat {rec.repeat} is outside 1..{s.repeats}")
        if rec.concurrency not in levels:
            p(f"load level {rec.concurrency} is not one of the manifest's {sorted(levels)}")
        if rec.suite != s.suite:
            p(f"suite {rec.suite!r} is not the manifest's {s.suite!r}")
        if rec.output is not None and len(rec.output) > limit:
            p(f"output of {len(rec.output):,} characters, above policy scoring.max_output_chars {limit:,}")
        if stored_sha and rec.output is not None:
            p("the manifest says outputs are redacted, but this line holds output text")
        if rec.output_sha256 is not None and not SHA256_RE.fullmatch(rec.output_sha256):
            p("output_sha256 is not a sha256 hex digest")
        p_timing = _timing_problem(rec)
        if p_timing:
            p(p_timing)
    return records


def _timing_problem(rec: ResultRecord) -> str | None:
    t = rec.timing
    named = {"ttft_s": t.ttft_s, "e2e_s": t.e2e_s, "itl_mean_s": t.itl_mean_s, "tpot_s": t.tpot_s}
    named |= {"output_tps": t.output_tps, "load_s": t.load_s}
    for name, value in named.items():
        if value is not None and (value != value or value < 0 or value == float("inf")):
            return f"timing {name} = {value}: a time or rate is finite and not negative"
    if t.ttft_s is not None and t.e2e_s is not None and t.ttft_s > t.e2e_s:
        return f"first token after {t.ttft_s:g} s but the request ended at {t.e2e_s:g} s"
    if rec.status == "ok" and t.e2e_s is None:
        return "an answered request without its end-to-end time"
    return None


def _check_plan(m: Manifest, records: list[tuple[int, ResultRecord]], shown: str, rep: CheckReport) -> None:
    s = m.settings
    planned = len(s.models) * len(m.case_ids) * s.repeats * len(s.concurrency_levels)
    rep.plan = (
        f"{len(s.models)} model(s) × {len(m.case_ids)} case(s) × {s.repeats} repeat(s) × "
        f"{len(s.concurrency_levels)} load level(s) = {planned}"
    )
    if m.expected_results != planned:
        rep.problems.append(Problem(shown, None, f"expected_results {m.expected_results} but the plan is {rep.plan}"))
    keys = {r.key for _, r in records}
    if m.status == "complete" and len(keys) < planned:
        rep.problems.append(
            Problem(shown, None, f"status complete, but {planned - len(keys)} of {planned} planned results are missing")
        )


def _check_ceiling(
    m: Manifest, records: list[tuple[int, ResultRecord]], shown: str, reg: Registry, rep: CheckReport
) -> None:
    """Median warm decode speed per model at its lowest load level (the evidence table's latency
    definition) against the named machine's bandwidth ceiling (capacity.py)."""
    machine = {x.id: x for x in reg.hardware.machines}.get(m.settings.machine or "")
    if machine is None or not records:
        return
    import pandas as pd

    from generator.analysis.capacity import is_local, throughput
    from generator.analysis.evidence import latency_samples, latency_summary

    df = pd.DataFrame(
        [
            {
                "model_id": r.model_id,
                "status": r.status,
                "failure_kind": r.failure_kind,
                "cold_start": r.cold_start,
                "concurrency": r.concurrency,
                "e2e_s": r.timing.e2e_s,
                "ttft_s": r.timing.ttft_s,
                "output_tps": r.timing.output_tps,
                "line": n,
            }
            for n, r in records
        ]
    )
    summary = latency_summary(latency_samples(df, ["model_id"]), ["model_id"])
    margin = reg.policy.submissions.ceiling_margin
    for row in summary.itertuples():
        model = reg.models.get(str(row.model_id))
        tps = row.output_tps_p50
        if model is None or not is_local(model) or tps != tps:
            continue
        # The most generous ceiling: the weights alone (one token of context, so the KV read is
        # negligible). A speed above even that cannot have been measured on this machine.
        t = throughput(machine, model, reg.hardware.capacity, context_tokens=1)
        if tps <= t.ceiling_tps * margin:
            continue
        at = df[(df["model_id"] == row.model_id) & (df["concurrency"] == row.level)]
        line = int(at["line"].min()) if len(at) else None
        rep.problems.append(
            Problem(
                shown,
                line,
                f"{model.id}: median warm decode {tps:.1f} tok/s at {row.level} in flight is above "
                f"{machine.id}'s bandwidth ceiling of {t.ceiling_tps:.1f} tok/s "
                f"({machine.bandwidth_gbs:g} GB/s ÷ ({t.params_active_b:g}B active × {t.bits_per_weight:g} bits ÷ 8 "
                f"= {t.gb_per_token:.4f} GB per token)"
                + (f" × margin {margin:g}" if margin != 1 else "")
                + "): it was not measured on that machine, or hardware.yaml understates it",
            )
        )


def check_runs(run_dirs: list[Path], reg: Registry, environ: Mapping[str, str] | None = None) -> list[CheckReport]:
    return [check_run(d, reg, environ) for d in run_dirs]

"""``opsbench ingest``: turn another harness's result file into a run folder.

One module per format reads the file into typed records in memory
(:class:`~generator.ingest.common.Extracted`); :func:`ingest_file` matches model
names through the registry's alias table, builds the manifest and hands
everything to the one writer. Per-sample sources become ``results.jsonl``,
aggregate-only sources ``summaries.jsonl``, serving benchmarks ``perf.jsonl``.
Nothing is invented: a field the source lacks stays empty, and what could not be
mapped is listed in ``manifest.source.unmapped``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from generator.registry.schema import ForeignLimits

#: format name -> (module under generator.ingest, function)
FORMATS: dict[str, tuple[str, str]] = {
    "aider": ("aider", "parse"),
    "lm-eval": ("lmeval", "parse"),
    "promptfoo": ("promptfoo", "parse"),
    "inspect": ("inspect_log", "parse"),
    "llama-bench": ("llamabench", "parse"),
    "vllm": ("vllm_bench", "parse"),
    "guidellm": ("guidellm", "parse"),
    "csv": ("generic", "parse_csv"),
    "jsonl": ("generic", "parse_jsonl"),
}


@dataclass
class IngestOutcome:
    """What one ``opsbench ingest`` did, for the command to print."""

    run_id: str
    path: Path
    format: str
    written: bool  # False: the same file was ingested before; nothing written
    results: int = 0
    summaries: int = 0
    perf: int = 0
    models: list[dict[str, Any]] = field(default_factory=list)
    external_models: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "format": self.format,
            "written": self.written,
            "results": self.results,
            "summaries": self.summaries,
            "perf": self.perf,
            "models": self.models,
            "external_models": self.external_models,
            "unmapped": self.unmapped,
            "notes": self.notes,
        }


@dataclass
class _RegistryFacts:
    """The little of ``registry/`` that ingesting needs: model ids, aliases, the text limits."""

    model_ids: set[str]
    aliases: dict[str, str]
    max_output_chars: int
    check_detail_chars: int
    error_text_chars: int
    content_hash: str
    limits: ForeignLimits


def _registry_facts(root: Path) -> _RegistryFacts:
    """Read ``models.yaml`` and ``policy.yaml`` only (parsing every task file is not needed).

    Problems are reported as ``opsbench validate`` would, with file:line.
    """
    from generator.errors import InputError, Problem
    from generator.inputguard import read_input_limits
    from generator.registry.loader import _hash_files
    from generator.registry.schema import ModelsFile, PolicyFile
    from generator.registry.yamlio import display_path, line_of, read_yaml, validate

    if not root.is_dir():
        raise InputError([Problem(display_path(root), None, "registry folder not found")])
    limits = read_input_limits(root)
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for name, schema in (("models.yaml", ModelsFile), ("policy.yaml", PolicyFile)):
        path = root / name
        if path.is_symlink() or not path.is_file():
            problems.append(Problem(display_path(path), None, "required registry file is missing"))
            continue
        raw[name] = read_yaml(path, problems, limits.registry)
        if raw[name] is not None:
            parsed[name] = validate(schema, raw[name], path, problems)
    if problems or any(v is None for v in parsed.values()):
        raise InputError(problems)
    models: ModelsFile = parsed["models.yaml"]
    ids = {m.id for m in models.models}
    for alias, target in models.aliases.items():
        if target not in ids:
            problems.append(
                Problem(
                    display_path(root / "models.yaml"),
                    line_of(raw["models.yaml"], ["aliases", alias]),
                    f"alias {alias!r} names unknown model {target!r}",
                )
            )
    if problems:
        raise InputError(problems)
    policy: PolicyFile = parsed["policy.yaml"]
    return _RegistryFacts(
        model_ids=ids,
        aliases=dict(models.aliases),
        max_output_chars=policy.scoring.max_output_chars,
        check_detail_chars=policy.scoring.check_detail_chars,
        error_text_chars=policy.execution.error_text_chars,
        content_hash=_hash_files([p for p in root.rglob("*.yaml") if p.is_file() and not p.is_symlink()], root),
        limits=limits.foreign,
    )


def _clip_texts(fields: dict[str, Any], detail_chars: int, error_chars: int) -> None:
    """Cut another tool's recorded error and its check details to the policy's lengths, once
    here for every format, as a run's own are (``execution.error_text_chars``,
    ``scoring.check_detail_chars``): a foreign file sets no limit on either."""
    from generator.runs.records import CaseScore
    from generator.textcut import clip

    if fields.get("error"):
        fields["error"] = clip(fields["error"], error_chars)
    score = fields.get("score")
    if isinstance(score, CaseScore):
        for outcome in score.checks:
            outcome.detail = clip(outcome.detail, detail_chars)


def ingest_file(
    fmt: str,
    path: Path,
    out_dir: Path,
    registry_dir: Path,
    *,
    model: str | None = None,
    suite: str | None = None,
    cli_args: list[str] | None = None,
) -> IngestOutcome:
    """Read ``path`` as ``fmt`` and write one run folder under ``out_dir``.

    Raises :class:`~generator.errors.InputError` (file:line problems) for a bad or
    truncated file, before anything is written. Re-ingesting the same file gives the
    same run id; if that folder already holds the same file, nothing is written.
    """
    from generator import __version__
    from generator.errors import InputError, Problem, RunError
    from generator.ingest import common
    from generator.registry.yamlio import display_path
    from generator.runs.records import (
        Manifest,
        ModelInRun,
        PerfRecord,
        ResultRecord,
        RunSettings,
        SummaryRecord,
    )
    from generator.runs.writer import utcnow, write_run_folder

    if fmt not in FORMATS:
        raise RunError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    reg = _registry_facts(registry_dir)
    if model is not None and model not in reg.model_ids:
        raise InputError(
            [Problem(display_path(registry_dir / "models.yaml"), None, f"--model {model!r} is not a model id")]
        )
    src = common.read_source(path, reg.limits, allow_zip=fmt == "inspect")
    module_name, func = FORMATS[fmt]
    parser = getattr(importlib.import_module(f"generator.ingest.{module_name}"), func)
    ctx = common.ParseContext(
        format=fmt, max_output_chars=reg.max_output_chars, model_override=model, limits=reg.limits
    )
    ex: common.Extracted = parser(src, ctx)

    if not (ex.results or ex.summaries or ex.perf):
        why = "; ".join(ex.unmapped) or "no records"
        raise common.fail(src.shown, f"nothing to ingest: {why}")
    names = ex.source_models()
    if model is not None and len(names) > 1:
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise common.fail(src.shown, f"--model needs a single-model file; this file names {len(names)} models: {shown}")

    suite = suite or f"ingest-{fmt}"
    run_id = common.run_id_for(ex.date, suite, src.sha256)
    target = out_dir / run_id
    resolver = common.ModelResolver(reg.aliases, model)

    results: list[ResultRecord] = []
    summaries: list[SummaryRecord] = []
    perf: list[PerfRecord] = []
    seen: dict[str, str] = {}
    clashes: list[Problem] = []

    def unique(key: str, source: str) -> None:
        if key in seen and seen[key] != source:
            clashes.append(
                Problem(
                    src.shown,
                    None,
                    f"records of {seen[key]!r} and {source!r} map to the same key {key!r}; "
                    "their aliases name the same registry model",
                )
            )
        elif key in seen:
            clashes.append(Problem(src.shown, None, f"two records share the key {key!r}"))
        seen[key] = source

    created = ex.date or utcnow()
    started_default = common.iso(created)
    for row in ex.results:
        m = resolver.resolve(row.source_model, row.names)
        f = {
            "role": common.INGESTED_ROLE,
            "workload": None,
            "severity": common.UNRATED,
            "repeat": 1,
            "concurrency": 1,
            "cold_start": False,
            "started_at": started_default,
            **row.fields,
        }
        _clip_texts(f, reg.check_detail_chars, reg.error_text_chars)
        key = ResultRecord.make_key(m.model_id, f["case_id"], f["repeat"], f["concurrency"])
        unique(key, row.source_model)
        results.append(ResultRecord(run_id=run_id, key=key, model_id=m.model_id, suite=suite, **f))
    for row in ex.summaries:
        m = resolver.resolve(row.source_model, row.names)
        f = dict(row.fields)
        key = f"{m.model_id}|{f.pop('key')}"
        unique(key, row.source_model)
        summaries.append(
            SummaryRecord(
                run_id=run_id,
                key=key,
                model_id=m.model_id,
                external=m.external,
                source_model=row.source_model,
                suite=suite,
                **f,
            )
        )
    for row in ex.perf:
        m = resolver.resolve(row.source_model, row.names)
        f = dict(row.fields)
        key = f"{m.model_id}|{f.pop('key')}"
        unique(key, row.source_model)
        perf.append(
            PerfRecord(
                run_id=run_id,
                key=key,
                model_id=m.model_id,
                external=m.external,
                source_model=row.source_model,
                **f,
            )
        )
    if clashes:
        raise InputError(clashes)

    matches = list(resolver.matches.values())
    outcome = IngestOutcome(
        run_id=run_id,
        path=target,
        format=fmt,
        written=False,
        results=len(results),
        summaries=len(summaries),
        perf=len(perf),
        models=[
            {"source": m.source, "model_id": m.model_id, "external": m.external, "matched_by": m.via} for m in matches
        ],
        external_models=resolver.external,
        unmapped=list(ex.unmapped),
        notes=list(ex.notes),
    )

    if (target / "manifest.json").is_file():
        from generator.runs.writer import RunFolder

        existing = RunFolder(target).read_manifest()
        if (existing.source or {}).get("sha256") == src.sha256:
            return outcome
        raise RunError(f"{target} exists and holds another source file; nothing was written")

    notes = list(ex.notes)
    notes.append(common.UNRECORDED_NOTE)
    if results:
        notes.append(common.SCORE_NOTE)
    if ex.date is None:
        notes.append("the source records no date: the run id uses 19700101-000000")
    elif ex.date.tzinfo is None:
        notes.append("the source's dates have no time zone: they are written as if UTC")

    model_ids = sorted({m.model_id for m in matches})
    models = []
    for mid in model_ids:
        sources = [m for m in matches if m.model_id == mid]
        facts = ex.model_facts.get(sources[0].source, common.ModelFacts())
        models.append(
            ModelInRun(
                id=mid,
                provider="ingested",
                served_name=sources[0].source,
                endpoint=facts.endpoint,
                file_name=facts.file_name,
                file_size_bytes=facts.file_size_bytes,
                runtime=facts.runtime or fmt,
                runtime_version=facts.runtime_version or ex.tool_version,
            )
        )
    source: dict[str, Any] = {
        "format": fmt,
        "file_name": src.path.name,
        "sha256": src.sha256,
    }
    if ex.tool_version:
        source["tool_version"] = ex.tool_version
    source.update(
        {
            "unmapped": list(ex.unmapped),
            "external_models": resolver.external,
            "models": outcome.models,
            "counts": {"results": len(results), "summaries": len(summaries), "perf": len(perf)},
            "ingested_at": common.iso(utcnow()),
        }
    )
    manifest = Manifest(
        run_id=run_id,
        origin="ingested",
        created_at=common.iso(created),
        finished_at=None,
        status="complete",
        tool_version=__version__,
        settings=RunSettings(
            suite=suite,
            models=model_ids,
            repeats=max((r.repeat for r in results), default=1),
            concurrency_levels=sorted({r.concurrency for r in results}),
            max_tokens=None,
            temperature=None,
            seed=None,
            request_timeout_s=None,
            max_retries=None,
        ),
        models=models,
        case_ids=sorted({r.case_id for r in results}),
        expected_results=len(results),
        registry_hash=reg.content_hash,
        suite_hash=src.sha256,
        environment=ex.environment,
        cli_args=cli_args or ["ingest", fmt, str(path)],
        source=source,
        notes=notes,
    )
    outcome.path = write_run_folder(out_dir, manifest, results, summaries, perf)
    outcome.written = True
    return outcome

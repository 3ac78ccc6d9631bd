"""Mining folders: ``runs/<id>/`` with ``manifest.json`` (origin ``prompt-mining``), ``mix.json``
(the aggregates) and ``audit.jsonl`` (the audit sample: ids and the labels they were given).

Written in one step by the run store's folder writer, so ``runs/`` never holds half a
mining run. No file of the folder holds prompt text: ids, labels and counts only. The
readers of results skip these folders by ``origin`` (``list_run_folders``).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from generator.errors import InputError, Problem
from generator.mine.mix import PromptMix
from generator.runs.records import MANIFEST_FILE, MINING_ORIGIN
from generator.runs.scan import list_mining_folders
from generator.runs.writer import write_complete_folder

MINING_SCHEMA_VERSION = 1
MIX_FILE = "mix.json"
AUDIT_FILE = "audit.jsonl"


class MiningManifest(BaseModel):
    """``manifest.json`` of a mining folder: what was read and how it was labelled."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = MINING_SCHEMA_VERSION
    run_id: str
    origin: str = MINING_ORIGIN
    created_at: str
    tool_version: str
    format: str = Field(description="claude-code, jsonl or csv.")
    files: int
    prompts: int
    projects: int
    sessions: int
    skipped: dict[str, int] = Field(description="Lines that were not user prompts, by reason.")
    problems: int = Field(description="Lines reported as file:line problems and skipped.")
    classifier: str | None = Field(description="Registry model id that labelled what no rule matched.")
    classifier_file_sha256: str | None = None
    classifier_load_s: float | None = None
    rules: list[str] = Field(description="Ids of the deterministic rules, in the order they ran.")
    registry_hash: str
    audit_file: str | None = Field(default=None, description="Name of the human audit file used, if any.")
    audit_rows: int = 0
    cli_args: list[str] = Field(default_factory=list)


class AuditLine(BaseModel):
    """One line of ``audit.jsonl``: an id drawn for the human audit, and what it was given."""

    model_config = ConfigDict(extra="forbid")
    id: str
    category: str
    complexity: str
    tier: str
    decided_by: str


def write_mining_folder(out_dir: Path, manifest: MiningManifest, mix: PromptMix, audit: list[AuditLine]) -> Path:
    files = {
        MIX_FILE: mix.model_dump_json(indent=1) + "\n",
        AUDIT_FILE: "".join(a.model_dump_json() + "\n" for a in audit),
    }
    return write_complete_folder(out_dir, manifest.run_id, files, manifest.model_dump_json(indent=1) + "\n")


class MiningRun(BaseModel):
    manifest: MiningManifest
    mix: PromptMix


def load_mining_runs(runs_dir: Path) -> list[MiningRun]:
    """Every mining folder under ``runs_dir``, oldest first; a damaged one is an input problem."""
    out: list[MiningRun] = []
    problems: list[Problem] = []
    for folder in list_mining_folders(runs_dir):
        try:
            manifest = MiningManifest.model_validate_json((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
            mix = PromptMix.model_validate(json.loads((folder / MIX_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(folder), None, f"bad mining folder: {exc}"))
            continue
        out.append(MiningRun(manifest=manifest, mix=mix))
    if problems:
        raise InputError(problems)
    return sorted(out, key=lambda r: (r.manifest.created_at, r.manifest.run_id))

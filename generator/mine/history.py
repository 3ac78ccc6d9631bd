"""Read a prompt history into user prompts: Claude Code transcripts, generic JSONL, or CSV.

The I/O edge of ``opsbench mine``. Foreign lines are validated into pydantic models
(``TranscriptLine``) that keep unknown keys, because Claude Code adds fields between
versions and an unknown field is no reason to drop a prompt.

What counts as a user prompt in a Claude Code transcript (``~/.claude/projects/*/*.jsonl``,
one JSON object per line with ``type``, ``message`` {role, content}, ``uuid``,
``parentUuid``, ``sessionId``, ``timestamp``, ``cwd``):

* a ``type: "user"`` line whose content is a string, or a list of ``text`` blocks;
* **not** a ``type: "user"`` line whose content blocks are ``tool_result``: that is a
  tool's output fed back to the model, not something a person typed;
* not ``isMeta`` lines (hook feedback, caveats), not ``isSidechain`` lines (prompts a
  sub-agent received from the orchestrator: the seed's "hidden multiplier", counted apart),
  not command output (``<local-command-stdout>``) or shell-mode lines (``<bash-input>``);
* a slash command (``<command-name>/clear</command-name>``) counts as the prompt ``/clear``
  followed by its arguments.

Bad lines never stop the read: a line that is not JSON, or a user/assistant line without a
message, becomes a ``file:line`` problem and the rest is read. A file with no transcript
line at all is not a transcript: it is refused (``InputError``, exit 2), nothing is written.

Prompt text lives only in memory here; nothing in this module writes a file.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from generator.errors import InputError, Problem
from generator.registry.yamlio import display_path

HistoryFormat = Literal["claude-code", "jsonl", "csv"]

_COMMAND_NAME = re.compile(r"<command-name>(.*?)</command-name>", re.S)
_COMMAND_ARGS = re.compile(r"<command-args>(.*?)</command-args>", re.S)
_NOT_TYPED = ("<local-command-stdout>", "<local-command-stderr>", "<bash-input>", "<bash-stdout>", "<bash-stderr>")
_INTERRUPTED = "[Request interrupted"


class ContentBlock(BaseModel):
    """One block of a message's content list (``text``, ``tool_result``, ``image``, ...)."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class TranscriptMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[ContentBlock]


class TranscriptLine(BaseModel):
    """One line of a Claude Code session transcript (only the fields mining reads)."""

    model_config = ConfigDict(extra="allow")
    type: str
    uuid: str | None = None
    parentUuid: str | None = None
    sessionId: str | None = None
    timestamp: str | None = None
    cwd: str | None = None
    isSidechain: bool = False
    isMeta: bool = False
    message: TranscriptMessage | None = None


@dataclass
class Prompt:
    """A user prompt as mining holds it in memory: an id to audit by, and the text."""

    id: str
    where: str  # file:line, for the person auditing (no prompt text)
    project: str
    session: str
    text: str


@dataclass
class History:
    """Every user prompt read, the lines skipped (by reason) and the problems found."""

    format: HistoryFormat
    prompts: list[Prompt] = field(default_factory=list)
    files: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    @property
    def projects(self) -> int:
        return len({p.project for p in self.prompts})

    @property
    def sessions(self) -> int:
        return len({p.session for p in self.prompts})


def _files(path: Path, suffix: str) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob(f"*{suffix}") if p.is_file())
    if path.is_file():
        return [path]
    raise InputError([Problem(display_path(path), None, "no such file or folder")])


def read_history(
    path: Path,
    fmt: HistoryFormat,
    *,
    column: str = "prompt",
    id_column: str | None = None,
) -> History:
    """Read every user prompt under ``path`` (a file, or a folder searched recursively)."""
    hist = History(fmt)
    refused: list[Problem] = []
    files = _files(path, ".csv" if fmt == "csv" else ".jsonl")
    if not files:
        raise InputError([Problem(display_path(path), None, f"no {fmt} files found")])
    for file in files:
        hist.files += 1
        if fmt == "claude-code":
            ok = _read_claude_code(file, hist)
        elif fmt == "jsonl":
            ok = _read_jsonl(file, hist, column, id_column)
        else:
            ok = _read_csv(file, hist, column, id_column, refused)
        if not ok and not any(p.path == display_path(file) for p in refused):
            what = "a Claude Code transcript" if fmt == "claude-code" else f"a {fmt} history with field {column!r}"
            refused.append(Problem(display_path(file), None, f"not {what}: no line of it is one"))
    if refused:
        raise InputError(refused)
    _drop_repeated_ids(hist)
    return hist


def _drop_repeated_ids(hist: History) -> None:
    """An audit names prompts by id, so an id must name one prompt: a repeat is reported and dropped."""
    first: dict[str, str] = {}
    kept: list[Prompt] = []
    for p in hist.prompts:
        if p.id in first:
            file, _, line = p.where.rpartition(":")
            hist.problems.append(Problem(file, int(line), f"id {p.id!r} repeats (first at {first[p.id]}); skipped"))
            continue
        first[p.id] = p.where
        kept.append(p)
    hist.prompts = kept


def _lines(file: Path) -> list[tuple[int, str]]:
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [(0, "\x00")]  # read as one line that is not JSON: the file is refused
    return [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _json_object(file: Path, n: int, line: str, hist: History) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        hist.problems.append(Problem(display_path(file), n or None, f"not JSON ({exc.msg}); line skipped"))
        return None
    if not isinstance(obj, dict):
        hist.problems.append(Problem(display_path(file), n, "not a JSON object; line skipped"))
        return None
    return obj


def _looks_like_transcript_line(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("type"), str) and any(k in obj for k in ("sessionId", "uuid", "leafUuid"))


def _read_claude_code(file: Path, hist: History) -> bool:
    """Append the user prompts of one transcript; False when no line of it is a transcript line."""
    recognised = 0
    shown = display_path(file)
    for n, raw in _lines(file):
        obj = _json_object(file, n, raw, hist)
        if obj is None:
            continue
        if not _looks_like_transcript_line(obj):
            hist.problems.append(Problem(shown, n, "not a transcript line (no type and session); line skipped"))
            continue
        recognised += 1
        if obj["type"] not in ("user", "assistant"):
            hist.skipped[f"{obj['type']} line"] += 1
            continue
        if "message" not in obj or obj["message"] is None:
            kind = obj["type"]
            article = "an" if kind[:1] in "aeiou" else "a"
            hist.problems.append(Problem(shown, n, f"{article} {kind} line without a message; line skipped"))
            continue
        try:
            line = TranscriptLine.model_validate(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            hist.problems.append(Problem(shown, n, f"{where}: {first['msg']}; line skipped"))
            continue
        if line.type != "user":
            hist.skipped["assistant turn"] += 1
            continue
        text, reason = _user_text(line)
        if text is None:
            hist.skipped[reason] += 1
            continue
        hist.prompts.append(
            Prompt(
                id=line.uuid or f"{file.stem}:{n}",
                where=f"{shown}:{n}",
                project=line.cwd or file.parent.name,
                session=line.sessionId or file.stem,
                text=text,
            )
        )
    return recognised > 0


def _user_text(line: TranscriptLine) -> tuple[str | None, str]:
    """The text a person typed on this user line, or None and the reason it is not a prompt."""
    if line.isSidechain:
        return None, "sub-agent prompt (sidechain)"
    if line.isMeta:
        return None, "meta line"
    assert line.message is not None
    content = line.message.content
    if isinstance(content, list):
        if any(b.type == "tool_result" for b in content):
            return None, "tool result"
        text = "\n".join(b.text for b in content if b.type == "text" and b.text)
    else:
        text = content
    stripped = text.strip()
    if not stripped:
        return None, "no text"
    if stripped.startswith(_NOT_TYPED):
        return None, "command or shell output"
    if stripped.startswith(_INTERRUPTED):
        return None, "interruption notice"
    name = _COMMAND_NAME.search(stripped)
    if name:
        args = _COMMAND_ARGS.search(stripped)
        return " ".join(x for x in (name.group(1).strip(), (args.group(1).strip() if args else "")) if x), ""
    return stripped, ""


def _read_jsonl(file: Path, hist: History, column: str, id_column: str | None) -> bool:
    found = 0
    shown = display_path(file)
    for n, raw in _lines(file):
        obj = _json_object(file, n, raw, hist)
        if obj is None:
            continue
        value = obj.get(column)
        if not isinstance(value, str):
            hist.problems.append(Problem(shown, n, f"no text field {column!r}; line skipped"))
            continue
        found += 1
        _add_generic(hist, file, n, value, obj.get(id_column) if id_column else None, obj)
    return found > 0


def _read_csv(file: Path, hist: History, column: str, id_column: str | None, refused: list[Problem]) -> bool:
    shown = display_path(file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return False
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    if column not in header:
        refused.append(Problem(shown, 1, f"no column {column!r} (columns: {', '.join(header) or 'none'})"))
        return False
    if id_column is not None and id_column not in header:
        refused.append(Problem(shown, 1, f"no id column {id_column!r}"))
        return False
    for row in reader:
        n = reader.line_num
        _add_generic(hist, file, n, row.get(column) or "", row.get(id_column) if id_column else None, row)
    return True


def _add_generic(hist: History, file: Path, n: int, text: str, ident: Any, row: dict[str, Any]) -> None:
    if not text.strip():
        hist.skipped["empty prompt"] += 1
        return
    project = row.get("project")
    session = row.get("session")
    hist.prompts.append(
        Prompt(
            id=str(ident) if ident not in (None, "") else f"{file.name}:{n}",
            where=f"{display_path(file)}:{n}",
            project=str(project) if project else file.stem,
            session=str(session) if session else file.stem,
            text=text.strip(),
        )
    )

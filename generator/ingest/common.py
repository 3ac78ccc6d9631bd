"""Shared pieces of ``opsbench ingest``: reading a source file, locating problems in
it, typed access to its values and model-name matching. Folders are written by the run
store's one writer (``generator.runs.writer.write_run_folder``).

Every format module turns one foreign file into an :class:`Extracted` in memory;
nothing is written until the whole file has been read and every record checked.
The writer then builds the run folder in a temporary folder beside the target and
renames it into place, so a bad or truncated file never leaves half a run behind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from generator.errors import InputError, Problem, RunError
from generator.inputguard import json_depth_line
from generator.registry.schema import ForeignLimits
from generator.registry.yamlio import display_path
from generator.runs.records import RUN_ID_RE, CaseScore, CheckOutcome

#: Role written on per-sample rows from other harnesses: no registry role, so an
#: ingested row never counts towards a registry role's gates.
INGESTED_ROLE = "ingested"
#: Severity written on per-sample rows: other harnesses do not grade severity.
UNRATED = "unrated"
#: The most problems listed for one file; the rest are counted.
MAX_PROBLEMS = 50

UNRECORDED_NOTE = (
    "settings.temperature, seed, request_timeout_s and max_retries are not recorded by the "
    "source: they are null in this manifest (unknown), never a made-up value"
)
SCORE_NOTE = (
    "per-sample rows: the source has no severities, so role is 'ingested', severity 'unrated', "
    "score.weight 1 (unweighted pass count) and review_pain 0 (not measured)"
)


# --------------------------------------------------------------------------- problems


class Problems:
    """Problems found in one source file, collected so the user fixes them in one pass."""

    def __init__(self, shown: str):
        self.shown = shown
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, message: str, line: int | None = None) -> None:
        if len(self.items) >= MAX_PROBLEMS:
            self.dropped += 1
            return
        self.items.append(Problem(self.shown, line, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        items = list(self.items)
        if self.dropped:
            items.append(Problem(self.shown, None, f"... and {self.dropped} more problem(s) not shown"))
        raise InputError(items)


def fail(shown: str, message: str, line: int | None = None) -> InputError:
    return InputError([Problem(shown, line, message)])


# --------------------------------------------------------------------------- reading


@dataclass
class SourceFile:
    """One foreign result file, read once: its bytes, hash and text.

    ``text`` is empty for an archive (inspect's ``.eval`` zip), whose members are
    read by the format module under the same limits (:func:`read_archive`).
    """

    path: Path
    shown: str
    data: bytes
    sha256: str
    text: str
    limits: ForeignLimits | None = None

    @property
    def is_zip(self) -> bool:
        return self.data[:4] == ZIP_MAGIC


#: The first bytes of a zip archive (local file header signature).
ZIP_MAGIC = b"PK\x03\x04"


def read_source(path: Path, limits: ForeignLimits | None = None, *, allow_zip: bool = False) -> SourceFile:
    """Read a foreign file within ``policy.yaml`` ``input_limits.foreign`` (size, UTF-8 with
    the line of the first bad byte, line length), before any parser sees it."""
    from generator.inputguard import Refused, check_lines, decode_utf8, read_bounded

    shown = display_path(path)
    try:
        data = read_bounded(path, shown, limits, "foreign") if limits is not None else path.read_bytes()
    except Refused as exc:
        raise InputError([exc.problem]) from None
    except OSError as exc:
        raise fail(shown, f"cannot read file: {exc.strerror}") from None
    sha = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise fail(shown, "file is empty", 1)
    if allow_zip and data[:4] == ZIP_MAGIC:
        return SourceFile(path=path, shown=shown, data=data, sha256=sha, text="", limits=limits)
    try:
        text = decode_utf8(data, shown, bom=True)
        if limits is not None:
            check_lines(text, shown, limits, "foreign")
    except Refused as exc:
        raise InputError([exc.problem]) from None
    return SourceFile(path=path, shown=shown, data=data, sha256=sha, text=text, limits=limits)


def json_error(shown: str, text: str, exc: json.JSONDecodeError, line_offset: int = 0) -> InputError:
    truncated = exc.pos >= len(text.rstrip())
    hint = " (the file looks truncated)" if truncated else ""
    line = min(exc.lineno, max(1, len(text.splitlines()))) + line_offset
    return fail(shown, f"invalid JSON: {exc.msg} (column {exc.colno}){hint}", line)


def too_deep(shown: str, text: str, line_offset: int = 0) -> InputError:
    """Python's JSON reader gives up on deep nesting with a RecursionError that names no line."""
    import sys

    line = json_depth_line(text, sys.getrecursionlimit() // 2)
    return fail(
        shown,
        "JSON nested too deeply to read (arrays or objects inside each other past Python's limit)",
        None if line is None else line + line_offset,
    )


def load_json(src: SourceFile) -> Any:
    """The whole file as one JSON value; a syntax error names its line."""
    return load_json_text(src.shown, src.text)


def load_json_text(shown: str, text: str, line_offset: int = 0) -> Any:
    """One JSON value from ``text`` (part of a file starting ``line_offset`` lines in)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise json_error(shown, text, exc, line_offset) from None
    except RecursionError:
        raise too_deep(shown, text, line_offset) from None


def iter_jsonl(src: SourceFile, probs: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; bad lines become problems."""
    for lineno, raw in enumerate(src.text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            probs.add(f"invalid JSON line: {exc.msg} at column {exc.colno}", lineno)
            continue
        except RecursionError:
            probs.add("JSON line nested too deeply to read (past Python's limit)", lineno)
            continue
        if not isinstance(obj, dict):
            probs.add(f"expected a JSON object on each line, got {type_name(obj)}", lineno)
            continue
        yield lineno, obj


# --------------------------------------------------------------------------- typed access

_KINDS: dict[str, str] = {
    "string": "string",
    "number": "number",
    "int": "integer",
    "bool": "boolean",
    "object": "object",
    "array": "array",
    "int_or_string": "integer or string",
    "string_or_object": "string or object",
}


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def path_of(base: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else key


#: A finite JSON number (ints and floats; not NaN or infinity), as foreign-format models declare it.
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]

# pydantic's error types -> the kind names of the messages above (the ingest tests assert them).
_ERROR_KINDS = {
    "string_type": "string",
    "int_type": "int",
    "int_from_float": "int",
    "float_type": "number",
    "finite_number": "number",
    "bool_type": "bool",
    "dict_type": "object",
    "model_type": "object",
    "list_type": "array",
    "int_or_string_type": "int_or_string",
    "string_or_object_type": "string_or_object",
}


def _either(kind: str, *types: type) -> Any:
    """A field that may hold one of two JSON types. A plain union would report one error per
    member; this reports one, in the bench's words (``doc_id: expected integer or string``)."""

    def validate(value: Any) -> Any:
        if isinstance(value, types) and not isinstance(value, bool):
            return value
        raise PydanticCustomError(f"{kind}_type", f"Input should be {_KINDS[kind]}")

    return PlainValidator(validate)


#: An id other tools write as a number or a string (lm-eval's ``doc_id``).
IntOrString = Annotated[int | str, _either("int_or_string", int, str)]
#: A name or an object naming it (promptfoo's ``provider``: ``"openai:gpt-4o"`` or ``{id, label}``).
StringOrObject = Annotated[str | dict[str, Any], _either("string_or_object", str, dict)]


class ForeignRecord(BaseModel):
    """A record of another tool's file: the fields the bench reads, strictly typed (a string is
    never a number), everything else kept as the tool wrote it (``extra="allow"``)."""

    model_config = ConfigDict(strict=True, extra="allow")


ForeignModel = TypeVar("ForeignModel", bound=ForeignRecord)


def parse_foreign(
    model: type[ForeignModel], probs: Problems, obj: dict[str, Any], where: str, line: int | None = None
) -> ForeignModel | None:
    """``obj`` validated as ``model``; None after recording each problem in the bench's words
    (``$.completed: expected integer, got string``; a null required field is missing)."""
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        for err in exc.errors():
            *parents, key = err["loc"] or ("",)
            base = where
            for part in parents:
                base = path_of(base, part)
            value = err.get("input")
            # A strict model's type error on null can only be a field that may not be null: one
            # that is required (optional fields are declared `X | None`), so it reads as missing.
            if err["type"] == "missing" or (value is None and err["type"] in _ERROR_KINDS):
                prefix = f"{base}: " if base else ""
                probs.add(f"{prefix}missing required field {key!r}", line)
            elif err["type"] in _ERROR_KINDS:
                kind = _KINDS[_ERROR_KINDS[err["type"]]]
                probs.add(f"{path_of(base, key)}: expected {kind}, got {type_name(value)}", line)
            else:
                probs.add(f"{path_of(base, key)}: {err['msg']}", line)
        return None


def number_or_none(value: Any) -> float | None:
    """A finite number as float; anything else (strings like 'N/A', null, NaN) is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def plain(value: Any) -> Any:
    """JSON-safe copy of a parsed value (YAML dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 string (with or without zone) or a Unix timestamp; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.strip():
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def iso(ts: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` like every run; a date without a zone is read as UTC."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- extracted records


@dataclass
class Row:
    """One record before model matching: the model name as the source wrote it, and fields.

    ``names`` are further exact names tried against the alias table, in order, after
    ``source_model`` (e.g. a promptfoo provider's id after its label).
    """

    source_model: str
    fields: dict[str, Any]
    names: tuple[str, ...] = ()


@dataclass
class ModelFacts:
    """What the source says about one model's files and runtime (for the manifest)."""

    file_name: str | None = None
    file_size_bytes: int | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    endpoint: str | None = None


@dataclass
class Extracted:
    """Everything one source file holds that the run format can carry."""

    date: datetime | None = None
    tool_version: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    results: list[Row] = field(default_factory=list)
    summaries: list[Row] = field(default_factory=list)
    perf: list[Row] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    model_facts: dict[str, ModelFacts] = field(default_factory=dict)

    def source_models(self) -> list[str]:
        seen: dict[str, None] = {}
        for row in [*self.results, *self.summaries, *self.perf]:
            seen.setdefault(row.source_model, None)
        return list(seen)


@dataclass
class ParseContext:
    """What a format module may need beyond the file itself."""

    format: str
    max_output_chars: int
    model_override: str | None = None
    limits: ForeignLimits | None = None


def truncate(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True


def case_score(accepted: bool, checks: list[CheckOutcome]) -> CaseScore:
    """A per-sample score from another harness: unweighted (weight 1), pain not measured."""
    return CaseScore(
        accepted=accepted,
        weight=1.0,
        score=1.0 if accepted else 0.0,
        review_pain=0.0,
        checks=checks,
    )


def check_outcome(id_: str, kind: str, passed: bool, detail: str, category: str = "accuracy") -> CheckOutcome:
    return CheckOutcome(id=id_, kind=kind, category=category, severity=UNRATED, passed=passed, detail=detail)


def binary(value: Any) -> bool | None:
    """True / False for a pass-fail value (bools, 0 / 1); None for anything graded finer."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def derived_successes(value: float | None, trials: int | None) -> float | None:
    """value x trials when that is a whole number of cases (a mean of 0/1 outcomes)."""
    if value is None or trials is None or trials <= 0:
        return None
    k = value * trials
    nearest = round(k)
    return float(nearest) if abs(k - nearest) < 1e-6 else None


# --------------------------------------------------------------------------- model names


@dataclass
class ModelMatch:
    source: str
    model_id: str
    external: bool
    via: str  # alias / --model / none


class ModelResolver:
    """Source names to registry ids through the explicit alias table only; never guessed."""

    def __init__(self, aliases: dict[str, str], override: str | None = None):
        self.aliases = aliases
        self.override = override
        self.matches: dict[str, ModelMatch] = {}

    def resolve(self, source: str, names: tuple[str, ...] = ()) -> ModelMatch:
        if source in self.matches:
            return self.matches[source]
        if self.override is not None:
            match = ModelMatch(source, self.override, False, "--model")
        else:
            hit = next((n for n in (source, *names) if n in self.aliases), None)
            if hit is not None:
                match = ModelMatch(source, self.aliases[hit], False, f"alias {hit!r}")
            else:
                match = ModelMatch(source, source, True, "none")
        self.matches[source] = match
        return match

    @property
    def external(self) -> list[str]:
        return sorted(m.source for m in self.matches.values() if m.external)


# --------------------------------------------------------------------------- run ids and the writer


def run_id_for(date: datetime | None, suite: str, sha256: str) -> str:
    """``YYYYMMDD-HHMMSS-<suite>-<6 hex of the file's sha256>``: the same file, the same id."""
    if date is None:
        stamp = "19700101-000000"
    else:
        ts = date.astimezone(UTC) if date.tzinfo is not None else date
        stamp = ts.strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp}-{suite}-{sha256[:6]}"
    if not RUN_ID_RE.fullmatch(run_id):
        raise RunError(f"unsafe run id {run_id!r}")
    return run_id

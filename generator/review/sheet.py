"""The review file a person fills in (CSV or YAML), and the key file kept beside it.

The review file is blind: an opaque item id, the task the model was given, the model's
output, and an empty field per rubric dimension plus ``reviewer`` and ``notes``. Which
model, run and result each item is lives only in ``FILE.key.json``, which the reviewer
never needs.

Model outputs are untrusted text. CSV is written by the ``csv`` module with every field
quoted; a cell that a spreadsheet would read as a formula (it starts with ``= + - @``, a
tab or a carriage return) gets a leading apostrophe, so it is shown as the text it is.
YAML is written by PyYAML's safe dumper, outputs as literal block strings where YAML can
hold them that way (quoted strings where it cannot).

Reading a filled file collects every problem as ``file:line: message`` before failing:
the CSV row's first line, or for YAML the line of the grade (else of the item), from
ruamel.yaml's line information as ``generator.registry.yamlio`` does.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from generator.errors import Problem
from generator.registry.yamlio import display_path, read_yaml
from generator.runs.records import ReviewDimension

KEY_SUFFIX = ".key.json"
SHEET_SCHEMA_VERSION = 1
SheetFormat = Literal["csv", "yaml"]

# A reviewer id is free text (a name or an initials code), but one line and short.
REVIEWER_MAX_CHARS = 80
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def key_path(sheet: Path) -> Path:
    """``FILE.key.json`` beside ``FILE``."""
    return sheet.with_name(sheet.name + KEY_SUFFIX)


class KeyItem(BaseModel):
    """Which result one opaque item id stands for."""

    model_config = ConfigDict(extra="forbid")

    item_id: str
    run_id: str
    key: str = Field(description="The result's key in its run (model|case|repeat|concurrency).")
    model_id: str
    case_id: str


class SampleKey(BaseModel):
    """``FILE.key.json``: the unblinding map of one review sample. Field order is the file format."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SHEET_SCHEMA_VERSION
    workload: str
    format: SheetFormat
    sample_file: str = Field(description="Name of the review file this key belongs to.")
    seed: int
    created_at: str
    rubric: list[ReviewDimension]
    eligible: int = Field(description="Results of the workload that could be drawn.")
    excluded_hard_failures: int = Field(description="Results left out because the request failed.")
    excluded_unknown_case: int = Field(
        default=0, description="Results left out because their case is no longer in the registry."
    )
    excluded_no_output: int = Field(default=0, description="Results left out because they hold no output text.")
    items: list[KeyItem]


@dataclass(frozen=True)
class SheetItem:
    """One row of the review file as written: nothing in it names the model or the run."""

    item_id: str
    task: str
    output: str


def columns(rubric: list[ReviewDimension]) -> list[str]:
    return ["item", "input", "output", *[d.id for d in rubric], "reviewer", "notes"]


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(items: list[SheetItem], rubric: list[ReviewDimension]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(columns(rubric))
    for it in items:
        writer.writerow([it.item_id, _cell(it.task), _cell(it.output), *["" for _ in rubric], "", ""])
    return buf.getvalue()


class _Literal(str):
    """A string the dumper writes as a ``|`` block (PyYAML falls back to quotes where it must)."""


def _dumper() -> type:
    import yaml

    class Dumper(yaml.SafeDumper):
        """The safe dumper, with literal blocks for long text and empty fields left blank."""

    Dumper.add_representer(_Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|"))
    Dumper.add_representer(type(None), lambda d, _: d.represent_scalar("tag:yaml.org,2002:null", ""))
    return Dumper


def render_yaml(workload: str, items: list[SheetItem], rubric: list[ReviewDimension]) -> str:
    import yaml

    head = [
        "# opsbench review sample: grade every item, then run `opsbench review add THIS_FILE`.",
        "# Each rubric field takes a whole number on its scale (higher is better); `reviewer` is your id",
        "# (or pass --reviewer); `notes` is optional. Leave all of an item's grades empty to skip it.",
        "# Edit only the grade, reviewer and notes fields.",
    ]
    doc: dict[str, Any] = {
        "schema_version": SHEET_SCHEMA_VERSION,
        "workload": workload,
        "rubric": [
            {"id": d.id, "question": d.question, "scale_min": d.scale_min, "scale_max": d.scale_max} for d in rubric
        ],
        "items": [
            {
                "item": it.item_id,
                "input": _Literal(it.task),
                "output": _Literal(it.output),
                **{d.id: None for d in rubric},
                "reviewer": None,
                "notes": None,
            }
            for it in items
        ],
    }
    body = yaml.dump(doc, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(head) + "\n" + body


# ----------------------------------------------------------------------------- reading


@dataclass
class Grade:
    """One graded item of a filled file."""

    line: int
    item_id: str
    reviewer: str
    scores: dict[str, int]
    notes: str | None


@dataclass
class FilledSheet:
    grades: list[Grade] = field(default_factory=list)
    ungraded: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class _Row:
    line: int
    item_id: Any
    values: dict[str, Any]
    reviewer: Any
    notes: Any
    lines: dict[str, int] = field(default_factory=dict)  # field -> its own line, where known


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def _read_csv(path: Path, rubric: list[ReviewDimension], problems: list[Problem]) -> list[_Row]:
    shown = display_path(path)
    rows: list[_Row] = []
    try:
        fh = path.open(encoding="utf-8-sig", newline="")  # a spreadsheet may add a byte-order mark
    except OSError as exc:
        problems.append(Problem(shown, None, f"cannot read file: {exc.strerror}"))
        return rows
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                problems.append(Problem(shown, 1, "file is empty"))
                return rows
            names = [h.strip() for h in header]
            want = columns(rubric)
            missing = [c for c in want if c not in names]
            if missing:
                problems.append(Problem(shown, 1, f"missing column(s): {', '.join(missing)}"))
            for extra in [n for n in names if n not in want]:
                problems.append(Problem(shown, 1, f"unknown column {extra!r}"))
            if len(set(names)) != len(names):
                problems.append(Problem(shown, 1, "a column is named twice"))
            if missing or len(set(names)) != len(names):
                return rows
            col = {n: i for i, n in enumerate(names)}
            while True:
                start = reader.line_num + 1  # a row spans several lines when an output does
                cells = next(reader, None)
                if cells is None:
                    break
                if all(not c.strip() for c in cells):
                    continue
                if len(cells) != len(names):
                    problems.append(Problem(shown, start, f"{len(cells)} fields, the header has {len(names)}"))
                    continue
                rows.append(
                    _Row(
                        line=start,
                        item_id=cells[col["item"]],
                        values={d.id: cells[col[d.id]] for d in rubric},
                        reviewer=cells[col["reviewer"]],
                        notes=cells[col["notes"]],
                    )
                )
        except (csv.Error, UnicodeDecodeError) as exc:
            problems.append(Problem(shown, reader.line_num or None, f"not readable as CSV: {exc}"))
    return rows


def _read_yaml(path: Path, workload: str, rubric: list[ReviewDimension], problems: list[Problem]) -> list[_Row]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    shown = display_path(path)
    tree = read_yaml(path, problems)
    if tree is None:
        return []
    rows: list[_Row] = []
    known_top = {"schema_version", "workload", "rubric", "items"}
    for k in tree:
        if k not in known_top:
            problems.append(Problem(shown, tree.lc.key(k)[0] + 1, f"unknown key {k!r}"))
    if tree.get("schema_version") != SHEET_SCHEMA_VERSION:
        line = tree.lc.key("schema_version")[0] + 1 if "schema_version" in tree else 1
        problems.append(Problem(shown, line, f"schema_version must be {SHEET_SCHEMA_VERSION}"))
    if tree.get("workload") != workload:
        line = tree.lc.key("workload")[0] + 1 if "workload" in tree else 1
        problems.append(Problem(shown, line, f"workload must be {workload!r}, as in the key file"))
    items = tree.get("items")
    if not isinstance(items, CommentedSeq):
        line = tree.lc.key("items")[0] + 1 if "items" in tree else 1
        problems.append(Problem(shown, line, "items must be a list of items"))
        return rows
    allowed = set(columns(rubric))
    for i, node in enumerate(items):
        line = items.lc.item(i)[0] + 1
        if not isinstance(node, CommentedMap):
            problems.append(Problem(shown, line, "an item must be a mapping (item: ..., reviewer: ...)"))
            continue
        lines = {str(k): node.lc.key(k)[0] + 1 for k in node}
        for k in node:
            if k not in allowed:
                problems.append(Problem(shown, lines[str(k)], f"unknown key {k!r} in an item"))
        rows.append(
            _Row(
                line=line,
                item_id=node.get("item"),
                values={d.id: node.get(d.id) for d in rubric},
                reviewer=node.get("reviewer"),
                notes=node.get("notes"),
                lines=lines,
            )
        )
    return rows


def _score(value: Any, dim: ReviewDimension) -> tuple[int | None, str | None]:
    """The grade as an integer on the dimension's scale, or why it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None, f"{dim.id}: {value!r} is not an integer"
    if isinstance(value, str):
        if not _INT_RE.fullmatch(value.strip()):
            return None, f"{dim.id}: {value.strip()!r} is not an integer"
        value = int(value.strip())
    if not dim.scale_min <= value <= dim.scale_max:
        return None, f"{dim.id}: {value} is outside the scale {dim.scale_min}..{dim.scale_max}"
    return int(value), None


def read_filled(path: Path, key: SampleKey, default_reviewer: str | None) -> FilledSheet:
    """Every grade of a filled review file, checked against its key and rubric; all problems at once.

    An item whose grades are all empty is skipped (counted in ``ungraded``). Everything else
    must be complete: each grade an integer on its scale, a known item id given once, and a
    reviewer (the row's own, else ``default_reviewer``).
    """
    shown = display_path(path)
    out = FilledSheet()
    problems = out.problems
    rubric = key.rubric
    if key.format == "csv":
        rows = _read_csv(path, rubric, problems)
    else:
        rows = _read_yaml(path, key.workload, rubric, problems)
    known = {it.item_id for it in key.items}
    first_line: dict[str, int] = {}
    for row in rows:

        def at(name: str, row: _Row = row) -> int:
            return row.lines.get(name, row.line)

        before = len(problems)
        item_id = _text(row.item_id)
        if item_id is None:
            problems.append(Problem(shown, row.line, "missing item id"))
            continue
        if item_id not in known:
            problems.append(Problem(shown, at("item"), f"unknown item id {item_id!r} (not in the key file)"))
            continue
        if item_id in first_line:
            problems.append(
                Problem(shown, at("item"), f"duplicate item {item_id!r} (first at line {first_line[item_id]})")
            )
            continue
        first_line[item_id] = row.line
        notes = _text(row.notes)
        if all(_blank(v) for v in row.values.values()):
            if notes is not None:
                problems.append(
                    Problem(shown, at("notes"), f"item {item_id!r} has notes but no grades: grade it or clear them")
                )
            else:
                out.ungraded += 1
            continue
        scores: dict[str, int] = {}
        for dim in rubric:
            value = row.values[dim.id]
            if _blank(value):
                problems.append(Problem(shown, at(dim.id), f"item {item_id!r}: {dim.id}: missing grade"))
                continue
            score, why = _score(value, dim)
            if why is not None:
                problems.append(Problem(shown, at(dim.id), f"item {item_id!r}: {why}"))
            else:
                assert score is not None
                scores[dim.id] = score
        reviewer = _text(row.reviewer) or (default_reviewer.strip() if default_reviewer else None)
        if not reviewer:
            problems.append(
                Problem(shown, at("reviewer"), f"item {item_id!r}: missing reviewer id (fill it in or pass --reviewer)")
            )
        elif len(reviewer) > REVIEWER_MAX_CHARS or "\n" in reviewer:
            problems.append(
                Problem(
                    shown,
                    at("reviewer"),
                    f"item {item_id!r}: reviewer id must be one line of at most {REVIEWER_MAX_CHARS} characters",
                )
            )
        if reviewer and len(problems) == before:
            out.grades.append(Grade(line=row.line, item_id=item_id, reviewer=reviewer, scores=scores, notes=notes))
    if not problems and not out.grades:
        problems.append(Problem(shown, None, "no item is graded"))
    return out

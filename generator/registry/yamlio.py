"""YAML reading with line numbers kept, so every error can say ``file:line``.

ruamel.yaml's round-trip loader remembers where each key and item came from. We
map a pydantic error location (``('models', 3, 'price')``) back onto that tree to
find the line of the deepest node that exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from generator.errors import Problem


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_yaml(path: Path, problems: list[Problem]) -> Any | None:
    """Parse one YAML file; on failure append a located problem and return None."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(Problem(shown, None, "file is not UTF-8 text"))
        return None
    except OSError as exc:
        problems.append(Problem(shown, None, f"cannot read file: {exc.strerror}"))
        return None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "duplicate key" in str(exc):
            what = "duplicate key: " + what
        problems.append(Problem(shown, line, f"invalid YAML: {what}"))
        return None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. bad escapes)
        problems.append(Problem(shown, None, f"invalid YAML: {exc}"))
        return None
    if data is None:
        problems.append(Problem(shown, 1, "file is empty"))
        return None
    if not isinstance(data, CommentedMap):
        problems.append(Problem(shown, 1, "top level must be a mapping (key: value)"))
        return None
    return data


def to_plain(node: Any) -> Any:
    """Strip ruamel's comment-carrying types down to dict/list/str/int/float/bool."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def line_of(root: Any, loc: Iterable[Any]) -> int | None:
    """1-based line of the deepest node along ``loc`` that exists in ``root``."""
    node = root
    line = node.lc.line + 1 if hasattr(node, "lc") else None
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        # Other parts (a union's tag, "function-after") name no node: skip them.
    return line


def node_line(node: Any, key: str | int | None = None) -> int | None:
    """1-based line of a mapping key / sequence item, or of the node itself."""
    if key is None:
        return node.lc.line + 1 if hasattr(node, "lc") else None
    return line_of(node, [key])


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: dict[str, Any], root: Any) -> tuple[tuple[Any, ...], str]:
    loc = tuple(err["loc"])
    kind = err["type"]
    # Drop a discriminated union's tag from the shown path (checks[2].regex.pattern).
    shown = []
    node = root
    for part in loc:
        in_map = isinstance(node, CommentedMap) and isinstance(part, str) and part in node
        in_seq = isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node)
        if in_map or in_seq:
            node = node[part]
            shown.append(part)
        elif kind in ("missing", "extra_forbidden") and part == loc[-1]:
            shown.append(part)
    where = _loc_text(tuple(shown))
    if kind == "extra_forbidden":
        parent = _loc_text(tuple(shown[:-1]))
        return loc, f"unknown key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    if kind == "missing":
        parent = _loc_text(tuple(shown[:-1]))
        return loc, f"missing required key {loc[-1]!r}" + (f" in {parent}" if parent else "")
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "union_tag_invalid" and isinstance(err.get("input"), dict):
        msg = (
            f"unknown check kind {err['input'].get('kind')!r}; expected one of {err['ctx']['expected_tags']}"
        )
    if kind == "literal_error" and loc and loc[-1] == "schema_version":
        msg = (
            "unsupported schema_version; this version of opsbench reads " + msg.split("Input should be ")[-1]
        )
    return loc, f"{where}: {msg}" if where else msg


def validate(model: type[BaseModel], data: Any, path: Path, problems: list[Problem]) -> BaseModel | None:
    """Validate ``data`` into ``model``; append one located problem per error."""
    try:
        return model.model_validate(to_plain(data))
    except ValidationError as exc:
        shown = display_path(path)
        for err in exc.errors(include_url=False):
            loc, msg = _message(err, data)
            problems.append(Problem(shown, line_of(data, loc), msg))
        return None

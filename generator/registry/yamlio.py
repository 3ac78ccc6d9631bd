"""YAML reading with line numbers kept, so every error can say ``file:line``.

ruamel.yaml's round-trip loader remembers where each key and item came from. We
map a pydantic error location (``('models', 3, 'price')``) back onto that tree to
find the line of the deepest node that exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.resolver import VersionedResolver

from generator.errors import Problem
from generator.registry.schema import FileLimits


def display_path(path: Path) -> str:
    """A path as the user typed it: relative to the working directory when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text_checked(
    path: Path, problems: list[Problem], limits: FileLimits | None = None, scope: str = "registry"
) -> str | None:
    """A YAML file's text, or None after a located problem.

    With ``limits`` (every file someone else wrote), the size, line, UTF-8 and alias
    limits of ``policy.yaml`` apply before anything is parsed
    (:mod:`generator.inputguard`); without, the file is only decoded (files this tool
    wrote itself).
    """
    from generator.inputguard import Refused, decode_utf8, read_text

    shown = display_path(path)
    try:
        if limits is not None:
            return read_text(path, shown, limits, scope, yaml=True)
        return decode_utf8(path.read_bytes(), shown)
    except Refused as exc:
        problems.append(exc.problem)
    except OSError as exc:
        problems.append(Problem(shown, None, f"cannot read file: {exc.strerror}"))
    return None


def read_yaml(
    path: Path, problems: list[Problem], limits: FileLimits | None = None, scope: str = "registry"
) -> Any | None:
    """Parse one YAML file; on failure append a located problem and return None."""
    shown = display_path(path)
    text = read_text_checked(path, problems, limits, scope)
    if text is None:
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
        msg = f"unknown check kind {err['input'].get('kind')!r}; expected one of {err['ctx']['expected_tags']}"
    if kind == "literal_error" and loc and loc[-1] == "schema_version":
        msg = "unsupported schema_version; this version of opsbench reads " + msg.split("Input should be ")[-1]
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


# ----------------------------------------------------------------------------- fast path
#
# ruamel's round-trip parser is pure Python: a registry of a few thousand task files
# takes half a minute to read. Valid files (nearly all of them, nearly always) are read
# by libyaml through PyYAML instead, with YAML 1.2 tag resolution as ruamel does it; a
# file that needs anything else (duplicate keys, merge keys, dates, octal or
# underscored numbers, a syntax error) is read again by ruamel, which says exactly what
# is wrong and where. Line numbers, needed only to report a problem, come from that
# ruamel tree too, parsed only when a problem is found.


class _NeedsRuamel(Exception):
    """The fast reader met something only ruamel reads exactly the same way."""


def _yaml12_tag(value: str) -> str:
    """The tag YAML 1.2 gives a plain scalar, as ruamel's own resolver decides it (its tables,
    not a copy of them): the same lookup ``VersionedResolver.resolve`` does."""
    table = _YAML12.versioned_resolver
    for tag, regexp in [*table.get(value[:1], []), *table.get(None, [])]:
        if regexp.match(value):
            return str(tag)
    return _STR


def _fast_loader() -> type:
    import yaml

    base_loader = yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader

    # The plain numbers libyaml's constructors build exactly as ruamel does; any other int or
    # float spelling (octal, hex, 1_000, .inf) goes to ruamel rather than being guessed at.
    simple_int = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
    simple_float = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+")
    simple = {"tag:yaml.org,2002:int": simple_int, "tag:yaml.org,2002:float": simple_float}

    class Loader(base_loader):  # type: ignore[misc, valid-type]
        """libyaml's parser, YAML 1.2 core-schema resolution (ruamel's), no duplicate keys."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode and implicit[0]:
                tag = _yaml12_tag(value)
                if tag in (_STR, "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"):
                    return tag
                if tag in simple and simple[tag].fullmatch(value):
                    return tag
                raise _NeedsRuamel(value)  # octal, hex, 1_000, .inf, a date, <<, =
            return super().resolve(kind, value, implicit)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None or key in seen:
                    raise _NeedsRuamel("duplicate or complex key")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


_STR = "tag:yaml.org,2002:str"
_YAML12 = VersionedResolver(version=(1, 2))
_LOADER: type | None = None


@dataclass
class Doc:
    """One parsed YAML file: plain data, and (on demand) ruamel's tree for line numbers."""

    path: Path
    data: Any
    _tree: Any = None
    limits: FileLimits | None = None

    @property
    def tree(self) -> Any:
        if self._tree is None:
            self._tree = read_yaml(self.path, [], self.limits) or {}
        return self._tree

    def line(self, loc: Iterable[Any]) -> int | None:
        return line_of(self.tree, loc)


def read_doc(path: Path, problems: list[Problem], limits: FileLimits | None = None) -> Doc | None:
    """Parse one YAML file fast (see above); None, with a located problem, if it is not valid.

    ``limits`` (policy.yaml ``input_limits.registry``) are checked first, on the text,
    so an over-limit file is never handed to either parser.
    """
    global _LOADER
    import yaml

    if _LOADER is None:
        _LOADER = _fast_loader()
    text = read_text_checked(path, problems, limits)
    if text is None:
        return None
    try:
        data = yaml.load(text, Loader=_LOADER)  # a SafeLoader subclass: builds plain data only
    except (yaml.YAMLError, _NeedsRuamel, RecursionError):
        data = None
    if isinstance(data, dict) and data:
        return Doc(path, data, limits=limits)
    tree = read_yaml(path, problems, limits)  # the exact error, or ruamel's reading of a rarer file
    return None if tree is None else Doc(path, to_plain(tree), tree, limits)


def validate_doc(model: type[BaseModel], doc: Doc, problems: list[Problem]) -> BaseModel | None:
    """Validate a document's data; only on failure is its ruamel tree parsed, for line numbers."""
    try:
        return model.model_validate(doc.data)
    except ValidationError:
        return validate(model, doc.tree, doc.path, problems)

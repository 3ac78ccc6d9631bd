"""Reading files nobody here wrote, within the limits of ``policy.yaml`` ``input_limits``.

Contributed task files and other tools' result files are untrusted: a small YAML file
with nested aliases (a "billion laughs") expands to gigabytes when built, a file can be
huge, a line endless, the bytes not text, a path a symbolic link out of the registry or
a FIFO that blocks forever. Every check here runs *before* the file is parsed, costs at
most one pass over the bytes, and turns into one ``file:line: message`` problem, so the
CLI exits 2 in well under a second and nothing is written.

The limits come from ``policy.yaml`` itself, which raises the question of how that file
is read: :func:`read_input_limits` streams it through libyaml's event parser and stops
at the end of the ``input_limits`` block, which must be the file's first block (after
``schema_version``). It accepts nothing there but plain scalars in a two-level mapping,
so no alias, size or line in the rest of the file is touched before the limits are
known; then policy.yaml is read again, like every other file, under them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from generator.errors import InputError, Problem
from generator.registry.schema import FileLimits, InputLimits

POLICY_FILE = "policy.yaml"
LIMITS_KEY = "input_limits"
CHUNK = 1 << 20  # bytes read at a time when counting the lines of a file already too big


class Refused(Exception):
    """A file broke a limit; carries the one located problem that says which."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def _where(scope: str, field: str) -> str:
    return f"policy.yaml {LIMITS_KEY}.{scope}.{field}"


# --------------------------------------------------------------------------- bytes


def read_bounded(path: Path, shown: str, limits: FileLimits, scope: str) -> bytes:
    """The file's bytes, refusing anything but a regular file and more than ``max_file_bytes``.

    At most ``max_file_bytes + 1`` bytes are ever read, whatever the file claims to be
    (``/dev/zero`` reports a size of 0 and never ends); a FIFO is refused unopened.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise Refused(Problem(shown, None, f"cannot read file: {exc.strerror}")) from None
    if not stat.S_ISREG(info.st_mode):
        raise Refused(Problem(shown, None, "not a regular file (a device, FIFO or socket is never read)"))
    limit = limits.max_file_bytes
    try:
        with path.open("rb") as fh:
            if info.st_size > limit:  # too big already: count lines up to the limit, hold one chunk
                newlines, left = 0, limit
                while left > 0 and (chunk := fh.read(min(left, CHUNK))):
                    newlines += chunk.count(b"\n")
                    left -= len(chunk)
                data, line = b"", newlines + 1
            else:  # a file may grow while read, or claim a size it does not have (/dev/zero)
                data = fh.read(limit + 1)
                line = data.count(b"\n", 0, limit) + 1
    except OSError as exc:
        raise Refused(Problem(shown, None, f"cannot read file: {exc.strerror}")) from None
    if info.st_size > limit or len(data) > limit:
        size = f"{info.st_size} bytes" if info.st_size > limit else "more bytes"
        raise Refused(
            Problem(
                shown,
                line,
                f"file is {size}, over the limit of {limit} ({_where(scope, 'max_file_bytes')}); "
                "the limit falls on this line and nothing of the file was parsed",
            )
        )
    return data


def decode_utf8(data: bytes, shown: str, *, bom: bool = False) -> str:
    """UTF-8 text, or a problem naming the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if bom and data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise Refused(
            Problem(
                shown,
                line,
                f"file is not UTF-8 text: byte 0x{data[start]:02x} at column {column} is not valid "
                "UTF-8 (a binary or compressed file, or another encoding?)",
            )
        ) from None


def check_lines(text: str, shown: str, limits: FileLimits, scope: str) -> None:
    """Refuse the first line longer than ``max_line_chars``."""
    limit = limits.max_line_chars
    if len(text) <= limit:
        return  # no line can be longer than the whole text: skip the split
    for number, line in enumerate(text.split("\n"), start=1):
        if len(line) > limit:
            raise Refused(
                Problem(
                    shown,
                    number,
                    f"line is {len(line)} characters, over the limit of {limit} ({_where(scope, 'max_line_chars')})",
                )
            )


# --------------------------------------------------------------------------- YAML aliases


def check_yaml_aliases(text: str, shown: str, limits: FileLimits, scope: str) -> None:
    """Refuse YAML whose aliases would expand past ``max_alias_nodes``, or refer to themselves.

    libyaml's event stream is read without building anything: each collection's size
    is counted as it closes (with the aliases inside it already expanded), so an alias
    to it adds that many nodes. The first alias that takes the total over the limit is
    the line reported. A file with no ``&`` has no anchor and so no alias to expand.
    Syntax errors are left to the real parser, which says exactly what is wrong.
    """
    if "&" not in text or "*" not in text:
        return
    import yaml

    limit = limits.max_alias_nodes
    loader = yaml.CBaseLoader if hasattr(yaml, "CBaseLoader") else yaml.BaseLoader
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    stack: list[list[Any]] = []  # [anchor, nodes so far] per open collection
    added = 0

    def count(n: int) -> None:
        if stack:
            stack[-1][1] += n

    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.ScalarEvent):
                if event.anchor:
                    sizes[event.anchor] = 1
                count(1)
            elif isinstance(event, yaml.CollectionStartEvent):
                stack.append([event.anchor, 1])
                if event.anchor:
                    open_anchors.add(event.anchor)
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, n = stack.pop()
                if anchor:
                    sizes[anchor] = n
                    open_anchors.discard(anchor)
                count(n)
            elif isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1
                if event.anchor in open_anchors:
                    raise Refused(Problem(shown, line, f"alias *{event.anchor} refers to itself: it never ends"))
                n = sizes.get(event.anchor)
                if n is None:
                    continue  # undefined: the parser reports it
                added += n
                count(n)
                if added > limit:
                    raise Refused(
                        Problem(
                            shown,
                            line,
                            f"aliases expand to more than {limit} nodes "
                            f"({_where(scope, 'max_alias_nodes')}): with this alias *{event.anchor} "
                            f"they add {added}",
                        )
                    )
            elif isinstance(event, yaml.DocumentEndEvent):
                sizes.clear()
    except yaml.YAMLError:
        return


# --------------------------------------------------------------------------- whole files


def read_text(
    path: Path,
    shown: str,
    limits: FileLimits,
    scope: str,
    *,
    yaml: bool = False,
    bom: bool = False,
) -> str:
    """Bytes within the size limit, as UTF-8, every line within the line limit (and, for
    YAML, aliases within theirs). Raises :class:`Refused`."""
    text = decode_utf8(read_bounded(path, shown, limits, scope), shown, bom=bom)
    check_lines(text, shown, limits, scope)
    if yaml:
        check_yaml_aliases(text, shown, limits, scope)
    return text


def json_depth_line(text: str, depth: int) -> int | None:
    """The first line where brackets open more than ``depth`` levels (for a JSON reader's
    RecursionError, which names no line). Brackets inside strings count too: a hint."""
    level = 0
    for number, line in enumerate(text.split("\n"), start=1):
        level += line.count("[") + line.count("{") - line.count("]") - line.count("}")
        if level > depth:
            return number
    return None


# --------------------------------------------------------------------------- the registry tree


def tree_problems(root: Path) -> list[Problem]:
    """Symbolic links and special files anywhere under the registry: never followed, never read.

    A link that points outside the registry says so; one that stays inside is refused
    too, because the registry's hash and a reviewer's diff must show the file itself.
    """
    from generator.registry.yamlio import display_path

    out: list[Problem] = []
    top = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted([*dirs, *files]):
            path = Path(folder) / name
            shown = str(Path(display_path(path.parent)) / name)  # display_path resolves: not the link
            try:
                mode = path.lstat().st_mode
            except OSError as exc:
                out.append(Problem(shown, None, f"cannot read: {exc.strerror}"))
                continue
            if stat.S_ISLNK(mode):
                target = os.readlink(path)
                resolved = (path.parent / target).resolve()
                inside = resolved == top or top in resolved.parents
                where = "" if inside else ", which leaves the registry"
                out.append(
                    Problem(
                        shown,
                        None,
                        f"symbolic link to {target!r}{where}: links are not allowed in the registry "
                        "(commit the file itself)",
                    )
                )
            elif not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                out.append(Problem(shown, None, "not a regular file or folder"))
    return out


# --------------------------------------------------------------------------- bootstrapping the limits


def read_input_limits(root: Path) -> InputLimits:
    """``input_limits`` from ``<root>/policy.yaml``, read as a stream up to the end of that block.

    Raises :class:`InputError` (file:line) when the block is missing, not first, or not
    plain numbers in a two-level mapping.
    """
    import yaml

    from generator.registry.yamlio import display_path

    path = root / POLICY_FILE
    shown = display_path(path)
    if path.is_symlink() or not path.is_file():
        raise InputError([Problem(shown, None, "required registry file is missing (or not a regular file)")])

    def refuse(message: str, mark: Any = None) -> InputError:
        return InputError([Problem(shown, mark.line + 1 if mark is not None else None, message)])

    values: dict[str, dict[str, str]] = {}
    lines: dict[tuple[str, ...], int] = {}
    loader = yaml.CBaseLoader if hasattr(yaml, "CBaseLoader") else yaml.BaseLoader
    try:
        with path.open("rb") as fh:
            events = yaml.parse(fh, Loader=loader)
            kinds = [type(next(events)) for _ in range(3)]
            if kinds != [yaml.StreamStartEvent, yaml.DocumentStartEvent, yaml.MappingStartEvent]:
                raise refuse("top level must be a mapping (key: value)", None)
            key = next(events)
            if isinstance(key, yaml.ScalarEvent) and key.value == "schema_version":
                if not isinstance(next(events), yaml.ScalarEvent):
                    raise refuse("schema_version must be a plain value", key.start_mark)
                key = next(events)
            if not (isinstance(key, yaml.ScalarEvent) and key.value == LIMITS_KEY):
                raise refuse(
                    f"{LIMITS_KEY} must be the first block (after schema_version): it sets the limits "
                    "for reading every other file, this one included",
                    getattr(key, "start_mark", None),
                )
            lines[()] = key.start_mark.line + 1
            start = next(events)
            if not isinstance(start, yaml.MappingStartEvent) or start.anchor:
                raise refuse(f"{LIMITS_KEY} must be a mapping of plain values", start.start_mark)
            while True:
                scope = next(events)
                if isinstance(scope, yaml.MappingEndEvent):
                    break
                if not isinstance(scope, yaml.ScalarEvent):
                    raise refuse(f"{LIMITS_KEY}: expected a key", scope.start_mark)
                lines[(scope.value,)] = scope.start_mark.line + 1
                inner = next(events)
                if not isinstance(inner, yaml.MappingStartEvent) or inner.anchor:
                    raise refuse(f"{LIMITS_KEY}.{scope.value} must be a mapping of plain numbers", inner.start_mark)
                group = values.setdefault(scope.value, {})
                while True:
                    name = next(events)
                    if isinstance(name, yaml.MappingEndEvent):
                        break
                    value = next(events)
                    if not (isinstance(name, yaml.ScalarEvent) and isinstance(value, yaml.ScalarEvent)) or (
                        value.anchor
                    ):
                        raise refuse(
                            f"{LIMITS_KEY}.{scope.value}: only plain `name: number` lines are allowed here",
                            name.start_mark,
                        )
                    group[name.value] = value.value
                    lines[(scope.value, name.value)] = name.start_mark.line + 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise refuse(f"invalid YAML before the end of {LIMITS_KEY}: {exc.problem or exc.context}", mark) from None
    except (yaml.YAMLError, StopIteration) as exc:
        raise refuse(f"cannot read {LIMITS_KEY}: {exc or 'the file ends inside it'}") from None
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror}") from None
    try:
        return InputLimits.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(str(p) for p in err["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
            label = ".".join((LIMITS_KEY, *loc))
            message = "missing" if err["type"] == "missing" else str(err["msg"])
            problems.append(Problem(shown, line, f"{label}: {message}"))
        raise InputError(problems) from None

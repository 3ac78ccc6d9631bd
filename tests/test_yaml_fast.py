"""The fast YAML reader (libyaml) gives exactly ruamel's YAML 1.2 reading, or hands over to ruamel.

The registry is read by libyaml for speed; ruamel stays the reference (and the source of
line numbers). These tests hold the two to the same plain data, on every shipped file and
on scalars where YAML 1.1 and 1.2 disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.registry.yamlio import read_doc, read_yaml, to_plain
from tests.conftest import REPO


@pytest.mark.parametrize("path", sorted((REPO / "registry").rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_file_reads_the_same_both_ways(path: Path) -> None:
    problems: list = []
    doc = read_doc(path, problems)
    assert doc is not None and not problems
    assert doc._tree is None, "a valid shipped file should not need ruamel"
    assert doc.data == to_plain(read_yaml(path, []))


TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "True",
    "FALSE",
    "~",
    "null",
    "",
    "0",
    "-7",
    "+3",
    "007",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "12:30:45",
    "1.5",
    "1.",
    ".5",
    "-2.5e3",
    "1e5",
    ".inf",
    "-.inf",
    ".nan",
    "2026-01-02",
    "2026-01-02 10:00:00",
    "3.14.15",
    "1.2.3",
    "0.1.0",
    "+",
    "v1",
    "1 apple",
]


@pytest.mark.parametrize("scalar", TRICKY)
def test_scalars_where_yaml_versions_disagree(tmp_path: Path, scalar: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(f"a: {scalar}\nlist: [{scalar or '~'}, 'quoted']\nb: x\n")
    doc = read_doc(path, [])
    assert doc is not None
    assert doc.data == to_plain(read_yaml(path, [])), scalar


def test_duplicate_keys_are_reported_by_ruamel_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\nb: 2\na: 3\n")
    problems: list = []
    assert read_doc(path, problems) is None
    assert len(problems) == 1 and problems[0].line == 3 and "duplicate key" in problems[0].message


def test_line_numbers_come_from_ruamel_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\nnested:\n  deep:\n    - x\n    - y\n")
    doc = read_doc(path, [])
    assert doc is not None and doc._tree is None
    assert doc.line(["nested", "deep", 1]) == 5

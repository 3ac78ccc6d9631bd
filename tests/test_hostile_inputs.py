"""Hostile input: each kind is refused before it is parsed, as file:line, exit 2, nothing written.

Limits come from policy.yaml ``input_limits``; tests that need a small limit lower it in
their own registry copy rather than writing files of the shipped sizes.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli

FIX = Path(__file__).parent / "fixtures" / "ingest"
TASK = Path("registry/tasks/smoke/smoke-extract-case-id.yaml")


def validate(registry: Path) -> Result:
    return CliRunner().invoke(cli, ["validate", "--registry", str(registry)], catch_exceptions=False)


def ingest(registry: Path, fmt: str, path: Path) -> Result:
    return CliRunner().invoke(
        cli,
        ["ingest", fmt, str(path), "--registry", str(registry), "--out", "out"],
        catch_exceptions=False,
    )


def refused(result: Result) -> list[str]:
    """The problem lines of a refused command (exit 2, nothing written)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].endswith("nothing was written.")
    return lines[:-1]


def set_limit(registry: Path, scope: str, name: str, value: int) -> None:
    path = registry / "policy.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    inside = False
    for i, line in enumerate(lines):
        if line.strip() == f"{scope}:":
            inside = True
        elif inside and line.strip().startswith(f"{name}:"):
            lines[i] = f"    {name}: {value}\n"
            break
    else:
        raise AssertionError(f"{scope}.{name} not in policy.yaml")
    path.write_text("".join(lines), encoding="utf-8")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# --------------------------------------------------------------------------- YAML aliases


def laughs(levels: int) -> str:
    """The "billion laughs": each level is nine aliases to the one before."""
    out = 'id: smoke-extract-case-id\nl0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for n in range(1, levels):
        out += f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n"
    return out


def test_billion_laughs_is_refused_at_the_alias_that_crosses_the_limit(registry_copy: Path) -> None:
    TASK.write_text(laughs(10), encoding="utf-8")  # 10^9 nodes once expanded
    before = files_under(Path.cwd())
    [problem] = refused(validate(registry_copy))
    # l0 has 10 nodes; l1 adds 9 x 10 = 90; l2 adds 9 x 91 = 819 (909); l3's first alias adds 820.
    assert problem == (
        f"{TASK}:5: aliases expand to more than 1000 nodes "
        "(policy.yaml input_limits.registry.max_alias_nodes): with this alias *l2 they add 1729"
    )
    assert files_under(Path.cwd()) == before


def test_alias_that_refers_to_itself(registry_copy: Path) -> None:
    TASK.write_text("id: smoke-extract-case-id\nloop: &a\n  - *a\n", encoding="utf-8")
    assert refused(validate(registry_copy)) == [f"{TASK}:3: alias *a refers to itself: it never ends"]


def test_a_few_aliases_within_the_limit_still_read(registry_copy: Path) -> None:
    text = TASK.read_text(encoding="utf-8").replace("author: opsbench", "author: &who opsbench", 1)
    TASK.write_text(text.replace("    note: The case number", "    note: *who\n    # The case number", 1))
    result = validate(registry_copy)
    assert result.exit_code == 0, result.output


def test_alias_limit_comes_from_policy(registry_copy: Path) -> None:
    TASK.write_text(laughs(3), encoding="utf-8")  # adds 90 + 819 = 909 nodes
    set_limit(registry_copy, "registry", "max_alias_nodes", 100)
    [problem] = refused(validate(registry_copy))
    assert problem.startswith(f"{TASK}:4: aliases expand to more than 100 nodes")


# --------------------------------------------------------------------------- size, lines, bytes


def test_file_over_the_size_limit_names_the_line_where_the_limit_falls(registry_copy: Path) -> None:
    body = "id: smoke-extract-case-id\nprompt: |\n" + ("  " + "x" * 97 + "\n") * 3000  # 100 bytes a line
    TASK.write_text(body, encoding="utf-8")
    size = TASK.stat().st_size
    [problem] = refused(validate(registry_copy))
    # 262144 bytes: 36 bytes of header, then 100-byte lines: byte 262144 is on line 2 + 2621 + 1.
    assert problem == (
        f"{TASK}:2624: file is {size} bytes, over the limit of 262144 "
        "(policy.yaml input_limits.registry.max_file_bytes); the limit falls on this line and nothing "
        "of the file was parsed"
    )


def test_line_over_the_length_limit(registry_copy: Path) -> None:
    TASK.write_text("id: smoke-extract-case-id\n\nprompt: " + "y" * 4001 + "\n", encoding="utf-8")
    assert refused(validate(registry_copy)) == [
        f"{TASK}:3: line is 4009 characters, over the limit of 4000 (policy.yaml input_limits.registry.max_line_chars)"
    ]


def test_invalid_utf8_names_its_line_and_column(registry_copy: Path) -> None:
    TASK.write_bytes(b"id: smoke-extract-case-id\nrole: extract\nprompt: caf\xe9 {{input}}\n")
    assert refused(validate(registry_copy)) == [
        f"{TASK}:3: file is not UTF-8 text: byte 0xe9 at column 12 is not valid UTF-8 "
        "(a binary or compressed file, or another encoding?)"
    ]


# --------------------------------------------------------------------------- paths


def test_symlink_out_of_the_registry_is_never_followed(registry_copy: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("id: stolen\n", encoding="utf-8")
    link = registry_copy / "tasks" / "smoke" / "stolen.yaml"
    link.symlink_to(secret)
    assert refused(validate(registry_copy)) == [
        f"registry/tasks/smoke/stolen.yaml: symbolic link to {str(secret)!r}, which leaves the registry: "
        "links are not allowed in the registry (commit the file itself)"
    ]


def test_symlink_inside_the_registry_is_refused_too(registry_copy: Path) -> None:
    (registry_copy / "tasks" / "smoke" / "again.yaml").symlink_to("smoke-extract-case-id.yaml")
    assert refused(validate(registry_copy)) == [
        "registry/tasks/smoke/again.yaml: symbolic link to 'smoke-extract-case-id.yaml': links are not "
        "allowed in the registry (commit the file itself)"
    ]


def test_symlinked_suite_folder_leaving_the_registry(registry_copy: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (registry_copy / "tasks" / "outside").symlink_to(tmp_path / "elsewhere")
    [problem] = refused(validate(registry_copy))
    assert problem.startswith("registry/tasks/outside: symbolic link to ") and "which leaves the registry" in problem


def test_fifo_in_the_registry_is_not_opened(registry_copy: Path) -> None:
    os.mkfifo(registry_copy / "tasks" / "smoke" / "pipe.yaml")  # opening it would block forever
    assert refused(validate(registry_copy)) == ["registry/tasks/smoke/pipe.yaml: not a regular file or folder"]


# --------------------------------------------------------------------------- the limits themselves


def test_input_limits_must_come_first_in_policy(registry_copy: Path) -> None:
    path = registry_copy / "policy.yaml"
    text = path.read_text(encoding="utf-8")
    block = text[text.index("input_limits:") : text.index("scoring:")]
    path.write_text(text.replace(block, "") + "\n" + block, encoding="utf-8")
    [problem] = refused(validate(registry_copy))
    scoring_line = path.read_text(encoding="utf-8").splitlines().index("scoring:") + 1
    assert problem == (
        f"registry/policy.yaml:{scoring_line}: input_limits must be the first block (after schema_version): "
        "it sets the limits for reading every other file, this one included"
    )


def test_a_bad_limit_value_points_at_its_line(registry_copy: Path) -> None:
    set_limit(registry_copy, "registry", "max_line_chars", -5)
    lines = (registry_copy / "policy.yaml").read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if "max_line_chars: -5" in text)
    assert refused(validate(registry_copy)) == [
        f"registry/policy.yaml:{line}: input_limits.registry.max_line_chars: Input should be greater than 0"
    ]


def test_the_limits_block_may_not_use_aliases(registry_copy: Path) -> None:
    path = registry_copy / "policy.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("max_file_bytes: 262144", "max_file_bytes: &m 262144"))
    [problem] = refused(validate(registry_copy))
    assert "input_limits.registry: only plain `name: number` lines are allowed here" in problem


# --------------------------------------------------------------------------- foreign files (ingest)


def test_foreign_file_over_the_size_limit(registry_copy: Path, tmp_path: Path) -> None:
    set_limit(registry_copy, "foreign", "max_file_bytes", 1000)
    src = tmp_path / "big.json"
    src.write_text(json.dumps({"model_id": "m", "pad": ["x" * 50] * 40}, indent=1), encoding="utf-8")
    [problem] = refused(ingest(registry_copy, "vllm", src))
    assert problem.startswith(f"{src.name}:") and "over the limit of 1000 (policy.yaml input_limits.foreign" in problem
    assert not Path("out").exists()


def test_foreign_line_over_the_length_limit(registry_copy: Path, tmp_path: Path) -> None:
    set_limit(registry_copy, "foreign", "max_line_chars", 200)
    src = tmp_path / "r.jsonl"
    src.write_text('{"model": "m", "case_id": "a", "accepted": true}\n' + '{"x": "' + "y" * 300 + '"}\n')
    assert refused(ingest(registry_copy, "jsonl", src)) == [
        f"{src.name}:2: line is 309 characters, over the limit of 200 (policy.yaml input_limits.foreign.max_line_chars)"
    ]


def test_foreign_invalid_utf8_names_its_line(registry_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    src.write_bytes(b"model,case_id,accepted\nm,c1,true\nm,c\xff2,false\n")
    assert refused(ingest(registry_copy, "csv", src)) == [
        f"{src.name}:3: file is not UTF-8 text: byte 0xff at column 4 is not valid UTF-8 "
        "(a binary or compressed file, or another encoding?)"
    ]


def test_foreign_yaml_billion_laughs(registry_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "leaderboard.yml"
    src.write_text(laughs(10).replace("id: smoke-extract-case-id\n", ""), encoding="utf-8")
    [problem] = refused(ingest(registry_copy, "aider", src))
    assert problem.startswith(f"{src.name}:4: aliases expand to more than 1000 nodes (policy.yaml input_limits.foreign")


def test_deeply_nested_json_is_a_located_problem_not_a_crash(registry_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "deep.json"
    src.write_text('{"benchmarks": [\n' + "[" * 100_000 + "\n", encoding="utf-8")
    [problem] = refused(ingest(registry_copy, "guidellm", src))
    assert problem == (
        f"{src.name}:2: JSON nested too deeply to read (arrays or objects inside each other past Python's limit)"
    )


def test_fifo_given_to_ingest_is_not_opened(registry_copy: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "results.json"
    os.mkfifo(pipe)
    assert refused(ingest(registry_copy, "vllm", pipe)) == [
        f"{pipe.name}: not a regular file (a device, FIFO or socket is never read)"
    ]


def eval_archive(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_eval_archive_with_too_many_members(registry_copy: Path, tmp_path: Path) -> None:
    set_limit(registry_copy, "foreign", "max_archive_members", 3)
    src = tmp_path / "log.eval"
    eval_archive(src, {f"samples/{i}_epoch_1.json": b"{}" for i in range(5)})
    assert refused(ingest(registry_copy, "inspect", src)) == [
        f"{src.name}: archive has 5 members, over the limit of 3 (policy.yaml input_limits.foreign.max_archive_members)"
    ]


def test_eval_archive_that_unpacks_past_the_size_limit(registry_copy: Path, tmp_path: Path) -> None:
    set_limit(registry_copy, "foreign", "max_file_bytes", 50_000)
    src = tmp_path / "log.eval"
    eval_archive(src, {"header.json": b" " * 1_000_000})  # a 1 MB member deflates to about 1 KB
    assert src.stat().st_size < 50_000
    assert refused(ingest(registry_copy, "inspect", src)) == [
        f"{src.name}: archive unpacks to 1000000 bytes, over the limit of 50000 "
        "(policy.yaml input_limits.foreign.max_file_bytes)"
    ]


@pytest.mark.parametrize("member", ["header.json", "samples/1_epoch_1.json"])
def test_eval_member_that_is_not_utf8(registry_copy: Path, tmp_path: Path, member: str) -> None:
    src = tmp_path / "log.eval"
    good = (FIX / "inspect" / "log_read_sample.json").read_text(encoding="utf-8")
    members = {"header.json": good.encode(), member: b'{"id": 1,\n "epoch": \xff}'}
    eval_archive(src, members)
    [problem] = refused(ingest(registry_copy, "inspect", src))
    assert problem.startswith(f"{src.name}/{member}:2: file is not UTF-8 text: byte 0xff at column 11")

"""How long does `opsbench validate` (and `ingest`) take to refuse hostile files?

Each case is a fresh copy of the shipped registry (in a temporary folder, never the
repository's) with one hostile file, checked by ``opsbench validate`` (or ``opsbench
ingest`` for foreign files) as a subprocess, at the shipped limits of
``registry/policy.yaml`` ``input_limits``. Each is run ``--repeats`` times; the
script prints the median wall time, the child's peak RSS, the exit code and the first
problem line. The clean registry is the baseline: a refusal should cost no more than
validating the registry itself (mostly Python start-up and imports).

    .venv/bin/python benchmarks/hostile_inputs.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TASK = Path("registry/tasks/smoke/smoke-extract-case-id.yaml")

# Runs the CLI and reports the process's own peak RSS on stderr's last line.
WRAPPER = """
import resource, sys
sys.argv = ["opsbench", *sys.argv[1:]]
from generator.cli import main
try:
    main()
finally:
    print(f"maxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def laughs(levels: int) -> str:
    out = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for n in range(1, levels):
        out += f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n"
    return out


def clean(root: Path) -> list[str]:
    return ["validate"]


def billion_laughs(root: Path) -> list[str]:
    (root / TASK).write_text(laughs(10), encoding="utf-8")  # 10^9 nodes expanded
    return ["validate"]


def self_alias(root: Path) -> list[str]:
    (root / TASK).write_text("loop: &a\n  - *a\n", encoding="utf-8")
    return ["validate"]


def oversized(root: Path) -> list[str]:
    (root / TASK).write_text("prompt: |\n" + ("  " + "x" * 97 + "\n") * 100_000, encoding="utf-8")  # 10 MB
    return ["validate"]


def long_line(root: Path) -> list[str]:
    (root / TASK).write_text("prompt: " + "y" * 200_000 + "\n", encoding="utf-8")
    return ["validate"]


def not_utf8(root: Path) -> list[str]:
    (root / TASK).write_bytes(b"id: x\nprompt: caf\xe9\n")
    return ["validate"]


def symlink_out(root: Path) -> list[str]:
    (root / "registry/tasks/smoke/passwd.yaml").symlink_to("/etc/passwd")
    return ["validate"]


def fifo(root: Path) -> list[str]:
    os.mkfifo(root / "registry/tasks/smoke/pipe.yaml")
    return ["validate"]


def foreign_laughs(root: Path) -> list[str]:
    (root / "board.yml").write_text(laughs(10), encoding="utf-8")
    return ["ingest", "aider", "board.yml", "--out", "out"]


def foreign_oversized(root: Path) -> list[str]:
    """A sparse file one byte over the shipped 256 MiB limit: read up to the limit, then refused."""
    limit = json_limits(root)["foreign"]["max_file_bytes"]
    with (root / "big.json").open("wb") as fh:
        fh.truncate(limit + 1)
    return ["ingest", "vllm", "big.json", "--out", "out"]


def foreign_not_utf8(root: Path) -> list[str]:
    (root / "r.csv").write_bytes(b"model,case_id,accepted\nm,c\xff,true\n")
    return ["ingest", "csv", "r.csv", "--out", "out"]


def json_limits(root: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from generator.inputguard import read_input_limits

    return json.loads(read_input_limits(root / "registry").model_dump_json())


CASES: dict[str, Callable[[Path], list[str]]] = {
    "clean registry (baseline)": clean,
    "billion laughs (10 levels, 10^9 nodes)": billion_laughs,
    "alias that refers to itself": self_alias,
    "10 MB task file": oversized,
    "200,000-character line": long_line,
    "invalid UTF-8": not_utf8,
    "symlink to /etc/passwd": symlink_out,
    "FIFO in the registry": fifo,
    "ingest: billion laughs (aider YAML)": foreign_laughs,
    "ingest: 256 MiB + 1 byte (sparse)": foreign_oversized,
    "ingest: invalid UTF-8 (CSV)": foreign_not_utf8,
}


def run(name: str, make: Callable[[Path], list[str]], repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "registry", root / "registry")
        args = make(root)
        times, rss, rc, first = [], [], None, ""
        for _ in range(repeats):
            started = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", WRAPPER, *args, "--registry", "registry"],
                cwd=root,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                timeout=600,
            )
            times.append(time.perf_counter() - started)
            lines = proc.stderr.strip().splitlines()
            rss.append(int(lines[-1].split("=")[1]) if lines and lines[-1].startswith("maxrss_kb=") else 0)
            rc = proc.returncode
            shown = [x for x in lines if not x.startswith("maxrss_kb=")] or proc.stdout.strip().splitlines()
            first = shown[0] if shown else ""
        return {"case": name, "median_s": statistics.median(times), "rss_mb": max(rss) / 1024, "rc": rc, "first": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| case | median wall | peak RSS | exit | first line |")
    print("|---|---:|---:|---:|---|")
    for name, make in CASES.items():
        r = run(name, make, args.repeats)
        first = r["first"] if len(r["first"]) < 110 else r["first"][:107] + "..."
        print(f"| {r['case']} | {r['median_s']:.2f} s | {r['rss_mb']:.0f} MB | {r['rc']} | `{first}` |", flush=True)


if __name__ == "__main__":
    main()

"""`opsbench tasks new`: write a commented case template a contributor fills in."""

from __future__ import annotations

from pathlib import Path

from generator.errors import OpsBenchError
from generator.registry.schema import SLUG_RE

TEMPLATE = """\
# A task case. Fill in every field, then run: opsbench validate
# Format: see the site's "Contribute a task" page.
schema_version: 1
id: {case}
title: One line saying what this case tests
role: {role}
{workload_line}severity: medium            # low | medium | high | critical
author: your-name
tags: []
max_tokens: 256
# The prompt; {{{{input}}}} is replaced by `input` below, verbatim.
prompt: |
  Use only the text below. ...

  {{{{input}}}}
input: |
  The fixture text the model works from (redacted, realistic).
checks:
  # Deterministic checks; each failed check is shown on the site with what it found.
  - kind: required_phrases
    phrases: ["replace me"]
  - kind: banned_phrases
    phrases: ["replace me too"]
    note: Why this phrase would be a policy violation.
"""


def scaffold_case(registry: Path, suite: str, case: str, role: str, workload: str | None) -> Path:
    for label, value in (("suite", suite), ("case id", case), ("role", role)):
        if not SLUG_RE.fullmatch(value):
            raise OpsBenchError(f"unsafe {label} {value!r}: use lower-case letters, digits, '-', '_'")
    if workload is not None and not SLUG_RE.fullmatch(workload):
        raise OpsBenchError(f"unsafe workload {workload!r}")
    folder = registry / "tasks" / suite
    path = folder / f"{case}.yaml"
    if path.exists():
        raise OpsBenchError(f"{path} already exists; pick another case id")
    folder.mkdir(parents=True, exist_ok=True)
    workload_line = f"workload: {workload}\n" if workload else "# workload: claim-summarization\n"
    path.write_text(TEMPLATE.format(case=case, role=role, workload_line=workload_line), encoding="utf-8")
    return path

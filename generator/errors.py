"""Domain errors. The library raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class OpsBenchError(Exception):
    """Base class for errors the CLI reports without a traceback."""

    exit_code = 1


class InputError(OpsBenchError):
    """Malformed input files: every problem found, not just the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.path, p.line or 0, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class RunError(OpsBenchError):
    """A run could not start or continue (not a per-request failure: those are results)."""

    exit_code = 1

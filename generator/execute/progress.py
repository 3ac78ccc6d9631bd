"""Run progress: a redrawn bar on a terminal, plain lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import time
from typing import TextIO

from generator.execute.runner import Progress
from generator.runs.records import ResultRecord


class ProgressPrinter:
    def __init__(self, stream: TextIO, tty: bool | None = None, every_s: float = 5.0):
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every_s = every_s
        self._last = 0.0
        self._drew = False

    def __call__(self, prog: Progress, rec: ResultRecord | None) -> None:
        text = f"{prog.done}/{prog.total} done, {prog.failed} failed, {prog.tokens_per_s:.1f} tok/s"
        if self.tty:
            width = 30
            filled = int(width * prog.done / prog.total) if prog.total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}   ")
            self.stream.flush()
            self._drew = True
            return
        now = time.monotonic()
        last_one = prog.done == prog.total
        if rec is not None and rec.status == "failed":
            self.stream.write(f"  {rec.model_id} {rec.case_id}: {rec.failure_kind}\n")
        if rec is None or last_one or now - self._last >= self.every_s:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last = now

    def close(self) -> None:
        if self._drew:
            self.stream.write("\n")
            self.stream.flush()


def make_progress(stream: TextIO) -> ProgressPrinter:
    return ProgressPrinter(stream)

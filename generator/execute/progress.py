"""Run progress: click's progress bar on a terminal, plain lines otherwise (CI logs, pipes).

The bar is click's own (``click.progressbar``; ``rich`` is not a dependency): it redraws in
place, shows position, percentage and ETA, and the line after it says done / failed / tok/s.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

import click

from generator.execute.runner import Progress
from generator.runs.records import ResultRecord


def _status(prog: Progress) -> str:
    return f"{prog.done}/{prog.total} done, {prog.failed} failed, {prog.tokens_per_s:.1f} tok/s"


class ProgressPrinter:
    def __init__(self, stream: TextIO, tty: bool | None = None, every_s: float = 5.0):
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every_s = every_s
        self._last = 0.0
        self._bar: Any = None
        self._shown = 0

    def __call__(self, prog: Progress, rec: ResultRecord | None) -> None:
        if self.tty:
            if self._bar is None:
                self._bar = click.progressbar(
                    length=prog.total,
                    label="run",
                    file=self.stream,
                    show_pos=True,
                    show_percent=True,
                    item_show_func=lambda text: text,
                )
                self._bar.__enter__()
            self._bar.update(prog.done - self._shown, _status(prog))
            self._shown = prog.done
            return
        now = time.monotonic()
        last_one = prog.done == prog.total
        if rec is not None and rec.status == "failed":
            self.stream.write(f"  {rec.model_id} {rec.case_id}: {rec.failure_kind}\n")
        if rec is None or last_one or now - self._last >= self.every_s:
            self.stream.write(_status(prog) + "\n")
            self.stream.flush()
            self._last = now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def make_progress(stream: TextIO) -> ProgressPrinter:
    return ProgressPrinter(stream)

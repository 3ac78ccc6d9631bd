"""Run progress: click's bar on a terminal, plain lines in a log."""

from __future__ import annotations

import io

from generator.execute.progress import ProgressPrinter
from generator.execute.runner import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_clicks_bar_with_the_status() -> None:
    out = Terminal()
    printer = ProgressPrinter(out)
    prog = Progress(total=4)
    printer(prog, None)
    prog.done, prog.failed = 2, 1
    printer(prog, None)
    printer.close()
    text = out.getvalue()
    assert "run  [#" in text and "50%" in text  # click.progressbar drew it
    assert "2/4 done, 1 failed" in text
    assert text.endswith("\n")


def test_a_log_gets_plain_lines() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    prog = Progress(total=2)
    printer(prog, None)
    prog.done = 2
    printer(prog, None)
    printer.close()
    assert out.getvalue().splitlines()[-1].startswith("2/2 done, 0 failed")
    assert "[" not in out.getvalue()

"""Progress of an eval run on stderr (quiet when asked, e.g. with --json).

On a terminal (and `--log-format text`), one bar that redraws itself; anywhere else (CI logs, a pipe, a
file, `--log-format json`) plain progress lines through `mcp_hub.logs.progress`, about every tenth of the
run, with no terminal control codes.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mcp_hub.logs import is_terminal, progress


class Progress:
    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None, width: int = 28) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.width = width
        self.redraw = is_terminal(self.stream)
        self._shown = 0  # tenths of the run shown as lines

    def step(self, label: str, *, skipped: bool = False) -> None:
        self.done += 1
        if self.quiet:
            return
        note = " (from results file)" if skipped else ""
        if not self.redraw:
            tenth = self.done * 10 // self.total
            if tenth > self._shown or self.done == 1:
                self._shown = tenth
                progress(f"[{self.done}/{self.total}] {label[:60]}{note}", done=self.done, total=self.total)
            return
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:60]}{note}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet and self.redraw:
            self.stream.write("\n")
            self.stream.flush()

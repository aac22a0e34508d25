"""A one-line progress bar on stderr (quiet when asked, e.g. with --json)."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None, width: int = 28) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.width = width

    def step(self, label: str, *, skipped: bool = False) -> None:
        self.done += 1
        if self.quiet:
            return
        filled = int(self.width * self.done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        note = " (from results file)" if skipped else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:60]}{note}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if not self.quiet:
            self.stream.write("\n")
            self.stream.flush()

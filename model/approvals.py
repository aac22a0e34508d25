"""Who approves a write: `--approve` globs (or config), a person at a terminal, or nobody.

A glob approves routine writes only. A write the flow guard or the scanner
flags needs a person: in a terminal the agent asks; non-interactive, it is denied.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import anyio

AskFn = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class ApprovalRequest:
    tool: str
    arguments: dict[str, Any]
    reasons: list[str]
    #: True when a glob is not enough (flow guard or scanner): a person must say yes.
    needs_person: bool


@dataclass
class Approver:
    globs: tuple[str, ...] = ()
    ask: AskFn | None = None
    asked: list[ApprovalRequest] = field(default_factory=list)

    def covered(self, tool: str) -> bool:
        return any(fnmatchcase(tool, glob) for glob in self.globs)

    async def decide(self, request: ApprovalRequest) -> tuple[bool, str]:
        """(approved, how): how is "glob", "person", "denied-by-person" or "non-interactive"."""
        if not request.needs_person and self.covered(request.tool):
            return True, "glob"
        if self.ask is None:
            return False, "non-interactive"
        self.asked.append(request)
        if await self.ask(_describe(request)):
            return True, "person"
        return False, "denied-by-person"


def terminal_ask() -> AskFn | None:
    """A y/N prompt on the terminal, or None when stdin is not a terminal (CI)."""
    if not sys.stdin.isatty():
        return None

    async def ask(question: str) -> bool:
        def prompt() -> bool:
            print(question, file=sys.stderr)
            return input("Allow? [y/N] ").strip().lower() in ("y", "yes")

        return await anyio.to_thread.run_sync(prompt)

    return ask


def _describe(request: ApprovalRequest) -> str:
    args = json.dumps(request.arguments, ensure_ascii=False)
    if len(args) > 800:
        args = args[:800] + "…"
    reasons = "".join(f"\n  - {r}" for r in request.reasons)
    return f"The agent wants to call {request.tool} {args}{reasons}"

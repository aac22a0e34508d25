"""Who approves a write: `--approve` globs (or config), a person through the approvals queue or at a terminal, or
nobody.

A glob approves routine writes only. A write the flow guard or the scanner flags needs a person. With a queue
(`--wait-for-approval` on `mcp-hub agent`, `review`, `triage` or `webhook`, or `[model] wait_for_approval =
true`: an app running unattended; wired by `model.app.AgentApp`) the write becomes a pending approval in the
hub's shared state (`mcp_hub.approvals`) and the agent waits until a person decides (`mcp-hub approvals
approve|deny`, the web console) or it expires; approved, the write happens once; otherwise it does not and the
model is told the decision and its note. Without a queue: in a terminal the agent asks; non-interactive, it is
denied.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import anyio

from mcp_hub.approvals import Approval, ApprovalQueue, HoldRequest
from mcp_hub.errors import HubError

AskFn = Callable[[str], Awaitable[bool]]


@dataclass(frozen=True)
class ApprovalRequest:
    tool: str
    arguments: dict[str, Any]
    reasons: list[str]
    #: True when a glob is not enough (flow guard or scanner): a person must say yes.
    needs_person: bool
    #: What a reviewer sees in the queue: the agent run, where the write goes and its visibility, the
    #: flow guard's reason and the private sources the run read, the scanner's findings.
    run: str | None = None
    target: str | None = None
    visibility: str | None = None
    flow_reason: str | None = None
    sources: tuple[str, ...] = ()
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Waiting:
    """Where an app's writes that need a person wait: its queue, and who asks as the queue shows it.

    Built by the app factory (`model.app.AgentApp`) once per app and carried by each of its hub sessions
    (`HubSession.waiting`), so every gate built over such a session waits in it (`new_gate(waiting=)`)."""

    queue: ApprovalQueue
    caller: str
    transport: str


@dataclass
class Approver:
    globs: tuple[str, ...] = ()
    ask: AskFn | None = None
    asked: list[ApprovalRequest] = field(default_factory=list)
    #: Wait in this queue for a person (unattended runs); it takes precedence over `ask`.
    queue: ApprovalQueue | None = None
    #: Who asks, as the queue shows it.
    caller: str = "agent"
    transport: str = "agent"
    #: The queue's final records, one per write that waited (newest last).
    decided: list[Approval] = field(default_factory=list)
    #: Why the queue could not be used, the last time it could not (the write was denied).
    unreachable: str | None = None

    def covered(self, tool: str) -> bool:
        return any(fnmatchcase(tool, glob) for glob in self.globs)

    async def decide(self, request: ApprovalRequest) -> tuple[bool, str]:
        """(approved, how): how is "glob", "person", "denied-by-person", "non-interactive", or for the
        queue "queue-approved", "queue-denied", "queue-expired", "queue-cancelled", "queue-unreachable"."""
        if not request.needs_person and self.covered(request.tool):
            return True, "glob"
        if self.queue is not None:
            return await self._wait_in_queue(self.queue, request)
        if self.ask is None:
            return False, "non-interactive"
        self.asked.append(request)
        if await self.ask(_describe(request)):
            return True, "person"
        return False, "denied-by-person"

    async def _wait_in_queue(self, queue: ApprovalQueue, request: ApprovalRequest) -> tuple[bool, str]:
        """Submit and wait; a queue that cannot be reached denies (the write is not done: fail closed)."""
        self.asked.append(request)
        try:
            return await self._submit_and_wait(queue, request)
        except HubError as exc:
            self.unreachable = exc.message
            return False, "queue-unreachable"

    async def _submit_and_wait(self, queue: ApprovalQueue, request: ApprovalRequest) -> tuple[bool, str]:
        pending = await queue.submit(
            HoldRequest(
                caller=self.caller,
                transport=self.transport,
                tool=request.tool,
                arguments=request.arguments,
                reasons=list(request.reasons),
                run_id=request.run,
                target=request.target,
                target_visibility=request.visibility,
                flow_reason=request.flow_reason,
                sources=list(request.sources),
                scanner_findings=list(request.findings),
            )
        )
        final = await queue.wait(pending.id)
        self.decided.append(final)
        return final.status == "approved", f"queue-{final.status}"


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

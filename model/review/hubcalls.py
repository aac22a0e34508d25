"""The review's calls into the hub: structured results with their provenance, and clear failures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from mcp_hub.errors import HubError
from mcp_hub.provenance import META_KEY
from model.approvals import AskFn
from model.gate import Gate, GateDecision, new_gate
from model.guard import FlowGuard
from model.hub import HubSession


class ReviewError(HubError):
    """The review cannot go on (a read failed, a URL is not a pull/merge request, …); the message says why."""


@dataclass
class HubResult:
    data: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)


class HubCalls:
    """Read and write through the hub's tools; every read's provenance feeds the flow guard."""

    def __init__(self, session: HubSession, guard: FlowGuard | None = None) -> None:
        self.session = session
        self.guard = guard or FlowGuard()
        self.calls: list[str] = []

    def gate(self, globs: Iterable[str] = (), ask: AskFn | None = None, verdict_log: Path | None = None) -> Gate:
        """The gate of a write run over this session: the reads' flow guard, and the session's approvals
        queue when its app waits for a person (`HubSession.waiting`, set by `model.app.AgentApp`)."""
        return new_gate(globs, ask, self.guard, verdict_log, self.session.waiting)

    def has(self, tool: str) -> bool:
        return tool in self.session.tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> HubResult:
        if not self.has(tool):
            raise ReviewError(
                f"the hub offers no tool {tool}: enable its connector and toolset "
                "(and MCP_HUB_ALLOW_WRITES=1 for posting)"
            )
        self.calls.append(tool)
        try:
            result: CallToolResult = await self.session.client.call_tool(tool, arguments)
        except MCPError as exc:  # the hub no longer offers it (-32602), or refused the request
            raise ReviewError(f"{tool} failed: {exc.message[:500]}") from None
        text = "\n".join(b.text for b in result.content if isinstance(b, TextContent))
        if result.is_error:
            raise ReviewError(f"{tool} failed: {text[:500]}")
        meta = dict((result.meta or {}).get(META_KEY) or {})
        self.guard.observe(meta)
        data = result.structured_content
        return HubResult(dict(data) if isinstance(data, dict) else {"text": text}, meta)

    async def gate_check(self, gate: Gate, tool: str, arguments: dict[str, Any]) -> GateDecision | None:
        """The gate's decision on writing `arguments` with `tool` (None: the hub offers no such tool).

        The reads the flow guard asks for (where does this write go?) go through this hub too.
        """
        info = self.session.tools.get(tool)
        if info is None:
            return None

        async def probe(name: str, args: dict[str, Any]) -> dict[str, Any]:
            try:
                return dict((await self.call(name, args)).provenance)
            except ReviewError:
                return {}

        return await gate.check(info, arguments, probe)

    async def pages(self, tool: str, arguments: dict[str, Any], max_pages: int) -> AsyncIterator[HubResult]:
        """A listing page by page: `cursor` from each page's `next_cursor` (the same on every connector)."""
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.call(tool, arguments | ({"cursor": cursor} if cursor else {}))
            yield page
            cursor = page.data.get("next_cursor")
            if not cursor:
                return

    async def try_call(self, tool: str, arguments: dict[str, Any]) -> HubResult | None:
        """A read whose failure is not fatal (an optional settings file, say)."""
        try:
            return await self.call(tool, arguments)
        except ReviewError:
            return None


def first_hub_error(group: BaseExceptionGroup[BaseException]) -> HubError | None:
    """The HubError inside an exception group (the MCP client's task group wraps what a review raised)."""
    for exc in group.exceptions:
        if isinstance(exc, HubError):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            found = first_hub_error(exc)
            if found is not None:
                return found
    return None

"""The agent's side of the hub: an MCP client, in memory or over Streamable HTTP.

The agent sees exactly the tools and policy any client sees: the hub is built
with `Caller("agent", "memory", policy)` (the name the data boundary knows), or
reached at a URL with a bearer token. The agent never imports a connector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult, TextContent

from mcp_hub.policy import Caller
from mcp_hub.provenance import META_KEY, delimit_outsider_text, new_boundary
from model.toolcalls import ToolInfo

if TYPE_CHECKING:
    from model.approvals import Waiting

AGENT_CALLER = "agent"
MAX_RESULT_CHARS = 20_000


@dataclass
class ToolOutcome:
    text: str
    is_error: bool
    provenance: dict[str, Any] = field(default_factory=dict)


class HubSession:
    """List and call the hub's tools; results as text for the model, with their provenance."""

    def __init__(self, client: Client, waiting: Waiting | None = None) -> None:
        self.client = client
        self.tools: dict[str, ToolInfo] = {}
        #: Where the writes of runs over this session wait for a person (set by `model.app.AgentApp.session`):
        #: every gate built over the session takes it (`HubCalls.gate`, `AgentApp.gate`).
        self.waiting = waiting

    async def refresh_tools(self) -> list[ToolInfo]:
        listed = await self.client.list_tools()
        self.tools = {
            t.name: ToolInfo(
                name=t.name,
                description=t.description or "",
                input_schema=dict(t.input_schema or {}),
                read_only=bool(t.annotations is not None and t.annotations.read_only_hint),
            )
            for t in listed.tools
        }
        return list(self.tools.values())

    async def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        try:
            result: CallToolResult = await self.client.call_tool(name, arguments)
        except MCPError as exc:
            if exc.code != INVALID_PARAMS:
                raise
            # An unknown (or hidden) tool is a JSON-RPC error; the model reads it like a tool's error.
            return ToolOutcome(text=f"Error: {exc.message}", is_error=True, provenance={})
        return outcome_of(result)


def outcome_of(result: CallToolResult) -> ToolOutcome:
    text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
    meta = dict((result.meta or {}).get(META_KEY) or {})
    if meta.get("outsider_text") and "<untrusted-data boundary=" not in text:
        # A hub that did not delimit outsider text itself: the agent does it.
        text = delimit_outsider_text(text, new_boundary())
    if len(text) > MAX_RESULT_CHARS:
        text = text[:MAX_RESULT_CHARS] + f"\n…[{len(text) - MAX_RESULT_CHARS} more characters cut]"
    return ToolOutcome(text=text, is_error=bool(result.is_error), provenance=meta)


@asynccontextmanager
async def open_hub(target: Any, *, token: str | None = None, caller: Caller | None = None) -> AsyncIterator[HubSession]:
    """A session on an in-memory hub server (an `MCPServer`) or a hub URL (`http(s)://…/mcp`).

    With `caller`, `target` is a running `HubServer` (the one a workflow tool runs in) and the
    session's requests come from `caller` (`HubServer.client_as`), not from its default caller.
    """
    async with AsyncExitStack() as stack:
        if caller is not None:
            client = await stack.enter_async_context(target.client_as(caller))
        else:
            client = await stack.enter_async_context(await _client(target, token, stack))
        session = HubSession(client)
        await session.refresh_tools()
        yield session


async def _client(target: Any, token: str | None, stack: AsyncExitStack) -> Client:
    if not isinstance(target, str):
        return Client(target)
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=60))
    return Client(streamable_http_client(target, http_client=http))

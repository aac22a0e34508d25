"""Discovery mode: two small tools in place of the whole catalog.

`hub_find_tools` searches the catalog the caller may use and returns the
matching tools with their input schemas; `hub_call_tool` calls one of them by
name, through the same policy, audit and data boundary as a direct call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from mcp_hub.server import HubServer


class FoundTool(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool


class FoundTools(BaseModel):
    tools: list[FoundTool]
    total_matches: int


def _score(query_words: list[str], haystack: str) -> int:
    return sum(1 for word in query_words if word in haystack)


def register_discovery_tools(server: HubServer) -> None:
    async def hub_find_tools(
        query: Annotated[str, Field(description="Words describing the task, e.g. 'sql query rows'.", max_length=500)],
        limit: Annotated[int, Field(ge=1, le=20)] = 5,
    ) -> FoundTools:
        caller = server.current_caller()
        words = [w for w in query.lower().replace("_", " ").split() if w]
        listed = {tool.name: tool for tool in await super(type(server), server).list_tools()}
        scored = []
        for hub_tool in server.visible_tools(caller):
            listed_tool = listed[hub_tool.facts.name]
            haystack = (
                f"{hub_tool.facts.name.replace('_', ' ')} {hub_tool.spec.description} {hub_tool.spec.toolset}".lower()
            )
            score = _score(words, haystack) if words else 1
            if score:
                scored.append((score, listed_tool, hub_tool))
        scored.sort(key=lambda item: (-item[0], item[1].name))
        found = [
            FoundTool(
                name=listed_tool.name,
                description=listed_tool.description or "",
                input_schema=listed_tool.input_schema,
                read_only=hub_tool.spec.read_only,
            )
            for _, listed_tool, hub_tool in scored[:limit]
        ]
        return FoundTools(tools=found, total_matches=len(scored))

    async def hub_call_tool(
        name: Annotated[str, Field(description="A tool name from hub_find_tools.")],
        arguments: Annotated[dict[str, Any], Field(description="Its arguments.")],
        ctx: Context,
    ) -> CallToolResult | InputRequiredResult:
        if name in ("hub_find_tools", "hub_call_tool"):
            raise ToolError("hub_call_tool calls catalog tools, not itself or hub_find_tools.")
        try:
            return await server.call_tool(name, arguments, ctx)
        except MCPError as exc:  # an unknown or hidden name: the model reads it as this tool's error
            raise ToolError(exc.message) from None

    server.add_tool(
        hub_find_tools,
        description="Search the hub's tools by task; returns names and input schemas.",
        structured_output=True,
    )
    server.add_tool(
        hub_call_tool,
        description="Call a hub tool found with hub_find_tools.",
        structured_output=False,
    )

"""The floor for a federated call: a bare MCPServer that forwards two tools to one upstream MCP server.

No policy, no audit, no provenance, no fencing, no restart: one SDK client held open, each call
passed on as it is. `bench/federation.py` runs it beside `mcp-hub serve` to separate the cost of an
extra hop (a second process and a second MCP session) from the cost of the hub's own layers.

    python bench/bare_proxy.py stdio COMMAND [ARGS...]     # serve over stdio
    python bench/bare_proxy.py http URL PORT               # upstream over Streamable HTTP, serve HTTP on PORT
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

_client: list[Client] = []


def _upstream() -> Any:
    if sys.argv[1] == "stdio":
        return StdioServerParameters(command=sys.argv[2], args=sys.argv[3:])
    from mcp.client.streamable_http import streamable_http_client

    return streamable_http_client(sys.argv[2])


@asynccontextmanager
async def lifespan(_: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
    async with Client(_upstream()) as client:
        _client.append(client)
        yield {}


server = MCPServer("bare-proxy", lifespan=lifespan)


@server.tool()
async def echo(message: str) -> CallToolResult:
    return await _client[0].call_tool("echo", {"message": message})


@server.tool()
async def get_current_time(timezone: str) -> CallToolResult:
    return await _client[0].call_tool("get_current_time", {"timezone": timezone})


if __name__ == "__main__":
    if sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[3]))
    else:
        server.run("stdio")

"""`HubServer.client_as(caller)`: an in-process client of the running hub whose requests come from `caller`
(a workflow tool calling back into the hub it runs in, with no second hub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_hub.calls import current_context
from mcp_hub.config import load_config
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.policy import Caller, Policy
from mcp_hub.provenance import Provenance
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.support.notes_connector import Note, NotesConnector

pytestmark = pytest.mark.anyio

READER = Caller("agent", "memory", Policy(toolsets=frozenset({"all"}), allow_writes=False))


class RelayNotes(NotesConnector):
    """Notes with a tool that calls back into its own hub as `READER` (what the review tool does)."""

    built: ClassVar[int] = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        type(self).built += 1

    @tool(toolset="read", description="List the tools the reader sees, through the hub.")
    async def relay(self) -> ToolOutput[Note]:
        server = current_context().mcp_server
        async with server.client_as(READER) as client:
            names = sorted(t.name for t in (await client.list_tools()).tools)
            await client.call_tool("notes_list_notes", {})
        return ToolOutput(Note(id=0, text=",".join(names)), Provenance("notes", "public"))


def hub(tmp_path: Path) -> HubServer:
    registry = Registry([RelayNotes])
    env = {
        "NOTES_TOKEN": "notes-token-0123456789",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller("local", "stdio", hub_policy(config)))


def audit(tmp_path: Path) -> list[tuple[str, str]]:
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    return [(e["caller"], e["tool"]) for e in map(json.loads, lines)]


async def test_requests_come_from_the_given_caller_under_its_policy(tmp_path: Path) -> None:
    server = hub(tmp_path)
    async with server.client_as(READER) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "notes_list_notes" in names and "notes_add_note" not in names  # the reader's policy
        with pytest.raises(MCPError, match="Unknown tool"):  # hidden from this caller: as if it did not exist
            await client.call_tool("notes_add_note", {"text": "x"})
        await client.call_tool("notes_list_notes", {})
    async with Client(server) as plain:  # afterwards: the hub's default caller again
        assert "notes_add_note" in {t.name for t in (await plain.list_tools()).tools}
        await plain.call_tool("notes_list_notes", {})
    assert audit(tmp_path) == [
        ("agent", "notes_add_note"),
        ("agent", "notes_list_notes"),
        ("local", "notes_list_notes"),
    ]


async def test_a_tool_calls_back_into_its_running_hub_as_the_caller(tmp_path: Path) -> None:
    RelayNotes.built = 0
    server = hub(tmp_path)
    async with Client(server) as client:
        result = await client.call_tool("notes_relay", {})
        assert not result.is_error, result.content
        seen = result.structured_content["text"].split(",")
        assert "notes_list_notes" in seen and "notes_add_note" not in seen
        await client.call_tool("notes_relay", {})
    assert RelayNotes.built == 1  # the same hub and connector: nothing built per call
    assert audit(tmp_path) == [
        ("agent", "notes_list_notes"),
        ("local", "notes_relay"),
        ("agent", "notes_list_notes"),
        ("local", "notes_relay"),
    ]

"""The catalog a caller sees and what it may call, through a real in-memory MCP client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_hub.server import HubServer

pytestmark = pytest.mark.anyio


async def names(server: HubServer) -> set[str]:
    async with Client(server) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_read_only_by_default(make_hub: Callable[..., HubServer]) -> None:
    assert await names(make_hub()) == {"notes_list_notes", "notes_get_note"}


async def test_writes_need_allow_writes_and_destructive_needs_more(make_hub: Callable[..., HubServer]) -> None:
    assert "notes_add_note" in await names(make_hub({"MCP_HUB_ALLOW_WRITES": "true"}))
    assert "notes_delete_notes" not in await names(make_hub({"MCP_HUB_ALLOW_WRITES": "true"}))
    both = {"MCP_HUB_ALLOW_WRITES": "true", "MCP_HUB_ALLOW_DESTRUCTIVE": "true"}
    assert "notes_delete_notes" in await names(make_hub(both))
    # destructive alone, without writes, enables nothing
    assert "notes_delete_notes" not in await names(make_hub({"MCP_HUB_ALLOW_DESTRUCTIVE": "true"}))


async def test_annotations_are_truthful(make_hub: Callable[..., HubServer]) -> None:
    env = {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_ALLOW_DESTRUCTIVE": "1", "MCP_HUB_TOOLSETS": "all"}
    async with Client(make_hub(env)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["notes_list_notes"].annotations.read_only_hint is True
    assert tools["notes_add_note"].annotations.read_only_hint is False
    assert tools["notes_add_note"].annotations.destructive_hint is False
    assert tools["notes_delete_notes"].annotations.destructive_hint is True


@pytest.mark.parametrize(
    ("toolsets", "expected"),
    [
        ("notes.admin", {"notes_fail"}),
        ("admin", {"notes_fail"}),
        ("notes", {"notes_list_notes", "notes_get_note", "notes_fail", "notes_probe_context"}),
        ("all", {"notes_list_notes", "notes_get_note", "notes_fail", "notes_probe_context"}),
        ("default,admin", {"notes_list_notes", "notes_get_note", "notes_fail"}),
        ("github", set()),
    ],
)
async def test_toolsets(make_hub: Callable[..., HubServer], toolsets: str, expected: set[str]) -> None:
    assert await names(make_hub({"MCP_HUB_TOOLSETS": toolsets})) == expected


async def test_allow_and_deny_globs(make_hub: Callable[..., HubServer]) -> None:
    assert await names(make_hub({"MCP_HUB_ALLOW": "notes_get_*"})) == {"notes_get_note"}
    assert await names(make_hub({"MCP_HUB_DENY": "*_get_*"})) == {"notes_list_notes"}


async def test_hidden_tool_cannot_be_called_and_looks_unknown(make_hub: Callable[..., HubServer]) -> None:
    server = make_hub()
    async with Client(server) as client:
        with pytest.raises(MCPError) as hidden:
            await client.call_tool("notes_add_note", {"text": "sneaky"})
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("notes_no_such_tool", {"text": "sneaky"})
    assert (hidden.value.code, hidden.value.message) == (INVALID_PARAMS, "Unknown tool: notes_add_note")
    assert unknown.value.code == INVALID_PARAMS  # the same answer: a caller cannot tell hidden from absent
    notes = server.connectors[0]
    assert "sneaky" not in notes.notes  # type: ignore[attr-defined]


async def test_instance_argument_only_with_several_instances(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        schema = {t.name: t for t in (await client.list_tools()).tools}["notes_list_notes"].input_schema
    assert "instance" not in schema.get("properties", {})

    env = {"MCP_HUB_NOTES__INSTANCES__WORK__TOKEN": "work-token-abcdef", "MCP_HUB_NOTES__INSTANCES__WORK__NOTES": "[]"}
    async with Client(make_hub(env)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["notes_list_notes"].input_schema["properties"]["instance"]["enum"] == ["default", "work"]
        assert len(tools) == 2  # one tool per method, not per instance
        work = await client.call_tool("notes_list_notes", {"instance": "work"})
        default = await client.call_tool("notes_list_notes", {})
        bad = await client.call_tool("notes_list_notes", {"instance": "nope"})
    assert work.structured_content == {"notes": [], "instance": "work"}
    assert default.structured_content["instance"] == "default"
    assert len(default.structured_content["notes"]) == 2
    assert bad.is_error and "instance" in bad.content[0].text


async def test_schemas_are_compact(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert "title" not in tool.input_schema
        for prop in tool.input_schema.get("properties", {}).values():
            assert "title" not in prop
        assert tool.output_schema is not None

"""Discovery mode: two small tools in place of the catalog, same policy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client

from mcp_hub.server import HubServer
from mcp_hub.tokens import tool_cost

pytestmark = pytest.mark.anyio


async def test_discovery_lists_two_small_tools(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub(discovery=True)) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == {"hub_find_tools", "hub_call_tool"}
    total = sum(tool_cost(t.name, t.description, t.input_schema).tokens for t in tools)
    assert total <= 1500, total


async def test_find_returns_schemas_of_permitted_tools_only(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub(discovery=True)) as client:
        found = await client.call_tool("hub_find_tools", {"query": "note"})
        writes = await client.call_tool("hub_find_tools", {"query": "add note"})
    names = [t["name"] for t in found.structured_content["tools"]]
    assert set(names) == {"notes_get_note", "notes_list_notes"}
    by_name = {t["name"]: t for t in found.structured_content["tools"]}
    assert by_name["notes_get_note"]["input_schema"]["required"] == ["note_id"]
    assert "notes_add_note" not in [t["name"] for t in writes.structured_content["tools"]]


async def test_call_through_discovery_obeys_policy(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub(discovery=True)) as client:
        ok = await client.call_tool("hub_call_tool", {"name": "notes_get_note", "arguments": {"note_id": 1}})
        hidden = await client.call_tool("hub_call_tool", {"name": "notes_add_note", "arguments": {"text": "x"}})
        invalid = await client.call_tool("hub_call_tool", {"name": "notes_get_note", "arguments": {}})
        recursive = await client.call_tool("hub_call_tool", {"name": "hub_call_tool", "arguments": {}})
    assert not ok.is_error and ok.structured_content == {"id": 1, "text": "second"}
    assert ok.meta["mcp_hub/provenance"]["connector"] == "notes"
    assert hidden.is_error and "Unknown tool" in hidden.content[0].text
    assert invalid.is_error and "note_id" in invalid.content[0].text
    assert recursive.is_error

"""Connector resources: templates, instances, provenance, policy and the data boundary."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_hub.calls import _CALLER
from mcp_hub.policy import Caller, Policy
from mcp_hub.server import HubServer

pytestmark = pytest.mark.anyio


async def test_template_listed_and_read_with_provenance(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        templates = (await client.list_resource_templates()).resource_templates
        plain = await client.read_resource("notes://note/1")
        markdown = await client.read_resource("notes://note/0?format=markdown")
    assert [t.uri_template for t in templates] == ["notes://note/{note_id}{?format}"]
    assert templates[0].name == "notes_note_text"
    content = plain.contents[0]
    meta = content.meta["mcp_hub/provenance"]
    assert meta["connector"] == "notes" and meta["outsider_text"] is True
    assert content.text.startswith(f"<untrusted-data boundary={meta['boundary']}>") and "second" in content.text
    assert "# note 0\nfirst" in markdown.contents[0].text


async def test_instance_query_variable_with_several_instances(make_hub: Callable[..., HubServer]) -> None:
    env = {"MCP_HUB_NOTES__INSTANCES__WORK__TOKEN": "work-token-x", "MCP_HUB_NOTES__INSTANCES__WORK__NOTES": '["w0"]'}
    async with Client(make_hub(env)) as client:
        templates = (await client.list_resource_templates()).resource_templates
        work = await client.read_resource("notes://note/0?instance=work")
        default = await client.read_resource("notes://note/0")
    assert templates[0].uri_template == "notes://note/{note_id}{?format,instance}"
    assert "w0" in work.contents[0].text and work.contents[0].meta["mcp_hub/provenance"]["instance"] == "work"
    assert "first" in default.contents[0].text


async def test_errors_policy_and_boundary(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        with pytest.raises(MCPError, match="does not exist"):
            await client.read_resource("notes://note/9")
    async with Client(make_hub({"MCP_HUB_TOOLSETS": "write"})) as client:
        assert (await client.list_resource_templates()).resource_templates == []
        with pytest.raises(MCPError, match="not available"):
            await client.read_resource("notes://note/0")
    async with Client(make_hub({"MCP_HUB_PRIVATE_DATA_CALLERS": "agent"}, caller_name="someone")) as client:
        with pytest.raises(MCPError, match="data boundary"):
            await client.read_resource("notes://note/0")


async def test_lockdown_reaches_the_connector(make_hub: Callable[..., HubServer]) -> None:
    server = make_hub()
    locked = Caller("local", "memory", Policy(), lockdown=True)
    token = _CALLER.set(locked)
    try:
        contents = list(await server.read_resource("notes://note/0"))  # type: ignore[arg-type]
    finally:
        _CALLER.reset(token)
    assert contents[0].content == "[withheld: lockdown]"


async def test_prompts_listed_rendered_and_under_policy(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        prompts = (await client.list_prompts()).prompts
        rendered = await client.get_prompt("notes_summarise", {"style": "long"})
        with pytest.raises(MCPError, match="no style"):
            await client.get_prompt("notes_summarise", {"style": "weird"})
    assert [(p.name, p.description) for p in prompts] == [("notes_summarise", "Summarise the notes.")]
    assert "2 notes (long)" in rendered.messages[0].content.text
    async with Client(make_hub({"MCP_HUB_TOOLSETS": "write"})) as client:
        assert (await client.list_prompts()).prompts == []
        with pytest.raises(MCPError, match="Unknown prompt"):
            await client.get_prompt("notes_summarise", {})

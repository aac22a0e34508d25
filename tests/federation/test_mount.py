"""Federated servers' tools, resources and prompts through the hub, with a real MCP client."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp import types as mt

from mcp_hub.provenance import META_KEY
from tests.federation.conftest import HubFactory, everything_stdio, fed_stdio, time_stdio

pytestmark = pytest.mark.anyio


async def listed(client: Client, server: Any, timeout: float = 30) -> list[str]:
    await server.federation.wait_listed(timeout)
    return [t.name for t in (await client.list_tools()).tools]


async def test_server_everything_over_stdio_tools_resources_prompts(make_hub: HubFactory) -> None:
    hub = make_hub(everything_stdio(read_only=["echo", "get-*", "trigger-long-running-operation"]))
    async with Client(hub) as client:
        names = await listed(client, hub)
        assert {"everything_echo", "everything_get-sum", "everything_get-tiny-image"} <= set(names)
        # `toggle-simulated-logging` claims nothing read-only and the hub does not allow writes: hidden
        assert "everything_toggle-simulated-logging" not in names
        result = await client.call_tool("everything_echo", {"message": "hello"})
        assert not result.is_error
        text = result.content[0].text  # type: ignore[union-attr]
        assert "Echo: hello" in text and text.startswith("<untrusted-data boundary=")
        labels = result.meta[META_KEY]  # type: ignore[index]
        assert labels["server"] == "everything" and labels["trusted"] is False and labels["outsider_text"] is True
        assert labels["boundary"] in text
        image = await client.call_tool("everything_get-tiny-image", {})
        assert any(isinstance(block, mt.ImageContent) for block in image.content)
        summed = await client.call_tool("everything_get-sum", {"a": 2, "b": 3})
        assert "5" in summed.content[0].text  # type: ignore[union-attr]
        templates = (await client.list_resource_templates()).resource_templates
        assert any(t.uri_template == "everything+demo://resource/dynamic/text/{resourceId}" for t in templates)
        resources = (await client.list_resources()).resources
        doc = next(r for r in resources if str(r.uri).endswith("architecture.md"))
        assert str(doc.uri).startswith("everything+demo://") and doc.name == "everything_architecture.md"
        read = await client.read_resource(str(doc.uri))
        content = read.contents[0]
        assert isinstance(content, mt.TextResourceContents) and "<untrusted-data boundary=" in content.text
        assert content.meta is not None and content.meta[META_KEY]["server"] == "everything"
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        assert "everything_simple-prompt" in prompts
        prompt = await client.get_prompt("everything_simple-prompt", {})
        assert prompt.messages and prompt.meta is not None and prompt.meta[META_KEY]["trusted"] is False


async def test_progress_is_forwarded(make_hub: HubFactory) -> None:
    hub = make_hub(fed_stdio(read_only=["*"]))
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async with Client(hub) as client:
        await listed(client, hub)
        result = await client.call_tool("fed_slow", {"steps": 3}, progress_callback=progress)
    assert "done 3" in result.content[0].text  # type: ignore[union-attr]
    assert [s[0] for s in seen] == [1, 2, 3] and seen[-1][2] == "step 3"


async def test_structured_content_passes_through_in_shape(make_hub: HubFactory) -> None:
    hub = make_hub(time_stdio(read_only=["get_current_time"]))
    async with Client(hub) as client:
        names = await listed(client, hub)
        assert "time_get_current_time" in names
        tool = next(t for t in (await client.list_tools()).tools if t.name == "time_get_current_time")
        assert tool.output_schema is not None and "datetime" in tool.output_schema["properties"]
        result = await client.call_tool("time_get_current_time", {"timezone": "UTC"})
    assert not result.is_error
    assert result.structured_content is not None
    assert set(result.structured_content) == {"timezone", "datetime", "day_of_week", "is_dst"}
    assert result.structured_content["timezone"] == "UTC"


async def test_upstream_tool_error_keeps_is_error(make_hub: HubFactory) -> None:
    hub = make_hub(time_stdio(read_only=["get_current_time"]))
    async with Client(hub) as client:
        await listed(client, hub)
        result = await client.call_tool("time_get_current_time", {"timezone": "Not/AZone"})
    assert result.is_error


async def test_handshake_and_listing_never_wait_for_a_server(make_hub: HubFactory, tmp_path: Any) -> None:
    hanging = (
        "[servers.stuck]\n"
        f'command = "{__import__("sys").executable}"\n'
        'args = ["-c", "import time; time.sleep(60)"]\n'
        "timeout_s = 30\n"
    )
    hub = make_hub(hanging + time_stdio(read_only=["get_current_time"]))
    started = time.perf_counter()
    async with Client(hub) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        elapsed = time.perf_counter() - started
        assert elapsed < 5.0, elapsed  # the stuck server has 30 s (timeout_s) to answer: none of it is waited for
        assert not any(n.startswith("stuck_") for n in names)
        status = {row["server"]: row for row in hub.federation.status()}  # type: ignore[union-attr]
        assert status["stuck"]["state"] == "starting" and status["stuck"]["catalog"] == "none"
        # the other server joins as soon as it is ready, whatever the stuck one does
        with anyio.fail_after(20):
            while "time_get_current_time" not in [t.name for t in (await client.list_tools()).tools]:
                await anyio.sleep(0.05)


async def test_last_known_catalog_is_served_while_the_server_is_down(make_hub: HubFactory) -> None:
    hub = make_hub(fed_stdio(read_only=["*"]))
    async with Client(hub) as client:
        assert "fed_ok" in await listed(client, hub)
    # The same server (same command) now cannot start: its catalog comes from the cache.
    down = make_hub(fed_stdio(read_only=["*"], env={"FED_TEST_FAIL_START": "1"}, timeout_s=1))
    async with Client(down) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "fed_ok" in names
        row = down.federation.status()[0]  # type: ignore[union-attr]
        assert row["catalog"] == "cache"
        result = await client.call_tool("fed_ok", {})
    assert result.is_error
    assert "fed is not connected" in result.content[0].text  # type: ignore[union-attr]

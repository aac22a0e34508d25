"""MCP logging, completion and resource subscriptions, through a real MCP client (in memory, handshake era)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    ImageContent,
    LoggingMessageNotificationParams,
    PromptReference,
    ResourceTemplateReference,
    ResourceUpdatedNotification,
    TextContent,
)

from tests.support.conformance_hub import FIXTURE_TOKEN, conformance_server

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def hub(tmp_path: Path, env: dict[str, str] | None = None) -> Any:
    server, _, _ = conformance_server(tmp_path / "audit.jsonl", env, transport="memory")
    return server


class Logs:
    def __init__(self) -> None:
        self.seen: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.seen.append(params)

    def texts(self) -> list[str]:
        return [str(p.data) for p in self.seen]


async def test_tool_logs_reach_the_client_at_the_level_it_chose(tmp_path: Path) -> None:
    logs = Logs()
    async with Client(hub(tmp_path), mode="legacy", logging_callback=logs) as client:
        await client.call_tool("test_tool_with_logging", {})
        assert logs.seen == []  # info is below the default level (warning)
        await client.set_logging_level("info")
        result = await client.call_tool("test_tool_with_logging", {})
        assert not result.is_error
        assert logs.texts() == ["Tool execution started", "Tool processing data", "Tool execution completed"]
        assert {p.level for p in logs.seen} == {"info"}
        await client.set_logging_level("error")
        await client.call_tool("test_tool_with_logging", {})
        await client.call_tool("test_tool_with_warning", {})
    assert len(logs.seen) == 3


async def test_connector_warnings_are_forwarded_in_order_and_redacted(tmp_path: Path) -> None:
    logs = Logs()
    async with Client(hub(tmp_path), mode="legacy", logging_callback=logs) as client:
        result = await client.call_tool("test_tool_with_warning", {"detail": f"token {FIXTURE_TOKEN} rejected"})
    assert not result.is_error
    # Both records, the one from a worker thread included, arrive before the result, and masked.
    assert logs.texts() == ["conformance warning: token *** rejected", "from a worker thread: token *** rejected"]
    assert [p.level for p in logs.seen] == ["warning", "warning"]
    assert logs.seen[0].logger == "tests.support.conformance_connector"


async def test_retries_are_told_to_the_client(tmp_path: Path) -> None:
    logs = Logs()
    async with Client(hub(tmp_path), mode="legacy", logging_callback=logs) as client:
        result = await client.call_tool("test_flaky_upstream", {})
    assert result.structured_content == {"text": "answered after 2 attempts"}
    assert len(logs.seen) == 1 and logs.seen[0].level == "warning"
    assert logs.texts()[0].startswith("upstream busy or failing; retry 1/2 in ")


async def test_completion_asks_the_connector_under_policy(tmp_path: Path) -> None:
    async with Client(hub(tmp_path), mode="legacy") as client:
        caps = client.session.server_capabilities
        assert caps is not None and caps.completions is not None and caps.logging is not None
        prompt = PromptReference(type="ref/prompt", name="test_prompt_with_arguments")
        words = await client.complete(prompt, {"name": "arg1", "value": "par"})
        template = ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data")
        ids = await client.complete(template, {"name": "id", "value": "12"})
        nothing = await client.complete(prompt, {"name": "arg1", "value": "zz"})
        with pytest.raises(MCPError) as unknown:
            await client.complete(PromptReference(type="ref/prompt", name="test_nope"), {"name": "a", "value": ""})
    assert words.completion.values == ["paris", "park", "party"] and words.completion.total == 3
    assert ids.completion.values == ["123", "124"]
    assert nothing.completion.values == []
    assert unknown.value.code == INVALID_PARAMS
    async with Client(hub(tmp_path, {"MCP_HUB_DENY": "test_prompt_with_arguments"}), mode="legacy") as client:
        with pytest.raises(MCPError) as hidden:
            await client.complete(prompt, {"name": "arg1", "value": "par"})
    assert hidden.value.code == INVALID_PARAMS and "Unknown prompt" in hidden.value.message


async def test_subscribers_hear_of_changes_until_they_unsubscribe(tmp_path: Path) -> None:
    updates: list[str] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(message.params.uri)

    async with Client(hub(tmp_path), mode="legacy", message_handler=on_message) as client:
        caps = client.session.server_capabilities
        assert caps is not None and caps.resources is not None and caps.resources.subscribe
        await client.call_tool("test_touch_watched", {})
        assert updates == []  # not subscribed yet
        await client.subscribe_resource("test://watched-resource")
        await client.call_tool("test_touch_watched", {})
        assert updates == ["test://watched-resource"]
        await client.unsubscribe_resource("test://watched-resource")
        await client.call_tool("test_touch_watched", {})
        with pytest.raises(MCPError) as not_subscribable:
            await client.subscribe_resource("test://static-text")
    assert updates == ["test://watched-resource"]
    assert not_subscribable.value.code == INVALID_PARAMS


async def test_images_and_embedded_resources_follow_the_text(tmp_path: Path) -> None:
    async with Client(hub(tmp_path), mode="legacy") as client:
        result = await client.call_tool("test_multiple_content_types", {})
        prompt = await client.get_prompt("test_prompt_with_image")
    kinds = [block.type for block in result.content]
    assert kinds == ["text", "image", "resource"]
    assert isinstance(result.content[1], ImageContent) and result.content[1].mime_type == "image/png"
    assert result.meta is not None and result.meta["mcp_hub/provenance"]["connector"] == "test"
    assert [m.content.type for m in prompt.messages] == ["image", "text"]
    assert isinstance(prompt.messages[1].content, TextContent)


async def test_declared_additional_properties_false_is_enforced(tmp_path: Path) -> None:
    async with Client(hub(tmp_path), mode="legacy") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        ok = await client.call_tool("json_schema_2020_12_tool", {"name": "Ada", "address": {"city": "London"}})
        extra = await client.call_tool("json_schema_2020_12_tool", {"name": "Ada", "age": 36})
    schema = listed["json_schema_2020_12_tool"].input_schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False and "address" in schema["$defs"]
    assert ok.structured_content == {"text": "Hello Ada at London."}
    assert extra.is_error and "unknown age" in extra.content[0].text

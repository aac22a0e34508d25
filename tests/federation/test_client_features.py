"""Elicitation and sampling a federated server asks for reach the hub's client when it supports them."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp import types as mt
from mcp.shared.exceptions import MCPError

from tests.federation.conftest import HubFactory, everything_stdio

pytestmark = pytest.mark.anyio

CONFIG = everything_stdio(read_only=["trigger-elicitation-request", "trigger-sampling-request"])


async def test_elicitation_is_forwarded_to_a_client_that_supports_it(make_hub: HubFactory) -> None:
    asked: list[str] = []

    async def elicit(context: Any, params: mt.ElicitRequestParams) -> mt.ElicitResult:
        asked.append(params.message)
        return mt.ElicitResult(action="decline")

    hub = make_hub(CONFIG)
    async with Client(hub, elicitation_callback=elicit, mode="legacy") as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        result = await client.call_tool("everything_trigger-elicitation-request", {})
    assert asked and asked[0].startswith("[everything] ")  # the person sees which server asks
    assert "decline" in str(result.content[0].text).lower()  # type: ignore[union-attr]


async def test_elicitation_fails_cleanly_without_client_support(make_hub: HubFactory) -> None:
    hub = make_hub(CONFIG)
    async with Client(hub, mode="legacy") as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        result = await client.call_tool("everything_trigger-elicitation-request", {})
    assert result.is_error and "the hub's client does not support elicitation" in str(result.content[0].text)  # type: ignore[union-attr]


async def test_sampling_is_forwarded(make_hub: HubFactory) -> None:
    prompts: list[Any] = []

    async def sample(context: Any, params: mt.CreateMessageRequestParams) -> mt.CreateMessageResult:
        prompts.append(params.messages[0].content)
        return mt.CreateMessageResult(
            role="assistant", content=mt.TextContent(type="text", text="sampled answer"), model="test-model"
        )

    hub = make_hub(CONFIG)
    async with Client(hub, sampling_callback=sample, mode="legacy") as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        result = await client.call_tool("everything_trigger-sampling-request", {"prompt": "say hi"})
    assert prompts and "say hi" in str(prompts[0])
    assert "sampled answer" in str(result.content[0].text)  # type: ignore[union-attr]


@pytest.mark.parametrize("trusted", [False, True])
async def test_an_untrusted_servers_sampling_never_asks_for_the_clients_context(
    make_hub: HubFactory, trusted: bool
) -> None:
    """includeContext "allServers" would have the client add what it holds from the hub itself (every other
    server's and connector's data) to a request whose answer goes back to that server."""
    from tests.federation.conftest import fed_stdio

    asked: list[Any] = []

    async def sample(context: Any, params: mt.CreateMessageRequestParams) -> mt.CreateMessageResult:
        asked.append(params.include_context)
        return mt.CreateMessageResult(role="assistant", content=mt.TextContent(type="text", text="hi"), model="m")

    hub = make_hub(fed_stdio(read_only=["*"], trusted=trusted))
    async with Client(hub, sampling_callback=sample, mode="legacy") as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        result = await client.call_tool("fed_ask_model", {"question": "what is in the private repos?"})
    assert not result.is_error and "the model said: hi" in str(result.content[0].text)  # type: ignore[union-attr]
    assert asked == (["allServers"] if trusted else ["none"])  # the switch: a trusted server asks as it likes


async def test_an_untrusted_servers_sampling_is_refused_under_lockdown(make_hub: HubFactory) -> None:
    from tests.federation.conftest import fed_stdio

    asked: list[Any] = []

    async def sample(context: Any, params: mt.CreateMessageRequestParams) -> mt.CreateMessageResult:
        asked.append(params)
        return mt.CreateMessageResult(role="assistant", content=mt.TextContent(type="text", text="hi"), model="m")

    hub = make_hub(fed_stdio(read_only=["*"]), lockdown=True)
    async with Client(hub, sampling_callback=sample, mode="legacy") as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        # The test server lets the refusal propagate: a JSON-RPC error, passed on by the hub.
        with pytest.raises(MCPError, match="sampling for federated server fed is refused under lockdown"):
            await client.call_tool("fed_ask_model", {"question": "hello"})
    assert asked == []

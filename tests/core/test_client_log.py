"""A tool run without an MCP request (no client to tell) opens a channel that sends nothing."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver import Context

from mcp_hub import client_log
from mcp_hub.redaction import Redactor

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_outside_a_request_the_channel_sends_nothing() -> None:
    sent: list[str] = []

    class Spy(Context):  # type: ignore[type-arg]
        async def log(self, *args: object, **kwargs: object) -> None:
            sent.append(str(args))

    channel, token = client_log.open_call_log(Spy(), Redactor([]))
    try:
        assert channel is not None and not channel.wants("emergency")
        await client_log.tell_client("emergency", "nobody to tell")
        channel.send_soon("emergency", "nor from a log record", None)
        assert not channel.pending
    finally:
        client_log.close_call_log(token)
    assert sent == []

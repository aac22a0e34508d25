"""A federated HTTP server's oversized answer is dropped as it arrives (`mcp_hub.federation.http_limits`):
the call fails at once with the too-large error, the hub's memory stays bounded, the server stays usable."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_hub.federation import http_limits, limits
from tests.federation.conftest import HubFactory, served_fed
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio

HUGE = 20_000_000
CAP_SETTING = 64 * 1024


@pytest.fixture(params=["http", "http-json", "sse"])
def fed_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Our test server over Streamable HTTP (SSE or JSON answers) or the legacy SSE transport."""
    mode: str = request.param
    with served_fed(mode) as url:
        yield mode, url


def capped_server(mode: str, url: str, cap: int = CAP_SETTING) -> str:
    """The config of our test server at `url`, its messages capped at `cap`."""
    transport = "sse" if mode == "sse" else "http"
    return (
        f'[servers.fed]\nurl = "{url}"\ntransport = "{transport}"\nread_only = ["*"]\n'
        f"max_result_bytes = {cap}\ntimeout_s = 30\n"
    )


async def wait_for_tool(client: Client, name: str) -> None:
    with anyio.fail_after(30):
        while name not in {t.name for t in (await client.list_tools()).tools}:
            await anyio.sleep(0.05)


async def test_an_oversized_answer_fails_fast_in_bounded_memory(
    make_hub: HubFactory, fed_server: tuple[str, str]
) -> None:
    mode, url = fed_server
    hub = make_hub(capped_server(mode, url))
    async with Client(hub) as client:
        await wait_for_tool(client, "fed_big")
        tracemalloc.start()
        try:
            started = time.monotonic()
            large = await client.call_tool("fed_big", {"size": HUGE})
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        small = await client.call_tool("fed_big", {"size": 1000})
        fine = await client.call_tool("fed_ok", {"text": "after"})
        link = hub.federation.links["fed"]  # type: ignore[union-attr]
        restarts, state = link.restarts, link.state
    message = large.content[0].text  # type: ignore[union-attr]
    assert large.is_error and (large.meta or {}).get("mcp_hub/error") == "too_large", message
    assert "servers.fed.max_result_bytes" in message and "dropped as it arrived" in message
    assert elapsed < 15, elapsed  # timeout_s is 30: the call did not wait for it
    assert peak < 4_000_000, f"{peak:,} bytes allocated at the peak while a {HUGE:,}-byte answer arrived"
    assert not small.is_error and len(small.content[0].text) >= 1000  # type: ignore[union-attr]
    assert "ok: after" in fine.content[0].text  # type: ignore[union-attr]
    assert restarts == 0 and state == "ready"  # the same connection carried on


async def test_answers_between_the_sdks_default_event_limit_and_the_cap_arrive(
    make_hub: HubFactory, fed_server: tuple[str, str]
) -> None:
    """The SDK's own SSE event limit (1 MiB) would end the stream below a larger `max_result_bytes`;
    Streamable HTTP gets the hub's cap instead. The legacy SSE transport cannot be given another limit:
    there, such an answer fails as too large (and the connection carries on)."""
    mode, url = fed_server
    hub = make_hub(capped_server(mode, url, 4_000_000))
    async with Client(hub) as client:
        await wait_for_tool(client, "fed_big")
        result = await client.call_tool("fed_big", {"size": 1_500_000})
        fine = await client.call_tool("fed_ok", {"text": "after"})
    if mode == "sse":
        assert result.is_error and (result.meta or {}).get("mcp_hub/error") == "too_large"
    else:
        assert not result.is_error and "x" * 1_500_000 in result.content[0].text  # type: ignore[union-attr]
    assert "ok: after" in fine.content[0].text  # type: ignore[union-attr]


# -- the SSE event bounding, byte by byte ------------------------------------------------------------


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def events(*parts: bytes, cap: int = 100, request_id: int | str | None = None) -> bytes:
    out = b""
    async for piece in http_limits._sse_events(chunks_of(*parts), cap, "fed", "GET", request_id, cap):
        out += piece
    return out


async def test_events_within_the_cap_pass_unchanged_whatever_the_line_ends_and_chunks() -> None:
    assert await events(b"event: message\r\ndata: {}\r\n\r\n: ping\r\rdata: 1\n", b"\ndata: 2") == (
        b"event: message\ndata: {}\n\n: ping\n\ndata: 1\n\ndata: 2"
    )
    assert await events(b"data: a\r", b"\n\r", b"\ndata: b\n\n") == b"data: a\n\ndata: b\n\n"


async def test_an_oversized_event_on_a_get_stream_is_dropped_and_the_stream_goes_on() -> None:
    big = b'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"' + b"x" * 500 + b'"}}\n\n'
    out = await events(b"data: 1\n\n", big[:200], big[200:], b"data: 2\n\n")
    assert out == b"data: 1\n\ndata: 2\n\n"


async def test_an_oversized_answer_on_a_get_stream_is_replaced_by_the_stand_in() -> None:
    big = b'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"t":"' + b"x" * 500 + b'"}}\n\n'
    out = await events(big, b"data: 2\n\n")
    stand_in = limits.too_large_error(7, "fed", 100).model_dump_json(by_alias=True, exclude_none=True).encode()
    assert out == b"event: message\ndata: " + stand_in + b"\n\ndata: 2\n\n"


async def test_an_oversized_event_on_a_post_answer_ends_the_stream_with_the_stand_in() -> None:
    out = await events(b"data: 1\n\n", b"data: " + b"x" * 500, b"\n\ndata: never\n\n", request_id="r1")
    stand_in = limits.too_large_error("r1", "fed", 100).model_dump_json(by_alias=True, exclude_none=True).encode()
    assert out == b"data: 1\n\nevent: message\ndata: " + stand_in + b"\n\n"


# Not in JSON-response mode: that server sends no notification on a GET stream (nothing to drop).
@pytest.mark.parametrize("fed_server", ["http", "sse"], indirect=True)
async def test_an_oversized_notification_on_the_get_stream_is_dropped(
    make_hub: HubFactory, fed_server: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    mode, url = fed_server
    hub = make_hub(capped_server(mode, url))
    async with Client(hub) as client:
        await wait_for_tool(client, "fed_shout")
        # The server sends it only while the hub's GET stream is open (it opens after the handshake).
        for _ in range(50):
            shouted = await client.call_tool("fed_shout", {"size": 2_000_000})
            assert "shouted" in shouted.content[0].text  # type: ignore[union-attr]
            if any("dropped as it arrived" in r.getMessage() for r in caplog.records):
                break
            await anyio.sleep(0.1)
        fine = await client.call_tool("fed_ok", {"text": "after"})
        link = hub.federation.links["fed"]  # type: ignore[union-attr]
        restarts, state = link.restarts, link.state
    assert "ok: after" in fine.content[0].text  # type: ignore[union-attr]
    assert restarts == 0 and state == "ready"
    dropped = [r.getMessage() for r in caplog.records if "dropped as it arrived" in r.getMessage()]
    assert dropped and all("yyyy" not in line for line in dropped), dropped


# -- a compressed answer is counted as it unpacks ----------------------------------------------------

BOMB_JSON = b'{"jsonrpc":"2.0","id":5,"result":{"t":"' + b"x" * HUGE + b'"}}'
SMALL_JSON = b'{"jsonrpc":"2.0","id":5,"result":{"t":"small"}}'
BOMB_SSE = b'event: message\ndata: {"jsonrpc":"2.0","id":9,"result":{"t":"' + b"x" * HUGE + b'"}}\n\n'


async def compressing_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers gzip-compressed whatever the request asked: a 20 MB JSON body (~20 KB on the wire),
    a small one, or a 20 MB SSE event."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body, kind = {
        "/bomb": (BOMB_JSON, b"application/json"),
        "/small": (SMALL_JSON, b"application/json"),
        "/events": (BOMB_SSE, b"text/event-stream"),
    }[scope["path"]]
    headers = [(b"content-type", kind), (b"content-encoding", b"gzip")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": gzip.compress(body)})


@pytest.fixture
def compressing_server() -> Iterator[str]:
    with serve_in_thread(compressing_app) as base:
        yield base


async def test_a_compressed_answer_is_bounded_as_it_unpacks(compressing_server: str) -> None:
    cap = limits.message_cap(CAP_SETTING)
    request = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "big"}}
    async with http_limits.bounded_client("fed", cap) as http:
        small = await http.post(f"{compressing_server}/small", json=request)
        tracemalloc.start()
        try:
            bomb = await http.post(f"{compressing_server}/bomb", json=request)
            async with http.stream("GET", f"{compressing_server}/events") as events:
                streamed = b"".join([chunk async for chunk in events.aiter_bytes()])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert small.json()["result"] == {"t": "small"}  # decoded here, once
    assert json.loads(bomb.content) == json.loads(_stand_in(5, cap))
    assert streamed == b"event: message\ndata: " + _stand_in(9, cap) + b"\n\n"  # its id, from its first bytes
    assert peak < 4_000_000, f"{peak:,} bytes at the peak while {2 * HUGE:,} bytes unpacked"


def _stand_in(request_id: int, cap: int) -> bytes:
    return limits.too_large_error(request_id, "fed", cap).model_dump_json(by_alias=True, exclude_none=True).encode()

"""A federated HTTP server's responses are bounded per JSON-RPC message while they arrive (`limits`).

The MCP SDK reads a JSON response whole (`response.aread()`) and buffers an SSE event until its blank
line, so a server answering 2 GB took the hub's memory before `max_result_bytes` was ever looked at.
The one choke point both SDK transports share is the httpx2 client they are given: a response hook
puts every response's byte stream behind a counter before the SDK reads a byte of it (a hook, not a
transport: a custom transport would turn off the proxies the environment configures, and a hook sees
the responses of every transport the client mounts). Per content type:

- `application/json`: the body is held until it ends, at most `cap` bytes; past that it is never
  read further and the SDK gets, as the body, a JSON-RPC error of code `limits.TOO_LARGE` for the
  request the POST carried (its id is in the request body the hub sent), so the call fails at once.
- `text/event-stream`: events are passed on whole (the SDK only acts on an event at its blank line
  anyway), at most `cap` bytes each. An event past the cap is skipped to its end without being kept.
  On the answer to a POST, the stream then ends with one stand-in `event: message` carrying that
  error. On a GET stream (Streamable HTTP's notifications; the legacy SSE transport, where answers
  arrive too) the event is dropped with one log line, and when its first or last bytes show it
  answered a request (`limits.message_id`), the stand-in is sent in its place; the stream goes on.
- anything else (a redirect's body, the legacy transport's `202 Accepted`): cut at `cap`.

A `Content-Encoding` is decoded here, in bounded pieces, and the header removed, so the counting is
of the bytes the SDK sees: a small compressed body cannot unpack into a large one behind the count.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx2
from httpx2._decoders import MultiDecoder
from mcp.client._transport import TransportStreams
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_hub.federation import limits

log = logging.getLogger(__name__)

#: The SDK's own limit on one SSE event (`sse_within_origin`); the legacy SSE transport cannot be given
#: another, and an event past it ends that whole connection, so its events are held to this here.
SDK_SSE_EVENT_BYTES = 1024 * 1024
#: How much of a dropped event's start is kept to find its `data:` line (after `event:` and `id:` lines).
_HEAD_BYTES = limits.EDGE_BYTES + 512


@asynccontextmanager
async def streamable_http(
    url: str, headers: dict[str, str], server: str, max_result_bytes: int
) -> AsyncGenerator[TransportStreams]:
    """The Streamable HTTP transport with bounded messages (and its httpx2 client closed after it)."""
    cap = limits.message_cap(max_result_bytes)
    async with (
        bounded_client(server, cap, headers=headers) as http,
        # Our bound is at least as strict as the SDK's event count (it counts newlines and comments
        # too); the SDK's own default of 1 MiB would otherwise end a stream below `max_result_bytes`.
        streamable_http_client(url, http_client=http, max_sse_event_size=cap) as streams,
    ):
        yield streams


def sse(url: str, headers: dict[str, str], server: str, max_result_bytes: int) -> Any:
    """The legacy SSE transport with bounded messages (at most the SDK's own 1 MiB an event)."""
    cap = limits.message_cap(max_result_bytes)

    def factory(
        headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None, auth: httpx2.Auth | None = None
    ) -> httpx2.AsyncClient:
        return bounded_client(server, cap, headers=headers, timeout=timeout, auth=auth, sse_cap=SDK_SSE_EVENT_BYTES)

    return sse_client(url, headers=headers, httpx_client_factory=factory)


def bounded_client(
    server: str,
    cap: int,
    *,
    headers: dict[str, str] | None = None,
    timeout: httpx2.Timeout | None = None,
    auth: httpx2.Auth | None = None,
    sse_cap: int | None = None,
) -> httpx2.AsyncClient:
    """The SDK's default client, every response of which is bounded (`sse_cap`: a lower bound for events)."""
    client = create_mcp_http_client(headers=headers, timeout=timeout, auth=auth)
    client.event_hooks = {"request": [], "response": [response_hook(server, cap, sse_cap)]}
    return client


def response_hook(server: str, cap: int, sse_cap: int | None = None) -> Callable[[httpx2.Response], Awaitable[None]]:
    async def bound(response: httpx2.Response) -> None:
        inner = response.stream
        assert isinstance(inner, httpx2.AsyncByteStream)
        chunks = _decoded(response, inner)
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        request_id = _request_id(response.request)
        where = f"{response.request.method} {kind or 'response'}"
        body: AsyncIterator[bytes]
        if kind == "application/json":
            body = _json_body(chunks, cap, server, request_id)
        elif kind == "text/event-stream":
            event_cap = min(cap, sse_cap) if sse_cap is not None else cap
            body = _sse_events(chunks, event_cap, server, where, request_id, cap)
        else:
            body = _raw(chunks, cap, server, where)
        response.stream = _BoundedStream(inner, body)

    return bound


class _BoundedStream(httpx2.AsyncByteStream):
    """A response's byte stream, read through one of the bounding generators below."""

    def __init__(self, inner: httpx2.AsyncByteStream, body: AsyncIterator[bytes]) -> None:
        self._inner = inner
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._body:
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._body, "aclose", None)
        if aclose is not None:
            await aclose()
        await self._inner.aclose()  # mid-body: the connection is closed, not drained

    @property
    def elapsed(self) -> timedelta | None:
        """What `httpx2.Response.elapsed` reads from the stream it wraps."""
        value: timedelta | None = getattr(self._inner, "elapsed", None)
        return value


def _request_id(request: httpx2.Request) -> int | str | None:
    """The id of the JSON-RPC request a POST carried (the hub's own message), else None."""
    if request.method != "POST":
        return None
    try:
        message = json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return None
    if not isinstance(message, dict) or "method" not in message:
        return None
    found = message.get("id")
    return found if isinstance(found, (int, str)) and not isinstance(found, bool) else None


def _decoded(response: httpx2.Response, inner: httpx2.AsyncByteStream) -> AsyncIterator[bytes]:
    """The body's bytes as the SDK would see them: a Content-Encoding is undone here, in bounded pieces
    (httpx2's decoders yield at most a few hundred KiB per step). The header is dropped now, before
    httpx2 picks its own decoder when the body is first read, so that it does not decode again."""
    codings = [c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True)]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return inner.__aiter__()
    decoder = MultiDecoder(codings)
    del response.headers["content-encoding"]

    async def pieces() -> AsyncIterator[bytes]:
        async for raw in inner:
            for piece in decoder.decode(raw):
                yield piece
        for piece in decoder.flush():
            yield piece

    return pieces()


def _stand_in(request_id: int | str, server: str, cap: int) -> bytes:
    return limits.too_large_error(request_id, server, cap).model_dump_json(by_alias=True, exclude_none=True).encode()


async def _json_body(
    chunks: AsyncIterator[bytes], cap: int, server: str, request_id: int | str | None
) -> AsyncIterator[bytes]:
    """The whole body once it ended within `cap`; past it, the stand-in error (or nothing: no request)."""
    body: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            body.clear()
            log.warning(
                "federated server %s: a JSON response passed %s bytes; dropped as it arrived", server, f"{cap:,}"
            )
            if request_id is not None:
                yield _stand_in(request_id, server, cap)
            return
        body.append(chunk)
    for chunk in body:
        yield chunk


async def _raw(chunks: AsyncIterator[bytes], cap: int, server: str, where: str) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > cap:
            log.warning("federated server %s: a %s body passed %s bytes; cut there", server, where, f"{cap:,}")
            return
        yield chunk


async def _sse_events(
    chunks: AsyncIterator[bytes],
    event_cap: int,
    server: str,
    where: str,
    request_id: int | str | None,
    cap: int,
) -> AsyncIterator[bytes]:
    """Whole events of at most `event_cap` bytes (bytes since the last blank line, line ends included).

    Line ends are written as `\\n` (SSE also allows `\\r\\n` and `\\r`; the SDK's parser reads all three
    the same). CR and LF never occur inside a UTF-8 sequence, so this works on bytes.
    """
    event = bytearray()
    size = 0
    head = b""
    tail = b""
    over = False
    line_start = True
    pending_cr = False

    def drop() -> tuple[bytes | None, bool]:
        """(the stand-in to send, whether the stream ends) for the event just skipped."""
        answered = request_id
        if answered is None:
            answered = limits.message_id(_data_value(head), tail)
        log.warning(
            "federated server %s: an event on its %s stream passed %s bytes; dropped as it arrived%s",
            server,
            where,
            f"{event_cap:,}",
            "" if answered is None else f" (the answer to request {answered!r}: failed as too large)",
        )
        message = None if answered is None else b"event: message\ndata: " + _stand_in(answered, server, cap) + b"\n\n"
        return message, request_id is not None

    def feed(data: bytes) -> list[tuple[bytes | None, bool]]:
        """Take in normalized bytes; returns what to send on: (bytes, ends the stream)."""
        nonlocal event, size, head, tail, over, line_start
        out: list[tuple[bytes | None, bool]] = []
        pos = 0
        while pos < len(data):
            if line_start and data[pos] == 0x0A:
                end = pos + 1
            else:
                found = data.find(b"\n\n", pos)
                end = found + 2 if found >= 0 else -1
            piece = data[pos:end] if end >= 0 else data[pos:]
            size += len(piece)
            if not over and size <= event_cap:
                event += piece
            else:
                if not over:  # just passed the cap: keep only the edges from here on
                    over = True
                    head = (bytes(event[:_HEAD_BYTES]) + piece[:_HEAD_BYTES])[:_HEAD_BYTES]
                    tail = bytes(event[-limits.EDGE_BYTES :])
                    event = bytearray()
                tail = (tail + piece[-limits.EDGE_BYTES :])[-limits.EDGE_BYTES :]
            if end < 0:
                line_start = data.endswith(b"\n")
                break
            if over:
                out.append(drop())
                if out[-1][1]:
                    return out
            else:
                out.append((bytes(event), False))
            event, size, head, tail, over, line_start = bytearray(), 0, b"", b"", False, True
            pos = end
        return out

    async for chunk in chunks:
        if pending_cr:
            chunk, pending_cr = b"\r" + chunk, False
        if chunk.endswith(b"\r"):
            chunk, pending_cr = chunk[:-1], True
        for message, ends in feed(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")):
            if message is not None:
                yield message
            if ends:
                return
    for message, ends in feed(b"\n" if pending_cr else b""):
        if message is not None:
            yield message
        if ends:
            return
    if over:  # the stream ended inside the oversized event
        message, _ = drop()
        if message is not None:
            yield message
    elif event:
        yield bytes(event)  # an unfinished event: the SDK's parser decides (it drops it)


def _data_value(head: bytes) -> bytes:
    """The start of the first `data:` field's value in an event's first bytes."""
    for line in head.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            return (value[1:] if value.startswith(b" ") else value)[: limits.EDGE_BYTES]
    return b""

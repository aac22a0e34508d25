"""One federated server's connection: started in the background, watched, restarted with backoff.

The hub never waits for it to start: `supervise()` runs as a background task of the hub's lifespan,
connects, lists the server's catalog (tools, resources, templates, prompts) and keeps it; until then
the catalog is the last one seen (kept on disk, `listing_cache`), or none. A connection that closes
(the process crashed), a call that outlives `timeout_s` followed by an unanswered ping (it hangs), or
a periodic ping that goes unanswered, ends the connection: the process is stopped and started again
after a jittered, doubling backoff. Calls made meanwhile wait for the connection up to `timeout_s`,
then fail with a clear `UpstreamUnavailable`; nothing here blocks the hub or the other servers.
"""

from __future__ import annotations

import logging
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp import types as mt
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError

from mcp_hub import __version__
from mcp_hub.errors import UpstreamTimeout, UpstreamUnavailable
from mcp_hub.federation import limits, listing_cache
from mcp_hub.federation.listing_cache import Listing
from mcp_hub.federation.results import ResultTooLarge
from mcp_hub.federation.settings import ServerSettings
from mcp_hub.federation.stdio import federated_stdio

log = logging.getLogger(__name__)

PING_INTERVAL_S = 10.0
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 30.0
#: How long a call waits for a server that has failed to come back (a restart takes well under this).
RECONNECT_WAIT_S = 5.0

_LIST_CHANGED = frozenset(
    {"notifications/tools/list_changed", "notifications/resources/list_changed", "notifications/prompts/list_changed"}
)

#: The hub's side of a server-to-client request (elicitation, sampling): gets the upstream's params.
Forward = Callable[[Any], Awaitable[Any]]


class ServerLink:
    """The state of one federated server and the way to call it."""

    def __init__(
        self, name: str, settings: ServerSettings, on_listing: Callable[[ServerLink], Awaitable[None]]
    ) -> None:
        self.name = name
        self.settings = settings
        self.on_listing = on_listing
        #: starting | ready | down | stopped
        self.state = "starting"
        self.detail = ""
        self.restarts = 0
        self.cache_key = listing_cache.key(name, settings)
        self.listing: Listing | None = listing_cache.read(name, self.cache_key)
        self.listing_source = "cache" if self.listing is not None else "none"
        self._client: Client | None = None
        self._connected = anyio.Event()
        self._dead = anyio.Event()
        #: Set when the server says its tools, resources or prompts changed: the listing is fetched again.
        self._relist = anyio.Event()
        #: Set once the first connection attempt has ended (ready or failed).
        self.attempted = anyio.Event()
        #: In-flight calls' forwarders for elicitation/sampling (by call token).
        self.inflight: dict[int, tuple[Forward | None, Forward | None]] = {}
        self._next_token = 0
        #: `transport = "auto"`: Streamable HTTP until a first connection fails, then SSE, and so on.
        self._http_kind = "sse" if settings.transport == "sse" else "http"
        self._ever_connected = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def supervise(self) -> None:
        """Connect, serve, reconnect after a failure; runs until cancelled (the hub closing)."""
        backoff = BACKOFF_FIRST_S
        while True:
            started = time.monotonic()
            try:
                await self._connection()
            except anyio.get_cancelled_exc_class():
                self.state = "stopped"
                raise
            except Exception as exc:  # any failure of the server or its transport ends this connection
                self.detail = _describe(exc)
                log.warning("federated server %s: %s", self.name, self.detail)
                if self.settings.transport == "auto" and self.settings.url and not self._ever_connected:
                    self._http_kind = "sse" if self._http_kind == "http" else "http"  # the SSE fallback
            finally:
                self._disconnect()
            if self.state == "ready":
                log.warning("federated server %s: %s; restarting it", self.name, self.detail)
            self.state = "down"
            self.attempted.set()
            if time.monotonic() - started > BACKOFF_MAX_S:
                backoff = BACKOFF_FIRST_S  # it served a while: start again quickly
            delay = backoff * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            self.restarts += 1
            await anyio.sleep(delay)

    async def _connection(self) -> None:
        """One connection, from start to end; returns (or raises) when it is over.

        The handshake and first listing get `timeout_s` (at least 5 s), enforced by a watchdog task:
        a cancel scope around entering the client would outlive the client's own task group.
        """
        timed_out = ready = False
        async with anyio.create_task_group() as tg:

            async def watchdog() -> None:
                nonlocal timed_out
                await anyio.sleep(max(self.settings.timeout_s, 5.0))
                if not ready:
                    timed_out = True
                    tg.cancel_scope.cancel()

            tg.start_soon(watchdog)
            async with self._new_client() as client:
                await self._refresh(client)
                ready = self._ever_connected = True
                self._client = client
                self._dead = anyio.Event()
                self.state, self.detail = "ready", ""
                self._connected.set()
                self.attempted.set()
                log.info("federated server %s ready (%s)", self.name, self.settings.kind)
                tg.start_soon(self._watch, client)
                tg.start_soon(self._relister, client)
                await self._dead.wait()
                tg.cancel_scope.cancel()
        if timed_out:
            raise TimeoutError

    def _new_client(self) -> Client:
        s = self.settings
        server: Any
        if s.command is not None:
            params = StdioServerParameters(command=s.command, args=s.args, env=s.env_values() or None, cwd=s.cwd)
            server = federated_stdio(params, self.name, s.max_result_bytes)  # bounded reads, dies with the hub
        else:
            assert s.url is not None
            server = _http_transport(s.url, s.header_values(), self._http_kind, self.name, s.max_result_bytes)
        return Client(
            server,
            client_info=mt.Implementation(name="mcp-hub", version=__version__),
            elicitation_callback=self._elicit,
            sampling_callback=self._sample,
            message_handler=self._on_message,
            mode="legacy",
            cache=None,
        )

    async def _refresh(self, client: Client) -> None:
        caps = client.server_capabilities
        s = self.settings
        tools = await _all(client.list_tools, "tools", s) if caps.tools is not None else []
        resources = await _all(client.list_resources, "resources", s) if caps.resources is not None else []
        templates = (
            await _all(client.list_resource_templates, "resource_templates", s) if caps.resources is not None else []
        )
        prompts = await _all(client.list_prompts, "prompts", s) if caps.prompts is not None else []
        listing = Listing(tools, resources, templates, prompts)
        changed = self.listing != listing
        self.listing, self.listing_source = listing, "live"
        if changed:
            listing_cache.write(self.name, self.cache_key, listing)
        await self.on_listing(self)

    async def _on_message(self, message: Any) -> None:
        if getattr(message, "method", None) in _LIST_CHANGED:
            self._relist.set()

    async def _relister(self, client: Client) -> None:
        """Fetch the listing again after each list_changed (it crosses the gate again: a rug pull is caught)."""
        last = -RELIST_INTERVAL_S
        while True:
            await self._relist.wait()
            # A storm of list_changed: one listing per interval (the first change is listed at once).
            await anyio.sleep(max(0.0, last + RELIST_INTERVAL_S - time.monotonic()))
            last = time.monotonic()
            self._relist = anyio.Event()
            try:
                with anyio.fail_after(self.settings.timeout_s):
                    await self._refresh(client)
            except Exception as exc:
                self._die(f"listing again after list_changed failed ({_describe(exc)})")
                return

    async def _watch(self, client: Client) -> None:
        while True:
            await anyio.sleep(PING_INTERVAL_S)
            if not await self._answers(client):
                self._die("it stopped answering pings")
                return

    async def _answers(self, client: Client) -> bool:
        try:
            with anyio.fail_after(min(5.0, self.settings.timeout_s)), warnings.catch_warnings():
                # `mode="legacy"` connections keep ping; the SDK warns about its removal in 2026-07-28 anyway.
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await client.send_ping()
            return True
        except Exception:
            return False

    def _die(self, why: str) -> None:
        if not self._dead.is_set():
            self.detail = why
            self._dead.set()
        self._disconnect()

    def _disconnect(self) -> None:
        """Calls from now on wait for the next connection (an event not set yet)."""
        self._client = None
        if self._connected.is_set():
            self._connected = anyio.Event()

    # -- calls -----------------------------------------------------------------------------------

    async def client(self) -> Client:
        """The live connection, waiting for it up to `timeout_s` (5 s at most once it has failed: a server
        that is down should not hold every call for its whole timeout)."""
        if self._client is not None:
            return self._client
        wait = self.settings.timeout_s if self.state == "starting" else min(self.settings.timeout_s, RECONNECT_WAIT_S)
        with anyio.move_on_after(wait):
            await self._connected.wait()
        if self._client is None:
            raise UpstreamUnavailable(
                f"federated server {self.name} is not connected ({self.state}"
                + (f": {self.detail}" if self.detail else "")
                + "); the hub keeps retrying with backoff. Try again later."
            )
        return self._client

    async def request(
        self,
        what: str,
        send: Callable[[Client], Awaitable[Any]],
        *,
        elicit: Forward | None = None,
        sample: Forward | None = None,
    ) -> Any:
        """Run `send` on the live connection within `timeout_s`, translating failures into hub errors."""
        client = await self.client()
        token = self._next_token = self._next_token + 1
        self.inflight[token] = (elicit, sample)
        try:
            with anyio.fail_after(self.settings.timeout_s):
                return await send(client)
        except TimeoutError:
            if not await self._answers(client):
                self._die(f"{what} hung past timeout_s and a ping went unanswered")
            raise UpstreamTimeout(
                f"{what} on federated server {self.name} took longer than {self.settings.timeout_s:g} s "
                f"(servers.{self.name}.timeout_s)."
            ) from None
        except MCPError as exc:
            if exc.code == limits.TOO_LARGE:  # our transport dropped the answer as it arrived (`limits`)
                cap = limits.message_cap(self.settings.max_result_bytes)
                raise ResultTooLarge(f"{what}: {limits.too_large_message(self.name, cap)}") from None
            if exc.code == mt.CONNECTION_CLOSED:
                self._die("the connection closed (the server exited?)")
                raise UpstreamUnavailable(
                    f"federated server {self.name} closed the connection during {what} (it may have crashed); "
                    "the hub restarts it. Try again."
                ) from None
            raise
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            self._die("the connection broke")
            raise UpstreamUnavailable(
                f"federated server {self.name} is gone (during {what}); the hub restarts it. Try again."
            ) from None
        finally:
            self.inflight.pop(token, None)

    # -- server-to-client requests ---------------------------------------------------------------

    def _forwarder(self, index: int) -> Forward | None:
        """The one in-flight call's forwarder: with several calls in flight, whose question it is is unknown."""
        live = [pair[index] for pair in self.inflight.values()]
        return live[0] if len(live) == 1 else None

    async def _elicit(self, context: Any, params: mt.ElicitRequestParams) -> mt.ElicitResult | mt.ErrorData:
        forward = self._forwarder(0)
        if forward is None:
            return mt.ErrorData(code=mt.INVALID_REQUEST, message="elicitation is not available through the hub now")
        result: mt.ElicitResult | mt.ErrorData = await forward(params)
        return result

    async def _sample(self, context: Any, params: mt.CreateMessageRequestParams) -> Any:
        forward = self._forwarder(1)
        if forward is None:
            return mt.ErrorData(code=mt.INVALID_REQUEST, message="sampling is not available through the hub now")
        return await forward(params)


#: One list method's pages together may hold this many times `max_result_bytes`: each page is bounded
#: as it arrives, but a server can always offer one more (100 pages of 1 MB, times four lists, were kept).
LISTING_RESULTS = 4
#: At most one listing again per this many seconds, however often a server says its list changed.
RELIST_INTERVAL_S = 1.0


class ListingTooLarge(ResultTooLarge):
    """A listing past its budget."""


async def _all(fetch: Callable[..., Awaitable[Any]], field: str, settings: ServerSettings) -> list[Any]:
    """Every page of a list method, up to `LISTING_RESULTS` x `max_result_bytes` in all."""
    items: list[Any] = []
    cursor: str | None = None
    size, budget = 0, LISTING_RESULTS * settings.max_result_bytes
    for _ in range(100):
        page = await fetch(cursor=cursor)
        size += len(page.model_dump_json(by_alias=True, exclude_none=True))
        if size > budget:
            raise ListingTooLarge(
                f"its {field} listing passed {budget:,} bytes ({LISTING_RESULTS} x servers.<name>.max_result_bytes)"
            )
        items += getattr(page, field)
        cursor = page.next_cursor
        if not cursor:
            break
    return items


def _http_transport(url: str, headers: dict[str, str], kind: str, name: str, max_result_bytes: int) -> Any:
    """Streamable HTTP with the server's own headers (never the hub's caller's), or SSE; either way each
    message is bounded in bytes as it arrives (`http_limits`)."""
    from mcp_hub.federation import http_limits

    if kind == "sse":
        return http_limits.sse(url, headers, name, max_result_bytes)
    return http_limits.streamable_http(url, headers, name, max_result_bytes)


def _describe(exc: BaseException) -> str:
    """One line on why a connection failed; no arguments of the command (they may hold secrets)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "it did not finish the MCP handshake and listing in time"
    if isinstance(exc, FileNotFoundError):
        return "its command was not found"
    if isinstance(exc, (MCPError, ListingTooLarge)):
        return f"it failed: {exc.message}"
    if isinstance(exc, BaseExceptionGroup):
        return f"it failed ({', '.join(sorted({type(e).__name__ for e in exc.exceptions}))})"
    return f"it failed ({type(exc).__name__})"

"""Connector warnings and retries, told to the client as `notifications/message` (MCP logging).

A tool call's messages go to the client that made the call, on that call's
stream, redacted, and only at or above the level the client chose with
`logging/setLevel` (per connection; `warning` until it chooses). On
2026-07-28+ connections the request's own log-level opt-in decides instead
(the SDK's gate).

Two ways in:
- `await tell_client("info", "…")` from a connector (or the hub's retry loop);
- records of the connectors' Python loggers (`forward_records(...)`), e.g. a
  connector's `log.warning(...)`, sent while the call that emitted them runs
  (worker threads included) and flushed before the call's result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, Literal, get_args

from mcp_hub.redaction import Redactor

Level = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LEVELS: tuple[Level, ...] = get_args(Level)
#: What a connection gets until its client calls `logging/setLevel`.
DEFAULT_LEVEL: Level = "warning"
#: Where the chosen level lives in the SDK connection's per-connection `state`.
_STATE_KEY = "mcp_hub.log_level"

log = logging.getLogger(__name__)


def set_level(connection_state: dict[str, Any], level: Level) -> None:
    connection_state[_STATE_KEY] = level


def mcp_level(levelno: int) -> Level:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "info" if levelno >= logging.INFO else "debug"


class ClientLog:
    """The `notifications/message` channel of one tool call (what `tell_client` writes to)."""

    def __init__(self, ctx: Any, redactor: Redactor) -> None:
        self._ctx = ctx
        self._redactor = redactor
        self._loop = asyncio.get_running_loop()
        self._tail: asyncio.Task[None] | None = None
        # Looked up on the first message (most calls log nothing); "off" outside a request.
        self._threshold: Level | Literal["off"] | None = None

    def _level(self) -> Level | Literal["off"]:
        from mcp_types.version import MODERN_PROTOCOL_VERSIONS

        if getattr(self._ctx, "_request_context", None) is None:  # a pydantic private: slow to read
            return "off"
        if getattr(self._ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS:
            return "debug"  # the request's own `_meta` opt-in filters (in the SDK)
        state = _connection_state(self._ctx)
        chosen = state.get(_STATE_KEY) if state is not None else None
        return chosen if chosen in LEVELS else DEFAULT_LEVEL

    def wants(self, level: Level) -> bool:
        if self._threshold is None:
            self._threshold = self._level()
        return self._threshold != "off" and LEVELS.index(level) >= LEVELS.index(self._threshold)

    async def send(self, level: Level, message: str, logger: str | None = None) -> None:
        if not self.wants(level):
            return
        await self.flush()  # after anything queued from log records: the order they happened in
        await self._send(level, message, logger)

    def send_soon(self, level: Level, message: str, logger: str | None) -> None:
        """Queue a message from any thread; sent in order, before the call's result (see `flush`)."""
        if not self.wants(level):
            return

        def schedule() -> None:
            previous = self._tail
            self._tail = self._loop.create_task(self._after(previous, level, message, logger))

        if _on_loop(self._loop):
            schedule()
        else:
            self._loop.call_soon_threadsafe(schedule)

    @property
    def pending(self) -> bool:
        """Messages queued and not sent yet (most calls have none: `flush` is then skipped)."""
        return self._tail is not None

    async def flush(self) -> None:
        while self._tail is not None:
            tail = self._tail
            await asyncio.shield(tail)
            if self._tail is tail:
                self._tail = None

    async def _after(self, previous: asyncio.Task[None] | None, level: Level, message: str, logger: str | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await self._send(level, message, logger)

    async def _send(self, level: Level, message: str, logger: str | None) -> None:
        try:
            await self._ctx.log(level, self._redactor.redact(message), logger_name=logger)
        except Exception as exc:  # a client gone mid-call must not fail the call
            log.debug("notifications/message not delivered: %s", type(exc).__name__)


_CURRENT: ContextVar[ClientLog | None] = ContextVar("mcp_hub_client_log", default=None)


def open_call_log(ctx: Any, redactor: Redactor) -> tuple[ClientLog | None, Any]:
    """Start the channel of the tool call whose MCP context is `ctx` (None without one; outside a
    request, one that sends nothing)."""
    if ctx is None:
        return None, _CURRENT.set(None)
    channel = ClientLog(ctx, redactor)
    return channel, _CURRENT.set(channel)


def close_call_log(token: Any) -> None:
    _CURRENT.reset(token)


async def tell_client(level: Level, message: str, *, logger: str | None = None) -> None:
    """Send `message` to the client of the tool call being served, if it wants `level` (no-op otherwise)."""
    channel = _CURRENT.get()
    if channel is not None:
        await channel.send(level, message, logger)


class _Forward(logging.Handler):
    """Queues each record emitted inside a tool call on that call's channel."""

    def emit(self, record: logging.LogRecord) -> None:
        channel = _CURRENT.get()
        if channel is None:
            return
        try:
            channel.send_soon(mcp_level(record.levelno), record.getMessage(), record.name)
        except Exception:
            self.handleError(record)


_FORWARD = _Forward()


def forward_records(logger_names: Iterable[str]) -> None:
    """Forward the records of these loggers (and their children) to the client of the current call."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if _FORWARD not in logger.handlers:
            logger.addHandler(_FORWARD)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _connection_state(ctx: Any) -> dict[str, Any] | None:
    return connection_state_of(getattr(ctx, "_request_context", None))


def connection_state_of(request_context: Any) -> dict[str, Any] | None:
    """The SDK connection's per-connection `state` dict, from a low-level `ServerRequestContext`.

    The request's `ServerSession` holds the connection privately; the SDK offers no public path to it.
    """
    connection = getattr(getattr(request_context, "session", None), "_connection", None)
    state = getattr(connection, "state", None)
    return state if isinstance(state, dict) else None

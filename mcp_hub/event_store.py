"""Resumable Streamable HTTP streams: the events of this process's streams, kept briefly in memory.

With an event store the SDK primes each POST stream with an event id and a
`retry` hint, stores every message it sends, and replays what a client missed
when it reconnects with `Last-Event-ID` (SSE polling, SEP-1699): a long call
survives a dropped connection or a proxy's idle timeout.

Event ids are random (128 bits), so a client cannot name another session's
events; the store forgets the oldest events beyond `max_events` and anything
older than `max_age_s`. It lives in one process, like the sessions themselves.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage


@dataclass(slots=True)
class _Event:
    stream_id: StreamId
    message: JSONRPCMessage | None
    at: float


class MemoryEventStore(EventStore):
    def __init__(self, *, max_events: int = 10_000, max_age_s: float = 300.0) -> None:
        self._events: OrderedDict[EventId, _Event] = OrderedDict()
        self._max_events = max_events
        self._max_age_s = max_age_s

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        self._forget_old()
        event_id = secrets.token_urlsafe(16)
        self._events[event_id] = _Event(stream_id, message, time.monotonic())
        while len(self._events) > self._max_events:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        self._forget_old()
        last = self._events.get(last_event_id)
        if last is None:
            return None
        after = False
        for event_id, event in list(self._events.items()):
            if event_id == last_event_id:
                after = True
            elif after and event.stream_id == last.stream_id and event.message is not None:
                await send_callback(EventMessage(event.message, event_id))
        return last.stream_id

    def count(self) -> int:
        """Events held (not `__len__`: the SDK tests the store for truth, and an empty one must be truthy)."""
        return len(self._events)

    def _forget_old(self) -> None:
        horizon = time.monotonic() - self._max_age_s
        while self._events:
            first = next(iter(self._events.values()))
            if first.at >= horizon:
                break
            self._events.popitem(last=False)

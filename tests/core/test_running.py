"""Entering the hub's lifespan: concurrent first entries open each connector once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import anyio
import pytest

from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from tests.support.notes_connector import NotesConnector


class SlowOpeningNotes(NotesConnector):
    """Notes whose opening suspends until the test lets it finish."""

    openings: ClassVar[int] = 0
    closings: ClassVar[int] = 0
    release: ClassVar[anyio.Event | None] = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        type(self).openings += 1
        assert type(self).release is not None
        await type(self).release.wait()
        try:
            yield
        finally:
            type(self).closings += 1


@pytest.mark.anyio
async def test_concurrent_first_entries_open_each_connector_once() -> None:
    SlowOpeningNotes.openings = SlowOpeningNotes.closings = 0
    SlowOpeningNotes.release = anyio.Event()
    registry = Registry([SlowOpeningNotes])
    config = load_config(env={"NOTES_TOKEN": "notes-token-0123456789"}, ecosystem_env=registry.ecosystem_env())
    hub = build_server(config, registry=registry, caller=Caller("local", "memory", hub_policy(config)))
    entered: list[Any] = []

    async def enter(done: anyio.Event) -> None:
        async with hub.running():
            entered.append(1)
            await done.wait()

    done = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(enter, done)
        group.start_soon(enter, done)
        await anyio.wait_all_tasks_blocked()  # both entries are in: one opening, one waiting for it
        SlowOpeningNotes.release.set()
        while len(entered) < 2:
            await anyio.wait_all_tasks_blocked()
        assert SlowOpeningNotes.openings == 1
        done.set()
    assert SlowOpeningNotes.closings == 1

"""A server that crashes or hangs: its calls fail clearly, it is restarted, the rest keep serving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.federation.conftest import HubFactory, fed_stdio, time_stdio

pytestmark = pytest.mark.anyio


def text(result: Any) -> str:
    return str(result.content[0].text)


async def until_ready(hub: Any, server: str, timeout: float = 30) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        while True:
            row = next(r for r in hub.federation.status() if r["server"] == server)
            if row["state"] == "ready":
                return row
            await anyio.sleep(0.05)


async def test_a_server_that_dies_mid_call_is_restarted(make_hub: HubFactory, tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    hub = make_hub(fed_stdio(read_only=["*"], env={"FED_TEST_STARTS": str(starts)}) + time_stdio(read_only=["get_*"]))
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        await until_ready(hub, "time")
        died = await client.call_tool("fed_die", {})
        assert died.is_error
        assert "fed closed the connection" in text(died) and "restarts it" in text(died)
        # the hub and the other server keep serving meanwhile
        other = await client.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not other.is_error
        # the crashed server comes back (a new process) and answers again
        again = await client.call_tool("fed_ok", {"text": "back"})
        assert not again.is_error and "ok: back" in text(again)
        row = await until_ready(hub, "fed")
        assert row["restarts"] >= 1
    assert len(starts.read_text().split()) >= 2


async def test_a_hanging_server_times_out_and_is_restarted(make_hub: HubFactory, tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    hub = make_hub(
        fed_stdio(read_only=["*"], timeout_s=1, env={"FED_TEST_STARTS": str(starts)}) + time_stdio(read_only=["get_*"])
    )
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        await until_ready(hub, "fed")
        with anyio.fail_after(10):
            hung = await client.call_tool("fed_hang", {})
        assert hung.is_error and "took longer than 1 s" in text(hung) and "servers.fed.timeout_s" in text(hung)
        other = await client.call_tool("time_get_current_time", {"timezone": "UTC"})
        assert not other.is_error
        with anyio.fail_after(30):
            while len(starts.read_text().split()) < 2:
                await anyio.sleep(0.05)
        await until_ready(hub, "fed")
        again = await client.call_tool("fed_ok", {})
        assert not again.is_error


async def test_max_result_bytes(make_hub: HubFactory) -> None:
    hub = make_hub(fed_stdio(read_only=["*"], max_result_bytes=4096))
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        small = await client.call_tool("fed_big", {"size": 1000})
        large = await client.call_tool("fed_big", {"size": 10_000})
    assert not small.is_error
    assert large.is_error and "servers.fed.max_result_bytes" in text(large)
    assert (large.meta or {}).get("mcp_hub/error") == "too_large"


async def test_cancelling_a_call_cancels_it_upstream(make_hub: HubFactory, tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    hub = make_hub(fed_stdio(read_only=["*"], env={"FED_TEST_CANCELLED": str(marker)}))
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        with anyio.move_on_after(0.3):
            await client.call_tool("fed_slow", {"steps": 200})  # 10 s unless cancelled
        with anyio.fail_after(5):
            while not marker.exists():
                await anyio.sleep(0.02)
        after = await client.call_tool("fed_ok", {"text": "still"})
    assert marker.read_text() == "cancelled\n"
    assert not after.is_error and "ok: still" in text(after)

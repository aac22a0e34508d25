"""Conventions users already know: github-mcp-server's headers (narrowing only), --tools / --exclude-tools,
and per-caller call rates (429 + Retry-After) shared by replicas through hub.state_url."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from mcp_hub.policy import Policy, ToolFacts
from mcp_hub.ratelimit import CallRate
from mcp_hub.state import InProcessState, PostgresState, RedisState, StateStore
from tests.conftest import RedisTarget
from tests.core.test_http import ADMIN, INIT, MCP_HEADERS, READER, hub_app
from tests.pg import TestDatabase
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio


@pytest.fixture
def http_hub(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "http")) as base:
        yield base


async def visible(base: str, token: str, headers: dict[str, str]) -> set[str]:
    http = create_mcp_http_client(headers={"authorization": f"Bearer {token}", **headers})
    async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        return {t.name for t in (await client.list_tools()).tools}


# -- headers -------------------------------------------------------------------------------------------


async def test_github_mcp_server_headers_narrow_what_a_caller_sees(http_hub: str) -> None:
    everything = await visible(http_hub, ADMIN, {})
    assert {"notes_list_notes", "notes_get_note", "notes_add_note"} <= everything
    assert await visible(http_hub, ADMIN, {"X-MCP-Toolsets": "read"}) == {"notes_list_notes", "notes_get_note"}
    assert await visible(http_hub, ADMIN, {"X-MCP-Tools": "notes_get_note, notes_add_note"}) == {
        "notes_get_note",
        "notes_add_note",
    }
    readonly = await visible(http_hub, ADMIN, {"X-MCP-Readonly": "true"})
    assert readonly == {"notes_list_notes", "notes_get_note"}
    both = await visible(http_hub, ADMIN, {"X-MCP-Toolsets": "write", "X-MCP-Readonly": "1"})
    assert both == set()


async def test_headers_never_widen_the_callers_policy(http_hub: str) -> None:
    # READER: no writes, *_get_* denied. No header (or spelling) gives any of that back.
    baseline = await visible(http_hub, READER, {})
    assert baseline == {"notes_list_notes"}
    for headers in (
        {"X-MCP-Toolsets": "all"},
        {"X-MCP-Tools": "notes_get_note,notes_add_note,notes_delete_notes,notes_probe_context"},
        {"X-MCP-Readonly": "false"},
        {"X-MCP-Toolsets": "all", "X-MCP-Tools": "*", "X-MCP-Readonly": "0"},
        {"x-mcp-toolsets": "notes.admin,probe"},
    ):
        assert await visible(http_hub, READER, headers) <= baseline, headers
    # Nor for the admin: the hub's toolsets (default) still hide the probe/admin toolsets.
    assert "notes_probe_context" not in await visible(http_hub, ADMIN, {"X-MCP-Toolsets": "all"})


async def test_a_hidden_tool_cannot_be_called_either(http_hub: str) -> None:
    http = create_mcp_http_client(headers={"authorization": f"Bearer {ADMIN}", "X-MCP-Readonly": "true"})
    async with http, Client(streamable_http_client(f"{http_hub}/mcp", http_client=http)) as client:
        with pytest.raises(MCPError):
            await client.call_tool("notes_add_note", {"text": "through a read-only header"})
        assert not (await client.call_tool("notes_get_note", {"note_id": 0})).is_error


async def test_github_lockdown_header_is_our_lockdown(http_hub: str) -> None:
    http = create_mcp_http_client(headers={"authorization": f"Bearer {ADMIN}", "X-MCP-Lockdown": "true"})
    async with http, Client(streamable_http_client(f"{http_hub}/mcp", http_client=http)) as client:
        locked = await client.read_resource("notes://note/0")
    assert locked.contents[0].text == "[withheld: lockdown]"  # type: ignore[union-attr]


def test_policy_also_keeps_both_narrowings() -> None:
    write = ToolFacts("notes_add_note", "notes", "write", read_only=False, destructive=False, default_toolset=True)
    read = ToolFacts("notes_get_note", "notes", "read", read_only=True, destructive=False, default_toolset=True)
    token = Policy(allow_writes=True).narrowed(
        allow_writes=True, allow_destructive=False, toolsets=["read"], allow=[], deny=[], connectors=None
    )
    assert not token.permits(write) and token.permits(read)
    wider = token.also(Policy(allow_writes=True, toolsets=frozenset({"all"})))
    assert not wider.permits(write) and wider.permits(read)  # the token's own toolsets survive
    narrower = token.also(Policy(toolsets=frozenset({"all"}), allow=("nothing_*",)))
    assert not narrower.permits(read) and not narrower.allow_writes


# -- CLI flags ----------------------------------------------------------------------------------------------


def tool_names(*flags: str) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    out = subprocess.run(
        [sys.executable, "-m", "mcp_hub.cli", "tools", "--json", *flags], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return sorted(t["name"] for t in json.loads(out.stdout)["tools"])


def test_tools_and_exclude_tools_flags() -> None:
    listing = tool_names("--tools", "postgres_list_*")
    assert listing and all(name.startswith("postgres_list_") for name in listing)
    assert tool_names("--tools", "postgres_list_*", "--exclude-tools", listing[0]) == listing[1:]
    everything = tool_names()
    assert listing[0] not in tool_names("--exclude-tools", listing[0]) and listing[0] in everything
    # Naming a write tool does not allow writes (that stays --allow-writes and the connector's own setting).
    assert tool_names("--tools", "postgres_execute") == []
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    for flag in ("--tools", "--exclude-tools"):
        typo = subprocess.run(
            [sys.executable, "-m", "mcp_hub.cli", "tools", flag, "postgres_list_tabels"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert typo.returncode != 0 and f"{flag}: unknown tool postgres_list_tabels" in typo.stderr


# -- per-caller call rates --------------------------------------------------------------------------------


class FixedClock:
    """The middle of one minute, so the test never straddles a window boundary."""

    def __init__(self) -> None:
        import time

        self.now = (int(time.time() // 60) * 60) + 30.0

    def time(self) -> float:
        return self.now


async def post(base: str, token: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS | {"authorization": f"Bearer {token}"})


def rate_env(redis: RedisTarget | None, **more: str) -> dict[str, str]:
    env = {"MCP_HUB_HTTP__CALLS_PER_MINUTE": "4", "MCP_HUB_HTTP__TOKENS__READER__CALLS_PER_MINUTE": "50"}
    if redis is not None:
        env |= {"MCP_HUB_STATE_URL": redis.url, "MCP_HUB_STATE_PREFIX": redis.prefix}
    return env | more


async def test_two_replicas_share_each_callers_budget_through_redis(
    tmp_path: Path, redis_target: RedisTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mcp_hub.ratelimit.time", FixedClock())
    with ExitStack() as stack:
        one = stack.enter_context(serve_in_thread(hub_app(tmp_path, "http", rate_env(redis_target))))
        two = stack.enter_context(serve_in_thread(hub_app(tmp_path, "http", rate_env(redis_target))))
        other = RedisTarget(redis_target.url, redis_target.prefix + "other:")
        elsewhere = stack.enter_context(serve_in_thread(hub_app(tmp_path, "http", rate_env(other))))
        statuses = [(await post(base, ADMIN)).status_code for base in (one, two, one, two)]
        assert statuses == [200, 200, 200, 200]
        for base in (one, two):  # the fifth call of the minute, on either replica
            refused = await post(base, ADMIN)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "30"
            assert "4 calls a minute" in refused.json()["error"]
        # Per caller: the reader has its own budget (and its own limit) on the same replicas.
        assert [(await post(base, READER)).status_code for base in (one, two)] == [200, 200]
        # Another deployment (prefix) counts on its own.
        assert (await post(elsewhere, ADMIN)).status_code == 200
    await _cleanup(other)


async def _cleanup(target: RedisTarget) -> None:
    import redis.asyncio

    client: Any = redis.asyncio.Redis.from_url(target.url)
    async for key in client.scan_iter(match=target.prefix + "*"):
        await client.delete(key)
    await client.aclose()


async def test_in_process_limit_and_no_limit_when_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mcp_hub.ratelimit.time", FixedClock())
    with serve_in_thread(hub_app(tmp_path, "http", rate_env(None))) as base:
        assert [(await post(base, ADMIN)).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    with serve_in_thread(hub_app(tmp_path, "http")) as base:
        assert {(await post(base, ADMIN)).status_code for _ in range(6)} == {200}


async def test_a_store_that_fails_falls_back_to_counting_per_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mcp_hub.ratelimit.time", FixedClock())
    store = RedisState("redis://127.0.0.1:1/0", "down:")  # nothing listens on port 1
    try:
        rate = CallRate(store)
        waits = [await rate.admit("token:admin", 4) for _ in range(5)]
    finally:
        await store.aclose()
    assert waits == [None, None, None, None, 30]


async def test_stores_count_atomically(redis_target: RedisTarget, pg_dsn: TestDatabase) -> None:
    stores: list[StateStore] = [InProcessState(), RedisState(redis_target.url, redis_target.prefix)]
    stores.append(PostgresState(pg_dsn.superuser_dsn, "test-callrate:"))
    try:
        for store in stores:
            await store.check()
            counts = [await store.incr("callrate:x:1", 60) for _ in range(3)]
            assert counts == [1, 2, 3], type(store).__name__
            assert await store.incr("callrate:x:2", 0.05) == 1
            await anyio.sleep(0.1)
            assert await store.incr("callrate:x:2", 60) == 1, type(store).__name__  # an expired counter restarts
    finally:
        for store in stores:
            await store.aclose()


async def test_oidc_callers_are_limited_per_subject_with_their_policys_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.core.test_oidc import ROLES
    from tests.support.oidc import oidc_env, serve_issuer

    monkeypatch.setattr("mcp_hub.ratelimit.time", FixedClock())
    with serve_issuer() as issuer:
        env = oidc_env(issuer, **ROLES) | rate_env(None, MCP_HUB_HTTP__POLICIES__READERS__CALLS_PER_MINUTE="2")
        with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
            alice, bob = issuer.mint(sub="alice"), issuer.mint(sub="bob")
            writer = issuer.mint(sub="ci-bot", roles=["Hub.Writer"])  # mapped to the admin token's policy
            assert [(await post(base, alice)).status_code for _ in range(3)] == [200, 200, 429]
            assert (await post(base, issuer.mint(sub="alice"))).status_code == 429  # a fresh token, same subject
            assert [(await post(base, bob)).status_code for _ in range(3)] == [200, 200, 429]
            assert [(await post(base, writer)).status_code for _ in range(5)] == [200, 200, 200, 200, 429]

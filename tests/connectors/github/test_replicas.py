"""Two real hub processes sharing Redis (or PostgreSQL): a rate limit one replica learns is honoured by the other."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from mcp import Client

from tests.cli.test_transports import hub_env, hub_process
from tests.conftest import RedisTarget
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT, Injected
from tests.connectors.github.test_reads import W
from tests.pg import TestDatabase
from tests.support.http_server import free_port

pytestmark = pytest.mark.anyio


def replica_env(api: str, redis: RedisTarget | None) -> dict[str, str]:
    env = hub_env(
        "postgresql://unused@127.0.0.1:1/unused",
        GITHUB_TOKEN=PAT,
        GITHUB_API_URL=api,
        MCP_HUB_CONNECTORS="github",
        MCP_HUB_GITHUB__RETRY_BASE_DELAY_S="0",
    )
    env.pop("DATABASE_URL")
    if redis is not None:
        env |= {"MCP_HUB_STATE_URL": redis.url, "MCP_HUB_STATE_PREFIX": redis.prefix}
    return env


@contextmanager
def replicas(env: dict[str, str], *ports: int) -> Iterator[None]:
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(hub_process(["--transport", "http", "--port", str(port)], env, port))
        yield


async def list_issues(port: int) -> Any:
    async with Client(f"http://127.0.0.1:{port}/mcp") as client:
        return await client.call_tool("github_list_issues", {"repo": W})


async def test_primary_limit_learnt_by_one_replica_stops_the_other(
    fake: FakeGithub, api: str, redis_target: RedisTarget
) -> None:
    fake.state.rate_remaining = 2  # list_issues sends two requests; the second's answer says "0 left"
    fake.state.rate_reset = int(time.time()) + 1800
    env = replica_env(api, redis_target)
    port_a, port_b = free_port(), free_port()
    with replicas(env, port_a, port_b):
        first = await list_issues(port_a)
        sent = len(fake.state.log)
        second = await list_issues(port_b)
        third = await list_issues(port_a)
    assert not first.is_error and sent == 2
    for result in (second, third):
        assert result.is_error and result.meta["mcp_hub/error"] == "rate_limited"
        assert re.search(r"resets at \d\d:\d\d:\d\d UTC\. Retry after 1[78]\d\d s", result.content[0].text)
    assert len(fake.state.log) == 2  # replica B never asked GitHub


async def test_replicas_can_share_postgresql_instead_of_redis(fake: FakeGithub, api: str, pg_dsn: TestDatabase) -> None:
    fake.state.rate_remaining = 2
    fake.state.rate_reset = int(time.time()) + 1800
    env = replica_env(api, None) | {"MCP_HUB_STATE_URL": pg_dsn.superuser_dsn, "MCP_HUB_STATE_PREFIX": "pg-replicas:"}
    port_a, port_b = free_port(), free_port()
    with replicas(env, port_a, port_b):
        first = await list_issues(port_a)
        second = await list_issues(port_b)
    assert not first.is_error and second.meta["mcp_hub/error"] == "rate_limited"
    assert len(fake.state.log) == 2  # replica B never asked GitHub


async def test_retry_after_learnt_by_one_replica_stops_the_other(
    fake: FakeGithub, api: str, redis_target: RedisTarget
) -> None:
    fake.state.inject.append(Injected(429, {"message": "Too many requests"}, {"retry-after": "120"}, "/issues"))
    env = replica_env(api, redis_target)
    port_a, port_b = free_port(), free_port()
    with replicas(env, port_a, port_b):
        first = await list_issues(port_a)
        second = await list_issues(port_b)
    assert first.meta["mcp_hub/error"] == "rate_limited" and "Retry after 120 s" in first.content[0].text
    assert second.meta["mcp_hub/error"] == "rate_limited"
    assert "secondary rate limit" in second.content[0].text
    assert re.search(r"Retry after 1[12]\d s", second.content[0].text)
    assert len(fake.state.log) == 1


async def test_without_shared_state_each_replica_learns_for_itself(fake: FakeGithub, api: str) -> None:
    """The control: in-process state (the default) is not shared, so replica B asks GitHub itself."""
    fake.state.rate_remaining = 2
    fake.state.rate_reset = int(time.time()) + 1800
    env = replica_env(api, None)
    port_a, port_b = free_port(), free_port()
    with replicas(env, port_a, port_b):
        first = await list_issues(port_a)
        second = await list_issues(port_b)
    assert not first.is_error and second.meta["mcp_hub/error"] == "rate_limited"
    assert [status for _, _, status in fake.state.log] == [200, 200, 403]


async def test_keys_name_a_hash_never_the_token(fake: FakeGithub, api: str, redis_target: RedisTarget) -> None:
    import redis

    fake.state.rate_remaining = 2
    fake.state.rate_reset = int(time.time()) + 1800
    port = free_port()
    with hub_process(["--transport", "http", "--port", str(port)], replica_env(api, redis_target), port):
        await list_issues(port)
    client = redis.Redis.from_url(redis_target.url)
    keys = [k.decode() for k in client.scan_iter(match=redis_target.prefix + "*")]
    values = [client.get(k) or b"" for k in keys]
    client.close()
    assert len(keys) == 1 and re.fullmatch(re.escape(redis_target.prefix) + r"ratelimit:github:[0-9a-f]{32}", keys[0])
    assert all(PAT not in k and PAT.encode() not in v for k, v in zip(keys, values, strict=True))

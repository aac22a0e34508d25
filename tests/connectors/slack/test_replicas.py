"""Replicas share each Slack token's per-method rate-limit budgets through hub.state_url (Redis here).

Two hubs built in one test with the same Redis prefix stand for two replicas; the fake's request log
shows what each one sent. Slack's limits are per method, so a throttled `conversations.history` does
not stop `conversations.replies`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import anyio
import pytest
from mcp import Client

from mcp_hub.server import HubServer
from tests.conftest import RedisTarget
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.conftest import BOT_TOKEN
from tests.connectors.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio

Make = Callable[..., HubServer]
HISTORY = ("slack_get_history", {"channel": ws.GENERAL})


def shared(redis: RedisTarget) -> dict[str, str]:
    return {"MCP_HUB_STATE_URL": redis.url, "MCP_HUB_STATE_PREFIX": redis.prefix}


def budget_keys(redis_target: RedisTarget) -> list[str]:
    import redis

    client = redis.Redis.from_url(redis_target.url)
    try:
        return [k.decode() for k in client.scan_iter(match=redis_target.prefix + "*")]
    finally:
        client.close()


async def test_retry_after_learnt_by_one_replica_stops_the_other(
    make_hub: Make, fake: FakeSlack, redis_target: RedisTarget
) -> None:
    fake.throttle("conversations.history", times=5, retry_after=120)
    async with Client(make_hub(shared(redis_target))) as a:
        first = await a.call_tool(*HISTORY)
    async with Client(make_hub(shared(redis_target))) as b:
        second = await b.call_tool(*HISTORY)
        other = await b.call_tool("slack_get_thread", {"channel": ws.GENERAL, "ts": "1714557660.000200"})
    assert (
        first.content[0].text
        == "Slack is rate limiting these credentials (429: conversations.history). Retry after 120 s."
    )
    assert second.is_error and second.meta["mcp_hub/error"] == "rate_limited"
    assert re.fullmatch(
        r"Slack is rate limiting these credentials \(429: conversations\.history\)\. Retry after 1[12]\d s\.",
        second.content[0].text,
    )
    assert fake.count("conversations.history") == 1  # replica B never sent it
    assert not other.is_error and fake.count("conversations.replies") == 1  # another method's budget is its own
    keys = budget_keys(redis_target)
    assert len(keys) == 1
    assert re.fullmatch(
        re.escape(redis_target.prefix) + r"ratelimit:slack:[0-9a-f]{32}:conversations\.history", keys[0]
    )
    assert BOT_TOKEN not in keys[0]


async def test_after_the_wait_the_other_replica_sends_again(
    make_hub: Make, fake: FakeSlack, redis_target: RedisTarget
) -> None:
    fake.throttle("conversations.history", times=1, retry_after=1)
    results: dict[str, object] = {}

    async def replica_a() -> None:
        async with Client(make_hub(shared(redis_target))) as a:
            results["a"] = await a.call_tool(*HISTORY)  # 429, waits 1 s, sends again

    async with anyio.create_task_group() as group:
        group.start_soon(replica_a)
        with anyio.fail_after(5):
            while not budget_keys(redis_target):  # A has published its Retry-After
                await anyio.sleep(0.02)
        started = time.monotonic()
        async with Client(make_hub(shared(redis_target))) as b:
            second = await b.call_tool(*HISTORY)
        waited = time.monotonic() - started
    assert not second.is_error and not getattr(results["a"], "is_error", True)
    assert waited >= 0.5  # B held its request until A's Retry-After had passed, then sent it
    assert fake.count("conversations.history") == 3  # A's 429, A's retry, B's one request


async def test_without_shared_state_each_replica_learns_for_itself(make_hub: Make, fake: FakeSlack) -> None:
    """The control: in-process state (the default) is not shared, so replica B asks Slack itself."""
    fake.throttle("conversations.history", times=5, retry_after=120)
    for _ in range(2):
        async with Client(make_hub()) as client:
            result = await client.call_tool(*HISTORY)
        assert result.meta["mcp_hub/error"] == "rate_limited"
    assert fake.count("conversations.history") == 2

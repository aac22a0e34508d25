"""Replicas share each GitLab token's rate-limit budget (hub.state_url); the gauge follows RateLimit-Remaining.

Two hubs built in one test with the same Redis prefix stand for two replicas; the fake's request log
shows what each one sent. The last test runs two real `mcp-hub serve` processes.
"""

from __future__ import annotations

import re
import time

import pytest
from mcp import Client

from mcp_hub import metrics
from tests.cli.test_transports import hub_env
from tests.conftest import RedisTarget
from tests.connectors.github.test_replicas import replicas
from tests.connectors.gitlab.conftest import Fake, Make, call
from tests.connectors.gitlab.fake.state import TOKEN
from tests.support.http_server import free_port
from tests.support.metrics import value

pytestmark = pytest.mark.anyio

ISSUES = ("gitlab_list_issues", {"project": "acme/app"})
USED_UP = r"GitLab's rate limit for this token is used up; it resets at \d\d:\d\d:\d\d UTC\."


def shared(redis: RedisTarget) -> dict[str, str]:
    return {"MCP_HUB_STATE_URL": redis.url, "MCP_HUB_STATE_PREFIX": redis.prefix}


async def requests_of_one_listing(make_hub: Make, fake: Fake) -> int:
    """How many requests a cold hub sends for `ISSUES` (project, members, issues)."""
    await call(make_hub(replica=99), *ISSUES)
    count = len(fake.state.requests)
    fake.state.requests.clear()
    fake.state.statuses.clear()
    return count


async def test_used_up_window_learnt_by_one_replica_stops_the_other(
    make_hub: Make, fake: Fake, redis_target: RedisTarget
) -> None:
    sends = await requests_of_one_listing(make_hub, fake)
    fake.state.rate_limit, fake.state.rate_remaining = 2000, sends  # A's last request gets "RateLimit-Remaining: 0"
    fake.state.rate_reset = int(time.time()) + 1800
    a, b = make_hub(shared(redis_target)), make_hub(shared(redis_target), replica=1)
    first = await call(a, *ISSUES)
    sent = len(fake.state.requests)
    second = await call(b, *ISSUES)
    third = await call(a, "gitlab_get_issue", {"project": "acme/app", "iid": 1})
    assert not first.is_error and sent == sends
    for result in (second, third):
        assert result.is_error and result.meta["mcp_hub/error"] == "rate_limited"
        assert re.fullmatch(USED_UP + r" Retry after 1[78]\d\d s\.", result.content[0].text)
    assert len(fake.state.requests) == sent  # neither replica sent anything into the used-up window
    assert all(status == 200 for _, status in fake.state.statuses)


async def test_retry_after_learnt_by_one_replica_stops_the_other(
    make_hub: Make, fake: Fake, redis_target: RedisTarget
) -> None:
    fake.state.fail(429, {"message": "429 Too Many Requests"}, {"Retry-After": "120"}, path_contains="/issues", times=5)
    a, b = make_hub(shared(redis_target)), make_hub(shared(redis_target), replica=1)
    first = await call(a, *ISSUES)
    sent = len(fake.state.requests)
    second = await call(b, *ISSUES)
    assert first.meta["mcp_hub/error"] == "rate_limited" and "Retry after 120 s" in first.content[0].text
    assert second.meta["mcp_hub/error"] == "rate_limited"
    assert re.fullmatch(
        r"GitLab is rate limiting this token; wait before calling again\. Retry after 1[12]\d s\.",
        second.content[0].text,
    )
    assert len(fake.state.requests) == sent  # replica B sent nothing, not even the project lookup


async def test_after_the_reset_the_other_replica_sends_again(
    make_hub: Make, fake: Fake, redis_target: RedisTarget
) -> None:
    sends = await requests_of_one_listing(make_hub, fake)
    fake.state.rate_limit, fake.state.rate_remaining = 2000, sends
    fake.state.rate_reset = reset = int(time.time() + 1.5)  # 0.5 to 1.5 s from now
    a, b = make_hub(shared(redis_target)), make_hub(shared(redis_target), replica=1)
    first = await call(a, *ISSUES)
    sent = len(fake.state.requests)
    second = await call(b, *ISSUES)  # waits out the reset A learnt (shorter than the retry policy's max_wait)
    assert not first.is_error and not second.is_error
    assert len(fake.state.requests) == 2 * sent  # B sent its own listing once, after the reset
    assert fake.state.statuses[sent][0] >= reset  # B's first request came after the reset
    assert [status for _, status in fake.state.statuses] == [200] * (2 * sent)  # never a 429


async def test_without_shared_state_each_replica_learns_for_itself(make_hub: Make, fake: Fake) -> None:
    """The control: in-process state (the default) is not shared, so replica B asks GitLab itself."""
    sends = await requests_of_one_listing(make_hub, fake)
    fake.state.rate_limit, fake.state.rate_remaining = 2000, sends
    fake.state.rate_reset = int(time.time()) + 1800
    first = await call(make_hub(), *ISSUES)
    second = await call(make_hub(replica=1), *ISSUES)
    assert not first.is_error and second.meta["mcp_hub/error"] == "rate_limited"
    assert [status for _, status in fake.state.statuses] == [200] * sends + [429]


async def test_rate_limit_remaining_gauge(make_hub: Make, fake: Fake) -> None:
    metrics.enable()
    fake.state.rate_limit, fake.state.rate_remaining, fake.state.rate_reset = 2000, 1500, int(time.time()) + 60
    async with Client(make_hub()) as client:
        await client.call_tool(*ISSUES)
        first = value(
            metrics.render().decode(), "mcp_hub_upstream_ratelimit_remaining", connector="gitlab", instance="default"
        )
        await client.call_tool("gitlab_get_issue", {"project": "acme/app", "iid": 1})
    second = value(
        metrics.render().decode(), "mcp_hub_upstream_ratelimit_remaining", connector="gitlab", instance="default"
    )
    assert 1490 < second < first < 1500
    assert second == fake.state.rate_remaining


async def test_two_processes_share_the_budget_through_redis(fake: Fake, redis_target: RedisTarget) -> None:
    env = hub_env(
        "unused", GITLAB_TOKEN=TOKEN, GITLAB_URL=fake.url, MCP_HUB_CONNECTORS="gitlab", **shared(redis_target)
    )
    env.pop("DATABASE_URL")
    fake.state.fail(429, {"message": "429 Too Many Requests"}, {"Retry-After": "120"}, path_contains="/issues", times=5)
    port_a, port_b = free_port(), free_port()
    with replicas(env, port_a, port_b):
        async with Client(f"http://127.0.0.1:{port_a}/mcp") as client:
            first = await client.call_tool(*ISSUES)
        sent = len(fake.state.requests)
        async with Client(f"http://127.0.0.1:{port_b}/mcp") as client:
            second = await client.call_tool(*ISSUES)
    assert first.meta["mcp_hub/error"] == "rate_limited" and "Retry after 120 s" in first.content[0].text
    assert second.meta["mcp_hub/error"] == "rate_limited" and re.search(
        r"Retry after 1[12]\d s", second.content[0].text
    )
    assert len(fake.state.requests) == sent  # replica B never asked GitLab

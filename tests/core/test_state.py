"""Shared state (mcp_hub.state): the in-process default and Redis behave the same."""

from __future__ import annotations

import time

import psycopg
import pytest

from mcp_hub.errors import ConfigError, RateLimited
from mcp_hub.state import (
    InProcessState,
    PostgresState,
    RateBudget,
    RedisState,
    StateStore,
    credential_key,
    open_state,
    safe_url,
)
from tests.conftest import RedisTarget
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio


async def exercise(store: StateStore) -> None:
    key = credential_key("github", "https://ghe.example", "ghp_secret")
    one, two = RateBudget(store, key), RateBudget(store, key)  # two replicas' views of one credential
    await one.check()  # nothing recorded: no error
    await one.block(time.time() + 30, "GitHub's API rate limit for this account is used up.")
    with pytest.raises(RateLimited) as caught:
        await two.check()
    assert caught.value.reason == "GitHub's API rate limit for this account is used up."
    assert caught.value.retry_after is not None and 28 < caught.value.retry_after <= 30
    await one.clear()  # the upstream answered again before the reset
    await two.check()
    await one.block(time.time() + 0.2, "short")
    time.sleep(0.3)
    await two.check()  # expired


async def test_in_process_budget() -> None:
    await exercise(InProcessState())


async def test_redis_budget(redis_target: RedisTarget) -> None:
    store = open_state(redis_target.url, redis_target.prefix)
    assert isinstance(store, RedisState)
    await store.check()
    try:
        await exercise(store)
    finally:
        await store.aclose()


async def test_postgres_budget(pg_dsn: TestDatabase) -> None:
    store = open_state(pg_dsn.superuser_dsn, "test-budget:")
    assert isinstance(store, PostgresState)
    await store.check()  # creates its table
    try:
        await exercise(store)
        key = credential_key("github", None, "ghp_secret")
        await store.set(key, "x", 30)
        async with await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn) as conn:
            rows = await (await conn.execute("SELECT key FROM mcp_hub_state")).fetchall()
        keys = [r[0] for r in rows if r[0].startswith("test-budget:")]  # the database may hold other tests' rows
        assert "test-budget:" + key in keys and all(k.startswith("test-budget:ratelimit:github:") for k in keys)
        assert not any("ghp_secret" in r[0] for r in rows)
    finally:
        await store.aclose()


async def test_unusable_postgres_is_a_config_error_without_the_password() -> None:
    for dsn in ("postgresql://hub:hunter2@127.0.0.1:1/state", "host=127.0.0.1 port=1 user=hub password=hunter2"):
        store = open_state(dsn)
        with pytest.raises(ConfigError) as caught:
            await store.check()
        assert "hunter2" not in caught.value.message and "127.0.0.1" in caught.value.message
        started = time.monotonic()
        assert await store.get("x") is None  # while serving, a failing store degrades to "nothing known"
        assert time.monotonic() - started < 0.5  # at once: it failed a moment ago
        await store.aclose()


def test_keys_hide_the_credential() -> None:
    key = credential_key("github", None, "ghp_secret")
    assert "ghp_secret" not in key and key.startswith("ratelimit:github:")
    assert key != credential_key("github", None, "ghp_other") and key == credential_key("github", None, "ghp_secret")


async def test_unreachable_redis_is_a_config_error_without_the_password() -> None:
    store = open_state("redis://user:hunter2@127.0.0.1:1/0")
    with pytest.raises(ConfigError) as caught:
        await store.check()
    assert "hunter2" not in caught.value.message and "127.0.0.1:1" in caught.value.message
    await store.get("x")  # while serving, a failing store degrades to "nothing known"
    await store.aclose()


def test_unknown_scheme_and_safe_url() -> None:
    with pytest.raises(ConfigError, match="unsupported scheme"):
        open_state("memcached://127.0.0.1")
    assert safe_url("redis://:pw@h:6379/1") == "redis://:***@h:6379/1"


async def test_guard_publishes_what_a_send_learns() -> None:
    store = InProcessState()
    key = credential_key("slack", None, "xoxb-secret", scope="conversations.history")
    assert key.endswith(":conversations.history") and "xoxb-secret" not in key
    assert key != credential_key("slack", None, "xoxb-secret", scope="users.info")
    one, two = RateBudget(store, key), RateBudget(store, key)
    sent: list[str] = []

    async def throttled() -> str:
        sent.append("one")
        raise RateLimited("Slack is rate-limiting conversations.history.", retry_after=30)

    async def fine() -> str:
        sent.append("two")
        return "ok"

    with pytest.raises(RateLimited):
        await one.guard(throttled)
    with pytest.raises(RateLimited) as caught:
        await two.guard(fine)  # not sent: the other view learnt the limit
    assert sent == ["one"] and caught.value.reason == "Slack is rate-limiting conversations.history."
    await one.clear()
    assert await two.guard(fine, lambda: (time.time() + 30, "used up")) == "ok"  # sent; its answer used the window up
    with pytest.raises(RateLimited, match="used up"):
        await one.guard(fine)
    assert sent == ["one", "two"]

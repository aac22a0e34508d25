"""Rate limits, upstream failures and token errors: the hub's retries and actionable messages."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from mcp import Client

from connectors.slack.render import readable
from mcp_hub.server import HubServer
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio


async def test_rate_limit_retry_after_honoured(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    async with Client(make_hub()) as client:
        await client.call_tool("slack_lookup", {"query": "#general"})  # warm the directory
        fake.throttle("conversations.history", times=1, retry_after=1)
        started = time.monotonic()
        result = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
        waited = time.monotonic() - started
    assert not result.is_error, result.content
    assert waited >= 0.9 and fake.count("conversations.history") == 2


async def test_a_429_without_retry_after_waits_its_method_tier(
    make_hub: Callable[..., HubServer], fake: FakeSlack
) -> None:
    async with Client(make_hub()) as client:
        await client.call_tool("slack_lookup", {"query": "#general"})
        fake.throttle("conversations.history", times=1, retry_after=None)
        started = time.monotonic()
        result = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
        waited = time.monotonic() - started
    assert not result.is_error, result.content
    assert waited >= 1.1 and fake.count("conversations.history") == 2  # tier 3: about 50 calls a minute


async def test_team_id_setting_is_the_only_team_sent(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    async with Client(make_hub({"MCP_HUB_SLACK__TEAM_ID": ws.TEAM})) as client:
        result = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
    assert not result.is_error, result.content
    assert {w.query.get("team_id", [None])[0] for w in fake.wire} == {ws.TEAM}  # slack-sdk adds it to each call


async def test_long_retry_after_reported_and_remembered_per_method(
    make_hub: Callable[..., HubServer], fake: FakeSlack
) -> None:
    async with Client(make_hub()) as client:
        fake.throttle("conversations.history", times=5, retry_after=120)
        first = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
        second = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
        other = await client.call_tool("slack_get_thread", {"channel": ws.GENERAL, "ts": "1714557660.000200"})
    assert first.is_error and first.meta["mcp_hub/error"] == "rate_limited"
    assert "(429: conversations.history). Retry after 120 s." in first.content[0].text
    assert second.is_error and "Retry after 1" in second.content[0].text
    assert fake.count("conversations.history") == 1  # the second call failed fast, without a request
    assert not other.is_error  # another method's tier is not blocked


async def test_server_errors_retried_for_reads_not_for_posts(
    make_hub: Callable[..., HubServer], fake: FakeSlack
) -> None:
    env = {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_TOOLSETS": "all", "MCP_HUB_SLACK__POST_CHANNELS": "general"}
    async with Client(make_hub(env)) as client:
        await client.call_tool("slack_lookup", {"query": "#general"})
        fake.fail("conversations.history", status=503, times=1)
        read = await client.call_tool("slack_get_history", {"channel": ws.GENERAL})
        fake.fail("chat.postMessage", status=500, times=1)
        post = await client.call_tool("slack_post_message", {"channel": ws.GENERAL, "text": "hi"})
    assert not read.is_error and fake.count("conversations.history") == 2
    assert (
        post.is_error
        and "Slack failed (500) about chat.postMessage" in post.content[0].text
        and fake.count("chat.postMessage") == 1
    )


async def test_bad_token_is_an_auth_error_without_the_token(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub({"SLACK_BOT_TOKEN": "xoxb-wrong-token-value"})) as client:
        result = await client.call_tool("slack_list_conversations", {})
    text = result.content[0].text
    assert result.is_error and result.meta["mcp_hub/error"] == "auth"
    assert "rejected SLACK_BOT_TOKEN (invalid_auth)" in text and "xoxb" not in text


async def test_bot_token_for_search_explained(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    fake.scopes[next(t for t, k in fake.tokens.items() if k == "user")].discard("search:read")
    async with Client(make_hub()) as client:
        result = await client.call_tool("slack_search_messages", {"query": "deploy"})
    assert result.is_error and "SLACK_USER_TOKEN lacks the Slack scope search:read" in result.content[0].text


def test_mrkdwn_made_readable() -> None:
    text = (
        "<@U0ALICE001> <#C1|general> <https://x.example|label> <https://y.example> <!here> <mailto:a@b.c|a@b.c> &lt;3"
    )
    assert readable(text, {}, {}) == "@U0ALICE001 #general label (https://x.example) https://y.example @here a@b.c <3"


async def test_contract_checker_catches_a_wrong_shape(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    fake.users[ws.BOB]["id"] = "bob"  # not a user id: the spec's pattern rejects it
    async with Client(make_hub()) as client:
        await client.call_tool("slack_lookup", {"query": ws.BOB})
    errors, fake.contract_errors = list(fake.contract_errors), []
    assert errors and errors[0].startswith("/api/users.info response:")


async def test_an_unknown_exception_is_the_hubs_bug_not_slacks(
    make_hub: Callable[..., HubServer], fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiohttp

    from connectors.slack.errors import translate
    from connectors.slack.transport import GuardedWebClient
    from mcp_hub.errors import UpstreamUnavailable

    assert translate(KeyError("x"), "auth.test", "SLACK_BOT_TOKEN") is None
    assert isinstance(translate(aiohttp.ClientConnectionError(), "auth.test", "X"), UpstreamUnavailable)

    async def broken(self: GuardedWebClient, **kwargs: object) -> dict[str, object]:
        raise KeyError("secret-detail-7")

    monkeypatch.setattr(GuardedWebClient, "_request", broken)
    async with Client(make_hub()) as client:
        result = await client.call_tool("slack_list_conversations", {})
    assert result.is_error and result.meta["mcp_hub/error"] == "internal"
    assert "incident" in result.content[0].text and "secret-detail-7" not in result.content[0].text

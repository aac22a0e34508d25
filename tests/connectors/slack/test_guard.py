"""The request guard on slack-sdk's real transport: what it refuses is never sent, and is audited.

Most tests drive `SlackClient` directly with requests no tool would build (the guard must stand on its own,
without the tools' argument checks); the fake's `wire` holds every request that reached it on any path.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from connectors.slack.client import SlackClient
from connectors.slack.directory import Directory
from connectors.slack.posting import PostingTools
from connectors.slack.scope import SlackGuard
from connectors.slack.settings import SlackSettings
from mcp_hub.errors import PolicyDenied, UpstreamUnavailable
from mcp_hub.server import HubServer
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.conftest import BOT_TOKEN, USER_TOKEN, _Swappable
from tests.connectors.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio
WRITES = {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_TOOLSETS": "all", "MCP_HUB_SLACK__POST_CHANNELS": "general"}


@pytest.fixture
async def slack(fake: FakeSlack, _server: tuple[_Swappable, str]) -> AsyncIterator[tuple[SlackClient, Directory]]:
    settings = SlackSettings(bot_token=BOT_TOKEN, user_token=USER_TOKEN, base_url=_server[1], post_channels=["general"])  # type: ignore[arg-type]
    client = SlackClient(settings)
    directory = Directory(client, 10)
    await client.workspace()
    yield client, directory
    await client.close()


async def test_the_guard_alone_stops_a_post_outside_post_channels(
    make_hub: Callable[..., HubServer], fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the tool's own check switched off (a bug in a tool), the transport still refuses, and it is audited."""

    async def unchecked(self: PostingTools, channel: str) -> Any:
        return await self.directory.resolve_channel(channel)

    monkeypatch.setattr(PostingTools, "_writable", unchecked)
    audit = tmp_path / "calls.jsonl"
    async with Client(make_hub(WRITES | {"MCP_HUB_AUDIT_LOG": str(audit)})) as client:
        refused = await client.call_tool("slack_post_message", {"channel": "#partners", "text": "the plan"})
        allowed = await client.call_tool("slack_post_message", {"channel": "#general", "text": "hello"})
    assert refused.is_error and refused.meta["mcp_hub/error"] == "denied", refused.content
    assert "C0SHARED04 is not in post_channels" in refused.content[0].text
    posts = [params for method, params in fake.requests if method == "chat.postMessage"]
    assert [p["channel"] for p in posts] == [ws.GENERAL] and not allowed.is_error
    assert not any(w.query.get("channel") == [ws.PARTNERS] for w in fake.wire if "chat." in w.path)
    outcomes = [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
    assert outcomes == ["denied", "ok"]


@pytest.mark.parametrize(
    ("method", "params", "why"),
    [
        ("chat.postMessage", {"channel": "general", "text": "x"}, "not a plain channel id"),  # Slack takes names
        ("chat.postMessage", {"channel": "#general", "text": "x"}, "not a plain channel id"),
        ("chat.postMessage", {"channel": ws.ALICE, "text": "x"}, "not a plain channel id"),  # a user id: a DM
        ("chat.postMessage", {"channel": ws.GENERAL, "text": "x"}, "has not been looked up"),
        ("chat.postMessage", {"channel": ws.GENERAL + " ", "text": "x"}, "not a plain channel id"),
        ("chat.postMessage", {"channel": "c0general1", "text": "x"}, "not a plain channel id"),
        ("chat.postMessage", {"channel": ws.GENERAL, "text": "x", "as_user": True}, "parameter 'as_user'"),
        ("reactions.add", {"channel": ws.PARTNERS, "timestamp": "1.0", "name": "x"}, "has not been looked up"),
        ("conversations.history", {"channel": ws.SECRET}, "has not been looked up"),
        ("conversations.history", {"channel": ws.GENERAL, "inclusive": True}, "parameter 'inclusive'"),
        ("conversations.info", {"channel": "../chat.postMessage"}, "not a plain channel id"),
        ("users.info", {"user": "U0ALICE001&channel=C0SHARED04"}, "not a plain user id"),
        ("conversations.list", {"team_id": ws.OTHER_TEAM}, "team_id"),
        ("chat.delete", {"channel": ws.GENERAL, "ts": "1.0"}, "not an endpoint"),
        ("conversations.invite", {"channel": ws.GENERAL, "users": ws.EVE}, "not an endpoint"),
        ("files.upload", {"channels": ws.GENERAL, "content": "x"}, "not an endpoint"),
        ("admin.users.list", {}, "not an endpoint"),
    ],
)
async def test_requests_outside_scope_are_never_sent(
    slack: tuple[SlackClient, Directory], fake: FakeSlack, method: str, params: dict[str, Any], why: str
) -> None:
    client, _ = slack
    before = len(fake.wire)
    refused_before = client.guard.refused
    with pytest.raises(PolicyDenied) as refused:
        await client._client(False).api_call(method, json=params)
    assert why in refused.value.message and refused.value.kind == "denied"
    assert len(fake.wire) == before and client.guard.refused == refused_before + 1


@pytest.mark.parametrize(
    "path",
    [
        "conversations.history/../chat.postMessage",
        "conversations.history/%2e%2e/chat.postMessage",
        "conversations.history/%252e%252e/chat.postMessage",
        "chat.postMessage%3Fchannel=C0SHARED04",
        "chat.postMessage%23",
        "..%2fchat.postMessage",
        "chat.postMessage\\..\\x",
        "chat.postMessage%00",
        "./chat.postMessage",
    ],
)
async def test_spellings_of_a_method_are_refused(
    slack: tuple[SlackClient, Directory], fake: FakeSlack, path: str
) -> None:
    client, directory = slack
    await directory.channel(ws.PARTNERS)  # known, but not a post channel
    before = len(fake.wire)
    with pytest.raises(PolicyDenied):
        await client._client(False).api_call(path, json={"channel": ws.PARTNERS, "text": "x"})
    assert len(fake.wire) == before and fake.count("chat.postMessage") == 0


async def test_a_parameter_given_twice_is_refused(slack: tuple[SlackClient, Directory], fake: FakeSlack) -> None:
    client, directory = slack
    await directory.channel(ws.GENERAL)
    before = len(fake.wire)
    with pytest.raises(PolicyDenied, match="more than once"):
        await client._client(False).api_call(
            "chat.postMessage", http_verb="POST", params={"channel": ws.GENERAL}, data={"channel": ws.PARTNERS}
        )
    with pytest.raises(PolicyDenied, match="not one this connector sends"):
        await client._client(False).api_call(
            "chat.postMessage", files={"file": io.BytesIO(b"x")}, data={"channel": ws.GENERAL}
        )
    assert len(fake.wire) == before


async def test_redirects_are_checked_too(
    slack: tuple[SlackClient, Directory], fake: FakeSlack, _server: tuple[_Swappable, str]
) -> None:
    client, _ = slack
    for location in ("/elsewhere/steal", "/api/chat.delete", _server[1].replace("127.0.0.1", "localhost") + "/api/x"):
        fake.redirect("conversations.info", location)
        with pytest.raises(PolicyDenied):
            await client.call("conversations.info", channel=ws.GENERAL)
    assert [w.raw_path for w in fake.wire] == ["/api/auth.test"] + ["/api/conversations.info"] * 3


async def test_allowed_requests_are_labelled_from_what_was_sent(
    slack: tuple[SlackClient, Directory], fake: FakeSlack
) -> None:
    client, directory = slack
    await directory.channel(ws.SECRET)
    _, history = await client.request("conversations.history", channel=ws.SECRET)
    await directory.channel(ws.GENERAL)
    _, post = await client.request("chat.postMessage", channel=ws.GENERAL, text="hi", idempotent=False)
    _, user = await client.request("users.info", user=ws.ALICE)
    _, search = await client.request("search.messages", user_token=True, query="deploy")
    assert history.uri == f"slack://{ws.TEAM}/channel/{ws.SECRET}" and history.key == ws.SECRET
    assert post.uri == f"slack://{ws.TEAM}/channel/{ws.GENERAL}"
    assert user.uri == f"slack://{ws.TEAM}/user/{ws.ALICE}" and search.uri == f"slack://{ws.TEAM}/search"


async def test_a_closed_connection_sends_nothing(slack: tuple[SlackClient, Directory], fake: FakeSlack) -> None:
    """slack-sdk opens an unguarded session of its own when its session is closed: the client refuses first."""
    client, _ = slack
    stale = client._client(False)
    await client.close()
    before = len(fake.wire)
    with pytest.raises(UpstreamUnavailable):
        await stale.api_call("auth.test")
    assert len(fake.wire) == before


def test_post_channels_match_ids_and_slack_names_only() -> None:
    guard = SlackGuard(SlackSettings(post_channels=["#General", "G0SECRET03"]), lambda: ws.TEAM)
    assert guard.may_post(ws.GENERAL, "general") and guard.may_post(ws.SECRET, "")
    assert not guard.may_post(ws.PARTNERS, "partners") and not guard.may_post(ws.DM, "")


def test_read_channels_match_ids_and_slack_names_and_empty_reads_all() -> None:
    everything = SlackGuard(SlackSettings(), lambda: ws.TEAM)
    assert everything.may_read(ws.PARTNERS, "partners") and everything.may_read(ws.DM, "")
    guard = SlackGuard(SlackSettings(read_channels="#General, G0SECRET03"), lambda: ws.TEAM)  # type: ignore[arg-type]
    assert guard.may_read(ws.GENERAL, "general") and guard.may_read(ws.SECRET, "")
    assert not guard.may_read(ws.PARTNERS, "partners") and not guard.may_read(ws.DM, "")
    assert not guard.may_read(ws.GENERAL, "")  # a name Slack did not give it is not the channel's


async def test_read_channels_limit_what_is_read_at_the_transport(
    make_hub: Callable[..., HubServer], fake: FakeSlack
) -> None:
    """Reading is refused for a channel read_channels does not name, and search (every channel) is off."""
    async with Client(make_hub({"MCP_HUB_SLACK__READ_CHANNELS": "general"})) as client:
        allowed = await client.call_tool("slack_get_history", {"channel": "#general"})
        refused = await client.call_tool("slack_get_history", {"channel": "#secret"})
        thread = await client.call_tool("slack_get_thread", {"channel": "#secret", "ts": "1700000000.000100"})
        search = await client.call_tool("slack_search_messages", {"query": "deploy"})
    assert not allowed.is_error, allowed.content
    for result in (refused, thread):
        assert result.is_error and result.meta["mcp_hub/error"] == "denied", result.content
        assert f"channel {ws.SECRET} is not in read_channels" in result.content[0].text
    assert search.is_error and "read_channels" in search.content[0].text
    reads = ("conversations.history", "conversations.replies")
    assert not [p for m, p in fake.requests if m in reads and p.get("channel") == ws.SECRET]  # never sent
    assert not any(method == "search.messages" for method, _ in fake.requests)
    # without read_channels, the same reads go through (what the setting takes away, it alone takes)
    async with Client(make_hub()) as client:
        assert not (await client.call_tool("slack_get_history", {"channel": "#secret"})).is_error

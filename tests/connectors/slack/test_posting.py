"""Write tools: the channel allow-list, unfurling off, link-host refusal, reactions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client

from connectors.slack.links import allowed, link_hosts
from mcp_hub.server import HubServer
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.anyio
WRITES = {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_TOOLSETS": "all", "MCP_HUB_SLACK__POST_CHANNELS": "general,G0SECRET03"}


async def test_post_and_reply_without_unfurling(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    async with Client(make_hub(WRITES)) as client:
        posted = await client.call_tool("slack_post_message", {"channel": "#general", "text": "Build is green"})
        reply = await client.call_tool(
            "slack_post_message", {"channel": ws.GENERAL, "text": "details", "thread_ts": "1714557660.000200"}
        )
        private = await client.call_tool("slack_post_message", {"channel": "secret", "text": "noted"})
    assert not posted.is_error, posted.content
    assert posted.structured_content["channel_id"] == ws.GENERAL and posted.meta["mcp_hub/provenance"]["visibility"]
    sent = [params for method, params in fake.requests if method == "chat.postMessage"]
    assert len(sent) == 3 and all(p["unfurl_links"] is False and p["unfurl_media"] is False for p in sent)
    assert sent[1]["thread_ts"] == "1714557660.000200" and reply.structured_content["thread_ts"] == "1714557660.000200"
    assert fake.history[ws.GENERAL][-1]["text"] == "Build is green"
    assert fake.replies[(ws.GENERAL, "1714557660.000200")][-1]["text"] == "details"
    assert private.meta["mcp_hub/provenance"]["visibility"] == "private"


async def test_only_allow_listed_channels(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    async with Client(make_hub(WRITES)) as client:
        other = await client.call_tool("slack_post_message", {"channel": "#partners", "text": "hello"})
        react = await client.call_tool(
            "slack_add_reaction", {"channel": "#partners", "ts": "1714557800.0004", "emoji": "x"}
        )
    async with Client(make_hub(WRITES | {"MCP_HUB_SLACK__POST_CHANNELS": ""})) as client:
        none = await client.call_tool("slack_post_message", {"channel": "#general", "text": "hello"})
    assert other.is_error and "not in this hub's post_channels" in other.content[0].text
    assert react.is_error and "post_channels" in react.content[0].text
    assert none.is_error and "operator must list the channels in post_channels" in none.content[0].text
    assert fake.count("chat.postMessage") == 0 and fake.count("reactions.add") == 0


@pytest.mark.parametrize(
    "text",
    [
        "see https://evil.example/collect?d=secret",
        "see <https://evil.example/x|our docs>",
        "see evil.example/?q=secret",
        "ping c2VjcmV0.evil.example",
        "see www.evil.example",
        "ftp://files.evil.example/x",
    ],
)
async def test_links_outside_allowed_hosts_refused(
    make_hub: Callable[..., HubServer], fake: FakeSlack, text: str
) -> None:
    async with Client(make_hub(WRITES)) as client:
        result = await client.call_tool("slack_post_message", {"channel": "#general", "text": text})
    assert result.is_error and "evil.example" in result.content[0].text and "post_link_hosts" in result.content[0].text
    assert fake.count("chat.postMessage") == 0


async def test_allowed_link_hosts(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    env = WRITES | {"MCP_HUB_SLACK__POST_LINK_HOSTS": "github.com"}
    text = (
        "PR <https://github.com/acme/api/pull/7|#7>, api.github.com/repos, thread "
        "https://acme.slack.com/archives/C0GENERAL1/p1714557660000200, fix in main.py, mail <mailto:a@b.example|a>"
    )
    async with Client(make_hub(env)) as client:
        ok = await client.call_tool("slack_post_message", {"channel": "#general", "text": text})
    assert not ok.is_error, ok.content
    assert fake.count("chat.postMessage") == 1


def test_link_host_detection() -> None:
    assert link_hosts("<@U0ALICE001> in <#C0GENERAL1|general> <!here>") == set()
    assert link_hosts("go to <https://Docs.Example.com/a|docs> and http://x.example:8080/p") == {
        "docs.example.com",
        "x.example",
    }
    assert link_hosts("version 1.2.3 and e.g. README.md") == set()
    assert allowed("api.github.com", ["*.github.com"]) and allowed("github.com", ["github.com"])
    assert not allowed("evilgithub.com", ["github.com"])


async def test_reactions(make_hub: Callable[..., HubServer], fake: FakeSlack) -> None:
    async with Client(make_hub(WRITES)) as client:
        first = await client.call_tool(
            "slack_add_reaction", {"channel": "#general", "ts": "1714557600.000100", "emoji": ":thumbsup:"}
        )
        again = await client.call_tool(
            "slack_add_reaction", {"channel": "#general", "ts": "1714557600.000100", "emoji": "thumbsup"}
        )
        bad = await client.call_tool(
            "slack_add_reaction", {"channel": "#general", "ts": "1714557600.0001", "emoji": "<b>"}
        )
        gone = await client.call_tool(
            "slack_add_reaction", {"channel": "#general", "ts": "1714550000.000000", "emoji": "eyes"}
        )
        sent = fake.count("reactions.add")
        malformed = await client.call_tool("slack_add_reaction", {"channel": "#general", "ts": "1.0", "emoji": "eyes"})
    assert first.structured_content == {
        "channel_id": ws.GENERAL,
        "ts": "1714557600.000100",
        "emoji": "thumbsup",
        "already": False,
    }
    assert again.structured_content["already"] is True
    assert fake.history[ws.GENERAL][0]["reactions"] == [{"name": "thumbsup", "users": [ws.BOT], "count": 1}]
    assert bad.is_error and "without colons" in bad.content[0].text
    assert gone.is_error and "message not found" in gone.content[0].text
    assert malformed.is_error and malformed.meta["mcp_hub/error"] == "invalid_input"
    assert fake.count("reactions.add") == sent  # a ts that is no message id is not sent

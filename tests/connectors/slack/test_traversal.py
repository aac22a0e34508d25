"""Issue 18 on Slack: hostile values in every string argument of every tool (live catalog, writes allowed).

Slack addresses resources in parameters, not paths, so the fake's `wire` carries each request's query and
body parameters together. Nothing may reach it outside the instance's scope: only `/api/<method>` for the
Web API methods the connector uses, read one way; channels only as ids that exist; posts and reactions only
to `post_channels` (here `#general`). Every successful result must be labelled with a channel some request
of that call addressed, and exactly as private as that channel is.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from anyio.from_thread import BlockingPortal
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client

from connectors.slack.scope import CHANNEL_ID, METHODS, USER_ID
from mcp_hub.server import HubServer
from tests.connectors.slack import workspace as ws
from tests.connectors.slack.fake_slack import FakeSlack
from tests.support import hostile

portal = hostile.portal  # the shared fixtures (this module provides `hub`)
session = hostile.session
slots_of = hostile.slots_of

WRITES = {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_TOOLSETS": "all", "MCP_HUB_SLACK__POST_CHANNELS": "general"}
POSTS = {"chat.postMessage", "reactions.add"}
#: Channels the posts must not reach (a Slack Connect channel, a private one, a DM).
OTHERS = [ws.PARTNERS, ws.SECRET, ws.DM]
#: Slack's own spellings of "another channel": names, user ids (a DM), parameter smuggling, look-alikes.
SLACK_SPELLINGS = [
    "#partners",
    "partners",
    "#secret",
    ws.ALICE,
    f"{ws.GENERAL}&channel={ws.PARTNERS}",
    f"general%26channel%3D{ws.PARTNERS}",
    f"general\nchannel={ws.PARTNERS}",
    f"#general,{ws.PARTNERS}",
    f"<#{ws.PARTNERS}>",
    "\uff43\uff10\uff33\uff28\uff21\uff32\uff25\uff24\uff10\uff14",
    ws.PARTNERS.lower(),
    f" {ws.PARTNERS} ",
    "1714557800.000400",
    "",
]
VALID = {"channel": "#general", "text": "hi", "ts": "1714557660.000200", "emoji": "eyes", "query": "deploy"}


def out_of_scope(wire: hostile.Wire) -> str | None:
    method = wire.path.removeprefix("/api/")
    if wire.method not in ("GET", "POST") or not wire.path.startswith("/api/") or method not in METHODS:
        return "not a Web API method the connector uses"
    if wire.raw_path != wire.path:
        return "a path a server could read another way"
    if any(len(values) != 1 for values in wire.query.values()):
        return "a parameter given twice"
    channel = (wire.query.get("channel") or [None])[0]
    if channel is not None and not CHANNEL_ID.match(channel):
        return f"channel {channel!r} is not a plain id"
    if method in POSTS and channel != ws.GENERAL:
        return f"{method} to {channel}, not in post_channels"
    user = (wire.query.get("user") or [None])[0]
    if user is not None and not USER_ID.match(user):
        return f"user {user!r} is not a plain id"
    return None


def request_key(wire: hostile.Wire) -> str | None:
    return (wire.query.get("channel") or [None])[0]


def label_key(resource: str) -> str | None:
    _, found, channel = resource.partition("/channel/")
    return channel if found else None


def exposure(fake: FakeSlack) -> hostile.Exposure:
    def visibility(channel: str) -> str:
        found = fake.channels.get(channel) or {}
        return "internal" if found.get("is_channel") and not found.get("is_private") else "private"

    return hostile.Exposure(
        wire=lambda: fake.wire,
        out_of_scope=out_of_scope,
        request_key=request_key,
        label_key=label_key,
        allowed=lambda channel: channel in fake.channels,  # reads: any channel the app sees; posts: checked above
        valid=VALID,
        others=OTHERS,
        visibility=visibility,
    )


@pytest.fixture
def hub(make_hub: Callable[..., HubServer], fake: FakeSlack) -> HubServer:
    return make_hub(WRITES)


def test_the_traversal_family_never_leaves_scope(portal: BlockingPortal, session: Client, fake: FakeSlack) -> None:
    seen = exposure(fake)
    probed = portal.call(hostile.probe_all, session, seen, hostile.hostile_values(OTHERS) + SLACK_SPELLINGS)
    assert not seen.problems, "\n".join(seen.problems[:30])
    # the live catalog, writes included: a new tool or argument is attacked without editing this test
    slots = {(slot.tool, slot.where[-1]) for slot in probed}
    assert {
        ("slack_post_message", "channel"),
        ("slack_add_reaction", "emoji"),
        ("slack_get_history", "cursor"),
    } <= slots
    assert {("slack_lookup", "query"), ("slack_search_messages", "query"), ("slack_get_thread", "ts")} <= slots
    assert fake.count("chat.postMessage") > 0 and fake.count("conversations.history") > 0  # reached the network
    assert not [w for w in fake.wire if w.query.get("channel") in ([c] for c in OTHERS) and "chat." in w.path]


@pytest.fixture
def exposed(fake: FakeSlack) -> Callable[[], hostile.Exposure]:
    return lambda: exposure(fake)


@hostile.compositions(150)
@given(data=st.data())
def test_random_compositions_never_leave_scope(
    portal: BlockingPortal,
    session: Client,
    exposed: Callable[[], hostile.Exposure],
    slots_of: list[hostile.Slot],
    data: st.DataObject,
) -> None:
    values = hostile.hostile_text([*OTHERS, "partners", ws.ALICE]) | st.sampled_from(SLACK_SPELLINGS)
    hostile.probe_drawn(portal, session, exposed(), slots_of, data, values)

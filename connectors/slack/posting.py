"""Write tools: a message or thread reply, and a reaction; only to allow-listed channels.

Posting is how data leaves the hub, so every write is checked before it is sent: the channel must be in
`post_channels` (names or ids), links may only point to `post_link_hosts` or the workspace's own
slack.com host (see `links`), and link and media unfurling is always off.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from connectors.slack.base import SlackBase
from connectors.slack.conversations import ChannelArg, message_ts
from connectors.slack.directory import Channel
from connectors.slack.links import allowed, link_hosts
from connectors.slack.models import Posted, Reacted
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import ConnectorError, InvalidInput, PolicyDenied
from mcp_hub.upstream import journal

_EMOJI = re.compile(r"^[a-z0-9_+'-]{1,60}(::skin-tone-[2-6])?$")


class PostingTools(SlackBase):
    async def _writable(self, channel: str) -> Channel:
        """The channel, resolved through Slack, when `post_channels` names it (the guard checks again on the
        request actually sent)."""
        if not self.settings.post_channels:
            raise PolicyDenied(
                "posting to Slack is off for this hub: its operator must list the channels in post_channels."
            )
        found = await self.directory.resolve_channel(channel)
        if not self.slack.guard.may_post(found.id, found.name):
            raise PolicyDenied(
                f"{found.label} is not in this hub's post_channels; post only to: "
                + ", ".join(sorted(self.settings.post_channels))
            )
        return found

    @tool(
        toolset="post",
        description="Post a message or thread reply to an allowed Slack channel (no link previews).",
        read_only=False,
    )
    async def post_message(
        self,
        channel: ChannelArg,
        text: Annotated[str, Field(description="Slack mrkdwn", min_length=1, max_length=4000)],
        thread_ts: Annotated[str | None, Field(description="Reply in this thread", max_length=40)] = None,
    ) -> ToolOutput[Posted]:
        found = await self._writable(channel)
        workspace = await self.slack.workspace()
        refused = sorted(
            h for h in link_hosts(text) if not allowed(h, [*self.settings.post_link_hosts, workspace.host])
        )
        if refused:
            raise PolicyDenied(
                f"refused: the message links to {', '.join(refused[:5])}, outside this hub's post_link_hosts. "
                "Remove those links (links can carry data out of the hub)."
            )
        data, target = await self.slack.request(
            "chat.postMessage",
            idempotent=False,
            channel=found.id,
            text=text,
            thread_ts=message_ts(thread_ts, "thread_ts"),
            unfurl_links=False,
            unfurl_media=False,
        )
        ts = data.get("ts")
        if not isinstance(ts, str):
            raise ConnectorError("Slack accepted the message but returned no ts; check the channel before retrying.")
        posted = Posted(channel_id=found.id, ts=ts, thread_ts=message_ts(thread_ts, "thread_ts"))
        return ToolOutput(posted, self.provenance(target, self.channel_visibility(target.key), False))

    @tool(
        toolset="post",
        description="Add an emoji reaction to a message in an allowed channel.",
        read_only=False,
        idempotent=True,
    )
    async def add_reaction(
        self,
        channel: ChannelArg,
        ts: Annotated[str, Field(max_length=40)],
        emoji: Annotated[str, Field(description="Name, e.g. thumbsup", max_length=80)],
    ) -> ToolOutput[Reacted]:
        name = emoji.strip().strip(":").lower()
        if not _EMOJI.match(name):
            raise InvalidInput("emoji: a name like thumbsup or white_check_mark, without colons.")
        found = await self._writable(channel)
        stamp = message_ts(ts, "ts")
        if stamp is None:
            raise InvalidInput("ts: pass the ts of a message, like 1714557720.000100.")
        already = False
        with journal() as sent:  # labelled from the request sent, also when Slack answers already_reacted
            try:
                await self.slack.call("reactions.add", channel=found.id, timestamp=stamp, name=name)
            except ConnectorError as exc:
                if "already_reacted" not in exc.message:
                    raise
                already = True
        target = sent.last
        assert target is not None, "reactions.add answered without a guarded request"
        result = Reacted(channel_id=found.id, ts=stamp, emoji=name, already=already)
        return ToolOutput(result, self.provenance(target, self.channel_visibility(target.key), False))

"""Reading tools: conversations, channel history, thread replies, and the channel-history resource."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.slack.base import SlackBase
from connectors.slack.directory import channel_from
from connectors.slack.models import ConversationInfo, ConversationList, MessagePage
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput, NotFound
from mcp_hub.upstream import Target
from mcp_hub.upstream.page import decode_cursor, encode_cursor

ChannelArg = Annotated[str, Field(description="Channel id or #name", pattern=r"^#?[\w.-]{1,80}$")]
Cursor = Annotated[str | None, Field(description="next_cursor of the previous page", max_length=2000)]
Time = Annotated[str | None, Field(description="Slack ts or ISO date/time (UTC)", max_length=40)]
KINDS = {"channel": "public_channel", "private": "private_channel", "mpim": "mpim", "im": "im"}


_MESSAGE_TS = re.compile(r"^\d{10}\.\d{6}$")


def message_ts(value: str | None, name: str) -> str | None:
    """A message's ts (its id in the channel), exactly as Slack writes them: `1714557720.000100`."""
    found = slack_ts(value, name)
    if found is not None and not _MESSAGE_TS.match(found):
        raise InvalidInput(f"{name}: pass the ts of a message, like 1714557720.000100.")
    return found


def slack_ts(value: str | None, name: str) -> str | None:
    """A Slack ts from a ts or an ISO date/time (naive times are UTC)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not 0 <= number < 1e11:  # also NaN and infinities
            raise InvalidInput(f"{name}: pass a Slack ts (1714557720.000100) or an ISO date like 2024-05-01.")
        return f"{number:.6f}"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: pass a Slack ts (1714557720.000100) or an ISO date like 2024-05-01.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.timestamp():.6f}"


def _slack_cursor(cursor: str | None) -> str | None:
    value = decode_cursor(cursor).get("c")
    if cursor and not isinstance(value, str):
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
    return value if isinstance(value, str) else None


def _next(data: dict[str, Any]) -> str | None:
    meta = data.get("response_metadata")
    value = meta.get("next_cursor") if isinstance(meta, dict) else None
    return encode_cursor({"c": value}) if isinstance(value, str) and value else None


class ConversationTools(SlackBase):
    @tool(toolset="conversations", description="List Slack conversations the app can see, paged.")
    async def list_conversations(
        self,
        kinds: Annotated[tuple[Literal["channel", "private", "mpim", "im"], ...], Field(max_length=4)] = (
            "channel",
            "private",
        ),
        limit: Annotated[int, Field(ge=1, le=200)] = 100,
        cursor: Cursor = None,
    ) -> ToolOutput[ConversationList]:
        types = ",".join(KINDS[k] for k in dict.fromkeys(kinds)) or "public_channel"
        data, target = await self.slack.request(
            "conversations.list", types=types, limit=limit, cursor=_slack_cursor(cursor), exclude_archived=True
        )
        channels = [channel_from(raw) for raw in data.get("channels") or []]
        gate = self.gate()
        items = []
        for channel in channels:
            self.directory.remember_channel(channel, target.uri)
            topic = channel.topic[:120]
            if channel.ext_shared and topic:
                topic = "" if gate.lockdown else gate.outsider(topic)
            name = channel.name or (f"dm:{channel.dm_user}" if channel.dm_user else channel.id)
            items.append(
                ConversationInfo(
                    id=channel.id,
                    name=name,
                    kind=channel.kind,
                    members=channel.members,
                    ext_shared=channel.ext_shared,
                    topic=topic,
                )
            )
        next_cursor = _next(data)
        result = ConversationList(conversations=items, next_cursor=next_cursor)
        return ToolOutput(result, self.provenance(target, self.visibility(channels), gate.outsider_seen))

    @tool(
        toolset="conversations",
        description="Messages of a channel, newest page first (then older via cursor); optional time range.",
    )
    async def get_history(
        self,
        channel: ChannelArg,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        oldest: Time = None,
        latest: Time = None,
        cursor: Cursor = None,
    ) -> ToolOutput[MessagePage]:
        found = await self.directory.resolve_channel(channel)
        data, target = await self.slack.request(
            "conversations.history",
            channel=found.id,
            limit=limit,
            oldest=slack_ts(oldest, "oldest"),
            latest=slack_ts(latest, "latest"),
            cursor=_slack_cursor(cursor),
        )
        return await self._page(target, data, thread=False)

    @tool(toolset="conversations", description="Replies of a thread (the parent message first), paged.")
    async def get_thread(
        self,
        channel: ChannelArg,
        ts: Annotated[str, Field(description="ts of the thread's parent message", max_length=40)],
        limit: Annotated[int, Field(ge=1, le=200)] = 100,
        cursor: Cursor = None,
    ) -> ToolOutput[MessagePage]:
        found = await self.directory.resolve_channel(channel)
        parent = message_ts(ts, "ts")
        data, target = await self.slack.request(
            "conversations.replies", channel=found.id, ts=parent, limit=limit, cursor=_slack_cursor(cursor)
        )
        return await self._page(target, data, thread=True)

    async def _page(self, target: Target, data: dict[str, Any], *, thread: bool) -> ToolOutput[MessagePage]:
        """A page of the channel the request actually addressed (the guard's target), labelled from it."""
        channel = self.directory.channels.get(target.key or "")
        if channel is None:  # the guard lets no read of an unknown channel through
            raise NotFound("the channel read is not in the directory; look it up again.")
        raws = [m for m in data.get("messages") or [] if isinstance(m, dict)]
        rendered = await self.render_messages(channel, raws, thread=thread)
        next_cursor = _next(data)
        page = MessagePage(
            channel=channel.label,
            channel_id=channel.id,
            messages=rendered.messages,
            next_cursor=next_cursor,
        )
        more = f"\n(more: cursor={next_cursor})" if next_cursor else ""
        text = f"{channel.label} ({channel.id}), {len(raws)} messages:\n" + "\n".join(rendered.lines) + more
        provenance = self.provenance(target, self.channel_visibility(target.key), rendered.outsider_text)
        return ToolOutput(page, provenance, text=text)

    @resource(
        "slack://{workspace}/channel/{channel_id}",
        description="Recent messages of a Slack channel (workspace: team id).",
        toolset="conversations",
    )
    async def channel_history(self, workspace: str, channel_id: str) -> ResourceOutput:
        team = self.settings.team_id or (await self.slack.workspace()).team_id
        if workspace != team:
            raise NotFound(f"this hub instance serves Slack workspace {team}, not {workspace}.")
        output = await self.get_history(channel=channel_id, limit=50)
        assert output.text is not None
        return ResourceOutput(output.text, output.provenance, mime_type="text/plain")

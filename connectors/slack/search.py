"""Search (user token) and the users/channels lookup."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.slack.base import SlackBase
from connectors.slack.directory import CHANNEL_ID, USER_ID, User, channel_from
from connectors.slack.models import ConversationInfo, LookupResult, SearchMatch, SearchResult, UserInfo
from connectors.slack.render import readable
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import OutsiderGate
from mcp_hub.upstream.page import decode_cursor, encode_cursor


class SearchTools(SlackBase):
    @tool(
        toolset="search",
        description="Search Slack messages (Slack search syntax: in:#chan from:@user before:2024-05-01), newest first.",
    )
    async def search_messages(
        self,
        query: Annotated[str, Field(min_length=1, max_length=500)],
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page", max_length=200)] = None,
    ) -> ToolOutput[SearchResult]:
        page = decode_cursor(cursor).get("page", 1)
        if not isinstance(page, int) or page < 1:
            raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
        data, target = await self.slack.request(
            "search.messages", user_token=True, query=query, count=limit, page=page, sort="timestamp", sort_dir="desc"
        )
        found: dict[str, Any] = data.get("messages") or {}
        raws = [m for m in found.get("matches") or [] if isinstance(m, dict)]
        texts = [str(m.get("text") or "") for m in raws]
        users = await self.resolve_names({str(m.get("user") or "") for m in raws}, texts)
        workspace = await self.slack.workspace()
        gate = self.gate()
        matches = []
        for raw in raws:
            match = self._match(raw, users, gate, workspace.team_id)
            matches.append(match)
        paging = found.get("paging") or {}
        pages = int(paging.get("pages") or 1)
        next_cursor = encode_cursor({"page": page + 1}) if page < pages else None
        result = SearchResult(total=int(found.get("total") or len(matches)), matches=matches, next_cursor=next_cursor)
        # Results span channels: the whole is as private as its most private match.
        visibility = "private" if any(m.visibility == "private" for m in matches) else self.settings.visibility
        return ToolOutput(result, self.provenance(target, visibility, gate.outsider_seen))

    def _match(self, raw: dict[str, Any], users: dict[str, User], gate: OutsiderGate, team_id: str) -> SearchMatch:
        """One search hit, labelled with its own channel's visibility as Slack described it (and the directory)."""
        raw_channel = raw.get("channel")
        channel = channel_from(raw_channel if isinstance(raw_channel, dict) and raw_channel.get("id") else {"id": "?"})
        known = self.directory.channels.get(channel.id)
        private = channel.private or (known is not None and known.private)
        user = users.get(str(raw.get("user") or ""))
        outsider = (user.outsider if user else True) or raw.get("team") not in (None, team_id)
        name = f"@{user.name}" if user else str(raw.get("username") or raw.get("user") or "?")
        text = readable(str(raw.get("text") or ""), users, self.directory.channels)[: self.settings.max_text_chars]
        if outsider:
            name = str(raw.get("user") or "?") if gate.lockdown else gate.outsider(name)
        return SearchMatch(
            channel=channel.label,
            channel_id=channel.id,
            ts=str(raw.get("ts") or ""),
            user=name,
            text=gate.keep(text, outsider=outsider) or "",
            external=outsider,
            visibility="private" if private else self.settings.visibility,
            kind=known.kind if known is not None and known.private else channel.kind,
        )

    @tool(toolset="people", description="Find a Slack user or channel by name or id (@alice, U0…, #general, C0…).")
    async def lookup(
        self,
        query: Annotated[str, Field(min_length=1, max_length=100)],
        kind: Literal["user", "channel", "auto"] = "auto",
    ) -> ToolOutput[LookupResult]:
        text = query.strip()
        if kind == "auto":
            channel_like = text.startswith("#") or bool(CHANNEL_ID.match(text))
            user_like = text.startswith("@") or bool(USER_ID.match(text))
            if channel_like == user_like:
                raise InvalidInput("say which: kind='user' or 'channel' (or write @name / #name).")
            kind = "channel" if channel_like else "user"
        if kind == "channel":
            channel = await self.directory.resolve_channel(text)
            gate = self.gate()
            topic = channel.topic[:200]
            if channel.ext_shared and topic:  # a Slack Connect channel's topic may be an outsider's
                topic = "" if gate.lockdown else gate.outsider(topic)
            info = ConversationInfo(
                id=channel.id,
                name=channel.name or channel.label,
                kind=channel.kind,
                members=channel.members,
                ext_shared=channel.ext_shared,
                topic=topic,
            )
            source = self.directory.sources[channel.id]
            provenance = self.provenance(source, self.visibility([channel]), gate.outsider_seen)
            return ToolOutput(LookupResult(channel=info), provenance)
        user = await self.directory.find_user(text)
        gate = self.gate()
        shown = user
        if user.outsider and gate.lockdown:
            shown = type(user)(id=user.id, name=user.id, real_name="", outsider=True)
        outsider = user.outsider and not gate.lockdown
        person = UserInfo(
            id=shown.id,
            name=gate.keep(shown.name, outsider=outsider) or "",
            real_name=gate.keep(shown.real_name, outsider=outsider) or "",
            title=gate.keep(shown.title, outsider=outsider) or "",
            tz=shown.tz,
            bot=shown.bot,
            deleted=shown.deleted,
            external=user.outsider,
        )
        provenance = self.provenance(self.directory.sources[user.id], self.settings.visibility, gate.outsider_seen)
        return ToolOutput(LookupResult(user=person), provenance)

"""Users and channels by id and by name, filled lazily: never at start-up, never in bulk unless a name needs it.

Large workspaces have 100k users, so ids are resolved one by one (users.info / conversations.info) and
cached; only a lookup *by name* that the cache cannot answer pages through users.list / conversations.list,
at most `directory_max_pages` pages per lookup, resuming where the previous fill stopped.

The directory is also what the request guard trusts about channels (`scope.SlackGuard.channel_name`): only
what Slack itself answered lands here, so a channel's visibility and name are Slack's, never the caller's.
Each entry remembers the provenance URI of the request it came from (`source`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio

from connectors.slack.client import SlackClient, Workspace
from connectors.slack.scope import CHANNEL_ID, USER_ID
from mcp_hub.errors import AuthError, InvalidInput, NotFound

__all__ = ["CHANNEL_ID", "USER_ID", "Channel", "Directory", "User", "channel_from", "user_from"]
_PAGE = 200
_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str  # handle (display name, else username)
    real_name: str
    #: Guest (restricted) or external (Slack Connect / stranger): their text is outsider text.
    outsider: bool
    bot: bool = False
    deleted: bool = False
    title: str = ""
    tz: str = ""
    username: str = ""


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str  # without '#'; "" for DMs
    private: bool  # private channel, group DM or DM
    kind: str  # channel | private | mpim | im
    ext_shared: bool = False
    members: int | None = None
    topic: str = ""
    dm_user: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "im":
            return f"dm:{self.dm_user or self.id}"
        return f"#{self.name}" if self.name else self.id


def user_from(raw: dict[str, Any], workspace: Workspace) -> User:
    profile = raw.get("profile") or {}
    team = raw.get("team_id") or profile.get("team")
    enterprise = (raw.get("enterprise_user") or {}).get("enterprise_id")
    foreign_team = bool(team) and team != workspace.team_id
    same_org = workspace.enterprise_id is not None and enterprise == workspace.enterprise_id
    outsider = bool(
        raw.get("is_restricted")
        or raw.get("is_ultra_restricted")
        or raw.get("is_stranger")
        or (foreign_team and not same_org)
    )
    return User(
        id=str(raw["id"]),
        name=str(profile.get("display_name") or raw.get("name") or raw["id"]),
        real_name=str(profile.get("real_name") or raw.get("real_name") or ""),
        outsider=outsider,
        bot=bool(raw.get("is_bot")),
        deleted=bool(raw.get("deleted")),
        title=str(profile.get("title") or ""),
        tz=str(raw.get("tz") or ""),
        username=str(raw.get("name") or ""),
    )


def channel_from(raw: dict[str, Any]) -> Channel:
    """A channel from Slack's object; public only when Slack says so (`is_channel`, not private): fail closed."""
    if raw.get("is_im"):
        kind = "im"
    elif raw.get("is_mpim"):
        kind = "mpim"
    elif raw.get("is_private") or raw.get("is_group") or raw.get("is_channel") is not True:
        kind = "private"
    else:
        kind = "channel"
    topic = raw.get("topic") or {}
    return Channel(
        id=str(raw["id"]),
        name=str(raw.get("name") or ""),
        private=kind != "channel",
        kind=kind,
        ext_shared=bool(raw.get("is_ext_shared")),
        members=raw.get("num_members"),
        topic=str(topic.get("value") or "") if isinstance(topic, dict) else "",
        dm_user=raw.get("user"),
    )


class Directory:
    def __init__(self, client: SlackClient, max_pages: int) -> None:
        self.client = client
        self.max_pages = max_pages
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        #: Id -> provenance URI of the request that told us about the user or channel.
        self.sources: dict[str, str] = {}
        self._user_cursor: str | None = None
        self._users_done = False
        self._channel_cursor: str | None = None
        self._channels_done = False
        client.guard.channel_name = self.channel_name

    def channel_name(self, channel_id: str) -> str | None:
        """The name Slack gave a channel ("" for DMs), or None when the directory does not know it."""
        found = self.channels.get(channel_id)
        return None if found is None else found.name

    def remember_channel(self, channel: Channel, source: str) -> None:
        self.channels[channel.id] = channel
        self.sources[channel.id] = source

    async def user(self, user_id: str) -> User:
        cached = self.users.get(user_id)
        if cached is not None:
            return cached
        data, target = await self.client.request("users.info", user=user_id)
        found = user_from(data["user"], await self.client.workspace())
        self.users[found.id] = found
        self.sources[found.id] = target.uri
        return found

    async def fill_users(self, ids: Iterable[str]) -> dict[str, User]:
        """The users of `ids` (unknown ones left out), fetching the uncached ones concurrently."""
        wanted = {i for i in ids if USER_ID.match(i)}
        missing = sorted(wanted - set(self.users))
        if missing:
            limiter = anyio.CapacityLimiter(_CONCURRENCY)

            async def fetch(user_id: str) -> None:
                async with limiter:
                    with contextlib.suppress(NotFound):
                        await self.user(user_id)

            async with anyio.create_task_group() as group:
                for user_id in missing:
                    group.start_soon(fetch, user_id)
        return {i: self.users[i] for i in wanted if i in self.users}

    async def fill_channels(self, ids: Iterable[str]) -> None:
        """Cache the channels of `ids` (for `<#C…>` mentions without a name); unknown ones are skipped."""
        wanted = {i for i in ids if CHANNEL_ID.match(i)}  # message text is anyone's: only plain ids are asked about
        for channel_id in sorted(wanted - set(self.channels))[:_CONCURRENCY]:
            with contextlib.suppress(NotFound, AuthError):
                await self.channel(channel_id)

    async def find_user(self, query: str) -> User:
        query = query.strip().lstrip("@")
        if USER_ID.match(query):
            return await self.user(query)
        key = query.casefold()
        for page in range(self.max_pages + 1):
            match = next((u for u in self.users.values() if key in _user_keys(u)), None)
            if match is not None:
                return match
            if self._users_done or page == self.max_pages:
                break
            await self._next_users_page()
        raise NotFound(
            f"no user named {query!r} among the {len(self.users)} users read so far; pass the user id (U…), "
            "or ask again to read further."
            if not self._users_done
            else f"no user named {query!r} in this workspace."
        )

    async def _next_users_page(self) -> None:
        data, target = await self.client.request("users.list", limit=_PAGE, cursor=self._user_cursor)
        workspace = await self.client.workspace()
        for raw in data.get("members") or []:
            found = user_from(raw, workspace)
            if found.id not in self.users:
                self.users[found.id] = found
                self.sources[found.id] = target.uri
        self._user_cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        self._users_done = self._user_cursor is None

    async def channel(self, channel_id: str) -> Channel:
        cached = self.channels.get(channel_id)
        if cached is not None:
            return cached
        data, target = await self.client.request("conversations.info", channel=channel_id)
        found = channel_from(data["channel"])
        if found.id != channel_id:
            raise NotFound(f"Slack answered about another channel than {channel_id}.")
        self.remember_channel(found, target.uri)
        return found

    async def resolve_channel(self, name_or_id: str) -> Channel:
        """A channel from `C0123ABCD`, `#general` or `general`."""
        text = name_or_id.strip()
        if CHANNEL_ID.match(text):
            return await self.channel(text)
        name = text.lstrip("#").casefold()
        if not name or not re.fullmatch(r"[\w.-]{1,80}", name):
            raise InvalidInput("channel: pass an id (C0123ABCD) or a name like #general.")
        for page in range(self.max_pages + 1):
            match = next((c for c in self.channels.values() if c.name.casefold() == name), None)
            if match is not None:
                return match
            if self._channels_done or page == self.max_pages:
                break
            await self._next_channels_page()
        raise NotFound(f"no channel named #{name} visible to the app; slack_list_conversations shows the ones it sees.")

    async def _next_channels_page(self) -> None:
        data, target = await self.client.request(
            "conversations.list",
            limit=_PAGE,
            cursor=self._channel_cursor,
            types="public_channel,private_channel",
            exclude_archived=True,
        )
        for raw in data.get("channels") or []:
            found = channel_from(raw)
            if found.id not in self.channels:
                self.remember_channel(found, target.uri)
        self._channel_cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        self._channels_done = self._channel_cursor is None


def _user_keys(user: User) -> set[str]:
    return {user.name.casefold(), user.real_name.casefold(), user.username.casefold(), user.id.casefold()} - {""}

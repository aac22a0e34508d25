"""What every Slack tool shares: the lazy client and directory, provenance labels, message rendering.

Provenance comes from the request guard: a result's resource is the `Target` of the request that produced
it (`target.uri`, e.g. `slack://T…/channel/C…`), and a channel's visibility is what Slack said about the
channel that request addressed (from the directory, which only Slack's answers fill); a channel the
directory does not know is labelled private.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from connectors.slack.client import SlackClient
from connectors.slack.directory import USER_ID, Channel, Directory, User
from connectors.slack.models import Message
from connectors.slack.render import (
    bare_channel_ids,
    day_header,
    line,
    mention_ids,
    message_text,
    reactions_of,
    readable,
)
from connectors.slack.settings import SlackSettings
from mcp_hub.calls import lockdown_requested
from mcp_hub.connector import Connector
from mcp_hub.provenance import Provenance, Visibility
from mcp_hub.upstream import OutsiderGate, Target

WITHHELD = "[withheld: written by a guest or external user; lockdown is on]"


@dataclass(slots=True)
class Rendered:
    messages: list[Message]
    lines: list[str]
    outsider_text: bool


class SlackBase(Connector[SlackSettings]):
    _slack: SlackClient | None = None
    _directory: Directory | None = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._slack is not None:
                await self._slack.close()

    @property
    def slack(self) -> SlackClient:
        """The instance's client; nothing is opened until its first request."""
        if self._slack is None:
            self._slack = SlackClient(self.settings, state=self.context.state, instance=self.instance)
        return self._slack

    @property
    def directory(self) -> Directory:
        if self._directory is None:
            self._directory = Directory(self.slack, self.settings.directory_max_pages)
        return self._directory

    def locked(self) -> bool:
        return self.settings.lockdown or lockdown_requested()

    def gate(self) -> OutsiderGate:
        return OutsiderGate(self.locked(), withheld=WITHHELD)

    def visibility(self, channels: Sequence[Channel]) -> Visibility:
        """Private when any channel is private (or a DM), else the instance's label for public channels."""
        return "private" if any(c.private for c in channels) else self.settings.visibility

    def channel_visibility(self, channel_id: str | None) -> Visibility:
        """What the directory (Slack's answers) says about a channel; unknown channels are private."""
        found = self.directory.channels.get(channel_id or "")
        return "private" if found is None else self.visibility([found])

    def provenance(self, source: Target | str, visibility: Visibility, outsider_text: bool) -> Provenance:
        """The label of a result produced by the request `source` (its `Target`, or a remembered URI)."""
        resource = source.uri if isinstance(source, Target) else source
        return Provenance(resource=resource, visibility=visibility, outsider_text=outsider_text)

    async def resolve_names(self, authors: set[str], texts: list[str]) -> dict[str, User]:
        """Authors and mentioned users (by id, cached), and mentioned channels into the directory."""
        await self.directory.fill_channels(bare_channel_ids(texts))
        return await self.directory.fill_users(authors | mention_ids(texts))

    async def render_messages(
        self, channel: Channel, raws: Sequence[dict[str, Any]], *, thread: bool = False
    ) -> Rendered:
        """Messages (given newest or oldest first) as models and lines, oldest first, names resolved."""
        ordered = sorted(raws, key=lambda m: float(m.get("ts") or 0))
        authors = {str(m.get("user")) for m in ordered if m.get("user")}
        users = await self.resolve_names(authors, [str(m.get("text") or "") for m in ordered])
        workspace = await self.slack.workspace()
        gate = self.gate()
        out = Rendered([], [], False)
        day = ""
        for raw in ordered:
            ts = str(raw.get("ts") or "")
            author_id = str(raw.get("user") or raw.get("bot_id") or "?")
            user = users.get(author_id)
            outsider = _outsider(raw, user, workspace.team_id)
            text = readable(message_text(raw), users, self.directory.channels)[: self.settings.max_text_chars]
            name = f"@{user.name}" if user else (str(raw.get("username") or "") or author_id)
            if outsider:  # their display name is theirs too
                name = author_id if gate.lockdown else gate.outsider(name)
            text = gate.keep(text, outsider=outsider) or ""
            replies = int(raw.get("reply_count") or 0)
            reactions = reactions_of(raw)
            out.messages.append(
                Message(ts=ts, user=name, text=text, replies=replies, reactions=reactions, external=outsider)
            )
            if day_header(ts) != day:
                day = day_header(ts)
                out.lines.append(day)
            shown = name + (" (external)" if outsider else "")
            is_reply = thread and raw.get("thread_ts") not in (None, ts)
            out.lines.append(line(ts, shown, text, replies=replies, reactions=reactions, indent=is_reply))
        out.outsider_text = gate.outsider_seen
        return out


def _outsider(raw: dict[str, Any], user: User | None, team_id: str) -> bool:
    """Guest, external Slack Connect user or app, or an author whose profile the token cannot see."""
    if user is not None and user.outsider:
        return True
    for team in (raw.get("user_team"), raw.get("source_team"), (raw.get("bot_profile") or {}).get("team_id")):
        if team and team_id and team != team_id:
            return True
    return user is None and bool(USER_ID.match(str(raw.get("user") or "")))

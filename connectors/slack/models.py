"""What the Slack tools return: only what a model needs, ids kept for follow-up calls."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_hub.provenance import Visibility
from mcp_hub.upstream import Page


class Message(BaseModel):
    ts: str = Field(description="Message id within its channel (thread parent ts for replies).")
    user: str = Field(description="@name, or the user id when unknown or withheld.")
    text: str
    replies: int = 0
    reactions: str = ""
    external: bool = Field(default=False, description="Written by a guest or an external (Slack Connect) user.")


class MessagePage(Page):
    channel: str
    channel_id: str
    messages: list[Message] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        default=None, description="Pass as cursor for older messages (history) or later replies."
    )


class SearchMatch(BaseModel):
    channel: str
    channel_id: str
    ts: str
    user: str
    text: str
    external: bool = False
    #: Where this match came from, as Slack described its channel (unknown channels count as private).
    visibility: Visibility = "private"
    kind: str = Field(default="private", description="channel, private, mpim or im")


class SearchResult(Page):
    total: int
    matches: list[SearchMatch]


class ConversationInfo(BaseModel):
    id: str
    name: str
    kind: str = Field(description="channel, private, mpim or im")
    members: int | None = None
    ext_shared: bool = False
    topic: str = ""


class ConversationList(Page):
    conversations: list[ConversationInfo]


class UserInfo(BaseModel):
    id: str
    name: str
    real_name: str
    title: str = ""
    tz: str = ""
    bot: bool = False
    deleted: bool = False
    external: bool = Field(default=False, description="Guest or external (Slack Connect) user.")


class LookupResult(BaseModel):
    user: UserInfo | None = None
    channel: ConversationInfo | None = None


class Posted(BaseModel):
    channel_id: str
    ts: str
    thread_ts: str | None = None


class Reacted(BaseModel):
    channel_id: str
    ts: str
    emoji: str
    already: bool = False

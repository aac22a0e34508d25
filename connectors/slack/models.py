"""What the Slack tools return: only what a model needs, ids kept for follow-up calls."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Message(BaseModel):
    ts: str = Field(description="Message id within its channel (thread parent ts for replies).")
    user: str = Field(description="@name, or the user id when unknown or withheld.")
    text: str
    replies: int = 0
    reactions: str = ""
    external: bool = Field(default=False, description="Written by a guest or an external (Slack Connect) user.")


class MessagePage(BaseModel):
    channel: str
    channel_id: str
    messages: list[Message] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as cursor for older messages (history) or later replies.")
    truncated: bool


class SearchMatch(BaseModel):
    channel: str
    channel_id: str
    ts: str
    user: str
    text: str
    external: bool = False


class SearchResult(BaseModel):
    total: int
    matches: list[SearchMatch]
    next_cursor: str | None
    truncated: bool


class ConversationInfo(BaseModel):
    id: str
    name: str
    kind: str = Field(description="channel, private, mpim or im")
    members: int | None = None
    ext_shared: bool = False
    topic: str = ""


class ConversationList(BaseModel):
    conversations: list[ConversationInfo]
    next_cursor: str | None
    truncated: bool


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

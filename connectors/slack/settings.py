"""Settings of one Slack workspace connection.

Imported when the hub reads its config, so it must stay cheap: no slack-sdk here.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.provenance import Visibility
from mcp_hub.secret import Secret
from mcp_hub.upstream.settings import UpstreamSettings


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SlackSettings(ConnectorSettings, UpstreamSettings):
    """One workspace; `timeout_s`, retries, `ca_bundle` and `proxy` are the kit's shared keys."""

    bot_token: Secret | None = Field(default=None, description="xoxb- bot token (SLACK_BOT_TOKEN)")
    user_token: Secret | None = Field(default=None, description="xoxp- user token, for search (SLACK_USER_TOKEN)")
    team_id: str | None = Field(default=None, description="Workspace id for Enterprise Grid org-wide tokens")
    #: Label of public channels; private channels, group DMs and DMs are always "private".
    visibility: Visibility = "internal"
    post_channels: list[str] = Field(default_factory=list, description="Channels (names or ids) writes may go to")
    read_channels: list[str] = Field(
        default_factory=list,
        description="Channels (names or ids) whose messages may be read (empty: every channel the bot is in)",
    )
    post_link_hosts: list[str] = Field(
        default_factory=list, description="Hosts posted messages may link to (the workspace's slack.com is implied)"
    )
    lockdown: bool = Field(default=False, description="Withhold text written by guests and external users")
    directory_max_pages: int = Field(
        default=10, ge=1, le=500, description="users.list / conversations.list pages read per name lookup"
    )
    max_text_chars: int = Field(default=4000, ge=100, le=40_000, description="Longer message texts are cut")

    _lists = field_validator("post_channels", "read_channels", "post_link_hosts", mode="before")(_split)

    def missing(self) -> str | None:
        if self.bot_token is None:
            return "no token: set SLACK_BOT_TOKEN or MCP_HUB_SLACK__BOT_TOKEN"
        return None

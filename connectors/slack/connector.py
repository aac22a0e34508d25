"""Slack connector (slack-sdk's AsyncWebClient).

Conversations, history, threads, search (user token) and a lazily filled users/channels directory; posting
and reactions only to allow-listed channels, with link and media unfurling off and links restricted to
allowed hosts. slack-sdk and aiohttp are imported on first use, never by importing this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from connectors.slack import MANIFEST
from connectors.slack.conversations import ConversationTools
from connectors.slack.posting import PostingTools
from connectors.slack.search import SearchTools
from connectors.slack.settings import SlackSettings


class SlackConnector(ConversationTools, SearchTools, PostingTools):
    name: ClassVar[str] = "slack"
    settings_model = SlackSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    default_toolsets = frozenset({"conversations", "search", "people"})
    requires = ("slack_sdk", "aiohttp")
    extra = "slack"

    async def diagnose(self) -> list[str]:
        warnings = []
        if self.settings.user_token is None:
            warnings.append("no SLACK_USER_TOKEN: slack_search_messages will answer with an error.")
        if not self.settings.post_channels:
            warnings.append("post_channels is empty: slack_post_message and slack_add_reaction refuse every channel.")
        return warnings


__all__ = ["SlackConnector", "SlackSettings"]

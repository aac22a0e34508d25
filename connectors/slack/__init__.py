"""Slack connector (slack-sdk's AsyncWebClient).

This module stays light: the hub reads `MANIFEST` at start-up and imports the
connector itself (`connector.py`: tools, models, settings) only when it is
configured. Everything else is forwarded there on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.connector import ConnectorManifest

if TYPE_CHECKING:
    from connectors.slack.connector import SlackConnector

MANIFEST = ConnectorManifest(
    name="slack",
    target="connectors.slack.connector:SlackConnector",
    ecosystem_env={"SLACK_BOT_TOKEN": "bot_token", "SLACK_USER_TOKEN": "user_token"},
    settings="connectors.slack.settings:SlackSettings",
    requires=("slack_sdk", "aiohttp"),
    extra="slack",
)

__all__ = ["MANIFEST", "SlackConnector"]


def __getattr__(attr: str) -> Any:
    import importlib

    return getattr(importlib.import_module("connectors.slack.connector"), attr)

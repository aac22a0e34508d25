"""GitHub connector (PyGithub): repositories, issues, pull requests, reviews, Actions and code changes.

This module stays light: the hub reads `MANIFEST` at start-up and imports the
connector itself (`connector.py`: tools, models, settings) only when it is
configured. Everything else is forwarded there on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.connector import ConnectorManifest

if TYPE_CHECKING:
    from connectors.github.connector import GithubConnector

MANIFEST = ConnectorManifest(
    name="github",
    target="connectors.github.connector:GithubConnector",
    ecosystem_env={"GITHUB_TOKEN": "token", "GITHUB_API_URL": "base_url"},
    settings="connectors.github.settings:GithubSettings",
    requires=("github", "jwt"),
    extra="github",
)

__all__ = ["MANIFEST", "GithubConnector"]


def __getattr__(attr: str) -> Any:
    import importlib

    return getattr(importlib.import_module("connectors.github.connector"), attr)

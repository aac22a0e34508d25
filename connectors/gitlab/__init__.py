"""GitLab connector (python-gitlab) for gitlab.com and self-managed instances.

This module stays light: the hub reads `MANIFEST` at start-up and imports the
connector itself (`connector.py`: tools, models, settings) only when it is
configured. Everything else is forwarded there on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.connector import ConnectorManifest

if TYPE_CHECKING:
    from connectors.gitlab.connector import GitlabConnector

MANIFEST = ConnectorManifest(
    name="gitlab",
    target="connectors.gitlab.connector:GitlabConnector",
    ecosystem_env={"GITLAB_TOKEN": "token", "GITLAB_URL": "base_url"},
    settings="connectors.gitlab.settings:GitlabSettings",
    requires=("gitlab",),
    extra="gitlab",
)

__all__ = ["MANIFEST", "GitlabConnector"]


def __getattr__(attr: str) -> Any:
    import importlib

    return getattr(importlib.import_module("connectors.gitlab.connector"), attr)

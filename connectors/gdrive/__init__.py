"""Google Drive connector (google-api-python-client, run in worker threads).

This module stays light: the hub reads `MANIFEST` at start-up and imports the
connector itself (`connector.py`: tools, models, settings) only when it is
configured. Everything else is forwarded there on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.connector import ConnectorManifest

if TYPE_CHECKING:
    from connectors.gdrive.connector import GdriveConnector

MANIFEST = ConnectorManifest(
    name="gdrive",
    target="connectors.gdrive.connector:GdriveConnector",
    ecosystem_env={"GOOGLE_APPLICATION_CREDENTIALS": "credentials_path"},
    settings="connectors.gdrive.settings:GdriveSettings",
    requires=("googleapiclient", "google.auth", "google_auth_httplib2", "httplib2"),
    extra="gdrive",
)

__all__ = ["MANIFEST", "GdriveConnector"]


def __getattr__(attr: str) -> Any:
    import importlib

    return getattr(importlib.import_module("connectors.gdrive.connector"), attr)

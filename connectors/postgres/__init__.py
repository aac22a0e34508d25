"""PostgreSQL connector (psycopg 3 async + psycopg_pool).

This module stays light: the hub reads `MANIFEST` at start-up and imports the
connector itself (`connector.py`: tools, models, settings) only when it is
configured. Everything else is forwarded there on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_hub.connector import ConnectorManifest

if TYPE_CHECKING:
    from connectors.postgres.connector import PostgresConnector

MANIFEST = ConnectorManifest(
    name="postgres",
    target="connectors.postgres.connector:PostgresConnector",
    ecosystem_env={"DATABASE_URL": "dsn"},
    enabled_without_config=True,  # the embedded database
    settings="connectors.postgres.settings:PostgresSettings",
    requires=("psycopg", "psycopg_pool", "pglast"),
    extra="postgres",
)

__all__ = ["MANIFEST", "PostgresConnector"]


def __getattr__(attr: str) -> Any:
    import importlib

    return getattr(importlib.import_module("connectors.postgres.connector"), attr)

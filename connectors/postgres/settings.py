"""Settings of one PostgreSQL instance.

Imported when the hub reads its config, so it must stay cheap: no psycopg here.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.secret import Secret


class PostgresSettings(ConnectorSettings):
    dsn: Secret | None = Field(default=None, description="libpq URL or key=value DSN")
    statement_timeout_ms: int = Field(default=15000, ge=1, le=600_000, description="Per-statement time limit")
    max_rows: int = Field(default=500, ge=1, le=10_000, description="Most rows returned per query")
    max_cell_chars: int = Field(default=2000, ge=1, description="Longer text cells are truncated")
    pool_min_size: int = Field(default=0, ge=0, description="Connections kept open when idle")
    pool_max_size: int = Field(default=4, ge=1, description="Most concurrent connections")
    connect_timeout_s: float = Field(default=5, gt=0, le=300, description="Wait for a connection")
    allow_writes: bool = Field(default=False, description="Reserved: writes are not implemented yet")
    application_name: str = Field(default="mcp-hub", description="Shown in pg_stat_activity")

    @model_validator(mode="after")
    def _pool_bounds(self) -> PostgresSettings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        return self

    def missing(self) -> str | None:
        if self.dsn is None:
            return "no DSN: set DATABASE_URL or MCP_HUB_POSTGRES__DSN"
        return None

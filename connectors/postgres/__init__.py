"""PostgreSQL connector (psycopg 3 async + psycopg_pool).

Every query runs read-only as a guarantee: one statement, checked on its parse
tree, sent with the extended protocol inside a READ ONLY transaction that is
always rolled back, with a statement timeout, on a connection whose session
state is discarded before reuse. psycopg is imported on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, Field

from connectors.postgres.settings import PostgresSettings
from mcp_hub.connector import Connector, ToolOutput, tool
from mcp_hub.errors import UpstreamUnavailable
from mcp_hub.provenance import Provenance

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool


class QueryResult(BaseModel):
    """Rows of a query: column names once, rows as arrays."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="True when more rows existed than were returned.")


class PostgresConnector(Connector[PostgresSettings]):
    name: ClassVar[str] = "postgres"
    settings_model = PostgresSettings
    ecosystem_env: ClassVar[dict[str, str]] = {"DATABASE_URL": "dsn"}
    requires = ("psycopg", "psycopg_pool", "pglast")
    extra = "postgres"

    _pool: AsyncConnectionPool | None = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()

    async def pool(self) -> AsyncConnectionPool:
        """The instance's pool, opened on first use (not at start-up)."""
        if self._pool is None:
            from connectors.postgres.executor import open_pool

            self._pool = await open_pool(self.settings)
        return self._pool

    def _provenance(self, resource: str) -> Provenance:
        return Provenance(resource=f"postgres://{self.instance}/{resource}", visibility=self.settings.visibility)

    @tool(
        toolset="query",
        description=(
            "Run one read-only SQL statement (SELECT, WITH, VALUES, EXPLAIN, SHOW) and return rows. "
            "Use $1, $2… placeholders with params."
        ),
    )
    async def query(
        self,
        sql: Annotated[str, Field(description="One SQL statement.", max_length=100_000)],
        params: Annotated[
            list[str | int | float | bool | None] | None, Field(description="Values for $1, $2…", max_length=1000)
        ] = None,
        max_rows: Annotated[
            int | None, Field(description="Row cap (default: the instance's).", ge=1, le=10_000)
        ] = None,
    ) -> ToolOutput[QueryResult]:
        from connectors.postgres.executor import run_read_only

        settings = self.settings
        rows = await run_read_only(
            await self.pool(),
            sql,
            params,
            max_rows=min(max_rows or settings.max_rows, settings.max_rows),
            timeout_ms=settings.statement_timeout_ms,
            max_cell_chars=settings.max_cell_chars,
        )
        result = QueryResult(columns=rows.columns, rows=rows.rows, row_count=rows.row_count, truncated=rows.truncated)
        return ToolOutput(result, self._provenance("query"))

    async def diagnose(self) -> list[str]:
        from connectors.postgres.executor import describe_role

        try:
            role = await describe_role(await self.pool())
        except UpstreamUnavailable as exc:
            return [f"cannot connect: {exc.message}"]
        warnings = []
        if role.superuser:
            warnings.append(
                f"connected as superuser {role.name!r}: read-only checks still hold, but use a dedicated "
                "non-superuser role with SELECT grants only (defence in depth)."
            )
        return warnings

"""PostgreSQL connector (psycopg 3 async + psycopg_pool).

Every query runs read-only as a guarantee: one statement, checked on its parse
tree, sent with the extended protocol inside a READ ONLY transaction that is
always rolled back, with a statement timeout, on a connection whose session
state is discarded before reuse. Writes (`execute`) need writes allowed twice:
by the hub's policy and by the instance. psycopg is imported on first use;
without a DSN the instance starts an embedded PostgreSQL on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import anyio
from pydantic import Field

from connectors.postgres import MANIFEST
from connectors.postgres.masking import Masker
from connectors.postgres.models import (
    ColumnMatches,
    ExplainResult,
    More,
    QueryResult,
    SchemaList,
    TableDescription,
    TableList,
    WriteResult,
)
from connectors.postgres.settings import PostgresSettings
from connectors.postgres.tools import HealthTools
from mcp_hub.calls import current_caller
from mcp_hub.connector import Connector, ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import PolicyDenied, UpstreamUnavailable
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.provenance import Provenance

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from connectors.postgres.executor import QueryRows

__all__ = ["PostgresConnector", "QueryResult"]

Params = Annotated[
    list[str | int | float | bool | None] | None, Field(description="Values for $1, $2…", max_length=1000)
]
Sql = Annotated[str, Field(description="One SQL statement.", max_length=100_000)]
Schema = Annotated[str | None, Field(description="Schema (default: all, or public for a table)", max_length=200)]
_PAGE = 200


class PostgresConnector(HealthTools, Connector[PostgresSettings]):
    name: ClassVar[str] = "postgres"
    settings_model = PostgresSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    default_toolsets = frozenset({"query", "schema"})
    requires = ("psycopg", "psycopg_pool", "pglast")
    extra = "postgres"

    _pool: AsyncConnectionPool | None = None
    _masker: Masker | None = None
    _opening: anyio.Lock | None = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()

    async def pool(self) -> AsyncConnectionPool:
        """The instance's pool, opened on first use (not at start-up); the embedded database
        is started then too, when no DSN is configured."""
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = anyio.Lock()
        async with self._opening:
            if self._pool is None:
                from connectors.postgres.executor import open_pool

                dsn = None
                if self.settings.embedded:
                    from connectors.postgres.embedded import start_embedded

                    dsn = await start_embedded(self.settings.data_dir())
                self._pool = await open_pool(self.settings, dsn)
        return self._pool

    @property
    def masker(self) -> Masker:
        if self._masker is None:
            self._masker = Masker(self.settings.masked_columns)
        return self._masker

    def _provenance(self, resource: str) -> Provenance:
        return Provenance(resource=f"postgres://{self.instance}/{resource}", visibility=self.settings.visibility)

    def _writes_allowed(self, what: str) -> None:
        caller = current_caller()
        if not self.settings.allow_writes or caller is None or not caller.policy.allow_writes:
            raise PolicyDenied(
                f"{what} needs writes allowed, by the hub (hub.allow_writes) and by this instance "
                "(allow_writes in its [postgres] settings); ask the operator, or use a read-only statement."
            )

    # -- query ---------------------------------------------------------------------------------

    @tool(
        toolset="query",
        description=(
            "Run one read-only SQL statement (SELECT, WITH, VALUES, EXPLAIN, SHOW) and return rows. "
            "Use $1, $2… placeholders with params."
        ),
    )
    async def query(
        self,
        sql: Sql,
        params: Params = None,
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
            max_bytes=settings.max_result_bytes,
        )
        if self.masker:
            await self._mask(rows, sql)
        more = await self._more(rows, sql, params) if rows.truncated else None
        # Built without re-validating every cell: they are JSON-ready by construction (`rows`).
        result = QueryResult.model_construct(
            columns=rows.columns,
            rows=rows.rows,
            row_count=rows.row_count,
            truncated=rows.truncated,
            more=more,
            cut_cells=rows.cut_cells or None,
        )
        return ToolOutput(result, self._provenance("query"))

    async def _more(self, rows: QueryRows, sql: str, params: list[Any] | None) -> More:
        """What a truncated reply adds: the total where cheap, and how to page (`rest`)."""
        from connectors.postgres import guard, rest

        checked = guard.inspect(sql, guard.Mode.READ)
        reason = rows.reason or "max_rows"
        total, estimated = (None, False)
        if checked.kind == "SelectStmt":
            total, estimated = await rest.total_rows(await self.pool(), checked.statement, params)
        return More(
            reason=reason,
            bytes=rows.bytes,
            total_rows=total,
            estimated=estimated or None,
            next=rest.next_hint(checked.tree, rows.columns, rows.rows, reason),
        )

    async def _mask(self, rows: QueryRows, sql: str | None) -> None:
        """Mask configured columns in `rows`; `sql` (checked by the guard already) tells what it references."""
        from connectors.postgres import guard, masking
        from connectors.postgres.executor import run_script
        from connectors.postgres.wire import Command

        masker = self.masker
        unknown = masker.unknown_oids(rows.sources)
        if unknown:
            (resolved,) = await run_script(
                await self.pool(), [Command(masking.RESOLVE_SQL, [unknown])], timeout_ms=10_000
            )
            masker.learn(resolved.rows)
        referenced: frozenset[str] = frozenset()
        whole_rows = False
        if sql is not None:
            checked = guard.inspect(sql, guard.Mode.READ)
            referenced, whole_rows = checked.column_names, masking.reads_whole_rows(checked.tree)
        masking.apply(rows.rows, masker.masked_columns(rows.columns, rows.sources, referenced, whole_rows))

    @tool(
        toolset="query",
        description="Show the plan of one statement; analyze=true runs it (rolled back) for actual times and rows.",
    )
    async def explain(self, sql: Sql, params: Params = None, analyze: bool = False) -> ToolOutput[ExplainResult]:
        from connectors.postgres import explain, guard
        from connectors.postgres.executor import run_internal

        checked = guard.inspect(sql, guard.Mode.PLAN)
        writes = checked.kind != "SelectStmt"
        if analyze and writes:
            self._writes_allowed("EXPLAIN ANALYZE of a write (it runs the statement, then rolls it back)")
        rows = await run_internal(
            await self.pool(),
            explain.explain_statement(checked.statement, analyze=analyze),
            params,
            max_rows=1,
            timeout_ms=self.settings.statement_timeout_ms,
            max_cell_chars=10_000_000,
            read_only=not (analyze and writes),
        )
        result = explain.summarize(explain.parse_plan(rows.rows))
        return ToolOutput(result, self._provenance("explain"), text=explain.render_text(result))

    @tool(
        toolset="write",
        description="Run one writing SQL statement (INSERT, UPDATE, DELETE, DDL) and commit it.",
        read_only=False,
        destructive=True,
    )
    async def execute(self, sql: Sql, params: Params = None) -> ToolOutput[WriteResult]:
        from connectors.postgres import guard
        from connectors.postgres.executor import run_write

        self._writes_allowed("execute")
        checked = guard.inspect(sql, guard.Mode.WRITE)
        settings = self.settings
        rows = await run_write(
            await self.pool(),
            checked.statement,
            params,
            max_rows=settings.max_rows,
            timeout_ms=settings.statement_timeout_ms,
            max_cell_chars=settings.max_cell_chars,
            max_bytes=settings.max_result_bytes,
        )
        if self.masker and rows.columns:
            await self._mask(rows, None)
        result = WriteResult.model_construct(
            status=rows.status, affected=rows.affected, columns=rows.columns, rows=rows.rows, truncated=rows.truncated
        )
        return ToolOutput(result, self._provenance("execute"))

    # -- schema --------------------------------------------------------------------------------

    @tool(toolset="schema", description="List schemas with their owners and relation counts.")
    async def list_schemas(self) -> ToolOutput[SchemaList]:
        from connectors.postgres import schema

        return ToolOutput(await schema.list_schemas(await self.pool()), self._provenance("schemas"))

    @tool(toolset="schema", description="List tables, views and materialized views: row estimates, sizes, comments.")
    async def list_tables(
        self, schema: Schema = None, cursor: Annotated[str | None, Field(max_length=200)] = None
    ) -> ToolOutput[TableList]:
        from connectors.postgres import schema as catalog

        offset = int(decode_cursor(cursor).get("offset", 0))
        listed = await catalog.list_tables(await self.pool(), schema, offset, _PAGE)
        if listed.truncated:
            listed.next_cursor = encode_cursor({"offset": offset + _PAGE})
        return ToolOutput(listed, self._provenance(f"{schema or '*'}/tables"))

    @tool(
        toolset="schema",
        description="Describe a table: columns, types, defaults, keys (both directions), indexes, checks.",
    )
    async def describe_table(
        self, table: Annotated[str, Field(description="name or schema.name", max_length=200)], schema: Schema = None
    ) -> ToolOutput[TableDescription]:
        from connectors.postgres import schema as catalog

        nsp, name = catalog.split_name(table, schema)
        described = await catalog.describe_table(await self.pool(), nsp, name)
        return ToolOutput(described, self._provenance(f"{nsp}/{name}"), text=catalog.render_table(described))

    @tool(toolset="schema", description="Find columns whose name contains the text, across schemas.")
    async def search_columns(
        self, text: Annotated[str, Field(min_length=1, max_length=200)], schema: Schema = None
    ) -> ToolOutput[ColumnMatches]:
        from connectors.postgres import schema as catalog

        found = await catalog.search_columns(await self.pool(), text, schema, _PAGE)
        return ToolOutput(found, self._provenance("columns"))

    # -- resources -----------------------------------------------------------------------------

    @resource("postgres://{schema}/{table}", description="A table's description.", toolset="schema")
    async def table_schema(self, schema: str, table: str) -> ResourceOutput:
        from connectors.postgres import schema as catalog

        described = await catalog.describe_table(await self.pool(), schema, table)
        return ResourceOutput(catalog.render_table(described), self._provenance(f"{schema}/{table}"))

    @resource(
        "postgres://{schema}/{table}/sample{?rows}",
        description="A few rows of a table as JSON (masked columns shown as ***).",
        toolset="query",
        mime_type="application/json",
    )
    async def table_sample(self, schema: str, table: str, rows: str = "10") -> ResourceOutput:
        import json

        from connectors.postgres import sample

        limit = sample.row_cap(rows)
        result = await sample.fetch(await self.pool(), self.settings, schema, table, limit)
        if self.masker:
            await self._mask(result, None)
        body = {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        return ResourceOutput(text, self._provenance(f"{schema}/{table}/sample"), mime_type="application/json")

    # -- config check --------------------------------------------------------------------------

    async def diagnose(self) -> list[str]:
        from connectors.postgres.executor import describe_role

        if self.settings.embedded:
            return [f"no DSN: the embedded database in {self.settings.data_dir()} is used (started on first use)"]
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

    def _describe_instance(self) -> dict[str, Any]:
        return {"instance": self.instance, "embedded": self.settings.embedded}

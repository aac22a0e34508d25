"""PostgreSQL connector (psycopg 3 async + psycopg_pool).

Every query runs read-only as a guarantee: one statement, checked on its parse
tree, sent with the extended protocol inside a READ ONLY transaction that is
always rolled back, with a statement timeout, on a connection whose session
state is discarded before reuse. Writes (`execute`) need writes allowed twice:
by the hub's policy and by the instance. psycopg is imported on first use;
without a DSN the instance starts an embedded PostgreSQL on first use.
"""

from __future__ import annotations

import logging
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
    query_result,
)
from connectors.postgres.settings import PostgresSettings
from connectors.postgres.tools import HealthTools
from mcp_hub.calls import current_caller, lockdown_requested
from mcp_hub.connector import Connector, ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import HubError, PolicyDenied
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.provenance import Provenance

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

    from connectors.postgres.access import ReadAccess
    from connectors.postgres.executor import QueryRows
    from connectors.postgres.outsider import OutsiderRules

__all__ = ["PostgresConnector", "QueryResult"]

Params = Annotated[
    list[str | int | float | bool | None] | None, Field(description="Values for $1, $2…", max_length=1000)
]
Sql = Annotated[str, Field(description="One SQL statement.", max_length=100_000)]
Schema = Annotated[str | None, Field(description="Schema (default: all, or public for a table)", max_length=200)]
_PAGE = 200
log = logging.getLogger(__name__)


class PostgresConnector(HealthTools, Connector[PostgresSettings]):
    name: ClassVar[str] = "postgres"
    settings_model = PostgresSettings
    ecosystem_env: ClassVar[Mapping[str, str]] = MANIFEST.ecosystem_env
    default_toolsets = frozenset({"query", "schema"})
    requires = ("psycopg", "psycopg_pool", "pglast")
    extra = "postgres"

    _pool: AsyncConnectionPool | None = None
    _reads: ReadAccess | None = None
    _embedded_dsn: str | None = None
    _masker: Masker | None = None
    _outsider: OutsiderRules | None = None
    _opening: anyio.Lock | None = None

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        if self.settings.unsafe_login_role:
            log.warning(
                "postgres instance %r: unsafe_login_role is set, so model-written SQL runs on the configured "
                "login even if it is a superuser or may write: only the read-only transaction and the statement "
                "check stand between a query and server files, other sessions or committed writes. "
                "Run `mcp-hub postgres create-reader` or set read_dsn instead.",
                self.instance,
            )
        try:
            yield
        finally:
            if self._reads is not None:  # forgotten whole: it may hold the pool closed below
                reads, self._reads = self._reads, None
                await reads.close()
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

                    dsn = self._embedded_dsn = await start_embedded(self.settings.data_dir())
                self._pool = await open_pool(self.settings, dsn)
        return self._pool

    async def read_pool(self) -> AsyncConnectionPool:
        """The pool model-written SQL runs on: a login that may only read (see `access`).

        PolicyDenied, naming the fix, while the configured login is privileged and no reader exists.
        """
        reads = self._reads
        if reads is not None and reads.pool is not None:
            return reads.pool
        if reads is None:
            from connectors.postgres.access import ReadAccess

            reads = self._reads = ReadAccess(self.instance, self.settings)
        admin = await self.pool()
        embedded_reader = None
        if self._embedded_dsn is not None:
            from connectors.postgres.embedded import reader_dsn

            embedded_reader = reader_dsn(self._embedded_dsn)
        configured = self.settings.dsn.get_secret_value() if self.settings.dsn is not None else ""
        return await reads.resolve(admin, configured, embedded_reader)

    @property
    def masker(self) -> Masker:
        if self._masker is None:
            self._masker = Masker(self.settings.masked_columns)
        return self._masker

    @property
    def outsider(self) -> OutsiderRules:
        if self._outsider is None:
            from connectors.postgres.outsider import OutsiderRules  # imports psycopg: not at start-up

            self._outsider = OutsiderRules(self.settings.outsider)
        return self._outsider

    def _provenance(self, resource: str, outsider_text: bool = False) -> Provenance:
        return Provenance(
            resource=f"postgres://{self.instance}/{resource}",
            visibility=self.settings.visibility,
            outsider_text=outsider_text,
        )

    def _label_outsider(self, rows: QueryRows) -> bool:
        """Clean or withhold the cells of outsider-written tables (`outsider.py`); True when some remain."""
        if not self.outsider:
            return False
        return self.outsider.apply(rows, self.settings.lockdown or lockdown_requested()).outsider_text

    def _writes_on(self) -> bool:
        caller = current_caller()
        return self.settings.allow_writes and caller is not None and caller.policy.allow_writes

    def _writes_allowed(self, what: str) -> None:
        if not self._writes_on():
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
        pool = await self.read_pool()
        rows = await run_read_only(
            pool,
            sql,
            params,
            max_rows=min(max_rows or settings.max_rows, settings.max_rows),
            timeout_ms=settings.statement_timeout_ms,
            max_cell_chars=settings.max_cell_chars,
            outsider=bool(self.outsider),
            allowed_functions=settings.allowed_functions,
            max_bytes=settings.max_result_bytes,
        )
        if self.masker:
            await self._mask(pool, rows, sql)
        outsider_text = self._label_outsider(rows)
        more = await self._more(pool, rows, sql, params) if rows.truncated else None
        # Built without re-validating every cell: they are JSON-ready by construction (`rows`).
        result = query_result(rows.columns, rows.rows, rows.row_count, rows.truncated, more, rows.cut_cells or None)
        return ToolOutput(result, self._provenance("query", outsider_text))

    async def _more(self, pool: AsyncConnectionPool, rows: QueryRows, sql: str, params: list[Any] | None) -> More:
        """What a truncated reply adds: the total where cheap, and how to page (`rest`).

        The count runs the caller's statement again: on `pool`, the read pool it ran on (wall 1)."""
        from connectors.postgres import guard, rest

        checked = await self._inspect(sql, guard.Mode.READ)
        reason = rows.reason or "max_rows"
        total, estimated = (None, False)
        if checked.kind == "SelectStmt":
            total, estimated = await rest.total_rows(pool, checked.statement, params)
        return More(
            reason=reason,
            bytes=rows.bytes,
            total_rows=total,
            estimated=estimated or None,
            next=rest.next_hint(checked.tree, rows.columns, rows.rows, reason),
        )

    async def _mask(self, pool: AsyncConnectionPool, rows: QueryRows, sql: str | None) -> None:
        """Mask configured columns in `rows`; `sql` (checked by the guard already) tells what it references."""
        from connectors.postgres import guard, masking
        from connectors.postgres.executor import run_script
        from connectors.postgres.wire import Command

        masker = self.masker
        unknown = masker.unknown_oids(rows.sources)
        if unknown:
            (resolved,) = await run_script(pool, [Command(masking.RESOLVE_SQL, [unknown])], timeout_ms=10_000)
            masker.learn(resolved.rows)
        referenced: frozenset[str] = frozenset()
        whole_rows = False
        if sql is not None:
            checked = await self._inspect(sql, guard.Mode.READ)
            referenced, whole_rows = checked.column_names, masking.reads_whole_rows(checked.tree)
        masking.apply(rows.rows, masker.masked_columns(rows.columns, rows.sources, referenced, whole_rows))

    @tool(
        toolset="query",
        description="Show the plan of one statement; analyze=true runs it (rolled back) for actual times and rows.",
    )
    async def explain(self, sql: Sql, params: Params = None, analyze: bool = False) -> ToolOutput[ExplainResult]:
        from connectors.postgres import explain, guard
        from connectors.postgres.executor import run_internal

        checked = await self._inspect(sql, guard.Mode.PLAN)
        writes = checked.kind != "SelectStmt"
        if analyze and writes:
            self._writes_allowed("EXPLAIN ANALYZE of a write (it runs the statement, then rolls it back)")
        # A write is planned (and EXPLAIN ANALYZE runs it, rolled back) by the login that may write, only
        # when writes are allowed, as for `execute`; every other plan on the reader, which may only read.
        pool = await self.pool() if writes and self._writes_on() else await self.read_pool()
        rows = await run_internal(
            pool,
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
            outsider=bool(self.outsider),
            max_bytes=settings.max_result_bytes,
        )
        if self.masker and rows.columns:
            await self._mask(await self.pool(), rows, None)
        outsider_text = self._label_outsider(rows)
        result = WriteResult.model_construct(
            status=rows.status, affected=rows.affected, columns=rows.columns, rows=rows.rows, truncated=rows.truncated
        )
        return ToolOutput(result, self._provenance("execute", outsider_text))

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
        pool = await self.read_pool()
        result = await sample.fetch(pool, self.settings, schema, table, limit, outsider=bool(self.outsider))
        if self.masker:
            await self._mask(pool, result, None)
        outsider_text = self._label_outsider(result)
        body = {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        provenance = self._provenance(f"{schema}/{table}/sample", outsider_text)
        return ResourceOutput(text, provenance, mime_type="application/json")

    # -- config check --------------------------------------------------------------------------

    async def diagnose(self) -> list[str]:
        """Who runs what: the login of model-written SQL and of the rest, with what each can do (the
        audit's findings, never an assumption), and the fix when reads are off. No DSN, no password.

        Raises `HubError` naming the cause when the instance cannot work at all: the embedded server
        does not start, the database or role does not exist, authentication fails, nothing listens."""
        from connectors.postgres import embedded
        from connectors.postgres.pool import connect_failure

        settings = self.settings
        if settings.embedded:
            where = f"the embedded database in {settings.data_dir()}"
            try:
                pool = await self.pool()
                failure = await connect_failure(pool, only_failure=True)
                if failure is None:
                    await self.read_pool()
            except HubError as exc:
                raise type(exc)(f"{where} cannot be used: {exc.message}") from None
            if failure is not None:
                raise type(failure)(f"{where} cannot be used: {failure.message}")
            return [
                f"no DSN: {where} is used (started on first use); "
                f"model-written SQL runs as its reader {embedded.READER!r} (pg_read_all_data only), the rest as "
                f"{embedded.ROLE!r} (owner of database {embedded.DATABASE!r}, not superuser)"
            ]
        failure = await connect_failure(await self.pool(), only_failure=True)
        if failure is not None:
            raise failure
        lines = []
        if settings.unsafe_login_role:
            lines.append(
                "unsafe_login_role is set: model-written SQL runs on the configured login whatever it may do "
                "(see below); run `mcp-hub postgres create-reader` or set read_dsn instead"
            )
        try:
            await self.read_pool()
        except PolicyDenied as exc:
            lines.append(exc.message)
        except HubError as exc:
            raise type(exc)(f"model-written SQL cannot run: {exc.message}") from None
        reads = self._reads
        if reads is not None and reads.reader is not None:
            lines.append(
                f"model-written SQL (query, explain, index advice, samples) runs as {reads.source} "
                f"{reads.reader.describe()}"
            )
        admin = await reads.audit_admin(await self.pool()) if reads is not None else None
        if admin is not None:
            writes = "writes (allowed)" if settings.allow_writes else "writes (off)"
            lines.append(f"{writes}, monitoring and schema tools run as the configured login {admin.describe()}")
        return lines

    def _describe_instance(self) -> dict[str, Any]:
        return {"instance": self.instance, "embedded": self.settings.embedded}

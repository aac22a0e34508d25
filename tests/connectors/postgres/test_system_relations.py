"""System relations a read may name (`connectors.postgres.system_relations`): no password hashes,
credentials, server files or planner samples, whatever the spelling; and why the guard must hold it
(a `pg_read_all_data` reader reads them all, and planner samples escape column masking)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from psycopg import sql
from psycopg.conninfo import make_conninfo

from connectors.postgres import executor
from connectors.postgres.guard import check_read_only
from connectors.postgres.pool import Pool
from connectors.postgres.system_relations import ALLOWED, REFUSED
from mcp_hub.errors import PolicyDenied
from tests.connectors.postgres.conftest import HubFactory, hub_for
from tests.connectors.postgres.test_executor import pool_for
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio

REFUSED_SPELLINGS = [
    "SELECT rolname, rolpassword FROM pg_authid",
    "SELECT * FROM PG_CATALOG.PG_SHADOW",
    'SELECT * FROM "pg_catalog"."pg_authid"',
    'SELECT * FROM U&"pg_auth\\0069d"',
    "SELECT * FROM mydb.pg_catalog.pg_authid",
    "TABLE pg_statistic",
    "SELECT * FROM ONLY pg_subscription",
    "WITH x AS (SELECT * FROM pg_user_mapping) SELECT 1",
    "SELECT (SELECT rolpassword FROM pg_authid LIMIT 1)",
    "SELECT 1 WHERE EXISTS (SELECT FROM pg_stats)",
    "SELECT 1 FROM pg_class c JOIN LATERAL (SELECT * FROM pg_statistic s WHERE s.starelid = c.oid) x ON true",
    "SELECT * FROM pg_class WHERE oid IN (SELECT starelid FROM pg_catalog.pg_statistic_ext_data)",
    "EXPLAIN SELECT * FROM pg_authid",
    "SELECT * FROM pg_toast.pg_toast_1255",
    "SELECT * FROM pg_hba_file_rules",
    "SELECT query FROM pg_stat_activity",  # other callers' SQL: they share the reader's pooled sessions
    "SELECT statement FROM pg_prepared_statements",
    "SELECT query FROM pg_stat_get_activity(NULL)",
    "SELECT pg_stat_get_backend_activity(1)",
    "SELECT * FROM pg_prepared_statement()",
    "SELECT * FROM pg_catalog.pg_catalog_of_a_newer_server",  # not reviewed yet: refused
    "SELECT * FROM pg_notes",  # no schema and a catalog's prefix: taken for the catalog's
]
ALLOWED_READS = [
    "SELECT count(*) FROM pg_class",
    "SELECT table_name FROM information_schema.columns",
    "SELECT rolname FROM pg_catalog.pg_roles",
    "SELECT relname, seq_scan FROM pg_stat_user_tables",
    "SELECT * FROM public.pg_notes",  # a table of one's own, with its schema written
    "SELECT * FROM customers",
]


@pytest.mark.parametrize("statement", REFUSED_SPELLINGS)
def test_the_guard_refuses_secret_bearing_system_relations_however_spelt(statement: str) -> None:
    with pytest.raises(PolicyDenied, match="refused in read-only mode"):
        check_read_only(statement)


@pytest.mark.parametrize("statement", ALLOWED_READS)
def test_the_schema_describing_relations_stay_readable(statement: str) -> None:
    assert check_read_only(statement)


async def test_every_catalog_of_the_server_is_reviewed(pg_dsn: TestDatabase) -> None:
    """A catalog this server has that neither list names would be refused without a reason: list it."""
    async with await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn) as conn:
        cur = await conn.execute(
            "SELECT relname::text FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace"
            " AND relkind IN ('r', 'v', 'm', 'p', 'f')"
        )
        names = {row[0] for row in await cur.fetchall()}
    assert names - ALLOWED - set(REFUSED) == set()
    assert not ALLOWED & set(REFUSED)


@pytest.fixture
async def read_all_login(pg_dsn: TestDatabase) -> AsyncIterator[str]:
    """A login holding pg_read_all_data (what `mcp-hub postgres create-reader` grants by default)."""
    role, password = f"mcp_hub_all_{secrets.token_hex(4)}", secrets.token_hex(12)
    async with await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn, autocommit=True) as admin:
        await admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), password))
        await admin.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(sql.Identifier(role)))
        try:
            yield make_conninfo(pg_dsn.superuser_dsn, user=role, password=password)
        finally:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role])
            await admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def unguarded(pool: Pool, statement: str) -> list[list[Any]]:
    result = await executor.run_internal(pool, statement, None, max_rows=100, timeout_ms=5000, max_cell_chars=2000)
    return result.rows


async def test_a_read_all_reader_reaches_password_hashes_only_without_the_guard(
    pg_dsn: TestDatabase, read_all_login: str
) -> None:
    # Why the guard holds this wall: privileges cannot (pg_read_all_data passes every SELECT check).
    async with pool_for(read_all_login) as pool:
        rows = await unguarded(
            pool, "SELECT rolname, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = current_user"
        )
    assert rows and rows[0][1] is True
    hub = hub_for(pg_dsn.superuser_dsn, {"MCP_HUB_POSTGRES__READ_DSN": read_all_login})
    async with Client(hub) as client:
        for statement in ("SELECT rolname, rolpassword FROM pg_authid", "SELECT passwd FROM pg_shadow"):
            result = await client.call_tool("postgres_query", {"sql": statement})
            text = result.content[0].text  # type: ignore[union-attr]
            assert result.is_error and "password hashes" in text and "SCRAM" not in text
        listed = await client.call_tool("postgres_query", {"sql": "SELECT count(*) FROM pg_catalog.pg_class"})
        assert not listed.is_error
        # Another route to the same rows: the table sample resource names its table in the URI.
        with pytest.raises(MCPError, match="password hashes"):
            await client.read_resource("postgres://pg_catalog/pg_authid/sample?rows=1")
        with pytest.raises(MCPError, match="pg_toast schema"):
            await client.read_resource("postgres://pg_toast/pg_toast_1255/sample?rows=1")
        sample = await client.read_resource("postgres://pg_catalog/pg_class/sample?rows=1")
        assert sample.contents  # the control: an allowed catalog samples as before


async def test_planner_samples_do_not_carry_masked_values_out(shop_db: TestDatabase, shop_hub: HubFactory) -> None:
    """pg_stats shows sample values of a column (its histogram, its most common values) to whoever may read
    the column: around masking."""
    hub = shop_hub({"MCP_HUB_POSTGRES__MASKED_COLUMNS": "users.email"}, superuser=True)
    with psycopg.connect(shop_db.superuser_dsn, autocommit=True) as admin:
        admin.execute("ANALYZE users")
    async with pool_for(shop_db.reader_dsn) as pool:
        leaked = await unguarded(
            pool, "SELECT histogram_bounds::text FROM pg_stats WHERE tablename = 'users' AND attname = 'email'"
        )
    assert leaked and "@" in str(leaked)  # the path is real
    async with Client(hub) as client:
        result = await client.call_tool(
            "postgres_query",
            {"sql": "SELECT histogram_bounds::text FROM pg_stats WHERE tablename = 'users' AND attname = 'email'"},
        )
        masked_read = await client.call_tool("postgres_query", {"sql": "SELECT email FROM users WHERE id = 1"})
    assert result.is_error and "escape masking" in result.content[0].text  # type: ignore[union-attr]
    assert masked_read.structured_content is not None and masked_read.structured_content["rows"] == [["***"]]


async def test_config_check_says_a_read_all_reader_reaches_the_catalogs(
    pg_dsn: TestDatabase, read_all_login: str
) -> None:
    from connectors.postgres.logins import audit

    async with pool_for(read_all_login) as pool:
        report, _ = await audit(pool)
    async with pool_for(pg_dsn.reader_dsn) as pool:  # SELECT on chosen tables only
        narrow, _ = await audit(pool)
    assert report.safe and report.reads_all and "password hashes included" in report.describe()
    assert narrow.safe and not narrow.reads_all and "pg_read_all_data" not in narrow.describe()

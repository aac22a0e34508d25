"""The executor against a real PostgreSQL: escapes, limits, errors, cancellation, recovery.

Every escape runs as the superuser and as a plain reader role, and each test
checks that nothing happened: tables and rows intact, no file written, no large
object created, no session state (settings, advisory locks, LISTEN, prepared
statements) left on the pooled connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
import pytest

from connectors.postgres import executor, guard
from connectors.postgres.executor import Pool, QueryRows, describe_role, open_pool, run_read_only
from connectors.postgres.rows import ResultRows
from connectors.postgres.settings import PostgresSettings
from connectors.postgres.wire import UNLOCK, run_pipeline
from mcp_hub.errors import (
    AuthError,
    ConfigError,
    HubError,
    InvalidInput,
    PolicyDenied,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_hub.secret import Secret
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio

ROLES = ["superuser", "reader"]


@asynccontextmanager
async def pool_for(dsn: str, **settings: Any) -> AsyncIterator[Pool]:
    pool = await open_pool(PostgresSettings(dsn=Secret(dsn), **settings))
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture(params=ROLES)
async def pool(request: pytest.FixtureRequest, pg_dsn: TestDatabase) -> AsyncIterator[Pool]:
    """One connection, so every call reuses the connection the previous one left."""
    dsn = pg_dsn.superuser_dsn if request.param == "superuser" else pg_dsn.reader_dsn
    async with pool_for(dsn, pool_max_size=1, application_name=f"mcp-hub-test-{secrets.token_hex(4)}") as pool:
        yield pool


async def query(pool: Pool, sql: str, params: list[Any] | None = None, **limits: int) -> QueryRows:
    options = {"max_rows": 100, "timeout_ms": 5000, "max_cell_chars": 2000} | limits
    return await run_read_only(pool, sql, params, **options)


async def world(db: TestDatabase) -> dict[str, Any]:
    """What an escape would change, seen from an admin connection."""
    async with await psycopg.AsyncConnection.connect(db.superuser_dsn, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT (SELECT array_agg(relname::text ORDER BY relname) FROM pg_class"
            "        WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'),"
            " (SELECT count(*) FROM customers), (SELECT count(*) FROM orders),"
            " (SELECT string_agg(name, ',' ORDER BY id) FROM customers),"
            " (SELECT count(*) FROM pg_largeobject_metadata),"
            # This database's only: other suites (the webhook store's advisory locks) may share the server.
            " (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            "  WHERE l.locktype = 'advisory' AND d.datname = current_database()),"
            " (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database())"
        )
        row = await cur.fetchone()
    assert row is not None
    keys = ["tables", "customers", "orders", "names", "large_objects", "advisory_locks", "prepared_xacts"]
    return dict(zip(keys, row, strict=True))


async def session_state(pool: Pool) -> list[Any]:
    """Session state on the pooled connection, as the next caller would find it (the hub's own look: no guard,
    which refuses pg_prepared_statements and pg_cursors to callers)."""
    result = await executor.run_internal(
        pool,
        "SELECT current_setting('search_path'), current_setting('application_name') LIKE 'mcp-hub-test-%',"
        " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),"
        " (SELECT count(*) FROM pg_listening_channels()),"
        # The hub's own prepared statements (repeated texts, see `wire`) stay; nobody else's may.
        " (SELECT count(*) FROM pg_prepared_statements WHERE name NOT LIKE 'mcp\\_hub\\_%'),"
        " (SELECT count(*) FROM pg_cursors WHERE name NOT IN ('mcp_hub_rows', ''))",
        None,
        max_rows=1,
        timeout_ms=5000,
        max_cell_chars=2000,
    )
    return result.rows[0]


CLEAN_SESSION = ['"$user", public', True, 0, 0, 0, 0]

# Each {f} is replaced with a fresh path under /tmp that must not exist afterwards.
ESCAPES: list[tuple[str, type[HubError]]] = [
    ("COMMIT; DROP TABLE customers", InvalidInput),
    ("SELECT 1; DROP TABLE customers", InvalidInput),
    ("END; DROP TABLE customers", InvalidInput),
    ("ROLLBACK; DELETE FROM customers", InvalidInput),
    ("SET TRANSACTION READ WRITE; DELETE FROM customers", InvalidInput),
    ("COPY customers TO PROGRAM 'touch {f}'", InvalidInput),
    ("COPY (SELECT 1) TO '{f}'", InvalidInput),
    ("SELECT pg_read_file('/etc/passwd')", PolicyDenied),
    ("SELECT pg_catalog.pg_read_file('/etc/passwd')", PolicyDenied),
    ("SELECT \"pg_read_file\"('/etc/hostname')", PolicyDenied),
    ("SELECT lo_export(lo_from_bytea(0, 'x'), '{f}')", PolicyDenied),
    ("SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')", PolicyDenied),
    ("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", PolicyDenied),
    ("EXPLAIN ANALYZE DELETE FROM customers", InvalidInput),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE customers'; END $$", InvalidInput),
    ("SELECT set_config('search_path', 'evil', false)", PolicyDenied),
    ("SELECT pg_advisory_lock(42)", PolicyDenied),
    ("SELECT * FROM customers FOR UPDATE", PolicyDenied),
    ("SELECT * INTO stolen FROM customers", PolicyDenied),
    ("CREATE TABLE stolen (a int)", InvalidInput),
    ("PREPARE p AS DELETE FROM customers", InvalidInput),
    ("EXECUTE p", InvalidInput),
    ("CALL some_procedure()", InvalidInput),
    ("LISTEN evil", InvalidInput),
    ("LOCK TABLE customers", InvalidInput),
    ("SELECT dblink_exec('dbname=postgres', 'DROP TABLE customers')", PolicyDenied),
    ("SELECT (SELECT pg_read_file('/etc/passwd'))", PolicyDenied),
    ("SELECT * FROM customers WHERE name = (SELECT pg_ls_dir('.') LIMIT 1)", PolicyDenied),
    ("SELECT * FROM customers c, LATERAL (SELECT pg_read_file('/etc/passwd')) f", PolicyDenied),
    ("SELECT length(pg_read_binary_file('/etc/passwd'))", PolicyDenied),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", PolicyDenied),
]


def fresh_path() -> str:
    return f"/tmp/mcp_hub_escape_{secrets.token_hex(6)}"


@pytest.mark.parametrize(("template", "error"), ESCAPES, ids=[e[0][:50] for e in ESCAPES])
async def test_escape_is_refused_and_leaves_no_trace(
    pool: Pool, pg_dsn: TestDatabase, template: str, error: type[HubError]
) -> None:
    before, path = await world(pg_dsn), fresh_path()
    with pytest.raises(error):
        await query(pool, template.replace("{f}", path))
    assert await world(pg_dsn) == before
    assert not os.path.exists(path)
    assert await session_state(pool) == CLEAN_SESSION


# With the guard switched off, the database-side layers alone: extended protocol (one statement),
# the LIMIT wrapper (SELECT only), the READ ONLY transaction, ROLLBACK, the advisory-lock reset and privileges.
# `None` means the statement may run (or be refused), but must leave no trace.
UNGUARDED: list[tuple[str, type[HubError] | None]] = [
    ("COMMIT; DROP TABLE customers", InvalidInput),
    ("SELECT 1; DROP TABLE customers", InvalidInput),
    ("END; DROP TABLE customers", InvalidInput),
    ("SET TRANSACTION READ WRITE; DELETE FROM customers", InvalidInput),
    ("SHOW work_mem; DROP TABLE customers", InvalidInput),
    ("EXPLAIN SELECT 1; DROP TABLE customers", InvalidInput),
    ("COPY customers TO PROGRAM 'touch {f}'", InvalidInput),
    ("COPY (SELECT 1) TO '{f}'", InvalidInput),
    ("CREATE TABLE stolen (a int)", InvalidInput),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE customers'; END $$", InvalidInput),
    ("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", InvalidInput),
    ("EXPLAIN ANALYZE DELETE FROM customers", PolicyDenied),
    ("SELECT * FROM customers FOR UPDATE", PolicyDenied),
    # PostgreSQL's READ ONLY does not stop these two (a table, a large object): only ROLLBACK does.
    ("EXPLAIN ANALYZE SELECT * INTO stolen FROM customers", None),
    ("SELECT lo_from_bytea(0, 'x')", None),
    ("SELECT set_config('search_path', 'evil', false)", None),
    ("SELECT pg_advisory_lock(42)", None),
    ("SELECT pg_notify('evil', 'x')", None),
]


@pytest.mark.parametrize(("template", "error"), UNGUARDED, ids=[e[0][:50] for e in UNGUARDED])
async def test_without_the_guard_the_database_layers_still_hold(
    pool: Pool, pg_dsn: TestDatabase, monkeypatch: pytest.MonkeyPatch, template: str, error: type[HubError] | None
) -> None:
    monkeypatch.setattr(guard, "check_read_only", lambda sql, *_: sql)
    before, path = await world(pg_dsn), fresh_path()
    if error is None:
        with contextlib.suppress(HubError):
            await query(pool, template)
    else:
        with pytest.raises(HubError) as info:
            await query(pool, template.replace("{f}", path))
        # The reader may be stopped by a missing privilege first: that holds too.
        assert isinstance(info.value, error | AuthError), info.value
    assert await world(pg_dsn) == before
    assert not os.path.exists(path)
    assert await session_state(pool) == CLEAN_SESSION


# A plain role is the backstop for what only the guard stops for a superuser: effects outside the
# transaction (files, other sessions). As superuser these would succeed with the guard off.
BACKSTOP = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{f}')",
    "SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
    "SELECT pg_reload_conf()",
]


@pytest.mark.parametrize("template", BACKSTOP, ids=[b[:50] for b in BACKSTOP])
async def test_without_the_guard_a_plain_role_is_the_backstop(
    pg_dsn: TestDatabase, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    monkeypatch.setattr(guard, "check_read_only", lambda sql, *_: sql)
    before, path = await world(pg_dsn), fresh_path()
    async with pool_for(pg_dsn.reader_dsn) as pool:
        with pytest.raises(AuthError, match=r"permission denied|must be a superuser"):
            await query(pool, template.replace("{f}", path))
    assert await world(pg_dsn) == before
    assert not os.path.exists(path)


async def test_extended_protocol_refuses_a_second_statement(pg_dsn: TestDatabase) -> None:
    """The lowest layer, without the guard: the server itself refuses, with or without the LIMIT wrapper."""
    async with await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn, autocommit=True) as conn:
        for capped, message in ((True, 'syntax error at or near ";"'), (False, "cannot insert multiple commands")):
            with pytest.raises(psycopg.errors.SyntaxError, match=message):
                sink = ResultRows(10, 1 << 20, 1000)
                commands, _, _ = executor._read_commands(
                    "SELECT 1; SELECT 2", None, 10, 1000, capped, read_only=True, outsider=False, sink=sink
                )
                await run_pipeline(conn, commands, reset=UNLOCK)
            await conn.execute("ROLLBACK")
        # Why we need it: psycopg sends a query without parameters (even an empty list)
        # over the simple protocol, which runs every statement in the string.
        cur = await conn.execute("SELECT 1; SELECT 2", [])
        assert cur.nextset() and await cur.fetchall() == [(2,)]


async def test_select_rows_as_json(pool: Pool) -> None:
    result = await query(
        pool,
        "SELECT c.name, o.total, o.created_at, c.email FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE c.id = $1 ORDER BY o.id",
        [1],
    )
    assert result.columns == ["name", "total", "created_at", "email"]
    assert result.rows == [
        ["Ada Lovelace", "10.50", "2024-01-02T03:04:05+00:00", "ada@example.com"],
        ["Ada Lovelace", "99.99", "2024-02-01T00:00:00+00:00", "ada@example.com"],
    ]
    assert (result.row_count, result.truncated) == (2, False)
    assert result.elapsed_ms > 0


async def test_cell_conversions(pool: Pool) -> None:
    result = await query(
        pool,
        "SELECT 1::bigint, 1.5::float8, 'NaN'::float8, 12.30::numeric, true, NULL, 'a%b',"
        " '\\xdeadbeef'::bytea, '00000000-0000-0000-0000-000000000001'::uuid, '2024-01-02'::date,"
        " '12:34:56'::time, '1 day 2 hours'::interval, '{\"a\": [1, 2.5, null]}'::jsonb, ARRAY[1, 2],"
        " '10.0.0.1'::inet, int4range(1, 5)",
    )
    assert result.rows == [
        [1, 1.5, "NaN", "12.30", True, None, "a%b", "\\xdeadbeef", "00000000-0000-0000-0000-000000000001",
         "2024-01-02", "12:34:56", "1 day, 2:00:00", {"a": [1, 2.5, None]}, [1, 2], "10.0.0.1", "[1, 5)"],
    ]  # fmt: skip
    json.dumps(result.rows, allow_nan=False)


async def test_long_cells_are_truncated(pool: Pool) -> None:
    result = await query(
        pool,
        "SELECT repeat('x', 50), decode(repeat('ab', 50), 'hex'), jsonb_build_object('k', repeat('y', 40))",
        max_cell_chars=10,
    )
    assert result.rows == [
        ["xxxxxxxxxx…[truncated 40 chars]", "\\xabababab…[truncated 92 chars]", '{"k":"yyyy…[truncated 38 chars]'],
    ]


async def test_empty_result_keeps_its_columns(pool: Pool) -> None:
    result = await query(pool, "SELECT id, name FROM customers WHERE false")
    assert (result.columns, result.rows, result.row_count, result.truncated) == (["id", "name"], [], 0, False)


async def test_row_cap(pool: Pool) -> None:
    capped = await query(pool, "SELECT g FROM generate_series(1, 1000000) g", max_rows=5)
    assert (capped.rows, capped.row_count, capped.truncated) == ([[1], [2], [3], [4], [5]], 5, True)
    exact = await query(pool, "SELECT g FROM generate_series(1, 5) g", max_rows=5)
    assert (exact.row_count, exact.truncated) == (5, False)
    shown = await query(pool, "SHOW ALL", max_rows=3)
    assert (shown.columns, shown.row_count, shown.truncated) == (["name", "setting", "description"], 3, True)


async def test_explain_analyze_and_show(pool: Pool) -> None:
    plan = await query(pool, "EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM customers WHERE id = 1")
    assert plan.columns == ["QUERY PLAN"] and any("Execution Time" in row[0] for row in plan.rows)
    assert (await query(pool, "SHOW transaction_read_only")).rows == [["on"]]


async def test_statement_timeout(pool: Pool) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match="200 ms") as info:
        await query(pool, "SELECT pg_sleep(5)", timeout_ms=200)
    assert time.monotonic() - started < 2
    assert "WHERE" in str(info.value)  # says how to narrow it
    assert (await query(pool, "SELECT 1")).rows == [[1]]


async def test_syntax_error(pool: Pool) -> None:
    with pytest.raises(InvalidInput, match=r'syntax error at or near "FORM"'):
        await query(pool, "SELECT * FORM customers")


async def test_unknown_table_and_column(pool: Pool) -> None:
    with pytest.raises(InvalidInput, match=r'relation "nope" does not exist \(at character 15\)'):
        await query(pool, "SELECT * FROM nope")
    with pytest.raises(InvalidInput, match=r'column "nope" does not exist \(at character 8\)'):
        await query(pool, "SELECT nope FROM customers")


async def test_data_and_parameter_errors(pool: Pool) -> None:
    with pytest.raises(InvalidInput, match="division by zero"):
        await query(pool, "SELECT 1 / 0")
    with pytest.raises(InvalidInput, match="invalid input syntax for type integer"):
        await query(pool, "SELECT * FROM customers WHERE id = $1", ["one"])
    with pytest.raises(InvalidInput, match=r"supplies 0 parameters.*one value in params"):
        await query(pool, "SELECT $1::int")
    with pytest.raises(InvalidInput, match=r"operator does not exist.*Hint"):
        await query(pool, "SELECT * FROM customers WHERE name = 1")


async def test_reader_lacks_privileges(pg_dsn: TestDatabase) -> None:
    """Wall 1 alone (no guard: the guard refuses pg_authid too, see test_system_relations)."""
    async with pool_for(pg_dsn.reader_dsn) as pool:
        with pytest.raises(AuthError, match="permission denied"):
            await executor.run_internal(
                pool, "SELECT * FROM pg_authid", None, max_rows=10, timeout_ms=5000, max_cell_chars=2000
            )
        role = await describe_role(pool)
    assert (role.name, role.superuser, role.reads_server_files) == (pg_dsn.reader_role, False, False)


async def test_cancellation_stops_the_statement_in_the_database(pg_dsn: TestDatabase) -> None:
    app = f"mcp-hub-cancel-{secrets.token_hex(4)}"
    async with (
        pool_for(pg_dsn.superuser_dsn, pool_max_size=1, application_name=app) as pool,
        await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn, autocommit=True) as admin,
    ):

        async def sleeping() -> int:
            # The sleep runs in our FETCH, so look for any active statement of the pool's connection.
            cur = await admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'active'", [app]
            )
            row = await cur.fetchone()
            return int(row[0]) if row else 0

        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def call() -> None:
                with scope:
                    await query(pool, "SELECT pg_sleep(30)", timeout_ms=60_000)

            tg.start_soon(call)
            with anyio.fail_after(5):
                while not await sleeping():
                    await anyio.sleep(0.02)
            cancelled_at = time.monotonic()
            scope.cancel()
        assert scope.cancelled_caught
        with anyio.fail_after(1):
            while await sleeping():
                await anyio.sleep(0.02)
        assert time.monotonic() - cancelled_at < 1
        # The connection was rolled back and given back, not lost.
        assert (await query(pool, "SELECT 1")).rows == [[1]]
        assert pool.get_stats().get("returns_bad", 0) == 0


async def test_asyncio_cancellation_and_cancelling_a_wait_for_the_pool(pg_dsn: TestDatabase) -> None:
    """Plain asyncio cancellation (wait_for) works too, also while a call still waits for a connection."""
    async with pool_for(pg_dsn.superuser_dsn, pool_max_size=1) as pool:
        busy = asyncio.ensure_future(query(pool, "SELECT pg_sleep(30)", timeout_ms=60_000))
        await asyncio.sleep(0.2)  # `busy` holds the only connection
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(query(pool, "SELECT 1"), 0.2)  # cancelled inside getconn
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(busy), 0.1)
        busy.cancel()
        with pytest.raises(asyncio.CancelledError):
            await busy
        assert time.monotonic() - started < 1.5
        assert (await query(pool, "SELECT 1")).rows == [[1]]


async def test_pool_recovers_after_its_backend_is_terminated(pg_dsn: TestDatabase) -> None:
    app = f"mcp-hub-kill-{secrets.token_hex(4)}"
    async with (
        pool_for(pg_dsn.superuser_dsn, pool_max_size=2, application_name=app) as pool,
        await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn, autocommit=True) as admin,
    ):
        # Two connections in the pool, as after two concurrent calls.
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(query, pool, "SELECT pg_sleep(0.2)")
        killed = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [app]
        )
        assert len(await killed.fetchall()) == 2
        with anyio.fail_after(5):
            while (await (await admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app]
            )).fetchone() or [1])[0]:  # fmt: skip
                await anyio.sleep(0.02)
        assert (await query(pool, "SELECT count(*) FROM customers")).rows == [[3]]
        assert (await query(pool, "SELECT 2")).rows == [[2]]


async def test_unreachable_database_does_not_leak_the_dsn() -> None:
    password = "s3cr3t-Pa55word"
    dsn = f"postgresql://mcp_user:{password}@127.0.0.1:1/appdb?sslmode=disable"
    started = time.monotonic()
    async with pool_for(dsn, connect_timeout_s=0.5) as pool:
        with pytest.raises(UpstreamUnavailable) as info:
            await query(pool, "SELECT 1")
    assert time.monotonic() - started < 3
    message = str(info.value)
    assert "unreachable" in message and "host and port" in message
    for secret in (password, dsn, "mcp_user", "appdb"):
        assert secret not in message and secret not in repr(info.value)


async def test_malformed_dsn_does_not_leak_it() -> None:
    with pytest.raises(ConfigError) as info:
        await open_pool(PostgresSettings(dsn=Secret("host=db password=s3cr3t-Pa55word dbname")))
    assert "s3cr3t" not in str(info.value)


async def test_superuser_is_described(pg_dsn: TestDatabase) -> None:
    async with pool_for(pg_dsn.superuser_dsn) as pool:
        role = await describe_role(pool)
    assert role.superuser and role.reads_server_files and role.executes_server_programs

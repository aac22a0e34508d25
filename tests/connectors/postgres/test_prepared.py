"""Repeated statements are prepared on their connection, and that changes nothing a caller sees.

Against a real PostgreSQL: the second run of a text prepares it, a write's `DISCARD ALL` forgets
them, a table whose columns change under a prepared `SELECT *` is read again correctly, the per
connection cap deallocates the oldest, and the LIMIT wrapper keeps the statement's meaning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from connectors.postgres import wire
from connectors.postgres.executor import Pool, QueryRows, open_pool, run_read_only, run_write
from connectors.postgres.settings import PostgresSettings
from mcp_hub.secret import Secret
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio

HUB_STATEMENTS = "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'mcp\\_hub\\_%' ORDER BY name"


@pytest.fixture
async def pool(pg_dsn: TestDatabase) -> AsyncIterator[Pool]:
    """One connection, so every call sees what the previous one left."""
    pool = await open_pool(PostgresSettings(dsn=Secret(pg_dsn.superuser_dsn), pool_max_size=1))
    try:
        yield pool
    finally:
        await pool.close()


async def query(pool: Pool, sql: str, params: list[Any] | None = None, max_rows: int = 100) -> QueryRows:
    return await run_read_only(pool, sql, params, max_rows=max_rows, timeout_ms=5000, max_cell_chars=2000)


async def hub_statements(pool: Pool) -> list[str]:
    """The hub's own look (no guard: callers may not read pg_prepared_statements, other callers' SQL)."""
    from connectors.postgres.executor import run_internal

    found = await run_internal(pool, HUB_STATEMENTS, None, max_rows=100, timeout_ms=5000, max_cell_chars=2000)
    return [str(row[1]) for row in found.rows]


async def test_a_repeated_query_is_prepared_on_its_second_run(pool: Pool) -> None:
    point = "SELECT name FROM customers WHERE id = $1"
    assert not any("customers" in text for text in await hub_statements(pool))
    first = await query(pool, point, [1])
    assert not any("customers" in text for text in await hub_statements(pool))
    second = await query(pool, point, [2])
    prepared = await hub_statements(pool)
    assert [text for text in prepared if "FROM customers WHERE id = $1" in text] != []
    # The transaction around it too: BEGIN READ ONLY, ROLLBACK and the advisory-lock reset.
    assert {"BEGIN READ ONLY", "ROLLBACK", "SELECT pg_advisory_unlock_all()"} <= set(prepared)
    third = await query(pool, point, [1])
    assert first.rows == third.rows != second.rows
    assert first.sources == third.sources and first.sources[0][0] > 0  # still traced to its table (masking)


async def test_a_write_discards_every_prepared_statement(pool: Pool) -> None:
    for _ in range(3):
        await query(pool, "SELECT count(*) FROM orders")
    assert await hub_statements(pool)
    written = await run_write(
        pool, "UPDATE customers SET email = email WHERE id = 1", None, max_rows=10, timeout_ms=5000, max_cell_chars=100
    )
    assert written.affected == 1
    assert await hub_statements(pool) == []  # this read's own texts ran once since: not prepared yet
    assert (await query(pool, "SELECT count(*) FROM orders")).rows == (
        await query(pool, "SELECT count(*) FROM orders")
    ).rows


async def test_a_table_that_changes_shape_under_a_prepared_query_is_read_again(
    pool: Pool, pg_dsn: TestDatabase
) -> None:
    everything = "SELECT * FROM customers ORDER BY id"
    before = [await query(pool, everything) for _ in range(3)]
    assert before[0].columns == ["id", "name", "email"]
    with psycopg.connect(pg_dsn.superuser_dsn, autocommit=True) as admin:
        admin.execute("ALTER TABLE customers ADD COLUMN tier int NOT NULL DEFAULT 7")
    after = await query(pool, everything)  # the server refuses the old plan; the hub prepares anew
    assert after.columns == ["id", "name", "email", "tier"]
    assert [row[:3] for row in after.rows] == before[0].rows and {row[3] for row in after.rows} == {7}
    assert (await query(pool, everything)).columns == after.columns


async def test_each_connection_keeps_a_bounded_number_of_statements(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "_MAX_STATEMENTS", 6)
    for n in range(12):
        for _ in range(2):
            assert (await query(pool, f"SELECT {n} AS n")).rows == [[n]]
    prepared = await hub_statements(pool)
    assert 0 < len(prepared) <= 6
    assert any("SELECT 11 AS n" in text for text in prepared)
    assert not any("SELECT 0 AS n" in text for text in prepared)  # the oldest were deallocated


async def test_the_limit_wrapper_keeps_the_statements_meaning(pool: Pool) -> None:
    ordered = await query(pool, "SELECT id FROM customers ORDER BY id DESC", max_rows=2)
    everything = await query(pool, "SELECT id FROM customers ORDER BY id DESC")
    assert (
        ordered.rows == everything.rows[:2] and ordered.truncated and everything.rows == sorted(everything.rows)[::-1]
    )
    commented = await query(pool, "SELECT 1 AS one -- a trailing comment")
    assert commented.rows == [[1]]
    twins = await query(pool, "SELECT 1 AS a, 2 AS a")
    assert (twins.columns, twins.rows) == (["a", "a"], [[1, 2]])
    assert (await query(pool, "VALUES (1, 'x'), (2, 'y')", max_rows=1)).rows == [[1, "x"]]
    assert (
        await query(pool, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n", max_rows=3)
    ).rows == [[1], [2], [3]]
    assert (await query(pool, "TABLE customers", max_rows=1)).row_count == 1
    untyped = await query(pool, "SELECT 'text' AS t, NULL AS nothing")
    assert untyped.rows == [["text", None]]

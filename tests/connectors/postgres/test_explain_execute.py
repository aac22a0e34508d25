"""`explain` (with and without ANALYZE) and `execute` (writes), through the hub."""

from __future__ import annotations

import psycopg
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from tests.connectors.postgres.conftest import HubFactory, data
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio


def count(dsn: str, sql: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


async def test_explain_plan_is_compact_text(shop_hub: HubFactory) -> None:
    sql = "SELECT u.email, i.amount FROM users u JOIN billing.invoices i ON i.user_id = u.id WHERE i.amount > $1"
    async with Client(shop_hub()) as client:
        plain = await client.call_tool("postgres_explain", {"sql": sql, "params": [2990]})
        analyzed = await client.call_tool("postgres_explain", {"sql": sql, "params": [2990], "analyze": True})
    plan = data(plain)
    assert plan["total_cost"] > 0 and plan["plan_rows"] >= 1 and plan.get("execution_ms") is None
    assert "Hash Join" in plan["plan"] or "Nested Loop" in plan["plan"]
    assert "on invoices i" in plan["plan"] or "on billing.invoices i" in plan["plan"]
    assert plain.content[0].text.endswith(f"total cost {plan['total_cost']:g}, {plan['plan_rows']} rows estimated")
    actual = data(analyzed)
    assert actual["execution_ms"] is not None and "(actual " in actual["plan"] and "rows=10 loops=1" in actual["plan"]
    assert plain.meta["mcp_hub/provenance"]["resource"] == "postgres://default/explain"


@pytest.mark.parametrize(
    ("sql", "phrase"),
    [
        ("EXPLAIN SELECT 1", "without EXPLAIN"),
        ("DROP TABLE users", "no plan to explain"),
        ("SELECT 1; DROP TABLE users", "exactly one statement"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
        ("DELETE FROM users WHERE id = lo_unlink(1)", "lo_unlink"),
    ],
)
async def test_explain_refuses(shop_hub: HubFactory, sql: str, phrase: str) -> None:
    async with Client(shop_hub()) as client:
        result = await client.call_tool("postgres_explain", {"sql": sql})
    assert result.is_error and phrase in result.content[0].text


async def test_explain_analyze_of_a_write_needs_writes_and_rolls_back(
    shop_hub: HubFactory, shop_db: TestDatabase
) -> None:
    before = count(shop_db.superuser_dsn, "SELECT count(*) FROM events")
    sql = "DELETE FROM events WHERE id <= 100"
    async with Client(shop_hub(superuser=True)) as client:
        planned = await client.call_tool("postgres_explain", {"sql": sql})
        refused = await client.call_tool("postgres_explain", {"sql": sql, "analyze": True})
    async with Client(shop_hub({"MCP_HUB_POSTGRES__ALLOW_WRITES": "1"}, allow_writes=True, superuser=True)) as client:
        analyzed = await client.call_tool("postgres_explain", {"sql": sql, "analyze": True})
        planned_by_writer = await client.call_tool("postgres_explain", {"sql": sql})
    # Writes off: the plan is made by the reader login, which may not delete.
    assert planned.is_error and "permission denied for table events" in planned.content[0].text
    assert "Delete on events" in data(planned_by_writer)["plan"]
    assert refused.is_error and refused.meta["mcp_hub/error"] == "denied" and "allow_writes" in refused.content[0].text
    assert "rows=100 loops=1" in data(analyzed)["plan"]
    assert count(shop_db.superuser_dsn, "SELECT count(*) FROM events") == before  # rolled back


async def test_execute_is_hidden_until_writes_are_allowed(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as called:  # hidden: an unknown tool, JSON-RPC -32602
            await client.call_tool("postgres_execute", {"sql": "DELETE FROM events"})
    assert "postgres_execute" not in names
    assert called.value.code == INVALID_PARAMS
    async with Client(shop_hub(allow_writes=True)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "postgres_execute")
        off = await client.call_tool("postgres_execute", {"sql": "DELETE FROM events"})
    assert tool.annotations is not None and tool.annotations.destructive_hint is True
    assert off.is_error and off.meta["mcp_hub/error"] == "denied" and "allow_writes" in off.content[0].text


async def test_execute_commits_one_statement(shop_hub: HubFactory, shop_db: TestDatabase) -> None:
    hub = shop_hub(
        {"MCP_HUB_POSTGRES__ALLOW_WRITES": "1", "MCP_HUB_POSTGRES__STATEMENT_TIMEOUT_MS": "300"},
        allow_writes=True,
        superuser=True,
    )
    async with Client(hub) as client:
        inserted = await client.call_tool(
            "postgres_execute",
            {"sql": "INSERT INTO events (id, kind) VALUES ($1, $2), ($1 + 1, $2) RETURNING id", "params": [90001, "x"]},
        )
        updated = await client.call_tool("postgres_execute", {"sql": "UPDATE events SET kind = 'y' WHERE id > 90000"})
        escape = await client.call_tool("postgres_execute", {"sql": "COMMIT; DROP TABLE events"})
        begin = await client.call_tool("postgres_execute", {"sql": "BEGIN"})
        copy = await client.call_tool("postgres_execute", {"sql": "COPY events TO '/tmp/mcp_hub_events'"})
        reads = await client.call_tool("postgres_execute", {"sql": "SELECT pg_read_file('/etc/passwd')"})
        slow = await client.call_tool("postgres_execute", {"sql": "UPDATE events SET kind = kind || pg_sleep(1)::text"})
        failed = await client.call_tool("postgres_execute", {"sql": "INSERT INTO events (id) VALUES ('nope')"})
        deleted = await client.call_tool("postgres_execute", {"sql": "DELETE FROM events WHERE id > 90000"})
    assert data(inserted) == {
        "status": "INSERT 0 2", "affected": 2, "columns": ["id"], "rows": [[90001], [90002]], "truncated": False,
    }  # fmt: skip
    assert data(updated)["status"] == "UPDATE 2" and data(updated)["affected"] == 2
    assert escape.is_error and "exactly one statement" in escape.content[0].text
    assert begin.is_error and "transaction control" in begin.content[0].text
    assert copy.is_error and "COPY" in copy.content[0].text
    assert reads.is_error and reads.meta["mcp_hub/error"] == "denied"
    assert slow.is_error and slow.meta["mcp_hub/error"] == "timeout"
    assert failed.is_error and failed.meta["mcp_hub/error"] == "invalid_input"
    assert data(deleted)["affected"] == 2
    assert count(shop_db.superuser_dsn, "SELECT count(*) FROM events WHERE id > 90000") == 0
    assert count(shop_db.superuser_dsn, "SELECT count(*) FROM pg_tables WHERE tablename = 'events'") == 1

"""Health, top queries and index advice, against shop_db and a cluster with pg_stat_statements."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from mcp import Client

from tests.connectors.postgres.conftest import HubFactory, cluster_hub, data
from tests.pg import Cluster, TestDatabase

pytestmark = pytest.mark.anyio


async def test_health_as_a_plain_reader(shop_hub: HubFactory, shop_db: TestDatabase) -> None:
    with psycopg.connect(shop_db.superuser_dsn) as conn:  # dead rows in events, seen by the statistics
        conn.execute("UPDATE events SET kind = kind WHERE id <= 2500")
        conn.commit()
        conn.execute("SELECT pg_stat_force_next_flush()")
        conn.commit()
    async with Client(shop_hub()) as client:
        report = data(await client.call_tool("postgres_health", {}))
        only_cache = data(await client.call_tool("postgres_health", {"check": "cache"}))
        bad = await client.call_tool("postgres_health", {"check": "everything"})
    assert report["max_connections"] > 0 and sum(report["connections"].values()) >= 1
    assert 0 <= report["cache_hit_ratio"]["tables"] <= 1
    assert {"sequence": "public.ticket_seq", "last_value": 90, "limit": 100, "used": 0.9} in report["sequences"]
    assert ["billing.invoices_user_dup_idx", "billing.invoices_user_idx"] in report["duplicate_indexes"]
    assert "billing.invoices_issued_idx" in {i["index"] for i in report["unused_indexes"]}
    events = next(t for t in report["maintenance"] if t["table"] == "public.events")
    assert events["dead_rows"] >= 2500 and events["dead_ratio"] >= 0.3
    assert any("pg_monitor" in note for note in report["notes"])  # the reader cannot see other sessions
    assert {k for k, v in only_cache.items() if v is not None} <= {"cache_hit_ratio", "notes"}
    assert only_cache["cache_hit_ratio"]
    assert bad.is_error


async def test_long_running_and_blocked_queries(shop_hub: HubFactory, shop_db: TestDatabase) -> None:
    holder = await psycopg.AsyncConnection.connect(shop_db.superuser_dsn)
    waiter = await psycopg.AsyncConnection.connect(shop_db.superuser_dsn, autocommit=True)
    holder_pid, waiter_pid = holder.info.backend_pid, waiter.info.backend_pid
    try:
        await holder.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
        blocked = asyncio.ensure_future(waiter.execute("SELECT count(*) FROM customers"))
        await asyncio.sleep(0.3)
        async with Client(shop_hub(superuser=True)) as client:
            report = data(await client.call_tool("postgres_health", {"check": "queries", "slow_s": 0.1}))
    finally:
        await holder.rollback()
        await blocked
        await holder.close()
        await waiter.close()
    stuck = next(s for s in report["blocked"] if s["pid"] == waiter_pid)
    assert stuck["blocked_by"] == [holder_pid] and "count(*) FROM customers" in stuck["query"]
    long_running = {s["pid"]: s for s in report["long_running"]}
    assert long_running[holder_pid]["state"] == "idle in transaction" and long_running[waiter_pid]["seconds"] >= 0.1


async def test_top_queries_says_how_to_enable_pg_stat_statements(shop_hub: HubFactory) -> None:
    async with Client(shop_hub()) as client:
        top = data(await client.call_tool("postgres_top_queries", {}))
        advice = await client.call_tool("postgres_advise_indexes", {})
    assert top == {"available": False, "queries": [], "note": top["note"]}
    assert "shared_preload_libraries" in top["note"] and "CREATE EXTENSION pg_stat_statements" in top["note"]
    assert advice.is_error and "pg_stat_statements" in advice.content[0].text


async def test_top_queries_from_pg_stat_statements(pg_cluster: Cluster, pg_cluster_reader: str) -> None:
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'pg_%'")
    async with Client(cluster_hub(pg_cluster, pg_cluster_reader)) as client:
        for _ in range(4):
            await client.call_tool("postgres_query", {"sql": "SELECT count(*) AS hub_counted FROM pg_namespace"})
        top = data(await client.call_tool("postgres_top_queries", {"order_by": "calls", "limit": 50}))
    assert top["available"] is True
    counted = next(q for q in top["queries"] if "FROM pg_class WHERE relname LIKE" in q["query"])
    assert counted["calls"] == 3 and counted["total_ms"] >= counted["mean_ms"] > 0
    # The hub's own queries show as the client wrote them; its transaction and reset not at all.
    ours = next(q for q in top["queries"] if "hub_counted" in q["query"])
    assert ours["query"] == "SELECT count(*) AS hub_counted FROM pg_namespace" and ours["calls"] == 4
    assert not any(q["query"].startswith(("BEGIN", "DISCARD", "ROLLBACK")) for q in top["queries"])
    assert not any("mcp_hub_rows" in q["query"] or "advisory" in q["query"] for q in top["queries"])


async def test_index_advice_without_hypopg(shop_hub: HubFactory) -> None:
    sql = "SELECT * FROM billing.invoices i JOIN users u ON u.id = i.user_id WHERE i.amount = $1 ORDER BY u.age"
    async with Client(shop_hub()) as client:
        advice = data(await client.call_tool("postgres_advise_indexes", {"sql": sql, "params": [5]}))
        write = await client.call_tool("postgres_advise_indexes", {"sql": "DELETE FROM users"})
    assert advice["hypopg"] is False and "hypopg" in advice["notes"][0]
    (statement,) = advice["statements"]
    assert statement["cost_before"] > 0
    indexes = [c["index"] for c in statement["candidates"]]
    assert 'CREATE INDEX ON "billing"."invoices" ("amount")' in indexes
    assert 'CREATE INDEX ON "public"."users" ("age")' in indexes
    assert not any('("user_id")' in i or '"users" ("id")' in i for i in indexes)  # already lead an index
    assert all(c.get("cost_after") is None for c in statement["candidates"])
    assert write.is_error


async def test_index_advice_with_hypopg_when_installed(pg_cluster: Cluster, pg_cluster_reader: str) -> None:
    """With hypopg on the server: costs before and after. Without it (CI without the package): the note."""
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as conn:
        available = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'").fetchone()
        if available and available[0]:
            conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS readings AS SELECT g AS id, g % 1000 AS sensor, g * 0.5 AS value "
            "FROM generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE readings")
    # hypopg() lists this session's hypothetical indexes: the operator allows it so the check below can run
    env = {"MCP_HUB_POSTGRES__ALLOWED_FUNCTIONS": "public.hypopg"}
    async with Client(cluster_hub(pg_cluster, pg_cluster_reader, env)) as client:
        advice = data(
            await client.call_tool("postgres_advise_indexes", {"sql": "SELECT * FROM readings WHERE sensor = 42"})
        )
        hypothetical = "SELECT count(*) FROM hypopg()" if available and available[0] else "SELECT 0"
        leftover = data(await client.call_tool("postgres_query", {"sql": hypothetical}))
    (statement,) = advice["statements"]
    (candidate,) = statement["candidates"]
    assert candidate["index"] == 'CREATE INDEX ON "public"."readings" ("sensor")'
    if available and available[0]:
        assert advice["hypopg"] is True and advice["notes"] == []
        assert candidate["used"] is True and candidate["cost_after"] < statement["cost_before"] / 2
    else:
        assert advice["hypopg"] is False and "apt install postgresql-<version>-hypopg" in advice["notes"][0]
    assert leftover["rows"] == [[0]]  # hypothetical indexes never outlive the advice (its connection is closed)

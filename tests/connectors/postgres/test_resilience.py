"""Restarts, outages, pool exhaustion and TLS settings: a clear tool error, and the next call works.

Restarts happen on the tests' own throwaway cluster (pg_cluster), never on the shared server.
"""

from __future__ import annotations

import time

import anyio
import psycopg
import pytest
from mcp import Client

from connectors.postgres.pool import conninfo_for
from connectors.postgres.settings import PostgresSettings
from mcp_hub.secret import Secret
from tests.connectors.postgres.conftest import HubFactory, cluster_hub, data, hub_for
from tests.pg import Cluster

pytestmark = pytest.mark.anyio

SQL = {"sql": "SELECT count(*) FROM pg_class WHERE relname = 'pg_class'"}


async def test_restart_mid_session_is_invisible(pg_cluster: Cluster, pg_cluster_reader: str) -> None:
    async with Client(cluster_hub(pg_cluster, pg_cluster_reader, {"MCP_HUB_POSTGRES__POOL_MIN_SIZE": "2"})) as client:
        assert data(await client.call_tool("postgres_query", SQL))["rows"] == [[1]]
        pg_cluster.restart("fast")  # every pooled connection is now dead
        after = await client.call_tool("postgres_query", SQL)
        described = await client.call_tool("postgres_list_schemas", {})
    assert data(after)["rows"] == [[1]]  # retried once on a fresh connection
    assert not described.is_error


async def test_outage_is_a_clear_error_then_the_next_call_works(pg_cluster: Cluster, pg_cluster_reader: str) -> None:
    env = {"MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S": "0.5"}
    async with Client(cluster_hub(pg_cluster, pg_cluster_reader, env)) as client:
        assert not (await client.call_tool("postgres_query", SQL)).is_error
        pg_cluster.stop("immediate")
        try:
            started = time.monotonic()
            down = await client.call_tool("postgres_query", SQL)
            elapsed = time.monotonic() - started
        finally:
            pg_cluster.start()
        back = await client.call_tool("postgres_query", SQL)
    assert down.is_error and down.meta["mcp_hub/error"] == "unavailable"
    assert "unreachable" in down.content[0].text and elapsed < 5
    assert data(back)["rows"] == [[1]]


async def test_pool_exhaustion_is_a_clear_error(shop_hub: HubFactory) -> None:
    env = {"MCP_HUB_POSTGRES__POOL_MAX_SIZE": "1", "MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S": "0.3"}
    async with Client(shop_hub(env)) as client:
        results = {}

        async def slow() -> None:
            results["slow"] = await client.call_tool("postgres_query", {"sql": "SELECT pg_sleep(0.8)"})

        async with anyio.create_task_group() as tg:
            tg.start_soon(slow)
            await anyio.sleep(0.3)
            busy = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
        after = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert busy.is_error and busy.meta["mcp_hub/error"] == "unavailable"
    assert "all 1 database connections" in busy.content[0].text and "pool_max_size" in busy.content[0].text
    assert not results["slow"].is_error and data(after)["rows"] == [[1]]


async def test_tls_required_by_a_server_without_it(pg_cluster: Cluster) -> None:
    dsn = pg_cluster.dsn + " password=tls-secret-Pa55"
    async with Client(
        hub_for(dsn, {"MCP_HUB_POSTGRES__SSLMODE": "require", "MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S": "0.5"})
    ) as client:
        result = await client.call_tool("postgres_query", SQL)
    assert result.is_error and result.meta["mcp_hub/error"] == "unavailable"
    assert "tls-secret" not in result.content[0].text


def test_tls_settings_reach_libpq() -> None:
    base = PostgresSettings(dsn=Secret("postgresql://u@db.internal/app?sslmode=prefer"), statement_timeout_ms=2500)
    plain = psycopg.conninfo.conninfo_to_dict(conninfo_for(base, base.dsn.get_secret_value()))  # type: ignore[union-attr]
    assert plain == {
        "user": "u",
        "dbname": "app",
        "host": "db.internal",
        "sslmode": "prefer",
        "options": "-c statement_timeout=2500",
    }
    kept = conninfo_for(base, "host=db.internal options='-c search_path=app'")  # the DSN's own options stay
    assert psycopg.conninfo.conninfo_to_dict(kept)["options"] == "-c search_path=app -c statement_timeout=2500"
    bundle = PostgresSettings(sslmode="verify-full", ca_bundle="/etc/ssl/corp-ca.pem")
    mapped = conninfo_for(bundle, "postgresql://u@db.internal/app?sslmode=prefer")
    assert "sslmode=verify-full" in mapped and "sslrootcert=/etc/ssl/corp-ca.pem" in mapped
    with pytest.raises(ValueError, match="ca_bundle or sslrootcert"):
        PostgresSettings(ca_bundle="/a.pem", sslrootcert="/b.pem")

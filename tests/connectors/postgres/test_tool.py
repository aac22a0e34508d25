"""`postgres_query` end to end through an MCP client, against the real database."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import psycopg
import pytest
from mcp import Client, StdioServerParameters

from connectors.postgres import PostgresConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.cli.test_transports import HUB, hub_env

pytestmark = pytest.mark.anyio


@pytest.fixture
def make_hub(pg_dsn: Any) -> Callable[..., HubServer]:
    def make(env: dict[str, str] | None = None) -> HubServer:
        registry = Registry([PostgresConnector])
        config = load_config(
            env={"DATABASE_URL": pg_dsn.reader_dsn} | (env or {}), ecosystem_env=registry.ecosystem_env()
        )
        return build_server(config, registry=registry, caller=Caller("local", "memory", hub_policy(config)))

    return make


async def test_query_rows_compact_with_provenance(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub()) as client:
        result = await client.call_tool(
            "postgres_query",
            {"sql": "SELECT id, name, email FROM customers WHERE id <= $1 ORDER BY id", "params": [2]},
        )
    assert not result.is_error, result.content
    assert result.structured_content == {
        "columns": ["id", "name", "email"],
        "rows": [[1, "Ada Lovelace", "ada@example.com"], [2, "Alan Turing", "alan@example.com"]],
        "row_count": 2,
        "truncated": False,
        "more": None,
        "cut_cells": None,
    }
    assert result.content[0].text.startswith(
        '{"columns":["id","name","email"],"row_count":2,"truncated":false,"rows":[[1,"Ada Lovelace"'
    )
    meta = result.meta["mcp_hub/provenance"]
    assert meta == {
        "connector": "postgres",
        "instance": "default",
        "resource": "postgres://default/query",
        "visibility": "private",
        "outsider_text": False,
    }


async def test_row_cap_and_truncated_flag(make_hub: Callable[..., HubServer]) -> None:
    async with Client(make_hub({"MCP_HUB_POSTGRES__MAX_ROWS": "5"})) as client:
        capped = await client.call_tool("postgres_query", {"sql": "SELECT g FROM generate_series(1, 1000) g"})
        asked = await client.call_tool(
            "postgres_query", {"sql": "SELECT g FROM generate_series(1, 3) g", "max_rows": 2}
        )
        beyond_cap = await client.call_tool("postgres_query", {"sql": "SELECT 1", "max_rows": 100_000})
    assert capped.structured_content["rows"] == [[1], [2], [3], [4], [5]] and capped.structured_content["truncated"]
    assert asked.structured_content["row_count"] == 2 and asked.structured_content["truncated"]
    assert beyond_cap.is_error and "max_rows" in beyond_cap.content[0].text


@pytest.mark.parametrize(
    ("sql", "kind", "phrase"),
    [
        ("COMMIT; DROP TABLE customers", "invalid_input", "one statement"),
        ("DELETE FROM customers", "invalid_input", ""),
        ("SELECT pg_read_file('/etc/passwd')", "denied", "read-only"),
        ("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", "denied", ""),
        ("SELEC 1", "invalid_input", "syntax"),
        ("SELECT * FROM no_such_table", "invalid_input", "no_such_table"),
        ("SELECT pg_sleep(3)", "timeout", "statement_timeout"),
    ],
)
async def test_errors_are_actionable(
    make_hub: Callable[..., HubServer], pg_dsn: Any, sql: str, kind: str, phrase: str
) -> None:
    async with Client(make_hub({"MCP_HUB_POSTGRES__STATEMENT_TIMEOUT_MS": "300"})) as client:
        result = await client.call_tool("postgres_query", {"sql": sql})
        after = await client.call_tool("postgres_query", {"sql": "SELECT count(*) FROM customers"})
    assert result.is_error and result.meta["mcp_hub/error"] == kind, result.content
    assert phrase.lower() in result.content[0].text.lower()
    assert after.structured_content["rows"] == [[3]]  # nothing lost, still serving


async def test_unreachable_database_is_an_error_without_the_password(pg_dsn: Any) -> None:
    registry = Registry([PostgresConnector])
    dsn = "postgresql://reader:pa55-w0rd-secret@127.0.0.1:1/app?connect_timeout=2"
    config = load_config(
        env={"DATABASE_URL": dsn, "MCP_HUB_POSTGRES__CONNECT_TIMEOUT_S": "1"}, ecosystem_env=registry.ecosystem_env()
    )
    server = build_server(config, registry=registry)
    async with Client(server) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "unavailable"
    assert "pa55-w0rd-secret" not in result.content[0].text


async def test_several_instances_share_one_tool(make_hub: Callable[..., HubServer], pg_dsn: Any) -> None:
    env = {
        "MCP_HUB_POSTGRES__INSTANCES__ADMIN__DSN": pg_dsn.superuser_dsn,
        "MCP_HUB_POSTGRES__INSTANCES__ADMIN__VISIBILITY": "internal",
    }
    async with Client(make_hub(env)) as client:
        tools = [t for t in (await client.list_tools()).tools if t.name == "postgres_query"]
        as_reader = await client.call_tool("postgres_query", {"sql": "SELECT current_user"})
        as_admin = await client.call_tool("postgres_query", {"sql": "SELECT current_user", "instance": "admin"})
        schemas = await client.call_tool("postgres_list_schemas", {"instance": "admin"})
    assert tools[0].input_schema["properties"]["instance"]["enum"] == ["admin", "default"]
    assert as_reader.structured_content["rows"] == [[pg_dsn.reader_role]]
    # A superuser login runs no model-written SQL (wall 1): the fix names the instance.
    assert as_admin.is_error and "mcp-hub postgres create-reader --instance admin" in as_admin.content[0].text
    assert not schemas.is_error and schemas.meta["mcp_hub/provenance"]["instance"] == "admin"
    as_admin = schemas
    assert as_admin.meta["mcp_hub/provenance"]["visibility"] == "internal"


def _sleeping_backends(admin_dsn: str) -> int:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mcp-hub' AND query LIKE '%pg_sleep(30)%'"
            " AND state = 'active'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_mcp_cancellation_cancels_the_query_in_the_database(pg_dsn: Any) -> None:
    params = StdioServerParameters(command=HUB, args=["serve"], env=hub_env(pg_dsn.reader_dsn))
    async with Client(params) as client:
        with anyio.move_on_after(1.0) as scope:
            await client.call_tool("postgres_query", {"sql": "SELECT pg_sleep(30) AS slept"})
        assert scope.cancelled_caught
        deadline = time.monotonic() + 5
        while _sleeping_backends(pg_dsn.superuser_dsn) and time.monotonic() < deadline:
            await anyio.sleep(0.1)
        assert _sleeping_backends(pg_dsn.superuser_dsn) == 0
        after = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert after.structured_content["rows"] == [[1]]

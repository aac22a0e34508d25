"""A point SELECT through the hub's `postgres_query` against a bare MCPServer calling psycopg directly.

Both servers expose a `postgres_query(sql, params, max_rows)` tool with the
same typed output (columns, rows, row_count, truncated). The bare one runs the
statement on one open psycopg connection (autocommit, psycopg's defaults, which
prepare a query server-side from its fifth run), with no guard, no transaction,
no timeout, no row cap, no provenance and no audit: the floor.
Calls are interleaved in batches over the same transport: the in-memory
`Client(server)`, then stdio subprocesses (`mcp-hub serve` against this file's
`--serve-bare`). Two cases: a point query by primary key, and all 10,000 rows
of the table (4 columns) in one call, end to end through the SDK client, which
checks each result against the tool's published output schema. For the second
the hub is configured with `max_rows = 10000` and `max_result_bytes = 4 MiB`
(`HUB_ENV`, printed at the start); the bare tool is asked for `max_rows` 10000.
Also times one `LIMIT 1000` query and counts its result in DeepSeek tokens
against the same rows as raw JSON objects.

A scratch database `mcp_hub_bench_<random>` with 10,000 rows is created on the
server at --dsn (a role that may CREATE DATABASE) and dropped afterwards.

    python bench/roundtrip.py [--calls 500] [--dsn "host=127.0.0.1 user=postgres dbname=postgres"] [--no-stdio]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import psycopg
from mcp import Client, StdioServerParameters
from psycopg import sql

from connectors.postgres import QueryResult

HERE = Path(__file__).resolve()
HUB = str(Path(sys.executable).with_name("mcp-hub"))
POINT = "SELECT id, name, email, created_at FROM people WHERE id = $1"
WIDE = "SELECT id, name, email, created_at FROM people ORDER BY id LIMIT 1000"
LARGE = "SELECT id, name, email, created_at FROM people ORDER BY id"
#: What the hub is configured with for this run (the 10,000-row case needs the row cap raised to its
#: ceiling, and a byte budget that holds 10,000 such rows, ~0.8 MB as JSON).
HUB_ENV = {"MCP_HUB_POSTGRES__MAX_ROWS": "10000", "MCP_HUB_POSTGRES__MAX_RESULT_BYTES": str(4 * 1024 * 1024)}
SETUP = """
CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, email text, created_at timestamptz NOT NULL);
INSERT INTO people
SELECT g, 'person ' || g, 'p' || g || '@example.com', '2024-01-01'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 10000) g;
ANALYZE people;
"""


#: The hub's `read_dsn`: a login of the scratch database that may only read (wall 1: model-written SQL
#: never runs on the superuser's login). Filled by `scratch_database`.
READER: dict[str, str] = {}


# ---- the bare server ----------------------------------------------------------------------------


def bare_server(dsn: str) -> Any:
    """A bare MCPServer whose tool calls psycopg directly and returns the hub's output type."""
    from mcp.server.mcpserver import MCPServer

    state: dict[str, psycopg.AsyncConnection[Any]] = {}
    server = MCPServer("bare")

    def cell(value: Any) -> Any:
        return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)

    @server.tool(description="Run one SQL statement and return rows.")
    async def postgres_query(sql: str, params: list[Any] | None = None, max_rows: int | None = None) -> QueryResult:
        conn = state.get("conn")
        if conn is None:
            conn = state["conn"] = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        cur = await conn.execute(sql.replace("$1", "%s"), params)
        limit = max_rows or 500
        rows = await cur.fetchmany(limit + 1)
        columns = [c.name for c in cur.description or ()]
        data = [[cell(v) for v in row] for row in rows[:limit]]
        return QueryResult(columns=columns, rows=data, row_count=len(data), truncated=len(rows) > limit)

    return server


def hub_server(dsn: str) -> Any:
    from connectors.postgres import PostgresConnector
    from mcp_hub.config import load_config
    from mcp_hub.policy import Caller
    from mcp_hub.registry import Registry
    from mcp_hub.server import build_server, hub_policy

    registry = Registry([PostgresConnector])
    env = {"DATABASE_URL": dsn} | HUB_ENV | READER
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller("bench", "memory", hub_policy(config)))


# ---- measuring ----------------------------------------------------------------------------------


async def timed_calls(client: Client, calls: int, start: int) -> list[float]:
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        result = await client.call_tool("postgres_query", {"sql": POINT, "params": [1 + (start + i) % 10000]})
        samples.append(time.perf_counter() - started)
        assert not result.is_error, result.content
        assert result.structured_content is not None and result.structured_content["row_count"] == 1
    return samples


async def timed_large(client: Client, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool("postgres_query", {"sql": LARGE, "max_rows": 10000})
        samples.append(time.perf_counter() - started)
        assert not result.is_error, result.content
        data = result.structured_content
        assert data is not None and data["row_count"] == 10000 and not data["truncated"], data and data["row_count"]
    return samples


async def compare_large(label: str, bare: Client, hub: Client, calls: int) -> None:
    """10,000 rows of 4 columns per call, end to end through the SDK client (its output-schema check included)."""
    await timed_large(bare, 3)
    await timed_large(hub, 3)
    samples: dict[str, list[float]] = {"bare": [], "hub": []}
    batch = 5
    for round_index in range(max(1, calls // batch)):
        order = [("bare", bare), ("hub", hub)] if round_index % 2 == 0 else [("hub", hub), ("bare", bare)]
        for name, client in order:
            samples[name] += await timed_large(client, batch)
    (bare_median, bare_p99), (hub_median, hub_p99) = summary(samples["bare"]), summary(samples["hub"])
    print(f"[{label}, 10,000 rows] {len(samples['hub'])} calls each, interleaved batches of {batch}")
    print(f"  bare psycopg tool  median {bare_median:.1f} ms  p99 {bare_p99:.1f} ms")
    print(f"  hub postgres_query median {hub_median:.1f} ms  p99 {hub_p99:.1f} ms")
    print(f"  ratio hub/bare: median {hub_median / bare_median:.2f}x")


def summary(samples: list[float]) -> tuple[float, float]:
    values = sorted(samples)
    return statistics.median(values) * 1000, values[max(0, int(len(values) * 0.99) - 1)] * 1000


async def compare(label: str, bare: Client, hub: Client, calls: int) -> None:
    await timed_calls(bare, 50, 0)  # warm-up: connections, imports, caches
    await timed_calls(hub, 50, 0)
    samples: dict[str, list[float]] = {"bare": [], "hub": []}
    batch = 50
    for round_index in range(max(1, calls // batch)):
        order = [("bare", bare), ("hub", hub)] if round_index % 2 == 0 else [("hub", hub), ("bare", bare)]
        for name, client in order:
            samples[name] += await timed_calls(client, batch, round_index * batch)
    (bare_median, bare_p99), (hub_median, hub_p99) = summary(samples["bare"]), summary(samples["hub"])
    print(f"[{label}] {len(samples['hub'])} calls each, interleaved batches of {batch}")
    print(f"  bare psycopg tool  median {bare_median:.3f} ms  p99 {bare_p99:.3f} ms")
    print(f"  hub postgres_query median {hub_median:.3f} ms  p99 {hub_p99:.3f} ms")
    print(f"  ratio hub/bare: median {hub_median / bare_median:.2f}x  p99 {hub_p99 / bare_p99:.2f}x")


async def wide_query(hub: Client) -> None:
    from mcp_hub.tokens import count_tokens

    started = time.perf_counter()
    result = await hub.call_tool("postgres_query", {"sql": WIDE, "max_rows": 1000})
    elapsed = (time.perf_counter() - started) * 1000
    assert not result.is_error, result.content
    data = result.structured_content or {}
    text = result.content[0].text  # type: ignore[union-attr]
    objects = [dict(zip(data["columns"], row, strict=True)) for row in data["rows"]]
    raw = json.dumps(objects)
    print(f"[LIMIT 1000] {data['row_count']} rows in {elapsed:.1f} ms")
    print(f"  hub result text: {len(text)} chars, {count_tokens(text)} DeepSeek tokens")
    print(f"  rows as raw JSON objects: {len(raw)} chars, {count_tokens(raw)} DeepSeek tokens")


async def in_memory(dsn: str, calls: int) -> None:
    async with Client(bare_server(dsn)) as bare, Client(hub_server(dsn)) as hub:
        await compare("in-memory Client(server)", bare, hub, calls)
        await compare_large("in-memory Client(server)", bare, hub, max(10, calls // 25))
        await wide_query(hub)


async def over_stdio(dsn: str, calls: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")} | {"DATABASE_URL": dsn} | HUB_ENV
    bare = StdioServerParameters(command=sys.executable, args=[str(HERE), "--serve-bare", "--dsn", dsn], env=env)
    hub = StdioServerParameters(command=HUB, args=["serve"], env=env | READER)
    async with Client(bare) as bare_client, Client(hub) as hub_client:
        await compare("stdio subprocesses", bare_client, hub_client, calls)
        await compare_large("stdio subprocesses", bare_client, hub_client, max(10, calls // 25))


@contextmanager
def scratch_database(admin_dsn: str) -> Iterator[str]:
    name = f"mcp_hub_bench_{secrets.token_hex(4)}"
    reader = f"{name}_reader"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(reader)))
    dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SETUP)
            conn.execute(sql.SQL("GRANT SELECT ON people TO {}").format(sql.Identifier(reader)))
        READER["MCP_HUB_POSTGRES__READ_DSN"] = psycopg.conninfo.make_conninfo(dsn, user=reader)
        yield dsn
    finally:
        READER.clear()
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres")
    parser.add_argument("--no-stdio", action="store_true", help="in-memory transport only")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        bare_server(args.dsn).run("stdio")
        return
    print("hub configured with " + " ".join(f"{key}={value}" for key, value in HUB_ENV.items()))
    with scratch_database(args.dsn) as dsn:
        runs: list[Callable[[str, int], Awaitable[None]]] = [in_memory]
        if not args.no_stdio:
            runs.append(over_stdio)
        for run in runs:
            anyio.run(run, dsn, args.calls)


if __name__ == "__main__":
    main()

"""The real `mcp-hub serve` in a subprocess, over stdio, SSE and Streamable HTTP, against real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.support.http_server import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
HUB = str(Path(sys.executable).with_name("mcp-hub"))
TOKEN = "cli-test-token-0123456789abcdef"

pytestmark = pytest.mark.anyio


def hub_env(dsn: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    # The checkout under test, not whichever one the virtualenv's editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env | {"DATABASE_URL": dsn} | extra


@contextmanager
def hub_process(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([HUB, "serve", *args], env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(proc, port, 20, "hub did not start")
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def first_row(result: Any) -> list[Any]:
    assert not result.is_error, result.content
    rows: list[list[Any]] = result.structured_content["rows"]
    return rows[0]


async def test_stdio_from_the_claude_desktop_snippet(pg_dsn: Any) -> None:
    snippet = json.loads((ROOT / "examples" / "claude_desktop_config.json").read_text())["mcpServers"]["mcp-hub"]
    assert snippet["command"] == "mcp-hub"
    params = StdioServerParameters(
        command=HUB, args=snippet["args"], env=hub_env(pg_dsn.reader_dsn) | {"MCP_HUB_LOG_LEVEL": "DEBUG"}
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("postgres_query", {"sql": "SELECT count(*) AS n FROM customers"})
    assert "postgres_query" in tools
    assert first_row(result) == [3]


async def test_streamable_http_subprocess_with_token(pg_dsn: Any, tmp_path: Path) -> None:
    port = free_port()
    env = hub_env(pg_dsn.reader_dsn, MCP_HUB_HTTP__TOKENS__CI__TOKEN=TOKEN, MCP_HUB_AUDIT_LOG=str(tmp_path / "a.jsonl"))
    with hub_process(["--transport", "http", "--port", str(port)], env, port):
        assert httpx2.post(f"http://127.0.0.1:{port}/mcp", json={}).status_code == 401
        http = create_mcp_http_client(headers={"authorization": f"Bearer {TOKEN}"})
        async with http, Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
            result = await client.call_tool("postgres_query", {"sql": "SELECT $1::int + 1", "params": [41]})
    assert first_row(result) == [42]
    audit = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[-1])
    assert audit["caller"] == "ci" and audit["transport"] == "http" and audit["outcome"] == "ok"


async def test_sse_subprocess(pg_dsn: Any) -> None:
    port = free_port()
    with hub_process(["--transport", "sse", "--port", str(port)], hub_env(pg_dsn.reader_dsn), port):
        async with Client(sse_client(f"http://127.0.0.1:{port}/sse")) as client:
            result = await client.call_tool("postgres_query", {"sql": "SELECT name FROM customers ORDER BY id LIMIT 1"})
    assert first_row(result) == ["Ada Lovelace"]


def test_refuses_public_bind_without_tokens(pg_dsn: Any) -> None:
    done = subprocess.run(
        [HUB, "serve", "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=hub_env(pg_dsn.reader_dsn),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "refusing to bind 0.0.0.0 without authentication" in done.stderr

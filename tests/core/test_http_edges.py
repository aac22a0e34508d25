"""HTTP edges over real sockets: chunked bodies over the limit, sessions bound to their caller, and what a
hub with static tokens answers a client that looks for OAuth."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.core.test_http import ADMIN, INIT, MCP_HEADERS, READER, hub_app
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sse_hub(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "sse")) as base:
        yield base


@pytest.fixture
def http_hub(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "http")) as base:
        yield base


async def chunks(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 1000
        sent += 1000


async def test_chunked_bodies_over_the_limit_get_413_on_messages_too(sse_hub: str, http_hub: str) -> None:
    auth = {"authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient(timeout=10) as http:
        over_mcp = await http.post(f"{http_hub}/mcp", content=chunks(10_000), headers=MCP_HEADERS | auth)
        async with http.stream("GET", f"{sse_hub}/sse", headers=auth) as stream:
            lines = stream.aiter_lines()  # kept open (iterated by hand): closing it would end the session
            endpoint = ""
            while not endpoint:
                line = await lines.__anext__()
                endpoint = line[5:].strip() if line.startswith("data:") else ""
            assert "session_id=" in endpoint
            over_sse = await http.post(f"{sse_hub}{endpoint}", content=chunks(10_000), headers=auth)
            # A chunked body under the limit still goes through (buffered, then handed on whole).
            under_sse = await http.post(
                f"{sse_hub}{endpoint}", content=_one_chunk(INIT), headers=auth | {"content-type": "application/json"}
            )
    assert over_mcp.status_code == 413 and over_sse.status_code == 413
    assert over_mcp.json() == {"error": "request body larger than 4096 bytes"}
    assert under_sse.status_code == 202


async def _one_chunk(message: dict[str, object]) -> AsyncIterator[bytes]:
    import json

    yield json.dumps(message).encode()


async def test_a_session_belongs_to_the_caller_that_opened_it(http_hub: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        admin = MCP_HEADERS | {"authorization": f"Bearer {ADMIN}"}
        reader = MCP_HEADERS | {"authorization": f"Bearer {READER}"}
        opened = await http.post(f"{http_hub}/mcp", json=INIT, headers=admin)
        session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        await http.post(
            f"{http_hub}/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=admin | session
        )
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        stolen_post = await http.post(f"{http_hub}/mcp", json=listing, headers=reader | session)
        stolen_stream = await http.get(f"{http_hub}/mcp", headers=reader | session | {"accept": "text/event-stream"})
        stolen_delete = await http.delete(f"{http_hub}/mcp", headers=reader | session)
        still_there = await http.post(f"{http_hub}/mcp", json=listing, headers=admin | session)
        deleted = await http.delete(f"{http_hub}/mcp", headers=admin | session)
        gone = await http.post(f"{http_hub}/mcp", json=listing, headers=admin | session)
    assert stolen_post.status_code == stolen_stream.status_code == stolen_delete.status_code == 404
    assert still_there.status_code == 200 and "notes_list_notes" in still_there.text
    assert deleted.status_code == 200 and gone.status_code == 404


async def test_static_tokens_offer_no_oauth_to_discover(http_hub: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        refused = await http.post(f"{http_hub}/mcp", json=INIT, headers=MCP_HEADERS)
        probes = [
            await http.get(f"{http_hub}{path}")
            for path in (
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-authorization-server",
                "/.well-known/openid-configuration",
            )
        ]
    assert refused.status_code == 401 and "resource_metadata" not in refused.headers["www-authenticate"]
    assert [p.status_code for p in probes] == [404, 404, 404, 404]
    assert all("static bearer tokens" in p.json()["error"] for p in probes)


TS_CLIENT = """
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "ts-sdk", version: "1.0.0" });
try {
  await client.connect(transport);
  console.log(JSON.stringify({ tools: (await client.listTools()).tools.map((t) => t.name) }));
  await client.close();
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
}
"""


def test_the_typescript_sdk_client_gets_in_with_the_token_and_is_stopped_without(tmp_path: Path) -> None:
    """The TypeScript SDK (what the Inspector CLI is built on), with `--header`-style auth: the right token lists
    the tools; a wrong one ends at the 401, and the hub sees no OAuth discovery request at all."""
    from tests.conformance.test_suite import SUITE_DIR, _suite

    node, _ = _suite()
    script = SUITE_DIR / "ts-client.mjs"  # next to its node_modules, so the imports resolve
    script.write_text(TS_CLIENT)
    seen: list[str] = []
    app = hub_app(tmp_path, "http")

    async def logged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(f"{scope['method']} {scope['path']}")
        await app(scope, receive, send)

    with serve_in_thread(logged) as base:
        right = subprocess.run([node, script, f"{base}/mcp", ADMIN], capture_output=True, text=True, timeout=60)
        before = len(seen)
        wrong = subprocess.run(
            [node, script, f"{base}/mcp", "wrong-token-0123456789abcdef"], capture_output=True, text=True, timeout=60
        )
    assert "notes_add_note" in json.loads(right.stdout)["tools"]
    error = json.loads(wrong.stdout)["error"]
    assert "401" in error or "nauthorized" in error, error
    assert not [request for request in seen[before:] if "well-known" in request or "/register" in request], seen

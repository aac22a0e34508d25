"""Federation over HTTP: server-everything's Streamable HTTP mode, the SSE fallback, and a hub served
over HTTP whose client's token never reaches a federated server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_hub.config import load_config
from mcp_hub.federation.gate import AdmitAll
from mcp_hub.http import build_http_app
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.federation.conftest import HubFactory, everything_stdio, served_fed
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio

HUB_TOKEN = "hub-client-token-0123456789abcdef"
UPSTREAM_KEY = "upstream-key-abcdef0123456789"
READER_TOKEN = "hub-reader-token-0123456789abcdef"


async def test_server_everything_over_streamable_http(make_hub: HubFactory, everything_http: str) -> None:
    hub = make_hub(f'[servers.remote]\nurl = "{everything_http}"\nread_only = ["echo", "get-sum"]\n')
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"remote_echo", "remote_get-sum"} <= names
        result = await client.call_tool("remote_echo", {"message": "over http"})
    assert "Echo: over http" in result.content[0].text  # type: ignore[union-attr]
    assert hub.federation.status()[0]["transport"] == "http"  # type: ignore[union-attr]


@pytest.fixture
def fed_sse() -> Iterator[str]:
    with served_fed("sse") as url:
        yield url


async def test_sse_fallback(make_hub: HubFactory, fed_sse: str) -> None:
    hub = make_hub(f'[servers.legacy]\nurl = "{fed_sse}"\nread_only = ["ok"]\ntimeout_s = 5\n')
    async with Client(hub) as client:
        import anyio

        with anyio.fail_after(30):
            while "legacy_ok" not in {t.name for t in (await client.list_tools()).tools}:
                await anyio.sleep(0.05)
        result = await client.call_tool("legacy_ok", {"text": "sse"})
    assert "ok: sse" in result.content[0].text  # type: ignore[union-attr]


def _with_running(app: Any, server: HubServer) -> Any:
    """Keep the hub (and its federated servers) running for the app's lifetime, as `mcp-hub serve` does."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            async with server.running():
                await app(scope, receive, send)
        else:
            await app(scope, receive, send)

    return wrapped


@pytest.fixture
def http_hub(tmp_path: Path, fed_http: str) -> Iterator[tuple[str, HubServer]]:
    key = tmp_path / "upstream.key"
    key.write_text(UPSTREAM_KEY)
    toml = tmp_path / "hub.toml"
    toml.write_text(
        "[http]\nmetrics = true\n"
        f'[http.tokens.admin]\ntoken = "{HUB_TOKEN}"\n'
        f'[http.tokens.reader]\ntoken = "{READER_TOKEN}"\ndeny = ["fed_headers"]\n'
        f'[servers.fed]\nurl = "{fed_http}"\nread_only = ["*"]\n'
        f'[servers.fed.headers]\nX-Upstream-Key_file = "{key}"\n'
    )
    config = load_config(toml, env={})
    policy = hub_policy(config)
    # the transport's mechanics, without the definition gate's opinion (PinnedGate: tests/federation/test_pins_*)
    server = build_server(config, registry=Registry([]), caller=Caller("nobody", "http", policy), gate=AdmitAll())
    app = build_http_app(server, config, policy, "http", "127.0.0.1", 0)
    with serve_in_thread(_with_running(app, server)) as base:
        yield base, server


async def test_the_clients_token_is_never_forwarded(http_hub: tuple[str, HubServer]) -> None:
    base, server = http_hub
    http = create_mcp_http_client(headers={"authorization": f"Bearer {HUB_TOKEN}", "x-custom": "from-client"})
    async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        assert server.federation is not None
        await server.federation.wait_listed(30)
        before = _federated_ok_calls((await http.get(f"{base}/metrics")).text)
        result = await client.call_tool("fed_headers", {})
        health = (await http.get(f"{base}/healthz")).json()
        after = _federated_ok_calls((await http.get(f"{base}/metrics")).text)
    seen = result.structured_content or {}
    dumped = json.dumps(seen).lower()
    # the probe works: the server's own configured header (from a secret file) arrives ...
    assert seen.get("x-upstream-key") == UPSTREAM_KEY
    # ... and nothing of the hub's client does
    assert HUB_TOKEN.lower() not in dumped and "from-client" not in dumped and "authorization" not in seen
    assert health["servers"]["fed"]["state"] == "ready" and health["servers"]["fed"]["tools"] >= 1
    # counted once (the registry is the process's: other tests in this worker may have counted "fed" before)
    assert after == before + 1


def _federated_ok_calls(metrics: str) -> float:
    import re

    found = re.search(r'^mcp_hub_federated_calls_total\{outcome="ok",server="fed"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_stdio_servers_get_no_hub_environment(make_hub: HubFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_HUB_HTTP__TOKENS__X__TOKEN", "hub-secret-in-env-0123456789")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_hubsecret0123456789")
    hub = make_hub(everything_stdio(read_only=["get-env"], env={"GIVEN": "yes"}))
    async with Client(hub) as client:
        await hub.federation.wait_listed(30)  # type: ignore[union-attr]
        result = await client.call_tool("everything_get-env", {})
    body = result.content[0].text  # type: ignore[union-attr]
    assert '"GIVEN": "yes"' in body  # the configured env arrives
    assert "hub-secret-in-env" not in body and "ghp_hubsecret" not in body and "MCP_HUB_" not in body
    assert os.environ["GITHUB_TOKEN"].startswith("ghp_")


async def test_a_tokens_policy_narrows_federated_tools(http_hub: tuple[str, HubServer]) -> None:
    from mcp.shared.exceptions import MCPError

    base, server = http_hub
    assert server.federation is not None
    http = create_mcp_http_client(headers={"authorization": f"Bearer {READER_TOKEN}"})
    async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
        await server.federation.wait_listed(30)
        names = {t.name for t in (await client.list_tools()).tools}
        assert "fed_ok" in names and "fed_headers" not in names
        with pytest.raises(MCPError, match="Unknown tool: fed_headers"):
            await client.call_tool("fed_headers", {})

"""The HTTP front: auth, per-token policy, Host/Origin, body limit, /healthz, over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_hub.config import load_config
from mcp_hub.http import build_http_app
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from tests.core.conftest import NOTES_TOKEN
from tests.support.http_server import serve_in_thread
from tests.support.notes_connector import NotesConnector

ADMIN = "admin-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def hub_app(tmp_path: Path, transport: str, extra_env: dict[str, str] | None = None) -> Any:
    registry = Registry([NotesConnector])
    env = {
        "NOTES_TOKEN": NOTES_TOKEN,
        "MCP_HUB_NOTES__NOTES": '["first"]',
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "MCP_HUB_HTTP__TOKENS__ADMIN__TOKEN": ADMIN,
        "MCP_HUB_HTTP__TOKENS__READER__TOKEN": READER,
        "MCP_HUB_HTTP__TOKENS__READER__DENY": "*_get_*",
        "MCP_HUB_HTTP__TOKENS__ADMIN__ALLOW_WRITES": "true",
        "MCP_HUB_HTTP__MAX_BODY_BYTES": "4096",
        "MCP_HUB_HTTP__ALLOWED_ORIGINS": "https://hub.example.test",
    } | (extra_env or {})
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    policy = hub_policy(config)
    server = build_server(config, registry=registry, caller=Caller("nobody", transport, policy))
    return build_http_app(server, config, policy, transport, "127.0.0.1", 0)


@pytest.fixture
def http_hub(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "http")) as base:
        yield base


def client_for(url: str, token: str | None) -> tuple[Client, httpx2.AsyncClient]:
    http = create_mcp_http_client(headers={"authorization": f"Bearer {token}"} if token else None)
    return Client(streamable_http_client(url, http_client=http)), http


@pytest.mark.anyio
async def test_per_token_policy_and_audit_identity(http_hub: str, tmp_path: Path) -> None:
    client, http = client_for(f"{http_hub}/mcp", ADMIN)
    async with http, client:
        admin_tools = {t.name for t in (await client.list_tools()).tools}
        added = await client.call_tool("notes_add_note", {"text": "from admin"})
    client, http = client_for(f"{http_hub}/mcp", READER)
    async with http, client:
        reader_tools = {t.name for t in (await client.list_tools()).tools}
        with pytest.raises(MCPError) as refused:  # a hidden tool is an unknown tool: JSON-RPC -32602
            await client.call_tool("notes_add_note", {"text": "from reader"})
        listed = await client.call_tool("notes_list_notes", {})
    assert admin_tools == {"notes_list_notes", "notes_get_note", "notes_add_note"}
    assert reader_tools == {"notes_list_notes"}  # no writes, and its deny glob hides get
    assert not added.is_error and refused.value.code == INVALID_PARAMS
    assert "from admin" in listed.content[0].text and "from reader" not in listed.content[0].text
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["caller"], e["tool"], e["outcome"]) for e in audit] == [
        ("admin", "notes_add_note", "ok"),
        ("reader", "notes_add_note", "denied"),
        ("reader", "notes_list_notes", "ok"),
    ]
    assert {e["transport"] for e in audit} == {"http"}


@pytest.mark.anyio
async def test_missing_and_wrong_tokens_are_refused(http_hub: str) -> None:
    async with httpx2.AsyncClient() as http:
        missing = await http.post(f"{http_hub}/mcp", json=INIT, headers=MCP_HEADERS)
        wrong = await http.post(f"{http_hub}/mcp", json=INIT, headers=MCP_HEADERS | {"authorization": "Bearer nope"})
        basic = await http.post(f"{http_hub}/mcp", json=INIT, headers=MCP_HEADERS | {"authorization": f"Basic {ADMIN}"})
        right = await http.post(
            f"{http_hub}/mcp", json=INIT, headers=MCP_HEADERS | {"authorization": f"Bearer {ADMIN}"}
        )
        health = await http.get(f"{http_hub}/healthz")
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="mcp-hub"'
    assert wrong.headers["www-authenticate"] == (
        'Bearer realm="mcp-hub", error="invalid_token", error_description="the bearer token is not valid"'
    )
    assert ADMIN not in wrong.text
    assert right.status_code == 200
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.mark.anyio
async def test_host_origin_and_body_limits(http_hub: str) -> None:
    auth = MCP_HEADERS | {"authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient() as http:
        foreign_origin = await http.post(f"{http_hub}/mcp", json=INIT, headers=auth | {"origin": "https://evil.test"})
        allowed_origin = await http.post(
            f"{http_hub}/mcp", json=INIT, headers=auth | {"origin": "https://hub.example.test"}
        )
        loopback_origin = await http.post(
            f"{http_hub}/mcp", json=INIT, headers=auth | {"origin": "http://localhost:5173"}
        )
        oversized = await http.post(f"{http_hub}/mcp", content=b"{" + b" " * 10_000 + b"}", headers=auth)
        health_foreign = await http.get(f"{http_hub}/healthz", headers={"origin": "https://evil.test"})

        async def chunks() -> Any:
            for _ in range(10):
                yield b" " * 1000

        chunked = await http.post(f"{http_hub}/mcp", content=chunks(), headers=auth)
    assert foreign_origin.status_code == 403 and health_foreign.status_code == 403
    assert allowed_origin.status_code == 200 and loopback_origin.status_code == 200
    assert oversized.status_code == 413
    assert chunked.status_code == 413


@pytest.mark.anyio
async def test_host_check_without_tokens_and_with_a_list(tmp_path: Path) -> None:
    cases = [
        ({}, "evil.test", 200),  # tokens, no list: any Host (a rebinding page cannot send the token)
        ({"MCP_HUB_HTTP__ALLOWED_HOSTS": "hub.example.test"}, "evil.test", 421),
        ({"MCP_HUB_HTTP__ALLOWED_HOSTS": "hub.example.test"}, "hub.example.test:8000", 200),
    ]
    for env, host, status in cases:
        with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
            async with httpx2.AsyncClient() as http:
                headers = MCP_HEADERS | {"authorization": f"Bearer {ADMIN}", "host": host}
                assert (await http.post(f"{base}/mcp", json=INIT, headers=headers)).status_code == status, (env, host)
    registry = Registry([NotesConnector])
    config = load_config(env={"NOTES_TOKEN": NOTES_TOKEN}, ecosystem_env=registry.ecosystem_env())
    server = build_server(config, registry=registry)
    app = build_http_app(server, config, hub_policy(config), "http", "127.0.0.1", 0)
    with serve_in_thread(app) as base:
        async with httpx2.AsyncClient() as http:
            rebinding = await http.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS | {"host": "evil.test"})
            local = await http.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
    assert rebinding.status_code == 421 and local.status_code == 200


@pytest.mark.anyio
async def test_server_keeps_serving_after_bad_requests(http_hub: str) -> None:
    async with httpx2.AsyncClient() as http:
        for body in (b"not json", b"[]", b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}'):
            await http.post(f"{http_hub}/mcp", content=body, headers=MCP_HEADERS | {"authorization": f"Bearer {ADMIN}"})
    client, http_client = client_for(f"{http_hub}/mcp", ADMIN)
    async with http_client, client:
        assert not (await client.call_tool("notes_get_note", {"note_id": 0})).is_error


@pytest.mark.anyio
async def test_lockdown_header_reaches_connectors(http_hub: str) -> None:
    http = create_mcp_http_client(headers={"authorization": f"Bearer {ADMIN}", "x-mcp-hub-lockdown": "1"})
    async with http, Client(streamable_http_client(f"{http_hub}/mcp", http_client=http)) as client:
        locked = await client.read_resource("notes://note/0")
    client, plain_http = client_for(f"{http_hub}/mcp", ADMIN)
    async with plain_http, client:
        open_read = await client.read_resource("notes://note/0")
    assert locked.contents[0].text == "[withheld: lockdown]"
    assert "first" in open_read.contents[0].text


@pytest.mark.anyio
async def test_sse_transport_with_auth(tmp_path: Path) -> None:
    with serve_in_thread(hub_app(tmp_path, "sse")) as base:
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{base}/sse")).status_code == 401
        transport = sse_client(f"{base}/sse", headers={"authorization": f"Bearer {READER}"})
        async with Client(transport) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool("notes_list_notes", {})
    assert tools == {"notes_list_notes"}
    assert result.meta["mcp_hub/provenance"]["connector"] == "notes"
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["caller"] == "reader" and audit[-1]["transport"] == "sse"

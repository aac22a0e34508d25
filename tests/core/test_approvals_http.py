"""Per-caller holds over Streamable HTTP (real sockets): a token's `approve_writes` makes its writes wait,
with progress notifications, until a person decides on the shared Redis state; other callers' writes run."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from mcp_hub.approvals import ApprovalFilter, ApprovalQueue, open_approvals
from tests.conftest import RedisTarget
from tests.core.test_http import ADMIN, client_for, hub_app
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio

OPS = "ops-token-0123456789abcdef0123"


async def test_a_tokens_writes_wait_for_approval_and_other_callers_do_not(
    tmp_path: Path, redis_target: RedisTarget
) -> None:
    env = {
        "MCP_HUB_STATE_URL": redis_target.url,
        "MCP_HUB_STATE_PREFIX": redis_target.prefix,
        "MCP_HUB_HTTP__TOKENS__ADMIN__APPROVE_WRITES": "notes_add_*",
        "MCP_HUB_HTTP__TOKENS__OPS__TOKEN": OPS,
        "MCP_HUB_HTTP__TOKENS__OPS__ALLOW_WRITES": "true",
    }
    app = hub_app(tmp_path, "http", env)
    store = open_approvals(redis_target.url, redis_target.prefix)
    queue = ApprovalQueue(store)  # another replica's view of the queue
    progress: list[str] = []
    results = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    with serve_in_thread(app) as base:
        client, http = client_for(f"{base}/mcp", OPS)
        async with http, client:
            direct = await client.call_tool("notes_add_note", {"text": "from ops"})
        assert not direct.is_error and (await queue.list(ApprovalFilter())).total == 0

        async def admin_writes() -> None:
            client, http = client_for(f"{base}/mcp", ADMIN)
            async with http, client:
                results.append(
                    await client.call_tool("notes_add_note", {"text": "from admin"}, progress_callback=on_progress)
                )

        async with anyio.create_task_group() as group:
            group.start_soon(admin_writes)
            with anyio.fail_after(15):
                while not (pending := (await queue.list(ApprovalFilter("pending"))).items) or not progress:
                    await anyio.sleep(0.05)
            [held] = pending
            assert (held.caller, held.transport, held.tool, held.rule) == (
                "admin",
                "http",
                "notes_add_note",
                "notes_add_*",
            )
            assert held.evidence.kind == "comment" and held.evidence.text == "from admin"
            assert held.id in progress[0]
            assert (await queue.decide(held.id, True, "alice", "fine")).won

        client, http = client_for(f"{base}/mcp", OPS)
        async with http, client:
            listed = await client.call_tool("notes_list_notes", {})
    await queue.aclose()
    assert not results[0].is_error
    assert listed.content[0].text.count("from admin") == 1
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["caller"], e["tool"], e["outcome"]) for e in audit] == [
        ("ops", "notes_add_note", "ok"),
        ("admin", "notes_add_note", "approval_pending"),
        ("admin", "notes_add_note", "ok"),
        ("ops", "notes_list_notes", "ok"),
    ]

"""Held writes end to end: the real agent (fake OpenAI server) and MCP clients of the real hub, the GitHub
fake's state as the proof of what was written, `mcp-hub approvals` and two replicas sharing Redis or
PostgreSQL state."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_hub import cli
from mcp_hub.approvals import ApprovalFilter, ApprovalQueue, open_approvals
from mcp_hub.config import load_config
from mcp_hub.server import HubServer
from tests.model.fake_openai import FakeOpenAI, answer, native_call
from tests.model.hubs import make_hub, run_agent
from tests.model.test_agent import comment_bodies
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio

READ_SECRET = native_call("github_get_contents", {"repo": "acme/secret", "path": "keys.txt"})
BODY = "keys: internal notes <img src=x onerror=alert(1)>"
LEAK = native_call("github_add_issue_comment", {"repo": "acme/widgets", "number": 40, "body": BODY})
COMMENT = {"repo": "acme/widgets", "number": 40, "body": "Thanks, looking into it."}


@dataclass
class Shared:
    """One shared state (Redis or PostgreSQL) as the hub's configuration names it."""

    url: str
    prefix: str
    config: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"MCP_HUB_STATE_URL": self.url, "MCP_HUB_STATE_PREFIX": self.prefix, **extra}


@pytest.fixture(params=["redis", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shared]:
    if request.param == "redis":
        target = request.getfixturevalue("redis_target")
        url, prefix = target.url, target.prefix
    else:
        db: TestDatabase = request.getfixturevalue("pg_dsn")
        url, prefix = db.superuser_dsn, f"test-e2e-{uuid.uuid4().hex[:10]}:"
    config = tmp_path / "hub.toml"
    config.write_text(
        f"[hub]\nstate_url = {json.dumps(url)}\nstate_prefix = {json.dumps(prefix)}\n"
        f"audit_log = {json.dumps(str(tmp_path / 'audit.jsonl'))}\n"
    )
    yield Shared(url, prefix, config)


@pytest.fixture
async def queue(shared: Shared) -> AsyncIterator[ApprovalQueue]:
    """The queue as a second replica (its own connections to the shared store) sees it."""
    store = open_approvals(shared.url, shared.prefix)
    await store.check()
    replica = ApprovalQueue(store)
    replica.poll_s = replica.poll_max_s = 0.05
    yield replica
    await replica.aclose()


async def cli_json(shared: Shared, *argv: str) -> tuple[int, Any]:
    """`mcp-hub approvals …` on the configured state, in a thread (it runs its own event loop)."""
    import contextlib
    import io

    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out):
            return cli.main(["approvals", *argv, "--config", str(shared.config)])

    code = await anyio.to_thread.run_sync(run)
    text = out.getvalue()
    return code, json.loads(text) if text.strip().startswith("{") else text


async def pending_ids(shared: Shared, count: int = 1) -> list[str]:
    """Poll `approvals list --json` until `count` held writes are pending."""
    with anyio.fail_after(15):
        while True:
            code, listed = await cli_json(shared, "list", "--json")
            assert code == 0
            if len(listed["items"]) >= count:
                return [item["id"] for item in listed["items"]]
            await anyio.sleep(0.05)


def hub_replica(pg_dsn: TestDatabase, github_api: str, shared: Shared, **env: str) -> HubServer:
    server = make_hub(pg_dsn, github_api, extra_env=shared.env(**env))
    if server.holds is not None:
        server.holds.queue.poll_s = server.holds.queue.poll_max_s = 0.05
    return server


# ---- the agent, unattended ---------------------------------------------------------------------


async def agent_queue(shared: Shared) -> ApprovalQueue:
    """The agent's queue as `mcp-hub agent --wait-for-approval --config …` builds it."""
    waiting = ApprovalQueue.from_config(load_config(shared.config, env={}))
    await waiting.store.check()
    waiting.poll_s = waiting.poll_max_s = 0.05
    return waiting


async def test_an_unattended_agents_held_write_is_listed_and_happens_once_when_approved(
    fake: FakeOpenAI, base_url: str, github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared
) -> None:
    fake.push(READ_SECRET, LEAK, answer("posted"))
    hub = hub_replica(pg_dsn, github_served[1], shared)
    waiting = await agent_queue(shared)
    runs: list[Any] = []

    async def agent() -> None:
        runs.append(await run_agent(hub, base_url, "Post it", profile="r1-0528", queue=waiting))

    async with anyio.create_task_group() as group:
        group.start_soon(agent)
        [approval_id] = await pending_ids(shared)
        assert BODY not in comment_bodies(github, "acme/widgets", 40)  # nothing written while it waits
        code, shown = await cli_json(shared, "show", approval_id, "--json")
        assert code == 0
        assert shown["tool"] == "github_add_issue_comment" and shown["status"] == "pending"
        assert shown["target"] == "github://acme/widgets" and shown["target_visibility"] == "public"
        assert (
            "github://acme/secret/contents/keys.txt" in shown["sources"] and "non-public data" in shown["flow_reason"]
        )
        assert shown["evidence"] == {"kind": "comment", "text": BODY, "diff": "", "paths": []}
        assert shown["caller"] == "agent" and shown["run_id"] == "test"
        code, decided = await cli_json(shared, "approve", approval_id, "--by", "alice", "--note", "ok", "--json")
        assert code == 0 and decided["won"] and decided["approval"]["status"] == "approved"
    await waiting.aclose()
    [run] = runs
    assert [(c.tool, c.status) for c in run.result.calls][-1] == ("github_add_issue_comment", "called")
    assert comment_bodies(github, "acme/widgets", 40).count(BODY) == 1
    # approving again changes nothing (idempotent: exit 0, not won), the first decision stands, one comment
    code, again = await cli_json(shared, "approve", approval_id, "--by", "bob", "--json")
    assert code == 0 and not again["won"] and again["approval"]["decided_by"] == "alice"
    code, denied = await cli_json(shared, "deny", approval_id, "--by", "bob", "--note", "too late", "--json")
    assert code == 1 and not denied["won"] and denied["approval"]["status"] == "approved"
    assert comment_bodies(github, "acme/widgets", 40).count(BODY) == 1
    audit = [json.loads(line) for line in (shared.config.parent / "audit.jsonl").read_text().splitlines()]
    assert [(e["outcome"], e["caller"]) for e in audit if e.get("approval")] == [
        ("approval_pending", "agent"),
        ("approved", "alice"),
        ("approved_too_late", "bob"),
        ("denied_too_late", "bob"),
    ]


async def test_a_denied_write_does_not_happen_and_the_model_is_told_the_note(
    fake: FakeOpenAI, base_url: str, github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared
) -> None:
    fake.push(READ_SECRET, LEAK, answer("I could not post it."))
    hub = hub_replica(pg_dsn, github_served[1], shared)
    waiting = await agent_queue(shared)
    runs: list[Any] = []

    async def agent() -> None:
        runs.append(await run_agent(hub, base_url, "Post it", profile="r1-0528", queue=waiting))

    async with anyio.create_task_group() as group:
        group.start_soon(agent)
        [approval_id] = await pending_ids(shared)
        code, _ = await cli_json(shared, "deny", approval_id, "--by", "carol", "--note", "private keys stay private")
        assert code == 0
    await waiting.aclose()
    [run] = runs
    last = run.result.calls[-1]
    assert (last.tool, last.status) == ("github_add_issue_comment", "denied")
    assert "denied in the approvals queue by carol: private keys stay private" in last.result
    assert "private keys stay private" in json.dumps(fake.requests[-1]["messages"])
    assert BODY not in comment_bodies(github, "acme/widgets", 40)


async def test_without_the_queue_the_unattended_agent_is_refused_at_once(
    fake: FakeOpenAI, base_url: str, github: Any, hub: HubServer
) -> None:
    """The control: what waiting replaces (a non-interactive refusal, nothing in any queue)."""
    fake.push(READ_SECRET, LEAK, answer("refused"))
    run = await run_agent(hub, base_url, "Post it", profile="r1-0528")
    assert run.result.calls[-1].status == "denied" and "non-interactive" in run.result.calls[-1].result
    assert BODY not in comment_bodies(github, "acme/widgets", 40)


async def test_an_agent_waiting_past_the_expiry_stops_that_write(
    fake: FakeOpenAI, base_url: str, github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared
) -> None:
    fake.push(READ_SECRET, LEAK, answer("it expired"))
    hub = hub_replica(pg_dsn, github_served[1], shared)
    waiting = await agent_queue(shared)
    waiting.ttl_s = 0.5
    with anyio.fail_after(20):
        run = await run_agent(hub, base_url, "Post it", profile="r1-0528", queue=waiting)
    await waiting.aclose()
    assert run.result.calls[-1].status == "denied" and "expired in the approvals queue" in run.result.calls[-1].result
    assert BODY not in comment_bodies(github, "acme/widgets", 40)
    code, listed = await cli_json(shared, "list", "--status", "expired", "--json")
    assert code == 0 and [i["tool"] for i in listed["items"]] == ["github_add_issue_comment"]


# ---- the hub's own holds (hub.approve_writes) for MCP clients ----------------------------------------


async def call_and_decide(waiter: HubServer, decide: Any, progress: list[float]) -> tuple[Any, str]:
    results: list[Any] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)
        assert message is not None and "waiting for approval" in message

    async def call() -> None:
        async with Client(waiter) as client:
            results.append(await client.call_tool("github_add_issue_comment", COMMENT, progress_callback=on_progress))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        approval_id = await decide()
    return results[0], approval_id


async def test_a_held_hub_call_runs_once_when_approved_on_the_other_replica(
    github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared, queue: ApprovalQueue
) -> None:
    rule = {"MCP_HUB_APPROVE_WRITES": "github_add_*"}
    waiter = hub_replica(pg_dsn, github_served[1], shared, **rule)
    other = hub_replica(pg_dsn, github_served[1], shared, **rule)
    assert other.holds is not None
    progress: list[float] = []

    async def decide() -> str:
        [approval_id] = await pending_ids(shared)
        assert COMMENT["body"] not in comment_bodies(github, "acme/widgets", 40)
        held = await other.holds.queue.get(approval_id)  # type: ignore[union-attr]
        assert held is not None and held.rule == "github_add_*" and held.target == "github://acme/widgets"
        assert held.target_visibility == "public"  # from the hub's own probe read
        assert held.caller == "agent" and held.transport == "memory"
        with anyio.fail_after(10):
            while not progress:  # the waiting client hears that it waits
                await anyio.sleep(0.02)
        decision = await other.holds.queue.decide(approval_id, True, "alice", transport="console")  # type: ignore[union-attr]
        assert decision.won
        return approval_id

    result, _ = await call_and_decide(waiter, decide, progress)
    assert not result.is_error, result
    assert comment_bodies(github, "acme/widgets", 40).count(COMMENT["body"]) == 1
    # a read is never held, whatever the globs say
    async with Client(waiter) as client:
        listed = await client.call_tool("github_list_branches", {"repo": "acme/widgets", "limit": 1})
    assert not listed.is_error
    assert (await queue.list(ApprovalFilter())).total == 1


async def test_a_denied_hub_call_is_a_tool_error_naming_the_note(
    github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared, queue: ApprovalQueue
) -> None:
    waiter = hub_replica(pg_dsn, github_served[1], shared, MCP_HUB_APPROVE_WRITES="github_add_issue_comment")

    async def decide() -> str:
        [approval_id] = await pending_ids(shared)
        await queue.decide(approval_id, False, "bob", "not on a public issue")
        return approval_id

    result, approval_id = await call_and_decide(waiter, decide, [])
    assert result.is_error
    text = result.content[0].text
    assert "bob denied" in text and "not on a public issue" in text and approval_id in text
    assert COMMENT["body"] not in comment_bodies(github, "acme/widgets", 40)


async def test_without_approve_writes_the_call_runs_at_once(
    github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared, queue: ApprovalQueue
) -> None:
    """The control for the two tests above: the hold is what kept the comment back."""
    plain = hub_replica(pg_dsn, github_served[1], shared)
    assert plain.holds is None
    async with Client(plain) as client:
        result = await client.call_tool("github_add_issue_comment", COMMENT)
    assert not result.is_error and COMMENT["body"] in comment_bodies(github, "acme/widgets", 40)
    assert (await queue.list(ApprovalFilter())).total == 0


async def test_a_client_that_cancels_withdraws_its_held_call(
    github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase, shared: Shared, queue: ApprovalQueue
) -> None:
    waiter = hub_replica(pg_dsn, github_served[1], shared, MCP_HUB_APPROVE_WRITES="github_add_issue_comment")
    async with Client(waiter) as client:
        with anyio.move_on_after(1.0):
            await client.call_tool("github_add_issue_comment", COMMENT)
        with anyio.fail_after(10):
            while True:
                items = (await queue.list(ApprovalFilter())).items
                if items and items[0].status == "cancelled":
                    break
                await anyio.sleep(0.05)
    assert not (await queue.decide(items[0].id, True, "alice")).won
    await anyio.sleep(0.2)
    assert COMMENT["body"] not in comment_bodies(github, "acme/widgets", 40)


async def test_mcp_hub_agent_wait_for_approval_from_the_command_line(
    fake: FakeOpenAI, base_url: str, github: Any, github_served: tuple[Any, str], shared: Shared
) -> None:
    """`mcp-hub agent --wait-for-approval` as an operator runs it (its own process), decided with
    `mcp-hub approvals approve` from another: the write happens once."""
    import os
    import subprocess
    import sys

    from tests.connectors.github.fake_state import PAT

    fake.push(READ_SECRET, LEAK, answer("posted"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")} | {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_MODEL__NAME": fake.models[0],
    }
    argv = ["agent", "Post it", "--model", "r1-0528", "--base-url", base_url, "--wait-for-approval", "--json"]
    code = "from mcp_hub.cli import main; raise SystemExit(main())"
    done: list[subprocess.CompletedProcess[bytes]] = []

    async def agent() -> None:
        command = [sys.executable, "-c", code, *argv, "--config", str(shared.config)]
        done.append(await anyio.run_process(command, env=env, check=False))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(agent)
            [approval_id] = await pending_ids(shared)
            assert BODY not in comment_bodies(github, "acme/widgets", 40)
            code_, decided = await cli_json(shared, "approve", approval_id, "--by", "dave", "--json")
            assert code_ == 0 and decided["won"]
    [process] = done
    assert process.returncode == 0, process.stderr.decode()[-2000:]
    transcript = json.loads(process.stdout)
    assert transcript["calls"][-1]["tool"] == "github_add_issue_comment"
    assert transcript["calls"][-1]["status"] == "called"
    assert comment_bodies(github, "acme/widgets", 40).count(BODY) == 1


async def test_an_unreachable_queue_denies_the_write_and_the_run_goes_on(
    fake: FakeOpenAI, base_url: str, github: Any, hub: HubServer
) -> None:
    """Fail closed: no queue, no write; the model is told why (and no password)."""
    fake.push(READ_SECRET, LEAK, answer("could not ask"))
    down = ApprovalQueue(open_approvals("redis://:hunter2@127.0.0.1:1/0", "x:"))
    run = await run_agent(hub, base_url, "Post it", profile="r1-0528", queue=down)
    await down.aclose()
    assert run.result.status == "answered"
    last = run.result.calls[-1]
    assert last.status == "denied" and "approvals queue could not be reached" in last.result
    assert "hunter2" not in last.result
    assert BODY not in comment_bodies(github, "acme/widgets", 40)


async def test_without_shared_state_the_hubs_own_queue_holds_and_decides(
    github: Any, github_served: tuple[Any, str], pg_dsn: TestDatabase
) -> None:
    """In-process state: the queue lives in the hub (`server.approvals`, what the console uses)."""
    hub = make_hub(pg_dsn, github_served[1], extra_env={"MCP_HUB_APPROVE_WRITES": "github_add_issue_comment"})
    hub.approvals.poll_s = hub.approvals.poll_max_s = 0.05
    results: list[Any] = []

    async def call() -> None:
        async with Client(hub) as client:
            results.append(await client.call_tool("github_add_issue_comment", COMMENT))

    async with anyio.create_task_group() as group:
        group.start_soon(call)
        with anyio.fail_after(10):
            while not (pending := (await hub.approvals.list(ApprovalFilter("pending"))).items):
                await anyio.sleep(0.02)
        assert (await hub.approvals.decide(pending[0].id, True, "alice", transport="console")).won
    assert not results[0].is_error
    assert comment_bodies(github, "acme/widgets", 40).count(COMMENT["body"]) == 1


async def test_a_held_call_over_stdio_waits_in_a_real_hub_process(
    github: Any, github_served: tuple[Any, str], shared: Shared
) -> None:
    """`mcp-hub serve` (stdio, its own process) holds the call; `mcp-hub approvals approve` from another
    process lets it run, once."""
    import os
    import sys

    from mcp import StdioServerParameters

    from tests.connectors.github.fake_state import PAT

    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_")} | {
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_APPROVE_WRITES": "github_add_issue_comment",
        "MCP_HUB_CATALOG_CACHE": "0",
    }
    params = StdioServerParameters(
        command=sys.executable,
        args=["-c", "from mcp_hub.cli import main; raise SystemExit(main())", "serve", "--config", str(shared.config)],
        env=env,
    )
    progress: list[float] = []
    results: list[Any] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with anyio.fail_after(60):
        async with Client(params) as client:

            async def call() -> None:
                results.append(
                    await client.call_tool("github_add_issue_comment", COMMENT, progress_callback=on_progress)
                )

            async with anyio.create_task_group() as group:
                group.start_soon(call)
                [approval_id] = await pending_ids(shared)
                assert COMMENT["body"] not in comment_bodies(github, "acme/widgets", 40)
                code, decided = await cli_json(shared, "approve", approval_id, "--by", "frank", "--json")
                assert code == 0 and decided["won"]
    assert not results[0].is_error and progress
    assert comment_bodies(github, "acme/widgets", 40).count(COMMENT["body"]) == 1

"""The approvals queue on its three stores: records, listing, one decision only, expiry, redaction, audit."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import psycopg
import pytest
import redis

from mcp_hub.approvals import (
    Approval,
    ApprovalFilter,
    ApprovalQueue,
    ApprovalStore,
    HoldRequest,
    Page,
    open_approvals,
)
from mcp_hub.approvals.stores import InProcessApprovals, PostgresApprovals, RedisApprovals
from mcp_hub.audit import AuditLog
from mcp_hub.errors import ConfigError, InvalidInput
from mcp_hub.redaction import Redactor
from tests.conftest import RedisTarget
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio

SECRET = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
COMMENT = "<script>alert(1)</script> the keys are " + SECRET


def request(tool: str = "github_add_issue_comment", **extra: object) -> HoldRequest:
    arguments = {"repo": "acme/widgets", "number": 40, "body": COMMENT}
    return HoldRequest(
        caller="agent",
        transport="memory",
        tool=tool,
        arguments=arguments,
        reasons=["flow guard: this run read non-public data (github://acme/secret/keys.txt)"],
        run_id="run1",
        target="github://acme/widgets",
        target_visibility="public",
        flow_reason="this run read non-public data",
        sources=["github://acme/secret/keys.txt"],
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["memory", "redis", "postgres"])
async def store_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    if request.param == "memory":
        yield None
    elif request.param == "redis":
        yield request.getfixturevalue("redis_target").url
    else:
        yield request.getfixturevalue("pg_dsn").superuser_dsn


def prefix_for(request: pytest.FixtureRequest) -> str:
    if "redis_target" in request.fixturenames:
        target: RedisTarget = request.getfixturevalue("redis_target")
        return target.prefix
    return f"test-approvals-{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def replicas(
    store_url: str | None, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ApprovalQueue, ApprovalQueue]]:
    """Two queues on one shared store, as two hub replicas see it (in-process: one store object)."""
    prefix = prefix_for(request)
    redactor = Redactor([SECRET])
    audit = AuditLog(tmp_path / "audit.jsonl", redactor)
    first = open_approvals(store_url, prefix)
    second = open_approvals(store_url, prefix) if store_url else first
    await first.check()
    one = ApprovalQueue(first, audit=audit, redactor=redactor, ttl_s=60)
    two = ApprovalQueue(second, audit=audit, redactor=redactor, ttl_s=60)
    try:
        yield one, two
    finally:
        await first.aclose()
        if second is not first:
            await second.aclose()


async def test_a_held_write_is_listed_with_its_evidence_and_nothing_secret(
    replicas: tuple[ApprovalQueue, ApprovalQueue],
) -> None:
    one, two = replicas
    held = await one.submit(request())
    assert len(held.id) >= 20 and held.status == "pending"
    page = await two.list(ApprovalFilter("pending"))
    assert [a.id for a in page.items] == [held.id] and page.total == 1 and not page.has_next
    seen = await two.get(held.id)
    assert seen is not None
    assert seen.target == "github://acme/widgets" and seen.target_visibility == "public"
    assert seen.sources == ["github://acme/secret/keys.txt"] and seen.run_id == "run1"
    assert seen.evidence.kind == "comment" and seen.evidence.text.startswith("<script>")
    assert SECRET not in json.dumps(seen.to_json()) and "***" in seen.arguments["body"]
    assert await two.get("not-an-id") is None


async def test_newest_first_paging_and_status_filter(replicas: tuple[ApprovalQueue, ApprovalQueue]) -> None:
    one, two = replicas
    ids = []
    for _ in range(5):
        ids.append((await one.submit(request())).id)
        await anyio.sleep(0.002)
    await one.decide(ids[0], False, "alice", "no")
    first = await two.list(ApprovalFilter("pending"), Page(1, 2))
    second = await two.list(ApprovalFilter("pending"), Page(2, 2))
    assert [a.id for a in first.items] == [ids[4], ids[3]] and first.total == 4 and first.has_next
    assert [a.id for a in second.items] == [ids[2], ids[1]] and not second.has_next
    denied = await two.list(ApprovalFilter("denied"))
    assert [a.id for a in denied.items] == [ids[0]] and denied.items[0].note == "no"
    assert (await two.list()).total == 5


async def test_one_decision_only_and_it_is_audited(
    replicas: tuple[ApprovalQueue, ApprovalQueue], tmp_path: Path
) -> None:
    one, two = replicas
    held = await one.submit(request())
    first = await one.decide(held.id, True, "alice", "fine")
    again = await two.decide(held.id, False, "bob", "no!")
    assert first.won and first.approval.status == "approved" and first.approval.decided_by == "alice"
    assert not again.won and again.approval.status == "approved" and again.approval.decided_by == "alice"
    final = await two.get(held.id)
    assert final is not None and (final.status, final.decided_by, final.note) == ("approved", "alice", "fine")
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    outcomes = [(e["outcome"], e["caller"], e["approval"]["id"]) for e in lines]
    assert outcomes == [
        ("approval_pending", "agent", held.id),
        ("approved", "alice", held.id),
        ("denied_too_late", "bob", held.id),
    ]
    assert SECRET not in (tmp_path / "audit.jsonl").read_text()


async def test_approve_and_deny_racing_on_two_replicas_exactly_one_wins(
    replicas: tuple[ApprovalQueue, ApprovalQueue],
) -> None:
    one, two = replicas
    for _ in range(10):
        held = await one.submit(request())
        results = []

        async def decide(queue: ApprovalQueue, approve: bool, by: str) -> None:
            results.append(await queue.decide(held.id, approve, by, "race"))  # noqa: B023

        async with anyio.create_task_group() as group:
            group.start_soon(decide, one, True, "alice")
            group.start_soon(decide, two, False, "bob")
        assert sorted(r.won for r in results) == [False, True]
        winner = next(r for r in results if r.won)
        final = await one.get(held.id)
        assert final is not None and final.status == winner.approval.status
        assert all(r.approval.status == final.status for r in results)


class GetThenSet(InProcessApprovals):
    """A store WITHOUT an atomic transition (read, check, then write after an await): the race test
    must catch it."""

    async def transition(self, approval_id: str, to: str, by: str | None, note: str, now: float) -> Approval | None:  # type: ignore[override]
        found = await self.get(approval_id)
        if found is None:
            return None
        if found.status == "pending":
            await anyio.sleep(0.01)  # another replica's decision lands here
            stored = self._items[approval_id]
            stored.status, stored.decided_by, stored.note, stored.decided_at = to, by, note, now  # type: ignore[assignment]
            return await self.get(approval_id)
        return found


async def test_the_race_test_catches_a_store_without_an_atomic_decision() -> None:
    store = GetThenSet()
    queue = ApprovalQueue(store)
    held = await queue.submit(request())
    results = []

    async def decide(approve: bool, by: str) -> None:
        results.append(await queue.decide(held.id, approve, by, "race"))

    async with anyio.create_task_group() as group:
        group.start_soon(decide, True, "alice")
        group.start_soon(decide, False, "bob")
    assert [r.won for r in results] == [True, True]  # both believe they decided: what the atomic step prevents


async def test_expiry_nothing_waits_for_ever(replicas: tuple[ApprovalQueue, ApprovalQueue]) -> None:
    one, two = replicas
    one.ttl_s = 0.3
    held = await one.submit(request())
    started = time.monotonic()
    final = await two.wait(held.id, poll_s=0.05)
    assert final.status == "expired" and 0.2 < time.monotonic() - started < 3
    late = await one.decide(held.id, True, "alice")
    assert not late.won and late.approval.status == "expired"
    assert [a.id for a in (await one.list(ApprovalFilter("expired"))).items] == [held.id]


async def test_a_pending_approval_past_its_expiry_reads_as_expired_and_cannot_be_approved(
    replicas: tuple[ApprovalQueue, ApprovalQueue],
) -> None:
    one, two = replicas
    one.ttl_s = 0.05
    held = await one.submit(request())
    await anyio.sleep(0.1)
    assert (await two.list(ApprovalFilter("pending"))).total == 0
    assert [a.status for a in (await two.list(ApprovalFilter("expired"))).items] == ["expired"]
    late = await two.decide(held.id, True, "alice")
    assert not late.won and late.approval.status == "expired"


async def test_a_waiter_resumes_on_a_decision_made_on_the_other_replica(
    replicas: tuple[ApprovalQueue, ApprovalQueue],
) -> None:
    one, two = replicas
    held = await one.submit(request())
    got: list[Approval] = []

    async def wait() -> None:
        got.append(await one.wait(held.id, poll_s=0.02))

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await anyio.sleep(0.1)
        assert not got
        await two.decide(held.id, False, "bob", "not this one")
    assert got[0].status == "denied" and got[0].note == "not this one"


async def test_a_cancelled_waiter_withdraws_its_request(replicas: tuple[ApprovalQueue, ApprovalQueue]) -> None:
    one, two = replicas
    held = await one.submit(request())
    with anyio.move_on_after(0.1):
        await one.wait(held.id, poll_s=0.02)
    final = await two.get(held.id)
    assert final is not None and final.status == "cancelled"
    assert not (await two.decide(held.id, True, "alice")).won


async def test_bad_decisions_are_clear_errors() -> None:
    queue = ApprovalQueue(InProcessApprovals())
    held = await queue.submit(request())
    with pytest.raises(InvalidInput, match="needs a note"):
        await queue.decide(held.id, False, "alice", "  ")
    with pytest.raises(InvalidInput, match="who decides"):
        await queue.decide(held.id, True, " ")
    with pytest.raises(InvalidInput, match="no approval with id"):
        await queue.decide("nope", True, "alice")
    assert (await queue.get(held.id)).status == "pending"  # type: ignore[union-attr]


async def test_file_writes_show_a_diff() -> None:
    queue = ApprovalQueue(InProcessApprovals())
    held = await queue.submit(
        HoldRequest(
            "agent",
            "memory",
            "github_commit_files",
            {
                "repo": "a/b",
                "branch": "main",
                "message": "m",
                "files": [{"path": "src/x.py", "content": "print(1)\n"}, {"path": "old.txt", "content": None}],
            },
        )
    )
    assert held.evidence.kind == "file_change" and held.evidence.paths == ["src/x.py", "old.txt"]
    assert "+++ b/src/x.py" in held.evidence.diff and "+print(1)" in held.evidence.diff
    assert "--- a/old.txt\n+++ /dev/null" in held.evidence.diff


async def test_stored_records_hold_no_secret(redis_target: RedisTarget, pg_dsn: TestDatabase) -> None:
    """What the stores keep (read back raw) has the redacted arguments only."""
    rstore = open_approvals(redis_target.url, redis_target.prefix)
    pstore = open_approvals(pg_dsn.superuser_dsn, f"test-raw-{uuid.uuid4().hex[:8]}:")
    assert isinstance(rstore, RedisApprovals) and isinstance(pstore, PostgresApprovals)
    for store in (rstore, pstore):
        await ApprovalQueue(store, redactor=Redactor([SECRET])).submit(request())
        await store.aclose()
    client = redis.Redis.from_url(redis_target.url)
    raw = b"".join(
        v
        for k in client.scan_iter(match=redis_target.prefix + "*")
        if client.type(k) == b"hash"
        for v in client.hgetall(k).values()
    )
    client.close()
    assert b"acme/widgets" in raw and SECRET.encode() not in raw
    async with await psycopg.AsyncConnection.connect(pg_dsn.superuser_dsn) as conn:
        rows = await (await conn.execute("SELECT record::text FROM mcp_hub_approvals")).fetchall()
    assert rows and not any(SECRET in r[0] for r in rows)


async def test_an_unreachable_store_is_a_config_error_without_the_password() -> None:
    for url in ("postgresql://hub:hunter2@127.0.0.1:1/state", "redis://:hunter2@127.0.0.1:1/0"):
        store: ApprovalStore = open_approvals(url)
        with pytest.raises(ConfigError) as caught:
            await store.check()
        assert "hunter2" not in caught.value.message and "127.0.0.1" in caught.value.message
        await store.aclose()
    with pytest.raises(ConfigError, match="unsupported scheme"):
        open_approvals("mysql://x/y")


@pytest.mark.parametrize("told", [True, False])
async def test_the_queue_redacts_what_the_hub_knows_is_secret(told: bool) -> None:
    """A configured secret with no telltale shape is masked because the hub's redactor knows it; a
    queue not told it would store it (what the check above would then catch)."""
    plain_secret = "correct-horse-battery-staple-42"
    store = InProcessApprovals()
    queue = ApprovalQueue(store, redactor=Redactor([plain_secret] if told else []))
    held = await queue.submit(
        HoldRequest("agent", "memory", "slack_post_message", {"channel": "C1", "text": f"pw {plain_secret}"})
    )
    stored = json.dumps((await store.get(held.id)).to_json())  # type: ignore[union-attr]
    assert (plain_secret in stored) is not told

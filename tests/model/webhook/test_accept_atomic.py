"""A delivery is accepted wholly or not at all: remembering its id and queueing its job are one transaction
(PostgreSQL, SQLite) or one script (Redis). A failure injected between the two inside the real store — a
trigger that kills its own PostgreSQL connection, a trigger that aborts the SQLite insert, a Redis key of the
wrong type that makes the script fail — leaves no id behind, so the forge's retry is queued, not "replayed".

The control is the receiver's old two steps (remember, then queue, then forget on failure): with the same
failure, and the forget failing too, the id stays and the retry is lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from mcp_hub.errors import UpstreamUnavailable
from model.webhook.store import Store
from model.webhook.store_sqlite import SqliteStore
from tests.model.webhook.conftest import REDIS_URL, any_job
from tests.model.webhook.payloads import github_delivery, github_pull_request
from tests.model.webhook.test_store_postgres_restart import SECRET, Quiet, receiver
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio


@contextmanager
def queueing_fails(kind: str, store: Store, prefix: str, group: str, pg: TestDatabase) -> Iterator[None]:
    """Every insert of a job fails inside the store until the block ends."""
    if kind == "sqlite":
        assert isinstance(store, SqliteStore)
        db = sqlite3.connect(store.path, isolation_level=None)
        db.execute("CREATE TRIGGER fail_queue BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'injected'); END")
        try:
            yield
        finally:
            db.execute("DROP TRIGGER fail_queue")
            db.close()
    elif kind == "postgres":
        with psycopg.connect(pg.superuser_dsn, autocommit=True) as conn:
            conn.execute(
                f"CREATE FUNCTION {prefix}_kill() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$"
            )
            conn.execute(
                f"CREATE TRIGGER {prefix}_kill BEFORE INSERT ON {prefix}_jobs"
                f" FOR EACH ROW EXECUTE FUNCTION {prefix}_kill()"
            )
            try:
                yield
            finally:
                conn.execute(f"DROP TRIGGER {prefix}_kill ON {prefix}_jobs")
                conn.execute(f"DROP FUNCTION {prefix}_kill()")
    else:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.set(f"{prefix}:grp:{group}", "not a set")  # SMEMBERS in the script fails: WRONGTYPE
        try:
            yield
        finally:
            client.delete(f"{prefix}:grp:{group}")
            client.close()


@pytest.mark.parametrize("mode", ["one-transaction", "two-steps"])
async def test_a_failure_between_remembering_and_queueing_leaves_nothing_behind(
    store: Store, store_kind: str, prefix: str, pg_dsn: TestDatabase, mode: str
) -> None:
    job = any_job(number=11)
    with queueing_fails(store_kind, store, prefix, job.group, pg_dsn), pytest.raises(Exception) as raised:
        if mode == "one-transaction":
            await store.accept("github:d-1", 60, job)
        else:  # the old receiver: the id is remembered in its own transaction first
            assert await store.remember_delivery("github:d-1", 60) is True
            await store.enqueue(job)
    if store_kind == "postgres":  # the connection was killed mid-transaction: the store says unavailable
        assert isinstance(raised.value, UpstreamUnavailable) and "AdminShutdown" in str(raised.value)
    assert (await store.counts())["queued"] == 0
    retried = await store.accept("github:d-1", 60, job)  # the forge's retry, the store healthy again
    if mode == "one-transaction":
        assert retried is not None and retried.status == "queued"
        assert await store.accept("github:d-1", 60, job) is None  # and now it is remembered: a replay
        assert (await store.counts())["queued"] == 1
    else:
        assert retried is None  # answered "replayed" until delivery_ttl_s: the delivery is lost
        assert (await store.counts())["queued"] == 0


class ForgetFails:
    """The store, with `forget_delivery` failing (the database went away after the queueing failed)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def forget_delivery(self, delivery: str) -> None:
        raise ConnectionError("the store is unreachable")


async def test_the_receiver_answers_503_and_queues_the_forges_retry(
    store: Store, store_kind: str, prefix: str, pg_dsn: TestDatabase
) -> None:
    body, headers = github_delivery("pull_request", github_pull_request(12, "c" * 40), SECRET)
    log = Quiet()
    async with receiver(ForgetFails(store), log) as http:  # type: ignore[arg-type]
        with queueing_fails(store_kind, store, prefix, any_job(number=12, sha="c" * 40).group, pg_dsn):
            failed = await http.post("/webhooks/github", content=body, headers=headers)
        retried = await http.post("/webhooks/github", content=body, headers=headers)
        again = await http.post("/webhooks/github", content=body, headers=headers)
    assert failed.status_code == 503 and failed.json()["result"] == "store unavailable"
    assert retried.status_code == 202 and retried.json()["result"] == "queued"
    assert again.status_code == 409 and again.json()["result"] == "replayed"

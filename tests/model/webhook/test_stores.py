"""The queue contract, the same for the SQLite, Postgres and Redis stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from model.webhook.store import Store, open_store
from tests.model.webhook.conftest import any_job, store_url
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio


async def test_enqueue_claim_finish_exactly_once(store: Store) -> None:
    job = any_job()
    assert (await store.enqueue(job)).status == "queued"
    assert (await store.enqueue(job)).status == "duplicate"
    claimed = await store.claim("w1", 60)
    assert claimed == job and await store.claim("w2", 60) is None
    assert (await store.enqueue(job)).status == "duplicate"  # running
    await store.finish(job.key, "w1", "reviewed")
    assert await store.outcome(job.key) == "reviewed"
    assert (await store.enqueue(job)).status == "done"  # a completed key is never queued again
    assert await store.claim("w2", 60) is None
    assert await store.counts() == {"queued": 0, "running": 0, "done": 1}


async def test_newer_head_supersedes_a_queued_one(store: Store) -> None:
    old, new = any_job(sha="1" * 40), any_job(sha="2" * 40)
    await store.enqueue(old)
    assert (await store.enqueue(new)).superseded == 1
    assert await store.claim("w", 60) == new and await store.claim("w", 60) is None


async def test_one_job_at_a_time_per_pull_request(store: Store) -> None:
    first, second, other = any_job(sha="1" * 40), any_job(sha="2" * 40), any_job(number=2)
    await store.enqueue(first)
    assert await store.claim("w1", 60) == first
    assert (await store.enqueue(second)).superseded == 0  # the running one is not superseded
    await store.enqueue(other)
    assert await store.claim("w2", 60) == other  # another PR goes ahead
    assert await store.claim("w2", 60) is None  # the second head waits for the first
    await store.finish(first.key, "w1", "ok")
    assert await store.claim("w2", 60) == second


async def test_expired_lease_is_taken_over(store: Store) -> None:
    job = any_job()
    await store.enqueue(job)
    assert await store.claim("dead", 0.3) == job
    assert await store.counts() == {"queued": 0, "running": 1, "done": 0}
    await anyio.sleep(0.5)
    assert await store.renew(job.key, "alive", 60) is False  # not its job
    taken = await store.claim("alive", 60)
    assert taken == job and await store.renew(job.key, "alive", 60) is True
    assert await store.renew(job.key, "dead", 60) is False


async def test_retry_waits_and_counts_attempts(store: Store) -> None:
    job = any_job()
    await store.enqueue(job)
    await store.claim("w", 60)
    await store.retry(job.key, "w", 0.4)
    assert await store.claim("w", 60) is None
    await anyio.sleep(0.5)
    again = await store.claim("w", 60)
    assert again is not None and again.attempts == 1 and again.key == job.key


async def test_deliveries_are_remembered_until_they_expire(store: Store) -> None:
    assert await store.remember_delivery("github:abc", 60) is True
    assert await store.remember_delivery("github:abc", 60) is False
    await store.forget_delivery("github:abc")
    assert await store.remember_delivery("github:abc", 60) is True
    assert await store.remember_delivery("gitlab:short", 0.2) is True
    await anyio.sleep(0.4)
    assert await store.remember_delivery("gitlab:short", 0.2) is True


async def test_state_survives_a_restart(make_store: Callable[[], Store]) -> None:
    first = make_store()
    await first.open()
    done, waiting = any_job(number=1), any_job(number=2)
    await first.enqueue(done)
    await first.enqueue(waiting)
    await first.claim("w", 60)
    await first.finish(done.key, "w", "ok")
    await first.close()
    second = make_store()
    await second.open()
    try:
        assert (await second.enqueue(done)).status == "done"
        assert await second.claim("w", 60) == waiting
    finally:
        await second.close()


@pytest.mark.parametrize("done_ttl_s", [0.5, None], ids=["short-retention", "default-retention"])
async def test_finished_jobs_are_pruned_after_their_retention(
    store_kind: str, tmp_path: Path, pg_dsn: TestDatabase, prefix: str, done_ttl_s: float | None
) -> None:
    ttl = {} if done_ttl_s is None else {"done_ttl_s": done_ttl_s}
    store = open_store(store_url(store_kind, tmp_path, pg_dsn), prefix=prefix, **ttl)
    await store.open()
    try:
        old, new = any_job(number=1), any_job(number=2)
        for job in (old, new):
            await store.enqueue(job)
            await store.claim("w", 60)
            await store.finish(job.key, "w", "ok")
            await anyio.sleep(0.8)  # the first is past a short retention when the second finishes
        assert await store.outcome(new.key) == "ok"
        if done_ttl_s is None:  # 30 days: nothing is pruned
            assert await store.outcome(old.key) == "ok" and (await store.enqueue(old)).status == "done"
        else:
            assert await store.outcome(old.key) is None
            assert (await store.counts())["done"] == 1
            assert (await store.enqueue(old)).status == "queued"  # runs again; the review's markers post nothing new
    finally:
        await store.close()

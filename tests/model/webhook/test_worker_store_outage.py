"""A store outage never ends the worker and never fails a job: on each of the three stores (their own error
for an unreachable server injected into the worker's writes), a finish, a renewal and a hand-back that the
store refuses are tried again, and the job is recorded once, as what it did, when the store is back.

Each test fails on the worker before this defence (the finish's error ended `Worker.run`; a refused renewal
cancelled the job and was recorded as its failure, or ran it twice; the hand-back's error replaced the
shutdown)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import anyio
import pytest

from mcp_hub.errors import UpstreamTimeout, UpstreamUnavailable
from mcp_hub.logs import EventLog
from model.webhook import store_postgres
from model.webhook import worker as worker_module
from model.webhook.jobs import Job
from model.webhook.store import Store
from model.webhook.worker import Worker
from tests.model.webhook.conftest import any_job

pytestmark = pytest.mark.anyio


def outage_error(kind: str) -> Exception:
    """What each store raises while its server is unreachable (PostgreSQL's after its own patience)."""
    if kind == "sqlite":
        return sqlite3.OperationalError("database is locked")
    if kind == "redis":
        import redis.exceptions

        return redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    return UpstreamUnavailable(store_postgres.UNAVAILABLE + " [PoolTimeout]")


class Outage:
    """The real store, with the worker's operations refused while `down` (counted in `refused`)."""

    def __init__(self, store: Store, error: Exception) -> None:
        self.store, self.error, self.down = store, error, False
        self.refused: Counter[str] = Counter()

    def _gate(self, operation: str) -> None:
        if self.down:
            self.refused[operation] += 1
            raise self.error

    async def claim(self, worker: str, lease_s: float) -> Job | None:
        self._gate("claim")
        return await self.store.claim(worker, lease_s)

    async def renew(self, key: str, worker: str, lease_s: float) -> bool:
        self._gate("renew")
        return await self.store.renew(key, worker, lease_s)

    async def retry(self, key: str, worker: str, delay_s: float) -> None:
        self._gate("retry")
        await self.store.retry(key, worker, delay_s)

    async def finish(self, key: str, worker: str, outcome: str) -> None:
        self._gate("finish")
        await self.store.finish(key, worker, outcome)


class Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


async def wait_for(check: Any, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.02)


def make_worker(outage: Outage, runner: Any, lines: Lines, lease_s: float = 30) -> Worker:
    return Worker(outage, runner, concurrency=1, lease_s=lease_s, poll_s=0.02, log=EventLog(stream=lines))  # type: ignore[arg-type]


async def test_an_outage_at_finish_keeps_the_worker_and_records_the_job_once_the_store_is_back(
    store: Store, store_kind: str
) -> None:
    outage, lines, runs = Outage(store, outage_error(store_kind)), Lines(), Counter[str]()
    job = any_job(number=1)
    await store.enqueue(job)

    async def runner(job: Job) -> str:
        runs[job.key] += 1
        outage.down = True  # the review is posted; the store goes away before it is recorded
        return "reviewed"

    worker, stop = make_worker(outage, runner, lines), anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run, stop)
        await wait_for(lambda: _true(outage.refused["finish"] >= 4))  # longer than any one try's patience
        assert job.key in worker.running  # the worker still runs and still holds the job
        outage.down = False
        await wait_for(lambda: _recorded(store, job.key))
        stop.set()
    assert await store.outcome(job.key) == "reviewed" and runs[job.key] == 1
    assert '"event": "store_error"' in lines.text and '"operation": "finish"' in lines.text


async def test_a_refused_renewal_is_not_the_jobs_failure(store: Store, store_kind: str) -> None:
    outage, lines, runs = Outage(store, outage_error(store_kind)), Lines(), Counter[str]()
    job = any_job(number=2)
    await store.enqueue(job)

    async def runner(job: Job) -> str:
        runs[job.key] += 1
        outage.down = True
        await wait_for(lambda: _true(outage.refused["renew"] >= 2))  # renewals every 0.2 s fail meanwhile
        outage.down = False
        return "reviewed"

    worker, stop = make_worker(outage, runner, lines, lease_s=0.6), anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run, stop)
        await wait_for(lambda: _recorded(store, job.key))
        stop.set()
    assert await store.outcome(job.key) == "reviewed"  # not "failed: …" and not cancelled
    assert runs[job.key] == 1  # and not run again
    assert '"operation": "renew"' in lines.text


async def test_an_unavailable_upstream_is_retried_not_failed(store: Store) -> None:
    """UpstreamUnavailable raised by the job (a forge or store that is down) is passing, like a timeout."""
    outage, lines = Outage(store, UpstreamUnavailable("down")), Lines()
    jobs = {"unavailable": any_job(number=3), "timeout": any_job(number=4)}
    for job in jobs.values():
        await store.enqueue(job)
    raised = {jobs["unavailable"].key: UpstreamUnavailable("the forge is unreachable")}
    raised[jobs["timeout"].key] = UpstreamTimeout("the forge timed out")
    seen: list[str] = []

    async def runner(job: Job) -> str:
        seen.append(job.key)
        raise raised[job.key]

    worker, stop = make_worker(outage, runner, lines), anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run, stop)
        await wait_for(
            lambda: _true(len(seen) == 2 and '"job_retry"' in lines.text and lines.text.count("job_retry") == 2)
        )
        stop.set()
    for job in jobs.values():
        assert await store.outcome(job.key) is None  # waiting for its retry, not recorded as failed
    assert (await store.counts())["queued"] == 2


async def test_a_stopping_worker_that_cannot_hand_back_its_job_stops_anyway(
    store: Store, store_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "HAND_BACK_S", 0.5)
    outage, lines = Outage(store, outage_error(store_kind)), Lines()
    job = any_job(number=5)
    await store.enqueue(job)
    started = anyio.Event()

    async def runner(job: Job) -> str:
        outage.down = True
        started.set()
        await anyio.sleep_forever()
        return "never"

    worker, stop = make_worker(outage, runner, lines), anyio.Event()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run, stop)
            await started.wait()
            stop.set()  # the hand-back is refused: the job stays leased, to be taken over when the lease ends
    assert outage.refused["retry"] >= 1 and await store.outcome(job.key) is None
    assert '"operation": "retry"' in lines.text


async def _recorded(store: Store, key: str) -> bool:
    return await store.outcome(key) is not None


async def _true(value: bool) -> bool:
    return value

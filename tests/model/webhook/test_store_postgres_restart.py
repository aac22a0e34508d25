"""The PostgreSQL store outlives its database: a restart mid-use and an outage, on a throwaway cluster of
these tests' own (never the shared server), with the same store object and the same receiver throughout.

The control: with the pool's check on checkout switched off, the first operation after a restart runs on
a dead connection and fails, so the check is what makes the restart invisible."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx2
import pytest

from mcp_hub.config import load_config
from mcp_hub.errors import UpstreamUnavailable
from mcp_hub.logs import EventLog
from mcp_hub.redaction import Redactor
from model.webhook import store_postgres
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure
from model.webhook.metrics import Metrics
from model.webhook.settings import take_webhook_settings
from model.webhook.store import Store, open_store
from tests.model.webhook.conftest import any_job
from tests.model.webhook.payloads import github_delivery, github_pull_request
from tests.pg import Cluster, cluster, find_bindir

pytestmark = pytest.mark.anyio

SECRET = "gh-webhook-secret-restart-0123"
TIMEOUT_S = 3.0


class Quiet:
    def write(self, text: str) -> None:
        self.text = getattr(self, "text", "") + text

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def pg_own() -> Iterator[Cluster]:
    bindir = find_bindir()
    if bindir is None:
        pytest.fail("these tests start their own PostgreSQL: install the server binaries (initdb, pg_ctl)")
    with cluster(bindir) as running:
        yield running


@pytest.fixture
async def pg_store(pg_own: Cluster, prefix: str) -> AsyncIterator[store_postgres.PostgresStore]:
    # A short pool timeout keeps the outage tests quick; everything else is the store as the service opens it.
    store = store_postgres.PostgresStore(pg_own.dsn, prefix, timeout_s=TIMEOUT_S)
    await store.open()
    yield store
    await store.close()


def receiver(store: Store, log: Quiet) -> httpx2.AsyncClient:
    settings = take_webhook_settings(load_config(env={"MCP_HUB_WEBHOOK__GITHUB_SECRET": SECRET}))
    service = Service(settings, store, Metrics(), Backpressure(60, 10), EventLog(Redactor([SECRET]), log))  # type: ignore[arg-type]
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=build_app(service)), base_url="http://webhook")


async def test_a_restart_mid_use_is_invisible(pg_own: Cluster, pg_store: Store) -> None:
    running, waiting = any_job(number=1), any_job(number=2)
    await pg_store.enqueue(running)
    assert await pg_store.claim("w1", 60) == running
    pg_own.restart("fast")  # every connection the pool holds is now dead
    # The same store object, no reopen: the worker renews and finishes its job, the next one is claimed.
    assert await pg_store.renew(running.key, "w1", 60) is True
    await pg_store.finish(running.key, "w1", "reviewed")
    assert (await pg_store.enqueue(waiting)).status == "queued"
    assert await pg_store.claim("w2", 60) == waiting
    assert await pg_store.counts() == {"queued": 0, "running": 1, "done": 1}
    assert (await pg_store.enqueue(running)).status == "done"  # what was recorded before the restart holds


async def test_an_outage_is_a_503_then_deliveries_are_queued_again_without_a_restart(
    pg_own: Cluster, pg_store: Store
) -> None:
    log = Quiet()
    async with receiver(pg_store, log) as http:
        assert (await http.get("/healthz")).status_code == 200
        pg_own.stop("immediate")
        body, headers = github_delivery("pull_request", github_pull_request(7, "e" * 40), SECRET)
        got: dict[str, Any] = {}

        async def ask(name: str, request: Any) -> None:
            got[name] = await request

        async def claim() -> None:
            started = time.monotonic()
            with pytest.raises(UpstreamUnavailable) as raised:
                await pg_store.claim("w", 60)
            got["claim"], got["elapsed"] = raised, time.monotonic() - started

        try:
            async with anyio.create_task_group() as tg:  # at once: each waits out the pool's timeout
                tg.start_soon(ask, "health", http.get("/healthz"))
                tg.start_soon(ask, "alive", http.get("/livez"))
                tg.start_soon(ask, "metrics", http.get("/metrics"))
                tg.start_soon(ask, "down", http.post("/webhooks/github", content=body, headers=headers))
                tg.start_soon(claim)
        finally:
            pg_own.start()
        health, alive, metrics, down = got["health"], got["alive"], got["metrics"], got["down"]
        raised, elapsed = got["claim"], got["elapsed"]
        assert health.status_code == 503 and health.json()["store"] == "UpstreamUnavailable"
        assert alive.status_code == 200  # liveness does not depend on the database: no restart loop
        assert metrics.status_code == 503  # a scrape says so rather than failing with a 500
        assert down.status_code == 503 and down.json()["result"] == "store unavailable"
        assert elapsed < TIMEOUT_S + 5  # an operation fails within the pool's timeout, it does not hang
        assert "password" not in str(raised.value) and "127.0.0.1" not in str(raised.value)
        # The server is back: the receiver is ready again within the pool's reconnection backoff (the same
        # process and store), and the forge's retry of the same delivery gets in (its id was not kept).
        deadline = time.monotonic() + 2 * store_postgres.RECONNECT_TIMEOUT_S + 10
        while (await http.get("/healthz")).status_code != 200:
            assert time.monotonic() < deadline, "the store did not reconnect"
            await anyio.sleep(0.2)
        again = await http.post("/webhooks/github", content=body, headers=headers)
        assert again.status_code == 202 and again.json()["result"] == "queued"
        assert (await http.get("/healthz")).json()["queue"]["queued"] == 1
    assert SECRET not in log.text


async def test_without_the_check_on_checkout_a_restart_breaks_the_next_operation(
    pg_own: Cluster, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_postgres, "CHECK_ON_CHECKOUT", False)
    store = open_store(pg_own.dsn, prefix=prefix)
    await store.open()
    try:
        await store.enqueue(any_job())
        pg_own.restart("fast")
        with pytest.raises(UpstreamUnavailable):
            await store.counts()
    finally:
        await store.close()


@pytest.mark.parametrize("failures", [1, 3], ids=["rolled-back-once", "rolled-back-every-time"])
async def test_a_transaction_the_server_rolls_back_is_run_again(pg_store: Store, failures: int) -> None:
    """SQLSTATE 40001 raised by the real server: nothing of the transaction happened, so it runs again."""
    attempts = 0

    async def work(conn: Any) -> str:
        nonlocal attempts
        attempts += 1
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS t_rollback (n int)")
        await conn.execute("INSERT INTO t_rollback VALUES (%s)", (attempts,))
        if attempts <= failures:
            await conn.execute("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
        return "ok"

    assert isinstance(pg_store, store_postgres.PostgresStore)
    if failures < 3:
        assert await pg_store._tx(work) == "ok" and attempts == failures + 1
    else:
        with pytest.raises(UpstreamUnavailable, match="SerializationFailure"):
            await pg_store._tx(work)
        assert attempts == 3


@pytest.mark.parametrize("patience_s", [60.0, 0.0], ids=["worker-waits", "switched-off"])
async def test_the_workers_writes_wait_out_an_outage_the_receivers_do_not(
    pg_own: Cluster, pg_store: Store, monkeypatch: pytest.MonkeyPatch, patience_s: float
) -> None:
    monkeypatch.setattr(store_postgres, "WORKER_PATIENCE_S", patience_s)
    job = any_job(number=9)
    await pg_store.enqueue(job)
    assert await pg_store.claim("w", 60) == job
    finished: list[BaseException | None] = []

    async def finish() -> None:  # the worker's job ends while the database is down
        try:
            await pg_store.finish(job.key, "w", "reviewed")
        except UpstreamUnavailable as exc:
            finished.append(exc)
        else:
            finished.append(None)

    pg_own.stop("immediate")
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(finish)
            with pytest.raises(UpstreamUnavailable):  # the receiver's operation fails (503), it does not wait
                await pg_store.enqueue(any_job(number=10))
            await anyio.to_thread.run_sync(pg_own.start)
    finally:
        if not finished:
            await anyio.to_thread.run_sync(pg_own.start)
    if patience_s:
        assert finished == [None] and await pg_store.outcome(job.key) == "reviewed"
    else:
        assert isinstance(finished[0], UpstreamUnavailable)


async def test_the_worker_outlives_an_outage_longer_than_its_patience_at_finish(
    pg_own: Cluster, pg_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server goes away as the job ends and stays away longer than the store waits: the worker keeps
    running, tries again, and records the job once the server is back (the worker is the real one)."""
    from model.webhook.worker import Worker

    monkeypatch.setattr(store_postgres, "WORKER_PATIENCE_S", 0.5)
    job, log, runs = any_job(number=21), Quiet(), []
    await pg_store.enqueue(job)

    async def runner(job: Any) -> str:
        runs.append(job.key)
        await anyio.to_thread.run_sync(pg_own.stop, "immediate")  # posted; then the database goes away
        return "reviewed"

    worker, stop = Worker(pg_store, runner, concurrency=1, poll_s=0.05, log=EventLog(stream=log)), anyio.Event()
    started = False
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run, stop)
            with anyio.fail_after(30):
                while '"operation": "finish"' not in getattr(log, "text", ""):  # one finish given up on
                    await anyio.sleep(0.05)
            assert job.key in worker.running
            await anyio.to_thread.run_sync(pg_own.start)
            started = True
            with anyio.fail_after(2 * store_postgres.RECONNECT_TIMEOUT_S + 10):
                while not await _recorded(pg_store, job.key):  # the test's own reads may find it down too
                    await anyio.sleep(0.1)
            stop.set()
    finally:
        if not started:
            await anyio.to_thread.run_sync(pg_own.start)
    assert await pg_store.outcome(job.key) == "reviewed" and runs == [job.key]
    assert await pg_store.counts() == {"queued": 0, "running": 0, "done": 1}


async def _recorded(store: Store, key: str) -> bool:
    try:
        return await store.outcome(key) is not None
    except UpstreamUnavailable:
        return False

"""The Redis store and the worker outlive their Redis: a throwaway `redis-server` of this test's own (never the
shared one, AOF on so a restart keeps the queue) is stopped as a job ends and started again a while later on the
same port. The real worker keeps running, tries its finish again and records the job once; the receiver
answers 503 meanwhile and queues the forge's retry afterwards."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis

from mcp_hub.logs import EventLog
from model.webhook.store import open_store
from model.webhook.worker import Worker
from tests.model.webhook.conftest import any_job
from tests.model.webhook.payloads import github_delivery, github_pull_request
from tests.model.webhook.test_store_postgres_restart import SECRET, Quiet, receiver
from tests.support.http_server import free_port

pytestmark = pytest.mark.anyio


class RedisServer:
    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("this test starts its own Redis: install redis-server (.ci/run does)")
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the throwaway redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # SIGTERM: the AOF is flushed, the queue survives the restart
            self.proc.wait(20)
            self.proc = None


@pytest.fixture
def redis_own(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_worker_and_receiver_outlive_a_redis_restart(redis_own: RedisServer) -> None:
    store = open_store(redis_own.url, prefix="t_restart")
    await store.open()
    job, log, runs = any_job(number=31), Quiet(), []
    await store.enqueue(job)

    async def runner(job: Any) -> str:
        runs.append(job.key)
        await anyio.to_thread.run_sync(redis_own.stop)  # posted; then Redis goes away
        return "reviewed"

    worker, stop = Worker(store, runner, concurrency=1, poll_s=0.05, log=EventLog(stream=log)), anyio.Event()  # type: ignore[arg-type]
    body, headers = github_delivery("pull_request", github_pull_request(32, "d" * 40), SECRET)
    try:
        async with receiver(store, Quiet()) as http:
            async with anyio.create_task_group() as tg:
                tg.start_soon(worker.run, stop)
                with anyio.fail_after(20):
                    while getattr(log, "text", "").count('"operation": "finish"') < 3:  # refused, and again
                        await anyio.sleep(0.05)
                down = await http.post("/webhooks/github", content=body, headers=headers)
                assert job.key in worker.running
                await anyio.to_thread.run_sync(redis_own.start)
                with anyio.fail_after(20):
                    while not await _recorded(store, job.key):
                        await anyio.sleep(0.05)
                stop.set()
            again = await http.post("/webhooks/github", content=body, headers=headers)  # the worker has stopped
    finally:
        await store.close()
    assert runs == [job.key] and down.status_code == 503
    assert again.status_code == 202 and again.json()["result"] == "queued"  # nothing was remembered at the 503
    check = open_store(redis_own.url, prefix="t_restart")
    await check.open()
    try:
        assert await check.outcome(job.key) == "reviewed"
        assert await check.counts() == {"queued": 1, "running": 0, "done": 1}
    finally:
        await check.close()


async def _recorded(store: Any, key: str) -> bool:
    try:
        return await store.outcome(key) is not None
    except redis.exceptions.ConnectionError:  # the test's own read may meet a connection from before
        return False

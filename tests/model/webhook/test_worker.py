"""The worker in-process: backpressure when the model fails, and a crash between posting a review and
recording it, which the review bot's markers make harmless."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.logs import EventLog
from mcp_hub.registry import Registry
from model.app import AgentApp
from model.client import ClientOptions
from model.endpoint import resolve_endpoint
from model.review.render import SUMMARY_MARKER
from model.settings import ModelSettings
from model.triage.settings import TriageSettings
from model.webhook.backpressure import Backpressure, MeteredClient
from model.webhook.jobs import Job
from model.webhook.runner import JobRunner
from model.webhook.store import open_store
from model.webhook.worker import Worker
from tests.connectors.github.fake_state import PAT
from tests.model.fake_openai import FakeOpenAI, Reply
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.webhook.conftest import any_job
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio
MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"


async def _no_sleep(_: float) -> None:
    return None


class Quiet:
    def write(self, text: str) -> None:
        self.text = getattr(self, "text", "") + text

    def flush(self) -> None:
        pass


@pytest.fixture(scope="module")
def reviewer() -> Iterator[tuple[FakeReviewer, str]]:
    fake = FakeReviewer()
    with serve_in_thread(fake.app) as base:
        yield fake, base + "/v1"


async def wait_until(check: Any, timeout: float = 20) -> None:
    with anyio.fail_after(timeout):
        while not await check():
            await anyio.sleep(0.05)


async def test_model_failure_holds_off_claiming(tmp_path: Path, fake: FakeOpenAI, base_url: str) -> None:
    store = open_store(f"sqlite:///{tmp_path}/q.db")
    await store.open()
    pressure = Backpressure(slow_s=60, max_s=30)
    client = MeteredClient(
        resolve_endpoint("vllm", base_url, env={}), ClientOptions(attempts=1), sleep=_no_sleep, backpressure=pressure
    )
    ran: list[str] = []

    async def runner(job: Job) -> str:
        ran.append(job.key)
        await client.complete(MODEL, [{"role": "user", "content": "hi"}])
        return "ok"

    fake.push(Reply(status=503, error="overloaded"))
    for n in (1, 2, 3):
        await store.enqueue(any_job(number=n))
    worker = Worker(
        store, runner, concurrency=1, lease_s=30, poll_s=0.05, backpressure=pressure, log=EventLog(stream=Quiet())
    )  # type: ignore[arg-type]
    stop = anyio.Event()
    async with client, anyio.create_task_group() as tg:
        tg.start_soon(worker.run, stop)
        await wait_until(lambda: _true(len(ran) >= 1))
        await anyio.sleep(0.5)  # claiming is paused: the other two wait in the queue
        assert pressure.active and "model endpoint failing" in pressure.reason
        assert len(ran) == 1 and (await store.counts())["queued"] == 3  # the failed one is back, for later
        stop.set()
    await store.close()


async def _true(value: bool) -> bool:
    return value


async def test_a_crash_after_posting_is_harmless(
    tmp_path: Path, github: Any, github_served: tuple[Any, str], reviewer: tuple[FakeReviewer, str]
) -> None:
    reviewer[0].reset()
    registry = Registry([GithubConnector])
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
    }
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    store = open_store(f"sqlite:///{tmp_path}/q.db")
    await store.open()
    head = github.state.repos["acme/widgets"].branches["feature-x"]
    job = Job("review", "github", "acme/widgets", 4, head, "https://github.com/acme/widgets/pull/4")
    client = MeteredClient(resolve_endpoint("vllm", reviewer[1], env={}), backpressure=Backpressure(60, 10))
    async with client:
        app = AgentApp.from_config(config, registry, ModelSettings(profile=MODEL, name=MODEL))
        runner = JobRunner(app, client, TriageSettings())
        await store.enqueue(job)
        assert await store.claim("doomed", 0.3) == job
        first = await runner(job)  # posted ... and the worker dies before recording it
        assert "0 new comment(s)" in first
        await anyio.sleep(0.4)
        worker = Worker(store, runner, concurrency=1, lease_s=5, poll_s=0.05, log=EventLog(stream=Quiet()))  # type: ignore[arg-type]
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run, stop)
            await wait_until(lambda: _done(store, job.key))
            stop.set()
    assert await store.outcome(job.key) == "reviewed " + head[:12] + ": 0 finding(s); nothing new since the last review"
    summaries = [c for c in github.state.comments["acme/widgets"][4] if SUMMARY_MARKER in c["body"]]
    assert len(summaries) == 1 and github.state.count("PATCH") == 0
    await store.close()


async def _done(store: Any, key: str) -> bool:
    return await store.outcome(key) is not None

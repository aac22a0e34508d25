"""The service as it runs: `mcp-hub webhook` in its own process, signed deliveries over loopback, the GitHub
fake and a slow reviewing model. The process is killed in the middle of a review with more queued; a new
process finishes the queue: every pull request reviewed exactly once, nothing lost, nothing repeated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response

from model.review.render import SUMMARY_MARKER
from tests.connectors.github.fake_state import PAT
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.webhook.payloads import github_delivery, github_pull_request
from tests.support.http_server import free_port, serve_in_thread

SECRET = "gh-webhook-secret-restart-test"
ROOT = Path(__file__).resolve().parents[3]


class SlowReviewer(FakeReviewer):
    """Answers after `delay` seconds (a loaded model server)."""

    delay = 0.0

    async def chat(self, request: Request) -> Response:
        self.started = getattr(self, "started", 0) + 1
        await anyio.sleep(self.delay)
        return await super().chat(request)


@pytest.fixture(scope="module")
def slow_reviewer() -> Iterator[tuple[SlowReviewer, str]]:
    fake = SlowReviewer()
    with serve_in_thread(fake.app) as base:
        yield fake, base + "/v1"


def start(config: Path, github_api: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_api,
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_ALLOW_WRITES": "1",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_hub.cli", "webhook", "--config", str(config), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx2.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "exited")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the webhook service did not start")


def wait_for(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_restart_mid_queue_neither_loses_nor_repeats(
    tmp_path: Path, github: Any, github_served: tuple[Any, str], slow_reviewer: tuple[SlowReviewer, str]
) -> None:
    reviewer, model_url = slow_reviewer
    reviewer.reset()
    reviewer.delay = 2.0
    reviewer.started = 0
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[model]\nbase_url = "{model_url}"\n\n'
        f'[webhook]\nstore = "sqlite:///{tmp_path}/queue.db"\ngithub_secret = "{SECRET}"\n'
        "concurrency = 1\nlease_s = 3\npoll_s = 0.1\n"
    )
    port = free_port()
    first = start(config, github_served[1], port)
    head = github.state.repos["acme/widgets"].branches["feature-x"]
    numbers = [3, 4, 5]
    try:
        for n in numbers:
            response = httpx2.post(
                f"http://127.0.0.1:{port}/webhooks/github",
                content=(d := github_delivery("pull_request", github_pull_request(n, head), SECRET))[0],
                headers=d[1],
            )
            assert response.status_code == 202, response.text
        wait_for(lambda: reviewer.started >= 1)  # the first review is waiting for the model
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    posted = [e for e in github.state.log if e[0] in ("POST", "PATCH")]
    assert posted == []  # killed before anything was posted
    reviewer.delay = 0.2
    second = start(config, github_served[1], port)
    try:
        wait_for(lambda: httpx2.get(f"http://127.0.0.1:{port}/healthz").json()["queue"]["done"] == 3)
        comments = github.state.comments.get("acme/widgets", {})
        for n in numbers:
            summaries = [c for c in comments.get(n, []) if SUMMARY_MARKER in c["body"]]
            assert len(summaries) == 1, f"PR {n}: {len(summaries)} summaries"
        assert github.state.count("POST", "/comments") == 3 and github.state.count("PATCH") == 0
        # A new delivery for an already reviewed head is recorded, not run again.
        again = github_delivery("pull_request", github_pull_request(3, head, "reopened"), SECRET)
        response = httpx2.post(f"http://127.0.0.1:{port}/webhooks/github", content=again[0], headers=again[1])
        assert response.json()["result"] == "done"
        metrics = httpx2.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'mcp_hub_webhook_jobs_total{kind="review",outcome="done"} 3.0' in metrics
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        logs = second.stderr.read().decode() if second.stderr else ""
        assert '"event": "job_finished"' in logs and PAT not in logs and SECRET not in logs
    finally:
        if second.poll() is None:
            second.kill()

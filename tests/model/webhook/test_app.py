"""The receiver over loopback: signed deliveries queued; forged, replayed, oversized and malformed ones refused;
/healthz and /metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from mcp_hub.config import load_config
from mcp_hub.logs import EventLog
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure
from model.webhook.metrics import Metrics
from model.webhook.settings import take_webhook_settings
from model.webhook.store import open_store
from tests.model.webhook.payloads import (
    github_delivery,
    github_issue,
    github_pull_request,
    gitlab_delivery,
    gitlab_merge_request,
)
from tests.support.http_server import serve_in_thread

SECRET = "gh-webhook-secret-0123456789"
TOKEN = "gl-webhook-token-0123456789"
SHA = "c" * 40


class Logged:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines += [line for line in text.splitlines() if line]

    def flush(self) -> None:
        pass


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Service, Logged]]:
    config = load_config(
        env={
            "MCP_HUB_WEBHOOK__GITHUB_SECRET": SECRET,
            "MCP_HUB_WEBHOOK__GITLAB_TOKEN": TOKEN,
            "MCP_HUB_WEBHOOK__MAX_BODY_BYTES": "4096",
        }
    )
    settings = take_webhook_settings(config)
    store = open_store(f"sqlite:///{tmp_path}/q.db")
    anyio.run(store.open)
    logged = Logged()
    from mcp_hub.redaction import Redactor

    service = Service(settings, store, Metrics(), Backpressure(60, 10), EventLog(Redactor([SECRET, TOKEN]), logged))  # type: ignore[arg-type]
    with serve_in_thread(build_app(service)) as url:
        yield url, service, logged
    anyio.run(store.close)


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(url + path, content=body, headers=headers)


def test_signed_pull_request_is_queued_once(receiver: tuple[str, Service, Logged]) -> None:
    url, service, logged = receiver
    body, headers = github_delivery("pull_request", github_pull_request(5, SHA), SECRET)
    first = post(url, "/webhooks/github", body, headers)
    assert first.status_code == 202 and first.json()["result"] == "queued"
    assert first.json()["key"] == f"review:github:acme/widgets#5@{SHA}"
    replay = post(url, "/webhooks/github", body, headers)  # the same delivery id again
    assert replay.status_code == 409 and replay.json()["result"] == "replayed"
    redelivered = github_delivery("pull_request", github_pull_request(5, SHA, "reopened"), SECRET)
    again = post(url, "/webhooks/github", *redelivered)  # a new delivery for the same head commit
    assert again.status_code == 202 and again.json()["result"] == "duplicate"
    newer = post(
        url,
        "/webhooks/github",
        *github_delivery("pull_request", github_pull_request(5, "d" * 40, "synchronize"), SECRET),
    )
    assert newer.status_code == 202 and newer.json()["superseded"] == 1
    counts = anyio.run(service.store.counts)
    assert counts == {"queued": 1, "running": 0, "done": 0}
    assert all(SECRET not in line for line in logged.lines)
    events = [json.loads(line) for line in logged.lines]
    assert [e["result"] for e in events] == ["queued", "replayed", "duplicate", "queued"]


@pytest.mark.parametrize("tamper", ["body", "signature", "missing", "other secret"])
def test_forgery_is_rejected(receiver: tuple[str, Service, Logged], tamper: str) -> None:
    url, service, _ = receiver
    body, headers = github_delivery("pull_request", github_pull_request(6, SHA), SECRET)
    if tamper == "body":
        body = body.replace(b'"number": 6', b'"number": 7')
    elif tamper == "signature":
        headers["x-hub-signature-256"] = "sha256=" + "0" * 64
    elif tamper == "missing":
        del headers["x-hub-signature-256"]
    else:
        body, headers = github_delivery("pull_request", github_pull_request(6, SHA), "not-the-secret")
    response = post(url, "/webhooks/github", body, headers)
    assert response.status_code == 401 and response.json()["result"] == "unverified"
    assert anyio.run(service.store.counts)["queued"] == 0


def test_gitlab_token_replay_and_events(receiver: tuple[str, Service, Logged]) -> None:
    url, _service, _ = receiver
    body, headers = gitlab_delivery("Merge Request Hook", gitlab_merge_request(1, SHA), TOKEN)
    assert post(url, "/webhooks/gitlab", body, headers).status_code == 202
    assert post(url, "/webhooks/gitlab", body, headers).status_code == 409
    wrong = gitlab_delivery("Merge Request Hook", gitlab_merge_request(1, SHA), TOKEN + "x")
    assert post(url, "/webhooks/gitlab", *wrong).status_code == 401
    keyed = dict(headers)
    del keyed["x-gitlab-event-uuid"]
    keyed["idempotency-key"] = "key-1"
    assert post(url, "/webhooks/gitlab", body, keyed).json()["result"] == "duplicate"
    assert post(url, "/webhooks/gitlab", body, keyed).status_code == 409
    closed = gitlab_delivery("Merge Request Hook", gitlab_merge_request(2, SHA, "close"), TOKEN)
    ignored = post(url, "/webhooks/gitlab", *closed)
    assert ignored.status_code == 200 and ignored.json()["result"] == "ignored"
    issue = {
        "object_kind": "issue",
        "project": {"path_with_namespace": "acme/app"},
        "object_attributes": {"iid": 3, "action": "open", "url": "https://gitlab.example/acme/app/-/issues/3"},
    }
    queued = post(url, "/webhooks/gitlab", *gitlab_delivery("Issue Hook", issue, TOKEN))
    assert queued.status_code == 202 and queued.json()["key"] == "triage:gitlab:acme/app#3"


def test_oversized_malformed_and_ignored(receiver: tuple[str, Service, Logged]) -> None:
    url, _service, _ = receiver
    big = github_pull_request(8, SHA) | {"padding": "x" * 5000}
    response = post(url, "/webhooks/github", *github_delivery("pull_request", big, SECRET))
    assert response.status_code == 413
    malformed = github_delivery("pull_request", {"action": "opened"}, SECRET)
    assert post(url, "/webhooks/github", *malformed).status_code == 400
    assert post(url, "/webhooks/github", *malformed).status_code == 400  # resent: the same answer, not "replayed"
    draft = post(
        url, "/webhooks/github", *github_delivery("pull_request", github_pull_request(9, SHA, draft=True), SECRET)
    )
    assert draft.status_code == 200 and draft.json()["reason"] == "draft pull request"
    ping = post(url, "/webhooks/github", *github_delivery("ping", {"zen": "Keep it simple."}, SECRET))
    assert ping.json()["result"] == "pong"
    issue = post(url, "/webhooks/github", *github_delivery("issues", github_issue(40), SECRET))
    assert issue.status_code == 202 and issue.json()["key"] == "triage:github:acme/widgets#40"
    nodelivery = github_delivery("pull_request", github_pull_request(10, SHA), SECRET)
    del nodelivery[1]["x-github-delivery"]
    assert post(url, "/webhooks/github", *nodelivery).status_code == 400


def test_healthz_and_metrics(receiver: tuple[str, Service, Logged]) -> None:
    url, service, _ = receiver
    post(url, "/webhooks/github", *github_delivery("pull_request", github_pull_request(11, SHA), SECRET))
    health = httpx2.get(url + "/healthz").json()
    assert health["status"] == "ok" and health["queue"]["queued"] == 1
    service.backpressure.trip("a model call took 200.0s")
    degraded = httpx2.get(url + "/healthz").json()
    assert degraded["status"] == "degraded" and "200.0s" in degraded["backpressure"]["reason"]
    metrics = httpx2.get(url + "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert "mcp_hub_webhook_queue_depth 1.0" in text and "mcp_hub_webhook_backpressure 1.0" in text
    assert 'mcp_hub_webhook_deliveries_total{forge="github",result="queued"} 1.0' in text

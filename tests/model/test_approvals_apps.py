"""Every app that writes can hold a write for a person (`model.app.AgentApp` wires the approvals queue):
`--wait-for-approval` given once reaches the agent, review, triage and the webhook service; a webhook
triage job and `mcp-hub triage --apply` wait in the queue (Redis or PostgreSQL state), shown by
`mcp-hub approvals list`; approved, the labels are written once (the GitHub fake's request log says so);
denied, nothing is written and the outcome says who denied it and why."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_hub.errors import ConfigError
from model import cli
from model.app import AgentApp
from model.review.hubcalls import HubCalls
from tests.connectors.github.fake_state import PAT
from tests.model import test_approvals_e2e as e2e
from tests.model.conftest import MODEL
from tests.model.fake_openai import FakeOpenAI, Reply
from tests.model.test_approvals_e2e import Shared, cli_json, pending_ids

pytestmark = pytest.mark.anyio
#: The e2e tests' shared state fixture (Redis and PostgreSQL), as `mcp-hub approvals --config` reads it.
shared = e2e.shared

ISSUE = "https://github.com/acme/widgets/issues/40"
LABELS_PATH = "/repos/acme/widgets/issues/40/labels"
WRITING_APPS = {
    "agent": ("agent", "Say done"),
    "review": ("review", "https://github.com/acme/widgets/pull/1"),
    "triage": ("triage", "acme/widgets"),
    "webhook": ("webhook",),
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp-hub")
    cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@pytest.fixture
def hub_env(github_served: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "MCP_HUB_MODEL__NAME": MODEL,
    }.items():
        monkeypatch.setenv(key, value)


def triage_reply() -> Reply:
    body = {"summary": "A crash on start.", "labels": ["bug", "performance"], "duplicates": []}
    return Reply(content=json.dumps(body))


def label_posts(github: Any) -> int:
    return sum(1 for method, path, *_ in github.state.log if method == "POST" and path == LABELS_PATH)


def faster(app: AgentApp) -> None:
    waiting = app._waiting
    assert waiting is not None
    waiting.queue.poll_s = waiting.queue.poll_max_s = 0.05


# ---- one flag, every app -----------------------------------------------------------------------


@pytest.mark.parametrize("flag", [True, False], ids=["flag", "no-flag"])
@pytest.mark.parametrize("app_name", list(WRITING_APPS))
async def test_wait_for_approval_given_once_reaches_every_gate_of_every_app(
    app_name: str, flag: bool, hub_env: None, shared: Shared, monkeypatch: pytest.MonkeyPatch, github: Any
) -> None:
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    argv = [*WRITING_APPS[app_name], *(["--wait-for-approval"] if flag else [])]
    app = AgentApp.from_args(parse(*argv), interactive=False)
    assert app.waits is flag
    async with app.session() as session:
        gates = {
            "agent": app.gate(session=session),  # what app.agent() builds
            "workflow": HubCalls(session).gate(("github_add_labels",)),  # review, triage, command answers
        }
        for where, gate in gates.items():
            approver = gate.approver
            if not flag:
                assert approver.queue is None, where
                continue
            assert session.waiting is not None and approver.queue is session.waiting.queue, where
            assert (approver.caller, approver.transport) == ("agent", "memory"), where
        queue = session.waiting.queue if session.waiting else None
    if queue is not None:  # one queue per app, closed with its last session
        assert app._waiting is None and app._waiting_users == 0


async def test_waiting_without_shared_state_is_a_clear_error(hub_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCP_HUB_STATE_URL", raising=False)
    app = AgentApp.from_args(parse("webhook", "--wait-for-approval"), interactive=False)
    with pytest.raises(ConfigError, match=r"needs the hub's shared state: set hub\.state_url"):
        async with app.session():
            pass


async def test_the_app_opens_its_queue_once_for_concurrent_sessions(
    hub_env: None, shared: Shared, monkeypatch: pytest.MonkeyPatch, github: Any
) -> None:
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    app = AgentApp.from_args(parse("webhook", "--wait-for-approval"), interactive=False)
    async with app.approvals() as held, app.session() as one, app.session() as two:
        assert held is not None and one.waiting is held and two.waiting is held
    assert app._waiting is None


# ---- the webhook service: a triage job --------------------------------------------------------


async def run_job_until_decided(
    shared: Shared, base_url: str, tmp_path: Path, decide: list[str] | None
) -> tuple[str | None, list[str]]:
    """A triage job through the real worker and store; with `decide` (the `approvals` argv after the id),
    wait for the held write, decide it from the CLI, and return (the job's outcome, pending ids seen)."""
    from model.triage.settings import TriageSettings
    from model.webhook.jobs import Job
    from model.webhook.runner import ACCESS_TOOLSETS, JobRunner
    from model.webhook.store import open_store
    from model.webhook.worker import Worker

    argv = ["webhook", "--base-url", base_url, *(["--wait-for-approval"] if decide is not None else [])]
    app = AgentApp.from_args(parse(*argv), interactive=False, extra_toolsets=ACCESS_TOOLSETS)
    store = open_store(str(tmp_path / "jobs.db"))
    await store.open()
    job = Job("triage", "github", "acme/widgets", 40, "", ISSUE)
    assert (await store.enqueue(job)).status == "queued"
    seen: list[str] = []
    stop = anyio.Event()
    try:
        async with app.approvals(), app.client() as client:  # as `serve` holds it for the service
            if app.waits:
                faster(app)
            runner = JobRunner(app, client, TriageSettings())
            # A short lease and two slots: were the lease not renewed while the job waits, the other slot
            # would take the job over and a second approval would appear.
            worker = Worker(store, runner, concurrency=2, lease_s=0.6, poll_s=0.05)
            with anyio.fail_after(60):
                async with anyio.create_task_group() as group:
                    group.start_soon(worker.run, stop)
                    if decide is not None:
                        [approval_id] = await pending_ids(shared)
                        seen.append(approval_id)
                        await anyio.sleep(1.5)  # past two leases: still one approval, one run
                        code, listed = await cli_json(shared, "list", "--json")
                        assert code == 0 and [i["id"] for i in listed["items"]] == [approval_id]
                        code, decided = await cli_json(shared, decide[0], approval_id, *decide[1:], "--json")
                        assert code == 0 and decided["won"], decided
                    while (outcome := await store.outcome(job.key)) is None:
                        await anyio.sleep(0.05)
                    stop.set()
    finally:
        await store.close()
    return outcome, seen


async def test_a_webhook_triage_jobs_held_labels_are_written_once_when_approved(
    fake: FakeOpenAI, base_url: str, github: Any, hub_env: None, shared: Shared, tmp_path: Path, monkeypatch: Any
) -> None:
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    fake.push(triage_reply())
    fake.repeat = True  # a second run of the job (a lost lease) would get its answer and hold a second write
    outcome, _ = await run_job_until_decided(shared, base_url, tmp_path, ["approve", "--by", "alice"])
    assert outcome is not None and outcome.startswith("triaged: labels bug, performance (applied)"), outcome
    assert label_posts(github) == 1
    assert github.state.issues["acme/widgets"][40]["labels"] == ["bug", "performance"]
    code, listed = await cli_json(shared, "list", "--status", "approved", "--json")
    assert code == 0 and [i["tool"] for i in listed["items"]] == ["github_add_labels"]
    assert listed["items"][0]["caller"] == "agent" and listed["items"][0]["decided_by"] == "alice"


async def test_a_webhook_triage_jobs_denied_labels_are_not_written_and_the_outcome_says_so(
    fake: FakeOpenAI, base_url: str, github: Any, hub_env: None, shared: Shared, tmp_path: Path, monkeypatch: Any
) -> None:
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    fake.push(triage_reply())
    note = "not a bug, a question"
    outcome, _ = await run_job_until_decided(shared, base_url, tmp_path, ["deny", "--by", "carol", "--note", note])
    assert outcome is not None and "not approved (queue-denied)" in outcome, outcome
    assert f"denied in the approvals queue by carol: {note}" in outcome
    assert label_posts(github) == 0


async def test_without_waiting_a_webhook_triage_job_holds_nothing_and_writes_nothing(
    fake: FakeOpenAI, base_url: str, github: Any, hub_env: None, shared: Shared, tmp_path: Path, monkeypatch: Any
) -> None:
    """The control: what waiting replaces (no `[triage] approve`: the job only reports)."""
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    fake.push(triage_reply())
    outcome, _ = await run_job_until_decided(shared, base_url, tmp_path, None)
    assert outcome is not None and outcome.startswith("triaged: labels bug"), outcome
    assert label_posts(github) == 0 and github.state.issues["acme/widgets"][40]["labels"] == ["bug"]
    code, listed = await cli_json(shared, "list", "--json")
    assert code == 0 and listed["items"] == []


# ---- `mcp-hub triage --apply --wait-for-approval` ---------------------------------------------------


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "denied"])
async def test_mcp_hub_triage_waits_for_a_person_then_writes_once_or_not_at_all(
    approve: bool,
    fake: FakeOpenAI,
    base_url: str,
    github: Any,
    hub_env: None,
    shared: Shared,
    monkeypatch: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in shared.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MCP_HUB_APPROVAL_TIMEOUT_S", "30")  # a failing test ends with the expiry, not in 1 h
    monkeypatch.setattr("mcp_hub.approvals.queue.POLL_MAX_S", 0.1)
    fake.push(triage_reply())
    argv = ["triage", "acme/widgets", "--issue", "40", "--apply", "--wait-for-approval", "--json"]
    argv += ["--base-url", base_url]
    codes: list[int] = []

    def triage() -> None:  # its own event loop, as the command runs; prints its report when decided
        codes.append(cli.run(parse(*argv)))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, triage)
            [approval_id] = await pending_ids(shared)
            assert label_posts(github) == 0  # nothing written while it waits
            decision = ["approve", "--by", "dave"] if approve else ["deny", "--by", "erin", "--note", "wrong label"]
            code, decided = await cli_json(shared, decision[0], approval_id, *decision[1:], "--json")
            assert code == 0 and decided["won"]
    assert codes == [0]
    report = json.loads(capsys.readouterr().out)
    [issue] = report["issues"]
    if approve:
        assert issue["labels_outcome"] == "applied" and label_posts(github) == 1
    else:
        assert "denied in the approvals queue by erin: wrong label" in issue["labels_outcome"]
        assert label_posts(github) == 0

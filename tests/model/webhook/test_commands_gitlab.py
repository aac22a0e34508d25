"""Comment commands on GitLab (Note Hook -> reply in the note's discussion, member access asked of GitLab), and
`/review` on GitHub (the review posted, then a reply with its outcome)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from connectors.github import GithubConnector
from connectors.gitlab import GitlabConnector
from mcp_hub.config import load_config
from mcp_hub.logs import EventLog
from mcp_hub.registry import Registry
from model.app import AgentApp
from model.endpoint import resolve_endpoint
from model.review.render import SUMMARY_MARKER
from model.settings import ModelSettings
from model.triage.settings import TriageSettings
from model.webhook import answer as answer_module
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure, MeteredClient
from model.webhook.metrics import Metrics
from model.webhook.runner import ACCESS_TOOLSETS, JobRunner
from model.webhook.settings import take_webhook_settings
from model.webhook.store import Store, open_store
from model.webhook.worker import Worker
from tests.connectors.github.fake_state import PAT
from tests.model.fake_openai import FakeOpenAI, Reply
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.webhook.payloads import github_delivery, github_issue_comment, gitlab_delivery, gitlab_note
from tests.model.webhook.test_commands import OBEYING, Quiet, problems
from tests.support.http_server import serve_in_thread

pytestmark = pytest.mark.anyio
MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"
SECRET = "gl-webhook-token-commands-test"
DISCUSSION = "d" + "4" * 39


@pytest.fixture(scope="module")
def gitlab_served() -> Iterator[tuple[Any, str]]:
    from tests.connectors.gitlab.fake.app import FakeGitlab
    from tests.connectors.gitlab.fake.state import State

    app = FakeGitlab(State())
    with serve_in_thread(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def reviewer() -> Iterator[tuple[FakeReviewer, str]]:
    fake = FakeReviewer()
    with serve_in_thread(fake.app) as base:
        yield fake, base + "/v1"


async def drain(store: Store, runner: JobRunner) -> None:
    stop = anyio.Event()
    worker = Worker(store, runner, concurrency=1, lease_s=30, poll_s=0.02, log=EventLog(stream=Quiet()))  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run, stop)
        with anyio.fail_after(30):
            while (await store.counts())["queued"] or (await store.counts())["running"]:
                await anyio.sleep(0.05)
        stop.set()


async def post(app: Any, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://hub.test") as http:
        response = await http.post(path, content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    return dict(response.json())


class GitlabRig:
    def __init__(self, gitlab: Any, store: Store, app: Any, runner: JobRunner) -> None:
        self.gitlab, self.store, self.app, self.runner = gitlab, store, app, runner

    def discussion(self) -> list[dict[str, Any]]:
        project = self.gitlab.state.project("acme/app")
        return list(next(d for d in project.discussions[1] if d["id"] == DISCUSSION)["notes"])

    async def note(self, username: str, body: str, note_id: int) -> dict[str, Any]:
        """`username` writes `body` in the discussion, and GitLab delivers the Note Hook."""
        user = self.gitlab.state.user(username)
        self.discussion()  # the discussion exists
        project = self.gitlab.state.project("acme/app")
        thread = next(d for d in project.discussions[1] if d["id"] == DISCUSSION)
        thread["notes"].append({"id": note_id, "type": "DiscussionNote", "body": body, "author": user, "system": False})
        payload = gitlab_note(1, body, user, note_id, DISCUSSION)
        result = await post(self.app, "/webhooks/gitlab", *gitlab_delivery("Note Hook", payload, SECRET))
        await drain(self.store, self.runner)
        return result


@pytest.fixture
async def gl(
    tmp_path: Path, gitlab_served: tuple[Any, str], fake: FakeOpenAI, base_url: str
) -> AsyncIterator[GitlabRig]:
    from tests.connectors.gitlab.fake.state import TOKEN, State

    gitlab = gitlab_served[0]
    gitlab.state = State()
    project = gitlab.state.project("acme/app")
    project.members.append("gus")
    project.access["gus"] = 10  # a Guest
    project.discussions[1].append({"id": DISCUSSION, "individual_note": False, "notes": []})
    registry = Registry([GitlabConnector])
    env = {
        "GITLAB_TOKEN": TOKEN,
        "GITLAB_URL": gitlab_served[1],
        "MCP_HUB_CONNECTORS": "gitlab",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_WEBHOOK__GITLAB_TOKEN": SECRET,
    }
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    store = open_store(f"sqlite:///{tmp_path}/q.db")
    await store.open()
    pressure = Backpressure(60, 10)
    service = Service(take_webhook_settings(config), store, Metrics(), pressure, EventLog(stream=Quiet()))  # type: ignore[arg-type]
    async with MeteredClient(resolve_endpoint("vllm", base_url, env={}), backpressure=pressure) as client:
        runner = JobRunner(
            AgentApp.from_config(
                config, registry, ModelSettings(profile=MODEL, name=MODEL), extra_toolsets=ACCESS_TOOLSETS
            ),
            client,
            TriageSettings(),
        )
        yield GitlabRig(gitlab, store, build_app(service), runner)
    await store.close()


def bot_notes(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [n for n in notes if n["author"]["username"] == "hub-bot"]


async def test_a_developer_s_ask_is_answered_in_the_discussion_sanitised(gl: GitlabRig, fake: FakeOpenAI) -> None:
    fake.push(Reply(content=OBEYING))
    result = await gl.note("alice", "/ask what does this MR change?", 8001)
    assert result["result"] == "queued"
    [answer] = bot_notes(gl.discussion())
    assert "mcp-hub-review:answer:note-8001" in answer["body"] and problems(answer["body"]) == []
    assert "what does this MR change?" in fake.requests[0]["messages"][-1]["content"]
    member = gl.gitlab.state.user("alice")["id"]
    assert ("GET", f"/api/v4/projects/1/members/all/{member}") in gl.gitlab.state.requests


@pytest.mark.parametrize("off", [False, True], ids=["checked", "check-off"])
@pytest.mark.parametrize("who", ["mallory", "gus"])  # no member (GitLab's 404); a Guest (10)
async def test_only_developers_and_above_command_the_bot(
    gl: GitlabRig, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, off: bool, who: str
) -> None:
    async def no_check(*_: Any) -> None:
        return None

    if off:
        monkeypatch.setattr(answer_module, "_refusal", no_check)
    fake.push(Reply(content="An answer."))
    result = await gl.note(who, "/ask anything?", 8002)
    if off:
        assert len(bot_notes(gl.discussion())) == 1  # what the check prevents
        return
    assert bot_notes(gl.discussion()) == [] and fake.requests == []
    outcome = await gl.store.outcome(result["key"])
    assert outcome is not None and outcome.startswith("refused (no reply): ")


async def test_the_bot_s_own_note_never_triggers(gl: GitlabRig, fake: FakeOpenAI) -> None:
    fake.push(Reply(content="An answer."))
    result = await gl.note("hub-bot", "/ask again?", 8003)  # the bot is a Developer on the project
    assert bot_notes(gl.discussion())[-1]["id"] == 8003 and len(bot_notes(gl.discussion())) == 1
    assert fake.requests == [] and await gl.store.outcome(result["key"]) == "ignored: the bot's own comment"


async def test_review_command_reviews_then_replies(
    tmp_path: Path, github: Any, github_served: tuple[Any, str], reviewer: tuple[FakeReviewer, str]
) -> None:
    reviewer[0].reset()
    github.state.roles["acme/widgets"] = {"alice": "admin"}
    registry = Registry([GithubConnector])
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_WEBHOOK__GITHUB_SECRET": SECRET,
    }
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    store = open_store(f"sqlite:///{tmp_path}/q.db")
    await store.open()
    pressure = Backpressure(60, 10)
    service = Service(take_webhook_settings(config), store, Metrics(), pressure, EventLog(stream=Quiet()))  # type: ignore[arg-type]
    async with MeteredClient(resolve_endpoint("vllm", reviewer[1], env={}), backpressure=pressure) as client:
        runner = JobRunner(
            AgentApp.from_config(
                config, registry, ModelSettings(profile=MODEL, name=MODEL), extra_toolsets=ACCESS_TOOLSETS
            ),
            client,
            TriageSettings(),
        )
        app = build_app(service)
        body, headers = github_delivery("issue_comment", github_issue_comment(4, "/review", "alice", 7200), SECRET)
        result = await post(app, "/webhooks/github", body, headers)
        await drain(store, runner)
    head = github.state.repos["acme/widgets"].branches["feature-x"]
    comments = github.state.comments["acme/widgets"][4]
    summaries = [c for c in comments if SUMMARY_MARKER in c["body"]]
    [reply] = [c for c in comments if "mcp-hub-review:answer:issue-7200" in c["body"]]
    assert len(summaries) == 1 and f"Reviewed head `{head[:12]}`" in reply["body"]
    assert (await store.outcome(result["key"]) or "").startswith(f"answered /review: reviewed {head[:12]}")
    await store.close()

"""Triage tests: the real hub (GitHub on the GitHub fake, Slack on the Slack fake, GitLab on its fake) and a
scripted model, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from model.hub import AGENT_CALLER
from tests.connectors.github.fake_state import PAT
from tests.connectors.slack.conftest import BOT_TOKEN, USER_TOKEN, seed
from tests.connectors.slack.fake_slack import FakeSlack
from tests.support.http_server import serve_in_thread


class SwappableSlack:
    """One server for the session, a fresh seeded fake per test."""

    def __init__(self) -> None:
        self.fake = FakeSlack(BOT_TOKEN, USER_TOKEN)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.fake.app()(scope, receive, send)


@pytest.fixture(scope="session")
def slack_served() -> Iterator[tuple[SwappableSlack, str]]:
    app = SwappableSlack()
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture
def slack(slack_served: tuple[SwappableSlack, str]) -> Iterator[FakeSlack]:
    app = slack_served[0]
    app.fake = FakeSlack(BOT_TOKEN, USER_TOKEN)
    seed(app.fake)
    yield app.fake
    assert app.fake.contract_errors == []


def triage_hub(github_api: str, slack_url: str, *, writes: bool = True, gitlab_url: str | None = None) -> HubServer:
    from connectors.github import GithubConnector
    from connectors.gitlab import GitlabConnector
    from connectors.slack import SlackConnector
    from tests.connectors.gitlab.fake.state import TOKEN

    registry = Registry([GithubConnector, SlackConnector, GitlabConnector])
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_api,
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "MCP_HUB_SLACK__BASE_URL": slack_url,
        "MCP_HUB_SLACK__POST_CHANNELS": "general",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_CONNECTORS": "github,slack" + (",gitlab" if gitlab_url else ""),
    }
    if gitlab_url:
        env |= {"GITLAB_TOKEN": TOKEN, "GITLAB_URL": gitlab_url}
    if writes:
        env["MCP_HUB_ALLOW_WRITES"] = "1"
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))


@pytest.fixture(scope="session")
def gitlab_served() -> Iterator[tuple[Any, str]]:
    from tests.connectors.gitlab.fake.app import FakeGitlab
    from tests.connectors.gitlab.fake.state import State

    app = FakeGitlab(State())
    with serve_in_thread(app) as base:
        yield app, base


@pytest.fixture
def gitlab(gitlab_served: tuple[Any, str]) -> Any:
    from tests.connectors.gitlab.fake.state import State

    gitlab_served[0].state = State()
    return gitlab_served[0]

"""Review tests: the real hub (GitHub connector on the GitHub fake, GitLab connector on the GitLab fake)
and a reviewing fake model, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from model.hub import AGENT_CALLER, HubSession, open_hub
from tests.connectors.github.fake_state import PAT
from tests.model.review.fake_reviewer import FakeReviewer
from tests.support.http_server import serve_in_thread

MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"


@pytest.fixture(scope="session")
def reviewer_served() -> Iterator[tuple[FakeReviewer, str]]:
    fake = FakeReviewer()
    with serve_in_thread(fake.app) as base:
        yield fake, base + "/v1"


@pytest.fixture
def reviewer(reviewer_served: tuple[FakeReviewer, str]) -> FakeReviewer:
    reviewer_served[0].reset()
    return reviewer_served[0]


@pytest.fixture
def model_url(reviewer_served: tuple[FakeReviewer, str]) -> str:
    return reviewer_served[1]


def github_env(api: str, *, writes: bool = True, audit_log: Path | None = None) -> dict[str, str]:
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": api,
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
    }
    if writes:
        env["MCP_HUB_ALLOW_WRITES"] = "1"
    if audit_log is not None:
        env["MCP_HUB_AUDIT_LOG"] = str(audit_log)
    return env


def github_hub(api: str, *, writes: bool = True, audit_log: Path | None = None) -> HubServer:
    registry = Registry([GithubConnector])
    config = load_config(
        env=github_env(api, writes=writes, audit_log=audit_log), ecosystem_env=registry.ecosystem_env()
    )
    return build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))


@pytest.fixture
async def gh_session(github: Any, github_served: tuple[Any, str]) -> AsyncIterator[HubSession]:
    async with open_hub(github_hub(github_served[1])) as session:
        yield session


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def model_client(model_url: str) -> AsyncIterator[ModelClient]:
    client = ModelClient(resolve_endpoint("vllm", model_url, env={}), ClientOptions(attempts=2), sleep=_no_sleep)
    async with client:
        yield client


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


def gitlab_hub(base: str, *, writes: bool = True) -> HubServer:
    from connectors.gitlab import GitlabConnector
    from tests.connectors.gitlab.fake.state import TOKEN

    registry = Registry([GitlabConnector])
    env = {"GITLAB_TOKEN": TOKEN, "GITLAB_URL": base, "MCP_HUB_CONNECTORS": "gitlab"}
    if writes:
        env["MCP_HUB_ALLOW_WRITES"] = "1"
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))


@pytest.fixture
async def gl_session(gitlab: Any, gitlab_served: tuple[Any, str]) -> AsyncIterator[HubSession]:
    async with open_hub(gitlab_hub(gitlab_served[1])) as session:
        yield session

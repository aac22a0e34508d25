"""A fake GitLab on 127.0.0.1 (one server for the session, fresh state per test) and hubs pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client

from connectors.gitlab import GitlabConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.connectors.gitlab.fake.app import FakeGitlab
from tests.connectors.gitlab.fake.state import TOKEN, State
from tests.support.http_server import serve_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Fake:
    url: str
    app: FakeGitlab

    @property
    def state(self) -> State:
        return self.app.state


@pytest.fixture(scope="session")
def fake_server() -> Iterator[Fake]:
    app = FakeGitlab(State())
    with serve_in_thread(app) as url:
        yield Fake(url, app)


@pytest.fixture
def fake(fake_server: Fake) -> Fake:
    fake_server.app.state = State()
    return fake_server


@pytest.fixture
def make_hub(fake: Fake) -> Callable[..., HubServer]:
    """Build a hub on the fake; the same arguments within one test give the same hub (building one costs ~0.15 s)."""
    built: dict[str, HubServer] = {}

    def make(
        env: dict[str, str] | None = None, writes: bool = False, lockdown: bool = False, replica: int = 0
    ) -> HubServer:
        """`replica` > 0 builds another hub with the same settings (another replica of one deployment)."""
        key = repr((sorted((env or {}).items()), writes, lockdown, replica))
        if key not in built:
            built[key] = build(env, writes, lockdown)
        return built[key]

    def build(env: dict[str, str] | None, writes: bool, lockdown: bool) -> HubServer:
        registry = Registry([GitlabConnector])
        full = {"GITLAB_TOKEN": TOKEN, "GITLAB_URL": fake.url, "MCP_HUB_TOOLSETS": "all"}
        if writes:
            full |= {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_ALLOW_DESTRUCTIVE": "1"}
        config = load_config(env=full | (env or {}), ecosystem_env=registry.ecosystem_env())
        caller = Caller("local", "memory", hub_policy(config), lockdown=lockdown)
        return build_server(config, registry=registry, caller=caller)

    return make


async def call(hub: HubServer, tool: str, args: dict[str, Any]) -> Any:
    """Call one tool in a fresh in-memory session."""
    async with Client(hub) as client:
        return await client.call_tool(tool, args)


Make = Callable[..., HubServer]

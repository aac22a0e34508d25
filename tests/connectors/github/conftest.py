from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.connectors.github.contract import Contract
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT
from tests.support.http_server import serve_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def served() -> Iterator[tuple[FakeGithub, str]]:
    fake = FakeGithub()
    with serve_in_thread(fake.app) as base:
        yield fake, base


#: One line per session: how many exchanges the contract checker validated (see contract.py).
_summaries: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in _summaries:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def contract() -> Iterator[Contract]:
    checker = Contract()
    yield checker
    _summaries.append(checker.summary())


@pytest.fixture
def fake(served: tuple[FakeGithub, str], contract: Contract) -> Iterator[FakeGithub]:
    """The fake, reset; every request and response of the test is checked against the OpenAPI
    description, and the test fails (at teardown) on any violation."""
    served[0].reset()
    served[0].validator = contract
    contract.take()
    yield served[0]
    violations = contract.take()
    if violations:
        pytest.fail(Contract.report(violations), pytrace=False)


@pytest.fixture
def api(served: tuple[FakeGithub, str]) -> str:
    return served[1] + "/api/v3"


@pytest.fixture
def make_hub(fake: FakeGithub, api: str) -> Callable[..., HubServer]:
    def make(
        env: dict[str, str] | None = None, *, lockdown: bool = False, writes: bool = False, **hub: Any
    ) -> HubServer:
        registry = Registry([GithubConnector])
        base_env = {
            "GITHUB_TOKEN": PAT,
            "GITHUB_API_URL": api,
            "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
            "MCP_HUB_TOOLSETS": "all",
        }
        if writes:
            base_env |= {"MCP_HUB_ALLOW_WRITES": "1", "MCP_HUB_ALLOW_DESTRUCTIVE": "1"}
        config = load_config(env=base_env | (env or {}), ecosystem_env=registry.ecosystem_env())
        caller = Caller("local", "memory", hub_policy(config), lockdown=lockdown)
        return build_server(config, registry=registry, caller=caller, **hub)

    return make

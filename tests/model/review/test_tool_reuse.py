"""The review MCP tool calls back into the hub it runs in: no second hub, no second GitHub connector,
per call; its reads are the agent's in the hub's one audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

import mcp_hub.server
from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from model.review.tool import ReviewWorkflow
from tests.model.review.conftest import github_env
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import SMALL_CHANGE, add_pull, url
from tests.model.review.test_tool import outer_hub

pytestmark = pytest.mark.anyio


async def test_each_call_reuses_the_running_hub(
    github: Any,
    github_served: tuple[Any, str],
    model_url: str,
    reviewer: FakeReviewer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    number = add_pull(github, SMALL_CHANGE)
    hub = outer_hub(monkeypatch, github_served[1], model_url, audit, approve=False)
    built: list[Any] = []
    connectors: list[Any] = []
    build = mcp_hub.server.build_server
    monkeypatch.setattr(mcp_hub.server, "build_server", lambda *a, **k: built.append(1) or build(*a, **k))
    init = GithubConnector.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        connectors.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(GithubConnector, "__init__", counted)
    async with Client(hub) as client:
        for _ in range(3):
            result = await client.call_tool("review_pull_request", {"url": url(number)})
            assert not result.is_error, result.content
    assert built == [] and connectors == []  # nothing built per call
    assert len(reviewer.requests) == 3
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    callers = {(e["caller"], e["transport"]) for e in entries if e["tool"].startswith("github_")}
    assert callers == {("agent", "memory")}  # the review's reads: the agent's, in the hub's own log
    assert not [e for e in entries if e["caller"] == "agent" and e["tool"].startswith("review_")]


def test_the_old_hub_config_key_is_accepted_and_named_unused(
    github_served: tuple[Any, str], model_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = Registry([GithubConnector, ReviewWorkflow])
    env = github_env(github_served[1]) | {
        "MCP_HUB_REVIEW__BASE_URL": model_url,
        "MCP_HUB_REVIEW__HUB_CONFIG": "/etc/mcp-hub/other.toml",
    }
    env.pop("MCP_HUB_CONNECTORS")
    hub = build_server(load_config(env=env, ecosystem_env=registry.ecosystem_env()), registry=registry)
    assert any(c.name == "review" for c in hub.connectors)
    assert "hub_config is no longer used" in caplog.text and "remove the key" in caplog.text

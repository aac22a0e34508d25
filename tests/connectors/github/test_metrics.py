"""The upstream rate-limit gauge follows GitHub's `x-ratelimit-remaining`, per instance."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client

from mcp_hub import metrics
from mcp_hub.server import HubServer
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.test_reads import W
from tests.support.metrics import value

pytestmark = pytest.mark.anyio


async def test_rate_limit_remaining_gauge(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    metrics.enable()
    fake.state.rate_remaining = 4321
    async with Client(make_hub()) as client:
        await client.call_tool("github_list_issues", {"repo": W})
        first = value(
            metrics.render().decode(), "mcp_hub_upstream_ratelimit_remaining", connector="github", instance="default"
        )
        await client.call_tool("github_get_issue", {"repo": W, "number": 40})
    second = value(
        metrics.render().decode(), "mcp_hub_upstream_ratelimit_remaining", connector="github", instance="default"
    )
    assert 4300 < second < first <= 4320
    assert second == fake.state.rate_remaining

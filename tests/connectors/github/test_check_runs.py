"""`github_create_check_run` as a GitHub App, every exchange checked against GitHub's OpenAPI description."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client

from mcp_hub.server import HubServer
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.test_reliability import app_env

pytestmark = pytest.mark.anyio


async def test_check_run_with_annotations_in_batches(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    sha = fake.state.repos["acme/widgets"].branches["main"]
    notes = [
        {"path": "README.md", "start_line": 1, "end_line": 2, "annotation_level": "warning", "message": f"note {i}"}
        for i in range(60)
    ]
    args = {"repo": "acme/widgets", "head_sha": sha, "name": "review", "conclusion": "neutral", "title": "60 notes",
            "summary": "**Review**", "annotations": notes}  # fmt: skip
    async with Client(make_hub(app_env(fake), writes=True)) as client:
        result = await client.call_tool("github_create_check_run", args)
        assert not result.is_error, result.content
        assert result.structured_content["state"] == "neutral"
        too_many = await client.call_tool("github_create_check_run", args | {"annotations": notes * 9})
        assert too_many.is_error and "annotations" in too_many.content[0].text  # over 500: refused before sending
    [run] = [r for r in fake.state.check_runs[sha] if r.get("name") == "review"]
    assert len(run["annotations"]) == 60 and run["conclusion"] == "neutral" and run["summary"] == "**Review**"
    assert fake.state.count("POST", "/check-runs") == 1 and fake.state.count("PATCH", "/check-runs/") == 1

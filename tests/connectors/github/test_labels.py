"""The repository's labels (paged) and adding labels to an issue, against the contract-checked fake."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from mcp_hub.server import HubServer
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.test_reads import W, call, prov

pytestmark = pytest.mark.anyio


async def test_list_labels_pages_with_link_headers(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    hub = make_hub()
    first = await call(hub, "list_labels", repo=W, limit=4)
    data = first.structured_content
    assert [x["name"] for x in data["labels"]] == ["bug", "documentation", "duplicate", "enhancement"]
    assert data["labels"][0]["description"] == "Something isn't working" and data["truncated"] is True
    rest = (await call(hub, "list_labels", repo=W, limit=4, cursor=data["next_cursor"])).structured_content
    assert [x["name"] for x in rest["labels"]] == ["good first issue", "question", "performance"]
    assert rest["next_cursor"] is None and rest["labels"][-1]["description"] is None
    assert prov(first)["visibility"] == "public" and prov(first)["resource"] == "github://acme/widgets/labels"
    assert fake.state.count("GET", "/labels") == 2


async def test_add_labels_keeps_existing_ones(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    added = await call(make_hub(writes=True), "add_labels", repo=W, number=40, labels=["question", "bug"])
    assert not added.is_error, added.content[0].text
    assert fake.state.issues["acme/widgets"][40]["labels"] == ["bug", "question"]
    assert fake.state.count("POST", "/issues/40/labels") == 1


async def test_add_labels_is_a_write(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    async with Client(make_hub()) as client:
        with pytest.raises(MCPError) as refused:  # hidden: an unknown tool, JSON-RPC -32602
            await client.call_tool("github_add_labels", {"repo": W, "number": 40, "labels": ["question"]})
    assert refused.value.code == INVALID_PARAMS and fake.state.count("POST") == 0
    empty = await call(make_hub(writes=True), "add_labels", repo=W, number=40, labels=[])
    assert empty.is_error and fake.state.count("POST") == 0

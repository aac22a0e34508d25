"""GitHub on the kit: labels from the request actually sent, refusals audited, the ETag cache under its lock."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from connectors.github import GithubConnector, GithubSettings
from connectors.github.client import EtagCache
from mcp_hub.connector import ConnectorContext
from mcp_hub.redaction import Redactor
from mcp_hub.server import HubServer
from tests.connectors.github.contract import Contract
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT, Injected

pytestmark = pytest.mark.anyio


def prov(result: Any) -> dict[str, Any]:
    return dict(result.meta["mcp_hub/provenance"])


async def test_a_label_follows_where_the_request_went_not_the_argument(
    make_hub: Callable[..., HubServer], fake: FakeGithub, api: str, contract: Contract
) -> None:
    """GitHub answers a renamed repository with a 301; PyGithub follows it, the guard checks the new path,
    and the result is labelled with the repository it really came from (private), not the one asked for."""
    moved = {"location": f"{api}/repos/acme/secret/contents/keys.txt"}
    fake.state.inject.append(Injected(301, None, moved, path_contains="/repos/acme/widgets/contents/keys.txt"))
    async with Client(make_hub({"MCP_HUB_GITHUB__REPOS": "acme/*"})) as client:
        result = await client.call_tool("github_get_contents", {"repo": "acme/widgets", "path": "keys.txt"})
    assert not result.is_error, result.content
    assert prov(result)["resource"] == "github://acme/secret/contents/keys.txt"
    assert prov(result)["visibility"] == "private"
    assert_only_the_injected_redirect(contract)


def assert_only_the_injected_redirect(contract: Contract) -> None:
    """The trimmed description lists no 301 for this operation (GitHub sends one for any renamed repository)."""
    violations = contract.take()
    assert len(violations) == 1 and "301" in Contract.report(violations)


async def test_a_redirect_out_of_the_allow_list_is_refused_and_audited(
    make_hub: Callable[..., HubServer], fake: FakeGithub, tmp_path: Path, api: str, contract: Contract
) -> None:
    audit = tmp_path / "audit.jsonl"
    moved = {"location": f"{api}/repos/acme/secret/contents/keys.txt"}
    fake.state.inject.append(Injected(301, None, moved, path_contains="/repos/acme/widgets/contents/keys.txt"))
    hub = make_hub({"MCP_HUB_GITHUB__REPOS": "acme/widgets", "MCP_HUB_AUDIT_LOG": str(audit)})
    async with Client(hub) as client:
        followed = await client.call_tool("github_get_contents", {"repo": "acme/widgets", "path": "keys.txt"})
        searched = await client.call_tool("github_search_issues", {"query": "keys user:acme"})
    for result in (followed, searched):
        assert result.is_error and (result.meta or {}).get("mcp_hub/error") == "denied", result.content
    assert "not on this account's repositories" in followed.content[0].text  # type: ignore[union-attr]
    assert "user:acme" in searched.content[0].text  # type: ignore[union-attr]
    assert not [w for w in fake.state.wire if "secret" in w.path or "search" in w.path]
    outcomes = [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
    assert outcomes == ["denied", "denied"]
    assert_only_the_injected_redirect(contract)


class LockedOnly(OrderedDict[str, Any]):
    """An LRU that notes every access made without the cache's lock held."""

    def __init__(self, lock: Any, unlocked: list[str]) -> None:
        super().__init__()
        self.lock, self.unlocked = lock, unlocked

    def _check(self, what: str) -> None:
        if not self.lock.locked():
            self.unlocked.append(f"{what} in {threading.current_thread().name}")

    def get(self, key: str, default: Any = None) -> Any:
        self._check("get")
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._check("set")
        super().__setitem__(key, value)

    def move_to_end(self, key: str, last: bool = True) -> None:
        self._check("move_to_end")
        super().move_to_end(key, last)

    def popitem(self, last: bool = True) -> tuple[str, Any]:
        self._check("popitem")
        return super().popitem(last)


async def test_the_etag_cache_is_only_touched_under_its_lock(api: str, fake: FakeGithub) -> None:
    settings = GithubSettings(token=PAT, base_url=api, etag_cache_entries=3, max_concurrency=8, retry_base_delay_s=0)
    client = GithubConnector("default", settings, ConnectorContext(Redactor())).client
    unlocked: list[str] = []
    cache: EtagCache = client.cache
    cache._entries = LockedOnly(cache._lock, unlocked)  # the test watches the cache from inside
    paths = [f"/repos/acme/widgets/{p}" for p in ("branches", "labels", "issues", "pulls", "commits")]

    async def read(path: str) -> None:
        await client.get(path, what=path)

    async with anyio.create_task_group() as tasks:
        for _ in range(4):  # several threads at once, more URLs than entries: hits, refreshes and evictions race
            for path in paths:
                tasks.start_soon(read, path)
    client.close()
    assert unlocked == []
    assert client.stats.requests == 20 and len(cache) == 3
    assert client.stats.not_modified > 0  # the cache answered some of them

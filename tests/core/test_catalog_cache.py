"""The catalog cache: `serve` lists connectors' tools from disk and imports a connector on its first call."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mcp_hub.config import load_config
from mcp_hub.connector import ConnectorManifest
from mcp_hub.deferred import DeferredTool
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server, hub_policy
from tests.pg import TestDatabase

PLACEHOLDERS = {
    "GITHUB_TOKEN": "placeholder-gh",
    "GITLAB_TOKEN": "placeholder-gl",
    "SLACK_BOT_TOKEN": "placeholder-sl",
    "MCP_HUB_TOOLSETS": "all",
    "MCP_HUB_ALLOW_WRITES": "1",
    "MCP_HUB_ALLOW_DESTRUCTIVE": "1",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mcp-hub"


def _hub(registry: Registry, env: dict[str, str], *, cache: bool, **config: Any) -> HubServer:
    loaded = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    for section, values in config.items():
        loaded.connectors[section] = {**loaded.connectors.get(section, {}), **values}
    caller = Caller("local", "memory", hub_policy(loaded))
    return build_server(loaded, registry=registry, caller=caller, include_unconfigured=False, use_catalog_cache=cache)


async def _listing(server: HubServer) -> str:
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await server.list_tools()]
    templates = [
        t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await server.list_resource_templates()
    ]
    return json.dumps({"tools": tools, "templates": templates}, sort_keys=False)


def _drive_credentials(tmp_path: Path) -> str:
    path = tmp_path / "service-account.json"
    account = {
        "type": "service_account",
        "client_email": "test@example.iam.gserviceaccount.com",
        "private_key": "placeholder",
        "private_key_id": "k",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",
    }
    path.write_text(json.dumps(account))
    return str(path)


def test_manifests_name_the_same_settings_requirements_and_extra_as_the_classes() -> None:
    registry = Registry.discover()
    checked = 0
    for name, manifest in registry.manifests.items():
        if not manifest.settings:
            continue
        cls = manifest.load()
        assert manifest.load_settings_model() is cls.settings_model, name
        assert (manifest.requires, manifest.extra) == (cls.requires, cls.extra), name
        checked += 1
    assert checked >= 5


@pytest.mark.anyio
@pytest.mark.parametrize("connector", ["postgres", "github", "gitlab", "slack", "gdrive"])
@pytest.mark.parametrize("instances", [1, 2])
async def test_listing_from_the_cache_equals_the_eager_one(
    connector: str, instances: int, cache_home: Path, tmp_path: Path
) -> None:
    registry = Registry.discover([connector])
    env = PLACEHOLDERS | {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x",
        "GOOGLE_APPLICATION_CREDENTIALS": _drive_credentials(tmp_path),
    }
    extra: dict[str, Any] = {}
    if instances == 2:  # a named second instance: every tool gains the `instance` enum
        extra[connector] = {"instances": {"second": {}}}
    eager = await _listing(_hub(registry, env, cache=False, **extra))
    missed = _hub(registry, env, cache=True, **extra)
    assert missed.connectors, "a miss builds the connector eagerly"
    assert len(list(cache_home.glob(f"catalog-{connector}-*.json"))) == 1
    assert await _listing(missed) == eager
    hit = _hub(registry, env, cache=True, **extra)
    assert hit.connectors == [], "a hit imports nothing until a call"
    assert all(isinstance(t, DeferredTool) for t in hit._tool_manager.list_tools())
    assert await _listing(hit) == eager


def test_the_cache_can_be_turned_off(cache_home: Path) -> None:
    registry = Registry.discover(["postgres"])
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x", "MCP_HUB_HUB__CATALOG_CACHE": "0"}
    _hub(registry, env, cache=True)
    assert not cache_home.exists()
    assert _hub(registry, env, cache=True).connectors


@pytest.mark.anyio
async def test_a_corrupt_cache_is_ignored_and_rewritten(cache_home: Path) -> None:
    registry = Registry.discover(["postgres"])
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x", "MCP_HUB_TOOLSETS": "all"}
    eager = await _listing(_hub(registry, env, cache=True))
    (path,) = cache_home.glob("catalog-postgres-*.json")
    for garbage in ("{not json", json.dumps({"format": 1, "key": "other", "connector": "postgres"}), "[]"):
        path.write_text(garbage)
        rebuilt = _hub(registry, env, cache=True)
        assert rebuilt.connectors, "a corrupt cache is not used"
        assert await _listing(rebuilt) == eager
        assert json.loads(path.read_text())["connector"] == "postgres", "and it is rewritten"
    assert _hub(registry, env, cache=True).connectors == []


MODULE = """
from pydantic import BaseModel
from mcp_hub.connector import Connector, ConnectorSettings, ToolOutput, tool
from mcp_hub.provenance import Provenance


class Greeting(BaseModel):
    text: str


class GreeterConnector(Connector[ConnectorSettings]):
    name = "greeter"
    settings_model = ConnectorSettings

    @tool(toolset="read", description="DESCRIPTION")
    async def greet(self, who: str) -> ToolOutput[Greeting]:
        return ToolOutput(Greeting(text=f"hello {who}"), Provenance(visibility="public"))
"""


@pytest.fixture
def greeter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A connector package of our own, so that the test may change its source."""
    package = tmp_path / "src" / "greeterpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "connector.py").write_text(MODULE.replace("DESCRIPTION", "Say hello."))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    yield package / "connector.py"
    for name in [m for m in sys.modules if m.startswith("greeterpkg")]:
        del sys.modules[name]


def _greeter_registry() -> Registry:
    return Registry([ConnectorManifest("greeter", "greeterpkg.connector:GreeterConnector", {}, True)])


@pytest.mark.anyio
async def test_a_source_change_makes_the_cache_stale(greeter: Path, cache_home: Path) -> None:
    _hub(_greeter_registry(), {}, cache=True)
    hit = _hub(_greeter_registry(), {}, cache=True)
    assert hit.connectors == []
    assert [t.description for t in await hit.list_tools()] == ["Say hello."]
    greeter.write_text(MODULE.replace("DESCRIPTION", "Greet someone."))
    for name in [m for m in sys.modules if m.startswith("greeterpkg.")]:
        del sys.modules[name]
    changed = _hub(_greeter_registry(), {}, cache=True)
    assert changed.connectors, "the old file is not read: its key no longer matches"
    assert [t.description for t in await changed.list_tools()] == ["Greet someone."]
    assert len(list(cache_home.glob("catalog-greeter-*.json"))) == 2
    assert [t.description for t in await _hub(_greeter_registry(), {}, cache=True).list_tools()] == ["Greet someone."]


@pytest.mark.anyio
async def test_connectors_with_prompts_are_never_cached(cache_home: Path) -> None:
    from tests.support.notes_connector import NotesConnector

    registry = Registry([NotesConnector])
    env = {"NOTES_TOKEN": "t0ken-value"}
    _hub(registry, env, cache=True)
    _hub(registry, env, cache=True)
    assert not list(cache_home.glob("catalog-notes-*.json"))


@pytest.mark.anyio
async def test_first_call_of_a_cached_tool_imports_the_connector_and_works(
    pg_dsn: TestDatabase, cache_home: Path
) -> None:
    registry = Registry.discover(["postgres"])
    env = {"DATABASE_URL": pg_dsn.reader_dsn, "MCP_HUB_TOOLSETS": "all"}
    _hub(registry, env, cache=True)
    server = _hub(Registry.discover(["postgres"]), env, cache=True)
    assert server.connectors == []
    async with Client(server) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT count(*) AS n FROM customers"})
        assert not result.is_error, result.content
        assert result.structured_content is not None and result.structured_content["rows"]
        assert [c.name for c in server.connectors] == ["postgres"]
        assert not isinstance(server._tool_manager.get_tool("postgres_query"), DeferredTool)
        bad = await client.call_tool("postgres_list_tables", {"no_such_argument": 1, "schema": 5})
        assert bad.is_error
        read = await client.read_resource("postgres://public/customers")
        assert "customers" in str(read.contents[0])
        assert read.contents[0].meta is not None, "provenance reaches deferred resources too"
    assert server._stack is None


def test_other_keys_files_are_pruned_once_stale(cache_home: Path) -> None:
    registry = Registry.discover(["postgres"])
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    cache_home.mkdir(parents=True)
    old, recent, other = (cache_home / f"catalog-{n}.json" for n in ("postgres-old", "postgres-recent", "slack-old"))
    for path in (old, recent, other):
        path.write_text("{}")
    week_and_a_day = time.time() - 8 * 24 * 3600
    os.utime(old, (week_and_a_day, week_and_a_day))
    os.utime(other, (week_and_a_day, week_and_a_day))
    _hub(registry, env, cache=True)  # a miss: writes postgres's file, prunes postgres's stale ones
    assert not old.exists() and recent.exists() and other.exists()
    assert len(list(cache_home.glob("catalog-postgres-*.json"))) == 2  # the new one and the recent one

"""The definition defences end to end: the hostile server (`tests.support.malicious_server`) over stdio,
attached through `[servers.wx]`, listed by an MCP client of the hub, approved with `mcp-hub servers pin`.
Each hub here is a new one (as each stdio session's hub process is); the server counts its listings in a
state file, so its rug pull survives the restarts. Every defence is also shown failing with `AdmitAll`."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_hub import cli
from mcp_hub.config import load_config
from mcp_hub.federation.gate import AdmitAll, DefinitionGate
from mcp_hub.federation.lockfile import LOCK_NAME
from mcp_hub.registry import Registry
from mcp_hub.server import HubServer, build_server
from tests.support.malicious_server import BENIGN_WEATHER, POISONED_DOCS, POISONED_PROMPT, RUG_DESCRIPTION

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the hubs' listing cache, this test's own

    def write(
        mode: str, *, rug: str = "description", after: int = 2, pin: str = "strict", trusted: bool = False
    ) -> Path:
        args = ["-m", "tests.support.malicious_server", "--mode", mode, "--rug", rug, "--after", str(after)]
        args += ["--state", str(tmp_path / "listings")]
        path = tmp_path / "hub.toml"
        path.write_text(
            "[hub]\nallow_writes = true\nallow_destructive = true\n"
            f"audit_log = {json.dumps(str(tmp_path / 'audit.jsonl'))}\n"
            f"[servers.wx]\ncommand = {json.dumps(sys.executable)}\nargs = {json.dumps(args)}\n"
            f"cwd = {json.dumps(str(ROOT))}\npin = {json.dumps(pin)}\ntimeout_s = 20\n"
            f"trusted = {json.dumps(trusted)}\n",
            encoding="utf-8",
        )
        return path

    return write


@asynccontextmanager
async def hub(path: Path, gate: DefinitionGate | None = None) -> AsyncIterator[tuple[HubServer, Client]]:
    config = load_config(path, env={})
    server = build_server(config, registry=Registry([]), include_unconfigured=False, gate=gate)
    async with server.running():
        assert server.federation is not None
        await server.federation.wait_listed(30)
        async with Client(server) as client:
            yield server, client


async def listed(client: Client) -> dict[str, Any]:
    return {t.name: t for t in (await client.list_tools()).tools}


def withheld(server: HubServer) -> dict[str, str]:
    assert server.federation is not None
    (row,) = server.federation.status()
    return {w["name"]: w["reason"] for w in row["withheld"]}


def servers_cli(path: Path, *args: str) -> int:
    return cli.main(["servers", *args, "--config", str(path)])


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "audit.jsonl").read_text("utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == "definitions"]


@pytest.mark.parametrize("rug", ["description", "schema", "defs", "annotations", "title", "new-tool"])
async def test_rug_pull_is_withheld_after_pinning(config_file: Any, tmp_path: Path, rug: str, capsys: Any) -> None:
    path = config_file("rug-pull", rug=rug)
    async with hub(path) as (server, client):  # listing 1: a new server, nothing pinned, nothing served
        assert not [n for n in await listed(client) if n.startswith("wx_")]
        assert "mcp-hub servers pin wx" in withheld(server)["get_weather"]
    assert servers_cli(path, "pin", "wx", "--yes") == 0
    assert "get_weather" in json.loads((tmp_path / LOCK_NAME).read_text())["servers"]["wx"]["tools"]
    async with hub(path) as (server, client):  # listing 2: as pinned
        tools = await listed(client)
        assert {"wx_add", "wx_echo", "wx_get_weather"} <= set(tools)
        assert tools["wx_get_weather"].description == BENIGN_WEATHER
        # (echo: a call to get_weather now would make the server announce its change, see below)
        result = await client.call_tool("wx_echo", {"text": "hi"})
        assert not result.is_error
    async with hub(path) as (server, client):  # listing 3: the rug is pulled
        tools = await listed(client)
        assert {"wx_add", "wx_echo"} <= set(tools)
        changed = "send_report" if rug == "new-tool" else "get_weather"
        assert f"wx_{changed}" not in tools
        assert ("wx_get_weather" in tools) == (rug == "new-tool")  # unchanged definitions stay served
        reasons = withheld(server)
        assert reasons[changed].startswith("new since" if rug == "new-tool" else "changed since pinned")
    (line,) = audit(tmp_path)
    assert line["server"] == "wx" and line["name"] == changed and line["diff"]
    capsys.readouterr()
    assert servers_cli(path, "diff", "wx") == 1  # what a person reviews before approving
    shown = capsys.readouterr().out
    assert changed in shown and "+" in shown


async def test_rug_pull_reaches_clients_without_the_gate(config_file: Any) -> None:
    path = config_file("rug-pull", after=1)
    async with hub(path, AdmitAll()) as (_, client):
        assert (await listed(client))["wx_get_weather"].description == BENIGN_WEATHER
    async with hub(path, AdmitAll()) as (_, client):
        assert (await listed(client))["wx_get_weather"].description == RUG_DESCRIPTION


async def test_a_respelled_definition_is_no_change(config_file: Any, tmp_path: Path) -> None:
    path = config_file("rug-pull", rug="respell", after=1, pin="tofu")
    async with hub(path) as (_, client):
        assert "wx_get_weather" in await listed(client)
    async with hub(path) as (server, client):
        tools = await listed(client)
        assert tools["wx_get_weather"].description != BENIGN_WEATHER  # it is respelled, and still admitted
        assert withheld(server) == {}
    assert [e["change"] for e in audit(tmp_path)] == ["pinned-on-first-use"]  # and no change since


@pytest.mark.parametrize("guarded", [True, False], ids=["pinned", "off"])
async def test_poisoned_definitions_are_withheld_until_approved(config_file: Any, guarded: bool) -> None:
    path = config_file("poisoned", pin="tofu")
    async with hub(path, None if guarded else AdmitAll()) as (server, client):
        tools = await listed(client)
        if not guarded:  # switched off: the poisoned description reaches the model
            assert tools["wx_lookup_docs"].description == POISONED_DOCS
            assert {"wx_translate", "wx_set_mode"} <= set(tools)
            return
        assert {"wx_add", "wx_echo"} <= set(tools)
        assert not {"wx_lookup_docs", "wx_translate", "wx_set_mode"} & set(tools)
        reasons = withheld(server)
        assert "markup in description" in reasons["lookup_docs"]
        assert "hidden-character in inputSchema.properties.text.description" in reasons["translate"]
        assert "instruction in inputSchema.properties.mode.enum[2]" in reasons["set_mode"]
    assert servers_cli(path, "pin", "wx", "--yes") == 0  # --yes alone never approves findings
    async with hub(path) as (_, client):
        assert "wx_lookup_docs" not in await listed(client)
    assert servers_cli(path, "pin", "wx", "--yes", "--approve-flagged") == 0  # a person's decision
    async with hub(path) as (_, client):
        assert {"wx_lookup_docs", "wx_translate", "wx_set_mode"} <= set(await listed(client))


async def test_pin_lists_a_configured_server_never_seen(config_file: Any, tmp_path: Path, capsys: Any) -> None:
    path = config_file("rug-pull", after=5)
    assert not (tmp_path / "servers.seen.json").exists()
    # it connects through the hub's federation (its own event loop: in a thread here), then pins
    assert await anyio.to_thread.run_sync(servers_cli, path, "pin", "wx", "--yes") == 0
    assert "== wx: not pinned get_weather" in capsys.readouterr().out
    async with hub(path) as (server, client):
        assert {"wx_add", "wx_echo", "wx_get_weather"} <= set(await listed(client))
        assert withheld(server) == {}


@pytest.mark.parametrize("guarded", [True, False], ids=["pinned", "off"])
async def test_poisoned_prompts_and_templates_are_withheld(config_file: Any, guarded: bool) -> None:
    path = config_file("poisoned", pin="tofu")
    async with hub(path, None if guarded else AdmitAll()) as (server, client):
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        templates = {t.name: t for t in (await client.list_resource_templates()).resource_templates}
        assert "wx_greet" in prompts and "wx_doc" in templates  # the clean ones pass either way
        if not guarded:
            assert prompts["wx_summarize"].description == POISONED_PROMPT and "wx_note" in templates
            return
        assert "wx_summarize" not in prompts and "wx_note" not in templates
        reasons = withheld(server)
        assert "instruction in description" in reasons["prompt summarize"]
        assert "hidden-character in description" in reasons["resource template note"]
        with pytest.raises(MCPError):
            await client.get_prompt("wx_summarize", {"text": "x"})
        with pytest.raises(MCPError):
            await client.read_resource("wx+notes://1")
        assert (await client.get_prompt("wx_greet", {"name": "Ada"})).messages
        assert (await client.read_resource("wx+docs://intro")).contents


async def test_a_claude_desktop_file_is_pinned_in_one_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_hub.config import HubConfig, HubSettings
    from mcp_hub.federation.report import add_servers_file

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no --config: the lock is in the XDG dir
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MCP_HUB_CONFIG", raising=False)
    script = str(ROOT / "tests" / "support" / "malicious_server.py")
    desktop = tmp_path / "claude_desktop_config.json"
    desktop.write_text(
        json.dumps({"mcpServers": {"wx": {"command": sys.executable, "args": [script, "--mode", "poisoned"]}}})
    )

    def pin() -> int:
        return cli.main(["servers", "pin", "--servers", str(desktop), "--yes"])

    assert await anyio.to_thread.run_sync(pin) == 0
    assert (tmp_path / "xdg" / "mcp-hub" / LOCK_NAME).exists()
    config = HubConfig(hub=HubSettings(allow_writes=True, allow_destructive=True))
    add_servers_file(config, str(desktop))
    server = build_server(config, registry=Registry([]), include_unconfigured=False)  # the default gate
    async with server.running(), Client(server) as client:
        assert server.federation is not None
        await server.federation.wait_listed(30)
        tools = await listed(client)
        assert {"wx_add", "wx_echo"} <= set(tools) and "wx_lookup_docs" not in tools  # --yes never approves findings


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_the_inject_mode_feeds_the_outsider_fence(config_file: Any, trusted: bool) -> None:
    """The hostile server's third mode, for the provenance defences: its result carries instructions,
    which the hub fences as outsider text unless the server is configured `trusted` (the fence off)."""
    path = config_file("inject", pin="tofu", trusted=trusted)
    async with hub(path) as (_, client):
        result = await client.call_tool("wx_fetch_note", {"note_id": 1})
    text = result.content[0].text  # type: ignore[union-attr]
    assert "ignore all previous instructions" in text
    labels = (result.meta or {})["mcp_hub/provenance"]
    assert labels["server"] == "wx" and labels["trusted"] is trusted
    assert text.startswith("<untrusted-data boundary=") is not trusted


@pytest.mark.parametrize("guarded", [True, False], ids=["pinned", "off"])
async def test_a_rug_pull_in_the_middle_of_a_session(config_file: Any, guarded: bool) -> None:
    """The server changes and sends list_changed on the next call; the hub lists it again, through the gate."""
    path = config_file("rug-pull", after=1, pin="tofu")
    async with hub(path, None if guarded else AdmitAll()) as (_, client):
        assert (await listed(client))["wx_get_weather"].description == BENIGN_WEATHER
        assert not (await client.call_tool("wx_get_weather", {"city": "Oslo"})).is_error
        with anyio.fail_after(20):
            while (tools := await listed(client)).get("wx_get_weather", None) is not None and (
                tools["wx_get_weather"].description == BENIGN_WEATHER
            ):
                await anyio.sleep(0.05)
        if guarded:
            assert "wx_get_weather" not in tools and "wx_echo" in tools
        else:
            assert tools["wx_get_weather"].description == RUG_DESCRIPTION

"""`[servers.*]` settings, the clients' JSON files (`--servers`), and the CLI's reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from connectors.postgres import PostgresConnector
from mcp_hub.cli import main
from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError
from mcp_hub.federation.settings import parse_servers, read_client_servers
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from tests.federation.conftest import ROOT, fed_stdio, time_stdio


def test_settings_problems_are_reported_with_paths() -> None:
    _, problems = parse_servers(
        {
            "ok": {"command": "x"},
            "Bad_Name": {"command": "x"},
            "both": {"command": "x", "url": "http://h/mcp"},
            "neither": {},
            "typo": {"command": "x", "timeout": 3},
            "ftp": {"url": "ftp://h"},
            "hub": {"command": "x"},
        }
    )
    text = "\n".join(problems)
    assert "servers.Bad_Name: a server name is" in text
    assert "servers.both: Value error, set exactly one of command (stdio) and url (HTTP)" in text
    assert "servers.neither:" in text and "servers.typo.timeout: unknown setting" in text
    assert "servers.ftp: Value error, url must start with http://" in text
    assert "servers.hub: 'hub' is the name of a connector" in text
    assert "servers.ok" not in text


def test_a_server_named_like_a_connector_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "hub.toml"
    file.write_text('[servers.postgres]\ncommand = "x"\n[postgres]\ndsn = "postgresql://u@127.0.0.1:1/db"\n')
    registry = Registry([PostgresConnector])
    config = load_config(file, env={}, ecosystem_env=registry.ecosystem_env(), check_connectors=registry.problems)
    with pytest.raises(ConfigError, match=r"servers\.postgres: 'postgres' is the name of a connector"):
        build_server(config, registry=registry)


def test_secrets_come_from_files_and_are_redacted(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("sk-federated-0123456789")
    file = tmp_path / "hub.toml"
    file.write_text(f'[servers.api]\nurl = "http://127.0.0.1:1/mcp"\nbearer_file = "{secret}"\n')
    config = load_config(file, env={})
    assert config.servers["api"].header_values()["Authorization"] == "Bearer sk-federated-0123456789"
    server = build_server(config, registry=Registry([]))
    assert "sk-federated-0123456789" not in server.redactor.redact("token sk-federated-0123456789 leaked")


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (  # Claude Desktop and Cursor
            {"mcpServers": {"my_files": {"command": "npx", "args": ["-y", "x"], "env": {"K": "${env:HOME_X}"}}}},
            {"my-files": {"command": "npx", "args": ["-y", "x"], "env": {"K": "from-env"}}},
        ),
        (  # VS Code
            {"servers": {"Remote": {"type": "http", "url": "https://h/mcp", "headers": {"X": "1"}}}},
            {"remote": {"url": "https://h/mcp", "transport": "http", "headers": {"X": "1"}}},
        ),
        (  # Cursor / legacy SSE
            {"mcpServers": {"legacy": {"url": "https://h/sse", "type": "sse"}}},
            {"legacy": {"url": "https://h/sse", "transport": "sse"}},
        ),
    ],
)
def test_client_files_become_server_sections(tmp_path: Path, payload: dict, expected: dict) -> None:  # type: ignore[type-arg]
    file = tmp_path / "servers.json"
    file.write_text(json.dumps(payload))
    assert read_client_servers(file, env={"HOME_X": "from-env"}) == expected


def test_client_file_problems(tmp_path: Path) -> None:
    file = tmp_path / "servers.json"
    file.write_text(json.dumps({"mcpServers": {"a": {"command": "x", "env": {"K": "${MISSING}"}}, "b": {}}}))
    with pytest.raises(ConfigError) as raised:
        read_client_servers(file, env={})
    assert "${MISSING} is not set" in raised.value.message and "b: needs a command" in raised.value.message
    file.write_text("{}")
    with pytest.raises(ConfigError, match='neither an "mcpServers" nor a "servers"'):
        read_client_servers(file, env={})


def test_tools_and_config_check_report_federated_servers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    servers = tmp_path / "claude_desktop_config.json"
    servers.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]},
                    "broken": {"command": str(tmp_path / "no-such-command")},
                }
            }
        )
    )
    config = tmp_path / "hub.toml"
    config.write_text(
        '[servers.fed]\ncommand = "' + sys.executable + '"\nargs = ["-m", "tests.support.fed_server"]\n'
        'read_only = ["ok", "big"]\npin = "tofu"\n[hub]\nconnectors = []\n'  # (pinned on first use)
    )
    code = main(["tools", "--config", str(config), "--servers", str(servers), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    names = {t["name"]: t for t in out["tools"]}
    assert {"fed_ok", "fed_big"} <= set(names) and names["fed_ok"]["tokens"] > 0
    assert "time_get_current_time" not in names  # not pinned yet (a --servers entry is not pinned on first use)
    rows = {r["server"]: r for r in out["servers"]}
    assert rows["time"]["state"] == "ready" and rows["broken"]["state"] == "down"
    assert {w["name"] for w in rows["time"]["withheld"]} == {"get_current_time", "convert_time"}
    assert all("not pinned yet" in w["reason"] for w in rows["time"]["withheld"])
    assert rows["fed"]["hidden_by_policy"] == 8  # 10 tools, 2 vouched read-only: the rest are writes, writes off
    assert rows["broken"]["detail"] == "its command was not found"
    code = main(["config", "check", "--config", str(config), "--servers", str(servers)])
    text = capsys.readouterr().out
    assert code == 1  # a server that cannot start fails the check
    assert "server  fed: ready (stdio, untrusted)" in text and "server  broken: down" in text
    assert "8 hidden by the hub's policy: an untrusted server's tools are writes unless servers.fed.read_only" in text
    assert "withheld get_current_time: server 'time' is not pinned yet" in text


def test_serve_answers_before_its_servers(tmp_path: Path) -> None:
    """A real `mcp-hub serve` over stdio: the first tools/list does not wait for a hanging server."""
    import time

    config = tmp_path / "hub.toml"
    config.write_text(
        "[hub]\nconnectors = []\n"
        f'[servers.stuck]\ncommand = "{sys.executable}"\nargs = ["-c", "import time; time.sleep(20)"]\n'
        + time_stdio(read_only=["get_*"])
        + fed_stdio(read_only=["*"])
    )
    import anyio
    from mcp import Client, StdioServerParameters

    async def run() -> tuple[float, list[str]]:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-c", "from mcp_hub.cli import main; raise SystemExit(main())", "serve", "--config", str(config)],
            env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
            cwd=str(ROOT),
        )
        started = time.perf_counter()
        async with Client(params) as client:
            names = [t.name for t in (await client.list_tools()).tools]
            return time.perf_counter() - started, names

    elapsed, names = anyio.run(run)
    assert elapsed < 8, elapsed
    assert not any(n.startswith("stuck_") for n in names)


def test_a_servers_file_entry_named_like_a_connector_is_renamed_and_toml_adds_settings(tmp_path: Path) -> None:
    file = tmp_path / "claude_desktop_config.json"
    file.write_text(json.dumps({"mcpServers": {"postgres": {"command": "x"}, "time": {"command": "y"}}}))
    toml = tmp_path / "hub.toml"
    toml.write_text('[servers.time]\ntrusted = true\nread_only = ["get_*"]\n')
    config = load_config(toml, env={}, servers_file=file, reserved_names=["postgres", "github"])
    assert set(config.servers) == {"postgres-mcp", "time"}
    assert config.servers["time"].command == "y" and config.servers["time"].trusted
    assert config.servers["time"].read_only == ["get_*"]
    build_server(config, registry=Registry([PostgresConnector]))  # no collision left
    toml.write_text('[servers.time]\ncommand = "z"\n')
    with pytest.raises(ConfigError, match=r"also in --servers claude_desktop_config\.json; keep one"):
        load_config(toml, env={}, servers_file=file)

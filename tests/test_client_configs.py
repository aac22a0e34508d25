"""Every client config in examples/ is read in its client's own format and starts what it names.

Each file is parsed the way its client reads it (JSON, TOML for Codex CLI, YAML for Continue),
checked against the shape that client documents (below, one small JSON Schema per client: a key
another client uses, such as Cursor's `url` in a Windsurf file, is an error), its variables are
expanded with that client's syntax (`${env:X}`, `${X:-default}`, `bearer_token_env_var`), and then:
every stdio entry is spawned with its command, args and env and answers an MCP initialize and
tools/list through the SDK's client; every HTTP entry reaches one real hub over Streamable HTTP with
the headers it names.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp_hub.cli import _parser
from tests.cli.test_transports import HUB, hub_env, hub_process
from tests.support.http_server import free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TOKEN = "client-config-token-0123456789abcdef"

_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_ARGS = {"type": "array", "items": {"type": "string"}}


def _stdio(extra: Mapping[str, Any] | None = None, *, type_: list[str] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"command": {"type": "string"}, "args": _ARGS, "env": _STR_MAP, **(extra or {})}
    if type_ is not None:
        props["type"] = {"enum": type_}
    return {"type": "object", "required": ["command"], "properties": props, "additionalProperties": False}


def _remote(url_key: str, types: list[str] | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {url_key: {"type": "string", "pattern": "^https?://"}, "headers": _STR_MAP}
    required = [url_key]
    if types is not None:
        props["type"] = {"enum": types}
    props |= extra or {}
    return {"type": "object", "required": required, "properties": props, "additionalProperties": False}


def _servers_map(key: str, entry: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "object", "minProperties": 1, "additionalProperties": entry}, **top},
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class ClientFormat:
    """How one client reads its MCP config: file format, documented shape, variable syntax."""

    file: str
    load: Callable[[str], Any]
    schema: dict[str, Any]
    servers: Callable[[Any], dict[str, dict[str, Any]]]
    #: (pattern, name group, default group or None): the client's `${...}` syntax for the environment
    variables: str | None
    url_key: str = "url"


_ENV_COLON = r"\$\{env:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}"  # Cursor, Windsurf
_CLAUDE_CODE = r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"  # ${VAR} / ${VAR:-default}
_VSCODE_INPUT = r"\$\{input:(?P<name>[A-Za-z0-9_-]+)\}"

CLIENTS = [
    # Claude Desktop: claude_desktop_config.json, stdio servers only.
    ClientFormat(
        "claude_desktop_config.json",
        json.loads,
        _servers_map("mcpServers", _stdio()),
        lambda d: d["mcpServers"],
        None,
    ),
    # VS Code: .vscode/mcp.json, "servers" with a type on each entry, prompted "inputs".
    ClientFormat(
        "vscode_mcp.json",
        json.loads,
        _servers_map(
            "servers",
            {"oneOf": [_stdio(type_=["stdio"]), _remote("url", ["http", "sse"])]},
            inputs={"type": "array"},
        ),
        lambda d: d["servers"],
        _VSCODE_INPUT,
    ),
    # Cursor: .cursor/mcp.json or ~/.cursor/mcp.json, "mcpServers"; command/args/env or url/headers; ${env:X}.
    ClientFormat(
        "cursor_mcp.json",
        json.loads,
        _servers_map(
            "mcpServers", {"oneOf": [_stdio({"envFile": {"type": "string"}}, type_=["stdio"]), _remote("url", None)]}
        ),
        lambda d: d["mcpServers"],
        _ENV_COLON,
    ),
    # Claude Code: .mcp.json (project scope), "mcpServers" with type stdio|http|sse; ${VAR} and ${VAR:-default}.
    ClientFormat(
        "claude_code_mcp.json",
        json.loads,
        _servers_map("mcpServers", {"oneOf": [_stdio(type_=["stdio"]), _remote("url", ["http", "sse"])]}),
        lambda d: d["mcpServers"],
        _CLAUDE_CODE,
    ),
    # Windsurf: ~/.codeium/windsurf/mcp_config.json, "mcpServers"; a remote server is "serverUrl" (not "url").
    ClientFormat(
        "windsurf_mcp_config.json",
        json.loads,
        _servers_map(
            "mcpServers",
            {"oneOf": [_stdio({"disabled": {"type": "boolean"}}), _remote("serverUrl", None)]},
        ),
        lambda d: d["mcpServers"],
        _ENV_COLON,
        url_key="serverUrl",
    ),
    # Codex CLI: ~/.codex/config.toml, one [mcp_servers.<name>] table each; bearer_token_env_var for HTTP.
    ClientFormat(
        "codex_config.toml",
        tomllib.loads,
        _servers_map(
            "mcp_servers",
            {
                "oneOf": [
                    _stdio(
                        {
                            "startup_timeout_sec": {"type": "number"},
                            "tool_timeout_sec": {"type": "number"},
                            "cwd": {"type": "string"},
                            "enabled": {"type": "boolean"},
                        }
                    ),
                    _remote(
                        "url",
                        None,
                        {"bearer_token_env_var": {"type": "string"}, "startup_timeout_sec": {"type": "number"}},
                    ),
                ]
            },
        ),
        lambda d: d["mcp_servers"],
        None,
    ),
    # Continue: config.yaml (or a .continue/mcpServers/ block): name/version/schema v1, mcpServers as a list.
    ClientFormat(
        "continue_config.yaml",
        yaml.safe_load,
        {
            "type": "object",
            "required": ["name", "version", "schema", "mcpServers"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "schema": {"const": "v1"},
                "mcpServers": {
                    "type": "array",
                    "minItems": 1,
                    "items": _stdio({"name": {"type": "string"}, "cwd": {"type": "string"}}, type_=["stdio"])
                    | {"required": ["name", "command"]},
                },
            },
            "additionalProperties": False,
        },
        lambda d: {s["name"]: {k: v for k, v in s.items() if k != "name"} for s in d["mcpServers"]},
        None,
    ),
]
IDS = [c.file for c in CLIENTS]


def expand(value: str, client: ClientFormat, env: Mapping[str, str]) -> str:
    """Expand `${...}` the way `client` does; a reference in another client's syntax is an error."""
    if client.variables is None:
        assert "${" not in value, f"{client.file}: this client expands no variables: {value}"
        return value

    def one(match: re.Match[str]) -> str:
        name, default = match["name"], match.groupdict().get("default")
        if name in env:
            return env[name]
        assert default is not None, f"{client.file}: {name} is not set and has no default"
        return default

    out = re.sub(client.variables, one, value)
    assert "${" not in out, f"{client.file}: {value!r} uses a syntax this client does not expand"
    return out


def load(client: ClientFormat) -> dict[str, dict[str, Any]]:
    data = client.load((EXAMPLES / client.file).read_text())
    jsonschema.validate(data, client.schema)
    return client.servers(data)


@pytest.mark.parametrize("client", CLIENTS, ids=IDS)
def test_each_config_has_the_shape_its_client_documents(client: ClientFormat) -> None:
    servers = load(client)
    stdio = {name: s for name, s in servers.items() if "command" in s}
    assert "mcp-hub" in stdio
    for server in stdio.values():
        assert server["command"] == "mcp-hub"
        assert _parser().parse_args(server["args"]).command == "serve"  # SystemExit on a flag the CLI lacks


@pytest.mark.parametrize(
    ("client", "breaks"),
    [
        # Cursor's remote key in a Windsurf file: Windsurf would not connect
        (
            CLIENTS[4],
            lambda s: s["mcpServers"]["mcp-hub-http"].update(url=s["mcpServers"]["mcp-hub-http"].pop("serverUrl")),
        ),
        # VS Code's top-level key in a Cursor file
        (CLIENTS[2], lambda s: s.update(servers=s.pop("mcpServers"))),
        # args as one string instead of a list
        (CLIENTS[3], lambda s: s["mcpServers"]["mcp-hub"].update(args="serve")),
        # Continue needs the schema version
        (CLIENTS[6], lambda s: s.pop("schema")),
    ],
    ids=["windsurf-url", "cursor-servers", "claude-code-args", "continue-schema"],
)
def test_the_shape_check_rejects_another_clients_spelling(client: ClientFormat, breaks: Callable[[Any], None]) -> None:
    data = client.load((EXAMPLES / client.file).read_text())
    breaks(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, client.schema)


def test_variable_syntax_is_the_clients_own() -> None:
    cursor, claude_code = CLIENTS[2], CLIENTS[3]
    assert expand("Bearer ${env:T}", cursor, {"T": "x"}) == "Bearer x"
    assert expand("${DB:-postgresql://h/db}", claude_code, {}) == "postgresql://h/db"
    with pytest.raises(AssertionError, match="syntax this client does not expand"):
        expand("Bearer ${T}", cursor, {"T": "x"})
    with pytest.raises(AssertionError, match="syntax this client does not expand"):
        expand("Bearer ${env:T}", claude_code, {"T": "x"})


@pytest.mark.anyio
@pytest.mark.parametrize("client", CLIENTS, ids=IDS)
async def test_each_stdio_entry_starts_and_lists_tools(client: ClientFormat, pg_dsn: Any) -> None:
    for name, server in load(client).items():
        if "command" not in server:
            continue
        env = {k: expand(v, client, {}) for k, v in server.get("env", {}).items()}
        assert env.pop("DATABASE_URL").startswith("postgresql://")  # the example's; the test database below
        params = StdioServerParameters(
            command=HUB,  # `mcp-hub` as installed in this venv
            args=[expand(a, client, {}) for a in server["args"]],
            env=hub_env(pg_dsn.reader_dsn) | env,
        )
        async with Client(params) as session:
            tools = {t.name for t in (await session.list_tools()).tools}
        assert "postgres_query" in tools, (client.file, name)
        assert "postgres_execute" not in tools  # writes stay off unless asked for


def _http_entries(client: ClientFormat) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (url, headers) of each remote entry, headers as the client would send them."""
    out = {}
    env = {"MCP_HUB_TOKEN": TOKEN}
    for name, server in load(client).items():
        if client.url_key not in server:
            continue
        headers = {
            k: expand(v, client, env) if client.variables != _VSCODE_INPUT else v
            for k, v in server.get("headers", {}).items()
        }
        if client.variables == _VSCODE_INPUT:  # VS Code prompts for the input and substitutes it
            headers = {k: re.sub(_VSCODE_INPUT, TOKEN, v) for k, v in headers.items()}
        if "bearer_token_env_var" in server:  # Codex CLI sends the variable's value as a bearer token
            headers["Authorization"] = f"Bearer {env[server['bearer_token_env_var']]}"
        out[name] = (server[client.url_key], headers)
    return out


@pytest.mark.anyio
async def test_each_http_entry_reaches_a_hub_with_its_headers(pg_dsn: Any, tmp_path: Path) -> None:
    entries = {(c.file, name): entry for c in CLIENTS for name, entry in _http_entries(c).items()}
    assert {file for file, _ in entries} == {
        "vscode_mcp.json",
        "cursor_mcp.json",
        "claude_code_mcp.json",
        "windsurf_mcp_config.json",
        "codex_config.toml",
    }
    port = free_port()
    env = hub_env(pg_dsn.reader_dsn, MCP_HUB_HTTP__TOKENS__TEAM__TOKEN=TOKEN)
    with hub_process(["--transport", "http", "--port", str(port)], env, port):
        for (file, name), (url, headers) in entries.items():
            assert url == "http://127.0.0.1:8000/mcp", (file, name)
            assert headers == {"Authorization": f"Bearer {TOKEN}"}, (file, name)
            http = create_mcp_http_client(headers=headers)
            live = url.replace(":8000/", f":{port}/")
            async with http, Client(streamable_http_client(live, http_client=http)) as session:
                tools = {t.name for t in (await session.list_tools()).tools}
            assert "postgres_query" in tools, (file, name)


def test_readme_claude_code_add_json_line_matches_the_example() -> None:
    readme = (ROOT / "README.md").read_text()
    (line,) = [x for x in readme.splitlines() if x.startswith("claude mcp add-json ")]
    match = re.fullmatch(r"claude mcp add-json (?:--scope \w+ )?mcp-hub '(\{.*\})'", line)
    assert match, line
    example = json.loads((EXAMPLES / "claude_code_mcp.json").read_text())["mcpServers"]["mcp-hub"]
    assert json.loads(match[1]) == example

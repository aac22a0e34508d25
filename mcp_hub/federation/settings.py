"""`[servers.<name>]`: other MCP servers the hub attaches, and the `mcpServers` JSON of the usual clients.

    [servers.time]                      # stdio: the hub starts it
    command = "uvx"
    args = ["mcp-server-time"]
    env = { TZ = "UTC" }                # secrets: env.API_KEY_file = "/run/secrets/key"
    [servers.tracker]                   # Streamable HTTP (SSE fallback)
    url = "https://tracker.internal/mcp"
    bearer_file = "/run/secrets/tracker"
    read_only = ["list_*", "get_*"]     # vouch for these (an untrusted server's own claim is not believed)

A server's tools are published as `<name>_<tool>`: names are lowercase letters, digits and hyphens (no
underscore, so two servers' names can never collide) and may not be an installed connector's or `hub`.
`mcp-hub serve --servers FILE` reads Claude Desktop's / Cursor's `{"mcpServers": …}` or VS Code's
`{"servers": …}`; names are normalised the same way (`my_server` -> `my-server`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret

NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
RESERVED_NAMES = frozenset({"hub"})
_SECRET_KEY = re.compile(r"token|key|secret|pass|auth|credential|dsn", re.I)
_ENV_REFERENCE = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}")


class ServerSettings(BaseModel):
    """One federated MCP server."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # stdio
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str | Secret] = Field(default_factory=dict)
    cwd: str | None = None
    # Streamable HTTP, or the legacy SSE transport
    url: str | None = None
    transport: Literal["auto", "http", "sse"] = "auto"
    headers: dict[str, str | Secret] = Field(default_factory=dict)
    bearer: Secret | None = None
    # limits
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    max_result_bytes: int = Field(default=1_000_000, ge=1024)
    # trust and policy
    #: Results of an untrusted server are outsider text (fenced, cleaned, withheld under lockdown) and its
    #: read-only / non-destructive claims are not believed.
    trusted: bool = False
    #: What its results hold, for the data boundary and the flow guard (unknown data is private).
    visibility: Literal["public", "internal", "private"] = "private"
    #: Toolset name -> globs on the server's own tool names; the first match wins, the rest are in `tools`.
    toolsets: dict[str, list[str]] = Field(default_factory=dict)
    #: The toolsets a `default` selection includes (unset: all of them).
    default_toolsets: list[str] | None = None
    allow: list[str] = Field(default_factory=list, description="Globs on the server's tool names; empty = all.")
    deny: list[str] = Field(default_factory=list)
    #: Tools that are writes whatever their annotations say.
    writes: list[str] = Field(default_factory=list)
    #: Tools the operator vouches are read-only (needed for an untrusted server's read-only claim to count).
    read_only: list[str] = Field(default_factory=list)
    #: First sight of this server's definitions (`mcp_hub/federation/README.md`): "strict" withholds them
    #: until `mcp-hub servers pin`; "tofu" pins them on first use. Later changes are withheld either way.
    pin: Literal["strict", "tofu"] = "strict"

    @model_validator(mode="after")
    def _one_transport(self) -> ServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("set exactly one of command (stdio) and url (HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self

    @field_validator("args", "allow", "deny", "writes", "read_only", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def kind(self) -> str:
        return "stdio" if self.command is not None else "http"

    def env_values(self) -> dict[str, str]:
        return {k: _plain(v) for k, v in self.env.items()}

    def header_values(self) -> dict[str, str]:
        headers = {k: _plain(v) for k, v in self.headers.items()}
        if self.bearer is not None:
            headers["Authorization"] = f"Bearer {self.bearer.get_secret_value()}"
        return headers

    def secrets(self) -> list[str | Secret]:
        """Every value the redactor must hide (a server's errors may echo them); file-backed ones as
        `Secret`s, so a rotated value is masked too."""
        values: list[str | Secret] = [v for k, v in self.env.items() if isinstance(v, Secret) or _SECRET_KEY.search(k)]
        values += list(self.headers.values())
        if self.bearer is not None:
            values.append(self.bearer)
        return [v for v in values if isinstance(v, Secret) or len(v) >= 6]

    def admits(self, tool: str) -> bool:
        """The server's `allow`/`deny` globs, on its own tool name."""
        if self.allow and not any(fnmatchcase(tool, g) for g in self.allow):
            return False
        return not any(fnmatchcase(tool, g) for g in self.deny)

    def toolset_of(self, tool: str) -> str:
        for toolset, globs in self.toolsets.items():
            if any(fnmatchcase(tool, g) for g in globs):
                return toolset
        return "tools"

    def in_defaults(self, toolset: str) -> bool:
        return self.default_toolsets is None or toolset in self.default_toolsets


def _plain(value: str | Secret) -> str:
    return value.get_secret_value() if isinstance(value, Secret) else value


def parse_servers(raw: Mapping[str, Any], taken: Iterable[str] = ()) -> tuple[dict[str, ServerSettings], list[str]]:
    """Validated `[servers.*]` sections and every problem, each with its path (no values: they may be secrets)."""
    taken = set(taken)
    servers: dict[str, ServerSettings] = {}
    problems: list[str] = []
    for name, section in raw.items():
        problem = name_problem(name, taken)
        if problem:
            problems.append(f"servers.{name}: {problem}")
            continue
        if not isinstance(section, dict):
            problems.append(f"servers.{name}: must be a table")
            continue
        try:
            servers[name] = ServerSettings.model_validate(section)
        except ValidationError as exc:
            for err in exc.errors(include_input=False):
                where = ".".join(["servers", name, *(str(p) for p in err["loc"])])
                problems.append(f"{where}: {'unknown setting' if err['type'] == 'extra_forbidden' else err['msg']}")
    return servers, problems


def name_problem(name: str, taken: Iterable[str] = ()) -> str | None:
    if not NAME.fullmatch(name):
        return "a server name is 1-32 lowercase letters, digits and hyphens, starting with a letter (no underscore)"
    if name in RESERVED_NAMES or name in set(taken):
        return f"{name!r} is the name of a connector or of the hub's own tools: choose another"
    return None


def normalised_name(name: str) -> str:
    """A client file's server name as a hub name: lowercase, `_`/space/dot -> `-`."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", name.strip().lower()).strip("-")
    return cleaned if cleaned[:1].isalpha() else f"s-{cleaned}"


def read_client_servers(path: str | Path, env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """`[servers.*]` sections from a Claude Desktop / Cursor (`mcpServers`) or VS Code (`servers`) JSON file.

    `${env:NAME}` and `${NAME}` in values are read from the hub's environment (a missing one is an error,
    never an empty string); VS Code's `${input:…}` prompts cannot be answered by a server and are refused.
    """
    env = os.environ if env is None else env
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--servers: file not found: {file}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--servers: {file} is not valid JSON: {exc}") from None
    entries = data.get("mcpServers", data.get("servers")) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise ConfigError(f'--servers: {file} has neither an "mcpServers" nor a "servers" object')
    out: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for original, entry in entries.items():
        name = normalised_name(original)
        where = f"--servers {file.name}: {original}"
        if name in out:
            problems.append(f"{where}: its hub name {name!r} is taken by another entry")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be an object")
            continue
        try:
            out[name] = _section(entry, env)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise ConfigError("invalid servers file:\n  " + "\n  ".join(problems))
    return out


def _section(entry: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    kind = entry.get("type")
    section: dict[str, Any] = {}
    if "command" in entry:
        section["command"] = _expand(str(entry["command"]), env)
        section["args"] = [_expand(str(a), env) for a in entry.get("args", [])]
        if entry.get("env"):
            section["env"] = {str(k): _expand(str(v), env) for k, v in entry["env"].items()}
        if entry.get("cwd"):
            section["cwd"] = _expand(str(entry["cwd"]), env)
    elif "url" in entry or "serverUrl" in entry:
        section["url"] = _expand(str(entry.get("url") or entry["serverUrl"]), env)
        if kind == "sse":
            section["transport"] = "sse"
        elif kind in ("http", "streamable-http", "streamableHttp"):
            section["transport"] = "http"
        if entry.get("headers"):
            section["headers"] = {str(k): _expand(str(v), env) for k, v in entry["headers"].items()}
    else:
        raise ValueError("needs a command (stdio) or a url")
    if entry.get("disabled") is True:
        section["enabled"] = False
    return section


def _expand(value: str, env: Mapping[str, str]) -> str:
    if "${input:" in value:
        raise ValueError("${input:…} asks a person at start-up: put the value in a file and use [servers] instead")

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"${{{name}}} is not set in the hub's environment")
        return env[name]

    return _ENV_REFERENCE.sub(one, value)

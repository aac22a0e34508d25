"""Configuration: one optional TOML file, then the environment.

Precedence, lowest first: the ecosystem's usual variables (`DATABASE_URL`,
`GITHUB_TOKEN`, …, for each connector's default instance), the TOML file,
`MCP_HUB_…` variables (nested with `__`), then command-line flags.

    [hub]                      # or MCP_HUB_ALLOW_WRITES=1, MCP_HUB_TOOLSETS=…
    allow_writes = false
    [http.tokens.ci-bot]       # MCP_HUB_HTTP__TOKENS__CI_BOT__TOKEN_FILE=…
    token_file = "/run/secrets/ci-bot"
    [postgres]                 # MCP_HUB_POSTGRES__DSN=…  (or DATABASE_URL)
    dsn_file = "/run/secrets/pg"
    [postgres.instances.analytics]
    dsn = "postgresql://reader@analytics/db"

Any key ending in `_file` names a file holding the secret of the key without
that suffix; it is re-read when the file changes.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret, secret_from_env

ENV_PREFIX = "MCP_HUB_"
#: Sections that are not connectors: the hub's own, and the model/agent settings (model/settings.py).
_RESERVED_SECTIONS = ("hub", "http", "model")
#: Sections of the model's services (`mcp-hub triage`, `mcp-hub webhook`): kept raw in `HubConfig.services`,
#: validated by those commands, never taken for connectors.
SERVICE_SECTIONS = ("triage", "webhook")


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class HubSettings(BaseModel):
    """Policy and behaviour of the hub as a whole (`[hub]`)."""

    model_config = ConfigDict(extra="forbid")

    allow_writes: bool = False
    allow_destructive: bool = False
    toolsets: list[str] = Field(default_factory=lambda: ["default"])
    allow: list[str] = Field(default_factory=list, description="Tool-name globs; empty allows all.")
    deny: list[str] = Field(default_factory=list, description="Tool-name globs, applied after allow.")
    discovery: bool = False
    audit_log: Path | None = None
    private_data_callers: list[str] = Field(default_factory=lambda: ["*"])
    internal_data_callers: list[str] = Field(default_factory=lambda: ["*"])
    connectors: list[str] | None = Field(default=None, description="Only load these connectors.")
    log_level: str = "INFO"

    _lists = field_validator(
        "toolsets", "allow", "deny", "private_data_callers", "internal_data_callers", "connectors", mode="before"
    )(_split_list)


class TokenSettings(BaseModel):
    """One HTTP bearer token; its name is the caller's identity in the audit log."""

    model_config = ConfigDict(extra="forbid")

    token: Secret
    connectors: list[str] | None = None
    toolsets: list[str] | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    allow_writes: bool = False
    allow_destructive: bool = False

    _lists = field_validator("connectors", "toolsets", "allow", "deny", mode="before")(_split_list)


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tokens: dict[str, TokenSettings] = Field(default_factory=dict)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    _lists = field_validator("allowed_hosts", "allowed_origins", mode="before")(_split_list)


@dataclass
class HubConfig:
    hub: HubSettings = field(default_factory=HubSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    #: Raw per-connector sections, validated by each connector's settings model.
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Raw `[model]` section, validated by `model.settings` (the core does not know the model's settings).
    model: dict[str, Any] = field(default_factory=dict)
    #: Raw `[triage]` / `[webhook]` sections (SERVICE_SECTIONS), validated by the model's commands.
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "defaults"


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    ecosystem_env: Mapping[str, Mapping[str, str]] | None = None,
) -> HubConfig:
    """Build the configuration from a TOML file and the environment.

    `ecosystem_env` maps connector name -> {variable: field}, e.g.
    {"postgres": {"DATABASE_URL": "dsn"}}; the registry supplies it.
    """
    env = os.environ if env is None else env
    if path is None and env.get(f"{ENV_PREFIX}CONFIG"):
        path = env[f"{ENV_PREFIX}CONFIG"]
    tree: dict[str, Any] = {}
    sources = []
    for connector, variables in (ecosystem_env or {}).items():
        for variable, key in variables.items():
            secret = secret_from_env(dict(env), variable)
            if secret is not None:
                tree.setdefault(connector, {})[key] = _plain_or_secret(secret)
                sources.append(variable)
    if path is not None:
        _merge(tree, _secret_files(_read_toml(Path(path))))
        sources.append(str(path))
    from_env = _secret_files(_env_tree(env))
    if from_env:
        sources.append("MCP_HUB_* variables")
    _merge(tree, from_env)
    services = {k: tree.pop(k) for k in SERVICE_SECTIONS if k in tree}
    for name, section in services.items():
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] must be a table")
    hub_raw = {k: v for k, v in tree.items() if k not in _RESERVED_SECTIONS and not isinstance(v, dict)}
    hub_raw.update(tree.get("hub", {}))
    try:
        hub = HubSettings.model_validate(hub_raw)
        http = HttpSettings.model_validate(tree.get("http", {}))
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from None
    connectors = {k: v for k, v in tree.items() if k not in _RESERVED_SECTIONS and isinstance(v, dict)}
    model = tree.get("model", {})
    if not isinstance(model, dict):
        raise ConfigError("[model] must be a table")
    return HubConfig(
        hub=hub,
        http=http,
        connectors=connectors,
        model=model,
        services=services,
        source=" + ".join(sources) or "defaults",
    )


def _plain_or_secret(secret: Secret) -> Any:
    return secret if secret.path is not None else secret.get_secret_value()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _env_tree(env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG":
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{name} conflicts with another MCP_HUB_ variable")
            node = child
        node[parts[-1]] = _env_value(value)
    return tree


def _env_value(value: str) -> Any:
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _secret_files(tree: dict[str, Any]) -> dict[str, Any]:
    """Turn every `x_file = path` into `x = Secret.from_file(path)`."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out[key] = _secret_files(value)
        elif key.endswith("_file") and isinstance(value, str):
            out[key[: -len("_file")]] = Secret.from_file(value)
        else:
            out[key] = value
    return out


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and messages only: the rejected values may be secrets."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors(include_input=False)
    )

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

Test-runner variables share the prefix but are never configuration:
`MCP_HUB_TEST_*` and `MCP_HUB_LIVE_*` (one underscore after TEST/LIVE, e.g.
`MCP_HUB_TEST_DSN`, `MCP_HUB_LIVE_MODEL_URL`) and `MCP_HUB_UPDATE_SNAPSHOT`.

Every problem is reported at once, each with its full path (`hub.allow_wirtes`,
`postgres.instances.analytics.dsn`); a section nothing knows is an error.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from mcp_hub.errors import ConfigError
from mcp_hub.secret import Secret, secret_from_env

if TYPE_CHECKING:
    from mcp_hub.federation.settings import ServerSettings

ENV_PREFIX = "MCP_HUB_"
#: Sections that are not connectors: the hub's own, and the model/agent settings (model/settings.py).
_RESERVED_SECTIONS = ("hub", "http", "model", "servers")
#: Sections of the model's services (`mcp-hub triage`, `mcp-hub webhook`): kept raw in `HubConfig.services`,
#: validated by those commands, never taken for connectors.
SERVICE_SECTIONS = ("triage", "webhook")
#: `MCP_HUB_<this><X>` with X not an underscore: a test runner's variable, not configuration.
_TEST_VARIABLE_PREFIXES = ("TEST_", "LIVE_")
_TEST_VARIABLES = ("UPDATE_SNAPSHOT",)


def is_test_variable(name: str) -> bool:
    """True for the test runner's `MCP_HUB_…` variables (`MCP_HUB_TEST_DSN`, …), which configure no hub."""
    rest = name.removeprefix(ENV_PREFIX)
    if rest == name:
        return False
    if rest in _TEST_VARIABLES:
        return True
    return any(rest.startswith(p) and rest[len(p) : len(p) + 1] not in ("", "_") for p in _TEST_VARIABLE_PREFIXES)


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
    #: `text` or `json` lines on stderr (mcp_hub/logs.py); the `--log-format` flag wins. Other commands than
    #: `serve` read it from MCP_HUB_LOG_FORMAT (their logging starts before the configuration is read).
    log_format: Literal["text", "json"] | None = None
    #: Shared state across replicas (rate-limit budgets): unset = in-process; "redis://host:6379/0" = Redis.
    state_url: str | None = None
    #: Prefix of every key the hub writes to the shared state (one per hub deployment).
    state_prefix: str = "mcp-hub:"
    #: Tool globs whose calls wait for a person's approval (`mcp-hub approvals`, the console) before they
    #: run, e.g. ["github_create_*", "slack_post_message"]; empty: none (mcp_hub/approvals/).
    approve_writes: list[str] = Field(default_factory=list)
    #: How long a held write waits for a decision before it expires (and is not done).
    approval_timeout_s: float = Field(default=3600.0, gt=0, le=7 * 24 * 3600)
    #: OpenTelemetry spans around tool and model calls (also on when OTEL_EXPORTER_OTLP_ENDPOINT is set).
    tracing: bool = False
    #: `mcp-hub serve` lists connectors' tools from an on-disk cache and imports each connector on its
    #: first call (see `mcp_hub.catalog_cache`); false builds everything at start-up.
    catalog_cache: bool = True
    #: Key sealing the `request_state` of 2026-07-28 input-required rounds (e.g. a review's approval),
    #: shared by every replica so a retry may reach any of them; unset = a key of this process only.
    #: Give it as `request_state_key_file`; 32 characters or more.
    request_state_key: Secret | None = None
    #: The web console at /console on the HTTP transport (`mcp_hub.console`); off unless set (or `--console`).
    console: bool = False
    #: Caller-name globs (token names, OIDC callers) that may approve or deny in the console; empty = nobody.
    console_approvers: list[str] = Field(default_factory=list)
    #: Key signing console session cookies and CSRF tokens, shared by every replica (`console_secret_file`);
    #: 32 characters or more. Unset = a random key of this process (sessions end when it restarts).
    console_secret: Secret | None = None
    #: How long a console login lasts.
    console_session_minutes: int = Field(default=480, ge=1, le=10080)

    _lists = field_validator(
        "toolsets",
        "allow",
        "deny",
        "private_data_callers",
        "internal_data_callers",
        "connectors",
        "console_approvers",
        "approve_writes",
        mode="before",
    )(_split_list)

    @field_validator("request_state_key", "console_secret")
    @classmethod
    def _long_enough(cls, value: Secret | None, info: ValidationInfo) -> Secret | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(f"{info.field_name} must be 32 characters or more (e.g. `openssl rand -hex 32`)")
        return value


class PolicySettings(BaseModel):
    """A named narrowing of the hub's policy (`[http.policies.<name>]`, or a token's own)."""

    model_config = ConfigDict(extra="forbid")

    connectors: list[str] | None = None
    toolsets: list[str] | None = None
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    allow_writes: bool = False
    allow_destructive: bool = False
    #: HTTP calls a minute for callers under this policy (a token, or OIDC subjects mapped to it);
    #: unset: `http.calls_per_minute`.
    calls_per_minute: int | None = Field(default=None, ge=1)
    #: Write-tool globs whose calls by these callers wait for a person's approval, on top of
    #: `hub.approve_writes` (mcp_hub/approvals/).
    approve_writes: list[str] = Field(default_factory=list)

    _lists = field_validator("connectors", "toolsets", "allow", "deny", "approve_writes", mode="before")(_split_list)


#: The shortest static HTTP token accepted (an empty or short one would unlock a public bind).
MIN_TOKEN_LENGTH = 16


class TokenSettings(PolicySettings):
    """One HTTP bearer token; its name is the caller's identity in the audit log."""

    token: Secret

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: Secret) -> Secret:
        # A `token_file` is read when the hub starts serving (`mcp_hub.http`), not here: `config check`
        # and manifests' tests load configurations whose secret files exist only where they run.
        if value.path is None and not token_long_enough(value.get_secret_value()):
            raise ValueError(TOKEN_TOO_SHORT)
        return value


TOKEN_TOO_SHORT = (
    f"must be at least {MIN_TOKEN_LENGTH} characters (e.g. `openssl rand -hex 32`); "
    "an empty or short token would let anyone in"
)


def token_long_enough(value: str) -> bool:
    return len(value.strip()) >= MIN_TOKEN_LENGTH


class OidcSettings(BaseModel):
    """Bearer JWTs from an OpenID Connect issuer (`[http.oidc]`), per the MCP authorization spec.

    The hub is an OAuth protected resource: it validates tokens (signature from
    the issuer's JWKS, `iss`, `aud` = this resource, `exp`/`nbf`) and never passes
    them on; connectors use their own credentials.
    """

    model_config = ConfigDict(extra="forbid")

    issuer: str
    #: This hub's identifier as the tokens' `aud` names it (Entra ID: `api://<app id>` or the app id).
    audience: str
    #: The issuer's JWKS over HTTP(S); or `jwks_file` (read into `jwks`, re-read when it changes).
    jwks_url: str | None = None
    jwks: Secret | None = None
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    #: Every token must carry these (in `scope`/`scp`, or Entra's `roles`); 403 otherwise.
    required_scopes: list[str] = Field(default_factory=list)
    #: Advertised in the protected-resource metadata (default: `required_scopes`).
    scopes_supported: list[str] = Field(default_factory=list)
    #: Advertised in the metadata (default: `[issuer]`).
    authorization_servers: list[str] = Field(default_factory=list)
    #: The metadata's `resource` (default: `audience`).
    resource: str | None = None
    #: The claim naming the caller (audit log, data-boundary globs), prefixed `oidc:`.
    caller_claim: str = "sub"
    #: Named policy (`http.policies` or `http.tokens`) for callers no `claim_policies` entry matches.
    policy: str | None = None
    #: Claim whose values pick a policy (Entra ID app roles: `roles`).
    policy_claim: str = "roles"
    #: Claim value -> policy name; the first entry (in this order) whose value the token carries wins.
    claim_policies: dict[str, str] = Field(default_factory=dict)
    leeway_s: float = Field(default=30.0, ge=0, le=300)
    jwks_cache_s: float = Field(default=3600.0, ge=0)
    #: A token with an unknown `kid` refetches the JWKS at most this often.
    jwks_refetch_min_s: float = Field(default=30.0, ge=0)

    _lists = field_validator(
        "algorithms", "required_scopes", "scopes_supported", "authorization_servers", mode="before"
    )(_split_list)

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        bad = [alg for alg in value if alg not in allowed]
        if bad or not value:
            raise ValueError(f"algorithms must be asymmetric ones from {sorted(allowed)}")
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> OidcSettings:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError("set exactly one of jwks_url and jwks_file")
        return self


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    tokens: dict[str, TokenSettings] = Field(default_factory=dict)
    policies: dict[str, PolicySettings] = Field(default_factory=dict)
    oidc: OidcSettings | None = None
    #: Serve Prometheus metrics at /metrics (behind the same auth as /mcp unless `metrics_public`).
    metrics: bool = False
    metrics_public: bool = False
    #: The hub's public base URL (e.g. https://hub.example.com) for the protected-resource metadata link;
    #: default: from each request's Host.
    public_url: str | None = None
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: Calls (HTTP requests) a minute per caller: per token, per OIDC subject, or for the one local caller
    #: of a hub without tokens; counted across replicas through `hub.state_url`. Unset: no limit.
    calls_per_minute: int | None = Field(default=None, ge=1)

    _lists = field_validator("allowed_hosts", "allowed_origins", mode="before")(_split_list)

    @property
    def authenticated(self) -> bool:
        """True when requests must present credentials (static tokens or OIDC)."""
        return bool(self.tokens) or self.oidc is not None


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
    #: `[servers.<name>]`: federated MCP servers (`mcp_hub.federation.settings`).
    servers: dict[str, ServerSettings] = field(default_factory=dict)
    source: str = "defaults"
    #: The TOML file read (`--config` / `$MCP_HUB_CONFIG`); its directory holds `servers.lock.json`.
    path: Path | None = None


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    ecosystem_env: Mapping[str, Mapping[str, str]] | None = None,
    check_connectors: Callable[[Mapping[str, Any]], list[str]] | None = None,
    servers_file: str | Path | None = None,
    reserved_names: Iterable[str] = (),
) -> HubConfig:
    """Build the configuration from a TOML file and the environment.

    `servers_file` is a client's JSON of MCP servers (`--servers`): each entry becomes a
    `[servers.<name>]` section, onto which a TOML section of the same name without `command`/`url`
    adds settings (`trusted`, `read_only`, …); an entry named like one of `reserved_names` (the
    connectors) is renamed `<name>-mcp`.

    `ecosystem_env` maps connector name -> {variable: field}, e.g.
    {"postgres": {"DATABASE_URL": "dsn"}}; the registry supplies it.
    `check_connectors(sections)` returns the problems of the connector sections
    (`Registry.problems`), reported together with the hub's own.
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
    problems: list[str] = []
    services = {k: tree.pop(k) for k in SERVICE_SECTIONS if k in tree}
    for name, section in services.items():
        if not isinstance(section, dict):
            problems.append(f"[{name}] must be a table")
    hub_raw = {k: v for k, v in tree.items() if k not in _RESERVED_SECTIONS and not isinstance(v, dict)}
    hub_section = tree.get("hub", {})
    if isinstance(hub_section, dict):
        hub_raw.update(hub_section)
    else:
        problems.append("[hub] must be a table")
    http_section = tree.get("http", {})
    hub = _validated(HubSettings, hub_raw, "hub", problems)
    http = _validated(HttpSettings, http_section if isinstance(http_section, dict) else {}, "http", problems)
    if not isinstance(http_section, dict):
        problems.append("[http] must be a table")
    connectors = {k: v for k, v in tree.items() if k not in _RESERVED_SECTIONS and isinstance(v, dict)}
    model = tree.get("model", {})
    if not isinstance(model, dict):
        problems.append("[model] must be a table")
    servers_section = tree.get("servers", {})
    servers: dict[str, ServerSettings] = {}
    if servers_file is not None and isinstance(servers_section, dict):
        from mcp_hub.federation.report import with_client_servers

        servers_section, file_problems = with_client_servers(servers_section, servers_file, reserved_names, env)
        problems += file_problems
    if not isinstance(servers_section, dict):
        problems.append("[servers] must be a table")
    elif servers_section:  # imported only when some are configured (start-up cost)
        from mcp_hub.federation.settings import parse_servers

        servers, server_problems = parse_servers(servers_section)
        problems += server_problems
    if check_connectors is not None:
        problems += check_connectors(connectors)
    if problems:
        raise problems_error(problems)
    assert hub is not None and http is not None and isinstance(model, dict)
    return HubConfig(
        hub=hub,
        http=http,
        connectors=connectors,
        model=model,
        services=services,
        servers=servers,
        source=" + ".join(sources) or "defaults",
        path=Path(path) if path is not None else None,
    )


_ModelT = TypeVar("_ModelT", bound=BaseModel)


def _validated(model: type[_ModelT], raw: dict[str, Any], path: str, problems: list[str]) -> _ModelT | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, path))
        return None


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
        if not name.startswith(ENV_PREFIX) or name == f"{ENV_PREFIX}CONFIG" or is_test_variable(name):
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


def problems_error(problems: list[str]) -> ConfigError:
    """One problem on one line; several, one per line."""
    if len(problems) == 1:
        return ConfigError(f"invalid configuration: {problems[0]}")
    return ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def describe_validation_error(exc: ValidationError) -> str:
    """Field paths and messages only: the rejected values may be secrets."""
    return "; ".join(validation_problems(exc))


def validation_problems(exc: ValidationError, path: str = "") -> list[str]:
    """One line per problem, `path.field: message` (no values: they may be secrets)."""
    lines = []
    for err in exc.errors(include_input=False):
        where = ".".join([path] * bool(path) + [str(p) for p in err["loc"]]) or "value"
        message = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {message}")
    return lines

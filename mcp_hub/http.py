"""The HTTP front of the hub: Host/Origin checks, bearer auth, body limit, /healthz.

One ASGI layer in front of the SDK's Streamable HTTP or SSE app, on every bind
(the SDK turns its own DNS-rebinding protection on for loopback binds only):

- `Host` must name this server (loopback names, the bind address, or
  `http.allowed_hosts`) when the hub runs without tokens (the DNS-rebinding
  defence for a loopback hub) or when `http.allowed_hosts` is set; a hub with
  tokens and no list accepts any Host, since a rebinding page cannot present
  a token. A foreign `Origin` gets 403 on every bind (browsers send one;
  command-line clients usually don't).
- With tokens configured, every request but /healthz needs
  `Authorization: Bearer <token>`; tokens are compared in constant time and the
  matching token's name and policy become the request's `Caller`.
- `X-MCP-Hub-Lockdown: 1` makes the request's caller ask connectors to
  withhold outsider text (a header can switch lockdown on, never off).
- github-mcp-server's request headers work as aliases, narrowing only:
  `X-MCP-Toolsets` and `X-MCP-Tools` (comma-separated) keep only those toolsets /
  tools, `X-MCP-Readonly: true` hides writes, `X-MCP-Lockdown: true` is our lockdown.
  They are intersected with the caller's policy (`Policy.also`): a header never
  shows a tool the caller's token or OIDC policy does not allow.
- With `http.calls_per_minute` (or a token's / policy's own), each caller gets that
  many requests a minute, counted across replicas (mcp_hub.ratelimit); over it, 429
  with `Retry-After`.
- Bodies over `http.max_body_bytes` get 413 before they reach the server (a
  chunked body is read here up to the limit, then handed on whole).
- Each MCP session belongs to the caller that opened it (the SDK's principal
  check, fed from the caller): another caller presenting its id gets 404.
- With `[http.oidc]`, bearer JWTs from the issuer are accepted too (mcp_hub.oidc);
  `/.well-known/oauth-protected-resource` (RFC 9728) is served without auth and
  every 401 names it in `WWW-Authenticate: Bearer resource_metadata="…"`.
  Without it, a 401 is `Bearer realm="mcp-hub"` (`error="invalid_token"` when a
  token was presented) and OAuth discovery paths get 404: nothing sends a
  client into an OAuth flow that cannot finish.
- With `http.metrics`, `/metrics` serves Prometheus text, behind the same auth
  as /mcp unless `http.metrics_public`.
- With `hub.console`, `/console` is the web console (`mcp_hub.console`): Host is checked
  here; the rest (its token login, sessions, same-origin and CSRF checks) is its own.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_hub import metrics
from mcp_hub.config import TOKEN_TOO_SHORT, HubConfig, PolicySettings, token_long_enough
from mcp_hub.errors import ConfigError
from mcp_hub.policy import Caller, Policy
from mcp_hub.ratelimit import CallRate
from mcp_hub.server import CALLER_SCOPE_KEY
from mcp_hub.state import InProcessState, StateStore

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
LOCKDOWN_HEADER = "x-mcp-hub-lockdown"
#: github-mcp-server's names for the same ideas (narrowing-only here).
GITHUB_LOCKDOWN_HEADER = "x-mcp-lockdown"
TOOLSETS_HEADER = "x-mcp-toolsets"
TOOLS_HEADER = "x-mcp-tools"
READONLY_HEADER = "x-mcp-readonly"
TRUE_VALUES = ("1", "true", "yes", "on")
METADATA_PATH = "/.well-known/oauth-protected-resource"
#: Where OAuth clients look for an authorization server (RFC 8414, OpenID discovery, RFC 9728).
OAUTH_DISCOVERY_PATHS = (
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
)
#: The SSE `retry` hint (milliseconds) on resumable Streamable HTTP streams.
RETRY_INTERVAL_MS = 1000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class _Token:
    name: str
    secret: Any  # mcp_hub.secret.Secret (re-read from its file when it changes)
    caller_policy: Policy


def _narrowed(policy: Policy, spec: PolicySettings) -> Policy:
    return policy.narrowed(
        allow_writes=spec.allow_writes,
        allow_destructive=spec.allow_destructive,
        toolsets=spec.toolsets,
        allow=spec.allow,
        deny=spec.deny,
        connectors=spec.connectors,
        hold=spec.approve_writes,
    )


class HttpGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        config: HubConfig,
        policy: Policy,
        transport: str,
        host: str,
        port: int,
        state: StateStore | None = None,
        federation: Any = None,
    ) -> None:
        http = config.http
        #: Federated servers (`mcp_hub.federation.mount.Federation`), reported by /healthz.
        self.federation = federation
        self.app = app
        #: The web console's app (`mcp_hub.console`), when `hub.console` is on.
        self.console: ASGIApp | None = None
        self.transport = transport
        self.max_body = http.max_body_bytes
        self.tokens = [_Token(name, spec.token, _narrowed(policy, spec)) for name, spec in sorted(http.tokens.items())]
        for token in self.tokens:  # at start-up, token files included
            if not token_long_enough(token.secret.get_secret_value()):
                raise ConfigError(f"invalid configuration: http.tokens.{token.name}.token: {TOKEN_TOO_SHORT}")
        #: Named policies an OIDC token can map to: `http.policies`, then the tokens' own.
        self.policies: dict[str, Policy] = {name: _narrowed(policy, spec) for name, spec in http.policies.items()}
        self.policies.update({t.name: t.caller_policy for t in self.tokens if t.name not in self.policies})
        self.hub_policy = policy
        #: Calls a minute per caller: the token's or policy's own, else `http.calls_per_minute`.
        self.default_rate = http.calls_per_minute
        self.rates: dict[str, int | None] = {n: s.calls_per_minute for n, s in http.policies.items()}
        self.token_rates = {n: s.calls_per_minute or self.default_rate for n, s in http.tokens.items()}
        for token_name, token_spec in http.tokens.items():
            self.rates.setdefault(token_name, token_spec.calls_per_minute)
        self.call_rate = CallRate(state if state is not None else InProcessState(config.hub.state_prefix))
        self.oidc: Any = None
        self.oidc_settings = http.oidc
        if http.oidc is not None:
            from mcp_hub.oidc import OidcVerifier

            for name in [http.oidc.policy, *http.oidc.claim_policies.values()]:
                if name is not None and name not in self.policies:
                    raise ConfigError(f"http.oidc names policy {name!r}: define [http.policies.{name}]")
            self.oidc = OidcVerifier(http.oidc)
        self.authenticated = http.authenticated
        self.metrics = http.metrics
        self.metrics_public = http.metrics_public
        if http.metrics:
            metrics.enable()
        self.public_url = http.public_url.rstrip("/") if http.public_url else None
        self.anonymous = Caller("local-http", transport, policy)
        hosts = {*LOOPBACK_NAMES, host, *http.allowed_hosts}
        self.allowed_hosts = tuple(hosts)
        self.check_host = not self.authenticated or bool(http.allowed_hosts)
        origins = [f"http://{h}" for h in LOOPBACK_NAMES] + [f"https://{h}" for h in LOOPBACK_NAMES]
        self.allowed_origins = tuple(origins + [o.rstrip("/") for o in config.http.allowed_origins])
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if self.check_host and not self._host_allowed(headers.get("host", "")):
            await _reply(send, 421, {"error": "misdirected request: Host is not one this hub serves"})
            return
        path = scope["path"]
        if self.console is not None and (path == "/console" or path.startswith("/console/")):
            # The console authenticates itself (a session cookie from a token login, `mcp_hub.console`) and
            # checks that every POST comes from its own origin (Origin == Host, Sec-Fetch-Site, CSRF token).
            await self.console(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            await _reply(send, 403, {"error": "forbidden: Origin not allowed (add it to http.allowed_origins)"})
            return
        if path == "/healthz":
            await _reply(send, 200, self._health())
            return
        if self.oidc_settings is not None and (path == METADATA_PATH or path.startswith(METADATA_PATH + "/")):
            from mcp_hub.oidc import protected_resource_metadata

            await _reply(send, 200, protected_resource_metadata(self.oidc_settings))
            return
        if self.oidc_settings is None and path.startswith(OAUTH_DISCOVERY_PATHS):
            # Static tokens (or none): there is no OAuth here. Say so plainly, without a 401 that a client
            # would take for "authorization needed", so it does not start a flow it cannot finish.
            await _reply(send, 404, {"error": "no OAuth here: this hub takes static bearer tokens"})
            return
        if path == "/metrics" and self.metrics and self.metrics_public:
            await _reply_metrics(send)
            return
        caller, problem, rate = await self._authenticate(headers.get("authorization", ""))
        if caller is None:
            await self._refuse(scope, headers, send, problem)
            return
        if path == "/metrics" and self.metrics:
            await _reply_metrics(send)
            return
        if rate is not None:
            identity, limit = rate
            wait = await self.call_rate.admit(identity, limit)
            if wait is not None:
                body = {"error": f"rate limited: {limit} calls a minute for this caller; retry after {wait} s"}
                await _reply(send, 429, body, [(b"retry-after", str(wait).encode())])
                return
        length = headers.get("content-length")
        too_large = {"error": f"request body larger than {self.max_body} bytes"}
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, too_large)
            return
        if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            # A chunked body: read it here, up to the limit, so an oversized one gets 413 (not a broken stream).
            buffered = await _buffered(receive, self.max_body)
            if buffered is None:
                await _reply(send, 413, too_large)
                return
            receive = buffered
        caller = _narrowed_by_headers(caller, headers)
        scope[CALLER_SCOPE_KEY] = caller
        if self.authenticated:
            # The SDK binds each session to the principal that opened it: another caller presenting the
            # session id gets 404, as if it did not exist (stream, messages and DELETE alike).
            scope["user"] = _principal(caller)
        await self.app(scope, _limited(receive, self.max_body), send)

    def _health(self) -> dict[str, Any]:
        """The hub serves (200) whatever its federated servers do; each one's state is listed.

        Unauthenticated, so counts only: which tools are withheld and why is in `mcp-hub config check`.
        """
        body: dict[str, Any] = {"status": "ok"}
        if self.federation is not None:
            body["servers"] = {
                row["server"]: {
                    "state": row["state"],
                    "tools": row.get("tools", 0),
                    "withheld": len(row.get("withheld", [])),
                    "restarts": row.get("restarts", 0),
                }
                for row in self.federation.status()
            }
        return body

    async def _authenticate(self, authorization: str) -> tuple[Caller | None, Any, tuple[str, int] | None]:
        """The caller, or None and why (a `TokenRejected` when a token was presented and refused); and
        the caller's rate-limit identity and calls a minute (None: no limit)."""
        if not self.authenticated:
            local = None if self.default_rate is None else (f"local:{self.anonymous.name}", self.default_rate)
            return self.anonymous, None, local
        scheme, _, presented = authorization.partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            return None, None, None
        matched: _Token | None = None
        for token in self.tokens:  # compare against every token: no early exit
            secret = token.secret.get_secret_value()
            # A token file rewritten empty or short since start-up matches nothing.
            if hmac.compare_digest(secret.encode(), presented.encode()) and token_long_enough(secret):
                matched = token
        if matched is not None:
            limit = self.token_rates.get(matched.name)
            rate = None if limit is None else (f"token:{matched.name}", limit)
            return Caller(matched.name, self.transport, matched.caller_policy), None, rate
        if self.oidc is None:
            return None, None, None
        from mcp_hub.oidc import TokenRejected

        try:
            identity = await self.oidc.verify(presented)
        except TokenRejected as rejected:
            return None, rejected, None
        policy = self.policies[identity.policy] if identity.policy is not None else self.hub_policy
        limit = (self.rates.get(identity.policy) if identity.policy is not None else None) or self.default_rate
        rate = None if limit is None else (f"oidc:{identity.caller}", limit)
        return Caller(identity.caller, self.transport, policy), None, rate

    async def _refuse(self, scope: Scope, headers: dict[str, str], send: Send, problem: Any) -> None:
        presented = bool(headers.get("authorization", "").partition(" ")[2].strip())
        status = getattr(problem, "status", 401)
        message = getattr(problem, "message", None)
        if self.oidc_settings is not None:
            base = self.public_url or f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
            challenge = f'Bearer resource_metadata="{base}{METADATA_PATH}"'
            if problem is not None:
                challenge += f', error="{problem.error}", error_description="{_header_safe(message)}"'
                if problem.error == "insufficient_scope":
                    challenge += f', scope="{" ".join(self.oidc_settings.required_scopes)}"'
        else:
            # Static tokens: no resource_metadata, nothing that points a client at an authorization server.
            challenge = 'Bearer realm="mcp-hub"'
            if presented:  # RFC 6750: a presented token is invalid_token; none presented, no error code
                message = "the bearer token is not valid"
                challenge += f', error="invalid_token", error_description="{message}"'
        text = "forbidden" if status == 403 else "unauthorized"
        detail = message or "send Authorization: Bearer <token>"
        await _reply(send, status, {"error": f"{text}: {detail}"}, [(b"www-authenticate", challenge.encode("latin-1"))])

    def _host_allowed(self, host_header: str) -> bool:
        host = _strip_port(host_header)
        return any(fnmatchcase(host, pattern) for pattern in self.allowed_hosts)

    def _origin_allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/")
        bare = origin.rsplit(":", 1)[0] if origin.count(":") == 2 else origin
        return any(fnmatchcase(origin, o) or fnmatchcase(bare, o) for o in self.allowed_origins)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _narrowed_by_headers(caller: Caller, headers: dict[str, str]) -> Caller:
    """The caller narrowed by the request's own headers (ours and github-mcp-server's): they can hide
    tools and switch lockdown on, never show a tool or switch anything back on."""
    if any(headers.get(h, "").strip().lower() in TRUE_VALUES for h in (LOCKDOWN_HEADER, GITHUB_LOCKDOWN_HEADER)):
        caller = replace(caller, lockdown=True)
    toolsets, tools = _csv(headers.get(TOOLSETS_HEADER)), _csv(headers.get(TOOLS_HEADER))
    readonly = headers.get(READONLY_HEADER, "").strip().lower() in TRUE_VALUES
    if not (toolsets or tools or readonly):
        return caller
    wanted = Policy(
        allow_writes=not readonly,
        allow_destructive=not readonly,
        toolsets=frozenset(toolsets) if toolsets else frozenset({"all"}),
        allow=tuple(tools),
    )
    return replace(caller, policy=caller.policy.also(wanted))


def _header_safe(text: Any) -> str:
    """Printable ASCII without quotes or backslashes (parts of the message may come from the token)."""
    return "".join(ch for ch in str(text) if 32 <= ord(ch) < 127 and ch not in '"\\')


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _principal(caller: Caller) -> Any:
    """The SDK's authenticated user for `caller`: sessions and request states are bound to it."""
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken

    # `token` is never a credential here: the SDK compares principals by client id, issuer and subject.
    token = AccessToken(token="", client_id=caller.name, scopes=[], subject=caller.name, claims={"iss": "mcp-hub"})
    return AuthenticatedUser(token)


async def _buffered(receive: Receive, limit: int) -> Receive | None:
    """Read a whole body of unknown length; None when it exceeds `limit`, else a receive that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            first: Message | None = message  # the client left: pass that on
            break
        body = message.get("body", b"")
        size += len(body)
        if size > limit:
            return None
        chunks.append(body)
        if not message.get("more_body", False):
            first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            break

    async def replay() -> Message:
        nonlocal first
        if first is not None:
            message, first = first, None
            return message
        return await receive()

    return replay


def _limited(receive: Receive, limit: int) -> Receive:
    """Stop a chunked body at the limit (Content-Length was already checked)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                return {"type": "http.disconnect"}
        return message

    return wrapped


async def _reply(send: Send, status: int, body: dict[str, Any], extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _reply_metrics(send: Send) -> None:
    payload = metrics.render()
    headers = [(b"content-type", metrics.CONTENT_TYPE.encode()), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def build_http_app(server: Any, config: HubConfig, policy: Policy, transport: str, host: str, port: int) -> ASGIApp:
    """The SDK's app for `transport` ("http" or "sse") behind the guard."""
    from mcp.server.transport_security import TransportSecuritySettings

    # Our guard checks Host/Origin on every bind; the SDK's check would only repeat it on loopback.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if transport == "sse":
        inner = server.sse_app(max_request_body_size=config.http.max_body_bytes, transport_security=security, host=host)
    else:
        from mcp_hub.event_store import MemoryEventStore

        # Resumable streams: a client that loses a POST stream mid-call reconnects with Last-Event-ID.
        inner = server.streamable_http_app(
            max_request_body_size=config.http.max_body_bytes,
            transport_security=security,
            host=host,
            event_store=MemoryEventStore(),
            retry_interval=RETRY_INTERVAL_MS,
        )
    state = getattr(server, "state", None)
    federation = getattr(server, "federation", None)
    guard = HttpGuard(
        inner,
        config=config,
        policy=policy,
        transport=transport,
        host=host,
        port=port,
        state=state,
        federation=federation,
    )
    if config.hub.console:
        from mcp_hub.console import build_console

        guard.console = build_console(server, config, guard)
    return guard

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
- Bodies over `http.max_body_bytes` get 413 before they reach the server.
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

from mcp_hub.config import HubConfig
from mcp_hub.policy import Caller, Policy
from mcp_hub.server import CALLER_SCOPE_KEY

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
LOCKDOWN_HEADER = "x-mcp-hub-lockdown"


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


class HttpGuard:
    def __init__(
        self, app: ASGIApp, *, config: HubConfig, policy: Policy, transport: str, host: str, port: int
    ) -> None:
        self.app = app
        self.transport = transport
        self.max_body = config.http.max_body_bytes
        self.tokens = [
            _Token(
                name,
                spec.token,
                policy.narrowed(
                    allow_writes=spec.allow_writes,
                    allow_destructive=spec.allow_destructive,
                    toolsets=spec.toolsets,
                    allow=spec.allow,
                    deny=spec.deny,
                    connectors=spec.connectors,
                ),
            )
            for name, spec in sorted(config.http.tokens.items())
        ]
        self.anonymous = Caller("local-http", transport, policy)
        hosts = {*LOOPBACK_NAMES, host, *config.http.allowed_hosts}
        self.allowed_hosts = tuple(hosts)
        self.check_host = not self.tokens or bool(config.http.allowed_hosts)
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
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            await _reply(send, 403, {"error": "forbidden: Origin not allowed (add it to http.allowed_origins)"})
            return
        if scope["path"] == "/healthz":
            await _reply(send, 200, {"status": "ok"})
            return
        caller = self._authenticate(headers.get("authorization", ""))
        if caller is None:
            await _reply(
                send,
                401,
                {"error": "unauthorized: send Authorization: Bearer <token>"},
                [(b"www-authenticate", b"Bearer")],
            )
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, {"error": f"request body larger than {self.max_body} bytes"})
            return
        if headers.get(LOCKDOWN_HEADER, "").strip().lower() in ("1", "true", "yes", "on"):
            caller = replace(caller, lockdown=True)  # a request may turn lockdown on, never off
        scope[CALLER_SCOPE_KEY] = caller
        await self.app(scope, _limited(receive, self.max_body), send)

    def _authenticate(self, authorization: str) -> Caller | None:
        if not self.tokens:
            return self.anonymous
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return None
        matched: _Token | None = None
        for token in self.tokens:  # compare against every token: no early exit
            if hmac.compare_digest(token.secret.get_secret_value().encode(), presented.strip().encode()):
                matched = token
        return Caller(matched.name, self.transport, matched.caller_policy) if matched else None

    def _host_allowed(self, host_header: str) -> bool:
        host = _strip_port(host_header)
        return any(fnmatchcase(host, pattern) for pattern in self.allowed_hosts)

    def _origin_allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/")
        bare = origin.rsplit(":", 1)[0] if origin.count(":") == 2 else origin
        return any(fnmatchcase(origin, o) or fnmatchcase(bare, o) for o in self.allowed_origins)


def _strip_port(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


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


async def _reply(send: Send, status: int, body: dict[str, str], extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def build_http_app(server: Any, config: HubConfig, policy: Policy, transport: str, host: str, port: int) -> ASGIApp:
    """The SDK's app for `transport` ("http" or "sse") behind the guard."""
    from mcp.server.transport_security import TransportSecuritySettings

    # Our guard checks Host/Origin on every bind; the SDK's check would only repeat it on loopback.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    if transport == "sse":
        inner = server.sse_app(max_request_body_size=config.http.max_body_bytes, transport_security=security, host=host)
    else:
        inner = server.streamable_http_app(
            max_request_body_size=config.http.max_body_bytes, transport_security=security, host=host
        )
    return HttpGuard(inner, config=config, policy=policy, transport=transport, host=host, port=port)

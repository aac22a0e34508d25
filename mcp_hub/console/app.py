"""The console's ASGI app: login, sessions, CSRF, security headers, and the approvals pages.

The other pages (audit, health, catalog, definitions) are in `views.py`. Every handler gets the
signed-in `Viewer` from `_viewer`, the one place that authenticates a console request: a session
cookie (checked against the current tokens), or for GETs (exports from scripts) a bearer token.
Every POST crosses `_posted`, the one place that checks the origin and the CSRF token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, PackageLoader
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_hub.approvals import ApprovalFilter, ApprovalQueue, Page
from mcp_hub.console.queue import queue_for, view
from mcp_hub.console.session import (
    COOKIE,
    LOGIN_COOKIE,
    Session,
    Signer,
    cookie_header,
    same_origin,
)
from mcp_hub.errors import InvalidInput
from mcp_hub.policy import Caller

MAX_FORM_BYTES = 65_536
#: Sign-in attempts a minute per client address (counted across replicas in the shared state).
LOGIN_ATTEMPTS_PER_MINUTE = 20
MAX_NOTE_CHARS = 2000
STATIC = Path(__file__).parent / "static"
#: On every console response, errors and redirects included.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make Chromium send `Origin: null`
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


@dataclass(frozen=True, slots=True)
class Viewer:
    caller: Caller
    session: Session | None  # None: a bearer-token request (GET only)
    can_approve: bool


class Console:
    def __init__(self, server: Any, config: Any, guard: Any, queue: ApprovalQueue | None) -> None:
        hub = config.hub
        self.server = server
        self.config = config
        self.guard = guard
        self.queue = queue if queue is not None else queue_for(server, config)
        secret = hub.console_secret.get_secret_value() if hub.console_secret is not None else None
        self.signer = Signer(secret)
        self.approvers = tuple(hub.console_approvers)
        self.lifetime_s = hub.console_session_minutes * 60
        self.templates = Environment(loader=PackageLoader("mcp_hub.console", "templates"), autoescape=True)
        self.templates.filters["qs"] = lambda params: urlencode(params)
        # Readable JSON (`tojson` escapes < > & as \u003c…): a plain string, so autoescaping applies to it.
        self.templates.filters["pretty"] = lambda value, indent=None: json.dumps(
            value, indent=indent, ensure_ascii=False, default=str
        )

    # -- who is asking ------------------------------------------------------------------------------

    def _caller_of(self, session: Session) -> Caller | None:
        """The caller a session stands for, if its credential is still valid."""
        guard = self.guard
        if session.via == "local":
            return guard.anonymous if not guard.authenticated else None
        if session.via == "token":
            for token in guard.tokens:
                if token.name == session.policy:
                    current = self.signer.fingerprint(token.secret.get_secret_value())
                    if current == session.fingerprint:  # a rotated token ends its sessions
                        return Caller(token.name, "console", token.caller_policy)
            return None
        if session.via == "oidc" and guard.oidc is not None:
            policy = guard.policies.get(session.policy) if session.policy else guard.hub_policy
            return Caller(session.caller, "console", policy) if policy is not None else None
        return None

    async def _viewer(self, request: Request) -> Viewer | None:
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is not None and await self.server.state.get(_revoked_key(session.sid)) is not None:
            session = None  # signed out: the cookie a copy of it would carry is dead on every replica
        caller = self._caller_of(session) if session is not None else None
        if caller is None and request.method == "GET" and "authorization" in request.headers:
            found, _, _ = await self.guard._authenticate(request.headers["authorization"])
            caller, session = found, None
        if caller is None:
            return None
        may = any(fnmatchcase(caller.name, glob) for glob in self.approvers)
        return Viewer(caller, session, may)

    async def _posted(self, request: Request, viewer: Viewer | None) -> tuple[dict[str, str], str | None]:
        """The form, or why this POST is refused (cross-site, no session, bad CSRF token)."""
        problem = same_origin(request.headers, request.headers.get("host", ""))
        if problem is not None:
            return {}, problem
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return {}, "form too large"
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if viewer is None or viewer.session is None:
            return form, "not signed in"
        if not self.signer.csrf_ok(viewer.session, form.get("csrf")):
            return form, "missing or wrong CSRF token: reload the page and try again"
        return form, None

    def audit(self, caller: str, action: str, arguments: dict[str, Any], outcome: str) -> None:
        self.server.audit.record(
            transport="console",
            caller=caller,
            tool=f"console.{action}",
            arguments=arguments,
            outcome=outcome,
            duration_ms=0.0,
        )

    def render(self, name: str, viewer: Viewer | None, status: int = 200, **values: Any) -> HTMLResponse:
        csrf = self.signer.csrf(viewer.session) if viewer is not None and viewer.session is not None else ""
        page = self.templates.get_template(name).render(viewer=viewer, csrf=csrf, **values)
        return HTMLResponse(page, status_code=status)

    def refuse(self, viewer: Viewer | None, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", viewer, status=status, message=message)

    # -- login -------------------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        nonce = self.signer.login_nonce()
        response = self.render(
            "login.html", None, login_csrf=self.signer.login_csrf(nonce), needs_token=self.guard.authenticated
        )
        secure = request.url.scheme == "https"
        response.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, nonce, secure=secure, max_age=600))
        return response

    async def login(self, request: Request) -> Response:
        form, problem = await self._posted(request, None)
        if problem not in (None, "not signed in"):
            return self.refuse(None, 403, str(problem))
        client = request.client.host if request.client is not None else "?"
        wait = await self.guard.call_rate.admit(f"console-login:{client}", LOGIN_ATTEMPTS_PER_MINUTE)
        if wait is not None:
            self.audit("(anonymous)", "login", {"client": client}, "rate_limited")
            response = self.refuse(None, 429, f"too many sign-in attempts: try again in {wait} s")
            response.headers["retry-after"] = str(wait)
            return response
        if not self.signer.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
            return self.refuse(None, 403, "the login form expired or came from elsewhere: open /console/login again")
        token = form.get("token", "").strip()
        if not self.guard.authenticated:
            session = self.signer.new_session(self.guard.anonymous.name, "local", "", "", self.lifetime_s)
        else:
            caller, _, _ = await self.guard._authenticate(f"Bearer {token}")
            if caller is None or not token:
                self.audit("(anonymous)", "login", {}, "denied")
                return self.render(
                    "login.html",
                    None,
                    status=401,
                    error="that token is not valid for this hub",
                    login_csrf=form.get("csrf", ""),
                    needs_token=True,
                )
            static = any(t.name == caller.name for t in self.guard.tokens)
            via, policy = ("token", caller.name) if static else ("oidc", self._oidc_policy(caller))
            fingerprint = self.signer.fingerprint(token) if static else ""
            lifetime = self.lifetime_s if static else min(self.lifetime_s, _jwt_lifetime(token))
            session = self.signer.new_session(caller.name, via, policy, fingerprint, lifetime)
        self.audit(session.caller, "login", {"via": session.via}, "ok")
        redirect = RedirectResponse("/console/approvals", status_code=303)
        secure = request.url.scheme == "https"
        value = self.signer.cookie_value(session)
        redirect.headers.append(
            "set-cookie",
            cookie_header(COOKIE, value, secure=secure, max_age=max(0, int(session.expires - time.time()))),
        )
        redirect.headers.append("set-cookie", cookie_header(LOGIN_COOKIE, "", secure=secure, max_age=0))
        return redirect

    def _oidc_policy(self, caller: Caller) -> str:
        for name, policy in self.guard.policies.items():
            if policy is caller.policy:
                return str(name)
        return ""

    async def logout(self, request: Request) -> Response:
        viewer = await self._viewer(request)
        _, problem = await self._posted(request, viewer)
        if problem is not None:
            return self.refuse(viewer, 403, problem)
        assert viewer is not None
        if viewer.session is not None:  # revoked until it would have expired anyway (shared by replicas)
            remaining = viewer.session.expires - time.time()
            await self.server.state.set(_revoked_key(viewer.session.sid), "1", ttl_s=max(remaining, 1.0))
        self.audit(viewer.caller.name, "logout", {}, "ok")
        response = RedirectResponse("/console/login", status_code=303)
        response.headers.append(
            "set-cookie", cookie_header(COOKIE, "", secure=request.url.scheme == "https", max_age=0)
        )
        return response

    # -- approvals ---------------------------------------------------------------------------------

    async def approvals(self, request: Request, viewer: Viewer) -> Response:
        status = request.query_params.get("status", "pending")
        if status not in ("pending", "approved", "denied", "expired", "cancelled", "all"):
            status = "pending"
        page = _page(request)
        wanted = ApprovalFilter(None if status == "all" else status)  # type: ignore[arg-type]
        found = await self.queue.list(wanted, Page(page + 1, 50))
        return self.render(
            "approvals.html",
            viewer,
            rows=[view(r) for r in found.items],
            showing=status,
            page=page,
            more=found.has_next,
            total=found.total,
            tab="approvals",
        )

    async def approval(self, request: Request, viewer: Viewer) -> Response:
        found = await self.queue.get(request.path_params["id"])
        if found is None:
            return self.refuse(viewer, 404, "no such approval (it may have expired and been removed)")
        return self.render("approval.html", viewer, a=view(found), tab="approvals")

    async def decide(self, request: Request) -> Response:
        viewer = await self._viewer(request)
        form, problem = await self._posted(request, viewer)
        approval_id = request.path_params["id"]
        if problem is not None or viewer is None:
            who = viewer.caller.name if viewer is not None else "(anonymous)"
            self.audit(who, "decide", {"id": approval_id}, "refused")
            return self.refuse(viewer, 403 if viewer is not None else 401, problem or "not signed in")
        decision = form.get("decision")
        note = form.get("note", "").strip()[:MAX_NOTE_CHARS]
        if decision not in ("approve", "deny"):
            return self.refuse(viewer, 400, "choose approve or deny")
        arguments = {"id": approval_id, "note": note}
        if not viewer.can_approve:
            self.audit(viewer.caller.name, decision, arguments, "denied")
            return self.refuse(viewer, 403, f"{viewer.caller.name} may not decide approvals (hub.console_approvers)")
        if decision == "deny" and not note:
            return self.refuse(viewer, 400, "a denial needs a note saying why (the agent is told)")
        try:
            decided = await self.queue.decide(
                approval_id, decision == "approve", viewer.caller.name, note, transport="console"
            )
        except InvalidInput as exc:
            return self.refuse(viewer, 404 if "no approval" in exc.message else 400, exc.message)
        if not decided.won:  # another person, replica or the expiry decided first: theirs stands
            status = decided.approval.status
            return self.refuse(viewer, 409, f"this approval is {status} already: your decision was not recorded")
        # The queue audits the decision itself (transport console, the approval's id, status and note).
        return RedirectResponse(f"/console/approvals/{approval_id}", status_code=303)


def _jwt_lifetime(token: str) -> float:
    """Seconds until an OIDC access token's `exp` (the guard verified it already): a session opened with it
    ends when it does."""
    import base64

    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return max(0.0, float(claims["exp"]) - time.time())
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "0")
    return min(int(raw), 10_000) if raw.isdigit() else 0


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def _signed_in(handler: Handler, console: Console) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        viewer = await console._viewer(request)
        if viewer is None:
            if request.url.path.endswith((".csv", ".jsonl")):
                return PlainTextResponse("unauthorized: sign in at /console/login or send a bearer token", 401)
            return RedirectResponse("/console/login", status_code=303)
        return await handler(request, viewer)

    return endpoint


TEXTUAL = (b"text/", b"application/json", b"application/x-ndjson")


def _guarded(app: ASGIApp, redactor: Any) -> ASGIApp:
    """Every console response gets the security headers, and every text body the hub's redaction (the
    tokens, the console key, the connectors' secrets, secret-shaped strings): the one choke point
    between whatever a page or export holds and the browser."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        held: Message | None = None
        textual = False

        async def sending(message: Message) -> None:
            nonlocal held, textual
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                kind = next((v for k, v in kept if k.lower() == b"content-type"), b"")
                textual = kind.startswith(TEXTUAL)
                held = {**message, "headers": kept + SECURITY_HEADERS}
                return
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if textual and body:
                    body = redactor.redact(body.decode("utf-8", "replace")).encode()
                if held is not None:  # the length is known only now
                    headers = [(k, v) for k, v in held["headers"] if k.lower() != b"content-length"]
                    if not message.get("more_body", False):
                        headers.append((b"content-length", str(len(body)).encode()))
                    await send({**held, "headers": headers})
                    held = None
                message = {**message, "body": body}
            await send(message)

        await app(scope, receive, sending)

    return wrapped


def build_console(server: Any, config: Any, guard: Any, queue: ApprovalQueue | None = None) -> ASGIApp:
    """The console app; `guard` is the `HttpGuard` whose authentication it shares."""
    from mcp_hub.console import views

    console = Console(server, config, guard, queue)
    pages = views.Pages(console)
    routes = [
        Route("/console", lambda r: RedirectResponse("/console/approvals", 303), methods=["GET"]),
        Route("/console/login", console.login_page, methods=["GET"]),
        Route("/console/login", console.login, methods=["POST"]),
        Route("/console/logout", console.logout, methods=["POST"]),
        Route("/console/static/console.css", lambda r: FileResponse(STATIC / "console.css"), methods=["GET"]),
        Route("/console/approvals", _signed_in(console.approvals, console), methods=["GET"]),
        Route("/console/approvals/{id}", _signed_in(console.approval, console), methods=["GET"]),
        Route("/console/approvals/{id}/decide", console.decide, methods=["POST"]),
        Route("/console/audit", _signed_in(pages.audit, console), methods=["GET"]),
        Route("/console/audit.csv", _signed_in(pages.audit_export, console), methods=["GET"]),
        Route("/console/audit.jsonl", _signed_in(pages.audit_export, console), methods=["GET"]),
        Route("/console/health", _signed_in(pages.health, console), methods=["GET"]),
        Route("/console/catalog", _signed_in(pages.catalog, console), methods=["GET"]),
        Route("/console/definitions", _signed_in(pages.definitions, console), methods=["GET"]),
        Route("/console/definitions/approve", pages.approve_definition, methods=["POST"]),
    ]
    redactor = server.redactor
    redactor.add([token.secret for token in guard.tokens])
    if config.hub.console_secret is not None:
        redactor.add([config.hub.console_secret])
    app = _guarded(Router(routes=routes), redactor)
    app.console = console  # type: ignore[attr-defined]  # for tests and the HTTP guard
    return app


def _revoked_key(sid: str) -> str:
    """The shared-state key that marks a signed-out session."""
    return f"console:revoked:{sid}"

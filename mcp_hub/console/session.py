"""Console sessions: a signed cookie after a token login, and CSRF tokens bound to it.

A browser cannot send `Authorization: Bearer`, so the console's login form takes the same token
(or OIDC access token) `/mcp` takes, checks it with the HTTP guard's own code, and sets a cookie:

    mcp_hub_console = base64url(json({sid, caller, via, policy, fp, exp})) "." base64url(hmac_sha256)

signed with `hub.console_secret` (shared by replicas; unset = a random key of this process). The cookie
is HttpOnly, SameSite=Strict, Path=/console, and Secure when the request came over TLS. It never holds
the token: `fp` is an HMAC of it, so a rotated or removed static token ends its sessions at once; an
OIDC session ends at `hub.console_session_minutes` (or earlier, at the JWT's own expiry when known).
Signing out also marks the session revoked in the hub's shared state until it would have expired, so a
copy of the cookie (another browser, a stolen one) is dead too, on every replica.

CSRF: every state-changing form carries `csrf = hmac(secret, "csrf:" + sid)` (a synchronizer token
bound to the session; compared in constant time), and every POST must also come from this origin
(`Sec-Fetch-Site` same-origin/none when sent; `Origin`, when sent, naming this host). The login form,
before any session, binds its token to a short-lived `mcp_hub_console_login` cookie the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

COOKIE = "mcp_hub_console"
LOGIN_COOKIE = "mcp_hub_console_login"
COOKIE_PATH = "/console"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    caller: str
    #: "token" (a static token, `policy` is its name), "oidc" (`policy` the named policy or "") or "local"
    via: str
    policy: str
    #: HMAC of the token the session was opened with ("" for OIDC and an unauthenticated loopback hub).
    fingerprint: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks session cookies and CSRF tokens with one key."""

    def __init__(self, key: str | None) -> None:
        self._key = (key or secrets.token_hex(32)).encode()

    def _mac(self, purpose: str, data: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}:{data}".encode(), hashlib.sha256).digest())

    def fingerprint(self, token: str) -> str:
        return self._mac("token", token)

    def new_session(self, caller: str, via: str, policy: str, fingerprint: str, lifetime_s: float) -> Session:
        return Session(secrets.token_urlsafe(18), caller, via, policy, fingerprint, time.time() + lifetime_s)

    def cookie_value(self, session: Session) -> str:
        payload = json.dumps(
            {
                "sid": session.sid,
                "caller": session.caller,
                "via": session.via,
                "policy": session.policy,
                "fp": session.fingerprint,
                "exp": int(session.expires),
            },
            separators=(",", ":"),
        )
        body = _b64(payload.encode())
        return f"{body}.{self._mac('session', body)}"

    def read(self, value: str | None) -> Session | None:
        """The session in a cookie value, or None when it is missing, forged, altered or expired."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac("session", body)):
            return None
        try:
            data: Any = json.loads(_unb64(body))
            session = Session(
                str(data["sid"]),
                str(data["caller"]),
                str(data["via"]),
                str(data["policy"]),
                str(data["fp"]),
                float(data["exp"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    def csrf(self, session: Session) -> str:
        return self._mac("csrf", session.sid)

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf(session), str(presented))

    def login_nonce(self) -> str:
        return secrets.token_urlsafe(18)

    def login_csrf(self, nonce: str) -> str:
        return self._mac("login", nonce)

    def login_csrf_ok(self, nonce: str | None, presented: str | None) -> bool:
        return bool(nonce) and bool(presented) and hmac.compare_digest(self.login_csrf(str(nonce)), str(presented))


def cookie_header(name: str, value: str, *, secure: bool, max_age: int) -> str:
    """A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/console, Secure over TLS."""
    parts = [f"{name}={value}", f"Path={COOKIE_PATH}", "HttpOnly", "SameSite=Strict", f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def same_origin(headers: Any, host: str) -> str | None:
    """Why a state-changing request is not from this origin, or None when it is.

    `Sec-Fetch-Site` (every current browser sends it) must be same-origin (or `none`: typed by the
    user); an `Origin`, when present, must name this host. A request with neither is allowed: it did
    not come from a browser page, and it still needs the session cookie and the CSRF token.
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    origin = headers.get("origin")
    if origin is not None:
        bare = origin.split("://", 1)[-1].rstrip("/")
        if origin == "null" or bare != host:
            return "cross-site request refused (Origin is not this console)"
    return None

"""Bearer JWTs from an OpenID Connect issuer: the hub as an OAuth protected resource.

Per the MCP authorization spec: the signature is checked against the issuer's
JWKS (fetched over HTTP(S) and cached; an unknown `kid` refetches it, at most
every `jwks_refetch_min_s`), `alg` must be one of the configured asymmetric
algorithms (`none` and HMAC never are), `iss` must equal the issuer, `aud`
must name this resource, `exp` is required and `exp`/`nbf` hold within a small
leeway. The token is never passed upstream: connectors use their own
credentials. PyJWT (the `oidc` extra) is imported only when `[http.oidc]` is set.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio

from mcp_hub.config import OidcSettings
from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint

log = logging.getLogger(__name__)
PREFIX = "oidc:"


class TokenRejected(Exception):
    """The token is not acceptable; `message` is safe to send back (it never contains the token)."""

    def __init__(self, message: str, *, status: int = 401, error: str = "invalid_token") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class Identity:
    caller: str
    #: The policy name the token maps to (None: the hub's own policy).
    policy: str | None
    scopes: frozenset[str]


class OidcVerifier:
    def __init__(self, settings: OidcSettings) -> None:
        try:
            import jwt
        except ImportError:
            raise ConfigError(f"http.oidc needs PyJWT: {install_hint('oidc')}") from None
        self.settings = settings
        self._jwt = jwt
        #: kid -> (PyJWK, the key's own "alg" when the JWKS names one)
        self._keys: dict[str | None, tuple[Any, str | None]] = {}
        self._fetched_at = float("-inf")
        self._lock = anyio.Lock()

    async def verify(self, token: str) -> Identity:
        jwt = self._jwt
        settings = self.settings
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in settings.algorithms:
            raise TokenRejected(f"token algorithm {str(alg)[:20]!r} is not accepted")
        key, key_alg = await self._key(header.get("kid"))
        if key_alg is not None and key_alg != alg:
            raise TokenRejected("token algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=settings.audience,
                issuer=settings.issuer,
                leeway=settings.leeway_s,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected(f"the token's audience is not this resource ({settings.audience})") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token's issuer is not the configured one") from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"the token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise TokenRejected("the token is invalid") from None
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> Identity:
        settings = self.settings
        subject = claims.get(settings.caller_claim)
        if not isinstance(subject, str) or not subject:
            raise TokenRejected(f"the token lacks the {settings.caller_claim!r} claim naming the caller")
        scopes = set()
        for claim in ("scope", "scp"):
            if isinstance(claims.get(claim), str):
                scopes.update(claims[claim].split())
        roles = _values(claims.get("roles"))
        scopes.update(roles)
        missing = [s for s in settings.required_scopes if s not in scopes]
        if missing:
            raise TokenRejected(
                f"the token lacks the scope(s) {' '.join(missing)}", status=403, error="insufficient_scope"
            )
        held = _values(claims.get(settings.policy_claim))
        policy = next((name for value, name in settings.claim_policies.items() if value in held), settings.policy)
        return Identity(PREFIX + subject, policy, frozenset(scopes))

    async def _key(self, kid: Any) -> tuple[Any, str | None]:
        kid = kid if isinstance(kid, str) else None
        now = time.monotonic()
        async with self._lock:
            stale = now - self._fetched_at > self.settings.jwks_cache_s
            unknown = self._find(kid) is None
            if stale or (unknown and now - self._fetched_at >= self.settings.jwks_refetch_min_s):
                await self._refresh()
        key = self._find(kid)
        if key is None:
            raise TokenRejected("the token's signing key (kid) is not in the issuer's JWKS")
        return key

    def _find(self, kid: str | None) -> tuple[Any, str | None] | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        settings = self.settings
        self._fetched_at = time.monotonic()
        try:
            if settings.jwks is not None:
                document = json.loads(settings.jwks.get_secret_value())
            else:
                import httpx2

                assert settings.jwks_url is not None
                async with httpx2.AsyncClient(timeout=10.0) as client:
                    response = await client.get(settings.jwks_url, headers={"accept": "application/json"})
                    response.raise_for_status()
                    document = response.json()
            keys: dict[str | None, tuple[Any, str | None]] = {}
            for entry in document.get("keys", []):
                if entry.get("use", "sig") != "sig":
                    continue
                try:
                    keys[entry.get("kid")] = (self._jwt.PyJWK(entry), entry.get("alg"))
                except self._jwt.PyJWTError:
                    continue  # a key type we cannot use (e.g. an unsupported curve)
        except Exception as exc:
            # Keep the keys we had: an issuer hiccup must not log everybody out.
            log.warning(
                "could not fetch the OIDC JWKS (%s); keeping %d cached key(s)", type(exc).__name__, len(self._keys)
            )
            return
        self._keys = keys


def _values(claim: Any) -> set[str]:
    if isinstance(claim, str):
        return {claim}
    if isinstance(claim, list):
        return {v for v in claim if isinstance(v, str)}
    return set()


def protected_resource_metadata(settings: OidcSettings) -> dict[str, Any]:
    """RFC 9728 metadata of this hub as a protected resource."""
    return {
        "resource": settings.resource or settings.audience,
        "authorization_servers": settings.authorization_servers or [settings.issuer],
        "scopes_supported": settings.scopes_supported or settings.required_scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-hub",
    }

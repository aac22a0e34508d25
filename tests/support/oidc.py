"""A fake OpenID Connect issuer for tests: keys generated here, a JWKS served on 127.0.0.1, tokens minted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.http_server import serve_in_thread

AUDIENCE = "api://mcp-hub-test"


class FakeIssuer:
    """Signs with an RSA key (kid "rsa-1") and an EC P-256 key (kid "ec-1"); `rotate()` adds a key."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {
            "rsa-1": (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
            "ec-1": (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        }
        self.published = {"rsa-1", "ec-1"}
        self.jwks_requests = 0
        self.url = ""  # set by serve(); the issuer is the base URL
        self.app = Starlette(routes=[Route("/jwks", self.jwks)])

    @property
    def issuer(self) -> str:
        return self.url

    def jwks_document(self) -> dict[str, Any]:
        keys = []
        for kid in sorted(self.published):
            private, alg = self.keys[kid]
            algorithm = jwt.get_algorithm_by_name(alg)
            entry = json.loads(algorithm.to_jwk(private.public_key()))
            keys.append(entry | {"kid": kid, "alg": alg, "use": "sig"})
        return {"keys": keys}

    async def jwks(self, request: Request) -> JSONResponse:
        self.jwks_requests += 1
        return JSONResponse(self.jwks_document())

    def add_key(self, kid: str, *, publish: bool = True) -> None:
        self.keys[kid] = (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256")
        if publish:
            self.published.add(kid)

    def mint(self, kid: str = "rsa-1", *, alg: str | None = None, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300} | claims
        body = {k: v for k, v in body.items() if v is not None}
        private, key_alg = self.keys[kid]
        return jwt.encode(body, key or private, algorithm=alg or key_alg, headers={"kid": kid})


@contextmanager
def serve_issuer() -> Iterator[FakeIssuer]:
    issuer = FakeIssuer()
    with serve_in_thread(issuer.app) as base:
        issuer.url = base
        yield issuer


def oidc_env(issuer: FakeIssuer, **extra: str) -> dict[str, str]:
    return {
        "MCP_HUB_HTTP__OIDC__ISSUER": issuer.issuer,
        "MCP_HUB_HTTP__OIDC__AUDIENCE": AUDIENCE,
        "MCP_HUB_HTTP__OIDC__JWKS_URL": issuer.url + "/jwks",
        "MCP_HUB_HTTP__OIDC__JWKS_REFETCH_MIN_S": "0",
    } | extra

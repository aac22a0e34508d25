"""OIDC/JWT bearer auth (mcp_hub.oidc) through the real HTTP front, keys generated here, JWKS on loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError
from tests.core.test_http import ADMIN, INIT, MCP_HEADERS, client_for, hub_app
from tests.support.http_server import serve_in_thread
from tests.support.oidc import AUDIENCE, FakeIssuer, oidc_env, serve_issuer

pytestmark = pytest.mark.anyio

ROLES = {
    "MCP_HUB_HTTP__POLICIES__READERS__DENY": "*_add_*",
    "MCP_HUB_HTTP__OIDC__CLAIM_POLICIES": '{"Hub.Writer": "admin"}',
    "MCP_HUB_HTTP__OIDC__POLICY": "readers",
}


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with serve_issuer() as fake:
        yield fake


@pytest.fixture
def oidc_hub(tmp_path: Path, issuer: FakeIssuer) -> Iterator[str]:
    with serve_in_thread(hub_app(tmp_path, "http", oidc_env(issuer, **ROLES))) as base:
        yield base


async def post(base: str, token: str | None) -> httpx2.Response:
    headers = MCP_HEADERS | ({"authorization": f"Bearer {token}"} if token else {})
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{base}/mcp", json=INIT, headers=headers)


async def test_valid_tokens_pass_with_their_mapped_policy_and_identity(
    oidc_hub: str, issuer: FakeIssuer, tmp_path: Path
) -> None:
    reader = issuer.mint(sub="alice")
    writer = issuer.mint("ec-1", sub="ci-bot", roles=["Hub.Writer"])  # ES256 works too
    client, http = client_for(f"{oidc_hub}/mcp", reader)
    async with http, client:
        reader_tools = {t.name for t in (await client.list_tools()).tools}
    client, http = client_for(f"{oidc_hub}/mcp", writer)
    async with http, client:
        writer_tools = {t.name for t in (await client.list_tools()).tools}
        added = await client.call_tool("notes_add_note", {"text": "via oidc"})
    assert reader_tools == {"notes_list_notes", "notes_get_note"}  # policy "readers": no writes
    assert "notes_add_note" in writer_tools and not added.is_error  # role -> the admin token's policy
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["caller"] == "oidc:ci-bot" and audit[-1]["outcome"] == "ok"
    assert reader not in (tmp_path / "audit.jsonl").read_text()


async def test_static_tokens_keep_working_alongside(oidc_hub: str) -> None:
    assert (await post(oidc_hub, ADMIN)).status_code == 200
    assert (await post(oidc_hub, "not-a-token")).status_code == 401


def _alg_none(issuer: FakeIssuer) -> str:
    now = int(time.time())
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})


def _hs256_with_public_key(issuer: FakeIssuer) -> str:
    """The classic confusion attack: HMAC keyed with the RSA public key."""
    now = int(time.time())
    claims = {"iss": issuer.issuer, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300}
    return jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": "rsa-1"})


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong_audience", "audience is not this resource"),
        ("wrong_issuer", "issuer is not the configured one"),
        ("expired", "expired"),
        ("not_yet_valid", "not valid yet"),
        ("no_exp", "lacks the 'exp' claim"),
        ("bad_signature", "signature does not verify"),
        ("unknown_kid", "signing key (kid) is not in the issuer's JWKS"),
        ("alg_none", "algorithm 'none' is not accepted"),
        ("hs256", "algorithm 'HS256' is not accepted"),
        ("garbage", "not a JWT"),
    ],
)
async def test_bad_tokens_get_401_with_the_metadata_link(
    oidc_hub: str, issuer: FakeIssuer, case: str, expected: str
) -> None:
    now = int(time.time())
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer.add_key("rsa-unpublished", publish=False)
    token = {
        "wrong_audience": lambda: issuer.mint(aud="api://some-other-service"),
        "wrong_issuer": lambda: issuer.mint(iss="https://evil.example"),
        "expired": lambda: issuer.mint(exp=now - 120, iat=now - 600),  # beyond the 30 s leeway
        "not_yet_valid": lambda: issuer.mint(nbf=now + 600),
        "no_exp": lambda: issuer.mint(exp=None),
        "bad_signature": lambda: issuer.mint(key=other_key),
        "unknown_kid": lambda: issuer.mint("rsa-unpublished"),
        "alg_none": lambda: _alg_none(issuer),
        "hs256": lambda: _hs256_with_public_key(issuer),
        "garbage": lambda: "abc.def",
    }[case]()
    response = await post(oidc_hub, token)
    assert response.status_code == 401
    assert expected in response.json()["error"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer resource_metadata="{oidc_hub}/.well-known/oauth-protected-resource"')
    assert 'error="invalid_token"' in challenge
    assert token not in response.text


async def test_no_token_gets_the_challenge_and_the_metadata_is_public(oidc_hub: str, issuer: FakeIssuer) -> None:
    response = await post(oidc_hub, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer resource_metadata="{oidc_hub}/.well-known/oauth-protected-resource"'
    )
    async with httpx2.AsyncClient() as http:
        root = await http.get(f"{oidc_hub}/.well-known/oauth-protected-resource")
        suffixed = await http.get(f"{oidc_hub}/.well-known/oauth-protected-resource/mcp")
    assert root.status_code == suffixed.status_code == 200
    assert root.json() == {
        "resource": AUDIENCE,
        "authorization_servers": [issuer.issuer],
        "scopes_supported": [],
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-hub",
    }


async def test_missing_scope_is_403_insufficient_scope(tmp_path: Path, issuer: FakeIssuer) -> None:
    env = oidc_env(issuer, MCP_HUB_HTTP__OIDC__REQUIRED_SCOPES="mcp.tools", MCP_HUB_HTTP__PUBLIC_URL="https://hub.test")
    with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
        without = await post(base, issuer.mint(scp="other"))
        with_scope = await post(base, issuer.mint(scp="openid mcp.tools"))
        with_role = await post(base, issuer.mint(roles=["mcp.tools"]))
    assert without.status_code == 403
    challenge = without.headers["www-authenticate"]
    assert 'resource_metadata="https://hub.test/.well-known/oauth-protected-resource"' in challenge
    assert 'error="insufficient_scope"' in challenge and 'scope="mcp.tools"' in challenge
    assert with_scope.status_code == with_role.status_code == 200


async def test_jwks_is_cached_and_refetched_for_a_new_kid_at_a_bounded_rate(tmp_path: Path, issuer: FakeIssuer) -> None:
    env = oidc_env(issuer, MCP_HUB_HTTP__OIDC__JWKS_REFETCH_MIN_S="3600")
    with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
        for _ in range(3):
            assert (await post(base, issuer.mint())).status_code == 200
        assert issuer.jwks_requests == 1  # cached
        issuer.add_key("rsa-2")  # rotated in after our fetch: a refetch would find it, but not yet allowed
        assert (await post(base, issuer.mint("rsa-2"))).status_code == 401
        assert (await post(base, issuer.mint("rsa-2"))).status_code == 401
        assert issuer.jwks_requests == 1  # no refetch storm from unknown kids
    with serve_in_thread(hub_app(tmp_path, "http", oidc_env(issuer))) as base:  # refetch allowed at once
        issuer.add_key("rsa-3")
        assert (await post(base, issuer.mint("rsa-1"))).status_code == 200
        before = issuer.jwks_requests
        issuer.add_key("rsa-4")
        assert (await post(base, issuer.mint("rsa-4"))).status_code == 200
        assert issuer.jwks_requests == before + 1


async def test_jwks_from_a_file(tmp_path: Path, issuer: FakeIssuer) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(issuer.jwks_document()))
    env = oidc_env(issuer)
    env.pop("MCP_HUB_HTTP__OIDC__JWKS_URL")
    env["MCP_HUB_HTTP__OIDC__JWKS_FILE"] = str(path)
    with serve_in_thread(hub_app(tmp_path, "http", env)) as base:
        assert (await post(base, issuer.mint())).status_code == 200
    assert issuer.jwks_requests == 0


def test_config_errors_are_clear(issuer: FakeIssuer, tmp_path: Path) -> None:
    env = oidc_env(issuer)
    env.pop("MCP_HUB_HTTP__OIDC__JWKS_URL")
    with pytest.raises(ConfigError, match="jwks_url"):
        load_config(env=env)
    with pytest.raises(ConfigError, match="asymmetric"):
        load_config(env=oidc_env(issuer, MCP_HUB_HTTP__OIDC__ALGORITHMS="HS256"))
    with pytest.raises(ConfigError, match=r"define \[http\.policies\.nobody\]"):
        hub_app(tmp_path, "http", oidc_env(issuer, MCP_HUB_HTTP__OIDC__POLICY="nobody"))

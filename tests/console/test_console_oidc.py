"""Signing in to the console with an OIDC access token: the caller and policy the token maps to, who may
decide by caller name, and a session that ends when the token does."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from mcp_hub.approvals import HoldRequest
from mcp_hub.console.session import COOKIE
from tests.console.support import console_hub, login
from tests.support.oidc import FakeIssuer, oidc_env, serve_issuer

ROLES = {
    "MCP_HUB_HTTP__POLICIES__READERS__DENY": "*_add_*",
    "MCP_HUB_HTTP__OIDC__CLAIM_POLICIES": '{"Hub.Writer": "admin"}',
    "MCP_HUB_HTTP__OIDC__POLICY": "readers",
    "MCP_HUB_CONSOLE_APPROVERS": "oidc:ci-*",
}


@pytest.fixture
def issuer() -> Iterator[FakeIssuer]:
    with serve_issuer() as fake:
        yield fake


def test_oidc_sign_in(issuer: FakeIssuer, tmp_path: Path) -> None:
    with console_hub(tmp_path, oidc_env(issuer, **ROLES)) as (base, app):
        queue = app.console.console.queue
        request = HoldRequest(caller="agent", transport="http", tool="notes_add_note", arguments={"text": "hi"})
        approval = anyio.run(queue.submit, request).id
        with httpx2.Client() as http:
            login(http, base, issuer.mint(sub="alice"))
            page = http.get(f"{base}/console/approvals/{approval}").text
            assert "signed in as oidc:alice" in page and "Approve</button>" not in page
            catalog = http.get(f"{base}/console/catalog").text
            assert re.search(r"<td>notes_add_note</td>.*?no \(your policy\)", catalog, re.S)  # policy "readers"
        with httpx2.Client() as http:
            csrf = login(http, base, issuer.mint("ec-1", sub="ci-bot", roles=["Hub.Writer"]))
            answer = http.post(
                f"{base}/console/approvals/{approval}/decide", data={"decision": "approve", "csrf": csrf, "note": ""}
            )
            assert answer.status_code == 303
        assert anyio.run(queue.get, approval).decided_by == "oidc:ci-bot"
        with httpx2.Client() as http:  # a token from elsewhere signs nobody in
            page = http.get(f"{base}/console/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            forged = issuer.mint(sub="eve", iss="https://evil.example")
            assert http.post(f"{base}/console/login", data={"csrf": csrf, "token": forged}).status_code == 401


def test_an_oidc_session_ends_with_its_token(issuer: FakeIssuer, tmp_path: Path) -> None:
    with console_hub(tmp_path, oidc_env(issuer, **ROLES)) as (base, _), httpx2.Client() as http:
        login(http, base, issuer.mint(sub="alice", exp=int(time.time()) + 2))
        assert http.get(f"{base}/console/approvals").status_code == 200
        session = http.cookies.get(COOKIE, path="/console")
        assert session is not None
        time.sleep(2.5)
        with httpx2.Client(cookies={COOKIE: session}) as replay:  # the server ends it (not only the browser)
            assert replay.get(f"{base}/console/approvals").status_code == 303

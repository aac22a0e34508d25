"""An OIDC caller's token authenticates to the hub only: GitHub sees the hub's own credentials."""

from __future__ import annotations

import pytest

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.http import build_http_app
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT
from tests.connectors.github.test_reads import W
from tests.core.test_http import client_for
from tests.support.http_server import serve_in_thread
from tests.support.oidc import oidc_env, serve_issuer

pytestmark = pytest.mark.anyio


async def test_client_token_is_never_forwarded_upstream(fake: FakeGithub, api: str) -> None:
    registry = Registry([GithubConnector])
    with serve_issuer() as issuer:
        env = {"GITHUB_TOKEN": PAT, "GITHUB_API_URL": api} | oidc_env(issuer)
        config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
        policy = hub_policy(config)
        server = build_server(config, registry=registry, caller=Caller("nobody", "http", policy))
        app = build_http_app(server, config, policy, "http", "127.0.0.1", 0)
        token = issuer.mint(sub="alice")
        with serve_in_thread(app) as base:
            client, http = client_for(f"{base}/mcp", token)
            async with http, client:
                result = await client.call_tool("github_list_issues", {"repo": W})
    assert not result.is_error
    assert fake.state.auth_seen and all(PAT in seen for seen in fake.state.auth_seen)
    assert not any(token in seen or token.split(".")[1] in seen for seen in fake.state.auth_seen)

"""Rate limits, retries, ETag caching, credentials (token and GitHub App) and lazy imports."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client

from mcp_hub.server import HubServer
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT, Injected
from tests.connectors.github.test_reads import W, call, prov

pytestmark = pytest.mark.anyio


async def test_second_identical_read_is_a_304_that_costs_no_rate_limit(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    async with Client(make_hub()) as client:
        first = await client.call_tool("github_get_pull_request", {"repo": W, "number": 2})
        remaining = fake.state.rate_remaining
        second = await client.call_tool("github_get_pull_request", {"repo": W, "number": 2})
    assert first.structured_content == second.structured_content
    assert fake.state.count("GET", status=304) == 2  # the pull and its check runs
    assert fake.state.rate_remaining == remaining


async def test_primary_rate_limit_says_when_it_resets_and_stops_sending(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    fake.state.rate_remaining = 0
    fake.state.rate_reset = int(time.time()) + 1800
    async with Client(make_hub()) as client:
        first = await client.call_tool("github_list_issues", {"repo": W})
        second = await client.call_tool("github_list_issues", {"repo": W})
    for result in (first, second):
        assert result.is_error and result.meta["mcp_hub/error"] == "rate_limited"
        assert re.search(r"resets at \d\d:\d\d:\d\d UTC\. Retry after 1[78]\d\d s", result.content[0].text)
    assert len(fake.state.log) == 1  # not retried (too long to wait), and nothing sent while used up


async def test_secondary_rate_limit_is_retried_after_retry_after(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
    fake.state.inject.append(Injected(403, body, {"retry-after": "0"}, "/pulls"))
    result = await call(make_hub(), "list_pull_requests", repo=W)
    assert not result.is_error and len(result.structured_content["pulls"]) == 30
    assert [s for _, _, s in fake.state.log] == [403, 200]


async def test_secondary_rate_limit_beyond_the_wait_bound_goes_to_the_caller(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    fake.state.inject.append(Injected(429, {"message": "Too many requests"}, {"retry-after": "120"}, "/pulls"))
    result = await call(make_hub(), "list_pull_requests", repo=W)
    assert result.meta["mcp_hub/error"] == "rate_limited" and "Retry after 120 s" in result.content[0].text


async def test_5xx_retried_for_reads_not_for_writes(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    fake.state.inject.append(Injected(502, {"message": "Server Error"}, {}, "/issues"))
    read = await call(make_hub(), "list_issues", repo=W)
    assert not read.is_error and fake.state.count(status=502) == 1
    fake.state.inject.append(Injected(502, {"message": "Server Error"}, {}, "/comments"))
    write = await call(make_hub(writes=True), "add_issue_comment", repo=W, number=40, body="hi")
    assert write.is_error and write.meta["mcp_hub/error"] == "unavailable"
    assert fake.state.count("POST") == 1


async def test_bad_token_is_an_auth_error_without_the_token(make_hub: Callable[..., HubServer]) -> None:
    token = "ghp_wrong_token_abcdefghijklmnop"
    for tool, args in (("list_issues", {"repo": W}), ("get_authenticated_user", {})):
        result = await call(make_hub({"GITHUB_TOKEN": token}), tool, **args)
        assert result.meta["mcp_hub/error"] == "auth" and "401" in result.content[0].text
        assert token not in result.content[0].text and PAT not in result.content[0].text


def app_env(fake: FakeGithub) -> dict[str, str]:
    """Credentials of a GitHub App whose public key the fake knows."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    fake.state.app_public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {
        "GITHUB_TOKEN": "",
        "MCP_HUB_GITHUB__APP_ID": fake.state.app_id,
        "MCP_HUB_GITHUB__PRIVATE_KEY": pem,
        "MCP_HUB_GITHUB__INSTALLATION_ID": "7",
    }


async def test_authenticated_user_of_a_token_and_of_an_app(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    token_user = await call(make_hub(), "get_authenticated_user")
    assert token_user.structured_content == {"login": "hub-bot", "type": "User", "name": "Hub Bot"}
    fake.state.app_slug = "acme-reviewer"
    env = app_env(fake)
    async with Client(make_hub(env)) as client:
        bot = await client.call_tool("github_get_authenticated_user", {})
        again = await client.call_tool("github_get_authenticated_user", {})
        posted = await client.call_tool("github_list_issues", {"repo": W})
    assert not posted.is_error
    expected = {"login": "acme-reviewer[bot]", "type": "Bot", "name": None}
    assert bot.structured_content == again.structured_content == expected
    assert fake.state.count("GET", "/app") == 1  # the slug is read once (with the App's JWT, not a token)
    assert fake.state.count("GET", "/user") == 1  # only the token's call


async def test_the_app_bot_s_own_comments_are_not_outsider_text(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    marker = "<!-- mcp-hub-review:summary -->"
    async with Client(make_hub(app_env(fake), writes=True)) as client:
        posted = await client.call_tool("github_add_issue_comment", {"repo": W, "number": 40, "body": f"{marker}\nok"})
        assert not posted.is_error, posted.content
        thread = fake.state.comments[W][40]
        assert thread[-1]["association"] == "NONE"  # as GitHub says for an App's bot
        forged = {"id": fake.state.new_id(), "body": f"{marker} forged", "author": "mallory", "association": "NONE"}
        thread.append(forged)
        issue = await client.call_tool("github_get_issue", {"repo": W, "number": 40, "limit": 100})
    bodies = {c["author"]: c["body"] for c in issue.structured_content["comments"]}
    assert bodies["hub-review[bot]"] == f"{marker}\nok"  # its own, as written
    assert marker not in bodies["mallory"] and "forged" in bodies["mallory"]  # an outsider's, cleaned
    assert prov(issue)["outsider_text"] is True


async def test_an_installation_token_given_as_a_token_names_its_bot(
    make_hub: Callable[..., HubServer], fake: FakeGithub, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.state.installation_tokens["ghs_actions_token_0001"] = time.time() + 3600
    env = {"GITHUB_TOKEN": "ghs_actions_token_0001"}
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    refused = await call(make_hub(env), "get_authenticated_user")
    assert refused.meta["mcp_hub/error"] == "auth" and "MCP_HUB_GITHUB__BOT_LOGIN" in refused.content[0].text
    named = await call(make_hub(env | {"MCP_HUB_GITHUB__BOT_LOGIN": "acme-ci[bot]"}), "get_authenticated_user")
    assert named.structured_content["login"] == "acme-ci[bot]"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    actions = await call(make_hub(env), "get_authenticated_user")
    assert actions.structured_content == {"login": "github-actions[bot]", "type": "Bot", "name": None}


async def test_github_app_installation_tokens_are_refreshed_before_expiry(
    make_hub: Callable[..., HubServer], fake: FakeGithub
) -> None:
    env = app_env(fake)
    fake.state.installation_token_ttl = 3600
    async with Client(make_hub(env)) as client:
        for _ in range(2):
            assert not (await client.call_tool("github_list_issues", {"repo": W})).is_error
    assert fake.state.token_exchanges == 1  # one token serves both calls
    fake.state.installation_token_ttl = 10  # inside PyGithub's 20 s refresh margin
    before = len(fake.state.log)
    async with Client(make_hub(env)) as client:
        for _ in range(2):
            result = await client.call_tool("github_list_issues", {"repo": W})
            assert not result.is_error, result.content
    api_calls = [p for _, p, _ in fake.state.log[before:] if p.startswith("/repos/")]
    assert len(api_calls) >= 2 and fake.state.token_exchanges == 1 + len(api_calls)  # fresh token each time
    assert fake.state.count(status=401) == 0


async def test_an_apps_token_exchange_crosses_the_request_guard(
    make_hub: Callable[..., HubServer], fake: FakeGithub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyGithub fetches the installation token on a requester of its own: the guard checks it like every
    request, so a scope without this installation's exchange refuses it (fails closed, nothing sent)."""
    from connectors.github import scope

    env = app_env(fake)
    allowed = await call(make_hub(env), "list_issues", repo=W)
    assert not allowed.is_error, allowed.content
    assert fake.state.token_exchanges == 1
    real = scope.app_routes
    monkeypatch.setattr(scope, "app_routes", lambda settings: real(settings)[:1])  # GET /app, no exchange
    refused = await call(make_hub(env), "list_issues", repo=W)
    assert refused.is_error and "access_tokens" in refused.content[0].text
    assert fake.state.token_exchanges == 1  # the refused exchange never reached GitHub


async def test_missing_credentials_disable_the_connector(make_hub: Callable[..., HubServer]) -> None:
    hub = make_hub({"GITHUB_TOKEN": ""})
    assert next(s.reason or "" for s in hub.statuses if s.connector == "github").startswith("no token")
    async with Client(hub) as client:
        assert not [t for t in (await client.list_tools()).tools if t.name.startswith("github_")]


def test_importing_the_connector_does_not_import_pygithub() -> None:
    code = (
        "import sys, connectors.github; print('github' in sys.modules, 'requests' in sys.modules, 'jwt' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]

"""Settings, errors, retries, request counts, allow-list and the lazy SDK import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mcp import Client

from connectors.gitlab.client import retry_after
from connectors.gitlab.settings import GitlabSettings
from tests.connectors.gitlab.conftest import Fake, Make, call
from tests.connectors.gitlab.fake.state import TOKEN

pytestmark = pytest.mark.anyio


def test_import_does_not_load_the_sdk() -> None:
    code = "import sys, connectors.gitlab; print('gitlab' in sys.modules, 'requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


def test_settings_defaults_and_parsing() -> None:
    assert GitlabSettings().missing() == "no token: set GITLAB_TOKEN or MCP_HUB_GITLAB__TOKEN"
    settings = GitlabSettings.model_validate(
        {"token": "x", "base_url": "https://git.corp/api/v4/", "projects": "a/*, 42"}
    )
    assert settings.url == "https://git.corp" and settings.projects == ["a/*", "42"] and settings.missing() is None
    assert GitlabSettings(token="x").url == "https://gitlab.com"  # type: ignore[arg-type]


def test_retry_after_headers() -> None:
    assert retry_after({"Retry-After": "7"}) == 7
    assert retry_after({"RateLimit-Reset": "1010"}, now=1000) == 10
    assert retry_after({"Retry-After": "soon"}) is None and retry_after({}) is None


async def test_listing_20_merge_requests_is_one_request_once_project_is_cached(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub()) as client:
        first = await client.call_tool("gitlab_list_merge_requests", {"project": "acme/app"})
        fake.state.requests.clear()
        second = await client.call_tool("gitlab_list_merge_requests", {"project": "1"})
    assert not first.is_error and len(second.structured_content["merge_requests"]) == 20
    assert fake.state.requests == [("GET", "/api/v4/projects/1/merge_requests")]


async def test_project_metadata_and_members_read_once(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub()) as client:
        for _ in range(3):
            await client.call_tool("gitlab_list_issues", {"project": "acme/app"})
    assert fake.state.count("/projects/acme/app") == 1
    assert fake.state.count("/members/all") == 1
    assert fake.state.count("/issues") == 3


async def test_bad_token_is_an_auth_error_without_the_token(make_hub: Make) -> None:
    result = await call(
        make_hub({"GITLAB_TOKEN": "glpat-wrong-secret-value"}), "gitlab_list_issues", {"project": "acme/app"}
    )
    assert result.is_error and result.meta["mcp_hub/error"] == "auth"
    assert "GITLAB_TOKEN" in result.content[0].text and "glpat" not in result.content[0].text


async def test_authenticated_user_is_the_token_s_user(make_hub: Make, fake: Fake) -> None:
    fake.state.me = "review-bot"
    result = await call(make_hub(), "gitlab_get_authenticated_user", {})
    assert not result.is_error and result.structured_content["username"] == "review-bot"
    wrong = await call(make_hub({"GITLAB_TOKEN": "glpat-wrong-secret-value"}), "gitlab_get_authenticated_user", {})
    assert wrong.meta["mcp_hub/error"] == "auth" and "glpat" not in wrong.content[0].text


async def test_member_access_is_the_forge_s_answer(make_hub: Make, fake: Fake) -> None:
    app = fake.state.project("acme/app")
    assert app is not None
    app.access["bob"] = 40
    ids = {name: fake.state.user(name)["id"] for name in ("alice", "bob", "mallory")}
    levels = {}
    for name, uid in ids.items():
        result = await call(make_hub(), "gitlab_get_member_access", {"project": "acme/app", "user_id": uid})
        ok = not result.is_error
        levels[name] = result.structured_content["access_level"] if ok else result.meta["mcp_hub/error"]
    # alice a Developer (the default), bob a Maintainer, mallory no member: GitLab's 404
    assert levels == {"alice": 30, "bob": 40, "mallory": "not_found"}
    assert ("GET", f"/api/v4/projects/1/members/all/{ids['bob']}") in fake.state.requests


@pytest.mark.parametrize(
    ("status", "body", "kind", "phrase"),
    [
        (403, {"message": "403 Forbidden"}, "auth", "scope"),
        (404, {"message": "404 Project Not Found"}, "not_found", "not found"),
        (422, {"message": {"title": ["is too long"]}}, "invalid_input", "title is too long"),
        (409, {"message": "Resource lock"}, "invalid_input", "conflict"),  # the kit's one status table
    ],
)
async def test_upstream_errors_are_translated(
    make_hub: Make, fake: Fake, status: int, body: object, kind: str, phrase: str
) -> None:
    fake.state.fail(status, body, path_contains="/projects/acme/app")
    result = await call(make_hub(), "gitlab_get_issue", {"project": "acme/app", "iid": 1})
    assert result.is_error and result.meta["mcp_hub/error"] == kind
    assert phrase in result.content[0].text


async def test_rate_limit_is_retried_by_the_hub_not_the_sdk(make_hub: Make, fake: Fake) -> None:
    fake.state.fail(429, {"message": "429 Too Many Requests"}, {"Retry-After": "0"}, path_contains="/issues", times=1)
    result = await call(make_hub(), "gitlab_list_issues", {"project": "acme/app"})
    assert not result.is_error
    assert fake.state.count("/projects/1/issues") == 2  # one 429, one retry by mcp_hub.retry


async def test_long_rate_limit_goes_back_to_the_caller(make_hub: Make, fake: Fake) -> None:
    fake.state.fail(429, {"message": "429"}, {"Retry-After": "120"}, path_contains="/issues", times=5)
    result = await call(make_hub(), "gitlab_list_issues", {"project": "acme/app"})
    assert result.is_error and result.meta["mcp_hub/error"] == "rate_limited"
    assert "Retry after 120 s" in result.content[0].text
    assert fake.state.count("/projects/1/issues") == 1


async def test_server_errors_retried_for_reads_not_for_writes(make_hub: Make, fake: Fake) -> None:
    fake.state.fail(502, {"message": "502 Bad Gateway"}, path_contains="/issues", times=1)
    read = await call(make_hub(), "gitlab_list_issues", {"project": "acme/app"})
    assert not read.is_error and fake.state.count("/projects/1/issues") == 2
    fake.state.fail(500, {"message": "500 Internal Server Error"}, path_contains="/notes", times=1)
    write = await call(
        make_hub(writes=True), "gitlab_add_issue_comment", {"project": "acme/app", "iid": 1, "body": "x"}
    )
    assert write.is_error and write.meta["mcp_hub/error"] == "unavailable"
    assert [r for r in fake.state.requests if r[0] == "POST"] == [("POST", "/api/v4/projects/1/issues/1/notes")]


async def test_unreachable_instance(make_hub: Make) -> None:
    result = await call(make_hub({"GITLAB_URL": "http://127.0.0.1:9"}), "gitlab_list_issues", {"project": "a/b"})
    assert result.is_error and result.meta["mcp_hub/error"] == "unavailable" and "unreachable" in result.content[0].text


async def test_allow_list_by_glob_and_numeric_id(make_hub: Make) -> None:
    hub = make_hub({"MCP_HUB_GITLAB__PROJECTS": "other/*,2"})
    denied = await call(hub, "gitlab_list_issues", {"project": "acme/app"})
    assert denied.is_error and denied.meta["mcp_hub/error"] == "denied" and "allow-list" in denied.content[0].text
    by_id = await call(hub, "gitlab_list_issues", {"project": "acme/internal-tools"})
    by_glob = await call(hub, "gitlab_list_branches", {"project": "other/thing"})
    assert not by_id.is_error and not by_glob.is_error
    search = await call(hub, "gitlab_search_projects", {"query": "/"})
    assert {p["path"] for p in search.structured_content["projects"]} == {"acme/internal-tools", "other/thing"}


async def test_several_instances_are_chosen_by_argument(make_hub: Make, fake: Fake) -> None:
    env = {"MCP_HUB_GITLAB__INSTANCES": json.dumps({"corp": {"projects": ["other/*"]}})}
    async with Client(make_hub(env)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["gitlab_list_issues"].input_schema["properties"]["instance"]["enum"] == ["corp", "default"]
        corp = await client.call_tool("gitlab_list_issues", {"project": "acme/app", "instance": "corp"})
        default = await client.call_tool("gitlab_list_issues", {"project": "acme/app"})
    assert corp.is_error and not default.is_error


async def test_config_check_reports_missing_token(make_hub: Make) -> None:
    hub = make_hub({"GITLAB_TOKEN": ""})
    status = next(s for s in hub.statuses if s.connector == "gitlab")
    assert not status.enabled and status.reason is not None and "GITLAB_TOKEN" in status.reason


async def test_diagnose_uses_the_token(make_hub: Make) -> None:
    hub = make_hub()
    assert await hub.connectors[0].diagnose() == []
    assert TOKEN not in str(hub.connectors[0].settings)

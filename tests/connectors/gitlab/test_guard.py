"""The request guard on python-gitlab's session: scope, ids, the traversal family, redirects, audit.

The fake records every request as it arrived (`State.sent`: raw path and query), so each test
asserts what was NOT sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from connectors.gitlab.base import GitlabBase
from mcp_hub.errors import PolicyDenied
from tests.connectors.gitlab.conftest import Fake, Make, call

pytestmark = pytest.mark.anyio
ONLY_APP = {"MCP_HUB_GITLAB__PROJECTS": "acme/app"}


def outside(fake: Fake) -> list[tuple[str, str, str]]:
    """Requests that named another project than acme/app (id 1), or carried a dot piece anywhere."""
    bad = []
    for method, raw, query in fake.state.sent:
        lowered = (raw + "?" + query).lower()
        other = any(f"/projects/{p}" in lowered for p in ("2", "3", "acme%2finternal", "other%2fthing"))
        if other or "%2e" in lowered or ".." in lowered:
            bad.append((method, raw, query))
    return bad


async def test_a_project_outside_the_allow_list_costs_no_request_and_is_audited(
    make_hub: Make, fake: Fake, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    hub = make_hub(ONLY_APP | {"MCP_HUB_AUDIT_LOG": str(audit)})
    by_path = await call(hub, "gitlab_list_issues", {"project": "acme/internal-tools"})
    assert by_path.is_error and by_path.meta["mcp_hub/error"] == "denied" and "allow-list" in by_path.content[0].text
    assert fake.state.sent == []  # refused before any request
    by_id = await call(hub, "gitlab_list_issues", {"project": "2"})
    assert by_id.is_error and by_id.meta["mcp_hub/error"] == "denied" and "path" in by_id.content[0].text
    # to judge an unknown id, only the allow-list's own project was looked up
    assert [(m, raw) for m, raw, _ in fake.state.sent] == [("GET", "/api/v4/projects/acme%2Fapp")]
    outcomes = [json.loads(line)["outcome"] for line in audit.read_text().splitlines()]
    assert outcomes == ["denied", "denied"]


async def test_ids_are_judged_by_gitlab_s_answers_not_the_caller(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(ONLY_APP)) as client:
        by_id = await client.call_tool("gitlab_list_labels", {"project": "1"})
        assert not by_id.is_error and by_id.meta["mcp_hub/provenance"]["resource"] == "gitlab://acme/app/labels"
        # search_projects teaches the hub that id 2 is acme/internal-tools: still outside, still not sent
        search = await client.call_tool("gitlab_search_projects", {"query": "acme"})
        assert [p["path"] for p in search.structured_content["projects"]] == ["acme/app"]
        fake.state.sent.clear()
        for project in ("2", "acme/internal-tools", "ACME/Internal-Tools", "3"):
            denied = await client.call_tool("gitlab_get_file", {"project": project, "path": "run.sh"})
            assert denied.is_error and denied.meta["mcp_hub/error"] == "denied", project
    assert outside(fake) == [] and fake.state.sent == []


async def test_an_allow_listed_id_admits_its_path_and_labels_its_visibility(make_hub: Make, fake: Fake) -> None:
    hub = make_hub({"MCP_HUB_GITLAB__PROJECTS": "2"})
    by_path = await call(hub, "gitlab_get_file", {"project": "acme/internal-tools", "path": "run.sh"})
    assert not by_path.is_error, by_path.content
    meta = by_path.meta["mcp_hub/provenance"]
    assert meta["resource"] == "gitlab://acme/internal-tools/files/run.sh" and meta["visibility"] == "private"
    assert all("acme%2Fapp" not in raw and "/projects/1/" not in raw for _, raw, _ in fake.state.sent)


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("gitlab_get_file", {"path": "../internal-tools/run.sh"}),
        ("gitlab_get_file", {"path": "src/../../../../projects/2/repository/files/run.sh"}),
        ("gitlab_get_file", {"path": "src/%2e%2e/%2e%2e/x"}),
        ("gitlab_get_file", {"path": "src/%252e%252e/x"}),
        ("gitlab_get_file", {"path": "src\\..\\x"}),
        ("gitlab_get_file", {"path": "src/\uff0e\uff0e/x"}),
        ("gitlab_get_file", {"path": "README.md?ref=main#"}),
        ("gitlab_get_file", {"path": "README.md", "ref": "main/../../x"}),
        ("gitlab_get_file", {"path": "README.md", "ref": "..%2F.."}),
        ("gitlab_list_directory", {"path": "../.."}),
        ("gitlab_list_directory", {"path": "src/./x"}),
        ("gitlab_list_commits", {"path": "../x"}),
        ("gitlab_get_commit", {"sha": "../../2/repository/files/run.sh"}),
        ("gitlab_get_commit", {"sha": "main/..%2F.."}),
        ("gitlab_compare_refs", {"base": "main", "head": "../x"}),
        ("gitlab_list_issues", {"project": "acme/app/../internal-tools"}),
        ("gitlab_list_issues", {"project": "acme%2Finternal-tools"}),
        ("gitlab_list_issues", {"project": "acme/app%2F..%2Finternal-tools"}),
        ("gitlab_list_issues", {"project": "1/../2"}),
        ("gitlab_reply_to_merge_request_discussion", {"iid": 1, "discussion_id": "..", "body": "x"}),
        ("gitlab_resolve_merge_request_discussion", {"iid": 1, "discussion_id": "../../../2"}),
        ("gitlab_create_branch", {"branch": "a/../b"}),
        ("gitlab_commit_files", {"branch": "b", "message": "m", "files": [{"path": "../x", "content": "y"}]}),
        ("gitlab_add_merge_request_comment", {"iid": 1, "body": "x", "path": "../x", "line": 1}),
    ],
)
async def test_the_traversal_family_is_refused_before_sending(
    make_hub: Make, fake: Fake, tool: str, args: dict[str, Any]
) -> None:
    result = await call(make_hub(ONLY_APP, writes=True), tool, {"project": "acme/app", **args})
    assert result.is_error and result.meta["mcp_hub/error"] in ("invalid_input", "denied"), result.content
    assert outside(fake) == []
    assert all(method == "GET" for method, _, _ in fake.state.sent)  # no write went out


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("get", "/projects/1/repository/files/a%2F..%2F..%2Fsecret", {}),
        ("get", "/projects/1/repository/files/%2E%2E%2F%2E%2E%2Fx", {}),
        ("get", "/projects/1/repository/files/..%252Fx", {}),
        ("get", "/projects/acme%2Fapp%2F..%2Finternal-tools/issues", {}),
        ("get", "/projects/2/issues", {}),
        ("get", "/projects/acme%2Finternal-tools", {}),
        ("get", "/projects/1/variables", {}),  # an endpoint no tool uses: CI secrets
        ("get", "/projects/1/repository/tree", {"path": "../.."}),
        ("get", "/projects/1/repository/commits", {"ref_name": "main/../x"}),
        ("delete", "/projects/1", {}),
        ("get", "/groups/acme/projects", {}),
        ("get", "/projects/1/../2/issues", {}),
        ("get", "http://evil.test/api/v4/projects/1", {}),
    ],
)
async def test_the_guard_is_at_python_gitlab_s_transport(
    make_hub: Make, fake: Fake, method: str, path: str, query: dict[str, str]
) -> None:
    """Whatever a tool builds, python-gitlab's own session refuses it: the guard, not the tools, is the wall."""
    connector = make_hub(ONLY_APP).connectors[0]
    assert isinstance(connector, GitlabBase)
    await connector.project("acme/app")
    fake.state.sent.clear()
    gl = connector.gl()
    with pytest.raises(PolicyDenied):
        gl.http_request(method, path, query_data=query)
    assert fake.state.sent == []
    assert connector.request_guard.refused >= 1


async def test_a_redirect_out_of_scope_is_not_followed(make_hub: Make, fake: Fake) -> None:
    hub = make_hub(ONLY_APP)
    await call(hub, "gitlab_list_labels", {"project": "acme/app"})  # metadata cached
    fake.state.sent.clear()
    elsewhere = f"{fake.url}/api/v4/projects/2/issues"
    fake.state.fail(302, {}, {"Location": elsewhere}, path_contains="/projects/1/issues")
    result = await call(hub, "gitlab_list_issues", {"project": "acme/app"})
    assert result.is_error and result.meta["mcp_hub/error"] == "denied"
    assert [raw for _, raw, _ in fake.state.sent] == ["/api/v4/projects/1/issues"]


async def test_results_are_labelled_from_the_request_sent(make_hub: Make, fake: Fake) -> None:
    """Asked by id, by path or by another case of the path: one label, GitLab's path and visibility."""
    async with Client(make_hub()) as client:
        labels = {
            project: (await client.call_tool("gitlab_list_labels", {"project": project})).meta["mcp_hub/provenance"]
            for project in ("acme/app", "1", "ACME/App")
        }
        private = await client.call_tool("gitlab_get_issue", {"project": "2", "iid": 1})
    assert {(m["resource"], m["visibility"]) for m in labels.values()} == {("gitlab://acme/app/labels", "public")}
    meta = private.meta["mcp_hub/provenance"]
    assert (meta["resource"], meta["visibility"]) == ("gitlab://acme/internal-tools/issues/1", "private")


def test_the_allow_list_reads_groups_paths_and_ids_through_gitlab_s_answers() -> None:
    from connectors.gitlab.scope import ProjectAllowList, ProjectDirectory, ProjectInfo
    from connectors.gitlab.settings import GitlabSettings

    directory = ProjectDirectory()
    allow = ProjectAllowList(GitlabSettings(projects=["acme/*", "42"]), directory)
    assert allow("acme/app") and allow("ACME/Sub/Deep") and allow("42")
    assert not allow("acmex/app") and not allow("other/thing") and not allow("7")
    directory.learn(ProjectInfo(7, "acme/sub/seven", "private", "main"))
    directory.learn(ProjectInfo(8, "other/eight", "public", "main"))
    directory.learn(ProjectInfo(42, "far/away", "internal", "main"))
    assert allow("7") and not allow("8") and allow("far/away")
    with pytest.raises(ValueError, match="projects entry"):
        GitlabSettings(projects=["acme/../x"])

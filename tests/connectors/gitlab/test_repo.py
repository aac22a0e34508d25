"""Projects and repository tools, the file resource, and code changes (branch, commit)."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.connectors.gitlab.conftest import Fake, Make, call

pytestmark = pytest.mark.anyio
APP = "acme/app"


async def test_search_projects_uses_keyset_pages(make_hub: Make, fake: Fake) -> None:
    for n in range(4, 30):
        from tests.connectors.gitlab.fake.state import Project

        fake.state.projects[n] = Project(n, f"bulk/p{n}", "public")
    async with Client(make_hub()) as client:
        first = await client.call_tool("gitlab_search_projects", {"query": "bulk"})
        second = await client.call_tool(
            "gitlab_search_projects", {"query": "bulk", "cursor": first.structured_content["next_cursor"]}
        )
    paths = [p["path"] for p in first.structured_content["projects"] + second.structured_content["projects"]]
    assert paths == [f"bulk/p{n}" for n in range(4, 30)] and second.structured_content["next_cursor"] is None
    assert first.meta["mcp_hub/provenance"]["visibility"] == "public"


async def test_get_file_and_errors(make_hub: Make) -> None:
    hub = make_hub()
    result = await call(hub, "gitlab_get_file", {"project": APP, "path": "src/mod01.py", "ref": "feature"})
    data = result.structured_content
    assert data["ref"] == "feature" and "changed line 10 of mod01" in data["text"] and not data["truncated"]
    meta = result.meta["mcp_hub/provenance"]
    assert meta["resource"] == "gitlab://acme/app/files/src/mod01.py" and meta["visibility"] == "public"
    missing = await call(hub, "gitlab_get_file", {"project": APP, "path": "nope.py"})
    assert missing.is_error and missing.meta["mcp_hub/error"] == "not_found" and "nope.py" in missing.content[0].text
    empty = await call(hub, "gitlab_get_file", {"project": APP, "path": "/"})
    assert empty.is_error and "path is empty" in empty.content[0].text


async def test_file_truncated_to_max_file_chars(make_hub: Make) -> None:
    result = await call(
        make_hub({"MCP_HUB_GITLAB__MAX_FILE_CHARS": "1000"}),
        "gitlab_get_file",
        {"project": APP, "path": "docs/big.txt"},
    )
    assert result.structured_content["truncated"] and len(result.structured_content["text"]) == 1000


async def test_file_resource_with_encoded_project(make_hub: Make) -> None:
    async with Client(make_hub()) as client:
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        assert "gitlab://{project}/files/{+path}{?ref}" in templates
        read = await client.read_resource("gitlab://acme%2Fapp/files/src/new.py?ref=feature")
        by_id = await client.read_resource("gitlab://1/files/README.md")
    assert read.contents[0].text == "print('new')\n"
    assert read.contents[0].meta["mcp_hub/provenance"]["visibility"] == "public"
    assert by_id.contents[0].text == "# app\n"


async def test_list_directory(make_hub: Make) -> None:
    hub = make_hub()
    root = await call(hub, "gitlab_list_directory", {"project": APP})
    assert root.structured_content["entries"][:2] == [{"name": "docs", "type": "tree"}, {"name": "src", "type": "tree"}]
    src = await call(hub, "gitlab_list_directory", {"project": APP, "path": "src", "ref": "feature"})
    assert {"name": "new.py", "type": "blob"} in src.structured_content["entries"]
    bad = await call(hub, "gitlab_list_directory", {"project": APP, "path": "nowhere"})
    assert bad.is_error and bad.meta["mcp_hub/error"] == "not_found"


async def test_branches_and_commits(make_hub: Make) -> None:
    hub = make_hub()
    branches = await call(hub, "gitlab_list_branches", {"project": APP, "search": "fe"})
    assert [b["name"] for b in branches.structured_content["branches"]] == ["feature"]
    commits = await call(hub, "gitlab_list_commits", {"project": APP, "ref": "feature"})
    assert [c["title"] for c in commits.structured_content["commits"]] == ["Rework modules", "Initial commit"]
    touching = await call(hub, "gitlab_list_commits", {"project": APP, "ref": "fix", "path": "README.md"})
    assert [c["title"] for c in touching.structured_content["commits"]] == ["Fix readme", "Initial commit"]
    bad = await call(hub, "gitlab_list_commits", {"project": APP, "ref": "no-such-branch"})
    assert bad.is_error and "no-such-branch" in bad.content[0].text


async def test_get_commit_pages_diff_within_budget(make_hub: Make) -> None:
    hub = make_hub()
    seen: list[str] = []
    cursor = ""
    async with Client(hub) as client:
        for _ in range(20):
            page = await client.call_tool(
                "gitlab_get_commit", {"project": APP, "sha": "feature", "max_tokens": 600, "cursor": cursor}
            )
            data = page.structured_content
            assert data["commit"]["title"] == "Rework modules" and data["parents"]
            seen += [f["path"] for f in data["files"]]
            cursor = data["next_cursor"]
            if not cursor:
                break
    assert len(seen) == len(set(seen)) == 27  # 25 modified, 1 added, 1 deleted; each exactly once


async def test_compare_refs(make_hub: Make) -> None:
    result = await call(make_hub(), "gitlab_compare_refs", {"project": APP, "base": "main", "head": "fix"})
    data = result.structured_content
    assert [c["title"] for c in data["commits"]] == ["Fix readme"]
    assert data["files"][0]["path"] == "README.md" and "+Fixed." in data["files"][0]["diff"]
    bad = await call(make_hub(), "gitlab_compare_refs", {"project": APP, "base": "main", "head": "zzz"})
    assert bad.is_error and bad.meta["mcp_hub/error"] == "not_found"


async def test_search_code_and_missing_code_search(make_hub: Make, fake: Fake) -> None:
    hub = make_hub()
    found = await call(hub, "gitlab_search_code", {"project": APP, "query": "line 7 of mod03"})
    assert found.structured_content["hits"] == [
        {"path": "src/mod03.py", "ref": "main", "line": 7, "text": "line 7 of mod03\n"}
    ]
    fake.state.advanced_search = False
    missing = await call(hub, "gitlab_search_code", {"project": APP, "query": "x"})
    assert missing.is_error and missing.meta["mcp_hub/error"] == "invalid_input"
    assert "does not offer code search" in missing.content[0].text


async def test_write_tools_hidden_until_allowed(make_hub: Make) -> None:
    async with Client(make_hub()) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "gitlab_list_issues" in names
    assert not names & {"gitlab_create_branch", "gitlab_commit_files", "gitlab_merge_merge_request"}


async def test_create_branch_and_commit_files(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(writes=True)) as client:
        branch = await client.call_tool("gitlab_create_branch", {"project": APP, "branch": "bot/fix"})
        again = await client.call_tool("gitlab_create_branch", {"project": APP, "branch": "bot/fix"})
        commit = await client.call_tool(
            "gitlab_commit_files",
            {
                "project": APP,
                "branch": "bot/fix",
                "message": "Bot change",
                "files": [
                    {"path": "README.md", "content": "# app\nby bot\n"},
                    {"path": "src/added.py", "action": "create", "content": "x = 1\n"},
                    {"path": "docs/guide.md", "action": "delete"},
                ],
            },
        )
        exists = await client.call_tool(
            "gitlab_commit_files",
            {
                "project": APP,
                "branch": "bot/fix",
                "message": "m",
                "files": [{"path": "README.md", "action": "create", "content": "x"}],
            },
        )
        bad = await client.call_tool(
            "gitlab_commit_files",
            {
                "project": APP,
                "branch": "bot/fix",
                "message": "m",
                "files": [{"path": "a", "action": "delete", "content": "x"}],
            },
        )
    assert branch.structured_content["sha"] == fake.state.projects[1].branches["main"]
    assert again.is_error and "Branch already exists" in again.content[0].text
    assert not commit.is_error, commit.content
    sha = commit.structured_content["sha"]
    files = fake.state.projects[1].commits[sha].files
    assert (
        files["README.md"] == "# app\nby bot\n" and files["src/added.py"] == "x = 1\n" and "docs/guide.md" not in files
    )
    assert fake.state.projects[1].branches["bot/fix"] == sha and fake.state.projects[1].branches["main"] != sha
    assert exists.is_error and "already exists" in exists.content[0].text
    assert bad.is_error and bad.meta["mcp_hub/error"] == "invalid_input" and "content" in bad.content[0].text

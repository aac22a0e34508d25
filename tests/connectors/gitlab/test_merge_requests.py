"""Merge request tools: list, get, budgeted changes, discussions, the diff resource, and the write side."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_hub.tokens import count_tokens
from tests.connectors.gitlab.conftest import Fake, Make, call

pytestmark = pytest.mark.anyio
APP = "acme/app"


async def test_list_and_get(make_hub: Make) -> None:
    async with Client(make_hub()) as client:
        listed = await client.call_tool(
            "gitlab_list_merge_requests", {"project": APP, "author": "alice", "target": "main"}
        )
        merged = await client.call_tool("gitlab_list_merge_requests", {"project": APP, "state": "merged"})
        one = await client.call_tool("gitlab_get_merge_request", {"project": APP, "iid": 1})
        missing = await client.call_tool("gitlab_get_merge_request", {"project": APP, "iid": 404})
    assert {m["author"] for m in listed.structured_content["merge_requests"]} == {"alice"}
    assert merged.structured_content["merge_requests"] == []
    data = one.structured_content
    assert data["source"] == "feature" and data["merge_status"] == "mergeable" and data["changes"] == "27"
    assert data["pipeline"]["status"] == "failed" and data["approvals"] == {
        "approved": True,
        "approvals_left": 0,
        "approved_by": ["bob"],
    }
    assert one.meta["mcp_hub/provenance"]["resource"] == "gitlab://acme/app/merge_requests/1"
    assert missing.is_error and "merge request !404" in missing.content[0].text


async def test_get_merge_request_without_approvals_api(make_hub: Make, fake: Fake) -> None:
    fake.state.fail(404, {"message": "404 Not Found"}, path_contains="/approvals")
    result = await call(make_hub(), "gitlab_get_merge_request", {"project": APP, "iid": 1})
    assert not result.is_error and result.structured_content["approvals"] is None


async def test_changes_paged_by_file_within_budget(make_hub: Make, fake: Fake) -> None:
    paths: list[str] = []
    cursor = ""
    async with Client(make_hub()) as client:
        for _ in range(30):
            fake.state.requests.clear()
            page = await client.call_tool(
                "gitlab_list_merge_request_files", {"project": APP, "iid": 1, "max_tokens": 700, "cursor": cursor}
            )
            files = page.structured_content["files"]
            assert sum(count_tokens(f["diff"]) for f in files) <= 700 or len(files) == 1
            assert fake.state.count("/diffs") == 1  # one upstream request per page
            paths += [f["path"] for f in files]
            cursor = page.structured_content["next_cursor"]
            if not cursor:
                break
    assert len(paths) == len(set(paths)) == 27
    assert {"docs/guide.md", "src/new.py"} <= set(paths)


async def test_oversize_file_is_cut(make_hub: Make, fake: Fake) -> None:
    big = "".join(f"row {n} with some words to make it longer\n" for n in range(800))
    fake.state.commit(fake.state.projects[1], "feature", {"src/huge.txt": big}, "Huge")
    fake.state.projects[1].mrs[1]["diff_refs"]["head_sha"] = fake.state.projects[1].branches["feature"]
    result = await call(make_hub(), "gitlab_list_merge_request_files", {"project": APP, "iid": 1, "max_tokens": 500})
    cursor = result.structured_content["next_cursor"]
    seen = []
    async with Client(make_hub()) as client:
        while cursor:
            page = await client.call_tool(
                "gitlab_list_merge_request_files", {"project": APP, "iid": 1, "max_tokens": 500, "cursor": cursor}
            )
            seen += page.structured_content["files"]
            cursor = page.structured_content["next_cursor"]
    huge = next(f for f in seen if f["path"] == "src/huge.txt")
    assert huge["truncated"] and count_tokens(huge["diff"]) <= 520


async def test_diff_resource_pages(make_hub: Make, fake: Fake) -> None:
    app = fake.state.projects[1]
    fake.state.commit(app, "feature", {f"src/zz{n}.py": f"{n}\n" for n in range(10)}, "More")
    app.mrs[1]["diff_refs"]["head_sha"] = app.branches["feature"]
    async with Client(make_hub()) as client:
        first = await client.read_resource("gitlab://acme%2Fapp/merge_requests/1/diff")
        second = await client.read_resource("gitlab://acme%2Fapp/merge_requests/1/diff?page=2")
    assert first.contents[0].text.startswith("diff --git a/docs/guide.md b/docs/guide.md\n@@")
    assert first.contents[0].text.endswith("[more files: read page=2]")
    assert "src/zz9.py" in second.contents[0].text and "more files" not in second.contents[0].text


async def test_discussions_hide_system_notes_by_default(make_hub: Make, fake: Fake) -> None:
    fake.state.projects[1].discussions[1].append(
        {
            "id": "sys1",
            "individual_note": True,
            "notes": [{"id": 1, "body": "added 1 commit", "system": True, "author": fake.state.user("alice")}],
        }
    )
    async with Client(make_hub()) as client:
        plain = await client.call_tool("gitlab_list_merge_request_discussions", {"project": APP, "iid": 1})
        everything = await client.call_tool(
            "gitlab_list_merge_request_discussions", {"project": APP, "iid": 1, "system": True}
        )
    assert plain.structured_content["discussions"] == []
    assert everything.structured_content["discussions"][0]["notes"][0]["system"] is True


async def test_comment_on_a_diff_line_builds_a_valid_position(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(writes=True)) as client:
        added = await client.call_tool(
            "gitlab_add_merge_request_comment",
            {"project": APP, "iid": 1, "body": "why?", "path": "src/mod01.py", "line": 21},
        )
        context = await client.call_tool(
            "gitlab_add_merge_request_comment",
            {"project": APP, "iid": 1, "body": "ok", "path": "src/mod01.py", "line": 9},
        )
        removed = await client.call_tool(
            "gitlab_add_merge_request_comment",
            {"project": APP, "iid": 1, "body": "gone", "path": "src/mod01.py", "line": 10, "side": "old"},
        )
        general = await client.call_tool("gitlab_add_merge_request_comment", {"project": APP, "iid": 1, "body": "LGTM"})
        fake.state.requests.clear()
        outside = await client.call_tool(
            "gitlab_add_merge_request_comment",
            {"project": APP, "iid": 1, "body": "x", "path": "src/mod01.py", "line": 35},
        )
        unchanged = await client.call_tool(
            "gitlab_add_merge_request_comment", {"project": APP, "iid": 1, "body": "x", "path": "README.md", "line": 1}
        )
        half = await client.call_tool(
            "gitlab_add_merge_request_comment", {"project": APP, "iid": 1, "body": "x", "line": 3}
        )
    assert not added.is_error and not context.is_error and not removed.is_error and not general.is_error
    positions = [d["notes"][0]["position"] for d in fake.state.projects[1].discussions[1]]
    assert (positions[0].get("old_line", None), positions[0]["new_line"]) == (None, 21)
    assert (positions[1]["old_line"], positions[1]["new_line"]) == (9, 9)
    assert positions[2]["old_line"] == 10 and "new_line" not in positions[2] and positions[3] is None
    assert positions[0]["head_sha"] == fake.state.projects[1].branches["feature"]
    assert outside.is_error and "lines in the diff: 7-13, 18-24" in outside.content[0].text
    assert unchanged.is_error and "not changed" in unchanged.content[0].text
    assert half.is_error and "both path and line" in half.content[0].text
    assert not any(method == "POST" for method, _ in fake.state.requests)


async def test_reply_and_resolve(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(writes=True)) as client:
        started = await client.call_tool("gitlab_add_merge_request_comment", {"project": APP, "iid": 1, "body": "Q"})
        thread = started.structured_content["id"]
        reply = await client.call_tool(
            "gitlab_reply_to_merge_request_discussion", {"project": APP, "iid": 1, "discussion_id": thread, "body": "A"}
        )
        resolved = await client.call_tool(
            "gitlab_resolve_merge_request_discussion", {"project": APP, "iid": 1, "discussion_id": thread}
        )
        listed = await client.call_tool("gitlab_list_merge_request_discussions", {"project": APP, "iid": 1})
        unknown = await client.call_tool(
            "gitlab_reply_to_merge_request_discussion", {"project": APP, "iid": 1, "discussion_id": "nope", "body": "A"}
        )
    assert not reply.is_error and resolved.structured_content["state"] == "resolved"
    discussion = listed.structured_content["discussions"][0]
    assert discussion["resolved"] is True and [n["body"] for n in discussion["notes"]] == ["Q", "A"]
    assert unknown.is_error and unknown.meta["mcp_hub/error"] == "not_found"


async def test_update_merge_request_comment(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(writes=True)) as client:
        started = await client.call_tool("gitlab_add_merge_request_comment", {"project": APP, "iid": 1, "body": "Q"})
        discussion = fake.state.projects[1].discussions[1][-1]
        note_id = discussion["notes"][0]["id"]
        args = {"project": APP, "iid": 1, "comment_id": note_id, "body": "Q (edited)"}
        edited = await client.call_tool("gitlab_update_merge_request_comment", args)
        missing = await client.call_tool("gitlab_update_merge_request_comment", args | {"comment_id": 987654})
        empty = await client.call_tool("gitlab_update_merge_request_comment", args | {"body": ""})
        discussion["notes"][0]["author"] = fake.state.user("alice")
        foreign = await client.call_tool("gitlab_update_merge_request_comment", args | {"body": "mine now"})
    assert not started.is_error and not edited.is_error, edited.content
    assert edited.structured_content == {"id": note_id, "iid": 1, "state": None, "sha": None, "detail": None}
    assert discussion["notes"][0]["body"] == "Q (edited)"
    assert ("PUT", f"/api/v4/projects/1/merge_requests/1/notes/{note_id}") in fake.state.requests
    assert missing.is_error and missing.meta["mcp_hub/error"] == "not_found"
    assert "note 987654 of merge request !1 was not found" in missing.content[0].text
    assert empty.is_error and empty.meta["mcp_hub/error"] == "invalid_input"
    assert "body: String should have at least 1 character" in empty.content[0].text
    assert foreign.is_error and foreign.meta["mcp_hub/error"] == "auth" and "403" in foreign.content[0].text
    assert discussion["notes"][0]["body"] == "Q (edited)"  # someone else's note is left alone


async def test_review_from_draft_notes_published_at_once(make_hub: Make, fake: Fake) -> None:
    comments = [
        {"path": "src/mod02.py", "line": 10, "body": "rename"},
        {"path": "src/new.py", "line": 1, "body": "test?"},
    ]
    result = await call(
        make_hub(writes=True),
        "gitlab_create_merge_request_review",
        {"project": APP, "iid": 1, "body": "Summary", "comments": comments},
    )
    assert not result.is_error, result.content
    bodies = [d["notes"][0]["body"] for d in fake.state.projects[1].discussions[1]]
    assert bodies == ["Summary", "rename", "test?"] and fake.state.projects[1].drafts[1] == []
    assert fake.state.count("/draft_notes/bulk_publish") == 1


async def test_failed_review_leaves_no_drafts(make_hub: Make, fake: Fake) -> None:
    fake.state.fail(500, {"message": "500"}, path_contains="/bulk_publish")
    result = await call(
        make_hub(writes=True),
        "gitlab_create_merge_request_review",
        {"project": APP, "iid": 1, "comments": [{"path": "src/new.py", "line": 1, "body": "x"}]},
    )
    assert result.is_error and fake.state.projects[1].drafts[1] == [] and fake.state.projects[1].discussions[1] == []
    bad = await call(make_hub(writes=True), "gitlab_create_merge_request_review", {"project": APP, "iid": 1})
    assert bad.is_error and "body or at least one comment" in bad.content[0].text


async def test_create_and_merge(make_hub: Make, fake: Fake) -> None:
    async with Client(make_hub(writes=True)) as client:
        created = await client.call_tool(
            "gitlab_create_merge_request", {"project": APP, "source": "fix", "title": "Fix readme", "draft": True}
        )
        dup = await client.call_tool("gitlab_create_merge_request", {"project": APP, "source": "fix", "title": "again"})
        iid = created.structured_content["iid"]
        draft = await client.call_tool("gitlab_merge_merge_request", {"project": APP, "iid": iid, "sha": "a" * 40})
        fake.state.projects[1].mrs[iid]["draft"] = False
        stale = await client.call_tool("gitlab_merge_merge_request", {"project": APP, "iid": iid, "sha": "a" * 40})
        sha = fake.state.projects[1].branches["fix"]
        merged = await client.call_tool("gitlab_merge_merge_request", {"project": APP, "iid": iid, "sha": sha})
    assert fake.state.projects[1].mrs[iid]["title"] == "Draft: Fix readme"
    assert dup.is_error and "already exists" in dup.content[0].text
    assert draft.is_error and "cannot be merged now" in draft.content[0].text
    assert stale.is_error and "new commits" in stale.content[0].text
    assert merged.structured_content["state"] == "merged" and fake.state.projects[1].branches["main"] == sha


async def test_merge_needs_destructive_permission(make_hub: Make) -> None:
    async with Client(make_hub({"MCP_HUB_ALLOW_WRITES": "1"})) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "gitlab_create_merge_request" in names and "gitlab_merge_merge_request" not in names

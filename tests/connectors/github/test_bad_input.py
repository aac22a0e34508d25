"""Bad input to every tool, through the hub: a clear, actionable tool error, and the hub keeps serving.

Each case calls one tool wrongly and then, in the same session, a good read. `kind` is the
hub's error kind (`mcp_hub/error`); `invalid_input` covers both the connector's own checks and
arguments the input schema rejects before the tool runs (bounds, lengths, enums), whose message
names the field and the constraint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from connectors.github import GithubConnector
from mcp_hub.paging import encode_cursor
from mcp_hub.server import HubServer
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT
from tests.connectors.github.test_reads import W

pytestmark = pytest.mark.anyio

STALE = "0" * 40
NO_BRANCH = "no-such-branch"
LINE_25 = [{"path": "src/app.py", "line": 25, "body": "?"}]

CASES: list[tuple[str, dict[str, Any], str | None, list[str]]] = [
    # -- repos
    ("get_contents", {"repo": W, "path": "README.md", "ref": NO_BRANCH}, "not_found",
     ["README.md in acme/widgets at no-such-branch was not found", "Check owner/repo, numbers, paths and refs"]),
    ("search_code", {"query": "x", "repo": "other/elsewhere"}, "denied", ["not on this account's allow-list"]),
    ("list_branches", {"repo": "widgets"}, "invalid_input", ["repo", "should match pattern"]),
    ("list_commits", {"repo": W, "ref": NO_BRANCH}, "not_found", ["commits of acme/widgets was not found"]),
    ("get_commit", {"repo": W, "sha": "deadbeef00"}, "invalid_input", ["422: No commit found for SHA", "Fix the"]),
    ("get_commit", {"repo": W, "sha": ""}, "invalid_input", ["sha", "at least 1 character"]),
    ("compare_refs", {"repo": W, "base": "main", "head": NO_BRANCH}, "not_found",
     ["comparison main...no-such-branch of acme/widgets was not found"]),
    ("get_collaborator_permission", {"repo": W, "username": "ghost-user"}, "not_found",
     ["ghost-user's permission on acme/widgets was not found"]),
    ("get_collaborator_permission", {"repo": W, "username": "../admin"}, "invalid_input",
     ["username", "should match pattern"]),
    # -- issues
    ("list_issues", {"repo": "other/elsewhere"}, "denied", ["other/elsewhere is not on this account's allow-list"]),
    ("search_issues", {"query": "x", "repo": "not a repo"}, "invalid_input", ["repo", "should match pattern"]),
    ("get_issue", {"repo": W, "number": 0}, "invalid_input", ["number", "greater than or equal to 1"]),
    ("create_issue", {"repo": W, "title": ""}, "invalid_input", ["title", "at least 1 character"]),
    ("add_issue_comment", {"repo": W, "number": 999, "body": "x"}, "not_found",
     ["issue acme/widgets#999 was not found"]),
    ("update_issue", {"repo": W, "number": 40}, "invalid_input", ["nothing to update: give state"]),
    ("list_labels", {"repo": "acme/nope"}, "not_found", ["labels of acme/nope was not found"]),
    ("add_labels", {"repo": W, "number": 999, "labels": ["bug"]}, "not_found",
     ["issue acme/widgets#999 was not found"]),
    # -- pull requests
    ("list_pull_requests", {"repo": W, "cursor": encode_cursor({"page": 0})}, "invalid_input",
     ["invalid cursor: pass back the next_cursor"]),
    ("get_pull_request", {"repo": W, "number": 999}, "not_found", ["pull request acme/widgets#999 was not found"]),
    ("list_pull_request_files", {"repo": W, "number": 1, "cursor": encode_cursor({"file": 99, "line": 0})},
     "invalid_input", ["cursor is past the last file; start again without a cursor"]),
    ("list_pull_request_reviews", {"repo": W, "number": 999}, "not_found",
     ["reviews of pull request acme/widgets#999"]),
    ("create_pull_request_review", {"repo": W, "number": 1, "comments": LINE_25}, "invalid_input",
     ["line 25 (RIGHT) of src/app.py is not in the diff; nearest: [12, 13, 37]", "list_pull_request_files"]),
    ("create_pull_request_review", {"repo": W, "number": 1}, "invalid_input", ["needs a body or inline comments"]),
    ("reply_to_review_comment", {"repo": W, "number": 1, "comment_id": 123456, "body": "x"}, "not_found",
     ["review comment 123456 of acme/widgets#1 was not found"]),
    ("update_comment", {"repo": W, "comment_id": 123456, "kind": "issue", "body": "x"}, "not_found",
     ["comment 123456 of acme/widgets was not found"]),
    ("update_comment", {"repo": W, "comment_id": 702, "kind": "thread", "body": "x"}, "invalid_input",
     ["kind", "'issue' or 'review'"]),
    ("resolve_review_thread", {"repo": W, "number": 1, "comment_id": 123456}, "invalid_input",
     ["comment 123456 is not an inline review comment of acme/widgets#1"]),
    ("create_check_run", {"repo": W, "head_sha": "0" * 40, "name": "n", "conclusion": "success", "title": "t",
                          "summary": "s"}, "auth", ["Resource not accessible by personal access token",
                                                      "GitHub Apps with checks: write only"]),
    ("create_pull_request", {"repo": W, "title": "t", "head": NO_BRANCH, "base": "main"}, "invalid_input",
     ["422: Validation Failed; PullRequest head invalid", "Fix the arguments"]),
    ("merge_pull_request", {"repo": W, "number": 3}, "invalid_input",
     ["405: Pull Request is not mergeable", "mergeable_state"]),
    ("merge_pull_request", {"repo": W, "number": 4, "sha": STALE}, "invalid_input",
     ["409: Head branch was modified", "Refresh and retry"]),
    # -- actions
    ("list_workflow_runs", {"repo": W, "status": "bogus"}, "invalid_input", ["status", "'in_progress'"]),
    ("list_run_jobs", {"repo": W, "run_id": 12345}, "not_found", ["jobs of run 12345 in acme/widgets was not found"]),
    ("get_job_log", {"repo": W, "job_id": 12345}, "not_found", ["log of job 12345 in acme/widgets was not found"]),
    # -- code changes
    ("create_branch", {"repo": W, "branch": "main"}, "invalid_input", ["422: Reference already exists"]),
    ("create_branch", {"repo": W, "branch": "x", "from_branch": NO_BRANCH}, "not_found", ["branch no-such-branch"]),
    ("put_file", {"repo": W, "path": "README.md", "content": "x", "message": "m", "branch": "main", "sha": STALE},
     "invalid_input", ["409: README.md does not match", "pass sha: its current blob SHA"]),
    ("put_file", {"repo": W, "path": "README.md", "content": "x", "message": "m", "branch": "main"},
     "invalid_input", ['"sha" wasn\'t supplied', "pass sha: its current blob SHA"]),
    ("commit_files", {"repo": W, "branch": NO_BRANCH, "message": "m", "files": [{"path": "a", "content": "x"}]},
     "not_found", ["branch no-such-branch of acme/widgets was not found"]),
]  # fmt: skip


Case = tuple[str, dict[str, Any], str | None, list[str]]
#: Cases by area: one hub and one session per area (building a hub is most of a case's cost).
AREAS = {
    area: [c for c in CASES if c[0] in tools]
    for area, tools in {
        "repos": {"get_contents", "search_code", "list_branches", "list_commits", "get_commit", "compare_refs",
                  "get_collaborator_permission"},
        "issues": {"list_issues", "search_issues", "get_issue", "create_issue", "add_issue_comment", "update_issue",
                   "list_labels", "add_labels"},
        "pulls": {
            "list_pull_requests", "get_pull_request", "list_pull_request_files", "list_pull_request_reviews",
            "create_pull_request_review", "reply_to_review_comment", "update_comment", "create_pull_request",
            "merge_pull_request", "resolve_review_thread", "create_check_run",
        },
        "actions": {"list_workflow_runs", "list_run_jobs", "get_job_log"},
        "code_changes": {"create_branch", "put_file", "commit_files"},
    }.items()
}  # fmt: skip


def test_every_tool_has_a_bad_input_case() -> None:
    tools = {spec.name for spec, _ in GithubConnector.tool_methods()}
    covered = {case[0] for case in CASES}
    # get_authenticated_user takes no arguments; its bad-credentials error is in test_reliability.
    tools -= {"get_authenticated_user"}
    assert len(tools) == 32 and tools <= covered, f"tools without a bad-input case: {sorted(tools - covered)}"
    assert sum(len(cases) for cases in AREAS.values()) == len(CASES)  # every case in one area


def _problems(case: Case, result: Any) -> list[str]:
    tool, args, kind, phrases = case
    text = result.content[0].text
    problems = []
    if not result.is_error:
        problems.append("not an error")
    if (result.meta or {}).get("mcp_hub/error") != kind:
        problems.append(f"kind {(result.meta or {}).get('mcp_hub/error')!r}, expected {kind!r}")
    problems += [f"missing {phrase!r}" for phrase in phrases if phrase not in text]
    if PAT in text or "127.0.0.1" in text:
        problems.append("leaks the token or the API address")
    return [f"{tool}({', '.join(sorted(args))}): {p}\n    {text}" for p in problems]


@pytest.mark.parametrize("area", list(AREAS))
async def test_bad_input_is_an_actionable_error_and_the_hub_keeps_serving(
    make_hub: Callable[..., HubServer], fake: FakeGithub, area: str
) -> None:
    hub = make_hub({"MCP_HUB_GITHUB__REPOS": "acme/*"}, writes=True)
    problems: list[str] = []
    async with Client(hub) as client:
        for case in AREAS[area]:
            problems += _problems(case, await client.call_tool(f"github_{case[0]}", case[1]))
            after = await client.call_tool("github_list_branches", {"repo": W})
            if after.is_error or not after.structured_content["branches"]:
                problems.append(f"{case[0]}: the next call failed: {after.content}")
    assert not problems, "\n".join(problems)
    writes = [entry for entry in fake.state.log if entry[0] in ("POST", "PUT", "PATCH")]
    assert all(status >= 400 for _, _, status in writes), writes  # nothing half-written

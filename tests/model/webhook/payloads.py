"""Webhook deliveries as GitHub and GitLab send them (the fields the service reads, and the usual others),
signed the way each forge signs them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from model.webhook.signature import github_signature


def github_pull_request(number: int, sha: str, action: str = "opened", draft: bool = False) -> dict[str, Any]:
    repo = {
        "id": 1296269,
        "name": "widgets",
        "full_name": "acme/widgets",
        "private": False,
        "owner": {"login": "acme", "id": 1, "type": "Organization"},
        "html_url": "https://github.com/acme/widgets",
        "default_branch": "main",
    }
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/acme/widgets/pulls/{number}",
            "id": 1000 + number,
            "html_url": f"https://github.com/acme/widgets/pull/{number}",
            "number": number,
            "state": "open",
            "draft": draft,
            "title": f"Improve widgets part {number}",
            "user": {"login": "alice", "id": 2, "type": "User"},
            "head": {"label": "acme:feature-x", "ref": "feature-x", "sha": sha, "repo": repo},
            "base": {"label": "acme:main", "ref": "main", "sha": "b" * 40, "repo": repo},
            "author_association": "MEMBER",
        },
        "repository": repo,
        "sender": {"login": "alice", "id": 2, "type": "User"},
    }


def github_issue(number: int, action: str = "opened") -> dict[str, Any]:
    return {
        "action": action,
        "issue": {
            "number": number,
            "html_url": f"https://github.com/acme/widgets/issues/{number}",
            "title": "Crash",
            "state": "open",
            "labels": [],
            "user": {"login": "drive-by"},
        },
        "repository": {"full_name": "acme/widgets", "private": False},
        "sender": {"login": "drive-by"},
    }


def github_delivery(
    event: str, payload: dict[str, Any], secret: str, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/abc1234",
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-github-hook-id": "4242",
        "x-hub-signature-256": github_signature(secret, body),
    }
    return body, headers


def gitlab_merge_request(iid: int, sha: str, action: str = "open") -> dict[str, Any]:
    return {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "username": "alice"},
        "project": {"id": 1, "path_with_namespace": "acme/app", "web_url": "https://gitlab.example/acme/app"},
        "object_attributes": {
            "id": 9000 + iid,
            "iid": iid,
            "action": action,
            "state": "opened",
            "draft": False,
            "work_in_progress": False,
            "source_branch": "feature",
            "target_branch": "main",
            "url": f"https://gitlab.example/acme/app/-/merge_requests/{iid}",
            "last_commit": {"id": sha, "message": "Rework modules"},
        },
        "repository": {"name": "app", "homepage": "https://gitlab.example/acme/app"},
    }


def gitlab_delivery(
    event: str, payload: dict[str, Any], token: str, uuid_: str | None = None
) -> tuple[bytes, dict[str, str]]:
    headers = {
        "content-type": "application/json",
        "user-agent": "GitLab/17.5.0",
        "x-gitlab-event": event,
        "x-gitlab-token": token,
        "x-gitlab-event-uuid": uuid_ or str(uuid.uuid4()),
        "x-gitlab-instance": "https://gitlab.example",
    }
    return json.dumps(payload).encode(), headers


def _gh_user(login: str, kind: str = "User") -> dict[str, Any]:
    uid = 10_000 + sum(map(ord, login))
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": kind,
        "site_admin": False,
    }


_REACTIONS = {"url": "", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0, "heart": 0, "hooray": 0}
_GH_REPO = {
    "id": 1296269,
    "name": "widgets",
    "full_name": "acme/widgets",
    "private": False,
    "owner": {"login": "acme", "id": 1, "type": "Organization"},
    "html_url": "https://github.com/acme/widgets",
    "default_branch": "main",
}


def github_issue_comment(
    number: int,
    body: str,
    login: str = "alice",
    comment_id: int = 7001,
    *,
    action: str = "created",
    sender: str | None = None,
    user_type: str = "User",
    on_pull: bool = True,
    association: str = "MEMBER",
) -> dict[str, Any]:
    """`issue_comment` as GitHub sends it (the required fields of `webhook-issue-comment-created`)."""
    api = "https://api.github.com/repos/acme/widgets"
    issue: dict[str, Any] = {
        "url": f"{api}/issues/{number}",
        "html_url": f"https://github.com/acme/widgets/{'pull' if on_pull else 'issues'}/{number}",
        "id": 50_000 + number,
        "number": number,
        "title": f"Improve widgets part {number}",
        "state": "open",
        "user": _gh_user("alice"),
        "labels": [],
        "author_association": "MEMBER",
    }
    if on_pull:
        issue["pull_request"] = {
            "url": f"{api}/pulls/{number}",
            "html_url": f"https://github.com/acme/widgets/pull/{number}",
            "diff_url": f"https://github.com/acme/widgets/pull/{number}.diff",
            "patch_url": f"https://github.com/acme/widgets/pull/{number}.patch",
        }
    comment = {
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
        "issue_url": f"{api}/issues/{number}",
        "id": comment_id,
        "node_id": f"IC_{comment_id}",
        "user": _gh_user(login, user_type),
        "created_at": "2026-12-04T10:00:00Z",
        "updated_at": "2026-12-04T10:00:00Z",
        "author_association": association,
        "performed_via_github_app": None,
        "body": body,
        "reactions": _REACTIONS,
    }
    return {
        "action": action,
        "issue": issue,
        "comment": comment,
        "repository": _GH_REPO,
        "sender": _gh_user(sender or login),
    }


def github_review_comment(
    number: int, body: str, sha: str, login: str = "alice", comment_id: int = 7101, in_reply_to: int | None = None
) -> dict[str, Any]:
    """`pull_request_review_comment` (the required fields of `webhook-pull-request-review-comment-created`)."""
    api = "https://api.github.com/repos/acme/widgets"
    comment: dict[str, Any] = {
        "url": f"{api}/pulls/comments/{comment_id}",
        "pull_request_review_id": 42,
        "id": comment_id,
        "node_id": f"PRRC_{comment_id}",
        "diff_hunk": "@@ -1,3 +1,4 @@",
        "path": "src/app.py",
        "position": 1,
        "original_position": 1,
        "commit_id": sha,
        "original_commit_id": sha,
        "user": _gh_user(login),
        "body": body,
        "created_at": "2026-12-04T10:00:00Z",
        "updated_at": "2026-12-04T10:00:00Z",
        "html_url": f"https://github.com/acme/widgets/pull/{number}#discussion_r{comment_id}",
        "pull_request_url": f"{api}/pulls/{number}",
        "author_association": "MEMBER",
        "_links": {},
        "start_line": None,
        "original_start_line": None,
        "original_line": 10,
        "line": 10,
        "start_side": None,
        "side": "RIGHT",
        "reactions": _REACTIONS,
    }
    if in_reply_to is not None:
        comment["in_reply_to_id"] = in_reply_to
    pull = github_pull_request(number, sha)["pull_request"]
    return {
        "action": "created",
        "comment": comment,
        "pull_request": pull,
        "repository": _GH_REPO,
        "sender": _gh_user(login),
    }


def gitlab_note(
    iid: int,
    body: str,
    user: dict[str, Any],
    note_id: int = 8001,
    discussion_id: str = "d" + "1" * 39,
    *,
    action: str | None = "create",
    author_id: int | None = None,
    noteable_type: str = "MergeRequest",
    system: bool = False,
) -> dict[str, Any]:
    """A `Note Hook` on a merge request, as GitLab's note builder sends it (`user` is who triggered it)."""
    attrs: dict[str, Any] = {
        "id": note_id,
        "note": body,
        "noteable_type": noteable_type,
        "author_id": author_id if author_id is not None else user["id"],
        "created_at": "2026-12-04 10:00:00 UTC",
        "updated_at": "2026-12-04 10:00:00 UTC",
        "project_id": 1,
        "attachment": None,
        "line_code": None,
        "commit_id": "",
        "noteable_id": 9000 + iid,
        "system": system,
        "st_diff": None,
        "url": f"https://gitlab.example/acme/app/-/merge_requests/{iid}#note_{note_id}",
        "discussion_id": discussion_id,
        "type": "DiscussionNote",
    }
    if action is not None:
        attrs["action"] = action
    return {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": user["id"], "name": user.get("name", ""), "username": user["username"], "avatar_url": None},
        "project_id": 1,
        "project": {"id": 1, "path_with_namespace": "acme/app", "web_url": "https://gitlab.example/acme/app"},
        "object_attributes": attrs,
        "repository": {"name": "app", "homepage": "https://gitlab.example/acme/app"},
        "merge_request": {
            "id": 9000 + iid,
            "iid": iid,
            "title": f"MR {iid}",
            "state": "opened",
            "source_branch": "feature",
            "target_branch": "main",
            "url": f"https://gitlab.example/acme/app/-/merge_requests/{iid}",
            "last_commit": {"id": "0" * 40},
        },
    }

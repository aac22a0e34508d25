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


#: GHES-style API root: the fake's renderers put web URLs on its host (github.com) and API URLs under /api/v3.
_API = "https://github.com/api/v3"
_REPO_FULL = "acme/widgets"


def _seeded() -> Any:
    from tests.connectors.github.fake_seed import seed
    from tests.connectors.github.fake_state import FakeState

    state = FakeState()
    seed(state)
    return state


def _reactions(url: str) -> dict[str, Any]:
    counts = dict.fromkeys(("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"), 0)
    return {"url": url, "total_count": 0, **counts}


def _gh_repository() -> dict[str, Any]:
    from tests.connectors.github import payloads as p

    extra = {"allow_forking": True, "is_template": False, "web_commit_signoff_required": False, "stargazers": 3}
    return p.repo(_API, "acme", "widgets", "public", full_repo=True) | extra


def _gh_user(login: str, kind: str | None = None) -> dict[str, Any]:
    from tests.connectors.github import payloads as p

    user = p.user(_API, login)
    return user | ({"type": kind} if kind else {})


def github_issue_comment(
    number: int,
    body: str,
    login: str = "alice",
    comment_id: int = 7001,
    *,
    action: str = "created",
    sender: str | None = None,
    user_type: str | None = None,
    on_pull: bool = True,
    association: str = "MEMBER",
) -> dict[str, Any]:
    """`issue_comment` as GitHub sends it: the REST shapes of the issue and the comment (rendered by the
    GitHub fake), plus what webhooks add; checked against `webhook-issue-comment-created`/`-edited`."""
    from tests.connectors.github import fake_render as fr

    state = _seeded()
    item = dict(state.pulls[_REPO_FULL][number] if on_pull else state.issues[_REPO_FULL][number])
    issue = fr.issue_json(_API, _REPO_FULL, item, state, pull=on_pull)
    c = {"id": comment_id, "body": body, "author": login, "association": association}
    comment = fr.comment_json(_API, _REPO_FULL, number, c)
    comment["user"] = _gh_user(login, user_type)
    comment |= {"reactions": _reactions(comment["url"] + "/reactions"), "performed_via_github_app": None}
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue,
        "comment": comment,
        "repository": _gh_repository(),
        "sender": _gh_user(sender or login),
    }
    if action == "edited":
        payload["changes"] = {"body": {"from": "(the text before the edit)"}}
    return payload


def github_review_comment(
    number: int, body: str, sha: str, login: str = "alice", comment_id: int = 7101, in_reply_to: int | None = None
) -> dict[str, Any]:
    """`pull_request_review_comment` from the fake's REST shapes; checked against
    `webhook-pull-request-review-comment-created`."""
    from tests.connectors.github import fake_render as fr

    state = _seeded()
    c = {"id": comment_id, "path": "src/app.py", "line": 10, "side": "RIGHT", "body": body, "author": login}
    c |= {"association": "MEMBER", "in_reply_to": in_reply_to}
    comment = fr.review_comment_json(_API, _REPO_FULL, number, c, sha)
    comment |= {
        "reactions": _reactions(comment["url"] + "/reactions"),
        "start_line": None,
        "original_start_line": None,
        "start_side": None,
    }
    repo = state.repos[_REPO_FULL]
    pull = fr.pull_json(_API, repo, state.pulls[_REPO_FULL][number], state, full=True)
    return {
        "action": "created",
        "comment": comment,
        "pull_request": pull,
        "repository": _gh_repository(),
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

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

"""Full-shaped GitHub REST payloads (as api.github.com sends them), with every URL built from the fake's own host."""

from __future__ import annotations

import hashlib
from typing import Any

USER_URLS = (
    "followers_url", "following_url", "gists_url", "starred_url", "subscriptions_url",
    "organizations_url", "repos_url", "events_url", "received_events_url",
)  # fmt: skip
REPO_URLS = (
    "archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare", "contents",
    "contributors", "deployments", "downloads", "events", "forks", "git_commits", "git_refs", "git_tags",
    "issue_comment", "issue_events", "issues", "keys", "labels", "languages", "merges", "milestones",
    "notifications", "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags",
    "teams", "trees", "hooks",
)  # fmt: skip
STAMP = "2026-11-20T10:00:00Z"


def node_id(kind: str, ident: object) -> str:
    return f"{kind}_" + hashlib.sha1(f"{kind}{ident}".encode()).hexdigest()[:16]


def user(api: str, login: str) -> dict[str, Any]:
    uid = int(hashlib.sha1(login.encode()).hexdigest()[:6], 16)
    web = api.removesuffix("/api/v3")
    out: dict[str, Any] = {
        "login": login,
        "id": uid,
        "node_id": node_id("U", login),
        "avatar_url": f"{web}/avatars/u/{uid}?v=4",
        "gravatar_id": "",
        "url": f"{api}/users/{login}",
        "html_url": f"{web}/{login}",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "user_view_type": "public",
        "site_admin": False,
    }
    for key in USER_URLS:
        out[key] = f"{api}/users/{login}/{key.removesuffix('_url')}"
    return out


def repo(
    api: str, owner: str, name: str, visibility: str, default_branch: str = "main", full_repo: bool = False
) -> dict[str, Any]:
    """A `repository` (as embedded in pulls, runs, search hits); `full_repo` adds what GET /repos/{o}/{r} adds."""
    full = f"{owner}/{name}"
    web = api.removesuffix("/api/v3")
    rid = int(hashlib.sha1(full.encode()).hexdigest()[:6], 16)
    out: dict[str, Any] = {
        "id": rid,
        "node_id": node_id("R", full),
        "name": name,
        "full_name": full,
        "owner": user(api, owner),
        "private": visibility != "public",
        "visibility": visibility,
        "html_url": f"{web}/{full}",
        "description": f"The {name} repository",
        "fork": False,
        "url": f"{api}/repos/{full}",
        "git_url": f"git://{web.split('://')[1]}/{full}.git",
        "ssh_url": f"git@{web.split('://')[1]}:{full}.git",
        "clone_url": f"{web}/{full}.git",
        "svn_url": f"{web}/{full}",
        "mirror_url": None,
        "homepage": None,
        "size": 1024,
        "stargazers_count": 3,
        "watchers_count": 3,
        "language": "Python",
        "forks_count": 1,
        "open_issues_count": 4,
        "default_branch": default_branch,
        "topics": [],
        "archived": False,
        "disabled": False,
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "license": None,
        "pushed_at": STAMP,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": STAMP,
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        "forks": 1,
        "open_issues": 4,
        "watchers": 3,
    }
    for key in REPO_URLS:
        out[f"{key}_url"] = f"{api}/repos/{full}/{key}"
    if full_repo:
        out |= {"network_count": 1, "subscribers_count": 3}
    return out


def label(api: str, full: str, name: str) -> dict[str, Any]:
    return {
        "id": int(hashlib.sha1(name.encode()).hexdigest()[:6], 16),
        "node_id": node_id("L", name),
        "url": f"{api}/repos/{full}/labels/{name}",
        "name": name,
        "color": "ededed",
        "default": False,
        "description": None,
    }

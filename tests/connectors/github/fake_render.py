"""The fake's state as GitHub's REST payloads."""

from __future__ import annotations

import base64
from typing import Any

from tests.connectors.github import payloads as p
from tests.connectors.github.fake_state import Commit, FakeState, RepoState, file_patches, sha_of, tree_sha

STAMP = p.STAMP


def commit_json(api: str, repo: RepoState, commit: Commit, with_files: bool = False) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    out: dict[str, Any] = {
        "sha": commit.sha,
        "node_id": p.node_id("C", commit.sha),
        "commit": {
            "author": {"name": commit.author.title(), "email": f"{commit.author}@example.com", "date": STAMP},
            "committer": {"name": commit.author.title(), "email": f"{commit.author}@example.com", "date": STAMP},
            "message": commit.message,
            "tree": {"sha": tree_sha(commit.tree), "url": f"{api}/repos/{repo.full}/git/trees/{tree_sha(commit.tree)}"},
            "url": f"{api}/repos/{repo.full}/git/commits/{commit.sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{api}/repos/{repo.full}/commits/{commit.sha}",
        "html_url": f"{web}/{repo.full}/commit/{commit.sha}",
        "comments_url": f"{api}/repos/{repo.full}/commits/{commit.sha}/comments",
        "author": p.user(api, commit.author),
        "committer": p.user(api, commit.author),
        "parents": [
            {"sha": s, "url": f"{api}/repos/{repo.full}/commits/{s}", "html_url": f"{web}/{repo.full}/commit/{s}"}
            for s in commit.parents
        ],
    }
    if with_files:
        parent = repo.commits[commit.parents[0]].tree if commit.parents else {}
        files = file_patches(parent, commit.tree)
        for f in files:
            f |= file_urls(api, repo, commit.sha, f["filename"])
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
        out["files"] = files
    return out


def file_urls(api: str, repo: RepoState, sha: str, path: str) -> dict[str, str]:
    web = api.removesuffix("/api/v3")
    return {
        "blob_url": f"{web}/{repo.full}/blob/{sha}/{path}",
        "raw_url": f"{web}/{repo.full}/raw/{sha}/{path}",
        "contents_url": f"{api}/repos/{repo.full}/contents/{path}?ref={sha}",
    }


def content_json(api: str, repo: RepoState, path: str, data: bytes, ref: str) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    big = len(data) > 1_000_000
    return {
        "type": "file",
        "encoding": "none" if big else "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": "" if big else base64.b64encode(data).decode(),
        "sha": sha_of("blob", data),
        "url": f"{api}/repos/{repo.full}/contents/{path}?ref={ref}",
        "git_url": f"{api}/repos/{repo.full}/git/blobs/{sha_of('blob', data)}",
        "html_url": f"{web}/{repo.full}/blob/{ref}/{path}",
        "download_url": f"{web}/{repo.full}/raw/{ref}/{path}",
        "_links": {
            "self": f"{api}/repos/{repo.full}/contents/{path}",
            "git": f"{api}/repos/{repo.full}/git/blobs/{sha_of('blob', data)}",
            "html": f"{web}/{repo.full}/blob/{ref}/{path}",
        },
    }


def file_commit_json(api: str, repo: RepoState, path: str, ref: str, commit: Commit) -> dict[str, Any]:
    """What PUT .../contents/{path} answers: the file (without its content) and the new commit."""
    content = content_json(api, repo, path, commit.tree[path], ref)
    for key in ("content", "encoding"):
        del content[key]
    return {"content": content, "commit": git_commit_json(api, repo, commit)}


def git_commit_json(api: str, repo: RepoState, commit: Commit) -> dict[str, Any]:
    """A git data commit (GET/POST .../git/commits)."""
    web = api.removesuffix("/api/v3")
    inner = commit_json(api, repo, commit)["commit"]
    return {
        "sha": commit.sha,
        "node_id": p.node_id("C", commit.sha),
        "url": f"{api}/repos/{repo.full}/git/commits/{commit.sha}",
        "html_url": f"{web}/{repo.full}/commit/{commit.sha}",
        "author": inner["author"],
        "committer": inner["committer"],
        "tree": inner["tree"],
        "message": commit.message,
        "parents": [
            {"sha": s, "url": f"{api}/repos/{repo.full}/git/commits/{s}", "html_url": f"{web}/{repo.full}/commit/{s}"}
            for s in commit.parents
        ],
        "verification": inner["verification"],
    }


def dir_entry(api: str, repo: RepoState, path: str, kind: str, size: int) -> dict[str, Any]:
    return {
        "type": kind,
        "size": size,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha_of("entry", path),
        "url": f"{api}/repos/{repo.full}/contents/{path}",
        "git_url": None,
        "html_url": None,
        "download_url": None,
        "_links": {"self": f"{api}/repos/{repo.full}/contents/{path}", "git": None, "html": None},
    }


def issue_json(api: str, full: str, item: dict[str, Any], state: FakeState, pull: bool = False) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    n = item["number"]
    out: dict[str, Any] = {
        "id": 10_000 + n,
        "node_id": p.node_id("I", f"{full}#{n}"),
        "url": f"{api}/repos/{full}/issues/{n}",
        "repository_url": f"{api}/repos/{full}",
        "labels_url": f"{api}/repos/{full}/issues/{n}/labels{{/name}}",
        "comments_url": f"{api}/repos/{full}/issues/{n}/comments",
        "events_url": f"{api}/repos/{full}/issues/{n}/events",
        "html_url": f"{web}/{full}/{'pull' if pull else 'issues'}/{n}",
        "number": n,
        "state": item["state"] if item["state"] in ("open", "closed") else "closed",
        "state_reason": item.get("state_reason"),
        "title": item["title"],
        "body": item["body"],
        "user": p.user(api, item["author"]),
        "labels": [p.label(api, full, name) for name in item.get("labels", [])],
        "assignee": p.user(api, item["assignees"][0]) if item.get("assignees") else None,
        "assignees": [p.user(api, a) for a in item.get("assignees", [])],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": len(state.comments.get(full, {}).get(n, [])),
        "closed_at": STAMP if item["state"] != "open" else None,
        "created_at": "2026-11-01T09:00:00Z",
        "updated_at": STAMP,
        "author_association": item["association"],
        "reactions": {
            "url": f"{api}/repos/{full}/issues/{n}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
    }
    if pull:
        out["pull_request"] = {
            "url": f"{api}/repos/{full}/pulls/{n}",
            "html_url": f"{web}/{full}/pull/{n}",
            "diff_url": f"{web}/{full}/pull/{n}.diff",
            "patch_url": f"{web}/{full}/pull/{n}.patch",
            "merged_at": None,
        }
    return out


def comment_json(api: str, full: str, number: int, c: dict[str, Any]) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    return {
        "id": c["id"],
        "node_id": p.node_id("IC", c["id"]),
        "url": f"{api}/repos/{full}/issues/comments/{c['id']}",
        "html_url": f"{web}/{full}/issues/{number}#issuecomment-{c['id']}",
        "issue_url": f"{api}/repos/{full}/issues/{number}",
        "body": c["body"],
        "user": p.user(api, c["author"]),
        "created_at": STAMP,
        "updated_at": STAMP,
        "author_association": c["association"],
    }


def pull_json(api: str, repo: RepoState, item: dict[str, Any], state: FakeState, full: bool = False) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    n, name = item["number"], repo.full
    repo_json = p.repo(api, repo.owner, repo.name, repo.visibility, repo.default_branch)
    head_sha = repo.branches.get(item["head"], item.get("head_sha", ""))

    def side(ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": p.user(api, repo.owner),
            "repo": repo_json,
        }

    links = {k: {"href": f"{api}/repos/{name}/pulls/{n}/{k}"} for k in ("comments", "review_comments", "commits")}
    links |= {
        "self": {"href": f"{api}/repos/{name}/pulls/{n}"},
        "html": {"href": f"{web}/{name}/pull/{n}"},
        "issue": {"href": f"{api}/repos/{name}/issues/{n}"},
        "review_comment": {"href": f"{api}/repos/{name}/pulls/comments{{/number}}"},
        "statuses": {"href": f"{api}/repos/{name}/statuses/{head_sha}"},
    }
    out: dict[str, Any] = {
        "url": f"{api}/repos/{name}/pulls/{n}",
        "id": 20_000 + n,
        "node_id": p.node_id("PR", f"{name}#{n}"),
        "html_url": f"{web}/{name}/pull/{n}",
        "diff_url": f"{web}/{name}/pull/{n}.diff",
        "patch_url": f"{web}/{name}/pull/{n}.patch",
        "issue_url": f"{api}/repos/{name}/issues/{n}",
        "commits_url": f"{api}/repos/{name}/pulls/{n}/commits",
        "review_comments_url": f"{api}/repos/{name}/pulls/{n}/comments",
        "review_comment_url": f"{api}/repos/{name}/pulls/comments{{/number}}",
        "comments_url": f"{api}/repos/{name}/issues/{n}/comments",
        "statuses_url": f"{api}/repos/{name}/statuses/{head_sha}",
        "number": n,
        "state": "closed" if item["merged"] or item["state"] == "closed" else "open",
        "locked": False,
        "title": item["title"],
        "user": p.user(api, item["author"]),
        "body": item["body"],
        "labels": [p.label(api, name, lab) for lab in item["labels"]],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": "2026-11-01T09:00:00Z",
        "updated_at": STAMP,
        "closed_at": STAMP if item["merged"] else None,
        "merged_at": STAMP if item["merged"] else None,
        "merge_commit_sha": item.get("merge_sha"),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [p.user(api, "bob")],
        "requested_teams": [],
        "head": side(item["head"], head_sha),
        "base": side(item["base"], repo.branches[item["base"]]),
        "_links": links,
        "author_association": item["association"],
        "auto_merge": None,
        "draft": item["draft"],
    }
    if full:
        files = pull_files(repo, item)
        out |= {
            "merged": item["merged"],
            "mergeable": not item["merged"] and not item.get("conflict"),
            "rebaseable": not item.get("conflict"),
            "mergeable_state": "unknown" if item["merged"] else "dirty" if item.get("conflict") else "clean",
            "merged_by": p.user(api, "alice") if item["merged"] else None,
            "comments": len(state.comments.get(name, {}).get(n, [])),
            "review_comments": len(state.review_comments.get(name, {}).get(n, [])),
            "maintainer_can_modify": False,
            "commits": 1,
            "additions": sum(f["additions"] for f in files),
            "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
        }
    return out


def pull_files(repo: RepoState, item: dict[str, Any]) -> list[dict[str, Any]]:
    base = repo.commits[repo.branches[item["base"]]].tree
    head_sha = repo.branches.get(item["head"], item.get("head_sha", ""))
    return file_patches(base, repo.commits[head_sha].tree)


def review_json(api: str, full: str, number: int, v: dict[str, Any], head_sha: str) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    return {
        "id": v["id"],
        "node_id": p.node_id("RV", v["id"]),
        "user": p.user(api, v["author"]),
        "body": v["body"],
        "state": v["state"],
        "html_url": f"{web}/{full}/pull/{number}#pullrequestreview-{v['id']}",
        "pull_request_url": f"{api}/repos/{full}/pulls/{number}",
        "_links": {
            "html": {"href": f"{web}/{full}/pull/{number}"},
            "pull_request": {"href": f"{api}/repos/{full}/pulls/{number}"},
        },
        "submitted_at": STAMP,
        "commit_id": head_sha,
        "author_association": v["association"],
    }


def review_comment_json(api: str, full: str, number: int, c: dict[str, Any], head_sha: str) -> dict[str, Any]:
    web = api.removesuffix("/api/v3")
    out = {
        "url": f"{api}/repos/{full}/pulls/comments/{c['id']}",
        "pull_request_review_id": 801,
        "id": c["id"],
        "node_id": p.node_id("RC", c["id"]),
        "diff_hunk": "@@ -7,7 +7,7 @@",
        "path": c["path"],
        "position": 1,
        "original_position": 1,
        "commit_id": head_sha,
        "original_commit_id": head_sha,
        "user": p.user(api, c["author"]),
        "body": c["body"],
        "created_at": STAMP,
        "updated_at": STAMP,
        "html_url": f"{web}/{full}/pull/{number}#discussion_r{c['id']}",
        "pull_request_url": f"{api}/repos/{full}/pulls/{number}",
        "author_association": c["association"],
        "_links": {
            "self": {"href": f"{api}/repos/{full}/pulls/comments/{c['id']}"},
            "html": {"href": f"{web}/{full}/pull/{number}#discussion_r{c['id']}"},
            "pull_request": {"href": f"{api}/repos/{full}/pulls/{number}"},
        },
        "line": c["line"],
        "original_line": c["line"],
        "start_line": c.get("start_line"),
        "original_start_line": c.get("start_line"),
        "start_side": c.get("side", "RIGHT") if c.get("start_line") else None,
        "side": c.get("side", "RIGHT"),
        "subject_type": "line",
    }
    if c.get("in_reply_to"):
        out["in_reply_to_id"] = c["in_reply_to"]
    return out


def label_json(api: str, full: str, label: dict[str, Any]) -> dict[str, Any]:
    """A repository label as GitHub sends it (with the description and colour the repository gave it)."""
    return p.label(api, full, label["name"]) | {"color": label["color"], "description": label.get("description")}

"""The state of the fake GitHub: repositories as git trees, issues, pulls, reviews, Actions, rate limits."""

from __future__ import annotations

import difflib
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PAT = "ghp_fake_personal_token_0123456789abcdef"
JOB_LOG_START = "2026-11-20T10:00:00"


def sha_of(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


@dataclass
class Commit:
    sha: str
    tree: dict[str, bytes]
    parents: list[str]
    message: str
    author: str


@dataclass
class RepoState:
    owner: str
    name: str
    visibility: str
    default_branch: str = "main"
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.name}"

    def commit(self, branch: str | None, files: Mapping[str, bytes | None], message: str, author: str = "alice") -> str:
        parent = self.branches.get(branch) if branch else None
        tree = dict(self.commits[parent].tree) if parent else {}
        for path, content in files.items():
            if content is None:
                tree.pop(path, None)
            else:
                tree[path] = content
        sha = sha_of(self.full, parent, sorted(tree.items()), message)
        self.commits[sha] = Commit(sha, tree, [parent] if parent else [], message, author)
        self.trees[tree_sha(tree)] = tree
        if branch:
            self.branches[branch] = sha
        return sha

    def resolve(self, ref: str | None) -> Commit | None:
        ref = ref or self.default_branch
        ref = ref.removeprefix("refs/heads/")
        if ref in self.branches:
            return self.commits[self.branches[ref]]
        matches = [c for s, c in self.commits.items() if s.startswith(ref) and len(ref) >= 7]
        return matches[0] if len(matches) == 1 else None


def tree_sha(tree: dict[str, bytes]) -> str:
    return sha_of("tree", sorted(tree.items()))


def file_patches(old: dict[str, bytes], new: dict[str, bytes]) -> list[dict[str, Any]]:
    """Changed files as GitHub's files API lists them (patch = hunks without ---/+++ headers)."""
    files = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        status = "added" if a is None else "removed" if b is None else "modified"
        binary = b"\0" in (a or b"") or b"\0" in (b or b"")
        entry: dict[str, Any] = {
            "sha": sha_of("blob", b or a),
            "filename": path,
            "status": status,
            "additions": 0,
            "deletions": 0,
            "changes": 0,
        }
        if not binary:
            lines = list(
                difflib.unified_diff(
                    (a or b"").decode().splitlines(), (b or b"").decode().splitlines(), lineterm="", n=3
                )
            )[2:]
            entry["additions"] = sum(1 for line in lines if line.startswith("+"))
            entry["deletions"] = sum(1 for line in lines if line.startswith("-"))
            entry["patch"] = "\n".join(lines)
        entry["changes"] = entry["additions"] + entry["deletions"]
        files.append(entry)
    return files


@dataclass
class Injected:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    path_contains: str = ""


@dataclass
class FakeState:
    repos: dict[str, RepoState] = field(default_factory=dict)
    issues: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    comments: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    pulls: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    reviews: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    #: repo -> its labels ({"name", "description", "color"}), in creation order
    labels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: dict[str, dict[int, list[dict[str, Any]]]] = field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Root review comment ids whose thread is resolved (GraphQL resolveReviewThread), and GraphQL bodies seen.
    resolved_threads: set[int] = field(default_factory=set)
    graphql: list[dict[str, Any]] = field(default_factory=list)
    #: id() of each GraphQL request's wire entry -> the repository its body addressed (None: nothing known).
    graphql_keys: dict[int, str | None] = field(default_factory=dict)
    #: repo -> login -> role (admin, maintain, write, triage, read); logins not listed have none
    #: (read on a public repository); logins starting with "ghost" do not exist (404)
    roles: dict[str, dict[str, str]] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jobs: dict[int, dict[str, Any]] = field(default_factory=dict)
    logs: dict[int, str] = field(default_factory=dict)
    # -- controls --
    tokens: set[str] = field(default_factory=lambda: {PAT})
    installation_tokens: dict[str, float] = field(default_factory=dict)
    app_public_key: str | None = None
    app_id: str = "4242"
    app_slug: str = "hub-review"
    #: GitHub lets only Apps create check runs; tests about where requests go (not who may send them) lift it.
    checks_need_app: bool = True
    installation_token_ttl: float = 3600
    token_exchanges: int = 0
    rate_limit: int = 5000
    rate_remaining: int = 5000
    rate_reset: int = 0
    inject: list[Injected] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    #: Every request that reached the server, whatever its path (`tests.support.hostile.Wire`).
    wire: list[Any] = field(default_factory=list)
    #: Every Authorization header value received (to prove a client's own token is never passed on).
    auth_seen: list[str] = field(default_factory=list)
    received: list[tuple[str, str, Any]] = field(default_factory=list)
    next_id: int = 5000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def count(self, method: str = "", contains: str = "", status: int | None = None) -> int:
        return sum(
            1
            for m, p, s in self.log
            if (not method or m == method) and contains in p and (status is None or s == status)
        )

    def valid_token(self, token: str) -> bool:
        if token in self.tokens:
            return True
        expires = self.installation_tokens.get(token)
        return expires is not None and expires > time.time()

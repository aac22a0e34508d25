"""The two GraphQL documents the connector sends (review threads), and the guard's check of their bodies.

Resolving a review thread has no REST endpoint; GraphQL does it (`resolveReviewThread`). A GraphQL
URL says nothing about what a request addresses, so the request guard checks the body instead
(`mcp_hub.upstream.scope.BodyCheck`): only these two fixed documents are sent; the threads query
must name an allow-listed repository (its key); the mutation may only name a thread id this
connector instance read from an allow-listed repository's pull request (learned from GitHub's own
answer, the way the Slack connector learns channels), and its key is that repository. Any other
body, or none, is refused before it is sent.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable

from mcp_hub.upstream import Route

THREADS = (
    "query($owner: String!, $name: String!, $number: Int!, $cursor: String) { repository(owner: $owner, "
    "name: $name) { pullRequest(number: $number) { reviewThreads(first: 100, after: $cursor) { nodes { id "
    "isResolved comments(first: 100) { nodes { databaseId } } } pageInfo { hasNextPage endCursor } } } } }"
)
RESOLVE = "mutation($threadId: ID!) { resolveReviewThread(input: {threadId: $threadId}) { thread { id isResolved } } }"
_THREAD_ID = re.compile(r"^[A-Za-z0-9_=-]{1,200}$")


class LearnedThreads:
    """Thread ids read from allowed repositories, with their repository (bounded; thread-safe)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._repo_of: dict[str, str] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def learn(self, thread_id: str, repo: str) -> None:
        with self._lock:
            if len(self._repo_of) >= self._capacity:
                self._repo_of.pop(next(iter(self._repo_of)))
            self._repo_of[thread_id] = repo

    def repo_of(self, thread_id: str) -> str | None:
        with self._lock:
            return self._repo_of.get(thread_id)


def body_check(threads: LearnedThreads) -> Callable[[bytes], tuple[str | None, str | None]]:
    def check(body: bytes) -> tuple[str | None, str | None]:
        try:
            doc = json.loads(body)
        except ValueError:
            return "the GraphQL body is not JSON", None
        if not isinstance(doc, dict) or set(doc) != {"query", "variables"} or not isinstance(doc["variables"], dict):
            return "a GraphQL body must be exactly a query and its variables", None
        query, variables = doc["query"], doc["variables"]
        if query == THREADS:
            owner, name = variables.get("owner"), variables.get("name")
            if set(variables) - {"owner", "name", "number", "cursor"} or not isinstance(owner, str):
                return "unexpected variables for the review-threads query", None
            if not isinstance(name, str) or not isinstance(variables.get("number"), int):
                return "unexpected variables for the review-threads query", None
            return None, f"{owner}/{name}"
        if query == RESOLVE:
            thread = variables.get("threadId")
            if set(variables) != {"threadId"} or not isinstance(thread, str) or not _THREAD_ID.match(thread):
                return "unexpected variables for resolveReviewThread", None
            repo = threads.repo_of(thread)
            if repo is None:
                return "that review thread was not read from an allowed repository's pull request", None
            return None, repo
        return "only the connector's own GraphQL documents are sent", None

    return check


def graphql_route(base_url: str, threads: LearnedThreads) -> Route:
    """The POST route of GitHub's GraphQL endpoint: `/graphql` on github.com, `/api/graphql` on GHES
    (PyGithub's rule: the REST base path without its `/v3`, plus `/graphql`)."""
    from urllib.parse import urlsplit

    path = (urlsplit(base_url).path or "").rstrip("/").removesuffix("/v3") + "/graphql"
    return Route("graphql", re.escape(path), methods=frozenset({"POST"}), body=body_check(threads))

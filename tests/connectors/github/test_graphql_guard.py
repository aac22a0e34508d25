"""Resolving review threads over GraphQL, and the request guard's check of GraphQL bodies.

A GraphQL URL says nothing about what a request addresses, so the guard checks the body: only the
connector's two documents, the threads query for an allow-listed repository, the mutation only for
a thread id read from one. Each refusal is shown to matter by the same request passing a guard
whose GraphQL route does not check bodies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from mcp import Client

from connectors.github.graphql import RESOLVE, THREADS, LearnedThreads, graphql_route
from connectors.github.scope import github_scope
from connectors.github.settings import GithubSettings
from mcp_hub.errors import PolicyDenied
from mcp_hub.server import HubServer
from mcp_hub.upstream import RequestGuard
from tests.connectors.github.fake_app import FakeGithub

pytestmark = pytest.mark.anyio

ALLOWED = "acme/widgets"
API = "https://ghe.example/api/v3"
GRAPHQL = "https://ghe.example/api/graphql"


def body(query: str, **variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def guards(checked: bool) -> tuple[RequestGuard, LearnedThreads]:
    settings = GithubSettings(repos=[ALLOWED], base_url=API)
    threads = LearnedThreads()
    scope = github_scope(settings, threads)
    if not checked:  # the defence switched off: the GraphQL route without its body check
        scope = replace(scope, host_routes=(replace(graphql_route(API, threads), body=None),))
    return RequestGuard(scope), threads


FOREIGN = [
    ("threads of another repository", body(THREADS, owner="acme", name="secret", number=1, cursor=None)),
    ("another document", body('mutation { deleteRepository(input: {repositoryId: "R_1"}) { clientMutationId } }')),
    ("a thread never read", body(RESOLVE, threadId="PRRT_1")),
    ("extra variables", body(THREADS, owner="acme", name="widgets", number=1, cursor=None, login="x")),
]


@pytest.mark.parametrize(("what", "payload"), FOREIGN, ids=[f[0] for f in FOREIGN])
@pytest.mark.parametrize("checked", [True, False], ids=["guarded", "switched-off"])
def test_graphql_bodies_are_checked(what: str, payload: bytes, checked: bool) -> None:
    guard, _ = guards(checked)
    if checked:
        with pytest.raises(PolicyDenied):
            guard.check("POST", GRAPHQL, body=payload)
    else:
        assert guard.check("POST", GRAPHQL, body=payload).route == "graphql"  # it would have gone out


def test_allowed_bodies_pass_and_name_their_repository() -> None:
    guard, threads = guards(True)
    target = guard.check("POST", GRAPHQL, body=body(THREADS, owner="acme", name="widgets", number=1, cursor=None))
    assert (target.key, target.resource) == (ALLOWED, f"{ALLOWED}/graphql")
    threads.learn("PRRT_901", ALLOWED)
    assert guard.check("POST", GRAPHQL, body=body(RESOLVE, threadId="PRRT_901")).key == ALLOWED
    with pytest.raises(PolicyDenied):  # a transport that does not show the guard the body
        guard.check("POST", GRAPHQL)
    with pytest.raises(PolicyDenied):  # GET on GraphQL is not used
        guard.check("GET", GRAPHQL)
    github_com = RequestGuard(github_scope(GithubSettings(repos=[ALLOWED]), LearnedThreads()))
    ok = body(THREADS, owner="acme", name="widgets", number=1, cursor=None)
    assert github_com.check("POST", "https://api.github.com/graphql", body=ok).key == ALLOWED


async def test_resolve_review_thread_through_the_hub(make_hub: Callable[..., HubServer], fake: FakeGithub) -> None:
    tool = "github_resolve_review_thread"
    async with Client(make_hub({"MCP_HUB_GITHUB__REPOS": ALLOWED}, writes=True)) as client:
        done = await client.call_tool(tool, {"repo": ALLOWED, "number": 1, "comment_id": 902})
        assert not done.is_error, done.content
        assert done.structured_content["state"] == "resolved" and fake.state.resolved_threads == {901}
        again = await client.call_tool(
            "github_resolve_review_thread", {"repo": ALLOWED, "number": 1, "comment_id": 901}
        )
        assert again.structured_content["state"] == "already resolved"
        assert [d["query"] for d in fake.state.graphql] == [THREADS, RESOLVE, THREADS]  # no second mutation
        missing = await client.call_tool(
            "github_resolve_review_thread", {"repo": ALLOWED, "number": 1, "comment_id": 5}
        )
        assert missing.is_error and "is not an inline review comment" in missing.content[0].text
        other = await client.call_tool("github_resolve_review_thread", {"repo": "acme/secret", "number": 1,
                                                                          "comment_id": 901})  # fmt: skip
        assert other.is_error
    assert all(doc["variables"].get("name") in (None, "widgets") for doc in fake.state.graphql)

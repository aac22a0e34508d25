"""GitHub's GraphQL endpoint, for the two documents the connector sends about review threads.

Not a GraphQL engine: it recognises the review-threads query and the `resolveReviewThread`
mutation and answers in GitHub's shapes (`data`, and `errors` with `type: NOT_FOUND` for an
unknown repository or node, HTTP 200 as GitHub does). A thread is a root review comment with its
replies; its id is `PRRT_<root comment id>`. Every body received is kept in `state.graphql`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.connectors.github.fake_state import FakeState


def _not_found(path: str, message: str) -> dict[str, Any]:
    return {"data": {path: None}, "errors": [{"type": "NOT_FOUND", "path": [path], "message": message}]}


class GraphqlHandlers:
    state: FakeState

    async def graphql(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not self.state.valid_token(auth.split(" ", 1)[-1]):
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        doc = json.loads(await request.body() or b"{}")
        self.state.graphql.append(doc)
        query, variables = str(doc.get("query") or ""), dict(doc.get("variables") or {})
        self._note_key(query, variables)
        if "resolveReviewThread" in query:
            return JSONResponse(self._resolve(str(variables.get("threadId"))))
        if "reviewThreads" in query:
            return JSONResponse(self._threads(variables))
        return JSONResponse({"errors": [{"message": "Parse error: the fake knows two documents"}]})

    def _note_key(self, query: str, variables: dict[str, Any]) -> None:
        """Which repository this request's body addressed, for tests that check where requests went."""
        key: str | None = None
        if "resolveReviewThread" in query:
            root = str(variables.get("threadId") or "").removeprefix("PRRT_")
            for full, pulls in self.state.review_comments.items():
                if any(str(c["id"]) == root for thread in pulls.values() for c in thread):
                    key = full
        elif "reviewThreads" in query:
            key = f"{variables.get('owner')}/{variables.get('name')}"
        wire = next((w for w in reversed(self.state.wire) if w.path == "/api/graphql"), None)
        if wire is not None and id(wire) not in self.state.graphql_keys:
            self.state.graphql_keys[id(wire)] = key

    def _threads(self, v: dict[str, Any]) -> dict[str, Any]:
        full = f"{v.get('owner')}/{v.get('name')}"
        if full not in self.state.repos:
            return _not_found("repository", f"Could not resolve to a Repository with the name '{full}'.")
        pull = self.state.pulls.get(full, {}).get(int(v.get("number") or 0))
        if pull is None:
            missing = _not_found("pullRequest", "Could not resolve to a PullRequest.")
            return {"data": {"repository": {"pullRequest": None}}, "errors": missing["errors"]}
        comments = self.state.review_comments.get(full, {}).get(pull["number"], [])
        nodes = []
        for root in (c for c in comments if not c.get("in_reply_to")):
            replies = [c for c in comments if c.get("in_reply_to") == root["id"]]
            nodes.append(
                {
                    "id": f"PRRT_{root['id']}",
                    "isResolved": root["id"] in self.state.resolved_threads,
                    "comments": {"nodes": [{"databaseId": c["id"]} for c in (root, *replies)]},
                }
            )
        start = int(v.get("cursor") or 0)
        page = nodes[start : start + 100]
        more = start + 100 < len(nodes)
        info = {"hasNextPage": more, "endCursor": str(start + 100) if more else None}
        return {"data": {"repository": {"pullRequest": {"reviewThreads": {"nodes": page, "pageInfo": info}}}}}

    def _resolve(self, thread_id: str) -> dict[str, Any]:
        root = int(thread_id.removeprefix("PRRT_")) if thread_id.removeprefix("PRRT_").isdigit() else -1
        known = any(c["id"] == root for n in self.state.review_comments.values() for t in n.values() for c in t)
        if not thread_id.startswith("PRRT_") or not known:
            return _not_found("resolveReviewThread", f"Could not resolve to a node with the global id of '{thread_id}'")
        self.state.resolved_threads.add(root)
        return {"data": {"resolveReviewThread": {"thread": {"id": thread_id, "isResolved": True}}}}

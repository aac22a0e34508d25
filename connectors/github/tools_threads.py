"""Review threads: resolving the thread of an inline review comment (GraphQL; REST has no endpoint for it).

The thread is found from the comment's id by reading the pull request's review threads (the
connector's fixed GraphQL query, for an allow-listed repository only); the thread ids GitHub
answers with are the only ones the mutation may name (the request guard checks both bodies:
`graphql.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from connectors.github.base import GithubBase
from connectors.github.graphql import RESOLVE, THREADS
from connectors.github.models import Written
from connectors.github.tools_pulls import Number
from connectors.github.tools_repos import RepoArg
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput

#: Pages of 100 threads read at most when looking for a comment's thread.
MAX_THREAD_PAGES = 20


class ThreadTools(GithubBase):
    @tool(
        toolset="pull_requests",
        description="Resolve the review thread an inline review comment belongs to.",
        read_only=False,
    )
    async def resolve_review_thread(
        self, repo: RepoArg, number: Number, comment_id: Annotated[int, Field(ge=1)]
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        what = f"review threads of {r.full}#{number}"
        variables: dict[str, Any] = {"owner": r.owner, "name": r.name, "number": number, "cursor": None}
        found: tuple[str, bool] | None = None
        read = None
        for _ in range(MAX_THREAD_PAGES):
            read = await self.client.graphql(THREADS, variables, what=what)
            pull = ((read.body.get("data") or {}).get("repository") or {}).get("pullRequest") or {}
            threads = pull.get("reviewThreads") or {}
            for node in threads.get("nodes") or []:
                thread_id = str(node.get("id") or "")
                if not thread_id:
                    continue
                self.client.threads.learn(thread_id, r.full)
                ids = {c.get("databaseId") for c in (node.get("comments") or {}).get("nodes") or []}
                if comment_id in ids and found is None:
                    found = (thread_id, bool(node.get("isResolved")))
            page = threads.get("pageInfo") or {}
            if found is not None or not page.get("hasNextPage"):
                break
            variables["cursor"] = page.get("endCursor")
        if found is None or read is None:
            raise InvalidInput(
                f"comment {comment_id} is not an inline review comment of {r.full}#{number} "
                "(list_pull_request_reviews shows them)"
            )
        thread_id, resolved = found
        if not resolved:
            await self.client.graphql(RESOLVE, {"threadId": thread_id}, what=f"review thread of comment {comment_id}")
        out = Written(id=comment_id, number=number, state="resolved" if not resolved else "already resolved")
        return ToolOutput(out, await self.labels(read))

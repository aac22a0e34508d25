"""Issues: list, search, read with comments, the repository's labels; create, comment, update, label (writes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.github.base import GithubBase, TextGate, login, names
from connectors.github.models import Comment, IssueDetail, Issues, IssueSummary, RepoLabel, RepoLabels, Written
from connectors.github.tools_repos import REPO_PATTERN, Cursor, Limit, RepoArg
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput

Labels = Annotated[list[Annotated[str, Field(max_length=100)]] | None, Field(max_length=50)]
Logins = Annotated[list[Annotated[str, Field(max_length=100)]] | None, Field(max_length=10)]
Body = Annotated[str, Field(max_length=65_000)]
NewLabels = Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(min_length=1, max_length=50)]


def issue_summary(item: dict[str, Any], gate: TextGate, repo: str | None = None) -> IssueSummary:
    association = item.get("author_association")
    return IssueSummary(
        number=item["number"],
        title=gate.text(item.get("title", ""), association) or "",
        state=item.get("state", ""),
        author=login(item.get("user")),
        labels=names(item.get("labels")),
        assignees=names(item.get("assignees"), "login"),
        comments=item.get("comments", 0),
        updated_at=item.get("updated_at"),
        repo=repo,
        is_pull="pull_request" in item,
    )


def comment(item: dict[str, Any], gate: TextGate) -> Comment:
    return Comment(
        id=item["id"],
        author=login(item.get("user")),
        body=gate.text(item.get("body"), item.get("author_association"), login(item.get("user"))),
        created_at=item.get("created_at"),
    )


class IssueTools(GithubBase):
    @tool(toolset="issues", description="List issues (not pull requests), recently updated first.")
    async def list_issues(
        self,
        repo: RepoArg,
        state: Literal["open", "closed", "all"] = "open",
        labels: Labels = None,
        assignee: Annotated[str | None, Field(description="login, 'none' or '*'", max_length=100)] = None,
        limit: Limit = 30,
        cursor: Cursor = None,
    ) -> ToolOutput[Issues]:
        r = self.repo(repo)
        page = self.page(cursor)
        params = {
            "state": state,
            "labels": ",".join(labels) if labels else None,
            "assignee": assignee,
            "sort": "updated",
            "per_page": limit,
            "page": page,
        }
        response = await self.client.get(f"{r.api}/issues", what=f"issues of {r.full}", params=params)
        gate = self.gate()
        issues = [issue_summary(i, gate) for i in response.body if "pull_request" not in i]
        nxt = self.next_cursor(response, page)
        data = Issues(issues=issues, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response, gate=gate))

    @tool(toolset="issues", description="Search issues and pull requests (GitHub search syntax).")
    async def search_issues(
        self,
        query: Annotated[str, Field(max_length=256)],
        repo: Annotated[
            str | None, Field(description="owner/name to search in", max_length=200, pattern=REPO_PATTERN)
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> ToolOutput[Issues]:
        q = self._scoped_query(query, repo)
        page = self.page(cursor)
        response = await self.client.get(
            "/search/issues", what="issue search", params={"q": q, "per_page": limit, "page": page}
        )
        gate = self.gate()
        issues = []
        for item in response.body.get("items", []):
            full = "/".join(str(item.get("repository_url", "")).split("/")[-2:])
            if self.settings.allows(full):
                issues.append(issue_summary(item, gate, full))
        nxt = self.next_cursor(response, page)
        vis = await self._search_visibility(issues)
        data = Issues(issues=issues, total=response.body.get("total_count"), next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response, gate=gate, visibility=vis))

    @tool(toolset="issues", description="Get an issue or pull request conversation with its comments (paged).")
    async def get_issue(
        self, repo: RepoArg, number: Annotated[int, Field(ge=1)], limit: Limit = 30, cursor: Cursor = None
    ) -> ToolOutput[IssueDetail]:
        r = self.repo(repo)
        page = self.page(cursor)
        what = f"issue {r.full}#{number}"
        issue_response = await self.client.get(f"{r.api}/issues/{number}", what=what)
        issue = issue_response.body
        comments = await self.client.get(
            f"{r.api}/issues/{number}/comments", what=what, params={"per_page": limit, "page": page}
        )
        gate = await self.conversation_gate()
        summary = issue_summary(issue, gate)
        nxt = self.next_cursor(comments, page)
        data = IssueDetail(
            number=number,
            title=summary.title,
            state=summary.state,
            state_reason=issue.get("state_reason"),
            author=summary.author,
            labels=summary.labels,
            assignees=summary.assignees,
            body=gate.text(issue.get("body"), issue.get("author_association")),
            created_at=issue.get("created_at"),
            closed_at=issue.get("closed_at"),
            comment_count=issue.get("comments", 0),
            comments=[comment(c, gate) for c in comments.body],
            next_cursor=nxt,
            truncated=nxt is not None,
        )
        return ToolOutput(data, await self.labels(issue_response, comments, gate=gate))

    @tool(toolset="issues", description="Create an issue.", read_only=False)
    async def create_issue(
        self,
        repo: RepoArg,
        title: Annotated[str, Field(min_length=1, max_length=256)],
        body: Body = "",
        labels: Labels = None,
        assignees: Logins = None,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        payload = {"title": title, "body": body, "labels": labels or [], "assignees": assignees or []}
        created = await self.client.request("POST", f"{r.api}/issues", what=f"new issue in {r.full}", body=payload)
        out = Written(number=created.body["number"], state="open", html_url=created.body.get("html_url"))
        return ToolOutput(out, await self.labels(created))

    @tool(toolset="issues", description="Comment on an issue or pull request.", read_only=False)
    async def add_issue_comment(
        self,
        repo: RepoArg,
        number: Annotated[int, Field(ge=1)],
        body: Annotated[str, Field(min_length=1, max_length=65_000)],
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        created = await self.client.request(
            "POST", f"{r.api}/issues/{number}/comments", what=f"issue {r.full}#{number}", body={"body": body}
        )
        out = Written(id=created.body["id"], number=number, html_url=created.body.get("html_url"))
        return ToolOutput(out, await self.labels(created))

    @tool(
        toolset="issues",
        description="Update an issue or pull request: state, labels, assignees (lists replace), title, body.",
        read_only=False,
    )
    async def update_issue(
        self,
        repo: RepoArg,
        number: Annotated[int, Field(ge=1)],
        state: Literal["open", "closed"] | None = None,
        state_reason: Literal["completed", "not_planned", "reopened"] | None = None,
        labels: Labels = None,
        assignees: Logins = None,
        title: Annotated[str | None, Field(max_length=256)] = None,
        body: Annotated[str | None, Field(max_length=65_000)] = None,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        fields = {"state": state, "state_reason": state_reason, "labels": labels, "assignees": assignees}
        payload = {k: v for k, v in (fields | {"title": title, "body": body}).items() if v is not None}
        if not payload:
            raise InvalidInput("nothing to update: give state, labels, assignees, title or body")
        updated = await self.client.request(
            "PATCH", f"{r.api}/issues/{number}", what=f"issue {r.full}#{number}", body=payload
        )
        out = Written(number=number, state=updated.body.get("state"))
        return ToolOutput(out, await self.labels(updated))

    @tool(toolset="issues", description="List the repository's labels.")
    async def list_labels(self, repo: RepoArg, limit: Limit = 100, cursor: Cursor = None) -> ToolOutput[RepoLabels]:
        r = self.repo(repo)
        page = self.page(cursor)
        response = await self.client.get(
            f"{r.api}/labels", what=f"labels of {r.full}", params={"per_page": limit, "page": page}
        )
        labels = [RepoLabel(name=str(x["name"]), description=x.get("description") or None) for x in response.body]
        nxt = self.next_cursor(response, page)
        data = RepoLabels(labels=labels, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response))

    @tool(toolset="issues", description="Add labels to an issue or pull request (existing ones kept).", read_only=False)
    async def add_labels(
        self,
        repo: RepoArg,
        number: Annotated[int, Field(ge=1)],
        labels: NewLabels,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        added = await self.client.request(
            "POST", f"{r.api}/issues/{number}/labels", what=f"issue {r.full}#{number}", body={"labels": labels}
        )
        return ToolOutput(Written(number=number), await self.labels(added))

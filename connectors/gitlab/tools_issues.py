"""Issues: list/search, one with its notes, the project's labels, create, comment, update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from connectors.gitlab.args import Body, Cursor, Iid, Labels, Limit, ProjectArg, Users
from connectors.gitlab.base import GitlabBase, TextGuard, listing_query, next_cursor, page_query, username
from connectors.gitlab.models import Created, Issue, IssueDetail, IssueList, LabelList, Note, ProjectLabel
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput

if TYPE_CHECKING:
    from gitlab import Gitlab

State = Literal["open", "closed", "all"]
_STATE = {"open": "opened", "closed": "closed", "all": "all"}


def issue_of(raw: dict[str, Any], guard: TextGuard) -> Issue:
    author = username(raw.get("author"))
    return Issue(
        iid=int(raw["iid"]),
        title=guard.text(author, str(raw.get("title", ""))),
        state="open" if raw.get("state") == "opened" else str(raw.get("state")),
        author=author,
        labels=[str(x) for x in raw.get("labels") or []],
        assignees=[u for u in (username(a) for a in raw.get("assignees") or []) if u],
        updated_at=raw.get("updated_at"),
        comments=int(raw.get("user_notes_count") or 0),
    )


def note_of(raw: dict[str, Any], guard: TextGuard) -> Note:
    author = username(raw.get("author"))
    return Note(
        id=int(raw["id"]),
        author=author,
        body=guard.text(author, str(raw.get("body", ""))),
        created_at=raw.get("created_at"),
        system=bool(raw.get("system")),
    )


class IssueTools(GitlabBase):
    async def user_ids(self, usernames: list[str]) -> list[int]:
        """Ids of `usernames` (GitLab's write APIs take ids): one lookup per name."""
        from connectors.gitlab.client import get_json

        def fetch(gl: Gitlab) -> list[int]:
            ids = []
            for name in usernames:
                found = get_json(gl, "/users", {"username": name.lstrip("@")})
                if not found:
                    raise InvalidInput(f"no GitLab user named {name!r}; pass existing usernames")
                ids.append(int(found[0]["id"]))
            return ids

        return await self.call(fetch) if usernames else []

    @tool(toolset="issues", description="List or search issues of a project, recently updated first.")
    async def list_issues(
        self,
        project: ProjectArg,
        state: State = "open",
        search: Annotated[str, Field(description="words in title or description", max_length=200)] = "",
        labels: Labels = (),
        assignee: Annotated[str, Field(max_length=255)] = "",
        author: Annotated[str, Field(max_length=255)] = "",
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[IssueList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        filters = {"search": search, "assignee_username": assignee, "author_username": author}
        params = listing_query(_STATE[state], filters, labels, cursor, limit)
        (items, more), target = await self.sent(lambda gl: get_page(gl, f"/projects/{info.id}/issues", params))
        guard = await self.guard(info)
        result = IssueList(issues=[issue_of(i, guard) for i in items], next_cursor=next_cursor(more))
        return self.out(result, self.provenance(target, guard))

    @tool(toolset="issues", description="One issue with its description and notes (oldest first, paged).")
    async def get_issue(
        self, project: ProjectArg, iid: Iid, limit: Limit = 30, cursor: Cursor = ""
    ) -> ToolOutput[IssueDetail]:
        from connectors.gitlab.client import get_json, get_page

        info = await self.project(project)
        query: dict[str, Any] = {"sort": "asc", "order_by": "created_at", "per_page": limit, **page_query(cursor)}
        base = f"/projects/{info.id}/issues/{iid}"

        def fetch(gl: Gitlab) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str] | None]:
            return get_json(gl, base), *get_page(gl, f"{base}/notes", query)

        (raw, notes, more), target = await self.sent(fetch, what=f"issue #{iid}")
        guard = await self.guard(info)
        summary = issue_of(raw, guard)
        detail = IssueDetail(
            **summary.model_dump(),
            description=guard.text(summary.author, raw.get("description")),
            notes=[note_of(n, guard) for n in notes],
            next_cursor=next_cursor(more),
        )
        return self.out(detail, self.provenance(target, guard))

    @tool(toolset="issues", description="List the project's labels.")
    async def list_labels(self, project: ProjectArg, limit: Limit = 100, cursor: Cursor = "") -> ToolOutput[LabelList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        params = {"per_page": limit, **page_query(cursor)}
        (items, more), target = await self.sent(lambda gl: get_page(gl, f"/projects/{info.id}/labels", params))
        labels = [ProjectLabel(name=str(x["name"]), description=x.get("description") or None) for x in items]
        return self.out(LabelList(labels=labels, next_cursor=next_cursor(more)), self.provenance(target))

    @tool(toolset="issues", description="Create an issue.", read_only=False)
    async def create_issue(
        self,
        project: ProjectArg,
        title: Annotated[str, Field(min_length=1, max_length=255)],
        description: Annotated[str, Field(max_length=60_000)] = "",
        labels: Labels = (),
        assignees: Users = (),
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        data: dict[str, Any] = {"title": title, "description": description}
        if labels:
            data["labels"] = ",".join(labels)
        if assignees:
            data["assignee_ids"] = await self.user_ids(list(assignees))
        raw, target = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/issues", post_data=data), idempotent=False
        )
        assert isinstance(raw, dict)
        created = Created(id=int(raw["id"]), iid=int(raw["iid"]), state="open")
        return self.out(created, self.provenance(target))

    @tool(toolset="issues", description="Comment on an issue.", read_only=False)
    async def add_issue_comment(self, project: ProjectArg, iid: Iid, body: Body) -> ToolOutput[Created]:
        info = await self.project(project)
        raw, target = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/issues/{iid}/notes", post_data={"body": body}),
            what=f"issue #{iid}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=int(raw["id"]), iid=iid), self.provenance(target))

    @tool(toolset="issues", description="Change an issue's state, title, labels or assignees.", read_only=False)
    async def update_issue(
        self,
        project: ProjectArg,
        iid: Iid,
        state: Literal["open", "closed"] | None = None,
        title: Annotated[str, Field(max_length=255)] = "",
        add_labels: Labels = (),
        remove_labels: Labels = (),
        assignees: Annotated[Users | None, Field(description="replaces the assignees; [] clears")] = None,
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        data: dict[str, Any] = {}
        if state is not None:
            data["state_event"] = "reopen" if state == "open" else "close"
        if title:
            data["title"] = title
        if add_labels:
            data["add_labels"] = ",".join(add_labels)
        if remove_labels:
            data["remove_labels"] = ",".join(remove_labels)
        if assignees is not None:
            data["assignee_ids"] = await self.user_ids(list(assignees)) if assignees else [0]
        if not data:
            raise InvalidInput("nothing to change: pass state, title, add_labels, remove_labels or assignees")
        raw, target = await self.sent(
            lambda gl: gl.http_put(f"/projects/{info.id}/issues/{iid}", post_data=data), what=f"issue #{iid}"
        )
        assert isinstance(raw, dict)
        new_state = "open" if raw.get("state") == "opened" else str(raw.get("state"))
        return self.out(Created(id=int(raw["id"]), iid=iid, state=new_state), self.provenance(target))

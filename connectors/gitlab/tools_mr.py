"""Merge requests, read side: list, one with pipeline and approvals, changes under a token budget, discussions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from connectors.gitlab.args import REF_PATTERN, Cursor, Iid, Labels, Limit, MaxTokens, ProjectArg, ref_value
from connectors.gitlab.base import GitlabBase, TextGuard, listing_query, next_cursor, page_query, username
from connectors.gitlab.diffs import file_diff, within_budget
from connectors.gitlab.models import (
    Approvals,
    DiffPage,
    Discussion,
    DiscussionList,
    MergeRequest,
    MergeRequestDetail,
    MergeRequestList,
    Note,
    Pipeline,
)
from connectors.gitlab.tools_repo import _diff_cursor
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.paging import decode_cursor
from mcp_hub.upstream import Target

if TYPE_CHECKING:
    from gitlab import Gitlab

MRState = Literal["open", "closed", "merged", "all"]
_STATE = {"open": "opened", "closed": "closed", "merged": "merged", "all": "all"}
#: Files per upstream page of `/merge_requests/:iid/diffs` (one request per tool call).
DIFF_PAGE = 30


def mr_of(raw: dict[str, Any], guard: TextGuard) -> MergeRequest:
    author = username(raw.get("author"))
    return MergeRequest(
        iid=int(raw["iid"]),
        title=guard.text(author, str(raw.get("title", ""))),
        state="open" if raw.get("state") == "opened" else str(raw.get("state")),
        author=author,
        source=str(raw.get("source_branch", "")),
        target=str(raw.get("target_branch", "")),
        draft=bool(raw.get("draft") or raw.get("work_in_progress")),
        labels=[str(x) for x in raw.get("labels") or []],
        updated_at=raw.get("updated_at"),
    )


def pipeline_of(raw: dict[str, Any]) -> Pipeline:
    return Pipeline(
        id=int(raw["id"]),
        status=str(raw.get("status")),
        ref=raw.get("ref"),
        sha=raw.get("sha"),
        created_at=raw.get("created_at"),
    )


def discussion_of(raw: dict[str, Any], guard: TextGuard, system: bool) -> Discussion | None:
    notes = [n for n in raw.get("notes") or [] if system or not n.get("system")]
    if not notes:
        return None
    position = notes[0].get("position") or {}
    resolvable = [n for n in notes if n.get("resolvable")]
    return Discussion(
        id=str(raw["id"]),
        path=position.get("new_path") or position.get("old_path"),
        line=position.get("new_line") or position.get("old_line"),
        resolved=all(n.get("resolved") for n in resolvable) if resolvable else None,
        notes=[
            Note(
                id=int(n["id"]),
                author=username(n.get("author")),
                body=guard.text(username(n.get("author")), str(n.get("body", ""))),
                created_at=n.get("created_at"),
                system=bool(n.get("system")),
            )
            for n in notes
        ],
    )


class MergeRequestTools(GitlabBase):
    @tool(toolset="merge_requests", description="List merge requests of a project, recently updated first.")
    async def list_merge_requests(
        self,
        project: ProjectArg,
        state: MRState = "open",
        search: Annotated[str, Field(max_length=200)] = "",
        labels: Labels = (),
        author: Annotated[str, Field(max_length=255)] = "",
        target: Annotated[str, Field(description="target branch", max_length=250, pattern=REF_PATTERN)] = "",
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[MergeRequestList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        filters = {"search": search, "author_username": author, "target_branch": ref_value(target, what="target")}
        params = listing_query(_STATE[state], filters, labels, cursor, limit)
        (items, more), request = await self.sent(lambda gl: get_page(gl, f"/projects/{info.id}/merge_requests", params))
        guard = await self.guard(info)
        result = MergeRequestList(merge_requests=[mr_of(m, guard) for m in items], next_cursor=next_cursor(more))
        return self.out(result, self.provenance(request, guard))

    @tool(
        toolset="merge_requests",
        description="One merge request: description, head sha, merge status, pipeline, approvals.",
    )
    async def get_merge_request(self, project: ProjectArg, iid: Iid) -> ToolOutput[MergeRequestDetail]:
        import gitlab

        from connectors.gitlab.client import get_json

        info = await self.project(project)
        base = f"/projects/{info.id}/merge_requests/{iid}"

        def fetch(gl: Gitlab) -> tuple[dict[str, Any], dict[str, Any] | None]:
            raw = get_json(gl, base)
            try:
                approvals = get_json(gl, f"{base}/approvals")
            except (gitlab.exceptions.GitlabHttpError, gitlab.exceptions.GitlabAuthenticationError) as exc:
                if exc.response_code not in (403, 404):
                    raise
                approvals = None  # approvals not available on this tier or to this token
            return raw, approvals

        (raw, approvals), target = await self.sent(fetch, what=f"merge request !{iid}")
        guard = await self.guard(info)
        summary = mr_of(raw, guard)
        pipeline = raw.get("head_pipeline") or raw.get("pipeline")
        detail = MergeRequestDetail(
            **summary.model_dump(),
            description=guard.text(summary.author, raw.get("description")),
            sha=raw.get("sha"),
            merge_status=raw.get("detailed_merge_status") or raw.get("merge_status"),
            has_conflicts=bool(raw.get("has_conflicts")),
            changes=raw.get("changes_count"),
            assignees=[u for u in (username(a) for a in raw.get("assignees") or []) if u],
            reviewers=[u for u in (username(a) for a in raw.get("reviewers") or []) if u],
            pipeline=pipeline_of(pipeline) if isinstance(pipeline, dict) and pipeline.get("id") else None,
            approvals=Approvals(
                approved=bool(approvals.get("approved")),
                approvals_left=int(approvals.get("approvals_left") or 0),
                approved_by=[u for u in (username(a.get("user")) for a in approvals.get("approved_by") or []) if u],
            )
            if approvals is not None
            else None,
        )
        return self.out(detail, self.provenance(target, guard))

    async def mr_diffs(self, info: Any, iid: int, page: int) -> tuple[list[dict[str, Any]], bool, Target]:
        """One upstream page of the MR's file diffs (`GET …/merge_requests/:iid/diffs`, GitLab 15.7+)."""
        from connectors.gitlab.client import get_page

        (items, more), target = await self.sent(
            lambda gl: get_page(
                gl, f"/projects/{info.id}/merge_requests/{iid}/diffs", {"page": page, "per_page": DIFF_PAGE}
            ),
            what=f"merge request !{iid}",
        )
        return items, more is not None, target

    @tool(toolset="merge_requests", description="A merge request's file diffs, paged by file within max_tokens.")
    async def list_merge_request_files(
        self, project: ProjectArg, iid: Iid, max_tokens: MaxTokens = 8000, cursor: Cursor = ""
    ) -> ToolOutput[DiffPage]:
        info = await self.project(project)
        state = decode_cursor(cursor)
        page, index = int(state.get("p", 1)), int(state.get("i", 0))
        items, more, target = await self.mr_diffs(info, iid, page)
        files, next_index = within_budget([file_diff(d) for d in items], index, max_tokens) if items else ([], None)
        result = DiffPage(files=files, next_cursor=_diff_cursor(page, next_index, more))
        return self.out(result, self.provenance(target))

    @resource(
        "gitlab://{project}/merge_requests/{iid}/diff{?page}",
        description="A merge request's unified diff, 30 files per page; project is URL-encoded or an id.",
        toolset="merge_requests",
    )
    async def merge_request_diff(self, project: str, iid: str, page: str = "1") -> ResourceOutput:
        if not iid.isdigit() or not page.isdigit() or int(page) < 1:
            raise InvalidInput("iid and page must be positive numbers")
        info = await self.project(project)
        items, more, target = await self.mr_diffs(info, int(iid), int(page))
        parts = []
        for raw in items:
            diff = file_diff(raw)
            old = diff.old_path or diff.path
            parts.append(f"diff --git a/{old} b/{diff.path}\n{diff.diff}")
        if more:
            parts.append(f"[more files: read page={int(page) + 1}]")
        return ResourceOutput("\n".join(parts), self.provenance(target))

    @tool(toolset="merge_requests", description="Discussions (threads) of a merge request, oldest first.")
    async def list_merge_request_discussions(
        self,
        project: ProjectArg,
        iid: Iid,
        system: Annotated[bool, Field(description="include system notes")] = False,
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[DiscussionList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        params: dict[str, Any] = {"per_page": limit, **page_query(cursor)}
        (items, more), target = await self.sent(
            lambda gl: get_page(gl, f"/projects/{info.id}/merge_requests/{iid}/discussions", params),
            what=f"merge request !{iid}",
        )
        guard = await self.guard(info)
        found = [d for d in (discussion_of(raw, guard, system) for raw in items) if d is not None]
        result = DiscussionList(discussions=found, next_cursor=next_cursor(more))
        return self.out(result, self.provenance(target, guard))

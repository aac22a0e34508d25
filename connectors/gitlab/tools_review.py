"""Merge requests, write side: comments (also on a diff line), replies, note edits, resolving, reviews from
draft notes, creating and merging.

A note on a diff line needs GitLab's position object: the MR's diff refs
(base_sha, start_sha, head_sha) plus old/new path and line. The position is
built here from the MR and its diff, and the line is checked against the diff
before anything is sent, so a wrong line is an actionable InvalidInput instead
of GitLab's opaque 400 (or a note silently attached to the wrong place).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from connectors.gitlab.args import Body, FilePath, Iid, Labels, ProjectArg, Ref, RefArg, plain_path, ref_value
from connectors.gitlab.base import GitlabBase, ProjectInfo
from connectors.gitlab.diffs import line_position, line_range_end
from connectors.gitlab.models import Created
from connectors.gitlab.tools_mr import DIFF_PAGE
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import segments

if TYPE_CHECKING:
    from gitlab import Gitlab

Side = Literal["new", "old"]
PathArg = Annotated[FilePath, Field(description="file, for a note on a diff line")]
DiscussionId = Annotated[str, Field(max_length=100, pattern=r"^\w+$")]
LineArg = Annotated[int, Field(description="line on side; with path", ge=0)]
#: Most diff pages searched for a file when building a position.
MAX_DIFF_PAGES = 20


class LineComment(BaseModel):
    path: FilePath
    line: Annotated[int, Field(ge=1, description="the line (the last one of a range)")]
    side: Side = "new"
    start_line: Annotated[int | None, Field(ge=1, description="first line of a multi-line comment")] = None
    body: Body


class ReviewTools(GitlabBase):
    async def positions(
        self, info: ProjectInfo, iid: int, wanted: list[tuple[str, int, str]], starts: list[int | None] | None = None
    ) -> list[dict[str, Any]]:
        """GitLab positions for (path, line, side) triples, validated against the MR's diff; with a start line
        (`starts`, one per triple), a `line_range` from it to the line (a multi-line note)."""
        from connectors.gitlab.client import get_json, get_page

        paths = {plain_path(path) for path, _, _ in wanted}
        base = f"/projects/{info.id}/merge_requests/{iid}"

        def fetch(gl: Gitlab) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
            refs = get_json(gl, base).get("diff_refs") or {}
            found: dict[str, dict[str, Any]] = {}
            query: dict[str, Any] | None = {"page": 1}
            pages = 0
            while query is not None and pages < MAX_DIFF_PAGES and not paths <= found.keys():
                items, query = get_page(gl, f"{base}/diffs", {"per_page": DIFF_PAGE, **query})
                found.update({str(d.get("new_path")): d for d in items if d.get("new_path") in paths})
                found.update({str(d.get("old_path")): d for d in items if d.get("old_path") in paths})
                pages += 1
            return refs, found

        refs, diffs = await self.call(fetch, what=f"merge request !{iid}")
        if not refs.get("head_sha"):
            raise InvalidInput(f"merge request !{iid} has no diff yet; comment without path and line.")
        positions: list[dict[str, Any]] = []
        for path, line, side in wanted:
            raw = diffs.get(path.strip("/"))
            if raw is None:
                raise InvalidInput(
                    f"{path} is not changed in merge request !{iid}; list_merge_request_files shows the files."
                )
            old_line, new_line = line_position(str(raw.get("diff") or ""), line, side)
            position = {
                "position_type": "text",
                "base_sha": refs.get("base_sha"),
                "start_sha": refs.get("start_sha"),
                "head_sha": refs.get("head_sha"),
                "old_path": raw.get("old_path"),
                "new_path": raw.get("new_path"),
            }
            if old_line is not None:
                position["old_line"] = old_line
            if new_line is not None:
                position["new_line"] = new_line
            start = starts[len(positions)] if starts else None
            if start is not None and start != line:
                if start > line:
                    raise InvalidInput(f"start_line {start} is after line {line} in {path}.")
                diff = str(raw.get("diff") or "")
                path_key = str(raw.get("new_path") or path)
                position["line_range"] = {
                    "start": line_range_end(path_key, diff, start, side),
                    "end": line_range_end(path_key, diff, line, side),
                }
            positions.append(position)
        return positions

    @tool(
        toolset="merge_requests",
        description="Start a discussion on a merge request; with path and line, on that diff line.",
        read_only=False,
    )
    async def add_merge_request_comment(
        self, project: ProjectArg, iid: Iid, body: Body, path: PathArg = "", line: LineArg = 0, side: Side = "new"
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        data: dict[str, Any] = {"body": body}
        if bool(path) != bool(line):
            raise InvalidInput("pass both path and line for a note on a diff line, or neither for a general note")
        if path and line:
            data["position"] = (await self.positions(info, iid, [(path, line, side)]))[0]
        raw, target = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/merge_requests/{iid}/discussions", post_data=data),
            what=f"merge request !{iid}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=str(raw["id"]), iid=iid), self.provenance(target))

    @tool(toolset="merge_requests", description="Reply in a merge request discussion.", read_only=False)
    async def reply_to_merge_request_discussion(
        self, project: ProjectArg, iid: Iid, discussion_id: DiscussionId, body: Body
    ) -> ToolOutput[Created]:
        discussion = segments.segment(discussion_id, what="discussion_id")
        info = await self.project(project)
        raw, target = await self.sent(
            lambda gl: gl.http_post(
                f"/projects/{info.id}/merge_requests/{iid}/discussions/{discussion}/notes", post_data={"body": body}
            ),
            what=f"discussion {discussion_id} of merge request !{iid}",
            idempotent=False,
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=int(raw["id"]), iid=iid), self.provenance(target))

    @tool(
        toolset="merge_requests",
        description="Replace the text of a merge request comment (a note; only the token's own).",
        read_only=False,
    )
    async def update_merge_request_comment(
        self, project: ProjectArg, iid: Iid, comment_id: Annotated[int, Field(ge=1)], body: Body
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        raw, target = await self.sent(
            lambda gl: gl.http_put(
                f"/projects/{info.id}/merge_requests/{iid}/notes/{comment_id}", post_data={"body": body}
            ),
            what=f"note {comment_id} of merge request !{iid}",
        )
        assert isinstance(raw, dict)
        return self.out(Created(id=int(raw["id"]), iid=iid), self.provenance(target))

    @tool(toolset="merge_requests", description="Resolve or reopen a merge request discussion.", read_only=False)
    async def resolve_merge_request_discussion(
        self,
        project: ProjectArg,
        iid: Iid,
        discussion_id: DiscussionId,
        resolved: bool = True,
    ) -> ToolOutput[Created]:
        discussion = segments.segment(discussion_id, what="discussion_id")
        info = await self.project(project)
        raw, target = await self.sent(
            lambda gl: gl.http_put(
                f"/projects/{info.id}/merge_requests/{iid}/discussions/{discussion}",
                query_data={"resolved": str(resolved).lower()},
            ),
            what=f"discussion {discussion_id} of merge request !{iid}",
        )
        assert isinstance(raw, dict)
        state = "resolved" if resolved else "unresolved"
        return self.out(Created(id=str(raw.get("id", discussion_id)), iid=iid, state=state), self.provenance(target))

    @tool(
        toolset="merge_requests",
        description="Publish a review: a summary and line comments, posted together as one review.",
        read_only=False,
    )
    async def create_merge_request_review(
        self,
        project: ProjectArg,
        iid: Iid,
        body: Annotated[str, Field(max_length=60_000)] = "",
        comments: Annotated[list[LineComment], Field(max_length=100)] = [],  # noqa: B006 - pydantic copies
    ) -> ToolOutput[Created]:
        if not body and not comments:
            raise InvalidInput("a review needs a body or at least one comment")
        info = await self.project(project)
        wanted: list[tuple[str, int, str]] = [(c.path, c.line, c.side) for c in comments]
        positions = await self.positions(info, iid, wanted, [c.start_line for c in comments]) if comments else []
        drafts: list[dict[str, Any]] = [
            {"note": c.body, "position": p} for c, p in zip(comments, positions, strict=True)
        ]
        if body:
            drafts.insert(0, {"note": body})
        base = f"/projects/{info.id}/merge_requests/{iid}/draft_notes"

        def publish(gl: Gitlab) -> int:  # the first request is the first draft: `sent` labels from it
            created: list[int] = []
            try:
                for draft in drafts:
                    raw = gl.http_post(base, post_data=draft)
                    assert isinstance(raw, dict)
                    created.append(int(raw["id"]))
                gl.http_post(f"{base}/bulk_publish")
            except BaseException:
                for draft_id in created:  # leave no half-made review behind
                    with contextlib.suppress(Exception):  # best effort: the first error is what matters
                        gl.http_delete(f"{base}/{draft_id}")
                raise
            return len(created)

        count, target = await self.sent(publish, what=f"merge request !{iid}", idempotent=False)
        result = Created(id=iid, iid=iid, state="published", detail=f"{count} notes")
        return self.out(result, self.provenance(target))

    @tool(toolset="merge_requests", description="Open a merge request.", read_only=False)
    async def create_merge_request(
        self,
        project: ProjectArg,
        source: Annotated[Ref, Field(description="source branch")],
        title: Annotated[str, Field(min_length=1, max_length=255)],
        target: Annotated[RefArg, Field(description="default branch if omitted")] = "",
        description: Annotated[str, Field(max_length=60_000)] = "",
        draft: bool = False,
        labels: Labels = (),
    ) -> ToolOutput[Created]:
        ref_value(source, what="source")
        info = await self.project(project)
        target_branch = ref_value(target or info.default_branch or "", what="target")
        if not target_branch:
            raise InvalidInput("the project has no default branch: pass target")
        data: dict[str, Any] = {
            "source_branch": source,
            "target_branch": target_branch,
            "title": f"Draft: {title}" if draft and not title.lower().startswith("draft:") else title,
            "description": description,
        }
        if labels:
            data["labels"] = ",".join(labels)
        raw, request = await self.sent(
            lambda gl: gl.http_post(f"/projects/{info.id}/merge_requests", post_data=data), idempotent=False
        )
        assert isinstance(raw, dict)
        created = Created(id=int(raw["id"]), iid=int(raw["iid"]), state="open", sha=raw.get("sha"))
        return self.out(created, self.provenance(request))

    @tool(
        toolset="merge_requests",
        description="Merge a merge request whose head is still sha (from get_merge_request).",
        read_only=False,
        destructive=True,
    )
    async def merge_merge_request(
        self,
        project: ProjectArg,
        iid: Iid,
        sha: Annotated[str, Field(min_length=7, max_length=64)],
        squash: bool = False,
        delete_source_branch: bool = False,
    ) -> ToolOutput[Created]:
        info = await self.project(project)
        data = {"sha": sha, "squash": squash, "should_remove_source_branch": delete_source_branch}

        def merge(gl: Gitlab) -> Any:
            import gitlab

            try:
                return gl.http_put(f"/projects/{info.id}/merge_requests/{iid}/merge", post_data=data)
            except gitlab.exceptions.GitlabHttpError as exc:
                if exc.response_code == 409:
                    raise InvalidInput(
                        f"merge request !{iid} has new commits since sha {sha[:12]}: read it again with "
                        "get_merge_request, review the new changes, then merge with the new sha."
                    ) from None
                if exc.response_code in (405, 406, 422):
                    raise InvalidInput(
                        f"merge request !{iid} cannot be merged now ({exc.response_code}): it may be a draft, closed, "
                        "conflicting, or waiting for a pipeline or approvals; get_merge_request shows merge_status."
                    ) from None
                raise

        raw, target = await self.sent(merge, what=f"merge request !{iid}", idempotent=False)
        assert isinstance(raw, dict)
        merged = Created(id=int(raw["id"]), iid=iid, state=str(raw.get("state")), sha=raw.get("merge_commit_sha"))
        return self.out(merged, self.provenance(target))

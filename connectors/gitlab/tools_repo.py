"""Projects and repository: search projects, files, directories, branches, commits, diffs, code search."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from connectors.gitlab.args import (
    Cursor,
    FilePath,
    Limit,
    MaxTokens,
    ProjectArg,
    Ref,
    RefArg,
    one_segment,
    plain_path,
    ref_value,
)
from connectors.gitlab.base import GitlabBase, next_cursor, page_query
from connectors.gitlab.diffs import file_diff, within_budget
from connectors.gitlab.models import (
    Branch,
    BranchList,
    CodeHit,
    CodeHits,
    Commit,
    CommitDiff,
    CommitList,
    Compare,
    FileText,
    Project,
    ProjectList,
    Tree,
    TreeEntry,
)
from connectors.gitlab.scope import ProjectInfo, visibility_of
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.upstream import Target

if TYPE_CHECKING:
    from gitlab import Gitlab


def commit_of(raw: dict[str, Any]) -> Commit:
    return Commit(
        sha=str(raw.get("id", "")),
        title=str(raw.get("title") or raw.get("message", "")).strip(),
        author=raw.get("author_name"),
        date=raw.get("authored_date") or raw.get("created_at"),
    )


class RepoTools(GitlabBase):
    @tool(toolset="repos", description="Search projects this token can see, by name or path.")
    async def search_projects(
        self,
        query: Annotated[str, Field(min_length=1, max_length=200)],
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[ProjectList]:
        from connectors.gitlab.client import get_page

        # keyset pagination, as GitLab recommends for /projects (offset pagination is refused past 50,000 rows)
        params = {"search": query, "simple": "true", "per_page": limit, "pagination": "keyset", "order_by": "id"}
        params.update(page_query(cursor))
        (items, more), target = await self.sent(lambda gl: get_page(gl, "/projects", params))
        found = [
            ProjectInfo(int(p["id"]), str(p.get("path_with_namespace", "")), visibility_of(p.get("visibility")), None)
            for p in items
        ]
        for known in found:  # GitLab's own id <-> path answers: later requests by id can be judged
            if self.directory.get(str(known.id)) is None:
                self.directory.learn(known)
        projects = [
            Project(
                id=raw_info.id,
                path=raw_info.path,
                visibility=raw_info.visibility,
                default_branch=p.get("default_branch"),
                description=(p.get("description") or "")[:200] or None,
            )
            for raw_info, p in zip(found, items, strict=True)
            if self.allow.info_ok(raw_info)
        ]
        worst = (
            "private"
            if any(p.visibility == "private" for p in projects)
            else ("internal" if any(p.visibility == "internal" for p in projects) else "public")
        )
        prov = self.provenance(target, visibility=worst)  # type: ignore[arg-type]
        return self.out(ProjectList(projects=projects, next_cursor=next_cursor(more)), prov)

    async def read_file(self, info: ProjectInfo, path: str, ref: str | None) -> tuple[FileText, Target]:
        from connectors.gitlab.client import get_json

        path = path.strip("/")
        if not path:
            raise InvalidInput("path is empty: pass a file path such as 'src/main.py' (list_directory shows them)")
        segment = one_segment(path, what="path")
        ref = ref_value(ref or info.default_branch or "HEAD")
        raw, target = await self.sent(
            lambda gl: get_json(gl, f"/projects/{info.id}/repository/files/{segment}", {"ref": ref}),
            what=f"file {path} at {ref}",
        )
        try:
            data = base64.b64decode(raw.get("content") or "")
        except (binascii.Error, ValueError):
            data = b""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = f"[binary file, {len(data)} bytes]"
        limit = self.settings.max_file_chars
        size = int(raw.get("size", len(data)))
        return FileText(path=path, ref=ref, size=size, text=text[:limit], truncated=len(text) > limit), target

    @tool(toolset="repos", description="Read a file's text at a ref.")
    async def get_file(self, project: ProjectArg, path: FilePath, ref: RefArg = "") -> ToolOutput[FileText]:
        info = await self.project(project)
        result, target = await self.read_file(info, path, ref)
        return self.out(result, self.provenance(target))

    @resource(
        "gitlab://{project}/files/{+path}{?ref}",
        description="A file at a ref; project is URL-encoded (group%2Fname) or an id.",
        toolset="repos",
    )
    async def file_contents(self, project: str, path: str, ref: str | None = None) -> ResourceOutput:
        info = await self.project(project)
        result, target = await self.read_file(info, path, ref)
        return ResourceOutput(result.text, self.provenance(target))

    @tool(toolset="repos", description="List a directory of the repository at a ref.")
    async def list_directory(
        self,
        project: ProjectArg,
        path: FilePath = "",
        ref: RefArg = "",
        limit: Limit = 100,
        cursor: Cursor = "",
    ) -> ToolOutput[Tree]:
        from connectors.gitlab.client import get_page

        path = plain_path(path)
        info = await self.project(project)
        ref = ref_value(ref or info.default_branch or "HEAD")
        params: dict[str, Any] = {"path": path, "ref": ref, "per_page": limit, **page_query(cursor)}
        (items, more), target = await self.sent(
            lambda gl: get_page(gl, f"/projects/{info.id}/repository/tree", params), what=f"directory {path!r} at {ref}"
        )
        entries = [TreeEntry(name=str(e.get("name")), type=str(e.get("type"))) for e in items]
        tree = Tree(path=path, ref=ref, entries=entries, next_cursor=next_cursor(more))
        return self.out(tree, self.provenance(target))

    @tool(toolset="repos", description="List branches, optionally filtered by a name substring.")
    async def list_branches(
        self,
        project: ProjectArg,
        search: Annotated[str, Field(max_length=200)] = "",
        limit: Limit = 50,
        cursor: Cursor = "",
    ) -> ToolOutput[BranchList]:
        from connectors.gitlab.client import get_page

        info = await self.project(project)
        params: dict[str, Any] = {"per_page": limit, **page_query(cursor)}
        if search:
            params["search"] = search
        (items, more), target = await self.sent(
            lambda gl: get_page(gl, f"/projects/{info.id}/repository/branches", params)
        )
        branches = [
            Branch(
                name=str(b.get("name")),
                sha=str((b.get("commit") or {}).get("id", "")),
                protected=bool(b.get("protected")),
                default=bool(b.get("default")),
            )
            for b in items
        ]
        return self.out(BranchList(branches=branches, next_cursor=next_cursor(more)), self.provenance(target))

    @tool(toolset="repos", description="List commits of a ref, newest first; optionally only those touching path.")
    async def list_commits(
        self,
        project: ProjectArg,
        ref: RefArg = "",
        path: FilePath = "",
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[CommitList]:
        from connectors.gitlab.client import get_page

        path = plain_path(path)
        info = await self.project(project)
        params: dict[str, Any] = {"per_page": limit, **page_query(cursor)}
        if ref:
            params["ref_name"] = ref_value(ref)
        if path:
            params["path"] = path
        (items, more), target = await self.sent(
            lambda gl: get_page(gl, f"/projects/{info.id}/repository/commits", params), what=f"ref {ref!r}"
        )
        commits = CommitList(commits=[commit_of(c) for c in items], next_cursor=next_cursor(more))
        return self.out(commits, self.provenance(target))

    @tool(toolset="repos", description="One commit with its diff, paged by file within max_tokens.")
    async def get_commit(
        self,
        project: ProjectArg,
        sha: Ref,
        max_tokens: MaxTokens = 8000,
        cursor: Cursor = "",
    ) -> ToolOutput[CommitDiff]:
        from connectors.gitlab.client import get_json, get_page

        segment = one_segment(ref_value(sha, what="sha"), what="sha")
        info = await self.project(project)
        state = decode_cursor(cursor)
        page, index = int(state.get("p", 1)), int(state.get("i", 0))
        base = f"/projects/{info.id}/repository/commits/{segment}"

        def fetch(gl: Gitlab) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str] | None]:
            return get_json(gl, base), *get_page(gl, f"{base}/diff", {"page": page, "per_page": 30})

        (raw, diffs, more), target = await self.sent(fetch, what=f"commit {sha}")
        files, next_index = within_budget([file_diff(d) for d in diffs], index, max_tokens)
        cursor_out = _diff_cursor(page, next_index, more is not None)
        result = CommitDiff(
            commit=commit_of(raw),
            message=str(raw.get("message", "")),
            parents=[str(p) for p in raw.get("parent_ids") or []],
            files=files,
            next_cursor=cursor_out,
        )
        return self.out(result, self.provenance(target))

    @tool(
        toolset="repos", description="Commits and diff between two refs (base...head), paged by file within max_tokens."
    )
    async def compare_refs(
        self,
        project: ProjectArg,
        base: Ref,
        head: Ref,
        max_tokens: MaxTokens = 8000,
        cursor: Cursor = "",
    ) -> ToolOutput[Compare]:
        from connectors.gitlab.client import get_json

        refs = {"from": ref_value(base, what="base"), "to": ref_value(head, what="head")}
        info = await self.project(project)
        index = int(decode_cursor(cursor).get("i", 0))
        raw, target = await self.sent(
            lambda gl: get_json(gl, f"/projects/{info.id}/repository/compare", refs),
            what=f"refs {base!r}...{head!r}",
        )
        files, next_index = within_budget([file_diff(d) for d in raw.get("diffs") or []], index, max_tokens)
        result = Compare(
            commits=[commit_of(c) for c in raw.get("commits") or []] if index == 0 else [],
            files=files,
            next_cursor=encode_cursor({"i": next_index}) if next_index is not None else None,
        )
        return self.out(result, self.provenance(target))

    @tool(toolset="repos", description="Search code (blobs) in a project; needs the instance's code search.")
    async def search_code(
        self,
        project: ProjectArg,
        query: Annotated[str, Field(min_length=1, max_length=500)],
        ref: RefArg = "",
        limit: Limit = 20,
        cursor: Cursor = "",
    ) -> ToolOutput[CodeHits]:
        from connectors.gitlab.client import get_page
        from mcp_hub.errors import InvalidInput as BadInput

        info = await self.project(project)
        params: dict[str, Any] = {"scope": "blobs", "search": query, "per_page": limit, **page_query(cursor)}
        if ref:
            params["ref"] = ref_value(ref)
        try:
            (items, more), target = await self.sent(lambda gl: get_page(gl, f"/projects/{info.id}/search", params))
        except BadInput as exc:
            if "scope" in exc.message:
                raise BadInput(
                    "this GitLab instance does not offer code search (the blobs scope needs advanced or exact code "
                    "search); use list_directory and get_file instead."
                ) from None
            raise
        hits = [
            CodeHit(
                path=str(h.get("path") or h.get("filename")),
                ref=str(h.get("ref", "")),
                line=int(h.get("startline") or 0),
                text=str(h.get("data", ""))[:1000],
            )
            for h in items
        ]
        return self.out(CodeHits(hits=hits, next_cursor=next_cursor(more)), self.provenance(target))


def _diff_cursor(page: int, next_index: int | None, more_pages: bool) -> str | None:
    """Cursor of a diff listing paged upstream (page) and by budget within a page (index)."""
    if next_index is not None:
        return encode_cursor({"p": page, "i": next_index})
    if more_pages:
        return encode_cursor({"p": page + 1, "i": 0})
    return None

"""Reading repositories: contents, code search, branches, commits, comparisons."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from connectors.github.base import GithubBase, Repo, TextGate, login
from connectors.github.client import Response
from connectors.github.diffs import page_files
from connectors.github.models import (
    Branch,
    Branches,
    CodeHit,
    CodeHits,
    CommitDetail,
    Commits,
    CommitSummary,
    Comparison,
    Contents,
    DirEntry,
)
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.upstream import segments

#: Shapes checked in the input schema (a courtesy: the request guard is the wall). `owner/name` in GitHub's
#: characters (a part that is only dots is refused by `GithubBase.repo`, kept out of the pattern: every
#: tool repeats it, and each token of it costs in every session); refs are words joined by single '.' or
#: '/' (no '..', no empty or dot parts); paths have no '.'/'..' or empty parts.
REPO_PATTERN = r"^[\w.-]+/[\w.-]+$"
REF_PATTERN = r"^[\w-]+(?:[./][\w-]+)*$"
PATH_PATTERN = r"^/?(?:[^/\\?#]*[^/\\?#.][^/\\?#]*(?:/|$))*$"
RepoArg = Annotated[str, Field(description="owner/name", max_length=200, pattern=REPO_PATTERN)]
RefArg = Annotated[
    str | None,
    Field(description="Branch, tag or SHA (default branch if omitted)", max_length=250, pattern=REF_PATTERN),
]
Ref = Annotated[str, Field(min_length=1, max_length=250, pattern=REF_PATTERN)]
Cursor = Annotated[str | None, Field(max_length=500)]
Limit = Annotated[int, Field(ge=1, le=100)]
#: Patch tokens of one page (GitLab's tools take the same argument); the instance's diff_budget_tokens if omitted.
MaxTokens = Annotated[int | None, Field(ge=500, le=50_000, description="token budget of this page")]


def commit_summary(item: dict[str, Any], clean: Callable[[str], str] = str) -> CommitSummary:
    commit = item.get("commit") or {}
    author = login(item.get("author")) or (commit.get("author") or {}).get("name")
    return CommitSummary(
        sha=item["sha"],
        message=clean(str(commit.get("message", "")).split("\n", 1)[0][:200]),
        author=author,
        date=(commit.get("author") or {}).get("date"),
    )


def file_cursor(cursor: str | None) -> tuple[int, int]:
    state = decode_cursor(cursor)
    file, line = state.get("file", 0), state.get("line", 0)
    if not isinstance(file, int) or not isinstance(line, int) or file < 0 or line < 0:
        raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
    return file, line


def encode_file_cursor(position: tuple[int, int] | None) -> str | None:
    return encode_cursor({"file": position[0], "line": position[1]}) if position else None


class RepoTools(GithubBase):
    async def _contents(self, repo: Repo, path: str, ref: str | None) -> Response:
        what = f"{path or '/'} in {repo.full}" + (f" at {ref}" if ref else "")
        encoded = segments.path(path, what="path")
        return await self.client.get(f"{repo.api}/contents/{encoded}", what=what, params={"ref": ref})

    @tool(toolset="repos", description="Read a file (text) or list a directory at a ref.")
    async def get_contents(
        self,
        repo: RepoArg,
        path: Annotated[str, Field(max_length=1000, pattern=PATH_PATTERN)] = "",
        ref: RefArg = None,
    ) -> ToolOutput[Contents]:
        r = self.repo(repo)
        response = await self._contents(r, path, ref)
        body = response.body
        gate = self.gate()
        clean = gate.outsider if await self.outsider_ref(r, ref) else str
        if isinstance(body, list):
            entries = [DirEntry(name=clean(e["name"]), type=e["type"], size=e.get("size")) for e in body[:1000]]
            listing = Contents(path=path, type="dir", entries=entries, truncated=len(body) > 1000)
            return ToolOutput(listing, await self.labels(response, gate=gate))
        if not isinstance(body, dict) or body.get("type") != "file":
            raise InvalidInput(f"{path} is a {body.get('type') if isinstance(body, dict) else 'thing'}, not a file")
        link = f"github://{r.full}/contents/{body['path']}" + (f"?ref={ref}" if ref else "")
        text = _decode_text(body)
        limit = self.settings.max_file_chars
        out = Contents(path=body["path"], type="file", sha=body.get("sha"), size=body.get("size"), resource=link)
        if text is not None:
            out.text, out.truncated = clean(text[:limit]), len(text) > limit
        else:
            out.truncated = True
        return ToolOutput(out, await self.labels(response, gate=gate))

    @resource(
        "github://{owner}/{repo}/contents/{+path}{?ref}",
        description="A repository file at a ref, whole.",
        toolset="repos",
    )
    async def file_contents(self, owner: str, repo: str, path: str, ref: str | None = None) -> ResourceOutput:
        r = self.repo(f"{owner}/{repo}")
        response = await self._contents(r, path, ref)
        body = response.body
        if not isinstance(body, dict) or body.get("type") != "file":
            raise InvalidInput(f"{path} is not a file")
        gate = self.gate()
        text = _decode_text(body)
        if text is not None and await self.outsider_ref(r, ref):
            text = gate.outsider(text)
        prov = await self.labels(response, gate=gate)
        if text is not None:
            return ResourceOutput(text, prov, "text/plain")
        raw = base64.b64decode(body.get("content") or "")
        return ResourceOutput(raw, prov, "application/octet-stream")

    @tool(toolset="repos", description="Search code (GitHub code search syntax).")
    async def search_code(
        self,
        query: Annotated[str, Field(max_length=256)],
        repo: Annotated[
            str | None, Field(description="owner/name to search in", max_length=200, pattern=REPO_PATTERN)
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> ToolOutput[CodeHits]:
        q = self._scoped_query(query, repo)
        page = self.page(cursor)
        response = await self.client.get(
            "/search/code", what="code search", params={"q": q, "per_page": limit, "page": page}
        )
        body = response.body
        items = []
        for item in body.get("items", []):
            repository = item.get("repository") or {}
            self.remember(repository)
            if self.settings.allows(repository.get("full_name", "")):
                items.append(CodeHit(repo=repository.get("full_name", ""), path=item.get("path", "")))
        nxt = self.next_cursor(response, page)
        vis = await self._search_visibility(items)
        data = CodeHits(total=body.get("total_count", 0), items=items, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response, visibility=vis))

    @tool(toolset="repos", description="List branches.")
    async def list_branches(self, repo: RepoArg, limit: Limit = 30, cursor: Cursor = None) -> ToolOutput[Branches]:
        r = self.repo(repo)
        page = self.page(cursor)
        response = await self.client.get(
            f"{r.api}/branches", what=f"branches of {r.full}", params={"per_page": limit, "page": page}
        )
        branches = [
            Branch(name=b["name"], sha=b["commit"]["sha"], protected=bool(b.get("protected"))) for b in response.body
        ]
        nxt = self.next_cursor(response, page)
        data = Branches(branches=branches, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response))

    @tool(toolset="repos", description="List commits, newest first.")
    async def list_commits(
        self,
        repo: RepoArg,
        ref: RefArg = None,
        path: Annotated[str | None, Field(description="Only commits touching this path", max_length=1000)] = None,
        limit: Limit = 30,
        cursor: Cursor = None,
    ) -> ToolOutput[Commits]:
        r = self.repo(repo)
        page = self.page(cursor)
        params = {"sha": ref, "path": path, "per_page": limit, "page": page}
        response = await self.client.get(f"{r.api}/commits", what=f"commits of {r.full}", params=params)
        nxt = self.next_cursor(response, page)
        gate = self.gate()
        every = await self.outsider_ref(r, ref)
        commits = [commit_summary(c, self._clean(r, gate, c, every)) for c in response.body]
        data = Commits(commits=commits, next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response, gate=gate))

    def _clean(self, r: Repo, gate: TextGate, commit: Any, outsider: bool = False) -> Callable[[str], str]:
        """How to pass on a commit's text: as an outsider's when it is one (see `outsider_commit`)."""
        return gate.outsider if outsider or self.outsider_commit(r, commit) else str

    @tool(toolset="repos", description="One commit with its per-file patches, paged by token budget.")
    async def get_commit(
        self, repo: RepoArg, sha: Ref, max_tokens: MaxTokens = None, cursor: Cursor = None
    ) -> ToolOutput[CommitDetail]:
        r = self.repo(repo)
        start = file_cursor(cursor)
        ref = segments.path(sha, what="sha", allow_empty=False)
        response = await self.client.get(f"{r.api}/commits/{ref}", what=f"commit {sha} of {r.full}")
        body = response.body
        gate = self.gate()
        clean = self._clean(r, gate, body, await self.outsider_ref(r, sha))
        budget = max_tokens or self.settings.diff_budget_tokens
        files, nxt = page_files(body.get("files") or [], start, budget, clean)
        summary = commit_summary(body)
        data = CommitDetail(
            sha=body["sha"],
            message=clean(str((body.get("commit") or {}).get("message", ""))[:4000]),
            author=summary.author,
            date=summary.date,
            parents=[p["sha"] for p in body.get("parents") or []],
            additions=(body.get("stats") or {}).get("additions", 0),
            deletions=(body.get("stats") or {}).get("deletions", 0),
            files=files,
            next_cursor=encode_file_cursor(nxt),
            truncated=nxt is not None,
        )
        return ToolOutput(data, await self.labels(response, gate=gate))

    @tool(toolset="repos", description="Compare two refs: commits and per-file patches, paged by token budget.")
    async def compare_refs(
        self,
        repo: RepoArg,
        base: Ref,
        head: Ref,
        max_tokens: MaxTokens = None,
        cursor: Cursor = None,
    ) -> ToolOutput[Comparison]:
        r = self.repo(repo)
        start = file_cursor(cursor)
        refs = [segments.path(ref, what=name, allow_empty=False) for name, ref in (("base", base), ("head", head))]
        response = await self.client.get(
            f"{r.api}/compare/{refs[0]}...{refs[1]}", what=f"comparison {base}...{head} of {r.full}"
        )
        body = response.body
        gate = self.gate()
        every = await self.outsider_ref(r, head)
        listed = body.get("commits") or []
        patches = gate.outsider if every or any(self.outsider_commit(r, c) for c in listed) else str
        budget = max_tokens or self.settings.diff_budget_tokens
        files, nxt = page_files(body.get("files") or [], start, budget, patches)
        commits = [commit_summary(c, self._clean(r, gate, c, every)) for c in listed[-50:]] if start == (0, 0) else []
        data = Comparison(
            status=body.get("status", ""),
            ahead_by=body.get("ahead_by", 0),
            behind_by=body.get("behind_by", 0),
            commits=commits,
            files=files,
            next_cursor=encode_file_cursor(nxt),
            truncated=nxt is not None,
        )
        return ToolOutput(data, await self.labels(response, gate=gate))


def _decode_text(body: dict[str, Any]) -> str | None:
    """The file's text, or None when it is binary or GitHub sent no content (files over 1 MB)."""
    content = body.get("content")
    if content == "" and body.get("size") == 0:
        return ""
    if body.get("encoding") != "base64" or not isinstance(content, str) or not content:
        return None
    raw = base64.b64decode(content)
    if b"\0" in raw[:8000]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None

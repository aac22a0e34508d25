"""Writes on code and pull requests: reviews, replies, comment edits, PRs, merges, branches, files, commits."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from connectors.github.base import Repo
from connectors.github.diffs import commentable_lines
from connectors.github.models import Written
from connectors.github.tools_pulls import Number, PullTools
from connectors.github.tools_repos import PATH_PATTERN, REF_PATTERN, RepoArg
from mcp_hub.connector import ToolOutput, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import segments

Branch = Annotated[str, Field(min_length=1, max_length=250, pattern=REF_PATTERN)]
Message = Annotated[str, Field(min_length=1, max_length=10_000)]
#: A path in a JSON body (inline comments, tree entries): GitHub resolves it inside the repository.
Path = Annotated[str, Field(min_length=1, max_length=1000)]
#: A path that becomes part of a URL.
UrlPath = Annotated[str, Field(min_length=1, max_length=1000, pattern=PATH_PATTERN)]


class InlineComment(BaseModel):
    path: Path
    line: Annotated[int, Field(ge=1, description="Line in the diff's file (new side unless side=LEFT)")]
    side: Literal["RIGHT", "LEFT"] = "RIGHT"
    start_line: Annotated[int | None, Field(ge=1, description="First line of a multi-line comment")] = None
    body: Annotated[str, Field(min_length=1, max_length=65_000)]


class FileChange(BaseModel):
    path: Path
    content: Annotated[str | None, Field(max_length=1_000_000, description="New text; null deletes the file")]


def _comment(c: InlineComment) -> dict[str, object]:
    """A review comment as GitHub takes it; a multi-line one names its first line's side too."""
    out: dict[str, object] = c.model_dump(exclude_none=True)
    if c.start_line is not None:
        out["start_side"] = c.side
    return out


def _nearest(lines: set[int], line: int) -> list[int]:
    return sorted(sorted(sorted(lines), key=lambda n: abs(n - line))[:3])


class WriteTools(PullTools):
    @tool(
        toolset="pull_requests",
        description="Submit a review, with inline comments on diff lines (checked against the diff first).",
        read_only=False,
    )
    async def create_pull_request_review(
        self,
        repo: RepoArg,
        number: Number,
        event: Literal["COMMENT", "APPROVE", "REQUEST_CHANGES"] = "COMMENT",
        body: Annotated[str, Field(max_length=65_000)] = "",
        comments: Annotated[list[InlineComment], Field(max_length=100)] = [],  # noqa: B006 - pydantic copies
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        if event != "APPROVE" and not body and not comments:
            raise InvalidInput("a COMMENT or REQUEST_CHANGES review needs a body or inline comments")
        pull = await self._pull(r, number)
        if comments:
            await self._check_lines(r, number, comments)
        payload: dict[str, object] = {"event": event, "commit_id": (pull.get("head") or {}).get("sha")}
        if body:
            payload["body"] = body
        if comments:
            payload["comments"] = [_comment(c) for c in comments]
        created = await self.client.request(
            "POST", f"{r.api}/pulls/{number}/reviews", what=f"review of {r.full}#{number}", body=payload
        )
        out = Written(id=created.body["id"], number=number, state=created.body.get("state"))
        return ToolOutput(out, await self.labels(created))

    async def _check_lines(self, r: Repo, number: int, comments: list[InlineComment]) -> None:
        lines = {f.get("filename"): commentable_lines(f.get("patch")) for f in (await self._files(r, number))[0]}
        problems = []
        for i, c in enumerate(comments):
            valid = lines.get(c.path)
            if valid is None:
                problems.append(f"comments[{i}]: {c.path} is not changed by this pull request")
                continue
            if c.start_line is not None and c.start_line > c.line:
                problems.append(f"comments[{i}]: start_line {c.start_line} is after line {c.line}")
            for line in (c.line, c.start_line):
                if line is not None and line not in valid[c.side]:
                    near = _nearest(valid[c.side], line)
                    problems.append(
                        f"comments[{i}]: line {line} ({c.side}) of {c.path} is not in the diff; nearest: {near}"
                    )
        if problems:
            raise InvalidInput(
                "inline comments must target lines shown in the diff (list_pull_request_files): " + "; ".join(problems)
            )

    @tool(toolset="pull_requests", description="Reply to an inline review comment.", read_only=False)
    async def reply_to_review_comment(
        self,
        repo: RepoArg,
        number: Number,
        comment_id: Annotated[int, Field(ge=1)],
        body: Annotated[str, Field(min_length=1, max_length=65_000)],
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        created = await self.client.request(
            "POST",
            f"{r.api}/pulls/{number}/comments/{comment_id}/replies",
            what=f"review comment {comment_id} of {r.full}#{number}",
            body={"body": body},
        )
        out = Written(id=created.body["id"], number=number)
        return ToolOutput(out, await self.labels(created))

    @tool(
        toolset="pull_requests",
        description="Replace a comment's text: kind=issue for a conversation comment, review for an inline one.",
        read_only=False,
    )
    async def update_comment(
        self,
        repo: RepoArg,
        comment_id: Annotated[int, Field(ge=1)],
        kind: Literal["issue", "review"],
        body: Annotated[str, Field(min_length=1, max_length=65_000)],
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        area = "issues" if kind == "issue" else "pulls"
        updated = await self.client.request(
            "PATCH",
            f"{r.api}/{area}/comments/{comment_id}",
            what=f"{'comment' if kind == 'issue' else 'review comment'} {comment_id} of {r.full}",
            body={"body": body},
        )
        out = Written(id=updated.body["id"], html_url=updated.body.get("html_url"))
        return ToolOutput(out, await self.labels(updated))

    @tool(toolset="pull_requests", description="Open a pull request.", read_only=False)
    async def create_pull_request(
        self,
        repo: RepoArg,
        title: Annotated[str, Field(min_length=1, max_length=256)],
        head: Annotated[str, Field(description="Branch (or owner:branch) with the changes", max_length=250)],
        base: Branch,
        body: Annotated[str, Field(max_length=65_000)] = "",
        draft: bool = False,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        created = await self.client.request(
            "POST", f"{r.api}/pulls", what=f"new pull request in {r.full}", body=payload
        )
        out = Written(number=created.body["number"], state="open", html_url=created.body.get("html_url"))
        return ToolOutput(out, await self.labels(created))

    @tool(toolset="pull_requests", description="Merge a pull request.", read_only=False, destructive=True)
    async def merge_pull_request(
        self,
        repo: RepoArg,
        number: Number,
        method: Literal["merge", "squash", "rebase"] = "merge",
        sha: Annotated[str | None, Field(description="Merge only if the head is still this SHA", max_length=64)] = None,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        payload = {"merge_method": method} | ({"sha": sha} if sha else {})
        merged = await self.client.request(
            "PUT", f"{r.api}/pulls/{number}/merge", what=f"merge of {r.full}#{number}", body=payload
        )
        out = Written(number=number, sha=merged.body.get("sha"), state="merged")
        return ToolOutput(out, await self.labels(merged))

    # -- code changes ---------------------------------------------------------------------------

    async def _ref_sha(self, r: Repo, branch: str) -> str:
        encoded = segments.path(branch, what="branch", allow_empty=False)
        response = await self.client.get(f"{r.api}/git/ref/heads/{encoded}", what=f"branch {branch} of {r.full}")
        sha: str = response.body["object"]["sha"]
        return sha

    async def _default_branch(self, r: Repo) -> str:
        response = await self.client.get(r.api, what=f"repository {r.full}")
        self.remember(response.body)
        branch: str = response.body["default_branch"]
        return branch

    @tool(
        toolset="repos", description="Create a branch from another branch (default branch if omitted).", read_only=False
    )
    async def create_branch(
        self,
        repo: RepoArg,
        branch: Branch,
        from_branch: Annotated[str | None, Field(max_length=250, pattern=REF_PATTERN)] = None,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        sha = await self._ref_sha(r, from_branch or await self._default_branch(r))
        created = await self.client.request(
            "POST",
            f"{r.api}/git/refs",
            what=f"branch {branch} of {r.full}",
            body={"ref": f"refs/heads/{branch}", "sha": sha},
        )
        return ToolOutput(Written(ref=branch, sha=sha), await self.labels(created))

    @tool(
        toolset="repos",
        description="Create or update one file on a branch (give sha, the blob SHA, to update).",
        read_only=False,
    )
    async def put_file(
        self,
        repo: RepoArg,
        path: UrlPath,
        content: Annotated[str, Field(max_length=1_000_000)],
        message: Message,
        branch: Branch,
        sha: Annotated[str | None, Field(max_length=64)] = None,
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        payload = {
            "message": message,
            "content": base64.b64encode(content.encode()).decode(),
            "branch": branch,
        } | ({"sha": sha} if sha else {})
        try:
            written = await self.client.request(
                "PUT",
                f"{r.api}/contents/{segments.path(path, what='path', allow_empty=False)}",
                what=f"{path} on {branch} of {r.full}",
                body=payload,
            )
        except InvalidInput as exc:
            if "(409:" in str(exc) or '"sha"' in str(exc):  # stale sha, or none for an existing file
                raise InvalidInput(
                    f"{exc} To update an existing file pass sha: its current blob SHA (get_contents returns it)."
                ) from None
            raise
        out = Written(sha=written.body["commit"]["sha"], ref=branch)
        return ToolOutput(out, await self.labels(written))

    @tool(
        toolset="repos",
        description="Commit several file changes to a branch as one commit.",
        read_only=False,
    )
    async def commit_files(
        self,
        repo: RepoArg,
        branch: Branch,
        message: Message,
        files: Annotated[list[FileChange], Field(min_length=1, max_length=100)],
    ) -> ToolOutput[Written]:
        r = self.repo(repo)
        what = f"commit on {branch} of {r.full}"
        parent = await self._ref_sha(r, branch)
        parent_commit = f"{r.api}/git/commits/{segments.segment(parent, what='sha')}"
        base_tree = (await self.client.get(parent_commit, what=what)).body["tree"]["sha"]
        tree = []
        for change in files:
            entry: dict[str, object] = {"path": change.path.strip("/"), "mode": "100644", "type": "blob"}
            if change.content is None:
                entry["sha"] = None
            else:
                blob = await self.client.request(
                    "POST", f"{r.api}/git/blobs", what=what, body={"content": change.content, "encoding": "utf-8"}
                )
                entry["sha"] = blob.body["sha"]
            tree.append(entry)
        new_tree = await self.client.request(
            "POST", f"{r.api}/git/trees", what=what, body={"base_tree": base_tree, "tree": tree}
        )
        commit = await self.client.request(
            "POST",
            f"{r.api}/git/commits",
            what=what,
            body={"message": message, "tree": new_tree.body["sha"], "parents": [parent]},
        )
        sha = commit.body["sha"]
        heads = segments.path(branch, what="branch", allow_empty=False)
        moved = await self.client.request(
            "PATCH", f"{r.api}/git/refs/heads/{heads}", what=what, body={"sha": sha, "force": False}
        )
        return ToolOutput(Written(sha=sha, ref=branch), await self.labels(moved, commit))

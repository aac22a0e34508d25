"""Pull requests: list, read (metadata, checks, files paged by token budget, reviews), diff resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from connectors.github.base import GithubBase, Repo, TextGate, login, names
from connectors.github.client import Response
from connectors.github.diffs import page_files
from connectors.github.models import (
    Checks,
    PullDetail,
    PullFiles,
    Pulls,
    PullSummary,
    Review,
    ReviewComment,
    Reviews,
)
from connectors.github.tools_repos import Cursor, Limit, MaxTokens, RepoArg, encode_file_cursor, file_cursor
from mcp_hub.connector import ResourceOutput, ToolOutput, resource, tool
from mcp_hub.errors import InvalidInput
from mcp_hub.upstream import segments

Number = Annotated[int, Field(ge=1)]
#: GitHub lists at most 3,000 files of a pull request, 100 per page.
MAX_FILE_PAGES = 30


def pull_summary(item: dict[str, Any], gate: TextGate) -> PullSummary:
    return PullSummary(
        number=item["number"],
        title=gate.text(item.get("title", ""), item.get("author_association")) or "",
        state="merged" if item.get("merged_at") else item.get("state", ""),
        draft=bool(item.get("draft")),
        author=login(item.get("user")),
        head=(item.get("head") or {}).get("label") or (item.get("head") or {}).get("ref", ""),
        base=(item.get("base") or {}).get("ref", ""),
        updated_at=item.get("updated_at"),
        labels=names(item.get("labels")),
    )


class PullTools(GithubBase):
    async def _pull(self, r: Repo, number: int) -> dict[str, Any]:
        return await self.pull_json(r, number)

    async def _files(self, r: Repo, number: int) -> tuple[list[dict[str, Any]], list[Response]]:
        """Every changed file (up to GitHub's 3,000), 100 per request, and the responses they came in."""
        files: list[dict[str, Any]] = []
        responses: list[Response] = []
        for page in range(1, MAX_FILE_PAGES + 1):
            response = await self.client.get(
                f"{r.api}/pulls/{number}/files",
                what=f"files of pull request {r.full}#{number}",
                params={"per_page": 100, "page": page},
            )
            responses.append(response)
            files.extend(response.body)
            if not response.has_next:
                break
        return files, responses

    @tool(toolset="pull_requests", description="List pull requests.")
    async def list_pull_requests(
        self,
        repo: RepoArg,
        state: Literal["open", "closed", "all"] = "open",
        base: Annotated[str | None, Field(description="Base branch", max_length=250)] = None,
        head: Annotated[str | None, Field(description="owner:branch", max_length=250)] = None,
        sort: Literal["created", "updated", "popularity", "long-running"] = "created",
        limit: Limit = 30,
        cursor: Cursor = None,
    ) -> ToolOutput[Pulls]:
        r = self.repo(repo)
        page = self.page(cursor)
        params = {"state": state, "base": base, "head": head, "sort": sort, "direction": "desc"}
        response = await self.client.get(
            f"{r.api}/pulls", what=f"pull requests of {r.full}", params=params | {"per_page": limit, "page": page}
        )
        for item in response.body[:1]:
            self.remember((item.get("base") or {}).get("repo"))
        for item in response.body:
            self.note_pull(r, item)
        gate = self.gate()
        nxt = self.next_cursor(response, page)
        data = Pulls(pulls=[pull_summary(p, gate) for p in response.body], next_cursor=nxt, truncated=nxt is not None)
        return ToolOutput(data, await self.labels(response, gate=gate))

    @tool(
        toolset="pull_requests",
        description="Get a pull request: metadata, stats, head/base, mergeability, checks summary.",
    )
    async def get_pull_request(self, repo: RepoArg, number: Number) -> ToolOutput[PullDetail]:
        r = self.repo(repo)
        pulled = await self.pull_response(r, number)
        pull = pulled.body
        head_sha = (pull.get("head") or {}).get("sha", "")
        checks = await self._checks(r, head_sha) if head_sha else None
        gate = self.gate()
        summary = pull_summary(pull, gate)
        data = PullDetail(
            number=number,
            title=summary.title,
            state=summary.state,
            draft=summary.draft,
            merged=bool(pull.get("merged")),
            mergeable=pull.get("mergeable"),
            mergeable_state=pull.get("mergeable_state"),
            author=summary.author,
            body=gate.text(pull.get("body"), pull.get("author_association")),
            head=summary.head,
            head_sha=head_sha,
            base=summary.base,
            labels=summary.labels,
            requested_reviewers=names(pull.get("requested_reviewers"), "login"),
            commits=pull.get("commits", 0),
            additions=pull.get("additions", 0),
            deletions=pull.get("deletions", 0),
            changed_files=pull.get("changed_files", 0),
            comments=pull.get("comments", 0),
            review_comments=pull.get("review_comments", 0),
            checks=checks,
        )
        return ToolOutput(data, await self.labels(pulled, gate=gate))

    async def _checks(self, r: Repo, sha: str) -> Checks:
        response = await self.client.get(
            f"{r.api}/commits/{segments.segment(sha, what='sha')}/check-runs",
            what=f"checks of {sha}",
            params={"per_page": 100},
        )
        runs = response.body.get("check_runs", [])
        failed = [c for c in runs if c.get("conclusion") in ("failure", "timed_out", "cancelled", "action_required")]
        pending = [c for c in runs if c.get("status") != "completed"]
        return Checks(
            total=response.body.get("total_count", len(runs)),
            passed=sum(1 for c in runs if c.get("conclusion") in ("success", "neutral", "skipped")),
            failed=len(failed),
            pending=len(pending),
            failed_names=[str(c.get("name")) for c in failed][:20],
        )

    @tool(
        toolset="pull_requests",
        description="Changed files of a pull request with patches, paged under a token budget.",
    )
    async def list_pull_request_files(
        self,
        repo: RepoArg,
        number: Number,
        max_tokens: MaxTokens = None,
        cursor: Cursor = None,
    ) -> ToolOutput[PullFiles]:
        r = self.repo(repo)
        start = file_cursor(cursor)
        pulled = await self.pull_response(r, number)
        pull = pulled.body
        files, responses = await self._files(r, number)
        if start[0] > len(files):
            raise InvalidInput("cursor is past the last file; start again without a cursor")
        gate = self.gate()
        outsider = gate.is_outsider(pull.get("author_association"))
        budget = max_tokens or self.settings.diff_budget_tokens
        page, nxt = page_files(files, start, budget, gate.outsider if outsider else (lambda t: t))
        data = PullFiles(
            total_files=len(files), files=page, next_cursor=encode_file_cursor(nxt), truncated=nxt is not None
        )
        return ToolOutput(data, await self.labels(responses[0], pulled, *responses[1:], gate=gate))

    @tool(toolset="pull_requests", description="Reviews and inline review comments of a pull request (paged).")
    async def list_pull_request_reviews(
        self, repo: RepoArg, number: Number, limit: Limit = 50, cursor: Cursor = None
    ) -> ToolOutput[Reviews]:
        r = self.repo(repo)
        page = self.page(cursor)
        what = f"reviews of pull request {r.full}#{number}"
        params = {"per_page": limit, "page": page}
        reviews = await self.client.get(f"{r.api}/pulls/{number}/reviews", what=what, params=params)
        comments = await self.client.get(f"{r.api}/pulls/{number}/comments", what=what, params=params)
        gate = await self.conversation_gate()
        data = Reviews(
            reviews=[
                Review(
                    id=v["id"],
                    author=login(v.get("user")),
                    state=v.get("state", ""),
                    body=gate.text(v.get("body") or None, v.get("author_association"), login(v.get("user"))),
                    submitted_at=v.get("submitted_at"),
                )
                for v in reviews.body
            ],
            comments=[
                ReviewComment(
                    id=c["id"],
                    author=login(c.get("user")),
                    path=c.get("path", ""),
                    line=c.get("line"),
                    side=c.get("side"),
                    body=gate.text(c.get("body"), c.get("author_association"), login(c.get("user"))),
                    in_reply_to=c.get("in_reply_to_id"),
                )
                for c in comments.body
            ],
        )
        more = reviews.has_next or comments.has_next
        data.next_cursor = self.next_cursor(reviews if reviews.has_next else comments, page) if more else None
        data.truncated = more
        return ToolOutput(data, await self.labels(reviews, comments, gate=gate))

    @resource(
        "github://{owner}/{repo}/pull/{number}/diff{?page}",
        description="A pull request's unified diff, one page of lines (page from 1).",
        toolset="pull_requests",
        mime_type="text/x-diff",
    )
    async def pull_diff(self, owner: str, repo: str, number: str, page: str = "1") -> ResourceOutput:
        r = self.repo(f"{owner}/{repo}")
        if not number.isdigit() or not page.isdigit() or int(page) < 1:
            raise InvalidInput("number and page must be positive integers")
        pull = await self._pull(r, int(number))
        diff = await self.client.get(
            f"{r.api}/pulls/{number}",
            what=f"diff of pull request {r.full}#{number}",
            accept="application/vnd.github.diff",
        )
        lines = str(diff.body or "").split("\n")
        size = self.settings.diff_page_lines
        pages = max(1, -(-len(lines) // size))
        index = int(page)
        if index > pages:
            raise InvalidInput(f"page {index} does not exist; this diff has {pages} page(s)")
        text = "\n".join(lines[(index - 1) * size : index * size])
        gate = self.gate()
        if gate.is_outsider(pull.get("author_association")):
            text = gate.outsider(text)
        header = f"# page {index} of {pages}\n"
        prov = await self.labels(diff, gate=gate)
        return ResourceOutput(header + text, prov, "text/x-diff")

"""Issues, labels and label writes through the hub's tools, for GitHub and GitLab.

GitHub: `github_list_issues` (pages), `github_get_issue`, `github_list_labels`, writes `github_add_labels`.
GitLab: `gitlab_list_issues` (pages), `gitlab_get_issue`, `gitlab_list_labels`, writes
`gitlab_update_issue(add_labels=…)`. Both add labels without removing any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.review.hubcalls import HubCalls
from model.triage.repo import RepoRef

#: Pages read at most when listing (open issues, labels).
MAX_PAGES = 10


@dataclass
class IssueText:
    number: int
    title: str
    labels: list[str] = field(default_factory=list)
    author: str = ""
    body: str = ""
    #: Whether the forge marked any of this text as written by an outsider.
    outsider: bool = False


class IssueForge:
    """One repository's issues through the hub (the calls' provenance feeds the hub's flow guard)."""

    def __init__(self, repo: RepoRef, hub: HubCalls) -> None:
        self.repo = repo
        self.hub = hub
        github = repo.forge == "github"
        self._where: dict[str, Any] = {"repo": repo.path} if github else {"project": repo.path}
        self._number = "number" if github else "iid"
        self.label_tool = "github_add_labels" if github else "gitlab_update_issue"

    @property
    def prefix(self) -> str:
        return self.repo.forge

    async def _pages(self, tool: str, args: dict[str, Any], key: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page_args = dict(args) | ({"cursor": cursor} if cursor else {})
            page = await self.hub.call(tool, page_args)
            items += [x for x in page.data.get(key, []) if isinstance(x, dict)]
            cursor = page.data.get("next_cursor")
            if not cursor or len(items) >= limit:
                break
        return items[:limit]

    async def labels(self) -> list[str]:
        args = dict(self._where) | ({"limit": 100} if self.repo.forge == "github" else {})
        found = await self._pages(f"{self.prefix}_list_labels", args, "labels", 1000)
        return [str(x["name"]) for x in found if x.get("name")]

    async def open_issues(self, limit: int = 300) -> list[IssueText]:
        args = dict(self._where) | {"state": "open"} | ({"limit": 100} if self.repo.forge == "github" else {})
        found = await self._pages(f"{self.prefix}_list_issues", args, "issues", limit)
        return [
            IssueText(int(x[self._number]), str(x.get("title") or ""), [str(n) for n in x.get("labels") or []])
            for x in found
            if not x.get("is_pull")
        ]

    async def issue(self, number: int) -> IssueText:
        args = dict(self._where) | {self._number: number}
        if self.repo.forge == "github":
            args["limit"] = 1
        got = await self.hub.call(f"{self.prefix}_get_issue", args)
        d = got.data
        body = d.get("body") if self.repo.forge == "github" else d.get("description")
        return IssueText(
            number=number,
            title=str(d.get("title") or ""),
            labels=[str(n) for n in d.get("labels") or []],
            author=str(d.get("author") or ""),
            body=str(body or ""),
            outsider=bool(got.provenance.get("outsider_text")),
        )

    def label_call(self, number: int, labels: list[str]) -> tuple[str, dict[str, Any]]:
        if self.repo.forge == "github":
            return self.label_tool, dict(self._where) | {"number": number, "labels": labels}
        return self.label_tool, dict(self._where) | {"iid": number, "add_labels": labels}

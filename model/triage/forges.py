"""Issues, labels and label writes through the hub's tools, for GitHub and GitLab.

Both forges: `{forge}_list_issues` (pages of `limit`), `{forge}_get_issue`, `{forge}_list_labels`, with
the repository and issue arguments from `model.vocab`. Label writes differ by design: GitHub
`github_add_labels`, GitLab `gitlab_update_issue(add_labels=…)`; both add labels without removing any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model import vocab
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
        self._where = vocab.where(repo.forge, repo.path)
        self._number = vocab.NUMBER_ARG[repo.forge]
        self.label_tool = "github_add_labels" if repo.forge == "github" else "gitlab_update_issue"

    @property
    def prefix(self) -> str:
        return self.repo.forge

    async def _pages(self, tool: str, args: dict[str, Any], key: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async for page in self.hub.pages(tool, args, MAX_PAGES):
            items += [x for x in page.data.get(key, []) if isinstance(x, dict)]
            if len(items) >= limit:
                break
        return items[:limit]

    async def labels(self) -> list[str]:
        found = await self._pages(f"{self.prefix}_list_labels", self._where | {"limit": 100}, "labels", 1000)
        return [str(x["name"]) for x in found if x.get("name")]

    async def open_issues(self, limit: int = 300) -> list[IssueText]:
        args = self._where | {"state": "open", "limit": 100}
        found = await self._pages(f"{self.prefix}_list_issues", args, "issues", limit)
        return [
            IssueText(int(x[self._number]), str(x.get("title") or ""), [str(n) for n in x.get("labels") or []])
            for x in found
            if not x.get("is_pull")
        ]

    async def issue(self, number: int) -> IssueText:
        # limit=1: the issue's own text is what triage reads, not its comments
        got = await self.hub.call(f"{self.prefix}_get_issue", self._where | {self._number: number, "limit": 1})
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
        """GitHub has a tool that adds labels; GitLab adds them through its issue update (`add_labels`)."""
        key = "labels" if self.repo.forge == "github" else "add_labels"
        return self.label_tool, self._where | {self._number: number, key: labels}

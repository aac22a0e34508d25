"""Each forge through the hub's tools: read the change, read the bot's earlier comments, post a review.

Both forges, with names and arguments from `model.vocab`: `{forge}_get_{change}`,
`{forge}_list_{change}_files` (pages of `max_tokens`), `{forge}_get_authenticated_user`, and posting
with `{forge}_create_{change}_review`. What differs is what the forges differ in:
GitHub reads settings with `github_get_contents`, earlier markers from `github_list_pull_request_reviews`
and the conversation (`github_get_issue`), puts the summary in its own conversation comment
(`github_add_issue_comment`), and retires findings by editing the bot's comment (`github_update_comment`)
and resolving its thread (`github_resolve_review_thread`).
GitLab reads settings with `gitlab_get_file`, earlier markers from `gitlab_list_merge_request_discussions`,
and retires by editing the bot's comment (`gitlab_update_merge_request_comment`) and resolving its
discussion (`gitlab_resolve_merge_request_discussion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from model import vocab
from model.review.diff import FileDiff
from model.review.hubcalls import HubCalls, HubResult, ReviewError
from model.review.render import finding_head, markers_in, open_in, reviewed_head_in
from model.review.report import Change
from model.review.target import Target

#: Patch tokens per page when reading the change (the tools' upper bounds).
READ_PAGE_TOKENS = 50_000
MAX_PAGES = 200


@dataclass
class Earlier:
    """What the bot posted before on this change, from its hidden markers."""

    #: fingerprint -> thread id (GitHub: the comment id; GitLab: the discussion id)
    findings: dict[str, str] = field(default_factory=dict)
    #: fingerprint -> (id, body) of the comment/note carrying its marker (edited when it is retired)
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)
    outdated: set[str] = field(default_factory=set)
    summary: bool = False
    #: id of the conversation comment/note carrying the summary marker (edited in place on re-runs)
    summary_note: str | None = None
    #: the body of that comment/note as the forge returns it (a re-run re-renders it when it differs)
    summary_body: str = ""
    #: the login the hub posts as: only its comments' markers are the bot's
    own_login: str = ""
    #: id and body of the bot's description comment (`mcp-hub review --describe`), edited in place
    describe_note: str | None = None
    describe_body: str = ""
    #: the head the last counted review covered (the summary's head marker); '' when none
    reviewed_head: str = ""
    #: fingerprint -> (severity, category, path) of the bot's finding comments (what an incremental run
    #: carries over for the gate)
    details: dict[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass
class InlineNote:
    path: str
    #: The line the comment sits on (the last of a range).
    line: int
    body: str
    #: The first line of a multi-line comment (None: one line).
    start_line: int | None = None


class Forge(Protocol):
    target: Target
    hub: HubCalls
    review_tool: str
    retire_tools: tuple[str, ...]
    summary_tools: tuple[str, ...]
    #: True: the summary is always its own conversation comment (GitHub, whose review bodies cannot be
    #: edited through the hub); False: the first review's body carries it (GitLab publishes it as a note).
    summary_separate: bool
    #: The tools of `note_calls` (a conversation comment of the bot's own, added or edited).
    note_tools: tuple[str, ...]

    async def fetch(self) -> Change: ...

    async def settings_text(self, path: str, ref: str) -> str | None: ...

    async def earlier(self) -> Earlier: ...

    async def increment(self, since: str, head: str) -> list[FileDiff] | str:
        """The files changed from `since` to `head`, or why there is no increment (`since` is not an
        ancestor of `head`: a force-push or a rebase; or it cannot be read)."""
        ...

    def review_arguments(self, summary: str, notes: list[InlineNote]) -> dict[str, Any]: ...

    def suggestion_fence(self, start: int, end: int) -> str:
        """The opening of a suggestion block replacing lines start..end, for a comment on line `end`."""
        ...

    def retire_calls(self, thread: str, note: str, body: str) -> list[tuple[str, dict[str, Any]]]: ...

    def summary_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]: ...

    def note_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]:
        """Add a conversation comment, or edit the bot's own `existing` one."""
        ...


def _scan_markers(earlier: Earlier, item: dict[str, Any], thread: str, note: str, *, editable: bool = True) -> None:
    """Record the bot's markers in one of its comments; `editable` says whether the hub can edit it.

    Only the bot's own comments count: anyone can write a marker into a comment, and a forged
    finding marker would otherwise suppress that finding, or a forged summary marker hijack the summary.
    """
    if not earlier.own_login or item.get("author") != earlier.own_login:
        return
    body = str(item.get("body") or "")
    for kind, fp in markers_in(body):
        if kind == "finding" and fp:
            earlier.findings.setdefault(fp, thread)
            earlier.notes.setdefault(fp, (note, body))
            head = finding_head(body)
            if head is not None and fp not in earlier.details:
                earlier.details[fp] = (*head, str(item.get("path") or ""))
        elif kind == "outdated" and fp:
            earlier.outdated.add(fp)
        elif kind == "describe":
            if editable and earlier.describe_note is None:
                earlier.describe_note, earlier.describe_body = note, body
        elif kind == "summary":
            earlier.summary = True
            if editable and earlier.summary_note is None:
                earlier.summary_note = note
                earlier.summary_body = body
                earlier.reviewed_head = reviewed_head_in(body)
                for fp, severity, category in open_in(body):  # withheld ones have no comment of their own
                    earlier.details.setdefault(fp, (severity, category, ""))


class GithubForge:
    review_tool: str = vocab.tool("github", "create_{change}_review")
    retire_tools: tuple[str, ...] = ("github_update_comment", "github_resolve_review_thread")
    summary_tools: tuple[str, ...] = ("github_add_issue_comment", "github_update_comment")
    summary_separate = True
    note_tools: tuple[str, ...] = ("github_add_issue_comment", "github_update_comment")

    def __init__(self, target: Target, hub: HubCalls) -> None:
        self.target = target
        self.hub = hub

    async def fetch(self) -> Change:
        pull, pages = await _read_change(self.hub, self.target)
        d = pull.data
        return Change(
            self.target,
            title=str(d.get("title") or ""),
            author=str(d.get("author") or ""),
            base=str(d.get("base") or ""),
            head_sha=str(d.get("head_sha") or ""),
            files=_github_files(pages),
            visibility=str(pull.provenance.get("visibility", "private")),
            body=str(d.get("body") or ""),
        )

    async def settings_text(self, path: str, ref: str) -> str | None:
        found = await self.hub.try_call("github_get_contents", {"repo": self.target.repo, "path": path, "ref": ref})
        text = found.data.get("text") if found else None
        return text if isinstance(text, str) else None

    async def increment(self, since: str, head: str) -> list[FileDiff] | str:
        where = {"repo": self.target.repo, "base": since, "head": head, "max_tokens": READ_PAGE_TOKENS}
        items: list[dict[str, Any]] = []
        try:
            async for page in self.hub.pages("github_compare_refs", where, MAX_PAGES):
                status = page.data.get("status")
                if status is not None and status not in ("ahead", "identical"):
                    return f"{since[:12]} is not an ancestor of {head[:12]} ({status}: force-push or rebase)"
                items += [item for item in page.data.get("files", []) if isinstance(item, dict)]
        except ReviewError as exc:
            return f"the commits since {since[:12]} could not be read ({exc.message[:200]})"
        return _github_files(items)

    async def earlier(self) -> Earlier:
        account = await self.hub.call("github_get_authenticated_user", {})
        earlier = Earlier(own_login=str(account.data.get("login") or ""))
        where = _where(self.target) | {"limit": 100}
        async for page in self.hub.pages("github_list_pull_request_reviews", where, MAX_PAGES):
            for review in page.data.get("reviews", []):
                review_id = str(review.get("id"))
                _scan_markers(earlier, review, review_id, review_id, editable=False)
            for comment in page.data.get("comments", []):
                # A reply's markers belong to the thread it answers.
                thread = str(comment.get("in_reply_to") or comment.get("id"))
                _scan_markers(earlier, comment, thread, str(comment.get("id")))
        async for page in self.hub.pages("github_get_issue", where, MAX_PAGES):  # the summary: in the conversation
            for comment in page.data.get("comments", []):
                _scan_markers(earlier, comment, str(comment.get("id")), str(comment.get("id")))
        return earlier

    def summary_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]:
        if existing is not None:
            args = {"repo": self.target.repo, "comment_id": int(existing), "kind": "issue", "body": body}
            return [("github_update_comment", args)]
        return [("github_add_issue_comment", _where(self.target) | {"body": body})]

    def note_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]:
        return self.summary_calls(body, existing)

    def review_arguments(self, summary: str, notes: list[InlineNote]) -> dict[str, Any]:
        return _where(self.target) | {
            "event": "COMMENT",
            "body": summary,
            "comments": [_range({"path": n.path, "line": n.line, "side": "RIGHT", "body": n.body}, n) for n in notes],
        }

    def suggestion_fence(self, start: int, end: int) -> str:
        return "```suggestion"  # on GitHub a multi-line comment's suggestion replaces its whole range

    def retire_calls(self, thread: str, note: str, body: str) -> list[tuple[str, dict[str, Any]]]:
        args = {"repo": self.target.repo, "comment_id": int(note), "kind": "review", "body": body}
        # The thread (named by its first comment) is resolved too: GraphQL resolveReviewThread.
        resolve = _where(self.target) | {"comment_id": int(thread)}
        return [("github_update_comment", args), ("github_resolve_review_thread", resolve)]


def _range(comment: dict[str, Any], note: InlineNote) -> dict[str, Any]:
    return comment | {"start_line": note.start_line} if note.start_line is not None else comment


def _where(target: Target) -> dict[str, Any]:
    """The arguments naming the change under review, in its forge's words."""
    return vocab.where(target.forge, target.repo, target.number)


async def _read_change(hub: HubCalls, target: Target) -> tuple[HubResult, list[dict[str, Any]]]:
    """The change and all its file pages: the same two tools and arguments on both forges."""
    change = await hub.call(vocab.tool(target.forge, "get_{change}"), _where(target))
    files: list[dict[str, Any]] = []
    listing = vocab.tool(target.forge, "list_{change}_files")
    async for page in hub.pages(listing, _where(target) | {"max_tokens": READ_PAGE_TOKENS}, MAX_PAGES):
        files += [item for item in page.data.get("files", []) if isinstance(item, dict)]
    return change, files


def _github_files(pages: list[dict[str, Any]]) -> list[FileDiff]:
    parts: list[dict[str, Any]] = []
    for item in pages:
        _add_part(parts, item)
    return [_file(item) for item in parts]


def _add_part(parts: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """GitHub pages split a huge file by lines (`from_line`): glue its parts back together."""
    path = str(item.get("path") or "")
    patch = item.get("patch")
    if item.get("from_line") and parts and parts[-1]["path"] == path and isinstance(patch, str):
        parts[-1]["patch"] = (parts[-1].get("patch") or "") + "\n" + patch
        return
    parts.append(dict(item))


def _file(item: dict[str, Any]) -> FileDiff:
    patch = item.get("patch")
    return FileDiff(
        path=str(item.get("path") or ""),
        status=str(item.get("status") or "modified"),
        patch=patch if isinstance(patch, str) else None,
        additions=int(item.get("additions") or 0),
        deletions=int(item.get("deletions") or 0),
        previous_path=item.get("previous_path"),
    )


class GitlabForge:
    review_tool: str = vocab.tool("gitlab", "create_{change}_review")
    retire_tools: tuple[str, ...] = (
        "gitlab_update_merge_request_comment",
        "gitlab_resolve_merge_request_discussion",
    )
    summary_tools: tuple[str, ...] = ("gitlab_update_merge_request_comment",)
    summary_separate = False
    note_tools: tuple[str, ...] = ("gitlab_add_merge_request_comment", "gitlab_update_merge_request_comment")

    def __init__(self, target: Target, hub: HubCalls) -> None:
        self.target = target
        self.hub = hub

    async def fetch(self) -> Change:
        mr, pages = await _read_change(self.hub, self.target)
        files = _gitlab_files(pages)
        d = mr.data
        return Change(
            self.target,
            title=str(d.get("title") or ""),
            author=str(d.get("author") or ""),
            base=str(d.get("target") or ""),
            head_sha=str(d.get("sha") or ""),
            files=files,
            visibility=str(mr.provenance.get("visibility", "private")),
            body=str(d.get("description") or ""),
        )

    async def settings_text(self, path: str, ref: str) -> str | None:
        found = await self.hub.try_call("gitlab_get_file", {"project": self.target.repo, "path": path, "ref": ref})
        text = found.data.get("text") if found else None
        return text if isinstance(text, str) else None

    async def increment(self, since: str, head: str) -> list[FileDiff] | str:
        """GitLab's compare runs from the merge base (`from...to`): `since` is an ancestor of `head`
        exactly when comparing the other way round (head...since) brings no commits."""
        project = self.target.repo
        try:
            back = await self.hub.call("gitlab_compare_refs", {"project": project, "base": head, "head": since,
                                                               "max_tokens": 1000})  # fmt: skip
            if back.data.get("commits"):
                return f"{since[:12]} is not an ancestor of {head[:12]} (force-push or rebase)"
            where = {"project": project, "base": since, "head": head, "max_tokens": READ_PAGE_TOKENS}
            items: list[dict[str, Any]] = []
            async for page in self.hub.pages("gitlab_compare_refs", where, MAX_PAGES):
                items += [item for item in page.data.get("files", []) if isinstance(item, dict)]
        except ReviewError as exc:
            return f"the commits since {since[:12]} could not be read ({exc.message[:200]})"
        return _gitlab_files(items)

    async def earlier(self) -> Earlier:
        account = await self.hub.call("gitlab_get_authenticated_user", {})
        earlier = Earlier(own_login=str(account.data.get("username") or ""))
        where = _where(self.target) | {"limit": 100}
        async for page in self.hub.pages("gitlab_list_merge_request_discussions", where, MAX_PAGES):
            for discussion in page.data.get("discussions", []):
                for note in discussion.get("notes", []):
                    item = note | {"path": discussion.get("path") or ""}
                    _scan_markers(earlier, item, str(discussion.get("id")), str(note.get("id")))
        return earlier

    def review_arguments(self, summary: str, notes: list[InlineNote]) -> dict[str, Any]:
        return _where(self.target) | {
            "body": summary,
            "comments": [_range({"path": n.path, "line": n.line, "side": "new", "body": n.body}, n) for n in notes],
        }

    def suggestion_fence(self, start: int, end: int) -> str:
        # GitLab: `suggestion:-A+B` replaces A lines above and B below the commented line (the range's last).
        return f"```suggestion:-{end - start}+0" if end > start else "```suggestion"

    def summary_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]:
        if existing is None:
            return []  # the first review's body is the summary note
        edit = _where(self.target) | {"comment_id": int(existing), "body": body}
        return [("gitlab_update_merge_request_comment", edit)]

    def note_calls(self, body: str, existing: str | None) -> list[tuple[str, dict[str, Any]]]:
        if existing is None:
            return [("gitlab_add_merge_request_comment", _where(self.target) | {"body": body})]
        return self.summary_calls(body, existing)

    def retire_calls(self, thread: str, note: str, body: str) -> list[tuple[str, dict[str, Any]]]:
        where = _where(self.target)
        return [
            ("gitlab_update_merge_request_comment", where | {"comment_id": int(note), "body": body}),
            ("gitlab_resolve_merge_request_discussion", where | {"discussion_id": thread, "resolved": True}),
        ]


def _gitlab_files(pages: list[dict[str, Any]]) -> list[FileDiff]:
    files: list[FileDiff] = []
    for item in pages:
        diff = str(item.get("diff") or "")
        if item.get("truncated"):  # the connector cut it to fit, or GitLab sent none: keep whole hunks only
            diff = _whole_hunks(diff)
        f = FileDiff(
            path=str(item.get("path") or ""),
            status=str(item.get("status") or "modified"),
            patch=diff or None,
            previous_path=item.get("old_path"),
        )
        files.append(f)
    return files


def _whole_hunks(diff: str) -> str:
    """Drop the last, possibly cut, hunk of a truncated diff (and the connector's cut notice)."""
    lines = [line for line in diff.split("\n") if not line.startswith("[")]
    starts = [i for i, line in enumerate(lines) if line.startswith("@@")]
    if len(starts) <= 1:
        return "\n".join(lines) if starts else ""
    return "\n".join(lines[: starts[-1]])


def forge_for(target: Target, hub: HubCalls) -> Forge:
    return GithubForge(target, hub) if target.forge == "github" else GitlabForge(target, hub)

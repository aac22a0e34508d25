"""Compact outputs: only the fields a model needs, people as logins, no URLs it can rebuild."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from mcp_hub.upstream import Page

# -- repos ------------------------------------------------------------------------------------


class DirEntry(BaseModel):
    name: str
    type: str
    size: int | None = None


class Contents(BaseModel):
    path: str
    type: Literal["file", "dir"]
    sha: str | None = None
    size: int | None = None
    text: str | None = Field(default=None, description="File text; None for binary or oversized files.")
    entries: list[DirEntry] | None = None
    truncated: bool = False
    resource: str | None = Field(default=None, description="Resource URI with the whole file.")


class CodeHit(BaseModel):
    repo: str
    path: str


class CodeHits(Page):
    total: int
    items: list[CodeHit]


class Branch(BaseModel):
    name: str
    sha: str
    protected: bool = False


class Branches(Page):
    branches: list[Branch]


class CommitSummary(BaseModel):
    sha: str
    message: str
    author: str | None
    date: str | None


class Commits(Page):
    commits: list[CommitSummary]


class FilePatch(BaseModel):
    path: str
    status: str
    additions: int = 0
    deletions: int = 0
    previous_path: str | None = None
    patch: str | None = Field(default=None, description="Unified diff hunk(s); None for binary or huge files.")
    from_line: int | None = Field(default=None, description="Set when the patch starts mid-file (paged).")
    patch_truncated: bool = False


class CommitDetail(Page):
    sha: str
    message: str
    author: str | None
    date: str | None
    parents: list[str]
    additions: int
    deletions: int
    files: list[FilePatch]


class Comparison(Page):
    status: str
    ahead_by: int
    behind_by: int
    commits: list[CommitSummary]
    files: list[FilePatch]


# -- issues -----------------------------------------------------------------------------------


class IssueSummary(BaseModel):
    number: int
    title: str
    state: str
    author: str | None
    labels: list[str] = []
    assignees: list[str] = []
    comments: int = 0
    updated_at: str | None = None
    repo: str | None = None
    is_pull: bool = False


class Issues(Page):
    issues: list[IssueSummary]
    total: int | None = None


class RepoLabel(BaseModel):
    name: str
    description: str | None = None


class RepoLabels(Page):
    labels: list[RepoLabel]


class Comment(BaseModel):
    id: int
    author: str | None
    body: str | None
    created_at: str | None = None


class IssueDetail(Page):
    number: int
    title: str
    state: str
    state_reason: str | None = None
    author: str | None
    labels: list[str]
    assignees: list[str]
    body: str | None
    created_at: str | None
    closed_at: str | None = None
    comment_count: int
    comments: list[Comment]


class Written(BaseModel):
    """What a write created or changed."""

    number: int | None = None
    id: int | None = None
    sha: str | None = None
    ref: str | None = None
    state: str | None = None
    html_url: str | None = None


# -- pull requests ----------------------------------------------------------------------------


class PullSummary(BaseModel):
    number: int
    title: str
    state: str
    draft: bool = False
    author: str | None
    head: str
    base: str
    updated_at: str | None = None
    labels: list[str] = []


class Pulls(Page):
    pulls: list[PullSummary]


class Checks(BaseModel):
    total: int
    passed: int
    failed: int
    pending: int
    failed_names: list[str] = []


class PullDetail(BaseModel):
    number: int
    title: str
    state: str
    draft: bool
    merged: bool
    mergeable: bool | None
    mergeable_state: str | None
    author: str | None
    body: str | None
    head: str
    head_sha: str
    base: str
    labels: list[str]
    requested_reviewers: list[str]
    commits: int
    additions: int
    deletions: int
    changed_files: int
    comments: int
    review_comments: int
    checks: Checks | None


class PullFiles(Page):
    total_files: int
    files: list[FilePatch]


class Review(BaseModel):
    id: int
    author: str | None
    state: str
    body: str | None
    submitted_at: str | None = None


class ReviewComment(BaseModel):
    id: int
    author: str | None
    path: str
    line: int | None
    side: str | None = None
    body: str | None
    in_reply_to: int | None = None


class Reviews(Page):
    reviews: list[Review]
    comments: list[ReviewComment]


# -- actions ----------------------------------------------------------------------------------


class WorkflowRun(BaseModel):
    id: int
    name: str | None
    status: str | None
    conclusion: str | None
    event: str
    branch: str | None
    sha: str
    created_at: str | None = None


class WorkflowRuns(Page):
    total: int
    runs: list[WorkflowRun]


class Step(BaseModel):
    number: int
    name: str
    conclusion: str | None


class Job(BaseModel):
    id: int
    name: str
    status: str
    conclusion: str | None
    failed_steps: list[Step] = []


class Jobs(Page):
    jobs: list[Job]


class JobLog(BaseModel):
    job_id: int
    steps: list[str] = Field(default=[], description="Steps whose lines are shown (failed-only mode).")
    text: str
    truncated: bool


# -- account ----------------------------------------------------------------------------------


class Account(BaseModel):
    login: str
    #: "User", or "Bot" for a GitHub App's installation
    type: str
    name: str | None = None


class Permission(BaseModel):
    login: str
    #: GitHub's base role: admin, write (maintain included), read (triage included) or none
    permission: str
    #: the role itself: admin, maintain, write, triage, read, or a custom role's name
    role_name: str = ""

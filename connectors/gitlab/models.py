"""What GitLab tools return: only the fields a model needs, compact names, no URLs it can rebuild."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_hub.upstream import Page

#: Every listing: `next_cursor` (pass it back as cursor) and `truncated`, the kit's one page model.
Listing = Page


class Project(BaseModel):
    id: int
    path: str
    visibility: str
    default_branch: str | None = None
    description: str | None = None


class ProjectList(Listing):
    projects: list[Project]


class FileText(BaseModel):
    path: str
    ref: str
    size: int
    text: str
    truncated: bool = False


class TreeEntry(BaseModel):
    name: str
    type: str = Field(description="blob (file) or tree (directory)")


class Tree(Listing):
    path: str
    ref: str
    entries: list[TreeEntry]


class Branch(BaseModel):
    name: str
    sha: str
    protected: bool = False
    default: bool = False


class BranchList(Listing):
    branches: list[Branch]


class Commit(BaseModel):
    sha: str
    title: str
    author: str | None = None
    date: str | None = None


class CommitList(Listing):
    commits: list[Commit]


class FileDiff(BaseModel):
    path: str
    old_path: str | None = Field(default=None, description="Set when renamed.")
    status: str = Field(description="added, deleted, renamed or modified")
    diff: str
    truncated: bool = False


class DiffPage(Listing):
    files: list[FileDiff]


class CommitDiff(DiffPage):
    commit: Commit
    message: str
    parents: list[str]


class Compare(DiffPage):
    commits: list[Commit]


class CodeHit(BaseModel):
    path: str
    ref: str
    line: int
    text: str


class CodeHits(Listing):
    hits: list[CodeHit]


class Issue(BaseModel):
    iid: int
    title: str
    state: str
    author: str | None = None
    labels: list[str] = []
    assignees: list[str] = []
    updated_at: str | None = None
    comments: int = 0


class IssueList(Listing):
    issues: list[Issue]


class ProjectLabel(BaseModel):
    name: str
    description: str | None = None


class LabelList(Listing):
    labels: list[ProjectLabel]


class Note(BaseModel):
    id: int
    author: str | None = None
    body: str
    created_at: str | None = None
    system: bool = False


class IssueDetail(Issue):
    description: str
    notes: list[Note]
    next_cursor: str | None = Field(default=None, description="Pass as cursor for more notes.")


class MergeRequest(BaseModel):
    iid: int
    title: str
    state: str
    author: str | None = None
    source: str
    target: str
    draft: bool = False
    labels: list[str] = []
    updated_at: str | None = None


class MergeRequestList(Listing):
    merge_requests: list[MergeRequest]


class Pipeline(BaseModel):
    id: int
    status: str
    ref: str | None = None
    sha: str | None = None
    created_at: str | None = None


class Approvals(BaseModel):
    approved: bool
    approvals_left: int = 0
    approved_by: list[str] = []


class MergeRequestDetail(MergeRequest):
    description: str
    sha: str | None = Field(default=None, description="Head commit; pass to merge_merge_request.")
    merge_status: str | None = None
    has_conflicts: bool = False
    changes: str | None = Field(default=None, description="Number of changed files.")
    assignees: list[str] = []
    reviewers: list[str] = []
    pipeline: Pipeline | None = None
    approvals: Approvals | None = None


class Discussion(BaseModel):
    id: str
    path: str | None = None
    line: int | None = None
    resolved: bool | None = None
    notes: list[Note]


class DiscussionList(Listing):
    discussions: list[Discussion]


class Created(BaseModel):
    """What a write made or changed."""

    id: int | str
    iid: int | None = None
    state: str | None = None
    sha: str | None = None
    detail: str | None = None


class Job(BaseModel):
    id: int
    name: str
    stage: str
    status: str
    failure_reason: str | None = None


class PipelineList(Listing):
    pipelines: list[Pipeline]


class JobList(Listing):
    jobs: list[Job]


class JobLog(BaseModel):
    job_id: int
    status: str
    text: str
    truncated: bool = Field(description="True when earlier lines were cut (tail only).")


class Account(BaseModel):
    username: str
    #: the user's id (what webhook payloads name authors by)
    id: int | None = None
    name: str | None = None
    #: True for project/group access tokens' bot users
    bot: bool = False


class MemberAccess(BaseModel):
    user_id: int
    username: str
    #: 0 no access (not a member), 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner
    access_level: int

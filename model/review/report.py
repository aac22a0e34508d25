"""What a review produced: the change, findings, security pass, coverage, model usage, and what was posted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.review.diff import FileDiff
from model.review.findings import Finding, rank
from model.review.security import SecurityItem
from model.review.target import Target


@dataclass
class Change:
    target: Target
    title: str
    author: str
    base: str
    head_sha: str
    files: list[FileDiff]
    visibility: str = "private"
    #: The PR/MR description (the author's text: context for the model, fenced in the prompt).
    body: str = ""


@dataclass
class Coverage:
    files_total: int = 0
    #: Files whose every hunk went through a model call that answered in the schema.
    files_reviewed: list[str] = field(default_factory=list)
    #: Files some of whose lines were not reviewed, with why.
    files_partial: list[tuple[str, str]] = field(default_factory=list)
    files_not_reviewed: list[tuple[str, str]] = field(default_factory=list)
    files_skipped: list[tuple[str, str]] = field(default_factory=list)
    lines_total: int = 0
    lines_reviewed: int = 0
    #: Changed lines of the files not skipped (what the review should cover).
    lines_reviewable: int = 0
    #: Share of the reviewable lines a run must review to count as reviewed.
    min_share: float = 1.0
    #: Files the model failed on (unreadable, out of tokens): these make a run "not reviewed" whatever the share.
    model_failures: set[str] = field(default_factory=set)

    @property
    def share(self) -> float:
        return self.lines_reviewed / self.lines_total if self.lines_total else 1.0

    @property
    def reviewable_share(self) -> float:
        return self.lines_reviewed / self.lines_reviewable if self.lines_reviewable else 1.0

    def not_reviewed_reason(self) -> str | None:
        """Why this run does not count as a review (fail closed), or None when it does."""
        if self.model_failures:
            return f"the model failed on {len(self.model_failures)} file(s)"
        if self.min_share >= 1.0 and (self.files_partial or self.files_not_reviewed):
            missing = len(self.files_partial) + len(self.files_not_reviewed)
            return f"{missing} reviewable file(s) were not fully reviewed"
        if self.reviewable_share < self.min_share:
            share, needed = self.reviewable_share, self.min_share
            return f"{share:.0%} of the reviewable lines were reviewed, below the {needed:.0%} required"
        return None


@dataclass
class Increment:
    """What an incremental run reviewed: the commits pushed since the last reviewed head."""

    #: The head the last counted review covered (from the bot's summary on the forge).
    since: str
    head: str
    #: Files changed in since..head that the change still changes (a merge of the base brings others).
    files: int = 0
    #: Why the run fell back to a full review ('' when it is incremental).
    fallback: str = ""

    @property
    def incremental(self) -> bool:
        return not self.fallback


@dataclass
class Carried:
    """A finding the bot posted on an earlier run, still open (its line is still in the diff): an
    incremental run does not review its line again, but it still counts for `--fail-on`."""

    fingerprint: str
    severity: str
    category: str
    path: str


@dataclass
class Usage:
    calls: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unreadable_chunks: int = 0
    #: Answers cut at the token limit (`finish_reason: "length"`), and retries with a larger budget.
    out_of_tokens: int = 0
    budget_retries: int = 0


@dataclass
class Posted:
    tool_calls: list[str] = field(default_factory=list)
    new: int = 0
    already: int = 0
    outdated: int = 0
    withheld: list[str] = field(default_factory=list)
    skipped_reason: str = ""


@dataclass
class ReviewReport:
    change: Change
    findings: list[Finding] = field(default_factory=list)
    #: Findings whose line is not in the diff: reported in the summary, never posted inline.
    folded: list[Finding] = field(default_factory=list)
    security: list[SecurityItem] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    usage: Usage = field(default_factory=Usage)
    lang: str = "en"
    posted: Posted | None = None
    #: Warnings for the reader (an unusable settings file, …).
    notes: list[str] = field(default_factory=list)
    #: Set when the bot had reviewed this change before: incremental, or why it fell back to a full review.
    increment: Increment | None = None
    #: Earlier findings still open, on an incremental run (they gate like new ones).
    carried: list[Carried] = field(default_factory=list)
    #: The head the posted summary records as reviewed ('' when this run is not a review).
    reviewed_head: str = ""

    @property
    def reviewed(self) -> bool:
        """False when the run fails closed: too little reviewed, or the model failed on a file."""
        return self.coverage.not_reviewed_reason() is None

    def worst(self) -> int:
        """Highest severity rank among findings placed in the diff and the security pass (-1 when nothing).

        Findings the bot itself refused to place (outside the diff) do not count: the gate follows what
        is anchored in the change."""
        ranks = [rank(f.severity) for f in self.findings]
        ranks += [rank(item.severity) for item in self.security]
        ranks += [rank(item.severity) for item in self.carried]
        return max(ranks, default=-1)

    def exit_code(self, fail_on: str | None) -> int:
        """2 when the run is not a review (fails closed, whatever `fail_on`); 1 when something at or above
        `fail_on` was found; else 0 (CI gating)."""
        if not self.reviewed:
            return 2
        if fail_on is None or fail_on == "none":
            return 0
        return 1 if self.worst() >= rank(fail_on) else 0

    def to_json(self) -> dict[str, Any]:
        c = self.coverage
        return {
            "target": self.change.target.url,
            "head_sha": self.change.head_sha,
            "reviewed": self.reviewed,
            "not_reviewed_reason": self.coverage.not_reviewed_reason(),
            "findings": [f.to_json() for f in self.findings],
            "outside_diff": [f.to_json() for f in self.folded],
            "security": [s.__dict__ for s in self.security],
            "summaries": self.summaries,
            "coverage": {
                "files_total": c.files_total,
                "files_reviewed": c.files_reviewed,
                "files_partial": [list(x) for x in c.files_partial],
                "files_not_reviewed": [list(x) for x in c.files_not_reviewed],
                "files_skipped": [list(x) for x in c.files_skipped],
                "lines_total": c.lines_total,
                "lines_reviewed": c.lines_reviewed,
                "share": round(c.share, 4),
                "lines_reviewable": c.lines_reviewable,
                "reviewable_share": round(c.reviewable_share, 4),
                "min_share": c.min_share,
                "model_failures": sorted(c.model_failures),
            },
            "usage": self.usage.__dict__,
            "posted": self.posted.__dict__ if self.posted else None,
            "notes": self.notes,
            "increment": self.increment.__dict__ if self.increment else None,
            "carried": [c.__dict__ for c in self.carried],
        }

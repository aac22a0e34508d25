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

    @property
    def share(self) -> float:
        return self.lines_reviewed / self.lines_total if self.lines_total else 1.0


@dataclass
class Usage:
    calls: int = 0
    repairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    unreadable_chunks: int = 0


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

    def worst(self) -> int:
        """Highest severity rank among findings and the security pass (-1 when nothing)."""
        ranks = [rank(f.severity) for f in [*self.findings, *self.folded]]
        ranks += [rank(item.severity) for item in self.security]
        return max(ranks, default=-1)

    def exit_code(self, fail_on: str | None) -> int:
        """1 when something at or above `fail_on` was found, else 0 (CI gating)."""
        if fail_on is None or fail_on == "none":
            return 0
        return 1 if self.worst() >= rank(fail_on) else 0

    def to_json(self) -> dict[str, Any]:
        c = self.coverage
        return {
            "target": self.change.target.url,
            "head_sha": self.change.head_sha,
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
            },
            "usage": self.usage.__dict__,
            "posted": self.posted.__dict__ if self.posted else None,
            "notes": self.notes,
        }

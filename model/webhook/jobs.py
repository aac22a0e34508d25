"""A queued unit of work: review one head commit of a PR/MR, or triage one issue."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

Kind = Literal["review", "triage"]


@dataclass(frozen=True)
class Job:
    kind: Kind
    forge: Literal["github", "gitlab"]
    #: `owner/name` or the GitLab project path.
    repo: str
    number: int
    #: The head commit for reviews ("" for triage).
    sha: str
    #: The PR/MR URL a review is run on (the issue's for triage).
    url: str
    attempts: int = 0

    @property
    def key(self) -> str:
        """Exactly once per this key: a review per head commit, a triage per issue."""
        return f"{self.group}@{self.sha}" if self.kind == "review" else f"{self.group}"

    @property
    def group(self) -> str:
        """One job at a time per group (a PR/MR, or an issue)."""
        return f"{self.kind}:{self.forge}:{self.repo}#{self.number}"

    def dumps(self) -> str:
        data = asdict(self)
        data.pop("attempts")
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def loads(text: str, attempts: int = 0) -> Job:
        data: dict[str, Any] = json.loads(text)
        return Job(**data, attempts=attempts)

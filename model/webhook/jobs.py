"""A queued unit of work: review one head commit of a PR/MR, triage one issue, or answer one comment command."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["review", "triage", "command"]


@dataclass(frozen=True)
class Command:
    """`/review` or `/ask` in a comment, and where to answer it."""

    #: "review" or "ask"
    name: str
    question: str
    #: the comment's kind: GitHub "issue" (conversation) or "review" (inline), GitLab "note"
    kind: str
    comment_id: int
    #: where the answer goes: the conversation (GitHub issue comment), the inline thread's first
    #: comment id (GitHub review comment), or the discussion id (GitLab)
    thread: str
    #: who wrote the command (and who sent the event, when it was an edit): GitHub logins, GitLab
    #: user ids. Every one must have write access, none may be the bot.
    actors: tuple[str, ...]
    #: GitLab usernames of the actors, where the payload gives them (for the bot check)
    names: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Job:
    kind: Kind
    forge: Literal["github", "gitlab"]
    #: `owner/name` or the GitLab project path.
    repo: str
    number: int
    #: The head commit for reviews ("" for triage and commands).
    sha: str
    #: The PR/MR URL a review is run on (the issue's for triage).
    url: str
    attempts: int = 0
    command: Command | None = None

    @property
    def key(self) -> str:
        """Exactly once per this key: a review per head commit, a triage per issue, a command per comment."""
        if self.command is not None:
            c = self.command
            return f"command:{self.forge}:{self.repo}#{self.number}:{c.kind}-{c.comment_id}"
        return f"{self.group}@{self.sha}" if self.kind == "review" else f"{self.group}"

    @property
    def group(self) -> str:
        """One job at a time per group (a PR/MR, or an issue).

        `/review` shares its PR/MR's review group, so it never runs beside a review of the same change
        (two runs posting at once could both post a summary); an `/ask` is its own group.
        """
        if self.command is not None and self.command.name != "review":
            return self.key
        kind = "review" if self.kind == "command" else self.kind
        return f"{kind}:{self.forge}:{self.repo}#{self.number}"

    def dumps(self) -> str:
        data = asdict(self)
        data.pop("attempts")
        if data["command"] is None:
            data.pop("command")  # review and triage jobs are stored as they always were
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def loads(text: str, attempts: int = 0) -> Job:
        data: dict[str, Any] = json.loads(text)
        command = data.pop("command", None)
        if command is not None:
            command = Command(**command | {"actors": tuple(command["actors"]), "names": tuple(command["names"])})
        return Job(**data, attempts=attempts, command=command)

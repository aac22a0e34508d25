"""One pending approval: what would be written, where, why it is held, who asked, and its decision.

A record is built once, from REDACTED arguments (the store never sees a secret), and then only its
decision fields change (`status`, `decided_by`, `note`, `decided_at`), exactly once, from `pending`.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, cast

Status = Literal["pending", "approved", "denied", "expired", "cancelled"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "denied", "expired", "cancelled")
#: Statuses a decision (or the waiter's expiry / cancellation) moves a pending approval to.
FINAL: tuple[Status, ...] = ("approved", "denied", "expired", "cancelled")

#: Argument names whose value is text a person would read once written (a comment, a message).
TEXT_KEYS = ("body", "text", "comment", "message", "description", "title")
#: Cap of the evidence kept per approval (the arguments are clipped by the audit rules already).
MAX_EVIDENCE_CHARS = 200_000


def new_id() -> str:
    """An unguessable id (128 random bits, hex): knowing one id tells nothing about another.

    Hex, not base64url: one id in 64 of those would start with "-", which the CLI
    (`mcp-hub approvals show <id>`) reads as an option."""
    return secrets.token_hex(16)


@dataclass(slots=True)
class Evidence:
    """What a reviewer needs to see, derived from the redacted arguments.

    `kind` is `file_change` (with `diff`, a unified diff per file: against an empty file, since the
    hub does not read the current content at hold time), `comment` (with `text`, the raw text: the
    console must render it as text, never as HTML), or `call` (the arguments are all there is).
    """

    kind: Literal["file_change", "comment", "call"] = "call"
    text: str = ""
    diff: str = ""
    paths: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Approval:
    id: str
    created_at: float
    expires_at: float
    #: Who asked: the hub caller's name (token name, OIDC subject, `agent`), its transport, the agent run.
    caller: str
    transport: str
    tool: str
    #: The tool's arguments, redacted.
    arguments: dict[str, Any]
    run_id: str | None = None
    #: Where it would be written (`github://acme/widgets`) and that place's visibility from provenance
    #: (`public` / `internal` / `private`; `unknown` when neither a read nor a probe said it).
    target: str | None = None
    target_visibility: str = "unknown"
    #: Why it is held: every reason, plus the structured parts a console shows on their own.
    reasons: list[str] = field(default_factory=list)
    rule: str | None = None
    flow_reason: str | None = None
    #: The private sources the run read (flow guard), e.g. `github://acme/secret/issues/1`.
    sources: list[str] = field(default_factory=list)
    scanner_findings: list[dict[str, Any]] = field(default_factory=list)
    evidence: Evidence = field(default_factory=Evidence)
    status: Status = "pending"
    decided_by: str | None = None
    note: str = ""
    decided_at: float | None = None

    def effective_status(self, now: float | None = None) -> Status:
        """`expired` for a pending approval past its expiry, even before anyone recorded it."""
        if self.status == "pending" and (now if now is not None else time.time()) >= self.expires_at:
            return "expired"
        return self.status

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Approval:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        evidence = values.get("evidence")
        if isinstance(evidence, dict):
            values["evidence"] = Evidence(**{k: v for k, v in evidence.items() if k in Evidence.__slots__})
        if values.get("status") not in STATUSES:
            raise ValueError(f"unknown approval status {values.get('status')!r}")
        return cls(**values)

    @classmethod
    def loads(cls, raw: str | bytes) -> Approval:
        return cls.from_json(cast(dict[str, Any], json.loads(raw)))


def evidence_of(tool: str, arguments: dict[str, Any]) -> Evidence:
    """The reviewer's view of a write from its (redacted) arguments.

    File writes (`content` + `path`, or `files: [{path, content}]`) become a unified diff; a body,
    comment or message becomes text; anything else is shown as its arguments.
    """
    files: list[tuple[str, str | None]] = []
    if isinstance(arguments.get("path"), str) and isinstance(arguments.get("content"), str):
        files.append((arguments["path"], arguments["content"]))
    for change in arguments.get("files") or [] if isinstance(arguments.get("files"), list) else []:
        if isinstance(change, dict) and isinstance(change.get("path"), str):
            content = change.get("content")
            files.append((change["path"], content if isinstance(content, str) else None))
    text = next((arguments[k] for k in TEXT_KEYS if isinstance(arguments.get(k), str) and arguments[k]), "")
    if files:
        diff = "".join(_diff(path, content) for path, content in files)
        return Evidence(
            "file_change", text=text[:MAX_EVIDENCE_CHARS], diff=diff[:MAX_EVIDENCE_CHARS], paths=[p for p, _ in files]
        )
    if text:
        return Evidence("comment", text=text[:MAX_EVIDENCE_CHARS])
    return Evidence("call")


def _diff(path: str, content: str | None) -> str:
    import difflib  # only when a file write is held (not on every hub's start-up)

    path = path.strip("/")
    if content is None:  # a deletion in commit_files
        return f"--- a/{path}\n+++ /dev/null\n@@ file deleted @@\n"
    lines = content.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return "".join(difflib.unified_diff([], lines, fromfile="/dev/null", tofile=f"b/{path}"))

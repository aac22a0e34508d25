"""What the scanner reports: findings, and a verdict over them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["allow", "review", "block"]
_RANK: dict[str, int] = {"allow": 0, "review": 1, "block": 2}


@dataclass(frozen=True)
class Finding:
    rule: str
    #: "block" stops the write; "review" needs a person's approval.
    action: Action
    detail: str
    path: str | None = None
    line: int | None = None


@dataclass
class Verdict:
    findings: list[Finding] = field(default_factory=list)
    #: False when the arguments carried no code or diff (only the secrets rule ran).
    scanned_code: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def action(self) -> Action:
        worst: Action = "allow"
        for finding in self.findings:
            if _RANK[finding.action] > _RANK[worst]:
                worst = finding.action
        return worst

    def summary(self) -> str:
        if not self.findings:
            return "no findings"
        return "; ".join(f"{f.rule}: {f.detail}" + (f" ({f.path})" if f.path else "") for f in self.findings[:5])

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "scanned_code": self.scanned_code,
            "findings": [asdict(f) for f in self.findings],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Fragment:
    """A piece of text a write would publish: a file, the added lines of a diff, or prose."""

    text: str
    path: str | None = None
    kind: Literal["file", "diff", "code", "text"] = "text"
    language: str | None = None

    @property
    def is_code(self) -> bool:
        return self.kind != "text"

    @property
    def is_python(self) -> bool:
        return (self.path or "").endswith(".py") or (self.language or "").lower() in ("python", "py", "python3")

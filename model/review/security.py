"""The security pass: the change's own added lines through the scanner, reported whatever the model said."""

from __future__ import annotations

from dataclasses import dataclass

from model.review.diff import FileDiff
from model.review.findings import Finding
from model.scanner import Fragment, scan_fragments


@dataclass
class SecurityItem:
    rule: str
    action: str  # "block" (secret, backdoor pattern) or "review" (CI edit, new dependency, risky call)
    detail: str
    path: str | None
    line: int | None
    #: True when a model finding on the same file (security category, within 3 lines) said it too.
    model_noticed: bool = False

    @property
    def severity(self) -> str:
        return "high" if self.action == "block" else "medium"


def security_pass(files: list[FileDiff], findings: list[Finding], *, use_bandit: bool = True) -> list[SecurityItem]:
    """Every file's added lines, skipped files included (a lockfile or vendored file can carry a backdoor too)."""
    fragments: list[Fragment] = []
    numbers: dict[str, list[int]] = {}
    for file in files:
        added = file.added()
        if not added:
            continue
        numbers[file.path] = [n for n, _ in added]
        fragments.append(Fragment("\n".join(text for _, text in added), file.path, "diff"))
    verdict = scan_fragments(fragments, use_bandit=use_bandit)
    items: list[SecurityItem] = []
    for f in verdict.findings:
        line = None
        if f.path in numbers and f.line is not None and 0 < f.line <= len(numbers[f.path]):
            line = numbers[f.path][f.line - 1]
        noticed = any(
            m.path == f.path and m.category == "security" and (line is None or abs(m.line - line) <= 3)
            for m in findings
        )
        items.append(SecurityItem(f.rule, f.action, f.detail, f.path, line, noticed))
    return items

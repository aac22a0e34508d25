"""Scan what the model is about to write: secrets, planted backdoors, risky changes.

`scan_write(tool, arguments)` before a write tool call; `scan_diff(text)` for a
unified diff. A "block" finding stops the call; a "review" finding needs a
person's approval (a `--approve` glob does not cover it).
"""

from __future__ import annotations

from typing import Any

from model.scanner.extract import fragments_of_arguments, parse_diff
from model.scanner.findings import Finding, Fragment, Verdict
from model.scanner.python import bandit_findings
from model.scanner.rules import code_findings, secret_findings

__all__ = ["Finding", "Fragment", "Verdict", "scan_diff", "scan_fragments", "scan_write"]


def scan_fragments(fragments: list[Fragment], *, use_bandit: bool = True) -> Verdict:
    verdict = Verdict()
    seen: set[tuple[str, str | None, str]] = set()
    for fragment in fragments:
        found = list(secret_findings(fragment))
        if fragment.is_code:
            verdict.scanned_code = True
            found += code_findings(fragment)
            if use_bandit and fragment.is_python:
                extra, note = bandit_findings(fragment)
                found += extra
                if note:
                    verdict.notes.append(note)
        for finding in found:
            key = (finding.rule, finding.path, finding.detail)
            if key not in seen:
                seen.add(key)
                verdict.findings.append(finding)
    return verdict


def scan_write(arguments: dict[str, Any], *, use_bandit: bool = True) -> Verdict:
    return scan_fragments(fragments_of_arguments(arguments), use_bandit=use_bandit)


def scan_diff(text: str, *, use_bandit: bool = True) -> Verdict:
    return scan_fragments(parse_diff(text), use_bandit=use_bandit)

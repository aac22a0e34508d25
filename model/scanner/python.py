"""Python fragments through bandit, in-process (its manager API) on a temporary file.

Bandit is optional (the `agent` extra); without it the verdict carries a note
and the pattern rules still apply. Added diff lines are dedented first; a
fragment that still does not parse is skipped by bandit (noted), not failed.
HIGH severity blocks; MEDIUM severity with at least MEDIUM confidence needs review.
"""

from __future__ import annotations

import ast
import logging
import tempfile
import textwrap
import warnings
from pathlib import Path
from typing import Any

from model.scanner.findings import Finding, Fragment

log = logging.getLogger(__name__)
_SKIP = {"B101", "B404", "B603", "B311"}  # assert, import subprocess, subprocess without shell, random


def bandit_available() -> bool:
    try:
        import bandit  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


def python_source(fragment: Fragment) -> str | None:
    """The fragment as parsable Python, or None."""
    source = textwrap.dedent(fragment.text)
    try:
        ast.parse(source)
    except SyntaxError:
        return None
    return source


def bandit_findings(fragment: Fragment) -> tuple[list[Finding], str | None]:
    """Findings and an optional note (why bandit did not run)."""
    source = python_source(fragment)
    if source is None:
        return [], f"bandit skipped {fragment.path or 'a fragment'}: not parsable on its own"
    logging.getLogger("bandit").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="mcp_hub_scan_") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # bandit's plugin loader warns about deprecated arguments
        try:
            from bandit.core import config as b_config  # type: ignore[import-untyped,unused-ignore]
            from bandit.core import manager as b_manager  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            return [], "bandit not installed: Python-specific checks skipped"
        path = Path(tmp) / "fragment.py"
        path.write_text(source, encoding="utf-8")
        manager: Any = b_manager.BanditManager(b_config.BanditConfig(), "file", quiet=True)
        manager.discover_files([str(path)])
        manager.run_tests()
        issues = manager.get_issue_list()
    findings = []
    for issue in issues:
        if issue.test_id in _SKIP:
            continue
        severity, confidence = str(issue.severity), str(issue.confidence)
        if severity == "HIGH":
            action = "block"
        elif severity == "MEDIUM" and confidence in ("MEDIUM", "HIGH"):
            action = "review"
        else:
            continue
        detail = f"bandit {issue.test_id} {issue.text}"
        findings.append(Finding("bandit", action, detail, fragment.path, issue.lineno))  # type: ignore[arg-type]
    return findings, None

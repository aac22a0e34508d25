"""`--as check-run` (GitHub): the review as one completed check run on the head commit, its findings as
line annotations, instead of review comments and a summary comment.

A check run belongs to one commit, so it always carries the whole change's findings (the run is
never incremental). Its conclusion follows the gate: `failure` when the run is not a review (fails
closed: a required check then blocks the merge) or a finding placed in the diff is at or above
`--fail-on`; `neutral` when there are findings below it; `success` when there are none. Annotation
text is the sanitised finding (`model.untrusted`), the summary the same Markdown as the summary
comment, scanned before it is sent. GitHub lets only GitHub Apps create check runs.
"""

from __future__ import annotations

from typing import Any

from model.gate import Gate
from model.review.findings import Finding
from model.review.forges import Forge
from model.review.hubcalls import ReviewError
from model.review.post import gated
from model.review.render import report_markdown
from model.review.report import Posted, ReviewReport
from model.scanner import scan_write

TOOL = "github_create_check_run"
NAME = "mcp-hub review"
MAX_ANNOTATIONS = 500
MAX_SUMMARY = 65_000
_LEVEL = {"low": "notice", "medium": "warning", "high": "failure", "critical": "failure"}


def conclusion(report: ReviewReport, fail_on: str | None) -> str:
    if not report.reviewed:
        return "failure"
    if report.exit_code(fail_on) == 1:
        return "failure"
    return "neutral" if report.findings or report.security else "success"


def annotation(f: Finding) -> dict[str, Any]:
    return {
        "path": f.path,
        "start_line": f.line,
        "end_line": f.end_line or f.line,
        "annotation_level": _LEVEL.get(f.severity, "notice"),
        "title": f"{f.severity} · {f.category}",
        "message": f.message,
    }


def check_run_arguments(report: ReviewReport, fail_on: str | None) -> dict[str, Any]:
    why = report.coverage.not_reviewed_reason()
    count = len(report.findings)
    title = f"Not reviewed: {why}" if why else f"{count} finding(s)" if count else "No findings in the reviewed lines"
    summary = report_markdown(report, posted_inline=True)
    if scan_write({"body": summary}, use_bandit=False).action != "allow":
        summary = "Code review (details withheld by the scanner)"
    notes = [annotation(f) for f in report.findings[:MAX_ANNOTATIONS]]
    if count > MAX_ANNOTATIONS:
        summary += f"\n\n{count - MAX_ANNOTATIONS} more finding(s) are not annotated (GitHub's limit)."
    return {
        "repo": report.change.target.repo,
        "head_sha": report.change.head_sha,
        "name": NAME,
        "conclusion": conclusion(report, fail_on),
        "title": title[:255],
        "summary": summary[:MAX_SUMMARY],
        "annotations": notes,
    }


async def publish_check_run(report: ReviewReport, forge: Forge, gate: Gate, fail_on: str | None) -> Posted:
    if forge.target.forge != "github":
        raise ReviewError("check runs are GitHub's; on GitLab post the review as comments (--as review)")
    if len(report.change.head_sha) < 40:
        raise ReviewError("the change's head commit is unknown: no check run can be attached to it")
    arguments = check_run_arguments(report, fail_on)
    await gated(gate, forge.hub, forge.hub.call, TOOL, arguments)
    return Posted(tool_calls=[TOOL], new=len(arguments["annotations"]))

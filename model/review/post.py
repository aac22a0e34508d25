"""Posting a review: only new findings, earlier ones retired when their line is gone, through the gate.

A finding is new when no earlier comment of the bot carries its fingerprint. An
earlier finding is outdated when its fingerprint can no longer be derived from any
line of the current diff (its line changed or left the diff); one the model merely
did not repeat is left alone. Each inline comment (its suggested change included)
passes the scanner first: a suggestion the scanner flags is withheld, a comment it
still flags is not posted. Every write goes through the agent's gate (flow guard,
scanner, approval) with exactly the posting tools approved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from model.gate import Gate
from model.review.findings import CATEGORIES, Finding, fingerprint
from model.review.forges import Earlier, Forge, InlineNote
from model.review.hubcalls import ReviewError
from model.review.render import (
    SUMMARY_MARKER,
    comment_body,
    head_marker,
    open_marker,
    report_markdown,
    retired_body,
    text,
)
from model.review.report import Posted, ReviewReport
from model.scanner import scan_write

#: GitHub takes at most 100 inline comments per review; the rest are listed in the summary.
MAX_INLINE = 50


def posting_tools(forge: Forge) -> tuple[str, ...]:
    return tuple(dict.fromkeys((forge.review_tool, *forge.retire_tools, *forge.summary_tools)))


def derivable(report: ReviewReport) -> set[str]:
    """Every fingerprint some line of the current diff yields (a finding on it may still apply).

    Computed once per run (distinct line texts × categories × 3 ordinals), not once per earlier finding."""
    found: set[str] = set()
    for file in report.change.files:
        for code in set(file.new_lines().values()):
            for category in CATEGORIES:
                found.update(fingerprint(file.path, category, code, n) for n in range(3))
    return found


def still_derivable(fp: str, report: ReviewReport) -> bool:
    """Whether some line of the current diff still yields `fp`."""
    return fp in derivable(report)


def _scanned_note(finding: Finding, forge: Forge, lang: str) -> tuple[InlineNote | None, str]:
    end = finding.end_line or finding.line
    fence = forge.suggestion_fence(finding.line, end)
    body = comment_body(finding, lang, fence)
    verdict = scan_write({"path": finding.path, "body": body})
    if verdict.action != "allow" and finding.suggestion is not None:
        finding.suggestion = None
        finding.note = text(lang, "withheld")
        body = comment_body(finding, lang, fence)
        verdict = scan_write({"path": finding.path, "body": body})
    if verdict.action != "allow":
        return None, verdict.summary()
    # A range sits on its last line and names its first (GitHub start_line/line, GitLab line_range).
    return InlineNote(finding.path, end, body, finding.line if finding.end_line else None), ""


def _changes(report: ReviewReport, earlier: Earlier) -> tuple[list[Finding], list[tuple[str, str]]]:
    """The findings not posted before, and the earlier ones to retire (fingerprint, thread)."""
    new = [f for f in report.findings if f.fingerprint not in earlier.findings]
    current = {f.fingerprint for f in report.findings}
    candidates = [(fp, t) for fp, t in earlier.findings.items() if fp not in current and fp not in earlier.outdated]
    alive = derivable(report) if candidates else set()
    gone = [(fp, thread) for fp, thread in candidates if fp in earlier.notes and fp not in alive]
    return new, gone


def summary_body(report: ReviewReport) -> str:
    """The summary comment as posted (scanned; the marker that names it on later runs appended)."""
    summary = report_markdown(report, posted_inline=True)
    if scan_write({"body": summary}, use_bandit=False).action != "allow":
        summary = text(report.lang, "title") + " (details withheld by the scanner)"
    summary += "\n\n" + SUMMARY_MARKER
    if report.reviewed_head:  # where the next run's incremental review starts
        summary += "\n" + head_marker(report.reviewed_head)
    # Every open finding (posted inline or withheld, and those carried over), for later incremental gates.
    opened: list[tuple[str, str, str]] = [(f.fingerprint, f.severity, f.category) for f in report.findings]
    opened += [(c.fingerprint, c.severity, c.category) for c in report.carried]
    summary += "".join("\n" + open_marker(*item) for item in dict.fromkeys(opened))
    return summary


def normal_body(body: str) -> str:
    return "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").strip().split("\n"))


def summary_changed(report: ReviewReport, earlier: Earlier) -> bool:
    """Whether the posted summary differs from what this run would post (a stale one is re-rendered).

    A run with no commits since the head the summary records leaves it alone: that summary is the
    review of this very head (`--full` reviews it all again)."""
    inc = report.increment
    if inc is not None and inc.incremental and inc.since == inc.head and earlier.summary:
        return False
    return not earlier.summary or normal_body(earlier.summary_body) != normal_body(summary_body(report))


def has_news(report: ReviewReport, earlier: Earlier) -> bool:
    """Whether posting would change anything (what a person is asked to approve)."""
    new, gone = _changes(report, earlier)
    return bool(new or gone or summary_changed(report, earlier))


async def publish(
    report: ReviewReport,
    forge: Forge,
    gate: Gate,
    earlier: Earlier | None = None,
    call: Callable[[str, dict[str, Any]], Awaitable[Any]] | None = None,
) -> Posted:
    earlier = earlier if earlier is not None else await forge.earlier()
    hub = forge.hub
    do_call = call or hub.call
    posted = Posted()
    new, gone = _changes(report, earlier)
    posted.already = len(report.findings) - len(new) + len(report.carried)
    notes: list[InlineNote] = []
    for finding in new:
        if len(notes) >= MAX_INLINE:
            report.folded.append(finding)
            continue
        note, why = _scanned_note(finding, forge, report.lang)
        if note is None:
            posted.withheld.append(f"{finding.path}:{finding.line} ({why})")
        else:
            notes.append(note)
    if not notes and not gone and not summary_changed(report, earlier):
        posted.skipped_reason = "nothing new since the last review"
        return posted
    summary = summary_body(report)
    if earlier.summary_note is None and not forge.summary_separate:
        # GitLab: the first review's body is the summary note (found and edited on later runs).
        await gated(gate, hub, do_call, forge.review_tool, forge.review_arguments(summary, notes))
        posted.tool_calls.append(forge.review_tool)
    else:
        # The summary is one conversation comment, edited in place on re-runs; a review carries only
        # the new inline comments, and is not posted when there are none.
        if notes:
            pointer = text(report.lang, "title") + f": {len(notes)} new inline comment(s); see the summary comment."
            await gated(gate, hub, do_call, forge.review_tool, forge.review_arguments(pointer, notes))
            posted.tool_calls.append(forge.review_tool)
        for tool, arguments in forge.summary_calls(summary, earlier.summary_note):
            await gated(gate, hub, do_call, tool, arguments)
            posted.tool_calls.append(tool)
    posted.new = len(notes)
    for fp, thread in gone:
        note_id, original = earlier.notes[fp]
        body = retired_body(original, fp, report.change.head_sha, report.lang)
        for tool, arguments in forge.retire_calls(thread, note_id, body):
            await gated(gate, hub, do_call, tool, arguments)
            posted.tool_calls.append(tool)
        posted.outdated += 1
    return posted


async def gated(
    gate: Gate, hub: Any, call: Callable[[str, dict[str, Any]], Awaitable[Any]], tool: str, arguments: dict[str, Any]
) -> None:
    decision = await hub.gate_check(gate, tool, arguments)
    if decision is None:
        raise ReviewError(f"the hub offers no tool {tool}: allow writes (MCP_HUB_ALLOW_WRITES=1) to post reviews")
    if not decision.allowed:
        raise ReviewError(f"posting with {tool} was not allowed: {decision.message()}")
    await call(tool, arguments)

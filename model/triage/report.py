"""What a triage run found and did, as Markdown/JSON for people and one Slack digest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from model.untrusted import slack_plain

MAX_DIGEST_CHARS = 3800


@dataclass
class Duplicate:
    number: int
    reason: str
    score: float


@dataclass
class IssueTriage:
    number: int
    title: str
    status: str = "triaged"  # triaged | unreadable
    summary: str = ""
    labels: list[str] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    #: The labels it had when read (only new ones are added).
    existing: list[str] = field(default_factory=list)
    #: "applied", "not approved: …", "not requested", "nothing to apply", "failed: …"
    labels_outcome: str = "not requested"


@dataclass
class TriageReport:
    repo: str
    issues: list[IssueTriage] = field(default_factory=list)
    labels_known: int = 0
    open_scanned: int = 0
    model_calls: int = 0
    #: "posted to #channel", "not approved: …", "no channel", "not requested", "failed: …"
    digest_outcome: str = "not requested"
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def report_markdown(report: TriageReport) -> str:
    lines = [f"## Triage of {report.repo}", ""]
    if not report.issues:
        lines.append("No new or unlabelled open issues.")
    for t in report.issues:
        lines.append(f"### #{t.number} {t.title}")
        if t.status != "triaged":
            lines += ["", "The model's answer stayed unreadable after a repair; nothing suggested.", ""]
            continue
        lines += ["", t.summary, ""]
        lines.append(f"- labels: {', '.join(t.labels) or '(none)'} ({t.labels_outcome})")
        for d in t.duplicates:
            lines.append(f"- possible duplicate of #{d.number} (similarity {d.score:.2f}): {d.reason}")
        if t.dropped:
            lines.append(f"- dropped from the model's answer: {'; '.join(t.dropped)}")
        lines.append("")
    lines.append(
        f"Digest: {report.digest_outcome}. Open issues scanned: {report.open_scanned}; "
        f"model calls: {report.model_calls}."
    )
    lines += [f"Note: {n}" for n in report.notes]
    return "\n".join(lines)


def slack_escape(text: str) -> str:
    """Plain text for Slack mrkdwn: no links (they could carry data out), no mentions or markup.

    The one sanitiser of model output (`model.untrusted`), shared with the review bot."""
    return slack_plain(text)


def digest_text(report: TriageReport) -> str:
    """One message for the whole run."""
    triaged = [t for t in report.issues if t.status == "triaged"]
    lines = [f"*Issue triage: {slack_escape(report.repo)}* ({len(triaged)} issue(s))"]
    for t in triaged:
        labels = ", ".join(f"`{slack_escape(x)}`" for x in t.labels) or "none"
        line = f"• #{t.number} {slack_escape(t.title[:120])}: {slack_escape(t.summary)} Labels: {labels}"
        if t.labels_outcome == "applied":
            line += " (applied)"
        for d in t.duplicates:
            line += f" Possible duplicate of #{d.number}: {slack_escape(d.reason)}"
        lines.append(line)
    text = "\n".join(lines)
    return text if len(text) <= MAX_DIGEST_CHARS else text[: MAX_DIGEST_CHARS - 1] + "…"

"""Markdown: the report for a terminal, the summary a forge shows, and each inline comment.

Every comment the bot posts carries a hidden marker (an HTML comment) that names
it on later runs: `<!-- mcp-hub-review:finding:FP -->` on a finding,
`<!-- mcp-hub-review:outdated:FP -->` on the note that retires one, and
`<!-- mcp-hub-review:summary -->` on the summary.
"""

from __future__ import annotations

import re

from model.review.findings import Finding
from model.review.report import ReviewReport
from model.untrusted import forge_markdown

MARKER = "mcp-hub-review"
_MARKERS = re.compile(
    r"(?:<!--|\[hidden comment:)\s*mcp-hub-review:(finding|outdated|summary|describe)(?::([0-9a-f]{12}))?"
)

_TEXT = {
    "en": {
        "title": "Code review",
        "findings": "Findings",
        "none": "No problems found in the reviewed lines.",
        "none_unreviewed": "No findings in the lines that were reviewed; this is not a review of the change.",
        "not_reviewed": "NOT REVIEWED",
        "not_reviewed_why": "**Not reviewed**: {why}. Do not read this as an approval or as a clean result.",
        "withheld_findings": "Withheld (not posted)",
        "outside": "Outside the diff (not posted inline)",
        "security": "Security pass (scanner, independent of the model)",
        "security_none": "No secrets, backdoor patterns, CI workflow edits or new dependencies in the added lines.",
        "noticed": "the model noticed it too",
        "missed": "the model did not mention it",
        "coverage": "Coverage",
        "outdated": "No longer applies as of {sha}: marked outdated by the review bot.",
        "withheld": "suggested change withheld by the scanner",
        "incremental": "Reviewed commits `{since}..{head}` only: pushed since the last review ({files} file(s)).",
        "no_new_commits": "No commits since the last review (`{since}`): nothing new to review.",
        "full_fallback": "Whole change reviewed: {why}.",
        "carried": "Still open from earlier reviews",
        "none_incremental": "No new findings in the commits reviewed.",
    },
    "ja": {
        "title": "コードレビュー",
        "findings": "指摘事項",
        "none": "レビューした行に問題は見つかりませんでした。",
        "none_unreviewed": "レビューできた行に指摘はありませんが、この変更のレビューは完了していません。",
        "not_reviewed": "未レビュー",
        "not_reviewed_why": "**未レビュー**: {why}。承認や問題なしの結果として扱わないでください。",
        "withheld_findings": "投稿を保留した指摘",
        "outside": "差分外の指摘（インラインには投稿しません）",
        "security": "セキュリティチェック（スキャナーによる、モデルとは独立）",
        "security_none": "追加行に秘密情報・バックドアのパターン・CI ワークフローの変更・新しい依存関係はありません。",
        "noticed": "モデルも指摘",
        "missed": "モデルは指摘せず",
        "coverage": "カバレッジ",
        "outdated": "{sha} の時点で該当しなくなりました（レビューボットにより outdated）。",
        "withheld": "スキャナーにより修正案を非表示にしました",
        "incremental": (
            "前回のレビュー以降にプッシュされたコミット `{since}..{head}` のみをレビューしました（{files} ファイル）。"
        ),
        "no_new_commits": "前回のレビュー（`{since}`）以降のコミットはありません。",
        "full_fallback": "変更全体をレビューしました: {why}。",
        "carried": "以前のレビューから未解決の指摘",
        "none_incremental": "レビューしたコミットに新しい指摘はありません。",
    },
}


def text(lang: str, key: str) -> str:
    return _TEXT.get(lang, _TEXT["en"])[key]


def markers_in(body: str) -> list[tuple[str, str]]:
    """(kind, fingerprint) of each marker in a comment, shown or hidden (a forge may display HTML comments)."""
    return [(m.group(1), m.group(2) or "") for m in _MARKERS.finditer(body or "")]


#: The head the summary's review covered (written only when that run counted as reviewed): where the next
#: run's incremental review starts.
_HEAD = re.compile(r"(?:<!--|\[hidden comment:)\s*mcp-hub-review:head:([0-9a-f]{7,64})\b")
#: The first line of the bot's finding comment: its severity and category.
_FINDING_HEAD = re.compile(r"^\*\*(low|medium|high|critical)\*\* · (\w+):")


#: A finding placed in the diff, as the summary records it (posted inline or not: withheld ones too), so an
#: incremental run keeps it in the gate while its line is still in the diff.
_OPEN = re.compile(
    r"(?:<!--|\[hidden comment:)\s*mcp-hub-review:open:([0-9a-f]{12}):(low|medium|high|critical):([a-z]+)\b"
)


def open_marker(fp: str, severity: str, category: str) -> str:
    return f"<!-- {MARKER}:open:{fp}:{severity}:{category} -->"


def open_in(body: str) -> list[tuple[str, str, str]]:
    """(fingerprint, severity, category) of each finding the summary records as open."""
    return [(m.group(1), m.group(2), m.group(3)) for m in _OPEN.finditer(body or "")]


def head_marker(sha: str) -> str:
    return f"<!-- {MARKER}:head:{sha} -->"


def reviewed_head_in(body: str) -> str:
    """The head recorded in the bot's summary ('' when none: the last run was not a review)."""
    found = _HEAD.search(body or "")
    return found.group(1) if found else ""


def finding_head(body: str) -> tuple[str, str] | None:
    """(severity, category) of the bot's own finding comment, from its first line."""
    found = _FINDING_HEAD.match(body or "")
    return (found.group(1), found.group(2)) if found else None


def finding_marker(fp: str) -> str:
    return f"<!-- {MARKER}:finding:{fp} -->"


def outdated_marker(fp: str) -> str:
    return f"<!-- {MARKER}:outdated:{fp} -->"


SUMMARY_MARKER = f"<!-- {MARKER}:summary -->"
DESCRIBE_MARKER = f"<!-- {MARKER}:describe -->"


def comment_body(finding: Finding, lang: str = "en", fence: str = "```suggestion") -> str:
    """The inline comment; `fence` opens its suggestion block (GitLab's names the lines a range replaces)."""
    body = f"**{finding.severity}** · {finding.category}: {finding.message}"
    if finding.suggestion is not None:
        body += f"\n\n{fence}\n{finding.suggestion}\n```"
    if finding.note:
        body += f"\n\n_{finding.note}_"
    return body + "\n\n" + finding_marker(finding.fingerprint)


_SUGGESTION_FENCE = re.compile(r"```suggestion\S*")
_MARKER_TEXT = re.compile(r"(?:<!--|\[hidden comment:)\s*mcp-hub-review:[^>\]]*(?:-->|\])")


def retired_body(original: str, fp: str, sha: str, lang: str = "en") -> str:
    """The bot's own finding comment, edited to say it is outdated: the notice, the old text quoted
    (its suggested change no longer applicable), the finding's marker kept and the outdated one added."""
    kept = _SUGGESTION_FENCE.sub("```", _MARKER_TEXT.sub("", original)).strip()
    quoted = "\n".join(f"> {line}" if line else ">" for line in kept.splitlines())
    notice = text(lang, "outdated").format(sha=sha[:12])
    return f"{notice}\n\n{quoted}\n\n{finding_marker(fp)}\n{outdated_marker(fp)}"


def _finding_line(f: Finding, with_suggestion: bool) -> str:
    where = f"{f.line}-{f.end_line}" if f.end_line else str(f.line)
    line = f"- **{f.severity}** · {f.category} · `{f.path}:{where}` — {f.message}"
    if with_suggestion and f.suggestion is not None:
        line += "\n\n  ```suggestion\n  " + f.suggestion.replace("\n", "\n  ") + "\n  ```"
    return line


def coverage_footer(report: ReviewReport) -> str:
    c, u = report.coverage, report.usage
    lines = [
        f"**{text(report.lang, 'coverage')}**: reviewed {len(c.files_reviewed)} of {c.files_total} files "
        f"and {c.lines_reviewed} of {c.lines_total} changed lines ({c.share:.0%}; "
        f"{c.reviewable_share:.0%} of the {c.lines_reviewable} reviewable) in {u.calls} model call(s)"
        + (f", {u.repairs} repaired" if u.repairs else "")
        + (f", {u.out_of_tokens} cut at the token limit" if u.out_of_tokens else "")
        + "."
    ]
    for title, items in (
        ("Partly reviewed", c.files_partial),
        ("Not reviewed", c.files_not_reviewed),
        ("Skipped", c.files_skipped),
    ):
        if items:
            shown = ", ".join(f"`{path}` ({why})" for path, why in items[:30])
            more = f" and {len(items) - 30} more" if len(items) > 30 else ""
            lines.append(f"{title}: {shown}{more}.")
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


def security_section(report: ReviewReport) -> str:
    out = [f"### {text(report.lang, 'security')}"]
    if not report.security:
        out.append(text(report.lang, "security_none"))
    for item in report.security:
        where = f"`{item.path}" + (f":{item.line}" if item.line else "") + "`" if item.path else "the change"
        seen = text(report.lang, "noticed" if item.model_noticed else "missed")
        out.append(f"- **{item.severity}** · {item.rule}: {item.detail} in {where} ({seen})")
    return "\n".join(out)


def _scope_line(report: ReviewReport) -> str:
    """Says what this run covered when the bot had reviewed the change before."""
    inc = report.increment
    if inc is None:
        return ""
    if not inc.incremental:
        return text(report.lang, "full_fallback").format(why=inc.fallback)
    if inc.since == inc.head:
        return text(report.lang, "no_new_commits").format(since=inc.since[:12])
    return text(report.lang, "incremental").format(since=inc.since[:12], head=inc.head[:12], files=inc.files)


def report_markdown(report: ReviewReport, *, posted_inline: bool = False) -> str:
    """The whole report; with `posted_inline`, findings are listed briefly (their comments carry the details)."""
    change = report.change
    lang = report.lang
    why = report.coverage.not_reviewed_reason()
    # The title is the author's text: sanitised like the model's before it is shown in the bot's voice.
    title = forge_markdown(change.title.replace("\n", " "), (change.target.host.split(":")[0],))
    status = f"{text(lang, 'not_reviewed')}: " if why else ""
    out = [f"## {text(lang, 'title')}: {status}{change.target.label} — {title}", ""]
    if why:
        out += [text(lang, "not_reviewed_why").format(why=why), ""]
    scope = _scope_line(report)
    if scope:
        out += [scope, ""]
    if report.summaries:
        out += [" ".join(report.summaries), ""]
    out.append(f"### {text(lang, 'findings')} ({len(report.findings)})")
    incremental = report.increment is not None and report.increment.incremental
    empty = text(lang, "none_unreviewed" if why else "none_incremental" if incremental else "none")
    out.append("\n".join(_finding_line(f, not posted_inline) for f in report.findings) or empty)
    if report.carried:
        out += ["", f"### {text(lang, 'carried')} ({len(report.carried)})"]
        out += [
            f"- **{c.severity}** · {c.category}" + (f" · `{c.path.replace('`', '')}`" if c.path else "")
            for c in report.carried
        ]
    if report.folded:
        out += ["", f"### {text(lang, 'outside')} ({len(report.folded)})"]
        out += [_finding_line(f, False) for f in report.folded]
    if report.posted is not None and report.posted.withheld and not posted_inline:
        out += ["", f"### {text(lang, 'withheld_findings')} ({len(report.posted.withheld)})"]
        out += [f"- {item}" for item in report.posted.withheld]
    out += ["", security_section(report), "", "---", coverage_footer(report)]
    return "\n".join(out)

"""One triage run: read the repository's labels and open issues through the hub, ask the model about each
new or unlabelled issue, and, with approval, add the suggested labels and post one Slack digest.

Nothing the model writes decides a tool call: it returns a summary, labels from the repository's own list
and duplicates from the candidate list (both validated), and this code makes the only writes there are
(the label write per issue and one digest), each through the agent's gate (flow guard, scanner, approval).
An issue that asks the bot to do something is triaged like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.approvals import AskFn
from model.client import ModelClient
from model.gate import Gate
from model.hub import HubSession
from model.profiles import Profile
from model.review.hubcalls import HubCalls, ReviewError
from model.triage.engine import ask_model
from model.triage.forges import IssueForge, IssueText
from model.triage.repo import RepoRef
from model.triage.report import Duplicate, IssueTriage, TriageReport, digest_text
from model.triage.similar import rank_similar

SLACK_TOOL = "slack_post_message"


@dataclass
class TriageOptions:
    #: These issues; None: the open issues without labels, newest first.
    numbers: list[int] | None = None
    max_issues: int = 10
    #: Write (labels, digest) when approved; False: only report.
    apply: bool = False
    #: Approve the triage's writes without asking (`--approve`, `[triage] approve`).
    approve: bool = False
    #: Asks a person when a write needs one; None: unapproved writes are denied.
    ask: AskFn | None = None
    #: Checked against `[triage] slack_channels` by the caller (TriageSettings.channel).
    digest_channel: str | None = None
    lang: str = "en"
    model: str = ""
    verdict_log: Path | None = None
    #: The answer's token limit per model call (reasoning included); None: the profile's, at most 4,096.
    max_tokens: int | None = None
    #: vLLM `thinking_token_budget`, for profiles with a reasoning parser.
    thinking_budget: int | None = None


async def run_triage(
    session: HubSession, client: ModelClient, profile: Profile, repo: RepoRef, options: TriageOptions | None = None
) -> TriageReport:
    options = options or TriageOptions()
    hub = HubCalls(session)
    forge = IssueForge(repo, hub)
    report = TriageReport(str(repo))
    labels = await forge.labels()
    report.labels_known = len(labels)
    open_issues = await forge.open_issues()
    report.open_scanned = len(open_issues)
    if options.numbers is not None:
        numbers = options.numbers
    else:
        numbers = [i.number for i in open_issues if not i.labels][: options.max_issues]
    bodies: dict[int, IssueText] = {}

    async def full(number: int) -> IssueText:
        if number not in bodies:
            bodies[number] = await forge.issue(number)
        return bodies[number]

    for number in numbers:
        issue = await full(number)
        others = [(o.number, o.title) for o in open_issues if o.number != number]
        target = f"{issue.title}\n{issue.body}"
        # Titles of every open issue first, then the shortlist again with bodies; the better score counts.
        shortlist = {c.number: c.score for c in rank_similar(target, others, limit=5, min_score=0.1)}
        texts = [(n, f"{(await full(n)).title}\n{bodies[n].body}") for n in shortlist]
        rescored = {c.number: c.score for c in rank_similar(target, texts, limit=5, min_score=0.0)}
        best = {n: max(score, rescored.get(n, 0.0)) for n, score in shortlist.items()}
        ranked = sorted((n for n in best if best[n] >= 0.15), key=lambda n: (-best[n], n))[:3]
        candidates = [bodies[n] for n in ranked]
        answer, calls = await ask_model(
            client,
            profile,
            repo.path,
            issue,
            labels,
            candidates,
            lang=options.lang,
            model=options.model,
            max_tokens=options.max_tokens,
            thinking_budget=options.thinking_budget,
        )
        report.model_calls += calls
        result = IssueTriage(number, issue.title)
        if answer is None:
            result.status = "unreadable"
        else:
            scores = best
            result.summary = answer.summary
            result.labels = answer.labels
            result.duplicates = [Duplicate(n, reason, scores.get(n, 0.0)) for n, reason in answer.duplicates]
            result.dropped = answer.dropped
            result.labels_outcome = "not requested" if not options.apply else "pending"
            result.existing = issue.labels
        report.issues.append(result)
    if options.apply:
        await _apply(report, forge, hub, options)
    elif options.digest_channel:
        report.digest_outcome = "not requested (run with --apply to post)"
    return report


async def _apply(report: TriageReport, forge: IssueForge, hub: HubCalls, options: TriageOptions) -> None:
    globs = (forge.label_tool, SLACK_TOOL) if options.approve else ()
    gate = hub.gate(globs, options.ask, options.verdict_log)
    for result in report.issues:
        if result.status != "triaged":
            continue
        new = [x for x in result.labels if x not in result.existing]
        if not new:
            result.labels_outcome = "nothing to apply"
            continue
        tool, arguments = forge.label_call(result.number, new)
        result.labels_outcome = await _write(gate, hub, tool, arguments)
    if not options.digest_channel:
        report.digest_outcome = "no channel (set [triage] digest_channel or --slack-channel)"
        return
    if not any(r.status == "triaged" for r in report.issues):
        report.digest_outcome = "nothing to post"
        return
    text = digest_text(report)
    outcome = await _write(gate, hub, SLACK_TOOL, {"channel": options.digest_channel, "text": text})
    report.digest_outcome = f"posted to {options.digest_channel}" if outcome == "applied" else outcome


async def _write(gate: Gate, hub: HubCalls, tool: str, arguments: dict[str, Any]) -> str:
    decision = await hub.gate_check(gate, tool, arguments)
    if decision is None:
        return f"failed: the hub offers no {tool} (configure its connector and allow writes: MCP_HUB_ALLOW_WRITES=1)"
    if not decision.allowed:
        hint = (
            " (run with --approve, --wait-for-approval, or answer yes at the terminal)"
            if decision.how == "non-interactive"
            else ""
        )
        return f"not approved ({decision.how}): {'; '.join(decision.reasons)}{hint}"
    try:
        await hub.call(tool, arguments)
    except ReviewError as exc:
        return f"failed: {exc.message}"
    return "applied"

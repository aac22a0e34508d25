"""One review from a URL to a report (and, on request, a posted review): what the CLI, the MCP tool and
library users call.

    app = AgentApp.from_args(args)                                   # model.app: settings, hub, client
    async with app.client() as client, app.session() as session:
        report = await run_review(session, client, app.profile, URL, ReviewOptions(**app.limits()))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from model.approvals import AskFn
from model.client import ModelClient
from model.hub import HubSession
from model.profiles import Profile
from model.review import checkrun
from model.review.engine import Progress, ReviewOptions, review_change
from model.review.forges import Earlier, Forge, forge_for
from model.review.hubcalls import HubCalls, ReviewError
from model.review.post import derivable, has_news, posting_tools, publish
from model.review.report import Carried, Change, Increment, ReviewReport
from model.review.security import security_pass
from model.review.settings import SETTINGS_PATH, parse_settings
from model.review.target import parse_target


@dataclass
class PostOptions:
    post: bool = False
    #: Asks a person when a write needs one (scanner "review", flow guard); None: such writes are denied.
    ask: AskFn | None = None
    verdict_log: Path | None = None
    #: Called with the finished review before anything is posted; raises to stop posting
    #: (the MCP tool asks the client's user here).
    confirm: Callable[[ReviewReport], Awaitable[None]] | None = None
    #: "review": inline comments and a summary comment; "check-run" (GitHub): one check run on the head
    #: commit with the findings as annotations (whole change, never incremental).
    as_: Literal["review", "check-run"] = "review"
    #: The gate's threshold, for the check run's conclusion.
    fail_on: str | None = None


async def run_review(
    session: HubSession,
    client: ModelClient,
    profile: Profile,
    url: str,
    options: ReviewOptions | None = None,
    *,
    lang: str | None = None,
    posting: PostOptions | None = None,
    progress: Progress | None = None,
) -> ReviewReport:
    """Fetch the change through the hub, review it, and post when asked. `lang` overrides the repository's."""
    options = options or ReviewOptions()
    posting = posting or PostOptions()
    target = parse_target(url)
    if posting.post and posting.as_ == "check-run":
        if target.forge != "github":
            raise ReviewError("check runs are GitHub's; on GitLab post the review as comments (--as review)")
        options = replace(options, incremental=False)  # a check run shows the whole change at its commit
    hub = HubCalls(session)
    forge = forge_for(target, hub)
    change = await forge.fetch()
    ref = settings_ref(change)
    settings, warning = parse_settings(await forge.settings_text(SETTINGS_PATH, ref) if ref else None)
    options = replace(
        options,
        lang=lang or settings.language or options.lang,
        skip=(*options.skip, *settings.skip),
        min_severity=max(options.min_severity, settings.severity_threshold, key=_severity_rank),
        instructions="\n".join(x for x in (options.instructions, settings.instructions) if x),
        path_instructions=(
            *options.path_instructions,
            *((rule.path, rule.instructions) for rule in settings.path_instructions),
        ),
    )
    earlier: Earlier | None = None
    notes = [warning] if warning else []
    if posting.post or options.incremental:
        try:
            earlier = await forge.earlier()
        except ReviewError as exc:
            if posting.post:
                raise
            notes.append(f"the bot's earlier reviews could not be read ({exc.message[:200]}); whole change reviewed")
    increment, reviewed = None, change
    if earlier is not None and earlier.reviewed_head and options.incremental:
        increment, reviewed = await _increment(forge, change, earlier.reviewed_head)
    report = await review_change(reviewed, client, profile, options, progress)
    report.change = change
    report.notes += notes
    report.increment = increment
    if increment is not None and increment.incremental and earlier is not None:
        _anchor(report)
        report.carried = carried(report, earlier)
        # The scanner costs no model call: it always covers the whole change, so a secret or backdoor
        # found before keeps failing the gate after an unrelated push.
        report.security = security_pass(change.files, report.findings, use_bandit=options.use_bandit)
    # Recorded only by a run that counts as a review: after a failed run the next one reviews it all.
    report.reviewed_head = change.head_sha if report.reviewed else ""
    if posting.post and earlier is not None:
        # Nothing new to post (a re-run after no change): nobody is asked; `publish` says so.
        news = posting.as_ == "check-run" or has_news(report, earlier)  # a check run is always a new one
        if posting.confirm is not None and news:
            await posting.confirm(report)
        await _post(report, forge, posting, earlier)
    return report


async def _increment(forge: Forge, change: Change, since: str) -> tuple[Increment, Change]:
    """The change narrowed to the commits since `since`, or the whole change and why (force-push, …)."""
    head = change.head_sha
    if since == head:
        files = []
    else:
        found = await forge.increment(since, head)
        if isinstance(found, str):
            return Increment(since, head, fallback=found), change
        files = found
    # Only files the change itself still changes: a merge of the base branch brings others.
    paths = {f.path for f in change.files}
    kept = [f for f in files if f.path in paths]
    return Increment(since, head, files=len(kept)), replace(change, files=kept)


def _anchor(report: ReviewReport) -> None:
    """Findings on increment lines the change's own diff does not show cannot be placed: outside the diff."""
    lines = {f.path: f.new_lines() for f in report.change.files}
    kept = []
    for finding in report.findings:
        if finding.line in lines.get(finding.path, {}):
            kept.append(finding)
        else:
            finding.in_diff, finding.suggestion = False, None
            report.folded.append(finding)
    report.findings = kept


def carried(report: ReviewReport, earlier: Earlier) -> list[Carried]:
    """The bot's earlier findings still open: not retired, not found again, their line still in the diff."""
    current = {f.fingerprint for f in report.findings}
    alive = derivable(report) if earlier.details else set()
    out = []
    for fp, (severity, category, path) in sorted(earlier.details.items()):
        if fp in current or fp in earlier.outdated or fp not in alive:
            continue
        out.append(Carried(fp, severity, category, path))
    return out


def settings_ref(change: Change) -> str:
    """Where the repository's review settings are read: the base branch, never the PR/MR head.

    The author controls the head; settings read there would let a change skip, soften or re-word its
    own review (the tests switch this to the head to show the difference).
    """
    return change.base


async def post_approved(session: HubSession, report: ReviewReport, posting: PostOptions) -> ReviewReport:
    """Post a review finished earlier (`report`, its diff left out) once a person approved it.

    The change is read again through the hub, which also shows the flow guard what is being
    written about; a change pushed to since the review is not posted on (its findings may no
    longer match), and the caller is told to review again.
    """
    hub = HubCalls(session)
    forge = forge_for(report.change.target, hub)
    change = await forge.fetch()
    if change.head_sha != report.change.head_sha:
        raise ReviewError(
            f"{report.change.target.label} changed since the review (head {report.change.head_sha[:12]} is now "
            f"{change.head_sha[:12]}); nothing was posted: review it again"
        )
    report.change = change
    await _post(report, forge, posting)
    return report


async def _post(report: ReviewReport, forge: Forge, posting: PostOptions, earlier: Earlier | None = None) -> None:
    check_run = posting.as_ == "check-run"
    tools = (checkrun.TOOL,) if check_run else posting_tools(forge)
    gate = forge.hub.gate(tools, posting.ask, posting.verdict_log)
    if check_run:
        report.posted = await checkrun.publish_check_run(report, forge, gate, posting.fail_on)
    else:
        report.posted = await publish(report, forge, gate, earlier)


def _severity_rank(severity: str) -> int:
    from model.review.findings import rank

    return rank(severity)

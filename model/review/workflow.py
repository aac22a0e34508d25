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

from model.approvals import AskFn
from model.client import ModelClient
from model.gate import new_gate
from model.hub import HubSession
from model.profiles import Profile
from model.review.engine import Progress, ReviewOptions, review_change
from model.review.forges import Earlier, Forge, forge_for
from model.review.hubcalls import HubCalls, ReviewError
from model.review.post import has_news, posting_tools, publish
from model.review.report import ReviewReport
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
    hub = HubCalls(session)
    forge = forge_for(target, hub)
    change = await forge.fetch()
    settings, warning = parse_settings(await forge.settings_text(SETTINGS_PATH, change.base) if change.base else None)
    options = replace(
        options,
        lang=lang or settings.language or options.lang,
        skip=(*options.skip, *settings.skip),
        min_severity=max(options.min_severity, settings.severity_threshold, key=_severity_rank),
        instructions="\n".join(x for x in (options.instructions, settings.instructions) if x),
    )
    report = await review_change(change, client, profile, options, progress)
    if warning:
        report.notes.append(warning)
    if posting.post:
        earlier = await forge.earlier()
        # Nothing new to post (a re-run after no change): nobody is asked; `publish` says so.
        if posting.confirm is not None and has_news(report, earlier):
            await posting.confirm(report)
        await _post(report, forge, posting, earlier)
    return report


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
    gate = new_gate(posting_tools(forge), posting.ask, forge.hub.guard, posting.verdict_log)
    report.posted = await publish(report, forge, gate, earlier)


def _severity_rank(severity: str) -> int:
    from model.review.findings import rank

    return rank(severity)

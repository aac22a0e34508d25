"""`mcp-hub review --describe URL`: the description and walkthrough, printed or posted.

Posted as one conversation comment of the bot's (`<!-- mcp-hub-review:describe -->`), edited in
place on later runs and left alone when nothing changed; through the agent's gate (flow guard,
scanner, verdict log) with exactly the two comment tools approved. Only the bot's own comment
counts: a marker someone else wrote is ignored. A description the model failed to write is
never posted.
"""

from __future__ import annotations

from dataclasses import replace

from model.client import ModelClient
from model.hub import HubSession
from model.profiles import Profile
from model.review.describe import Description, describe_change
from model.review.engine import ReviewOptions
from model.review.forges import Forge, forge_for
from model.review.hubcalls import HubCalls
from model.review.post import gated, normal_body
from model.review.render import DESCRIBE_MARKER, security_section
from model.review.report import ReviewReport
from model.review.settings import SETTINGS_PATH, parse_settings
from model.review.target import parse_target
from model.review.workflow import PostOptions, settings_ref
from model.scanner import scan_write
from model.untrusted import forge_markdown

_TITLE = {"en": "Description", "ja": "変更の説明"}


def description_markdown(d: Description) -> str:
    change = d.change
    title = forge_markdown(change.title.replace("\n", " "), (change.target.host.split(":")[0],))
    heading = _TITLE.get(d.lang, _TITLE["en"])
    if not d.described:
        return f"## {heading}: NOT DESCRIBED: {change.target.label} — {title}\n\n**Not described**: {d.failure}."
    out = [f"## {heading}: {change.target.label} — {title}", "", d.summary, ""]
    reasons = "; ".join(d.risk_reasons)
    out += [f"**Risk: {d.risk}**" + (f" — {reasons}" if reasons else ""), "", "### Walkthrough"]
    for group in d.groups:
        files = ", ".join(f"`{f.path}` (+{f.additions} −{f.deletions})" for f in group.files[:20])
        more = f" and {len(group.files) - 20} more" if len(group.files) > 20 else ""
        out.append(f"- **{group.name}** — {group.text or '(no description from the model)'}")
        out.append(f"  {files}{more}")
    if d.skipped:
        out.append("- **Not described** — " + ", ".join(f"`{p}` ({why})" for p, why in d.skipped[:30]))
    out += ["", security_section(_as_report(d)), "", "---"]
    footer = f"Described from the diff of {len(d.shown)} of {len(d.shown) + len(d.names_only)} files"
    footer += f" in {d.usage.calls} model call(s)"
    if d.names_only:
        footer += "; by name only (over the budget): " + ", ".join(f"`{p}`" for p in d.names_only[:30])
    return "\n".join(out) + "\n" + footer + "."


def _as_report(d: Description) -> ReviewReport:
    return ReviewReport(d.change, security=d.security, lang=d.lang)


async def run_describe(
    session: HubSession,
    client: ModelClient,
    profile: Profile,
    url: str,
    options: ReviewOptions | None = None,
    *,
    lang: str | None = None,
    posting: PostOptions | None = None,
) -> Description:
    """Describe the change (and post it when asked); `lang` overrides the repository's setting."""
    options = options or ReviewOptions()
    posting = posting or PostOptions()
    forge = forge_for(parse_target(url), HubCalls(session))
    change = await forge.fetch()
    ref = settings_ref(change)
    settings, _ = parse_settings(await forge.settings_text(SETTINGS_PATH, ref) if ref else None)
    options = replace(options, lang=lang or settings.language or options.lang, skip=(*options.skip, *settings.skip))
    description = await describe_change(change, client, profile, options)
    if posting.post and description.described:
        description.posted = await _post(description, forge, posting)
    return description


async def _post(d: Description, forge: Forge, posting: PostOptions) -> str:
    earlier = await forge.earlier()
    body = description_body(d)
    if earlier.describe_note is not None and normal_body(earlier.describe_body) == normal_body(body):
        return "unchanged since the last run: nothing posted"
    gate = forge.hub.gate(forge.note_tools, posting.ask, posting.verdict_log)
    for tool, arguments in forge.note_calls(body, earlier.describe_note):
        await gated(gate, forge.hub, forge.hub.call, tool, arguments)
    return "edited the earlier description" if earlier.describe_note else "posted"


def description_body(d: Description) -> str:
    body = description_markdown(d)
    if scan_write({"body": body}, use_bandit=False).action != "allow":
        body = _TITLE.get(d.lang, _TITLE["en"]) + " (withheld by the scanner)"
    return body + "\n\n" + DESCRIBE_MARKER

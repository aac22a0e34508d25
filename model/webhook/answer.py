"""Running a comment command job: who may command the bot, then the command, then one answer in-thread.

In order, every step before the model is called:

1. **The bot's own comments never trigger.** The hub's own account (`{forge}_get_authenticated_user`)
   is compared with every actor of the event (the comment's author and, for an edit, the editor): a
   comment the bot wrote (or edited) is ignored, whatever the payload says about bots.
2. **Write access, asked of the forge.** Every actor must have write access now: GitHub
   `github_get_collaborator_permission` says `admin` or `write` (maintain counts as write); GitLab
   `gitlab_get_member_access` says Developer (30) or above. Anything else, an error included, is a
   refusal. The payload's `author_association` is never read.
   Refusals are silent (no reply): a refusal posted on request would let anyone make the bot write on
   every PR/MR. The job's outcome (and the log) says who was refused and why.
3. **Exactly once.** The queue runs a command once per comment (its job key; see `model.webhook.jobs`);
   the answer carries a hidden marker, `<!-- mcp-hub-review:answer:KIND-ID -->`, and a run that finds it
   in one of the bot's own comments (a worker that died after posting, before recording) posts nothing.
4. `/review` runs the review bot on the PR/MR's current head and posts it (as the automatic review does),
   then replies with the outcome; `/ask` answers from the diff (`model.webhook.ask`).

The answer goes through the agent's gate (scanner, flow guard, verdict log) like the review's posts, to
the comment's own thread: a GitHub inline comment gets a reply in its thread, a GitLab note a reply in
its discussion, a GitHub conversation comment a conversation comment pointing at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.client import ModelClient
from model.hub import HubSession
from model.profiles import Profile
from model.review.engine import ReviewOptions
from model.review.forges import MAX_PAGES, forge_for
from model.review.hubcalls import HubCalls, ReviewError
from model.review.target import Target, parse_target
from model.review.workflow import PostOptions, run_review
from model.untrusted import forge_markdown
from model.webhook.ask import ask
from model.webhook.jobs import Command, Job

#: GitLab's Developer role: the lowest that can push (and so command the bot).
DEVELOPER = 30
WRITERS = frozenset({"admin", "write"})


def answer_marker(command: Command) -> str:
    return f"<!-- mcp-hub-review:answer:{command.kind}-{command.comment_id} -->"


@dataclass
class CommandRunner:
    client: ModelClient
    profile: Profile
    served_name: str
    verdict_log: Path | None = None
    max_calls: int = 24

    async def __call__(self, session: HubSession, job: Job) -> str:
        command = job.command
        if command is None:
            raise ReviewError("not a command job")
        hub = HubCalls(session)
        target = parse_target(job.url)
        if (target.forge, target.repo.lower(), target.number) != (job.forge, job.repo.lower(), job.number):
            raise ReviewError(f"the delivery's URL {job.url[:200]} is not {job.repo} #{job.number}")
        own = await _own_account(hub, job.forge)
        if _is_bot(command, own):
            return "ignored: the bot's own comment"
        refused = await _refusal(hub, job, command)
        if refused:
            return f"refused (no reply): {refused}"
        marker = answer_marker(command)
        if await _answered(hub, target, command, own[0], marker):
            return f"already answered /{command.name} (comment {command.comment_id})"
        if command.name == "review":
            body, outcome = await self._review(session, job)
        else:
            change = await forge_for(target, hub).fetch()
            host = target.host.split(":")[0]
            body = await ask(self.client, self.profile, change, command.question, model=self.served_name, hosts=(host,))
            outcome = f"answered /ask on {target.label}"
        await _reply(hub, target, command, body + "\n\n" + marker, self.verdict_log)
        return outcome

    async def _review(self, session: HubSession, job: Job) -> tuple[str, str]:
        options = ReviewOptions(model=self.served_name, max_calls=self.max_calls)
        posting = PostOptions(post=True, verdict_log=self.verdict_log)
        report = await run_review(session, self.client, self.profile, job.url, options, posting=posting)
        head = report.change.head_sha[:12]
        why = report.coverage.not_reviewed_reason()
        p = report.posted
        posted = (p.skipped_reason or f"{p.new} new comment(s)") if p else "nothing posted"
        if why:
            # Our own words, but `why` may quote a file path from the diff: sanitised like model text.
            text = forge_markdown(f"**Not reviewed** (head `{head}`): {why}.", ())
        else:
            text = f"Reviewed head `{head}`: {len(report.findings)} finding(s); {posted}."
        return text, f"answered /review: {'NOT reviewed' if why else 'reviewed'} {head}; {posted}"


async def _own_account(hub: HubCalls, forge: str) -> tuple[str, str]:
    """(login or username, GitLab user id or "") of the account the hub posts as."""
    account = (await hub.call(f"{forge}_get_authenticated_user", {})).data
    name = str(account.get("login") or account.get("username") or "")
    if not name:
        raise ReviewError(f"{forge}_get_authenticated_user named no account: cannot tell the bot's own comments")
    uid = account.get("id")
    return name, str(uid) if forge == "gitlab" and isinstance(uid, int) else ""


def _is_bot(command: Command, own: tuple[str, str]) -> bool:
    login, uid = own[0].lower(), own[1]
    names = {x.lower() for x in (*command.actors, *command.names)}
    return login in names or (bool(uid) and uid in command.actors)


async def _refusal(hub: HubCalls, job: Job, command: Command) -> str | None:
    """Why the command is refused (someone without write access), or None when every actor may write."""
    for actor in command.actors:
        try:
            if job.forge == "github":
                data = (
                    await hub.call("github_get_collaborator_permission", {"repo": job.repo, "username": actor})
                ).data
                level = str(data.get("permission") or "none")
                if level not in WRITERS:
                    return f"{actor} has {level} access to {job.repo}, not write"
            else:
                member: dict[str, Any] = {"project": job.repo, "user_id": int(actor)}
                data = (await hub.call("gitlab_get_member_access", member)).data
                access = int(data.get("access_level") or 0)
                if access < DEVELOPER:
                    return f"user {actor} has access level {access} on {job.repo}, below Developer (30)"
        except (ReviewError, ValueError) as exc:  # not a member, unknown user, tool missing: no access
            return f"could not confirm write access of {actor}: {str(exc)[:300]}"
    return None


async def _comments(hub: HubCalls, target: Target, command: Command) -> AsyncIterator[dict[str, Any]]:
    """The comments/notes where an answer to `command` would be."""
    if target.forge == "github":
        where = {"repo": target.repo, "number": target.number, "limit": 100}
        tool = "github_get_issue" if command.kind == "issue" else "github_list_pull_request_reviews"
        async for page in hub.pages(tool, where, MAX_PAGES):
            for comment in page.data.get("comments", []):
                if isinstance(comment, dict):
                    yield comment
        return
    where = {"project": target.repo, "iid": target.number, "limit": 100}
    async for page in hub.pages("gitlab_list_merge_request_discussions", where, MAX_PAGES):
        for discussion in page.data.get("discussions", []):
            if str(discussion.get("id")) == command.thread:
                for note in discussion.get("notes", []):
                    if isinstance(note, dict):
                        yield note


async def _answered(hub: HubCalls, target: Target, command: Command, own_login: str, marker: str) -> bool:
    """True when one of the bot's own comments already carries this command's answer marker.

    Only the bot's own comments count: a marker copied into someone else's comment suppresses nothing.
    """
    async for comment in _comments(hub, target, command):
        if str(comment.get("author") or "").lower() == own_login.lower() and marker in str(comment.get("body")):
            return True
    return False


async def _reply(hub: HubCalls, target: Target, command: Command, body: str, verdict_log: Path | None) -> None:
    if target.forge == "github" and command.kind == "review":
        tool = "github_reply_to_review_comment"
        args: dict[str, Any] = {"repo": target.repo, "number": target.number}
        args |= {"comment_id": int(command.thread), "body": body}
    elif target.forge == "github":
        tool = "github_add_issue_comment"
        link = f"{target.url.split('#')[0]}#issuecomment-{command.comment_id}"
        args = {"repo": target.repo, "number": target.number, "body": f"Re [/{command.name}]({link}):\n\n{body}"}
    else:
        tool = "gitlab_reply_to_merge_request_discussion"
        args = {"project": target.repo, "iid": target.number, "discussion_id": command.thread, "body": body}
    gate = hub.gate((tool,), verdict_log=verdict_log)
    decision = await hub.gate_check(gate, tool, args)
    if decision is None:
        raise ReviewError(f"the hub offers no tool {tool}: allow writes (MCP_HUB_ALLOW_WRITES=1) to answer commands")
    if not decision.allowed:
        raise ReviewError(f"answering with {tool} was not allowed: {decision.message()}")
    await hub.call(tool, args)

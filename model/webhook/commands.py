"""Comment commands: `/review` and `/ask <question>` in a comment on a pull/merge request -> a command job.

Only what a delivery can tell without asking the forge is decided here (the command, where to answer,
who wrote it); whether those people may command the bot is asked of the forge when the job runs
(`model.webhook.answer`), never taken from the payload's `author_association`.

- GitHub: `issue_comment` (on a pull request; plain issues are ignored) and `pull_request_review_comment`,
  actions `created` and `edited`. An edit of an answered command is the same job (same comment id), so
  it is never answered twice; a comment edited into a command is answered once.
- GitLab: `Note Hook` on a merge request (`noteable_type: MergeRequest`), not system notes; action
  `create` or `update` (GitLab before 16.11 sends no action: a new note).
- The command is the comment's first non-empty line: exactly `/review` (lines after it are not read),
  or `/ask` followed by the question (the rest of the line and the lines after it). Anything else, an
  unknown `/word` included, is not a command (ignored: no job, no reply, no model call).
- Comments the payload already marks as a bot's (GitHub `user.type: Bot` or `performed_via_github_app`)
  are ignored here; the job also compares every author with the hub's own account, which is the check
  that holds when a payload does not say so.
"""

from __future__ import annotations

import re
from typing import Any

from model.webhook.jobs import Command, Job

#: The longest question passed on to the model (characters).
MAX_QUESTION = 2000
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z][\w-]*)(?:[ \t]+(?P<rest>.*))?$")
KNOWN = frozenset({"review", "ask"})
GITHUB_ACTIONS = frozenset({"created", "edited"})
GITLAB_ACTIONS = frozenset({"create", "update"})


class NotACommand(Exception):
    """The comment asks nothing of the bot (the message says why)."""


def parse_command(body: str) -> tuple[str, str]:
    """(command, question) from a comment's text; NotACommand when it holds none."""
    lines = (body or "").replace("\r\n", "\n").split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise NotACommand("empty comment")
    match = _COMMAND.match(lines[first].strip())
    if match is None:
        raise NotACommand("no command")
    name = match["name"].lower()
    if name not in KNOWN:
        raise NotACommand(f"unknown command /{name[:40]}")
    rest = "\n".join([match["rest"] or "", *lines[first + 1 :]]).strip()
    if name == "review":
        if match["rest"]:
            raise NotACommand("/review takes no arguments")
        return name, ""
    if not rest:
        raise NotACommand("/ask without a question")
    return name, rest[:MAX_QUESTION]


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is missing or not an object")
    return value


def _login(user: Any) -> str:
    return str(user.get("login") or "") if isinstance(user, dict) else ""


def github_command(event: str, payload: dict[str, Any]) -> Job:
    """A command job from `issue_comment` / `pull_request_review_comment`; NotACommand or ValueError."""
    action = payload.get("action")
    if action not in GITHUB_ACTIONS:
        raise NotACommand(f"{event} action {action!r}")
    repo = str(_dict(payload.get("repository"), "repository").get("full_name") or "")
    comment = _dict(payload.get("comment"), "comment")
    user = _dict(comment.get("user"), "comment.user")
    if user.get("type") == "Bot" or comment.get("performed_via_github_app"):
        raise NotACommand("a bot's comment")
    name, question = parse_command(str(comment.get("body") or ""))
    if event == "issue_comment":
        issue = _dict(payload.get("issue"), "issue")
        if not isinstance(issue.get("pull_request"), dict):
            raise NotACommand("a comment on an issue, not on a pull request")
        number = issue.get("number")
        url = issue["pull_request"].get("html_url") or issue.get("html_url")
        kind, thread = "issue", comment.get("id")
    else:
        pull = _dict(payload.get("pull_request"), "pull_request")
        number, url = pull.get("number"), pull.get("html_url")
        # GitHub replies only to a thread's first comment.
        kind, thread = "review", comment.get("in_reply_to_id") or comment.get("id")
    comment_id = comment.get("id")
    actors = tuple(dict.fromkeys(x for x in (_login(user), _login(payload.get("sender"))) if x))
    if not (repo and isinstance(number, int) and isinstance(url, str) and isinstance(comment_id, int) and actors):
        raise ValueError(f"{event} payload without repository, number, html_url, comment id or author")
    command = Command(name, question, kind, comment_id, str(thread), actors)
    return Job("command", "github", repo, number, "", url, command=command)


def gitlab_command(payload: dict[str, Any]) -> Job:
    """A command job from a `Note Hook`; NotACommand or ValueError."""
    attrs = _dict(payload.get("object_attributes"), "object_attributes")
    if attrs.get("noteable_type") != "MergeRequest":
        raise NotACommand(f"a note on a {attrs.get('noteable_type')!r}, not on a merge request")
    if attrs.get("system"):
        raise NotACommand("a system note")
    action = attrs.get("action") or "create"
    if action not in GITLAB_ACTIONS:
        raise NotACommand(f"note action {action!r}")
    name, question = parse_command(str(attrs.get("note") or ""))
    project = str(_dict(payload.get("project"), "project").get("path_with_namespace") or "")
    mr = _dict(payload.get("merge_request"), "merge_request")
    user = _dict(payload.get("user"), "user")
    iid, url, note_id, discussion = mr.get("iid"), mr.get("url"), attrs.get("id"), attrs.get("discussion_id")
    # GitLab names the author by id; `user` is who triggered the hook (the editor of an update).
    ids = [x for x in (attrs.get("author_id"), user.get("id")) if isinstance(x, int)]
    actors = tuple(dict.fromkeys(str(x) for x in ids))
    if not (project and isinstance(iid, int) and isinstance(url, str) and isinstance(note_id, int)):
        raise ValueError("note payload without project, merge_request.iid, merge_request.url or note id")
    if not (isinstance(discussion, str) and discussion and actors):
        raise ValueError("note payload without discussion_id or author")
    command = Command(name, question, "note", note_id, discussion, actors, names=(str(user.get("username") or ""),))
    return Job("command", "gitlab", project, iid, "", url, command=command)

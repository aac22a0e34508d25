"""A verified delivery's payload -> the job it asks for, or why it is ignored.

GitHub: `pull_request` (opened, synchronize, reopened, ready_for_review; drafts wait for
ready_for_review) -> review of `pull_request.head.sha`; `issues` opened -> triage.
GitLab: `Merge Request Hook` (action open, update, reopen; drafts skipped) -> review of
`object_attributes.last_commit.id`; `Issue Hook` open -> triage.
Comments on a PR/MR (GitHub `issue_comment`, `pull_request_review_comment`; GitLab `Note Hook`) -> a
command job when they hold `/review` or `/ask` (see `model.webhook.commands`).
"""

from __future__ import annotations

from typing import Any

from model.webhook.commands import NotACommand, github_command, gitlab_command
from model.webhook.jobs import Job

PR_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})
MR_ACTIONS = frozenset({"open", "update", "reopen"})


class Ignored(Exception):
    """The delivery is genuine but asks for nothing (the message says why)."""


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is missing or not an object")
    return value


def github_job(event: str, payload: dict[str, Any]) -> Job:
    if event in ("issue_comment", "pull_request_review_comment"):
        try:
            return github_command(event, payload)
        except NotACommand as why:
            raise Ignored(str(why)) from None
    action = payload.get("action")
    repo = str(_dict(payload.get("repository"), "repository").get("full_name") or "")
    if event == "pull_request":
        pr = _dict(payload.get("pull_request"), "pull_request")
        if action not in PR_ACTIONS:
            raise Ignored(f"pull_request action {action!r}")
        if pr.get("draft") and action != "ready_for_review":
            raise Ignored("draft pull request")
        sha = str(_dict(pr.get("head"), "pull_request.head").get("sha") or "")
        number, url = pr.get("number"), pr.get("html_url")
        if not (repo and sha and isinstance(number, int) and isinstance(url, str)):
            raise ValueError("pull_request payload without repository, number, head sha or html_url")
        return Job("review", "github", repo, number, sha, url)
    if event == "issues":
        issue = _dict(payload.get("issue"), "issue")
        if action != "opened":
            raise Ignored(f"issues action {action!r}")
        if "pull_request" in issue:
            raise Ignored("an issue event for a pull request")
        number, url = issue.get("number"), issue.get("html_url")
        if not (repo and isinstance(number, int)):
            raise ValueError("issues payload without repository or number")
        return Job("triage", "github", repo, number, "", str(url or ""))
    raise Ignored(f"event {event!r}")


def gitlab_job(event: str, payload: dict[str, Any]) -> Job:
    if event == "Note Hook":
        try:
            return gitlab_command(payload)
        except NotACommand as why:
            raise Ignored(str(why)) from None
    attrs = _dict(payload.get("object_attributes"), "object_attributes")
    project = str(_dict(payload.get("project"), "project").get("path_with_namespace") or "")
    action = attrs.get("action")
    if event == "Merge Request Hook":
        if action not in MR_ACTIONS:
            raise Ignored(f"merge request action {action!r}")
        if attrs.get("draft") or attrs.get("work_in_progress"):
            raise Ignored("draft merge request")
        sha = str(_dict(attrs.get("last_commit"), "object_attributes.last_commit").get("id") or "")
        iid, url = attrs.get("iid"), attrs.get("url")
        if not (project and sha and isinstance(iid, int) and isinstance(url, str)):
            raise ValueError("merge request payload without project, iid, last_commit.id or url")
        return Job("review", "gitlab", project, iid, sha, url)
    if event == "Issue Hook":
        if action != "open":
            raise Ignored(f"issue action {action!r}")
        iid = attrs.get("iid")
        if not (project and isinstance(iid, int)):
            raise ValueError("issue payload without project or iid")
        return Job("triage", "gitlab", project, iid, "", str(attrs.get("url") or ""))
    raise Ignored(f"event {event!r}")

"""Which comments are commands, and the job each becomes (no forge, no model: the delivery alone)."""

from __future__ import annotations

import pytest

from model.webhook.commands import NotACommand, parse_command
from model.webhook.events import Ignored, github_job, gitlab_job
from model.webhook.jobs import Job
from tests.model.webhook.payloads import github_issue_comment, github_review_comment, gitlab_note

ALICE = {"id": 101, "username": "alice"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/review", ("review", "")),
        ("  \n/review\nthanks!", ("review", "")),
        ("/ask why is the lock taken twice?", ("ask", "why is the lock taken twice?")),
        ("/ask\nline one\nline two", ("ask", "line one\nline two")),
        ("/ASK what changed", ("ask", "what changed")),
    ],
)
def test_commands_are_read_from_the_first_line(body: str, expected: tuple[str, str]) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("", "empty comment"),
        ("please /review this", "no command"),
        ("/approve", "unknown command /approve"),
        ("/merge now", "unknown command /merge"),
        ("/review please", "/review takes no arguments"),
        ("/ask", "/ask without a question"),
        ("/ask   \n  ", "/ask without a question"),
    ],
)
def test_anything_else_is_not_a_command(body: str, why: str) -> None:
    with pytest.raises(NotACommand, match=why.replace("/", "/")):
        parse_command(body)


def test_a_pull_request_comment_becomes_a_command_job() -> None:
    job = github_job("issue_comment", github_issue_comment(4, "/ask what does it do?", "bob", 7001))
    assert job.kind == "command" and job.command is not None
    assert (job.repo, job.number, job.url) == ("acme/widgets", 4, "https://github.com/acme/widgets/pull/4")
    c = job.command
    assert (c.name, c.question, c.kind, c.comment_id, c.thread, c.actors) == (
        "ask", "what does it do?", "issue", 7001, "7001", ("bob",)
    )  # fmt: skip
    assert job.key == "command:github:acme/widgets#4:issue-7001"
    assert job.group == job.key  # an /ask is its own group: never superseded by a push
    assert Job.loads(job.dumps()) == job


def test_review_shares_the_review_group_and_an_edit_is_the_same_job() -> None:
    created = github_job("issue_comment", github_issue_comment(4, "/review", "bob", 7002))
    edited = github_job(
        "issue_comment", github_issue_comment(4, "/review", "bob", 7002, action="edited", sender="carol")
    )
    assert created.group == "review:github:acme/widgets#4"
    assert edited.key == created.key  # an edit of an answered command is never answered again
    assert edited.command is not None and edited.command.actors == ("bob", "carol")  # both must be writers


def test_inline_replies_go_to_the_thread_s_first_comment() -> None:
    job = github_job("pull_request_review_comment", github_review_comment(1, "/ask why?", "a" * 40, "bob", 7102, 901))
    assert job.command is not None and (job.command.kind, job.command.thread) == ("review", "901")
    assert job.key == "command:github:acme/widgets#1:review-7102"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (github_issue_comment(40, "/review", on_pull=False), "not on a pull request"),
        (github_issue_comment(4, "/review", "renovate", user_type="Bot"), "a bot's comment"),
        (github_issue_comment(4, "/review", action="deleted"), "action 'deleted'"),
        (github_issue_comment(4, "LGTM"), "no command"),
    ],
)
def test_github_comments_that_ask_nothing(payload: dict[str, object], why: str) -> None:
    with pytest.raises(Ignored, match=why):
        github_job("issue_comment", payload)


def test_a_merge_request_note_becomes_a_command_job() -> None:
    job = gitlab_job("Note Hook", gitlab_note(3, "/ask is this safe?", ALICE, 8001, "d" + "7" * 39))
    assert job.command is not None
    assert (job.repo, job.number, job.command.thread, job.command.actors) == ("acme/app", 3, "d" + "7" * 39, ("101",))
    assert job.key == "command:gitlab:acme/app#3:note-8001"
    # GitLab before 16.11 sends no action: a new note
    assert gitlab_job("Note Hook", gitlab_note(3, "/review", ALICE, 8002, action=None)).command is not None


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (gitlab_note(3, "/review", ALICE, noteable_type="Issue"), "not on a merge request"),
        (gitlab_note(3, "/review", ALICE, system=True), "a system note"),
        (gitlab_note(3, "/deploy", ALICE), "unknown command"),
    ],
)
def test_gitlab_notes_that_ask_nothing(payload: dict[str, object], why: str) -> None:
    with pytest.raises(Ignored, match=why):
        gitlab_job("Note Hook", payload)


def test_a_payload_without_its_parts_is_malformed() -> None:
    payload = github_issue_comment(4, "/review")
    del payload["comment"]["id"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="comment id"):
        github_job("issue_comment", payload)

"""A command job through each store (SQLite, PostgreSQL, Redis): stored and claimed whole, once per comment."""

from __future__ import annotations

import pytest

from model.webhook.events import github_job
from model.webhook.store import Store
from tests.model.webhook.conftest import any_job
from tests.model.webhook.payloads import github_issue_comment

pytestmark = pytest.mark.anyio


async def test_a_command_job_round_trips_and_is_queued_once_per_comment(store: Store) -> None:
    ask = github_job("issue_comment", github_issue_comment(5, "/ask what\nand why?", "bob", 9001, sender="carol"))
    edited = github_job("issue_comment", github_issue_comment(5, "/ask changed", "bob", 9001, action="edited"))
    assert (await store.enqueue(ask)).status == "queued"
    assert (await store.enqueue(edited)).status == "duplicate"  # the same comment
    claimed = await store.claim("w1", 30)
    assert claimed == ask and claimed.command is not None and claimed.command.actors == ("bob", "carol")
    await store.finish(ask.key, "w1", "answered")
    assert (await store.enqueue(edited)).status == "done"


async def test_review_command_waits_for_the_running_review_of_its_pull_request(store: Store) -> None:
    review = any_job(number=5, sha="d" * 40)
    command = github_job("issue_comment", github_issue_comment(5, "/review", "bob", 9002))
    await store.enqueue(review)
    assert await store.claim("w1", 30) == review
    assert (await store.enqueue(command)).status == "queued"
    assert await store.claim("w2", 30) is None  # one review of a change at a time
    await store.finish(review.key, "w1", "reviewed")
    assert await store.claim("w2", 30) == command

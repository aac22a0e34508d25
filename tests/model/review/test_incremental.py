"""Incremental review: a re-run reviews only the commits pushed since the head the bot's summary records,
says so, keeps earlier open findings in the gate, and reviews the whole change after a force-push."""

from __future__ import annotations

from typing import Any

import pytest

from model.client import ModelClient
from model.hub import HubSession
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.render import report_markdown, reviewed_head_in
from model.review.workflow import PostOptions, run_review
from tests.model.fake_openai import Reply
from tests.model.review.conftest import MODEL
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, push, url
from tests.model.review.test_gitlab_review import URL as GL_URL
from tests.model.review.test_gitlab_review import add_mr
from tests.model.review.test_gitlab_review import push as gl_push

pytestmark = pytest.mark.anyio

PROFILE = get_profile("r1-distill-qwen-14b")
OPTIONS = ReviewOptions(model=MODEL, use_bandit=False)
POST = PostOptions(post=True)
#: The new commit: one new file with a TODO (a low finding) and nothing else.
EXTRA = {"src/extra.py": b"def extra():\n    # TODO: cache this\n    return 1\n"}


def _prompts(reviewer: FakeReviewer) -> str:
    return "\n".join(str(m.get("content") or "") for r in reviewer.requests for m in r["messages"])


def _gh_summary(github: Any, number: int) -> str:
    [body] = [c["body"] for c in github.state.comments[REPO][number] if "mcp-hub-review:summary" in c["body"]]
    return str(body)


async def test_github_rerun_reviews_only_new_commits(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="inc-1")
    first = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert first.reviewed and first.increment is None and len(first.findings) == 2
    head1 = first.change.head_sha
    assert reviewed_head_in(_gh_summary(github, number)) == head1  # recorded in the bot's summary
    push(github, "inc-1", EXTRA)
    reviewer.reset()
    second = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    head2 = second.change.head_sha
    assert second.increment is not None and second.increment.incremental
    assert (second.increment.since, second.increment.head, second.increment.files) == (head1, head2, 1)
    prompts = _prompts(reviewer)
    assert "### src/extra.py" in prompts and "src/payments.py" not in prompts  # only the new commit
    assert [(f.path, f.severity) for f in second.findings] == [("src/extra.py", "low")]
    # The earlier medium finding is still open: it gates, though its line was not reviewed again.
    assert {(c.severity, c.path) for c in second.carried} == {("medium", "src/payments.py"), ("low", "src/payments.py")}
    assert second.exit_code("medium") == 1
    text = report_markdown(second)
    assert f"Reviewed commits `{head1[:12]}..{head2[:12]}` only" in text
    assert "### Still open from earlier reviews (2)" in text
    assert second.posted is not None and (second.posted.new, second.posted.already) == (1, 2)
    summary = _gh_summary(github, number)
    assert reviewed_head_in(summary) == head2 and f"`{head1[:12]}..{head2[:12]}`" in summary
    # Nothing pushed since: no model call, nothing posted, and the gate still holds.
    reviewer.reset()
    third = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert reviewer.requests == [] and third.usage.calls == 0
    assert third.posted is not None and third.posted.skipped_reason and third.exit_code("medium") == 1
    assert "No commits since the last review" in report_markdown(third)
    assert "No problems found" not in report_markdown(third)  # earlier findings are still open
    assert "No new findings in the commits reviewed." in report_markdown(third)
    # --full reviews the whole change again.
    full = await run_review(
        gh_session, model_client, PROFILE, url(number), ReviewOptions(model=MODEL, incremental=False)
    )
    assert full.increment is None and len(full.findings) == 3


async def test_github_force_push_falls_back_to_a_full_review(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="inc-force")
    first = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    repo = github.state.repos[REPO]
    repo.branches["inc-force"] = repo.branches["main"]  # history rewritten: the old head is gone from it
    push(github, "inc-force", SMALL_CHANGE | EXTRA, "Rewritten")
    reviewer.reset()
    second = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert second.increment is not None and not second.increment.incremental
    assert "not an ancestor" in second.increment.fallback and first.change.head_sha[:12] in second.increment.fallback
    assert "### src/payments.py" in _prompts(reviewer) and len(second.findings) == 3 and not second.carried
    assert "Whole change reviewed:" in report_markdown(second)


async def test_a_failed_run_records_no_head(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="inc-failed")
    reviewer.push(Reply(content="{oops"), Reply(content="nope"))
    first = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert not first.reviewed and reviewed_head_in(_gh_summary(github, number)) == ""
    second = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert second.increment is None and second.reviewed and len(second.findings) == 2  # the whole change


async def test_gitlab_incremental_and_force_push(
    gitlab: Any, gl_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    iid = add_mr(gitlab, SMALL_CHANGE, branch="inc-gl")
    first = await run_review(gl_session, model_client, PROFILE, GL_URL.format(iid=iid), OPTIONS, posting=POST)
    head1 = first.change.head_sha
    gl_push(gitlab, iid, "inc-gl", {k: v.decode() for k, v in EXTRA.items() if v})
    reviewer.reset()
    second = await run_review(gl_session, model_client, PROFILE, GL_URL.format(iid=iid), OPTIONS, posting=POST)
    assert second.increment is not None and second.increment.incremental and second.increment.since == head1
    assert "src/payments.py" not in _prompts(reviewer) and "### src/extra.py" in _prompts(reviewer)
    assert len(second.carried) == 2 and second.exit_code("medium") == 1
    notes = [n["body"] for d in gitlab.state.projects[1].discussions[iid] for n in d["notes"]]
    [summary] = [b for b in notes if "mcp-hub-review:summary" in b]
    assert reviewed_head_in(summary) == second.change.head_sha and "Reviewed commits" in summary
    # Force-push: the branch rewritten from main.
    app = gitlab.state.projects[1]
    app.branches["inc-gl"] = app.branches["main"]
    gl_push(gitlab, iid, "inc-gl", {"src/payments.py": SMALL_CHANGE["src/payments.py"].decode(), "src/x.py": "y = 1\n"})
    reviewer.reset()
    third = await run_review(gl_session, model_client, PROFILE, GL_URL.format(iid=iid), OPTIONS, posting=POST)
    assert third.increment is not None and "not an ancestor" in third.increment.fallback
    assert "### src/payments.py" in _prompts(reviewer) and not third.carried


async def test_withheld_findings_and_scanner_results_keep_gating_after_an_unrelated_push(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    import json

    keys = {"src/keys.py": b"KEY = 'AKIAIOSFODNN7EXAMPLE'\n"}
    number = add_pull(github, SMALL_CHANGE | keys, branch="inc-gate")
    leak = {"findings": [{"path": "src/payments.py", "line": 5, "severity": "high", "category": "security",
                          "message": "Key AKIAIOSFODNN7EXAMPLE is exposed."}], "summary": "ok"}  # fmt: skip
    reviewer.push(Reply(content=json.dumps(leak)))
    first = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert first.posted is not None and len(first.posted.withheld) == 1  # never posted: no comment carries it
    assert any(s.path == "src/keys.py" and s.action == "block" for s in first.security)
    assert first.exit_code("high") == 1
    push(github, "inc-gate", EXTRA)
    second = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=POST)
    assert second.increment is not None and second.increment.incremental
    # The withheld high finding is carried from the summary's record, the scanner still covers the whole change.
    assert ("high", "security") in {(c.severity, c.category) for c in second.carried}
    assert any(s.path == "src/keys.py" for s in second.security)
    assert second.exit_code("high") == 1

"""Multi-line findings: a range in one hunk becomes a multi-line comment with a suggestion replacing it all
(GitHub start_line/line, GitLab line_range and `suggestion:-N+0`); any other range loses its suggestion."""

from __future__ import annotations

import json
from typing import Any

import pytest

from model.client import ModelClient
from model.hub import HubSession
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.workflow import PostOptions, run_review
from tests.model.fake_openai import Reply
from tests.model.review.conftest import MODEL
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, url
from tests.model.review.test_gitlab_review import URL as GL_URL
from tests.model.review.test_gitlab_review import add_mr

pytestmark = pytest.mark.anyio

PROFILE = get_profile("r1-distill-qwen-14b")
OPTIONS = ReviewOptions(model=MODEL, use_bandit=False)
FIX = "    if account is None:\n        raise ValueError('no account')"


def _answer(*findings: dict[str, Any]) -> Reply:
    return Reply(content=json.dumps({"findings": list(findings), "summary": "ok"}))


RANGE = {"path": "src/payments.py", "line": 2, "end_line": 3, "severity": "medium", "category": "bug",
         "message": "Compare with None using `is`.", "suggestion": FIX}  # fmt: skip


async def test_github_multiline_suggestion(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="multi-gh")
    too_long = RANGE | {"line": 4, "end_line": 40, "category": "maintainability", "message": "Too long a range."}
    reviewer.push(_answer(RANGE, too_long))
    report = await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=PostOptions(post=True))
    ranged = next(f for f in report.findings if f.line == 2)
    assert ranged.end_line == 3 and ranged.suggestion == FIX
    dropped = next(f for f in report.findings if f.line == 4)
    assert dropped.end_line is None and dropped.suggestion is None  # not applied to one line instead
    comments = {c["line"]: c for c in github.state.review_comments[REPO][number]}
    assert comments[3]["start_line"] == 2 and f"```suggestion\n{FIX}\n```" in comments[3]["body"]
    assert comments[4]["start_line"] is None and "```suggestion" not in comments[4]["body"]


async def test_gitlab_multiline_suggestion(
    gitlab: Any, gl_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    iid = add_mr(gitlab, SMALL_CHANGE, branch="multi-gl")
    reviewer.push(_answer(RANGE))
    report = await run_review(gl_session, model_client, PROFILE, GL_URL.format(iid=iid), OPTIONS,
                              posting=PostOptions(post=True))  # fmt: skip
    assert report.posted is not None and report.posted.new == 1
    [note] = [n for d in gitlab.state.projects[1].discussions[iid] for n in d["notes"] if n["position"]]
    position = note["position"]
    assert position["new_line"] == 3
    assert position["line_range"]["start"]["new_line"] == 2 and position["line_range"]["end"]["new_line"] == 3
    assert position["line_range"]["start"]["type"] == "new"
    assert f"```suggestion:-1+0\n{FIX}\n```" in note["body"]


async def test_gitlab_fake_refuses_a_bad_line_range(
    gitlab: Any, gl_session: HubSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fake holds GitLab's rule (line codes), so the test above shows the connector's codes are right."""
    import connectors.gitlab.tools_review as tools_review

    iid = add_mr(gitlab, SMALL_CHANGE, branch="multi-bad")
    args = {"project": "acme/app", "iid": iid, "comments": [
        {"path": "src/payments.py", "line": 3, "start_line": 2, "body": "range"}]}  # fmt: skip
    ok = await gl_session.client.call_tool("gitlab_create_merge_request_review", args)
    assert not ok.is_error, ok.content
    real = tools_review.line_range_end

    def wrong(path: str, diff: str, line: int, side: str) -> dict[str, Any]:
        end = real(path, diff, line, side)
        return end | {"line_code": end["line_code"].replace("_", "_9", 1)}

    monkeypatch.setattr(tools_review, "line_range_end", wrong)
    bad = await gl_session.client.call_tool("gitlab_create_merge_request_review", args)
    assert bad.is_error and "line_range" in " ".join(getattr(b, "text", "") for b in bad.content)

"""`run_review` on GitHub pull requests through the real hub (GitHub fake) and the reviewing fake model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from model.client import ModelClient
from model.hub import HubSession
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.render import report_markdown
from model.review.workflow import run_review
from tests.model.fake_openai import Reply
from tests.model.review.conftest import MODEL
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import BACKDOOR, SMALL_CHANGE, add_pull, big_change, url

pytestmark = pytest.mark.anyio

PROFILE = get_profile("r1-distill-qwen-14b")


def options(**kw: Any) -> ReviewOptions:
    return ReviewOptions(model=MODEL, use_bandit=False, **kw)


async def test_small_pull_request(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    report = await run_review(gh_session, model_client, PROFILE, url(number), options())
    found = {(f.path, f.line, f.category) for f in report.findings}
    assert found == {("src/payments.py", 2, "bug"), ("src/payments.py", 4, "maintainability")}
    bug = next(f for f in report.findings if f.category == "bug")
    assert bug.suggestion == "    if account is None:" and bug.severity == "medium" and bug.in_diff
    assert report.findings[0].severity == "medium"  # worst first
    skipped = dict(report.coverage.files_skipped)
    assert skipped == {"package-lock.json": "lockfile", "vendor/lib/util.js": "vendored"}
    assert report.coverage.files_reviewed == ["src/payments.py", "docs/payments.md"]  # source before docs
    assert report.usage.calls == 1 and report.usage.prompt_tokens > 100
    request = reviewer.requests[0]
    assert [m["role"] for m in request["messages"]] == ["user"]  # R1 distill: no system prompt
    schema = request["structured_outputs"]["json"]
    assert schema["required"] == ["findings", "summary"] and request["temperature"] == 0.6
    prompt = request["messages"][0]["content"]
    assert prompt.index("### src/payments.py") < prompt.index("### docs/payments.md")
    assert "package-lock.json" not in prompt and "    2 +    if account == None:" in prompt
    markdown = report_markdown(report)
    assert "`src/payments.py:2`" in markdown and "```suggestion" in markdown
    assert "Skipped: `package-lock.json` (lockfile), `vendor/lib/util.js` (vendored)." in markdown
    assert "reviewed 2 of 4 files" in markdown
    assert report.exit_code("medium") == 1 and report.exit_code("high") == 0


async def test_large_pull_request_is_reviewed_in_several_calls(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, big_change(files=12, lines=120), branch="big-1", title="Big change")
    report = await run_review(gh_session, model_client, PROFILE, url(number), options(budget_tokens=1500))
    assert report.usage.calls >= 4 and len(reviewer.requests) == report.usage.calls
    assert len(report.findings) == 12 and {f.path for f in report.findings} == {f"src/mod{i:02d}.py" for i in range(12)}
    assert report.coverage.lines_reviewed == report.coverage.lines_total > 0
    assert all(len(json.dumps(r["messages"])) < 12_000 for r in reviewer.requests)  # every call within budget
    limited = await run_review(gh_session, model_client, PROFILE, url(number), options(budget_tokens=1500, max_calls=2))
    cov = limited.coverage
    assert limited.usage.calls == 2 and 0 < cov.share < 0.5
    assert cov.files_not_reviewed and all("over the limit of 2 model calls" in why for _, why in cov.files_not_reviewed)
    footer = report_markdown(limited)
    assert "Not reviewed:" in footer and f"of {cov.lines_total} changed lines" in footer


async def test_malformed_output_is_repaired(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    reviewer.push(Reply(content='Here you go: {"findings": [{"path": "src/payments.py", "line": '))
    report = await run_review(gh_session, model_client, PROFILE, url(number), options())
    assert report.usage.repairs == 1 and report.usage.calls == 2 and len(report.findings) == 2
    assert "could not be used" in reviewer.requests[1]["messages"][-1]["content"]
    reviewer.reset()
    reviewer.push(Reply(content="{oops"), Reply(content="I think it is fine."))
    broken = await run_review(gh_session, model_client, PROFILE, url(number), options())
    assert broken.usage.unreadable_chunks == 1 and broken.findings == []
    assert {p for p, _ in broken.coverage.files_not_reviewed} == {"src/payments.py", "docs/payments.md"}
    assert "unreadable" in report_markdown(broken)


async def test_fenced_prose_wrapped_output_is_read(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    answer = {"findings": [{"path": "src/payments.py", "line": 5, "severity": "MAJOR", "category": "bug",
                            "message": "Amount is not validated.", "suggestion": ""}], "summary": "ok",}  # fmt: skip
    reviewer.push(Reply(content="Sure.\n```json\n" + json.dumps(answer) + "\n```"))
    report = await run_review(gh_session, model_client, PROFILE, url(number), options())
    assert report.usage.repairs == 0
    assert [(f.line, f.severity, f.suggestion) for f in report.findings] == [(5, "high", None)]


async def test_planted_backdoor_is_reported_by_the_security_pass(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, BACKDOOR, branch="sneaky", title="Speed up login", association="NONE")
    report = await run_review(gh_session, model_client, PROFILE, url(number), options())
    rules = {(s.rule, s.path, s.line) for s in report.security}
    assert ("encoded-exec", "src/auth.py", None) in rules or any(r[0] == "eval-exec-input" for r in rules)
    assert any(r[0] == "eval-exec-input" and r[2] == 4 for r in rules)
    assert any(r[0] == "curl-pipe-shell" and r[1] == ".github/workflows/ci.yml" for r in rules)
    assert any(r[0] == "ci-workflow" for r in rules)
    assert report.findings == [] and not any(s.model_noticed for s in report.security)
    markdown = report_markdown(report)
    assert "the model did not mention it" in markdown and "eval/exec of a computed value" in markdown
    assert report.exit_code("high") == 1


async def test_findings_outside_the_diff_are_folded(
    github: Any, gh_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    reviewer.outside = True
    number = add_pull(github, SMALL_CHANGE)
    report = await run_review(gh_session, model_client, PROFILE, url(number), options())
    assert [(f.line, f.in_diff) for f in report.folded] == [(9999, False)]
    assert all(f.in_diff for f in report.findings)
    assert "Outside the diff (not posted inline) (1)" in report_markdown(report)

"""`--as check-run` on GitHub: one completed check run on the head commit, findings as annotations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.policy import Caller
from mcp_hub.registry import Registry
from mcp_hub.server import build_server, hub_policy
from model.client import ModelClient
from model.hub import AGENT_CALLER, HubSession, open_hub
from model.profiles import get_profile
from model.review.engine import ReviewOptions
from model.review.hubcalls import ReviewError
from model.review.workflow import PostOptions, run_review
from tests.connectors.github.test_reliability import app_env
from tests.model.fake_openai import Reply
from tests.model.review.conftest import MODEL
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, url

pytestmark = pytest.mark.anyio

PROFILE = get_profile("r1-distill-qwen-14b")
OPTIONS = ReviewOptions(model=MODEL, use_bandit=False)
AS_CHECK = PostOptions(post=True, as_="check-run", fail_on="medium")


@pytest.fixture
async def app_session(github: Any, github_served: tuple[Any, str]) -> AsyncIterator[HubSession]:
    """The hub acting as a GitHub App installation (only Apps may create check runs)."""
    env = app_env(github) | {
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_ALLOW_WRITES": "1",
    }
    registry = Registry([GithubConnector])
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    server = build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))
    async with open_hub(server) as session:
        yield session


def runs(github: Any, sha: str) -> list[dict[str, Any]]:
    return list(github.state.check_runs.get(sha, []))


async def test_findings_become_annotations_of_one_check_run(
    github: Any, app_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="check-1")
    report = await run_review(app_session, model_client, PROFILE, url(number), OPTIONS, posting=AS_CHECK)
    head = report.change.head_sha
    [run] = runs(github, head)
    assert (run["name"], run["status"], run["conclusion"]) == ("mcp-hub review", "completed", "failure")
    assert run["title"] == "2 finding(s)" and "Security pass" in run["summary"]
    levels = sorted((a["start_line"], a["end_line"], a["annotation_level"]) for a in run["annotations"])
    assert levels == [(2, 2, "warning"), (4, 4, "notice")]
    assert report.posted is not None and report.posted.tool_calls == ["github_create_check_run"]
    assert github.state.reviews.get(REPO, {}).get(number) is None  # no review comments
    assert github.state.comments.get(REPO, {}).get(number) in (None, [])  # no summary comment
    # Below --fail-on the conclusion is neutral, not failure.
    low = PostOptions(post=True, as_="check-run", fail_on="high")
    await run_review(app_session, model_client, PROFILE, url(number), OPTIONS, posting=low)
    assert runs(github, head)[-1]["conclusion"] == "neutral"


async def test_more_than_50_annotations_are_sent_in_batches(
    github: Any, app_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    lines = "".join(f"x{i} = None\n" for i in range(60)).encode()
    number = add_pull(github, {"src/many.py": lines}, branch="check-many")
    many = [{"path": "src/many.py", "line": i + 1, "severity": "low", "category": "style",
             "message": f"Name {i} says nothing."} for i in range(60)]  # fmt: skip
    reviewer.push(Reply(content=json.dumps({"findings": many[:50], "summary": ""})))
    reviewer.push(Reply(content=json.dumps({"findings": many[50:], "summary": ""})))
    report = await run_review(app_session, model_client, PROFILE, url(number),
                              ReviewOptions(model=MODEL, use_bandit=False, budget_tokens=120),
                              posting=AS_CHECK)  # fmt: skip
    assert len(report.findings) == 60
    [run] = runs(github, report.change.head_sha)
    assert len(run["annotations"]) == 60 and github.state.count("PATCH", "/check-runs/") == 1


async def test_a_run_that_is_not_a_review_fails_the_check(
    github: Any, app_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="check-failed")
    reviewer.push(Reply(content="{oops"), Reply(content="nope"))
    report = await run_review(app_session, model_client, PROFILE, url(number), OPTIONS,
                              posting=PostOptions(post=True, as_="check-run", fail_on="none"))  # fmt: skip
    [run] = runs(github, report.change.head_sha)
    assert run["conclusion"] == "failure" and run["title"].startswith("Not reviewed: the model failed")


async def test_a_token_cannot_create_check_runs_and_gitlab_has_none(
    github: Any, gh_session: HubSession, gl_session: HubSession, model_client: ModelClient, reviewer: FakeReviewer
) -> None:
    number = add_pull(github, SMALL_CHANGE, branch="check-pat")
    with pytest.raises(ReviewError, match="personal access token"):
        await run_review(gh_session, model_client, PROFILE, url(number), OPTIONS, posting=AS_CHECK)
    with pytest.raises(ReviewError, match="check runs are GitHub's"):
        await run_review(gl_session, model_client, PROFILE, "https://gitlab.example/acme/app/-/merge_requests/1",
                         OPTIONS, posting=AS_CHECK)  # fmt: skip


def test_as_check_run_flag(
    github: Any,
    github_served: tuple[Any, str],
    reviewer: FakeReviewer,
    model_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from model import cli
    from tests.model.review.test_cli_and_settings import _env, parse

    _env(monkeypatch, github_served[1], writes=True)
    gitlab_url = "https://gitlab.example/acme/app/-/merge_requests/1"
    assert cli.run(parse("review", gitlab_url, "--post", "--as", "check-run", "--base-url", model_url)) == 2
    assert "check runs are GitHub's" in capsys.readouterr().err
    number = add_pull(github, SMALL_CHANGE, branch="check-cli")
    # A token, not an App: GitHub's 403 is reported, and nothing else was posted.
    code = cli.run(parse("review", url(number), "--post", "--as", "check-run", "--base-url", model_url))
    assert code == 2 and "personal access token" in capsys.readouterr().err
    assert github.state.reviews.get(REPO, {}).get(number) is None

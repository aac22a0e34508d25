"""`review_pull_request` / `review_publish_review`: the review offered to any MCP client through the hub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from connectors.github import GithubConnector
from mcp_hub.config import load_config
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from model.review.tool import ReviewWorkflow
from tests.model.review.conftest import MODEL, github_env
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import REPO, SMALL_CHANGE, add_pull, push, url

pytestmark = pytest.mark.anyio


def outer_hub(monkeypatch: pytest.MonkeyPatch, api: str, model_url: str, audit: Path, approve: bool) -> Any:
    env = github_env(api, audit_log=audit) | {
        "MCP_HUB_REVIEW__BASE_URL": model_url,
        "MCP_HUB_REVIEW__SERVED_NAME": MODEL,
        "MCP_HUB_REVIEW__CONNECTORS": '["github"]',
        "MCP_HUB_REVIEW__APPROVE_POSTING": "true" if approve else "false",
    }
    env.pop("MCP_HUB_CONNECTORS")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    registry = Registry([GithubConnector, ReviewWorkflow])
    config = load_config(env=env, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry)


async def test_review_tool_reviews_through_the_hub(
    github: Any,
    github_served: tuple[Any, str],
    model_url: str,
    reviewer: FakeReviewer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    number = add_pull(github, SMALL_CHANGE)
    async with Client(outer_hub(monkeypatch, github_served[1], model_url, audit, approve=False)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"review_pull_request", "review_publish_review", "github_create_review"} <= names
        result = await client.call_tool("review_pull_request", {"url": url(number)})
        assert not result.is_error, result.content
        data = result.structured_content
        assert data["findings"] == 2 and data["worst"] == "medium" and data["model_calls"] == 1
        assert "`src/payments.py:2`" in data["markdown"] and data["posted"] is None
        denied = await client.call_tool("review_publish_review", {"url": url(number)})
        assert denied.is_error and "does not support MCP form elicitation" in denied.content[0].text
        assert "approve_posting" in denied.content[0].text
        bad = await client.call_tool("review_pull_request", {"url": "https://example.com/not/a/pr"})
        assert bad.is_error and "names neither" in bad.content[0].text
        missing = await client.call_tool("review_pull_request", {"url": url(999)})
        assert missing.is_error and "github_get_pull_request failed" in missing.content[0].text
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    inner = [(e["caller"], e["tool"]) for e in entries if e["caller"] == "agent"]
    assert ("agent", "github_get_pull_request_files") in inner  # nested calls audited as the agent
    assert ("local", "review_pull_request") in [(e["caller"], e["tool"]) for e in entries]
    assert github.state.reviews.get(REPO, {}).get(number) is None  # nothing posted


async def test_review_is_offered_as_a_prompt(
    github_served: tuple[Any, str], model_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hub = outer_hub(monkeypatch, github_served[1], model_url, tmp_path / "audit.jsonl", approve=False)
    async with Client(hub) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        rendered = await client.get_prompt("review_pull_request", {"url": url(7), "lang": "ja"})
        with pytest.raises(MCPError, match="http"):
            await client.get_prompt("review_pull_request", {"url": "not a url"})
    assert [a.name for a in prompts["review_pull_request"].arguments or []] == ["url", "lang"]
    text = rendered.messages[0].content.text
    assert f"url={url(7)!r}" in text and "Japanese" in text and "review_publish_review" in text


async def test_pre_approved_publishing(
    github: Any,
    github_served: tuple[Any, str],
    model_url: str,
    reviewer: FakeReviewer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    hub = outer_hub(monkeypatch, github_served[1], model_url, tmp_path / "a.jsonl", approve=True)
    async with Client(hub) as client:
        result = await client.call_tool("review_publish_review", {"url": url(number)})
    assert not result.is_error, result.content
    assert result.structured_content["posted"].startswith("2 new")
    assert len(github.state.review_comments[REPO][number]) == 2


async def test_progress_per_model_call(
    github: Any,
    github_served: tuple[Any, str],
    model_url: str,
    reviewer: FakeReviewer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    number = add_pull(github, SMALL_CHANGE)
    hub = outer_hub(monkeypatch, github_served[1], model_url, tmp_path / "a.jsonl", approve=True)
    async with Client(hub) as client:
        for tool in ("review_pull_request", "review_publish_review"):
            progress.clear()
            result = await client.call_tool(tool, {"url": url(number)}, progress_callback=on_progress)
            assert not result.is_error, result.content
            assert [(v, t) for v, t, _ in progress] == [(0, 1), (1, 1)]  # one model call, then the check
            assert progress[0][2] is not None and progress[0][2].startswith("reviewing part 1 of 1 (src/payments.py")
            assert progress[1][2] == "checking findings against the diff"


def answering(*answers: mcp_types.ElicitResult | mcp_types.ErrorData) -> tuple[list[str], Any]:
    """An elicitation callback giving `answers` in turn, and the questions it was asked."""
    asked: list[str] = []

    async def callback(context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        asked.append(params.message)
        return answers[len(asked) - 1]

    return asked, callback


@pytest.fixture
def asking_hub(
    github_served: tuple[Any, str], model_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Any:
    """A hub whose review tool must ask before posting (approve_posting = false); audit in tmp_path/a.jsonl."""
    return outer_hub(monkeypatch, github_served[1], model_url, tmp_path / "a.jsonl", approve=False)


def nothing_posted(github: Any, number: int) -> bool:
    return github.state.reviews.get(REPO, {}).get(number) is None and not github.state.review_comments.get(
        REPO, {}
    ).get(number)


async def test_publishing_asks_the_user_first(
    github: Any, asking_hub: Any, reviewer: FakeReviewer, tmp_path: Path
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    asked, callback = answering(mcp_types.ElicitResult(action="accept", content={"post": True}))
    hub = asking_hub
    async with Client(hub, mode="legacy", elicitation_callback=callback) as client:
        result = await client.call_tool("review_publish_review", {"url": url(number)})
        again = await client.call_tool("review_publish_review", {"url": url(number)})
    assert again.structured_content["posted"] == "nothing new since the last review"
    assert not result.is_error, result.content
    assert asked == [
        f"Post the review of {url(number)}? 2 findings on the diff, worst medium; "
        "only findings not posted before are posted, as the hub's bot account."
    ]
    assert result.structured_content["posted"].startswith("2 new")
    assert len(github.state.review_comments[REPO][number]) == 2


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (mcp_types.ElicitResult(action="decline"), "the user declined posting the review"),
        (mcp_types.ElicitResult(action="cancel"), "the user cancelled posting the review"),
        (mcp_types.ElicitResult(action="accept", content={"post": False}), "the user declined posting the review"),
        (mcp_types.ElicitResult(action="accept", content={"post": "maybe"}), "could not ask the user"),
        (mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message="no UI here"), "could not ask the user"),
    ],
    ids=["decline", "cancel", "no", "bad-answer", "client-error"],
)
async def test_nothing_posted_without_a_yes(
    answer: mcp_types.ElicitResult | mcp_types.ErrorData,
    expected: str,
    github: Any, asking_hub: Any, reviewer: FakeReviewer, tmp_path: Path
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    asked, callback = answering(answer)
    hub = asking_hub
    async with Client(hub, mode="legacy", elicitation_callback=callback) as client:
        result = await client.call_tool("review_publish_review", {"url": url(number)})
        assert result.is_error and expected in result.content[0].text, result.content
        assert "nothing was posted" in result.content[0].text
        assert len(asked) == 1
        assert (await client.call_tool("review_pull_request", {"url": url(number)})).is_error is False  # still serving
    assert nothing_posted(github, number)


async def test_modern_protocol_clients_approve_through_input_required(
    github: Any, asking_hub: Any, reviewer: FakeReviewer, tmp_path: Path
) -> None:
    """Under 2026-07-28 the question rides an InputRequiredResult; the retry posts the review already made."""
    number = add_pull(github, SMALL_CHANGE)
    asked, callback = answering(mcp_types.ElicitResult(action="accept", content={"post": True}))
    audit, hub = tmp_path / "a.jsonl", asking_hub
    async with Client(hub, elicitation_callback=callback) as client:
        result = await client.call_tool("review_publish_review", {"url": url(number)})
        model_calls = len(reviewer.requests)
        assert not result.is_error, result.content
        assert asked and asked[0].startswith(f"Post the review of {url(number)}? 2 findings on the diff")
        assert result.structured_content["posted"].startswith("2 new")
        assert len(github.state.review_comments[REPO][number]) == 2
        assert model_calls == result.structured_content["model_calls"] >= 1  # reviewed once, not again on the retry
        again = await client.call_tool("review_publish_review", {"url": url(number)})  # a re-run: nothing new
    assert not again.is_error and again.structured_content["posted"] == "nothing new since the last review"
    assert len(asked) == 1  # nothing new to post: nobody is asked
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    outcomes = [e["outcome"] for e in entries if e["tool"] == "review_publish_review"]
    assert outcomes == ["input_required", "ok", "ok"]


async def test_modern_protocol_decline_and_a_push_meanwhile_post_nothing(
    github: Any, asking_hub: Any, reviewer: FakeReviewer, tmp_path: Path
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    hub = asking_hub
    _, declining = answering(mcp_types.ElicitResult(action="decline"))
    async with Client(hub, elicitation_callback=declining) as client:
        declined = await client.call_tool("review_publish_review", {"url": url(number)})
    assert declined.is_error and "the user declined posting the review" in declined.content[0].text

    async def push_then_accept(context: Any, params: mcp_types.ElicitRequestParams) -> Any:
        push(github, "review-1", {"src/payments.py": b"# moved\n" + SMALL_CHANGE["src/payments.py"]})
        return mcp_types.ElicitResult(action="accept", content={"post": True})

    async with Client(hub, elicitation_callback=push_then_accept) as client:
        stale = await client.call_tool("review_publish_review", {"url": url(number)})
    assert stale.is_error and "changed since the review" in stale.content[0].text, stale.content
    assert "nothing was posted" in stale.content[0].text
    assert nothing_posted(github, number)


async def test_clients_without_elicitation_are_refused_before_reviewing(
    github: Any, asking_hub: Any, reviewer: FakeReviewer, tmp_path: Path
) -> None:
    number = add_pull(github, SMALL_CHANGE)
    hub = asking_hub
    async with Client(hub) as client:
        result = await client.call_tool("review_publish_review", {"url": url(number)})
    assert result.is_error and "does not support MCP form elicitation" in result.content[0].text, result.content
    assert "approve_posting = true" in result.content[0].text
    assert reviewer.requests == []
    assert nothing_posted(github, number)

"""Every app of `model/` is an agent over the hub built by `model.app.AgentApp`, so a setting given once
reaches all of them: `max_tokens` and `thinking_budget` given once (`[model]`, `MCP_HUB_MODEL__*`; the review
MCP tool's own `[review]` section) are in every model request of `mcp-hub agent`, `review`, `triage`, a
webhook job, `model eval`'s tools suite and the review tool, each run end to end against the fake model
server and the GitHub fake."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from model import cli
from model.app import AgentApp
from tests.connectors.github.fake_state import PAT
from tests.model.conftest import MODEL
from tests.model.fake_openai import FakeOpenAI, Reply, answer
from tests.model.review import conftest as review_fixtures
from tests.model.review.fake_reviewer import FakeReviewer
from tests.model.review.seed import SMALL_CHANGE, add_pull, url

MAX_TOKENS, THINKING = 4321, 1234
# The reviewing fake model of the review tests, for the two review apps.
reviewer_served, reviewer, model_url = (
    review_fixtures.reviewer_served,
    review_fixtures.reviewer,
    review_fixtures.model_url,
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mcp-hub")
    cli.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


class World:
    def __init__(self, fake: FakeOpenAI, base_url: str, reviewer: FakeReviewer, model_url: str, github: Any) -> None:
        self.fake, self.base_url, self.reviewer, self.model_url, self.github = (
            fake,
            base_url,
            reviewer,
            model_url,
            github,
        )


def run_agent(w: World, tmp_path: Path) -> list[dict[str, Any]]:
    w.fake.push(answer("done"))
    assert cli.run(parse("agent", "Say done", "--base-url", w.base_url)) == 0
    return w.fake.requests


def run_review(w: World, tmp_path: Path) -> list[dict[str, Any]]:
    number = add_pull(w.github, SMALL_CHANGE)
    assert cli.run(parse("review", url(number), "--base-url", w.model_url)) in (0, 2)
    return w.reviewer.requests


def _triage_reply() -> Reply:
    return Reply(content=json.dumps({"summary": "A crash on start.", "labels": ["bug"], "duplicates": []}))


def run_triage(w: World, tmp_path: Path) -> list[dict[str, Any]]:
    w.fake.push(_triage_reply())
    assert cli.run(parse("triage", "acme/widgets", "--issue", "40", "--base-url", w.base_url)) == 0
    return w.fake.requests


async def _webhook_job(w: World) -> str:
    from model.triage.settings import TriageSettings
    from model.webhook.jobs import Job
    from model.webhook.runner import JobRunner

    # What `mcp-hub webhook` builds (model.webhook.service.serve), then one queued triage job.
    app = AgentApp.from_args(parse("webhook", "--base-url", w.base_url), interactive=False)
    async with app.client() as client:
        runner = JobRunner(app, client, TriageSettings())
        return await runner(
            Job("triage", "github", "acme/widgets", 40, "", "https://github.com/acme/widgets/issues/40")
        )


def run_webhook(w: World, tmp_path: Path) -> list[dict[str, Any]]:
    import anyio

    w.fake.push(_triage_reply())
    assert anyio.run(_webhook_job, w).startswith("triaged: labels bug")
    return w.fake.requests


def run_eval(w: World, tmp_path: Path) -> list[dict[str, Any]]:
    w.fake.push(answer("I could not find it."))
    w.fake.repeat = True
    argv = ["model", "eval", "--base-url", w.base_url, "--model", MODEL, "--suite", "tools", "--json"]
    assert cli.run(parse(*argv, "--results", str(tmp_path / "r.jsonl"))) in (0, 1)
    return w.fake.requests


async def _review_tool(w: World, number: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    from mcp import Client

    from connectors.github import GithubConnector
    from mcp_hub.config import load_config
    from mcp_hub.registry import Registry
    from mcp_hub.server import build_server
    from model.review.tool import ReviewWorkflow

    for key, value in {
        "MCP_HUB_REVIEW__BASE_URL": w.model_url,
        "MCP_HUB_REVIEW__SERVED_NAME": MODEL,
        "MCP_HUB_REVIEW__CONNECTORS": '["github"]',
        "MCP_HUB_REVIEW__MAX_TOKENS": str(MAX_TOKENS),
        "MCP_HUB_REVIEW__THINKING_BUDGET": str(THINKING),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MCP_HUB_CONNECTORS")
    registry = Registry([GithubConnector, ReviewWorkflow])
    config = load_config(ecosystem_env=registry.ecosystem_env())
    async with Client(build_server(config, registry=registry)) as client:
        return await client.call_tool("review_pull_request", {"url": url(number)})


def run_review_tool(w: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import anyio

    number = add_pull(w.github, SMALL_CHANGE)
    result = anyio.run(_review_tool, w, number, monkeypatch)
    assert not result.is_error, result.content
    return w.reviewer.requests


APPS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "agent": run_agent,
    "review": run_review,
    "triage": run_triage,
    "webhook": run_webhook,
    "eval": run_eval,
    "review-tool": run_review_tool,
}


@pytest.mark.parametrize("app", list(APPS))
def test_a_setting_given_once_reaches_every_app(
    app: str,
    fake: FakeOpenAI,
    base_url: str,
    reviewer: FakeReviewer,
    model_url: str,
    github: Any,
    github_served: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for key, value in {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "MCP_HUB_CONNECTORS": "github",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "MCP_HUB_MODEL__NAME": MODEL,
        "MCP_HUB_MODEL__MAX_TOKENS": str(MAX_TOKENS),
        "MCP_HUB_MODEL__THINKING_BUDGET": str(THINKING),
    }.items():
        monkeypatch.setenv(key, value)
    built: list[AgentApp] = []
    post_init = AgentApp.__post_init__

    def counted(self: AgentApp) -> None:
        built.append(self)
        post_init(self)

    monkeypatch.setattr(AgentApp, "__post_init__", counted)
    world = World(fake, base_url, reviewer, model_url, github)
    run = APPS[app]
    requests = run(world, tmp_path, monkeypatch) if app == "review-tool" else run(world, tmp_path)
    assert built, f"{app} did not build its agent with model.app.AgentApp"
    assert requests, f"{app} asked the model nothing"
    for body in requests:
        assert body["model"] == MODEL
        assert body.get("max_completion_tokens") == MAX_TOKENS, (app, body.get("max_completion_tokens"))
        assert body.get("thinking_token_budget") == THINKING, (app, body.get("thinking_token_budget"))


def test_the_review_tools_agent_is_the_hubs_narrowed_and_keeps_lockdown() -> None:
    from mcp_hub.calls import _CALLER
    from mcp_hub.policy import Caller, Policy, ToolFacts
    from model.settings import ModelSettings

    class Running:  # what AgentApp.in_running_hub reads of the running hub
        default_caller = Caller("local", "stdio", Policy(toolsets=frozenset({"all"}), allow_writes=True))

    def facts(name: str, connector: str, read_only: bool = True) -> ToolFacts:
        return ToolFacts(name, connector, "x", read_only, False, True)

    for lockdown in (False, True):
        token = _CALLER.set(Caller("alice", "http", Policy(), lockdown=lockdown))
        try:
            app = AgentApp.in_running_hub(Running(), ModelSettings(), ["github"])
        finally:
            _CALLER.reset(token)
        assert app.caller is not None and app.caller.name == "agent" and app.caller.lockdown is lockdown
        policy = app.caller.policy
        assert policy.permits(facts("github_get_pull_request", "github"))
        assert policy.permits(facts("github_create_pull_request_review", "github", read_only=False))
        assert not policy.permits(facts("review_pull_request", "review"))  # never itself
        assert not policy.permits(facts("slack_post_message", "slack"))  # only `connectors`
    Running.default_caller = Caller("local", "stdio", Policy(toolsets=frozenset({"all"}), allow_writes=False))
    app = AgentApp.in_running_hub(Running(), ModelSettings(), ["github"])
    assert app.caller is not None
    assert not app.caller.policy.permits(facts("github_create_pull_request_review", "github", read_only=False))


def test_a_flag_overrides_its_key_and_is_validated_like_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from model.app import settings_from_args
    from model.settings import ModelSettings

    configured = ModelSettings(max_tokens=8192, thinking_budget=2048, name="served", approve=["a_*"])
    args = parse("agent", "task", "--max-tokens", "1024", "--approve", "github_*")
    merged = settings_from_args(args, configured)
    assert (merged.max_tokens, merged.thinking_budget, merged.name, merged.approve) == (
        1024,
        2048,
        "served",
        ["github_*"],
    )
    triage = parse("triage", "acme/widgets", "--approve")  # a switch there, not globs
    assert settings_from_args(triage, configured).approve == ["a_*"]
    monkeypatch.setenv("MCP_HUB_CONNECTORS", "github")
    assert cli.run(parse("agent", "task", "--max-tokens", "10")) == 2
    err = capsys.readouterr().err
    assert "flags: max_tokens" in err and "256" in err

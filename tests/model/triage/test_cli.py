"""`mcp-hub triage` end to end through the CLI: report on stdout, writes refused without approval, a channel
outside the allow-list refused before anything runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcp_hub.cli import main
from tests.connectors.github.fake_state import PAT
from tests.connectors.slack.conftest import BOT_TOKEN
from tests.model.fake_openai import FakeOpenAI, Reply


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch,
    github: Any,
    github_served: tuple[Any, str],
    slack: Any,
    slack_served: tuple[Any, str],
) -> None:
    for key, value in {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "MCP_HUB_SLACK__BASE_URL": slack_served[1],
        "MCP_HUB_SLACK__POST_CHANNELS": "general",
        "MCP_HUB_CONNECTORS": "github,slack",
        "MCP_HUB_TOOLSETS": "all",
        "MCP_HUB_ALLOW_WRITES": "1",
        "MCP_HUB_TRIAGE__SLACK_CHANNELS": "general",
    }.items():
        monkeypatch.setenv(key, value)


def test_triage_cli_reports_and_writes_nothing_unapproved(
    env: None, github: Any, slack: Any, fake: FakeOpenAI, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.push(Reply(content=json.dumps({"summary": "A crash on start.", "labels": ["bug"], "duplicates": []})))
    code = main(
        [
            "triage",
            "acme/widgets",
            "--issue",
            "40",
            "--apply",
            "--slack-channel",
            "general",
            "--base-url",
            base_url,
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["issues"][0]["summary"] == "A crash on start."
    assert out["issues"][0]["labels_outcome"] == "nothing to apply"  # #40 is already labelled bug
    assert out["digest_outcome"].startswith("not approved (non-interactive)")
    assert slack.count("chat.postMessage") == 0


def test_triage_cli_refuses_a_channel_outside_the_allow_list(
    env: None, github: Any, fake: FakeOpenAI, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["triage", "acme/widgets", "--slack-channel", "random", "--base-url", base_url])
    err = capsys.readouterr().err
    assert code == 2 and "random is not in [triage] slack_channels" in err
    assert fake.requests == [] and github.state.log == []

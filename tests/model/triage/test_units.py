"""The deterministic parts: repository names, duplicate candidates, reading the model's answer, settings."""

from __future__ import annotations

import pytest

from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError, InvalidInput, PolicyDenied
from model.toolcalls import ParseFailure
from model.triage.repo import RepoRef, parse_repo
from model.triage.report import slack_escape
from model.triage.schema import parse_triage, triage_schema
from model.triage.settings import take_triage_settings
from model.triage.similar import rank_similar


def test_parse_repo() -> None:
    assert parse_repo("acme/widgets") == RepoRef("github", "acme/widgets")
    assert parse_repo("gitlab:group/sub/proj") == RepoRef("gitlab", "group/sub/proj")
    assert parse_repo("https://github.com/acme/widgets/") == RepoRef("github", "acme/widgets")
    assert parse_repo("https://gitlab.example.com/g/p/-/issues") == RepoRef("gitlab", "g/p")
    assert parse_repo("https://ghe.corp/acme/w", "github") == RepoRef("github", "acme/w")
    with pytest.raises(InvalidInput, match="owner/name"):
        parse_repo("widgets")


def test_rank_similar_prefers_the_same_problem() -> None:
    others = [
        (1, "Crash on start with KeyError in config loader"),
        (2, "Add dark mode"),
        (3, "Docs typo in the guide"),
        (4, "Start page is slow"),
    ]
    found = rank_similar("App crashes on start: KeyError in config", others)
    assert [c.number for c in found][:1] == [1] and 2 not in [c.number for c in found]
    assert rank_similar("", others) == [] and rank_similar("anything", []) == []


def test_parse_triage_keeps_only_known_labels_and_candidates() -> None:
    text = (
        'Sure!\n```json\n{"summary": " A  crash. ", "labels": ["BUG", "nope", "bug"], '
        '"duplicates": [{"number": "#4", "reason": "same"}, {"number": 9, "reason": "x"}]}\n```'
    )
    got = parse_triage(text, ["bug", "docs"], [4])
    assert got.summary == "A crash." and got.labels == ["bug"] and got.duplicates == [(4, "same")]
    assert len(got.dropped) == 2
    with pytest.raises(ParseFailure):
        parse_triage("no json here", ["bug"], [])
    with pytest.raises(ParseFailure):
        parse_triage('{"summary": ""}', ["bug"], [])


def test_schema_restricts_labels_and_numbers() -> None:
    schema = triage_schema(["bug", "docs"], [3, 8])
    assert schema["properties"]["labels"]["items"] == {"enum": ["bug", "docs"]}
    assert schema["properties"]["duplicates"]["items"]["properties"]["number"] == {"enum": [3, 8]}
    empty = triage_schema([], [])
    assert empty["properties"]["labels"]["maxItems"] == 0 and empty["properties"]["duplicates"]["maxItems"] == 0


def test_settings_channel_allow_list() -> None:
    config = load_config(env={"MCP_HUB_TRIAGE__SLACK_CHANNELS": "#triage,ops", "MCP_HUB_TRIAGE__DIGEST_CHANNEL": "ops"})
    settings = take_triage_settings(config)
    assert settings.channel(None) == "ops" and settings.channel("#triage") == "#triage"
    with pytest.raises(PolicyDenied, match="not in \\[triage\\] slack_channels"):
        settings.channel("general")
    with pytest.raises(ConfigError, match="\\[triage\\]"):
        take_triage_settings(load_config(env={"MCP_HUB_TRIAGE__MAX_ISSUES": "0"}))
    assert "triage" not in load_config(env={"MCP_HUB_TRIAGE__LANG": "ja"}).connectors


def test_slack_escape() -> None:
    assert slack_escape("<!here> a&b http://x.y/z") == "&lt;!here&gt; a&amp;b [link removed]"

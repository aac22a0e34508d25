"""The tools suite's world in the tests: the GitHub and Slack fakes and a Postgres test database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from model.eval.tools import ToolWorld
from model.eval.world import build_hub
from tests.connectors.github.fake_state import PAT
from tests.connectors.slack.conftest import BOT_TOKEN, USER_TOKEN, seed
from tests.connectors.slack.fake_slack import FakeSlack
from tests.model.eval.behaviours import BEHAVIOURS, ScriptedModels
from tests.model.fake_openai import FakeOpenAI
from tests.pg import TestDatabase
from tests.support.http_server import serve_in_thread


@pytest.fixture(scope="session")
def slack_served() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack(BOT_TOKEN, USER_TOKEN)
    seed(fake)
    with serve_in_thread(fake.app()) as url:
        yield fake, url
    assert fake.contract_errors == []


@pytest.fixture
def world(
    github: Any, github_served: tuple[Any, str], slack_served: tuple[FakeSlack, str], pg_dsn: TestDatabase
) -> ToolWorld:
    env = {
        "GITHUB_TOKEN": PAT,
        "GITHUB_API_URL": github_served[1],
        "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "MCP_HUB_SLACK__BASE_URL": slack_served[1],
        "DATABASE_URL": pg_dsn.reader_dsn,
    }
    hub = build_hub(env, ["github", "slack", "postgres"])
    return ToolWorld(hub, frozenset({"github", "slack", "postgres"}))


@pytest.fixture
def models(fake: FakeOpenAI) -> Iterator[ScriptedModels]:
    scripted = ScriptedModels()
    fake.models = list(BEHAVIOURS)
    fake.responder = scripted
    yield scripted
    fake.models = ["deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"]

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from model.client import ClientOptions, ModelClient
from model.endpoint import resolve_endpoint
from tests.model.fake_openai import FakeOpenAI
from tests.support.http_server import serve_in_thread

MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live: needs a real OpenAI-compatible endpoint (MCP_HUB_LIVE_MODEL_URL); skipped otherwise"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MCP_HUB_LIVE_MODEL_URL"):
        return
    skip = pytest.mark.skip(reason="live model tests need MCP_HUB_LIVE_MODEL_URL")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with serve_in_thread(fake.app) as base:
        yield fake, base + "/v1"


@pytest.fixture
def fake(fake_server: tuple[FakeOpenAI, str]) -> FakeOpenAI:
    fake_server[0].reset()
    return fake_server[0]


@pytest.fixture
def base_url(fake_server: tuple[FakeOpenAI, str]) -> str:
    return fake_server[1]


async def _no_sleep(_: float) -> None:
    return None


def make_client(base_url: str, **options: float) -> ModelClient:
    endpoint = resolve_endpoint("vllm", base_url, env={})
    return ModelClient(endpoint, ClientOptions(**options), sleep=_no_sleep)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def github_served() -> Iterator[tuple[object, str]]:
    from tests.connectors.github.fake_app import FakeGithub

    github = FakeGithub()
    with serve_in_thread(github.app) as base:
        yield github, base + "/api/v3"


@pytest.fixture
def github(github_served: tuple[object, str]) -> object:
    fake_github = github_served[0]
    fake_github.reset()  # type: ignore[attr-defined]
    return fake_github


@pytest.fixture
def hub(github: object, github_served: tuple[object, str], pg_dsn: object, tmp_path: object) -> object:
    from tests.model.hubs import make_hub

    return make_hub(pg_dsn, github_served[1])  # type: ignore[arg-type]

"""Webhook tests: the three stores (SQLite file, the test PostgreSQL, Redis at 127.0.0.1:6379, which must be
running: these tests fail, never skip, without it), each test under its own key/table prefix."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from model.webhook.store import Store, open_store
from tests.pg import TestDatabase

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        pytest.fail(f"Redis must run at 127.0.0.1:6379 for the webhook store tests ({type(exc).__name__})")


def store_url(kind: str, tmp_path: Path, pg: TestDatabase) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/queue.db"
    if kind == "postgres":
        return pg.superuser_dsn
    redis_reachable()
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def prefix() -> str:
    return "t_" + secrets.token_hex(6)


@pytest.fixture
def make_store(store_kind: str, tmp_path: Path, pg_dsn: TestDatabase, prefix: str) -> Callable[[], Store]:
    url = store_url(store_kind, tmp_path, pg_dsn)
    return lambda: open_store(url, prefix=prefix)


@pytest.fixture
async def store(make_store: Callable[[], Store]) -> AsyncIterator[Store]:
    s = make_store()
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def any_job(**fields: Any) -> Any:
    from model.webhook.jobs import Job

    base: dict[str, Any] = {
        "kind": "review",
        "forge": "github",
        "repo": "acme/widgets",
        "number": 1,
        "sha": "a" * 40,
        "url": "https://github.com/acme/widgets/pull/1",
    }
    return Job(**(base | fields))

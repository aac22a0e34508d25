from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.pg import TestDatabase

# ---- PostgreSQL test database (tests/pg.py) ------------------------------------------------------
# Session-wide: find or start a server once, make one throwaway database with a reader role.
# tests.pg is imported inside the fixtures so that test runs without the database never load psycopg.


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs a command in process (`mcp_hub.cli.main`) installs the CLI's one stderr handler on
    the root logger, over a stream pytest closes after the test: put the root logger back as it was, so a
    later test's log capture is not preceded by that handler (whose redacting filter folds tracebacks), and
    `mcp_hub.logs` forgets it was set up."""
    from mcp_hub import logs

    root = logging.getLogger()
    handlers, level, state = root.handlers[:], root.level, dict(logs._state)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._state.clear()
    logs._state.update(state)  # before `setup_logging` again: `progress` prints plain lines


@pytest.fixture
def anyio_backend() -> str:
    """psycopg's async API runs on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A superuser DSN: MCP_HUB_TEST_DSN, 127.0.0.1:5432, a throwaway cluster or pgserver; never a skip."""
    from tests.pg import find_server

    with find_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    """A fresh database (customers, orders) with superuser_dsn and reader_dsn; dropped at the end."""
    from tests.pg import throwaway_database

    with throwaway_database(pg_admin_dsn) as database:
        yield database


# ---- end of PostgreSQL test database -------------------------------------------------------------


# ---- Redis (shared state across hub replicas) ----------------------------------------------------
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RedisTarget:
    url: str
    #: Unique to the test: every key the test writes starts with it, and is deleted afterwards.
    prefix: str


@pytest.fixture
def redis_target() -> Iterator[RedisTarget]:
    """Redis at 127.0.0.1:6379 (MCP_HUB_TEST_REDIS_URL overrides) with a key prefix of the test's own.

    Fails, never skips, when Redis is not running: `.ci/run` starts it (`redis-server --daemonize yes`).
    """
    import os
    import uuid

    import redis

    url = os.environ.get("MCP_HUB_TEST_REDIS_URL", REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {url} ({exc}); start it with `redis-server --daemonize yes`")
    prefix = f"mcp-hub-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield RedisTarget(url, prefix)
    finally:
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


# ---- end of Redis --------------------------------------------------------------------------------

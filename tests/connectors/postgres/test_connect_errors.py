"""Connection failures name their cause, advise a retry only where it helps, quote nothing of the DSN;
the pool's reconnect warnings do not flood the log."""

from __future__ import annotations

import logging
import socket
import time

import anyio
import psycopg
import pytest

from connectors.postgres import pool as pool_module
from connectors.postgres.errors import connect_error, translate
from connectors.postgres.pool import QuietPoolLog, open_pool
from connectors.postgres.settings import PostgresSettings
from mcp_hub.errors import AuthError, ConfigError, UpstreamUnavailable
from mcp_hub.secret import Secret

pytestmark = pytest.mark.anyio


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("libpq", "kind", "expected", "retry"),
    [
        (
            'connection to server at "db.internal" (10.0.0.5), port 5433 failed: FATAL:  password authentication '
            'failed for user "app"',
            AuthError,
            'authentication failed for user "app"',
            False,
        ),
        ("fe_sendauth: no password supplied", AuthError, "authentication failed (fe_sendauth)", False),
        (
            "failed to resolve host 'db.internal': [Errno -2] Name or service not known",
            UpstreamUnavailable,
            "host name does not resolve",
            False,
        ),
        (
            'connection to server at "db.internal", port 5433 failed: FATAL:  sorry, too many clients already',
            UpstreamUnavailable,
            "refused new connections for now (too many clients)",
            True,
        ),
        ("connection timeout expired", UpstreamUnavailable, "the database is unreachable", True),
    ],
)
def test_libpq_messages(libpq: str, kind: type, expected: str, retry: bool) -> None:
    error = connect_error(libpq)
    assert type(error) is kind and expected in error.message
    assert ("try again" in error.message) == retry
    assert "db.internal" not in error.message and "10.0.0.5" not in error.message and "5433" not in error.message


def test_real_failures_translated(pg_admin_dsn: str) -> None:
    cases = [
        ({"dbname": "no_such_db_first_run"}, ConfigError, 'database "no_such_db_first_run" does not exist'),
        ({"user": "no_such_role_first_run"}, AuthError, 'role "no_such_role_first_run" does not exist'),
        ({"host": "127.0.0.1", "port": str(closed_port())}, UpstreamUnavailable, "nothing listens"),
    ]
    for change, kind, expected in cases:
        dsn = psycopg.conninfo.make_conninfo(pg_admin_dsn, password="hunter2-x", **change)
        with pytest.raises(psycopg.OperationalError) as caught:
            psycopg.connect(dsn, connect_timeout=2)
        error = translate(caught.value)
        assert type(error) is kind and expected in error.message and "hunter2" not in error.message


async def test_a_tool_call_names_the_cause(pg_admin_dsn: str) -> None:
    """Through the pool (which itself only times out), the cause is named."""
    dsn = psycopg.conninfo.make_conninfo(pg_admin_dsn, dbname="no_such_db_first_run")
    settings = PostgresSettings(dsn=Secret(dsn), connect_timeout_s=1)
    pool = await open_pool(settings)
    try:
        with pytest.raises(ConfigError, match='database "no_such_db_first_run" does not exist'):
            await pool_module.borrow(pool, lambda conn: conn.execute("SELECT 1"), retry=True)
    finally:
        await pool.close()


async def test_reconnect_warnings_are_tamed(caplog: pytest.LogCaptureFixture) -> None:
    for quiet in logging.getLogger("psycopg.pool").filters:
        if isinstance(quiet, QuietPoolLog):
            quiet._last.clear()  # earlier tests' pools had the same name and cause
    dsn = f"postgresql://postgres:hunter2-x@127.0.0.1:{closed_port()}/postgres"
    settings = PostgresSettings(dsn=Secret(dsn), pool_min_size=2, connect_timeout_s=1)
    caplog.set_level(logging.WARNING, logger="psycopg.pool")
    pool = await open_pool(settings)
    try:
        await anyio.sleep(3.5)  # psycopg_pool retries with backoff: several failures per connection by now
    finally:
        await pool.close()
    records = [r for r in caplog.records if r.name == "psycopg.pool"]
    assert len(records) == 1, [r.getMessage() for r in records]
    text = records[0].getMessage()
    assert "cannot connect (the database is unreachable" in text and "127.0.0.1" not in text
    assert "hunter2" not in text


def test_one_warning_per_pool_and_interval() -> None:
    quiet = QuietPoolLog()

    def record(pool: str) -> logging.LogRecord:
        return logging.LogRecord(
            "psycopg.pool",
            logging.WARNING,
            __file__,
            1,
            "error connecting in %r: %s",
            (pool, "Connection refused"),
            None,
        )

    assert quiet.filter(record("a")) and not quiet.filter(record("a")) and quiet.filter(record("b"))
    cause = connect_error("Connection refused").message
    quiet._last["a", cause] = time.monotonic() - QuietPoolLog.INTERVAL_S - 1  # a minute later
    assert quiet.filter(record("a"))

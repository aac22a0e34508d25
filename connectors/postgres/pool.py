"""The connection pool and what every call does around its round trip.

Borrowing (`borrow`): a pooled connection, once more on a fresh one when it
turns out dead (server restarted, backend terminated) and the work is safe to
repeat; a clear error when every connection is busy. Giving back (`_release`):
a connection left idle was reset in the statement's own round trip (see
`wire.run_pipeline`); one left in a transaction is rolled back and discarded
here; one in an unknown state is closed.
Every connection starts with the instance's `statement_timeout` (a startup
option, so `DISCARD ALL` returns to it); a call with another limit sets its own
for its transaction.
Cancelling: see `wire._drive`.

Imported lazily by the executor, so psycopg is imported at the top.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload
from weakref import WeakKeyDictionary

import anyio
import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from connectors.postgres.settings import PostgresSettings
from connectors.postgres.wire import discard
from mcp_hub.errors import ConfigError, HubError, UpstreamUnavailable

Connection = AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[Connection]
T = TypeVar("T")

#: How long rolling back after a failed or cancelled statement may take.
CLEANUP_TIMEOUT_S = 5.0


#: The `statement_timeout` each pool's connections start with (see `session_timeout_ms`).
_SESSION_TIMEOUTS: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def session_timeout_ms(pool: Pool) -> int | None:
    """The `statement_timeout` the pool's connections start with (None: the server's default)."""
    return _SESSION_TIMEOUTS.get(pool)


def conninfo_for(settings: PostgresSettings, dsn: str) -> str:
    """`dsn` with the TLS settings and the statement timeout applied; ConfigError (quoting nothing of
    it) when it is malformed."""
    try:
        given = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        # Its message quotes the DSN, password included: say nothing more.
        raise ConfigError("the PostgreSQL DSN is not a valid libpq URL or key=value string") from None
    # Startup options the DSN may carry (`-c search_path=…`) are kept; ours comes last and wins.
    options = f"{given.get('options') or ''} -c statement_timeout={int(settings.statement_timeout_ms)}"
    extra: dict[str, Any] = {"options": options.strip()}
    if settings.sslmode:
        extra["sslmode"] = settings.sslmode
    root = settings.sslrootcert or settings.ca_bundle
    if root:
        extra["sslrootcert"] = root
    return psycopg.conninfo.make_conninfo(dsn, **extra)


async def open_pool(settings: PostgresSettings, dsn: str | None = None) -> Pool:
    """Open a connection pool for `settings` without waiting for a connection.

    Connections are autocommit (we write our own BEGIN) and psycopg never
    prepares on them (`wire` prepares our repeated texts itself). The pool has no
    reset callback: `wire.run_pipeline` resets in the same round trip (cheaper for
    a call's latency, measured, than a reset in the pool's background worker), and
    `_release` catches the rest. `dsn` overrides the settings' (the
    embedded database's).
    """
    if dsn is None:
        if settings.dsn is None:
            raise ConfigError(settings.missing() or "no DSN")
        dsn = settings.dsn.get_secret_value()
    pool: Pool = AsyncConnectionPool(
        conninfo_for(settings, dsn),
        kwargs={
            "autocommit": True,
            "prepare_threshold": None,
            "application_name": settings.application_name,
            # libpq takes whole seconds (and treats 1 as 2).
            "connect_timeout": max(2, math.ceil(settings.connect_timeout_s)),
        },
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.connect_timeout_s,
        name="mcp-hub-postgres",
        open=False,
    )
    _SESSION_TIMEOUTS[pool] = int(settings.statement_timeout_ms)
    await pool.open(wait=False)
    return pool


async def borrow(pool: Pool, work: Callable[[Connection], Awaitable[T]], *, retry: bool) -> T:
    """Run `work` on a pooled connection; with `retry`, once more on a fresh one if the
    connection turned out dead (server restarted, backend terminated). Only work that is
    safe to repeat (a read-only statement) may retry: a write may have committed.

    Giving the connection back is shielded from cancellation (rolling back must not be
    cut short, nor handing it to a waiting client), except in the ordinary case: work
    that succeeded, a connection left idle and nobody waiting for one. The pool then
    puts it back without suspending (no reset callback, no lock held across a wait),
    so no cancellation can land in it, and the shield's cost (a few µs of anyio per
    call, measured) is saved.
    """
    for attempt in (1, 2):
        conn = await _getconn(pool)
        try:
            result = await work(conn)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):  # bounded inside
                await _release(pool, conn)
            if not isinstance(exc, psycopg.Error) or not retry or attempt == 2 or not conn.closed:
                raise
        else:
            if conn.info.transaction_status == TransactionStatus.IDLE and _nobody_waiting(pool):
                await pool.putconn(conn)
            else:
                with anyio.CancelScope(shield=True):
                    await _release(pool, conn)
            return result
        await pool.check()  # drop the other dead connections a restart left in the pool
    raise AssertionError("unreachable")


def _nobody_waiting(pool: Pool) -> bool:
    """No client is waiting for a connection. psycopg_pool keeps them in a deque, `_waiting`: reading it
    is a cheap test per call (`get_stats()` builds a dict of every counter); without it, ask `get_stats()`."""
    waiting = getattr(pool, "_waiting", None)
    if waiting is None:
        return not pool.get_stats().get("requests_waiting")
    return not waiting


async def _getconn(pool: Pool) -> Connection:
    try:
        return await pool.getconn()
    except PoolTimeout:
        stats = pool.get_stats()
        if stats.get("pool_size", 0) >= pool.max_size and not stats.get("pool_available", 0):
            raise UpstreamUnavailable(
                f"all {pool.max_size} database connections of this instance are busy with other statements "
                f"(waited {pool.timeout:g} s); try again shortly, or ask the operator to raise pool_max_size"
            ) from None
        raise await connect_failure(pool) from None


@overload
async def connect_failure(pool: Pool) -> HubError: ...
@overload
async def connect_failure(pool: Pool, *, only_failure: bool) -> HubError | None: ...
async def connect_failure(pool: Pool, *, only_failure: bool = False) -> HubError | None:
    """Why the pool cannot connect: one direct attempt with its settings, its error translated (the pool
    itself only says it timed out). If it connects: None with `only_failure`, else "unreachable" (the
    failure was passing)."""
    from connectors.postgres.errors import UNREACHABLE, translate

    kwargs = pool.kwargs if isinstance(pool.kwargs, dict) else {}  # ours are (see open_pool)
    try:
        conn = await psycopg.AsyncConnection.connect(str(pool.conninfo), **kwargs)
    except psycopg.Error as exc:
        return translate(exc)
    await conn.close()
    return None if only_failure else UpstreamUnavailable(UNREACHABLE)


class QuietPoolLog(logging.Filter):
    """psycopg_pool logs a warning, quoting libpq's message (host, port, user), for every failed
    reconnect attempt: let one through per pool, cause and minute, with the cause named and nothing else."""

    INTERVAL_S = 60.0

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        from connectors.postgres.errors import connect_error

        if record.msg == "error connecting in %r: %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            name, error = record.args
            cause = connect_error(str(error)).message
            now = time.monotonic()
            if now - self._last.get((str(name), cause), -math.inf) < self.INTERVAL_S:
                return False
            self._last[(str(name), cause)] = now
            record.msg = "postgres: cannot connect (%s); retrying in the background (repeats silenced for %d s)"
            record.args = (cause, int(self.INTERVAL_S))
            return True
        return not str(record.msg).startswith("reconnection attempt in pool")


_POOL_LOG = logging.getLogger("psycopg.pool")
if not any(isinstance(f, QuietPoolLog) for f in _POOL_LOG.filters):
    _POOL_LOG.addFilter(QuietPoolLog())


async def _release(pool: Pool, conn: Connection) -> None:
    """Roll back whatever is open, then give the connection back to the pool."""
    status = conn.info.transaction_status
    if status == TransactionStatus.ACTIVE:  # a result never read: the state is unknown
        await conn.close()
    elif status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        try:
            with anyio.fail_after(CLEANUP_TIMEOUT_S):
                await conn.execute("ROLLBACK")
                await discard(conn)
        except (psycopg.Error, TimeoutError):
            await conn.close()
    await pool.putconn(conn)

"""Run one read-only statement: pool, transaction, limits, cancellation, JSON-ready rows.

Imported lazily by the connector on first use, so psycopg is imported at the top.

One call is one pipelined round trip on one pooled connection::

    BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
    SELECT set_config('statement_timeout', $1, true)     -- local to this transaction
    DECLARE mcp_hub_rows NO SCROLL CURSOR FOR <statement>  -- or the statement itself (SHOW, EXPLAIN)
    FETCH FORWARD <max_rows + 1> FROM mcp_hub_rows
    ROLLBACK

Pipeline mode sends every command over the extended protocol, so the server
itself refuses a second statement hidden in the caller's text, even if the
guard were bypassed. (psycopg uses the simple protocol, which runs
`SELECT 1; DROP TABLE t` whole, for any query sent with no parameters, and an
empty parameter list counts as none.) The cursor makes the server produce at
most `max_rows + 1` rows, so a huge result never crosses the network.
The transaction always ends in ROLLBACK (the pool's reset rolls back whatever
we could not), and the pool runs `DISCARD ALL` before a connection is reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import AsyncConnection, AsyncRawCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from connectors.postgres.errors import translate
from connectors.postgres.settings import PostgresSettings
from mcp_hub.errors import ConfigError

Connection = AsyncConnection[TupleRow]
Pool = AsyncConnectionPool[Connection]
T = TypeVar("T")

_CURSOR = "mcp_hub_rows"
_DECLARE = f"DECLARE {_CURSOR} NO SCROLL CURSOR FOR "
#: Statements a cursor cannot wrap; their output is small (a plan, a setting).
_NOT_CURSORABLE = re.compile(r"(?:show|explain)\b", re.IGNORECASE)
#: How long cancelling a statement, and rolling back after it, may take.
_CLEANUP_TIMEOUT_S = 5.0
_CLEANUP_TIMEOUT_MS = int(_CLEANUP_TIMEOUT_S * 1000)


@dataclass
class QueryRows:
    """A result ready for JSON: every cell is None, bool, int, float, str, list or dict."""

    columns: list[str]
    rows: list[list[Any]]
    #: Rows returned (at most `max_rows`).
    row_count: int
    #: True when more rows existed beyond `max_rows`.
    truncated: bool
    #: Time in the database, from BEGIN to ROLLBACK, in milliseconds.
    elapsed_ms: float


async def open_pool(settings: PostgresSettings) -> Pool:
    """Open a connection pool for `settings` without waiting for a connection.

    Connections are autocommit (we write our own BEGIN), never auto-prepare
    (the reset below deallocates everything anyway), and are reset with
    `DISCARD ALL` when returned, in the pool's background worker.
    """
    if settings.dsn is None:
        raise ConfigError(settings.missing() or "no DSN")
    dsn = settings.dsn.get_secret_value()
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        # Its message quotes the DSN, password included: say nothing more.
        raise ConfigError("the PostgreSQL DSN is not a valid libpq URL or key=value string") from None
    pool: Pool = AsyncConnectionPool(
        dsn,
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
        reset=_discard_all,
        name="mcp-hub-postgres",
        open=False,
    )
    await pool.open(wait=False)
    return pool


async def _discard_all(conn: Connection) -> None:
    """Forget session state a statement may have left: GUCs, advisory locks, temp
    tables, prepared statements, LISTEN. psycopg clears its own prepared-statement
    cache when it sees DISCARD ALL; with prepare_threshold=None it has none."""
    await conn.execute("DISCARD ALL")


async def run_read_only(
    pool: Pool,
    sql: str,
    params: list[Any] | None,
    *,
    max_rows: int,
    timeout_ms: int,
    max_cell_chars: int,
) -> QueryRows:
    """Check `sql` with the guard, then run it read-only (see the module doc).

    Parameters are written `$1`, `$2`, … in `sql`. Raises `mcp_hub.errors`
    exceptions only. Cancelling the awaiting task cancels the statement in the
    server before the cancellation propagates.
    """
    from connectors.postgres import guard  # lazily: pglast costs ~60 ms to import

    statement = guard.check_read_only(sql)
    return await _run(pool, statement, params, max_rows=max_rows, timeout_ms=timeout_ms, max_cell_chars=max_cell_chars)


async def _run(
    pool: Pool,
    statement: str,
    params: list[Any] | None,
    *,
    max_rows: int,
    timeout_ms: int,
    max_cell_chars: int,
) -> QueryRows:
    """`run_read_only` without the guard: the database-side layers alone."""
    declare = _NOT_CURSORABLE.match(statement) is None
    args = _adapt_params(params)

    def fetch(conn: Connection) -> Awaitable[tuple[list[str], list[TupleRow], float]]:
        return _fetch(conn, statement, args, max_rows + 1, timeout_ms, declare)

    async def work(slot: _Slot) -> tuple[list[str], list[TupleRow], float]:
        return await _with_retry(pool, slot, fetch)

    try:
        columns, rows, elapsed_ms = await _cancel_in_server(work)
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, timeout_ms=timeout_ms, position_offset=len(_DECLARE) if declare else 0) from exc
    truncated = len(rows) > max_rows
    cells = [[_json_cell(value, max_cell_chars) for value in row] for row in rows[:max_rows]]
    return QueryRows(columns, cells, len(cells), truncated, elapsed_ms)


@dataclass
class RoleInfo:
    """Who the hub is in the database, for `mcp-hub config check`."""

    name: str
    superuser: bool
    #: Member of pg_read_server_files / pg_execute_server_program (or superuser).
    reads_server_files: bool
    executes_server_programs: bool


async def describe_role(pool: Pool) -> RoleInfo:
    """The connected role and its dangerous powers; raises `mcp_hub.errors` exceptions."""
    query = (
        "SELECT current_user::text, r.rolsuper,"
        " pg_has_role(current_user, 'pg_read_server_files', 'MEMBER'),"
        " pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER')"
        " FROM pg_roles r WHERE r.rolname = current_user"
    )
    result = await _run(pool, query, None, max_rows=1, timeout_ms=_CLEANUP_TIMEOUT_MS, max_cell_chars=200)
    name, superuser, reads, executes = result.rows[0]
    return RoleInfo(str(name), bool(superuser), bool(reads), bool(executes))


async def _fetch(
    conn: Connection, statement: str, params: Sequence[Any] | None, limit: int, timeout_ms: int, declare: bool
) -> tuple[list[str], list[TupleRow], float]:
    """One pipelined round trip (see the module doc); at most `limit` rows.

    No guard here. On error the transaction is left aborted and the caller rolls back.
    """
    control, results = AsyncRawCursor(conn), AsyncRawCursor(conn)
    failure: psycopg.Error | None = None
    started = time.perf_counter()
    try:
        async with conn.pipeline() as pipeline:
            try:
                await control.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                await control.execute("SELECT set_config('statement_timeout', $1, true)", [str(timeout_ms)])
                if declare:
                    await control.execute(_DECLARE + statement, params)
                    await results.execute(f"FETCH FORWARD {int(limit)} FROM {_CURSOR}")
                else:
                    await results.execute(statement, params)
                await control.execute("ROLLBACK")
                await pipeline.sync()
            except psycopg.Error as exc:
                failure = exc
    except psycopg.Error as exc:  # leaving an aborted pipeline fails again: keep the first error
        failure = failure or exc
    if failure is not None:
        raise failure
    elapsed_ms = (time.perf_counter() - started) * 1000
    columns = [column.name for column in results.description or ()]
    rows = await results.fetchmany(limit) if results.description else []
    return columns, rows, elapsed_ms


@dataclass
class _Slot:
    """What the outer task needs to cancel the inner one's statement."""

    conn: Connection | None = None
    cancelled: bool = False


async def _with_retry(pool: Pool, slot: _Slot, fetch: Callable[[Connection], Awaitable[T]]) -> T:
    """Run `fetch` on a pooled connection; once more on a fresh one if the
    connection turned out dead (server restarted, backend terminated).
    A read-only statement is always safe to run again."""
    for attempt in (1, 2):
        conn = await pool.getconn()
        slot.conn = conn
        try:
            if slot.cancelled:
                raise asyncio.CancelledError
            return await fetch(conn)
        except psycopg.Error:
            if attempt == 2 or not conn.closed or slot.cancelled:
                raise
        finally:
            slot.conn = None
            await _release(pool, conn)
        await pool.check()  # drop the other dead connections a restart left in the pool
    raise AssertionError("unreachable")


async def _release(pool: Pool, conn: Connection) -> None:
    """Roll back whatever is open, then give the connection back to the pool."""
    status = conn.info.transaction_status
    if status == TransactionStatus.ACTIVE:  # a result never read: the state is unknown
        await conn.close()
    elif status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
        try:
            with anyio.fail_after(_CLEANUP_TIMEOUT_S):
                await conn.execute("ROLLBACK")
        except (psycopg.Error, TimeoutError):
            await conn.close()
    await pool.putconn(conn)


async def _cancel_in_server(work: Callable[[_Slot], Awaitable[T]]) -> T:
    """Run `work` in its own task, shielded from our cancellation.

    When the awaiting task is cancelled (MCP's notifications/cancelled arrives as
    an anyio cancellation), cancel the running statement in the server, let
    `work` roll back and return its connection, then propagate the cancellation.
    psycopg does try to cancel on CancelledError by itself, but anyio delivers
    cancellation again at every await of a cancelled scope: psycopg's own
    cancel request is interrupted, it closes the socket, and the backend keeps
    running the statement. Hence the shield and our own `cancel_safe()`.
    """
    slot = _Slot()
    task = asyncio.ensure_future(work(slot))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        slot.cancelled = True
        try:
            with anyio.CancelScope(shield=True):
                conn = slot.conn
                if conn is None:
                    task.cancel()  # still waiting for a connection: nothing runs in the server
                else:
                    with contextlib.suppress(psycopg.Error, TimeoutError):
                        await conn.cancel_safe(timeout=_CLEANUP_TIMEOUT_S)
                with anyio.move_on_after(_CLEANUP_TIMEOUT_S):
                    await asyncio.wait([task])
        finally:
            if not task.done():
                task.cancel()  # psycopg then cancels once more and closes the connection
            task.add_done_callback(_consume)
        raise


def _consume(task: asyncio.Future[Any]) -> None:
    """Mark the abandoned task's outcome as seen (it is expected to have failed)."""
    if not task.cancelled():
        task.exception()


def _adapt_params(params: list[Any] | None) -> list[Any] | None:
    if not params:
        return None
    return [Jsonb(value) if isinstance(value, dict) else value for value in params]


_FLOAT_SPELLING = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _json_cell(value: Any, max_chars: int) -> Any:
    """`value` as JSON-ready data; long text (and long JSON) cut to `max_chars`."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _FLOAT_SPELLING[str(value)]
    if isinstance(value, str):
        return _clip(value, max_chars)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        hex_text = "\\x" + data[: max_chars // 2 + 1].hex()
        return _clip(hex_text, max_chars, total=2 + 2 * len(data))
    if isinstance(value, (list, tuple, dict)):
        tree = _json_tree(value)
        text = json.dumps(tree, ensure_ascii=False, separators=(",", ":"))
        return tree if len(text) <= max_chars else _clip(text, max_chars)
    return _clip(_scalar_text(value), max_chars)


def _json_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _json_tree(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_tree(item) for item in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _FLOAT_SPELLING[str(value)]
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    """Dates and times in ISO 8601, bytes as Postgres hex (\\x…), the rest (Decimal, UUID,
    interval, inet, ranges, …) as their text form: exact, unlike a float."""
    if isinstance(value, (datetime, date, dt_time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    return str(value)


def _clip(text: str, max_chars: int, *, total: int | None = None) -> str:
    length = len(text) if total is None else total
    if length <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {length - max_chars} chars]"

"""One pipelined round trip on libpq directly (psycopg.pq), without psycopg's cursor machinery.

psycopg's `pipeline()` with cursors costs ~330 µs of Python for our four
commands; the same messages sent with `PGconn.send_query_params` in pipeline
mode and read back with psycopg's own non-blocking generators cost ~30 µs more
than a bare `execute`. Every command still goes over the extended protocol
(Parse/Bind/Execute), so the server refuses a second statement in any text.

Parameters are dumped, and rows loaded, by psycopg's `Transformer` (its
adapters, so values come back as psycopg would return them); a failed command's
result becomes psycopg's exception for its SQLSTATE (`error_from_result`), so
the error translation is unchanged. Imported lazily by the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import AsyncConnection, abc, pq
from psycopg.abc import PQGen
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.generators import fetch_many, send
from psycopg.waiting import Ready, Wait

T = TypeVar("T")
#: How long cancelling a statement, and reading what is left after it, may take.
CLEANUP_TIMEOUT_S = 5.0

_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE)
_FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED)


@dataclass(frozen=True, slots=True)
class Command:
    """One SQL command and its parameters (`$1`, `$2`, … in the text)."""

    sql: str
    params: Sequence[Any] | None = None


@dataclass
class Outcome:
    """What one command returned."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    #: Per column, the (table oid, column number) it comes from; (0, 0) for an expression.
    sources: list[tuple[int, int]] = field(default_factory=list)
    #: The command tag, e.g. "INSERT 0 3", and the rows it affected (None when not applicable).
    status: str = ""
    affected: int | None = None


async def run_pipeline(conn: AsyncConnection[Any], commands: Sequence[Command]) -> list[Outcome]:
    """Send `commands`, then `DISCARD ALL`, then one Sync, in a single round trip.

    Returns one `Outcome` per command. `commands` must start a transaction and end
    it: `DISCARD ALL` (which forgets session state a statement may have left:
    advisory locks, prepared statements, temp tables, settings, LISTEN) cannot run
    inside one. When a command fails, the server skips the rest up to the Sync, the
    transaction stays aborted, and the first error is raised once every result is
    read: the pool's `_release` then rolls back and discards. So a connection that
    ends idle has always been discarded. A connection failure, or anything
    interrupting us mid-way, leaves the connection in an unknown state: it is
    closed before the error propagates.
    """
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    tx: abc.Transformer = Transformer(conn)
    try:
        pgconn.enter_pipeline_mode()
        for command in commands:
            _send_one(pgconn, tx, command, encoding)
        pgconn.send_query_params(b"DISCARD ALL", None)
        pgconn.pipeline_sync()
        raw = await _drive(conn, _exchange(pgconn))
        pgconn.exit_pipeline_mode()
    except BaseException:
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:  # results left unread: unknown state
            with anyio.CancelScope(shield=True):
                await conn.close()
        raise
    if len(raw) != len(commands) + 1:
        await conn.close()
        raise psycopg.OperationalError("the server did not answer every command; the connection was closed")
    outcomes: list[Outcome] = []
    failure: psycopg.Error | None = None
    for results in raw:
        outcome = Outcome()
        for result in results:
            if result.status in _FAILED:
                if failure is None and result.status == pq.ExecStatus.FATAL_ERROR:
                    failure = error_from_result(result, encoding=encoding)
                continue
            outcome = _outcome(tx, result, encoding)
        outcomes.append(outcome)
    discarded = raw[-1][-1].status == pq.ExecStatus.COMMAND_OK if raw[-1] else False
    if failure is not None and discarded is False and all(r and r[-1].status not in _FAILED for r in raw[:-1]):
        # Only DISCARD ALL failed (a server that refuses it in a pipeline): discard on its own.
        await conn.execute("DISCARD ALL")
        failure = None
    if failure is not None:
        raise failure
    return outcomes[:-1]


async def _drive(conn: AsyncConnection[Any], gen: PQGen[T]) -> T:
    """`conn.wait(gen)`, with our own answer to cancellation.

    psycopg does try to cancel the statement on CancelledError, but anyio delivers
    cancellation again at every await of a cancelled scope: psycopg's own cancel
    request is interrupted, it closes the socket, and the backend keeps running
    the statement. Here, on cancellation (MCP's notifications/cancelled arrives
    as an anyio cancellation; `asyncio.wait_for` as a plain one), we cancel the
    statement in the server and read the remaining results, shielded and
    bounded, leaving the connection idle or in a failed transaction for the
    pool to roll back; then the cancellation propagates. Waiting in our own
    task (no helper task) keeps a call to one wake-up per socket wait.
    """
    fileno = conn.pgconn.socket
    loop = asyncio.get_running_loop()
    try:
        state = next(gen)
        while True:
            try:
                ready = await _readiness(loop, fileno, state)
            except asyncio.CancelledError:
                with anyio.CancelScope(shield=True):
                    await _cancel_and_drain(conn, gen, loop, fileno, state)
                raise
            state = gen.send(ready)
    except StopIteration as done:
        result: T = done.value
        return result
    except OSError as exc:
        raise psycopg.OperationalError("connection socket closed") from exc


async def _cancel_and_drain(
    conn: AsyncConnection[Any], gen: PQGen[Any], loop: asyncio.AbstractEventLoop, fileno: int, state: int
) -> None:
    with contextlib.suppress(psycopg.Error, TimeoutError):
        await conn.cancel_safe(timeout=CLEANUP_TIMEOUT_S)
    with anyio.move_on_after(CLEANUP_TIMEOUT_S), contextlib.suppress(StopIteration, OSError, psycopg.Error):
        while True:
            state = gen.send(await _readiness(loop, fileno, state))
    # Every result read: leave pipeline mode (else the caller closes the connection).
    with contextlib.suppress(psycopg.Error):
        if not conn.pgconn.is_busy():
            conn.pgconn.exit_pipeline_mode()


async def _readiness(loop: asyncio.AbstractEventLoop, fileno: int, state: int) -> Ready:
    """Wait until the socket is ready for what `state` (a `Wait`) asks."""
    future: asyncio.Future[None] = loop.create_future()
    ready = 0

    def wake(flag: Ready) -> None:
        nonlocal ready
        ready |= flag
        if not future.done():
            future.set_result(None)

    reader, writer = state & Wait.R, state & Wait.W
    if reader:
        loop.add_reader(fileno, wake, Ready.R)
    if writer:
        loop.add_writer(fileno, wake, Ready.W)
    try:
        await future
    finally:
        if reader:
            loop.remove_reader(fileno)
        if writer:
            loop.remove_writer(fileno)
    return Ready(ready)


def _exchange(pgconn: pq.abc.PGconn) -> PQGen[list[list[pq.abc.PGresult]]]:
    """Flush what was queued, then read every command's results up to the Sync: one
    generator, so the event loop is woken only when the socket really has to be waited for."""
    yield from send(pgconn)
    raw: list[list[pq.abc.PGresult]] = []
    while True:
        results = yield from fetch_many(pgconn)
        if results and results[-1].status == pq.ExecStatus.PIPELINE_SYNC:
            return raw
        raw.append(results)


def _send_one(pgconn: pq.abc.PGconn, tx: abc.Transformer, command: Command, encoding: str) -> None:
    query = command.sql.encode(encoding)
    if not command.params:
        pgconn.send_query_params(query, None)
        return
    values = tx.dump_sequence(command.params, [PyFormat.AUTO] * len(command.params))
    pgconn.send_query_params(query, values, tx.types, tx.formats)


def _outcome(tx: abc.Transformer, result: pq.abc.PGresult, encoding: str) -> Outcome:
    status = (result.command_status or b"").decode(encoding, "replace")
    if result.status not in _ROWS:
        return Outcome(status=status, affected=_affected(result))
    count = result.nfields
    columns = [(result.fname(i) or b"").decode(encoding, "replace") for i in range(count)]
    sources = [(result.ftable(i), result.ftablecol(i)) for i in range(count)]
    tx.set_pgresult(result)
    rows = tx.load_rows(0, result.ntuples, tuple)
    return Outcome(columns, rows, sources, status, _affected(result))


def _affected(result: pq.abc.PGresult) -> int | None:
    return result.command_tuples

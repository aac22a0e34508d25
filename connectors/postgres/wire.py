"""One pipelined round trip on libpq directly (psycopg.pq), without psycopg's cursor machinery.

psycopg's `pipeline()` with cursors costs ~330 µs of Python for our four
commands; the same messages sent with `PGconn.send_query_params` in pipeline
mode and read back with psycopg's own non-blocking generators cost ~30 µs more
than a bare `execute`. Every command still goes over the extended protocol
(Parse/Bind/Execute), so the server refuses a second statement in any text.

A command a connection has already run once is prepared on its second run
(a named statement, like psycopg's own `prepare_threshold`, but at 2) and later
runs only Bind/Execute: the server then skips parsing and planning, which is
most of its time for a point query. Each connection keeps at most
`_MAX_STATEMENTS` texts; the least recently used is deallocated.

Parameters are dumped, and rows loaded, by psycopg's `Transformer` (its
adapters, so values come back as psycopg would return them); a failed command's
result becomes psycopg's exception for its SQLSTATE (`error_from_result`), so
the error translation is unchanged. Imported lazily by the executor.

A command with a `sink` is read as its rows arrive (libpq's single-row mode, or
chunks of `CHUNK_ROWS` rows): each chunk is loaded and handed to the sink, then
freed, so the whole result never sits in memory at once. When the sink has
enough (its byte budget is spent), the statement is cancelled in the server and
what is still in flight is read and dropped; the transaction is then rolled
back and the session reset outside the pipeline (`_after_stop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from weakref import WeakKeyDictionary

import anyio
import psycopg
from psycopg import AsyncConnection, abc, pq
from psycopg.abc import PQGen
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.generators import fetch, fetch_many, send
from psycopg.waiting import Ready, Wait

T = TypeVar("T")
#: How long cancelling a statement, and reading what is left after it, may take.
CLEANUP_TIMEOUT_S = 5.0

_ROWS = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)
_PARTIAL = (pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK)
#: Rows per libpq result while a sink reads: memory in flight is at most this many rows
#: (a wide value is held once, by libpq, then once as the loaded value, until it is cut).
#: 0 switches streaming off (the whole result, then the sink): for tests that show it matters.
CHUNK_ROWS = 1
_FAILED = (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED)
#: Plain ints, compared per result in the generators below (an enum member costs an attribute lookup).
_TUPLES_OK = int(pq.ExecStatus.TUPLES_OK)
_PIPELINE_SYNC = int(pq.ExecStatus.PIPELINE_SYNC)
#: A text is prepared on this run on a connection (psycopg's default is 5; ours repeat at once).
_PREPARE_ON_RUN = 2
#: Texts remembered per connection (counted or prepared); the least recently used is deallocated.
_MAX_STATEMENTS = 100
#: Prepared statement names, unique in the process (so a forgotten one is never reused).
_NAMES = (f"mcp_hub_{n}".encode() for n in itertools.count(1))
#: The server answers so when a prepared statement no longer fits its tables (their columns
#: changed) or was deallocated behind our back: forget them all and run the commands once more.
_STALE_STATEMENT = frozenset({"0A000", "26000"})


class RowSink(Protocol):
    """Takes a command's rows as they arrive (see the module doc)."""

    def begin(self, columns: list[str], sources: list[tuple[int, int]], types: list[int]) -> None:
        """The result's shape, once, before any row (also for a result without rows)."""

    def add(self, rows: list[tuple[Any, ...]]) -> bool:
        """Take some rows; False when no more are wanted (the statement is then cancelled)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One SQL command and its parameters (`$1`, `$2`, … in the text)."""

    sql: str
    params: Sequence[Any] | None = None
    #: Nobody reads its outcome (the hub's own BEGIN, ROLLBACK, set_config): none is built.
    quiet: bool = False
    #: Rows go to it as they arrive, not into the outcome (whose `rows` stays empty).
    sink: RowSink | None = None


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
    #: Per column, the type oid the server reports (RowDescription).
    types: list[int] = field(default_factory=list)


#: The reset of a read-only transaction that ends in ROLLBACK (sent just before it): session-level advisory locks
#: are the only state such a transaction can leave (settings, LISTEN, cursors, temp tables and
#: sequence values are undone by the rollback or refused in a READ ONLY transaction, and the
#: guard refuses PREPARE), so this clears what `DISCARD ALL` would, keeping prepared statements.
UNLOCK = Command("SELECT pg_advisory_unlock_all()")
#: After a commit, or a READ WRITE transaction: everything, prepared statements included.
DISCARD = Command("DISCARD ALL")


#: What one result group of the reply answers: (the command's index, or -1 for our own Parse or
#: DEALLOCATE; whether the command ran prepared).
_Sent = tuple[int, bool]
_OURS: _Sent = (-1, False)


class _StaleStatement(Exception):
    """A prepared statement the server refused as stale (see `_STALE_STATEMENT`)."""

    def __init__(self, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.error = error


class _Statements:
    """One connection's texts: how often each ran, or the name it is prepared under (LRU order);
    and its `Transformer`, kept so that its dumpers and loaders, once looked up, are reused."""

    def __init__(self, conn: AsyncConnection[Any]) -> None:
        self.entries: OrderedDict[tuple[bytes, tuple[int, ...]], int | bytes] = OrderedDict()
        self.tx: abc.Transformer = Transformer(conn)

    def use(self, key: tuple[bytes, tuple[int, ...]]) -> tuple[bytes | None, bool, bytes | None]:
        """(name to execute, whether to prepare it first, a name to deallocate first)."""
        entry = self.entries.get(key)
        if isinstance(entry, bytes):
            self.entries.move_to_end(key)
            return entry, False, None
        runs = (entry or 0) + 1
        name = next(_NAMES) if runs >= _PREPARE_ON_RUN else None
        self.entries[key] = name if name is not None else runs
        self.entries.move_to_end(key)
        evicted = None
        if len(self.entries) > _MAX_STATEMENTS:
            _, oldest = self.entries.popitem(last=False)
            evicted = oldest if isinstance(oldest, bytes) else None
        return name, name is not None, evicted


_STATEMENTS: WeakKeyDictionary[AsyncConnection[Any], _Statements] = WeakKeyDictionary()


async def discard(conn: AsyncConnection[Any]) -> None:
    """`DISCARD ALL` outside a pipeline (the pool's clean-up), forgetting the prepared statements."""
    _STATEMENTS.pop(conn, None)
    await conn.execute("DISCARD ALL")


async def run_pipeline(
    conn: AsyncConnection[Any], commands: Sequence[Command], *, reset: Command = DISCARD
) -> list[Outcome]:
    """Send `commands` and `reset` (`UNLOCK` or `DISCARD`), then one Sync, in a single round trip.

    `DISCARD ALL` follows the commands; `UNLOCK` goes before their final ROLLBACK
    (releasing session-level locks needs no transaction of its own).

    Returns one `Outcome` per command. `commands` must start a transaction and end
    it: `DISCARD ALL` (which forgets session state a statement may have left:
    advisory locks, prepared statements, temp tables, settings, LISTEN) cannot run
    inside one; `UNLOCK` only in a read-only transaction that ends in ROLLBACK.
    When a command fails, the server skips the rest up to the Sync, the
    transaction stays aborted, and the first error is raised once every result is
    read: the pool's `_release` then rolls back and discards. So a connection that
    ends idle has always been reset. A connection failure, or anything
    interrupting us mid-way, leaves the connection in an unknown state: it is
    closed before the error propagates. A prepared statement the server refuses as
    stale (its table's columns changed) is forgotten, and the commands run once
    more: they failed inside their transaction, so nothing of them happened.
    """
    try:
        return await _run_pipeline(conn, commands, reset)
    except _StaleStatement:
        pass
    finally:
        _release_result(conn)
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        await conn.execute("ROLLBACK")
    await discard(conn)
    try:
        return await _run_pipeline(conn, commands, reset)
    except _StaleStatement as again:
        raise again.error from None
    finally:
        _release_result(conn)


def _release_result(conn: AsyncConnection[Any]) -> None:
    """The connection's transformer keeps no result alive between round trips (they can be large)."""
    statements = _STATEMENTS.get(conn)
    if statements is not None:
        statements.tx.set_pgresult(None, set_loaders=False)


async def _run_pipeline(conn: AsyncConnection[Any], commands: Sequence[Command], reset: Command) -> list[Outcome]:
    statements = _STATEMENTS.get(conn)
    if statements is None:
        statements = _STATEMENTS[conn] = _Statements(conn)
    tx = statements.tx
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    sent: list[_Sent] = []
    try:
        pgconn.enter_pipeline_mode()
        # UNLOCK goes inside the transaction, before its last command (the ROLLBACK): after it, it would
        # run in an implicit transaction of its own, which costs the server ~25 µs a call (measured).
        inside = reset is UNLOCK and bool(commands) and commands[-1].sql == "ROLLBACK"
        last = len(commands) - 1
        for index, command in enumerate(commands):
            if inside and index == last:
                _send_one(pgconn, tx, reset, encoding, statements, -1, sent)  # its outcome is not read
            _send_one(pgconn, tx, command, encoding, statements, index, sent)
        if not inside:
            _send_one(pgconn, tx, reset, encoding, statements, -1, sent)
        pgconn.pipeline_sync()
        raw, stopped = await _drive(conn, _exchange(pgconn, tx, encoding, commands, sent))
        if stopped:
            raw = await _stop(conn, raw)
        pgconn.exit_pipeline_mode()
    except BaseException:
        if pgconn.pipeline_status != pq.PipelineStatus.OFF:  # results left unread: unknown state
            with anyio.CancelScope(shield=True):
                await conn.close()
        raise
    if reset is DISCARD:
        _STATEMENTS.pop(conn, None)  # gone on success; on failure `_release` discards
    if len(raw) != len(sent):
        await conn.close()
        raise psycopg.OperationalError("the server did not answer every command; the connection was closed")
    if stopped:
        return await _after_stop(conn, tx, commands, sent, raw, reset, encoding)
    outcomes: list[Outcome | None] = [None] * len(commands)
    failure: psycopg.Error | None = None
    stale = False
    for (index, prepared), results in zip(sent, raw, strict=True):
        for result in results:
            if result.status in _FAILED:
                if failure is None and result.status == pq.ExecStatus.FATAL_ERROR:
                    failure = error_from_result(result, encoding=encoding)
                    stale = prepared and failure.sqlstate in _STALE_STATEMENT
                continue
            if index >= 0 and not commands[index].quiet:
                if commands[index].sink is None:
                    outcomes[index] = _outcome(tx, result, encoding)
                else:  # its rows and shape went to the sink
                    outcomes[index] = _tag(result, encoding)
    if failure is not None:
        _STATEMENTS.pop(conn, None)  # whatever was prepared in this round trip is discarded below or by `_release`
        if stale:
            raise _StaleStatement(failure)
        if conn.info.transaction_status == pq.TransactionStatus.IDLE:  # `_release` discards only in a transaction
            if (
                raw[-1]
                and raw[-1][-1].status == pq.ExecStatus.FATAL_ERROR
                and all(r and r[-1].status not in _FAILED for r in raw[:-1])
            ):
                # Only the reset failed (a server that refuses it in a pipeline): reset on its own.
                await discard(conn)
                return [outcome or Outcome() for outcome in outcomes]
            with contextlib.suppress(psycopg.Error):
                await discard(conn)
        raise failure
    return [outcome or Outcome() for outcome in outcomes]


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


_Raw = list[list[pq.abc.PGresult]]


def _exchange(
    pgconn: pq.abc.PGconn, tx: abc.Transformer, encoding: str, commands: Sequence[Command], sent: list[_Sent]
) -> PQGen[tuple[_Raw, bool]]:
    """Flush what was queued, then read every command's results up to the Sync: one
    generator, so the event loop is woken only when the socket really has to be waited for.

    A command with a sink is read chunk by chunk into it; when the sink has enough,
    this returns at once, `True` second, leaving the rest unread (`_stop` reads it)."""
    yield from send(pgconn)
    raw: _Raw = []
    for index, _prepared in sent:
        sink = commands[index].sink if index >= 0 else None
        if sink is not None:
            results, stopped = yield from _stream(pgconn, tx, encoding, sink)
            raw.append(results)
            if stopped:
                return raw, True
            continue
        results = yield from fetch_many(pgconn)
        if results and results[-1].status == _PIPELINE_SYNC:  # fewer answers than commands
            return raw, False
        raw.append(results)
    while True:  # the Sync (or, from a confused server, more: the caller then closes the connection)
        results = yield from fetch_many(pgconn)
        if results and results[-1].status == _PIPELINE_SYNC:
            return raw, False
        raw.append(results)


def _stream(
    pgconn: pq.abc.PGconn, tx: abc.Transformer, encoding: str, sink: RowSink
) -> PQGen[tuple[list[pq.abc.PGresult], bool]]:
    """One command's results, its rows handed to `sink` a chunk at a time (each chunk freed after);
    returns its other results (the final, row-less one, or an error) and whether the sink stopped."""
    # libpq allows this here: the previous command's results are all read, none of this one's yet.
    if CHUNK_ROWS == 1:
        pgconn.set_single_row_mode()
    elif CHUNK_ROWS > 1:
        pgconn.set_chunked_rows_mode(CHUNK_ROWS)
    others: list[pq.abc.PGresult] = []
    begun = False
    while True:
        result = yield from fetch(pgconn)
        if result is None:
            return others, False
        status = result.status
        partial = status in _PARTIAL
        if partial or (status == _TUPLES_OK and not begun):
            if begun:
                tx.set_pgresult(result, set_loaders=False)
            else:
                tx.set_pgresult(result)
                sink.begin(*_shape(result, encoding))
                begun = True
            count = result.ntuples
            if count:
                wanted = sink.add(tx.load_rows(0, count, tuple))
                if partial:
                    result.clear()
                    if not wanted:
                        return others, True
                    continue
        others.append(result)


def _discard_rest(pgconn: pq.abc.PGconn, raw: _Raw) -> PQGen[_Raw]:
    """Read, and drop the rows of, everything up to the Sync; the results of the command that was
    being read when a sink stopped join its group (`raw[-1]`)."""
    current = raw[-1]
    while True:
        result = yield from fetch(pgconn)
        if result is None:
            current = []
            raw.append(current)
            continue
        if result.status == pq.ExecStatus.PIPELINE_SYNC:
            if not current:
                raw.pop()
            return raw
        if result.status in _PARTIAL:
            result.clear()
            continue
        current.append(result)


async def _stop(conn: AsyncConnection[Any], raw: _Raw) -> _Raw:
    """A sink has enough: cancel the statement in the server, then read what was in flight."""
    # The server acts on a cancel only between rows, not while blocked sending one: keep reading.
    with contextlib.suppress(psycopg.Error, TimeoutError):
        await conn.cancel_safe(timeout=CLEANUP_TIMEOUT_S)
    with anyio.fail_after(CLEANUP_TIMEOUT_S * 2):
        return await _drive(conn, _discard_rest(conn.pgconn, raw))


async def _after_stop(
    conn: AsyncConnection[Any],
    tx: abc.Transformer,
    commands: Sequence[Command],
    sent: list[_Sent],
    raw: _Raw,
    reset: Command,
    encoding: str,
) -> list[Outcome]:
    """After a sink stopped a statement: our cancel may have ended it, or (when it came late) one of
    the commands after it, reset included. Whatever it hit, roll back and reset on our own; an error
    of the stopped statement after the rows we kept is moot. Raises only a failure of a command
    before the stopped one (there is none: it would have aborted the pipeline before any row)."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        await conn.execute("ROLLBACK")
    if reset is DISCARD:
        await discard(conn)
    else:
        await conn.execute(reset.sql)
    outcomes: list[Outcome | None] = [None] * len(commands)
    for (index, _prepared), results in zip(sent, raw, strict=True):
        if index < 0 or commands[index].quiet:
            continue
        for result in results:
            if result.status in _ROWS or result.status == pq.ExecStatus.COMMAND_OK:
                outcomes[index] = _tag(result, encoding) if commands[index].sink else _outcome(tx, result, encoding)
    return [outcome or Outcome() for outcome in outcomes]


def _tag(result: pq.abc.PGresult, encoding: str) -> Outcome:
    return Outcome(status=(result.command_status or b"").decode(encoding, "replace"), affected=_affected(result))


def _shape(result: pq.abc.PGresult, encoding: str) -> tuple[list[str], list[tuple[int, int]], list[int]]:
    count = result.nfields
    columns = [(result.fname(i) or b"").decode(encoding, "replace") for i in range(count)]
    sources = [(result.ftable(i), result.ftablecol(i)) for i in range(count)]
    return columns, sources, [result.ftype(i) for i in range(count)]


def _send_one(
    pgconn: pq.abc.PGconn,
    tx: abc.Transformer,
    command: Command,
    encoding: str,
    statements: _Statements,
    index: int,
    sent: list[_Sent],
) -> None:
    """Queue `command` (prepared if it ran on this connection before); append to `sent` what each
    result group it causes will answer."""
    query = command.sql.encode(encoding)
    values: Sequence[abc.Buffer | None] | None = None
    types: tuple[int, ...] = ()
    formats = None
    if command.params:
        values = tx.dump_sequence(command.params, [PyFormat.AUTO] * len(command.params))
        types, formats = tuple(tx.types or ()), tx.formats
    name, prepare, evicted = statements.use((query, types))
    if evicted is not None:
        pgconn.send_query_params(b"DEALLOCATE " + evicted, None)
        sent.append(_OURS)
    if name is None:
        pgconn.send_query_params(query, values, types or None, formats)
        sent.append((index, False))
        return
    if prepare:
        pgconn.send_prepare(name, query, types or None)
        sent.append(_OURS)
    pgconn.send_query_prepared(name, values, formats)
    sent.append((index, True))


def _outcome(tx: abc.Transformer, result: pq.abc.PGresult, encoding: str) -> Outcome:
    status = (result.command_status or b"").decode(encoding, "replace")
    if result.status not in _ROWS:
        return Outcome(status=status, affected=_affected(result))
    columns, sources, types = _shape(result, encoding)
    tx.set_pgresult(result)
    rows = tx.load_rows(0, result.ntuples, tuple)
    return Outcome(columns, rows, sources, status, _affected(result), types)


def _affected(result: pq.abc.PGresult) -> int | None:
    return result.command_tuples

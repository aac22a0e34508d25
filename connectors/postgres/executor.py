"""Run statements: read-only (rolled back) or, when allowed, writes (committed).

Imported lazily by the connector on first use, so psycopg is imported at the top.

A read is one pipelined round trip on one pooled connection::

    BEGIN READ ONLY
    SELECT set_config('statement_timeout', $1, true)     -- only for a limit other than the instance's
    SELECT * FROM (<statement>) AS mcp_hub_rows LIMIT <max_rows + 1>  -- the statement itself for SHOW, EXPLAIN
    SELECT pg_advisory_unlock_all()
    ROLLBACK

(the hub's own scripts of several commands run in REPEATABLE READ, one snapshot for all).

Pipeline mode sends every command over the extended protocol, so the server
itself refuses a second statement hidden in the caller's text, even if the
guard were bypassed. (psycopg uses the simple protocol, which runs
`SELECT 1; DROP TABLE t` whole, for any query sent with no parameters, and an
empty parameter list counts as none.) The LIMIT makes the server produce at
most `max_rows + 1` rows, so a huge result never crosses the network; unlike a
cursor (DECLARE), the wrapped statement can be prepared, so a repeated query
skips the server's parsing and planning (`wire`). Rows are read as they arrive
into `rows.ResultRows`, which converts and counts them: once the byte budget
(`max_result_bytes`) is spent the statement is cancelled, so wide values never
pile up in the hub.
The transaction always ends in ROLLBACK (`pool._release` rolls back whatever
we could not); what a rolled-back READ ONLY transaction can leave in the
session, session-level advisory locks, is released before the connection is
reused (`wire.UNLOCK`, just before the ROLLBACK; a statement that fails skips
it, and the pool's `_release` then discards everything). Every connection's own `statement_timeout` is the
instance's (a startup option). A write is the same with `BEGIN READ WRITE`, the
statement itself, COMMIT and `DISCARD ALL`; it is never retried.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import PoolTimeout

from connectors.postgres import outsider as outsider_probe
from connectors.postgres.errors import translate
from connectors.postgres.outsider import Reads
from connectors.postgres.pool import CLEANUP_TIMEOUT_S, Connection, Pool, borrow, open_pool, session_timeout_ms
from connectors.postgres.rows import Reason, ResultRows
from connectors.postgres.wire import DISCARD, UNLOCK, Command, Outcome, run_pipeline

__all__ = ["Pool", "QueryRows", "describe_role", "open_pool", "run_internal", "run_read_only", "run_write"]

#: Around a SELECT, VALUES or WITH: the newlines end a trailing `--` comment and keep its text apart.
_CAPPED = "SELECT * FROM (\n{statement}\n) AS mcp_hub_rows LIMIT {limit}"
_CAPPED_OFFSET = len("SELECT * FROM (\n")
_BEGIN_READ = "BEGIN READ ONLY"
_BEGIN_SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_BEGIN_WRITE = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
_TIMEOUT = "SELECT set_config('statement_timeout', $1, true)"
_BEGIN_READ_COMMAND = Command(_BEGIN_READ, quiet=True)
_BEGIN_WRITE_COMMAND = Command(_BEGIN_WRITE, quiet=True)
_ROLLBACK_COMMAND = Command("ROLLBACK", quiet=True)
#: Statements a subquery cannot hold; their output is small (a plan, a setting).
_NOT_CAPPABLE = re.compile(r"(?:show|explain)\b", re.IGNORECASE)
_CLEANUP_TIMEOUT_MS = int(CLEANUP_TIMEOUT_S * 1000)
#: A connection that read a row wider than this (and than the byte budget) is closed after the call:
#: libpq never shrinks its input buffer, so a pooled connection would hold that much for good.
_RECYCLE_ABOVE = 8 * 1024 * 1024


@dataclass
class QueryRows:
    """A result ready for JSON: every cell is None, bool, int, float, str, list or dict."""

    columns: list[str]
    rows: list[list[Any]]
    #: Rows returned (at most `max_rows`).
    row_count: int
    #: True when more rows existed than were returned (beyond `max_rows`, or past the byte budget).
    truncated: bool
    #: Time in the database, from BEGIN to ROLLBACK, in milliseconds.
    elapsed_ms: float
    #: Per column, the (table oid, column number) it comes from; (0, 0) for an expression.
    sources: list[tuple[int, int]] = field(default_factory=list)
    #: The command tag of a write ("UPDATE 3") and the rows it affected.
    status: str = ""
    affected: int | None = None
    #: Per column, the type oid.
    types: list[int] = field(default_factory=list)
    #: What the statement read, when asked for (`outsider=True`).
    reads: Reads | None = None
    #: Bytes of `rows` as JSON (approximately), why rows were left out, and cells cut short.
    bytes: int = 0
    reason: Reason | None = None
    cut_cells: int = 0


async def run_read_only(
    pool: Pool,
    sql: str,
    params: list[Any] | None,
    *,
    max_rows: int,
    timeout_ms: int,
    max_cell_chars: int,
    outsider: bool = False,
    allowed_functions: Sequence[str] = (),
    max_bytes: int = 1 << 62,
) -> QueryRows:
    """Check `sql` with the guard, then run it read-only (see the module doc).

    The guard resolves names against the server's catalog (`catalog.names_for`)
    and the operator's `allowed_functions`. Parameters are written `$1`, `$2`, …
    in `sql`. Raises `mcp_hub.errors` exceptions only. Cancelling the awaiting
    task cancels the statement in the server before the cancellation propagates.
    """
    # Lazily (pglast costs ~60 ms to import), from the module itself: `from package import
    # module` inside a function runs importlib's Python code on every call.
    from connectors.postgres.catalog import names_for
    from connectors.postgres.guard import UnknownName, check_read_only

    names = await names_for(pool, allowed_functions)
    try:
        statement = check_read_only(sql, names)
    except UnknownName:  # created since the snapshot? Look once more, then decide.
        statement = check_read_only(sql, await names_for(pool, allowed_functions, refresh=True))
    return await run_internal(
        pool,
        statement,
        params,
        max_rows=max_rows,
        timeout_ms=timeout_ms,
        max_cell_chars=max_cell_chars,
        outsider=outsider,
        max_bytes=max_bytes,
    )


async def run_internal(
    pool: Pool,
    statement: str,
    params: Sequence[Any] | None,
    *,
    max_rows: int,
    timeout_ms: int,
    max_cell_chars: int,
    max_bytes: int = 1 << 62,
    read_only: bool = True,
    outsider: bool = False,
) -> QueryRows:
    """`run_read_only` without the guard, for checked or the hub's own SQL.

    `read_only=False` runs it in a READ WRITE transaction that is still rolled
    back (EXPLAIN ANALYZE of a write, when writes are allowed). `outsider=True`
    also learns which tables the statement read (`outsider.BEFORE`/`AFTER`
    around it, in the same round trip): `QueryRows.reads`.
    """
    capped = read_only and _NOT_CAPPABLE.match(statement) is None
    args = _adapt_params(params)

    own_timeout = None if timeout_ms == session_timeout_ms(pool) else timeout_ms

    async def fetch(conn: Connection) -> tuple[Outcome, float, list[Outcome], ResultRows]:
        # A fresh sink per attempt: a retry on a new connection starts over.
        sink = ResultRows(max_rows, max_bytes, max_cell_chars)
        commands, at, probed = _read_commands(
            statement, args, max_rows + 1, own_timeout, capped, read_only=read_only, outsider=outsider, sink=sink
        )
        started = time.perf_counter()
        outcomes = await run_pipeline(conn, commands, reset=UNLOCK if read_only else DISCARD)
        elapsed = (time.perf_counter() - started) * 1000
        if sink.widest_row > max(max_bytes, _RECYCLE_ABOVE):
            await conn.close()  # libpq keeps its input buffer as large as the widest row: free it
        probes = outcomes[at - probed : at] + outcomes[at + 1 : -1] if outsider else []
        return outcomes[at], elapsed, probes, sink

    try:
        outcome, elapsed_ms, probes, sink = await borrow(pool, fetch, retry=True)
    except (psycopg.Error, PoolTimeout) as exc:
        offset = _CAPPED_OFFSET if capped else 0
        quotable = "\n".join([statement, *map(str, params or ())])
        raise translate(exc, timeout_ms=timeout_ms, position_offset=offset, quotable=quotable) from exc
    # A stopped statement leaves its after-probe unread: `reads` then counts nothing, which fails closed.
    return _with_reads(_rows(outcome, elapsed_ms, sink), probes)


async def run_write(
    pool: Pool,
    statement: str,
    params: Sequence[Any] | None,
    *,
    max_rows: int,
    timeout_ms: int,
    max_cell_chars: int,
    outsider: bool = False,
    max_bytes: int = 1 << 62,
) -> QueryRows:
    """Run one checked statement in a READ WRITE transaction and commit it; never retried.

    Its RETURNING rows are read as they arrive within the same limits, but past them
    they are dropped, not cancelled: the write must finish. `outsider=True`: also
    learn which tables it read (`QueryRows.reads`, for RETURNING rows)."""
    args = _adapt_params(params)
    sink = ResultRows(max_rows, max_bytes, max_cell_chars, stop=False)
    before, after = _probes(outsider)
    commands = [
        _BEGIN_WRITE_COMMAND,
        Command(_TIMEOUT, [str(timeout_ms)], quiet=True),
        *before,
        Command(statement, args, sink=sink),
        *after,
        Command("COMMIT", quiet=True),
    ]
    at = 2 + len(before)

    async def run(conn: Connection) -> tuple[Outcome, float, list[Outcome]]:
        started = time.perf_counter()
        outcomes = await run_pipeline(conn, commands, reset=DISCARD)
        if sink.widest_row > max(max_bytes, _RECYCLE_ABOVE):
            await conn.close()  # as in `run_internal`
        probes = outcomes[2:at] + outcomes[at + 1 : -1]
        return outcomes[at], (time.perf_counter() - started) * 1000, probes

    try:
        outcome, elapsed_ms, probes = await borrow(pool, run, retry=False)
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, timeout_ms=timeout_ms) from exc
    return _with_reads(_rows(outcome, elapsed_ms, sink), probes)


async def run_script(
    pool: Pool, commands: Sequence[Command], *, timeout_ms: int, close_after: bool = False
) -> list[Outcome]:
    """The hub's own commands in one READ ONLY transaction, rolled back; one outcome each.

    `close_after` closes the connection instead of returning it, for commands that
    leave state a reset does not clear (hypopg's hypothetical indexes).
    """
    script = [Command(_BEGIN_SNAPSHOT, quiet=True), Command(_TIMEOUT, [str(timeout_ms)], quiet=True), *commands]
    script.append(_ROLLBACK_COMMAND)

    async def run(conn: Connection) -> list[Outcome]:
        try:
            return (await run_pipeline(conn, script, reset=UNLOCK))[2:-1]
        finally:
            if close_after:
                await conn.close()

    try:
        return await borrow(pool, run, retry=True)
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, timeout_ms=timeout_ms) from exc


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
    result = await run_internal(pool, query, None, max_rows=1, timeout_ms=_CLEANUP_TIMEOUT_MS, max_cell_chars=200)
    name, superuser, reads, executes = result.rows[0]
    return RoleInfo(str(name), bool(superuser), bool(reads), bool(executes))


def _read_commands(
    statement: str,
    params: Sequence[Any] | None,
    limit: int,
    timeout_ms: int | None,
    capped: bool,
    *,
    read_only: bool,
    outsider: bool,
    sink: ResultRows,
) -> tuple[list[Command], int, int]:
    """The commands of one pipelined round trip (see the module doc): at most `limit` rows when `capped`;
    with the index of the statement's command and how many probes precede it.

    `timeout_ms` None keeps the connection's own statement_timeout. No guard here.
    On error the transaction is left aborted and the caller rolls back. A READ
    WRITE transaction (rolled back too) may leave more than advisory locks in the
    session (sequence values): `DISCARD ALL` follows it.
    """
    commands = [_BEGIN_READ_COMMAND if read_only else _BEGIN_WRITE_COMMAND]
    if timeout_ms is not None:
        commands.append(Command(_TIMEOUT, [str(timeout_ms)], quiet=True))
    before, after = _probes(outsider)
    commands.extend(before)
    at = len(commands)
    if capped:
        commands.append(Command(_CAPPED.format(statement=statement, limit=int(limit)), params, sink=sink))
    else:
        commands.append(Command(statement, params, sink=sink))
    commands.extend(after)
    commands.append(_ROLLBACK_COMMAND)
    return commands, at, len(before)


def _rows(outcome: Outcome, elapsed_ms: float, sink: ResultRows) -> QueryRows:
    return QueryRows(
        sink.columns or outcome.columns,
        sink.rows,
        len(sink.rows),
        sink.truncated,
        elapsed_ms,
        sink.sources or outcome.sources,
        outcome.status,
        outcome.affected,
        sink.types or outcome.types,
        bytes=sink.bytes,
        reason=sink.reason,
        cut_cells=sink.cut_cells,
    )


def _probes(outsider: bool) -> tuple[Sequence[Command], Sequence[Command]]:
    """The commands around a statement that tell which tables it read (`outsider`), or none."""
    if not outsider:
        return (), ()
    return outsider_probe.BEFORE, outsider_probe.AFTER


def _with_reads(rows: QueryRows, probes: list[Outcome]) -> QueryRows:
    if probes:
        rows.reads = outsider_probe.reads(probes)
    return rows


def _adapt_params(params: Sequence[Any] | None) -> list[Any] | None:
    if not params:
        return None
    return [Jsonb(value) if isinstance(value, dict) else value for value in params]

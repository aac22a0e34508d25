"""Static read-only check of one SQL statement, with PostgreSQL's own parser (pglast).

This is the first of three layers: the executor also runs every statement over
the extended protocol (the server refuses a second statement) inside a
`READ ONLY` transaction that is always rolled back, on a connection reset with
`DISCARD ALL` afterwards. The guard exists for what those layers cannot stop:
side effects outside the transaction (files, large objects, other sessions,
dblink connections, server control) and clear, early errors for the model.

It walks every node of the parse tree, so a forbidden call is found wherever it
hides: CTEs, subqueries, LATERAL, function arguments, ORDER BY, FILTER, …
Functions are matched by their unqualified lower-case name, so schema
qualification (`pg_catalog.x`) and quoting (`"x"`) do not help. It cannot see
inside views or user-defined functions: connect as a role that lacks the
dangerous privileges (see `_ROLE_ADVICE`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pglast import ast, parse_sql
from pglast.parser import ParseError

from mcp_hub.errors import InvalidInput, PolicyDenied

#: Functions refused by exact name. `pg_sleep*` is allowed: the statement timeout bounds it.
_DENIED_NAMES = frozenset(
    {
        # server files
        "pg_stat_file", "pg_logdir_ls",
        # large objects (plus the lo_ prefix)
        "loread", "lowrite",
        # execute SQL text given as an argument
        "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema", "ts_stat", "ts_rewrite",
        # session state, other sessions, server control
        "set_config", "pg_notify", "pg_terminate_backend", "pg_cancel_backend",
        "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_switch_wal",
        "pg_create_restore_point", "pg_backup_start", "pg_backup_stop",
        "pg_start_backup", "pg_stop_backup", "pg_logical_emit_message",
        "pg_drop_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",
        "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_log_backend_memory_contexts",
        "pg_import_system_collations", "pg_stat_statements_reset",
    }
)  # fmt: skip

#: Functions refused by name prefix.
_DENIED_PREFIXES = (
    "pg_read_",  # pg_read_file, pg_read_binary_file
    "pg_ls_",  # pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, pg_ls_archive_statusdir, …
    "pg_file_",  # adminpack: pg_file_write, pg_file_rename, pg_file_unlink, pg_file_sync
    "lo_",  # lo_import, lo_export, lo_from_bytea, lo_put, lo_unlink, …
    "dblink",  # dblink, dblink_exec, dblink_connect, … (another session, outside our transaction)
    "pg_advisory_",  # session locks outlive the transaction
    "pg_try_advisory_",
    "pg_replication_origin_",
    "pg_stat_reset",  # pg_stat_reset, pg_stat_reset_shared, … (not transactional)
)

#: Functions refused by pattern.
_DENIED_PATTERNS = (re.compile(r"pg_(create|copy)_\w*replication_slot"),)

#: Statements that write, refused wherever they appear inside a query (e.g. WITH d AS (DELETE …)).
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)

#: Top-level statements and their names in messages, when the class name alone would be obscure.
_STATEMENT_NAMES = {
    "TransactionStmt": "transaction control (BEGIN/COMMIT/ROLLBACK/SET TRANSACTION)",
    "VariableSetStmt": "SET",
    "CreateStmt": "CREATE TABLE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "ExecuteStmt": "EXECUTE",
    "DeclareCursorStmt": "DECLARE CURSOR",
}

_ALLOWED = "send one SELECT (or WITH … SELECT, VALUES, TABLE), EXPLAIN [ANALYZE] SELECT, or SHOW statement"
_ROLE_ADVICE = (
    "Operators: also connect the hub as a non-superuser role without pg_read_server_files or pg_execute_server_program."
)


def check_read_only(sql: str) -> str:
    """Return the text of the single statement in `sql` if it only reads.

    Raises `InvalidInput` for empty, unparsable, multiple or non-query
    statements, and `PolicyDenied` for a query that would write, lock rows or
    call a function with effects outside the transaction.
    """
    if not sql.strip():
        raise InvalidInput(f"the SQL is empty: {_ALLOWED}")
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise InvalidInput(_parse_error_message(sql, exc)) from None
    if not statements:
        raise InvalidInput(f"the SQL holds no statement (only comments or semicolons): {_ALLOWED}")
    if len(statements) > 1:
        raise InvalidInput(f"got {len(statements)} statements: send exactly one statement, without `;` between several")
    raw = statements[0]
    if raw.stmt is None:
        raise InvalidInput(f"the SQL holds no statement: {_ALLOWED}")
    _check_kind(raw.stmt)
    for node in _walk(raw.stmt):
        _check_node(node)
    start, length = raw.stmt_location or 0, raw.stmt_len or 0
    return (sql[start : start + length] if length else sql[start:]).strip()


def _parse_error_message(sql: str, exc: ParseError) -> str:
    message = str(exc.args[0]) if exc.args else "syntax error"
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        message += f" (at character {exc.args[1] + 1})"
    hint = " Write parameters as $1, $2, … (not %s)." if "%s" in sql else ""
    return f"could not parse the SQL: {message}.{hint}"


def _check_kind(stmt: ast.Node) -> None:
    if isinstance(stmt, (ast.SelectStmt, ast.VariableShowStmt)):
        return
    if isinstance(stmt, ast.ExplainStmt):
        if isinstance(stmt.query, ast.SelectStmt):
            return
        what = f"EXPLAIN of {_statement_name(stmt.query)}"
    else:
        what = _statement_name(stmt)
    raise InvalidInput(f"{what} is not allowed: this tool only reads; {_ALLOWED}")


def _statement_name(stmt: ast.Node | None) -> str:
    name = type(stmt).__name__
    if name in _STATEMENT_NAMES:
        return _STATEMENT_NAMES[name]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Stmt")).upper()


def _check_node(node: ast.Node) -> None:
    if isinstance(node, _WRITES):
        _deny(f"a data-modifying {_statement_name(node)} inside the query")
    if isinstance(node, ast.IntoClause):
        _deny("SELECT INTO (it creates a table)")
    if isinstance(node, ast.LockingClause):
        _deny("FOR UPDATE/SHARE (row locks)")
    if isinstance(node, ast.FuncCall):
        name = _function_name(node)
        if _is_denied(name):
            _deny(f"calling {name}()")


def _deny(what: str) -> None:
    raise PolicyDenied(f"{what} is refused in read-only mode; rewrite it as a plain query. {_ROLE_ADVICE}")


def _function_name(call: ast.FuncCall) -> str:
    last = call.funcname[-1] if call.funcname else None
    return str(getattr(last, "sval", "")).lower()


def _is_denied(name: str) -> bool:
    return (
        name in _DENIED_NAMES
        or name.startswith(_DENIED_PREFIXES)
        or any(pattern.fullmatch(name) for pattern in _DENIED_PATTERNS)
    )


def _walk(root: ast.Node) -> Iterator[ast.Node]:
    """Every node under `root` (included), whatever field holds it."""
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, slot, None) for slot in getattr(type(item), "__slots__", ()))
        elif isinstance(item, (tuple, list)):
            stack.extend(item)

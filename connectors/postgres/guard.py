"""Static check of one SQL statement, with PostgreSQL's own parser (pglast).

This is the first of three layers: the executor also runs every statement over
the extended protocol (the server refuses a second statement) inside a
`READ ONLY` transaction that is always rolled back, on a connection reset with
`DISCARD ALL` afterwards. The guard exists for what those layers cannot stop:
side effects outside the transaction (files, large objects, other sessions,
dblink connections, server control) and clear, early errors for the model.

It walks every node of the parse tree, so a name is found wherever it hides:
CTEs, subqueries, LATERAL, function arguments, ORDER BY, FILTER, … Reads (and
plans: the planner runs immutable functions on constants) may only name what an
allow-list allows, resolved as the server would (`names`, `catalog`): every
function call (also in FROM, aggregates, windows, TABLESAMPLE methods), every
field selection that PostgreSQL may turn into a call (`t.f`, `(x).f`), every
operator (spelled, or implied by CASE x WHEN, IN, BETWEEN, JOIN USING), every
type a value is converted to, and every system relation it reads
(`system_relations`: no password hashes, credentials or planner samples). Writes (`execute`, with writes allowed) are
only checked against functions with effects outside the transaction, by name
(`_DENIED_NAMES`): a role that may run DDL can create any function anyway. The
guard cannot see inside views or functions it allows: connect as a role that
lacks the dangerous privileges (see `_ROLE_ADVICE`).

The tree is libpg_query's JSON (`parse_sql_json`, ~7 µs) rather than pglast's
Python AST (~170 µs to build). In that JSON every node held by a generic
`Node*`/`List*` field is wrapped as `{"NodeType": {...}}`; the few fields typed
with a concrete node are not wrapped, and the ones that matter here are listed
by name (`funccall`, `intoClause`, `typeName`). Values (string constants,
identifiers) never become keys, so a key is always a node type or a field name.
Verdicts are cached per (SQL text, mode, `Names`): a new catalog snapshot is a
new `Names`. libpg_query parses with PostgreSQL 18's grammar; what an older
server's grammar reads differently as a call is checked as that call
(`names.NEWER_SYNTAX`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cached_property, lru_cache
from typing import Any, NoReturn

from pglast.parser import ParseError, parse_sql_json

from connectors.postgres.names import NEWER_SYNTAX, Names, Refused
from connectors.postgres.system_relations import check_relation
from mcp_hub.errors import InvalidInput, PolicyDenied

#: Writes only (reads use the allow-list): functions refused by exact name.
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
        # hypothetical indexes live in the backend, outside any transaction
        "hypopg_create_index", "hypopg_drop_index", "hypopg_reset", "hypopg_hide_index", "hypopg_unhide_index",
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
_WRITES = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
_FUNCTION_KEYS = frozenset({"FuncCall", "funccall"})  # `funccall` is CallStmt's unwrapped FuncCall*
#: A tree holds one of the keys `_check_tree` acts on only if its JSON text holds `"key":` (keys are
#: written verbatim; a string value holding the same characters is escaped as `\"key\":`). When none
#: is there, the walk has nothing to find and is skipped.
_SENSITIVE = frozenset({*_WRITES, *_FUNCTION_KEYS, "intoClause", "IntoClause", "LockingClause"})
_MARKERS = tuple(f'"{key}":' for key in sorted(_SENSITIVE))
#: What names a function, operator or type in a read (`_check_names`); `typeName` is an unwrapped TypeName*.
_NAMING = frozenset(
    {"FuncCall", "funccall", "ColumnRef", "A_Indirection", "A_Expr", "SortBy", "SubLink", "CaseExpr", "JoinExpr",
     "typeName", "TypeName", "RangeTableSample", "RangeVar", *NEWER_SYNTAX}
)  # fmt: skip
_READ_MARKERS = tuple(f'"{key}":' for key in sorted(_SENSITIVE | _NAMING))

#: Top-level statements and their names in messages, when the class name alone would be obscure.
_STATEMENT_NAMES = {
    "TransactionStmt": "transaction control (BEGIN/COMMIT/ROLLBACK/SET TRANSACTION)",
    "VariableSetStmt": "SET",
    "CreateStmt": "CREATE TABLE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "ExecuteStmt": "EXECUTE",
    "DeclareCursorStmt": "DECLARE CURSOR",
}

#: Statements `execute` refuses even with writes allowed: they escape or break the hub's
#: transaction (transaction control, cursors, prepared statements, session settings) or reach
#: outside the database (COPY to/from server files and programs, LOAD, ALTER SYSTEM).
_NEVER_EXECUTED = frozenset(
    {
        "TransactionStmt", "VariableSetStmt", "VariableShowStmt", "CopyStmt", "DeclareCursorStmt",
        "ClosePortalStmt", "FetchStmt", "PrepareStmt", "ExecuteStmt", "DeallocateStmt", "DiscardStmt",
        "ListenStmt", "UnlistenStmt", "NotifyStmt", "LoadStmt", "AlterSystemStmt", "CheckPointStmt",
        "CreatedbStmt", "DropdbStmt", "VacuumStmt", "ClusterStmt", "ReindexStmt", "ExplainStmt",
    }
)  # fmt: skip

_ALLOWED = "send one SELECT (or WITH … SELECT, VALUES, TABLE), EXPLAIN [ANALYZE] SELECT, or SHOW statement"
_ROLE_ADVICE = (
    "Operators: also connect the hub as a non-superuser role without pg_read_server_files or pg_execute_server_program."
)

#: Longer texts are checked every time rather than cached (bounds the cache's memory).
_CACHED_TEXT_CHARS = 8192


class UnknownName(PolicyDenied):
    """A name the server snapshot does not know: the caller may reload the snapshot and check again."""


class Mode(Enum):
    """What a statement is checked for."""

    READ = "read"  # the query tool: reads only
    PLAN = "plan"  # EXPLAIN without ANALYZE: reads, or a write that is only planned
    WRITE = "write"  # execute, or EXPLAIN ANALYZE with writes allowed


@dataclass(frozen=True)
class Checked:
    """One statement that passed the guard."""

    #: The statement's own text, without surrounding comments and semicolon.
    statement: str
    #: Its top-level node type, e.g. "SelectStmt", "ExplainStmt", "DeleteStmt".
    kind: str
    #: libpg_query's JSON tree of the statement (shared by the cache: do not modify).
    tree: dict[str, Any]

    @cached_property
    def column_names(self) -> frozenset[str]:
        """The last name of every column reference (`c.email` -> "email"), for masking."""
        names = set()
        for key, value in _items(self.tree):
            if key == "ColumnRef":
                fields = value.get("fields") or []
                last = fields[-1] if fields else {}
                if "String" in last:
                    names.add(str(last["String"].get("sval", "")))
        return frozenset(names)


def check_read_only(sql: str, names: Names | None = None) -> str:
    """Return the text of the single statement in `sql` if it only reads.

    Raises `InvalidInput` for empty, unparsable, multiple or non-query
    statements, and `PolicyDenied` for a query that would write, lock rows or
    name a function, operator or type that `names` does not allow (default:
    the built-in allow-list, assuming the server defines nothing else).
    """
    return inspect(sql, Mode.READ, names).statement


def inspect(sql: str, mode: Mode, names: Names | None = None) -> Checked:
    """The checked statement in `sql` for `mode`; raises like `check_read_only`."""
    names = names or Names.static()
    if len(sql) <= _CACHED_TEXT_CHARS:
        return _inspect_cached(sql, mode, names)
    return _inspect(sql, mode, names)


@lru_cache(maxsize=512)
def _inspect_cached(sql: str, mode: Mode, names: Names) -> Checked:
    return _inspect(sql, mode, names)


def _inspect(sql: str, mode: Mode, names: Names) -> Checked:
    if not sql.strip():
        raise InvalidInput(f"the SQL is empty: {_ALLOWED}")
    try:
        parsed = parse_sql_json(sql)
        statements = json.loads(parsed)["stmts"]
    except ParseError as exc:
        raise InvalidInput(_parse_error_message(sql, exc)) from None
    if not statements:
        raise InvalidInput(f"the SQL holds no statement (only comments or semicolons): {_ALLOWED}")
    if len(statements) > 1:
        raise InvalidInput(f"got {len(statements)} statements: send exactly one statement, without `;` between several")
    raw = statements[0]
    stmt = raw.get("stmt")
    if not stmt:
        raise InvalidInput(f"the SQL holds no statement: {_ALLOWED}")
    ((kind, body),) = stmt.items()
    _check_kind(kind, body, mode)
    writes = mode is Mode.WRITE or (mode is Mode.PLAN and kind in _WRITES)
    if mode is Mode.WRITE:
        if any(marker in parsed for marker in _MARKERS):
            _check_tree(stmt, writes=writes, names=None)
    else:
        _check_names(names.check_implicit)
        if any(marker in parsed for marker in _READ_MARKERS):
            _check_tree(stmt, writes=writes, names=names)
        if any(view in parsed for view in _ROLE_SETTINGS):
            _check_role_settings(stmt)
    # Locations are byte offsets into the UTF-8 text.
    start, length = raw.get("stmt_location", 0), raw.get("stmt_len", 0)
    data = sql.encode()
    text = (data[start : start + length] if length else data[start:]).decode().strip()
    return Checked(text, kind, stmt)


def _parse_error_message(sql: str, exc: ParseError) -> str:
    message = str(exc.args[0]) if exc.args else "syntax error"
    if len(exc.args) > 1 and isinstance(exc.args[1], int):
        message += f" (at character {exc.args[1] + 1})"
    hint = " Write parameters as $1, $2, … (not %s)." if "%s" in sql else ""
    return f"could not parse the SQL: {message}.{hint}"


def _check_kind(kind: str, body: dict[str, Any], mode: Mode) -> None:
    if mode is Mode.WRITE:
        if kind in _NEVER_EXECUTED:
            raise InvalidInput(
                f"{_statement_name(kind)} is not allowed here: send one data or schema statement "
                "(INSERT, UPDATE, DELETE, MERGE, CREATE, ALTER, DROP, …); the hub runs and commits it."
            )
        return
    if mode is Mode.PLAN:
        if kind == "SelectStmt" or kind in _WRITES:
            return
        if kind == "ExplainStmt":
            raise InvalidInput("pass the statement itself, without EXPLAIN: this tool adds EXPLAIN")
        raise InvalidInput(f"{_statement_name(kind)} has no plan to explain: send a SELECT, INSERT, UPDATE or DELETE")
    if kind == "VariableShowStmt":
        _check_setting_name(body.get("name"))
        return
    if kind == "SelectStmt":
        return
    if kind == "ExplainStmt":
        query = body.get("query") or {}
        inner = next(iter(query), "")
        if inner == "SelectStmt":
            return
        what = f"EXPLAIN of {_statement_name(inner)}"
    else:
        what = _statement_name(kind)
    raise InvalidInput(f"{what} is not allowed: this tool only reads; {_ALLOWED}")


def _statement_name(kind: str) -> str:
    if kind in _STATEMENT_NAMES:
        return _STATEMENT_NAMES[kind]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.removesuffix("Stmt")).upper()


def _check_tree(root: dict[str, Any], *, writes: bool, names: Names | None) -> None:
    """Refuse what `root` must not hold (an explicit stack: deep trees must not hit the recursion limit).

    `names` None: a write, checked against `_DENIED_NAMES` only.
    """
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            stack.extend(item)  # a list
            continue
        for key, value in item.items():
            if key in _SENSITIVE:
                _check_key(key, value, writes, names)
            if names is not None and key in _NAMING and isinstance(value, dict):
                _check_names(_name_check(key, value, names))
            if isinstance(value, (dict, list)):
                stack.append(value)


def _name_check(key: str, node: dict[str, Any], names: Names) -> Callable[[], None]:
    """What to check for one node that may name a function, operator or type."""

    def check() -> None:
        if key in _FUNCTION_KEYS:
            funcname = _strings(node.get("funcname"))
            names.check_function(funcname)
            args = node.get("args")
            if funcname[-1:] == [_SETTING_FUNCTION] and args:  # without arguments, no such function
                _check_setting_name(args[0].get("A_Const", {}).get("sval", {}).get("sval"))
        elif key == "ColumnRef":
            # The first field is a column or a table; a later one may be a function of it.
            for field in _strings(node.get("fields"))[1:]:
                _check_field(field, names)
        elif key == "A_Indirection":
            for field in _strings(node.get("indirection")):
                _check_field(field, names)
        elif key == "A_Expr":
            names.check_operator(_strings(node.get("name")) or ["?"])
        elif key == "SortBy" and node.get("useOp"):
            names.check_operator(_strings(node["useOp"]))
        elif key == "SubLink" and (node.get("operName") or node.get("subLinkType") == "ANY_SUBLINK"):
            names.check_operator(_strings(node.get("operName")) or ["="])  # `x IN (SELECT …)` means `= ANY`
        elif (key == "CaseExpr" and node.get("arg")) or (
            key == "JoinExpr" and (node.get("usingClause") or node.get("isNatural"))
        ):
            names.check_operator(["="])  # CASE x WHEN y compares with =, as does JOIN USING
        elif key in ("typeName", "TypeName"):
            names.check_type(_strings(node.get("names")) or ["?"])
        elif key == "RangeVar":
            check_relation(node.get("schemaname"), str(node.get("relname", "")))
        elif key == "RangeTableSample":
            names.check_tablesample(_strings(node.get("method")) or ["?"])
        elif key in NEWER_SYNTAX:
            names.check_newer_syntax(key, str(node.get("op", "")))

    return check


#: Reads a setting by the name in its first argument, custom ones included (`ALTER DATABASE … SET app.key`).
_SETTING_FUNCTION = "current_setting"
#: Views that show every role's per-role settings (`pg_db_role_setting`), by their column.
_ROLE_SETTINGS = {"pg_roles": "rolconfig", "pg_user": "useconfig"}


def _check_field(field: str, names: Names) -> None:
    if field == _SETTING_FUNCTION:  # `('app.key'::text).current_setting` calls current_setting('app.key')
        _check_setting_name(None)
    names.check_field(field)


def _check_setting_name(name: Any) -> None:
    """SHOW and current_setting() may read built-in settings only, named by a constant.

    A custom setting (`app.jwt_secret`, with a dot) comes from `ALTER DATABASE/ROLE … SET`, where
    applications keep secrets (`pg_db_role_setting`, refused); pg_settings and SHOW ALL leave
    them out. A name computed at run time could be anything, so it is refused too."""
    if isinstance(name, str) and "." not in name:
        return
    raise PolicyDenied(
        "reading a custom setting (a name with a dot, or one computed at run time) is refused in read-only "
        "mode: settings set per database or role may carry secrets. Read built-in settings by name, or "
        f"pg_settings. {_ROLE_ADVICE}"
    )


def _check_role_settings(stmt: dict[str, Any]) -> None:
    """pg_roles and pg_user show every role's per-role settings (secrets, like `pg_db_role_setting`):
    a read naming them must name its columns, and not those."""
    named = [
        view
        for key, value in _items(stmt)
        if key == "RangeVar" and value.get("schemaname") in (None, "pg_catalog")
        for view in [value.get("relname")]
        if view in _ROLE_SETTINGS
    ]
    if not named:
        return
    from connectors.postgres.masking import reads_whole_rows

    hidden = reads_whole_rows(stmt) or any(key == "A_Star" for key, _ in _items(stmt))
    config = any(key == "String" and value.get("sval") in _ROLE_SETTINGS.values() for key, value in _items(stmt))
    if hidden or config:
        columns = ", ".join(sorted(_ROLE_SETTINGS[view] for view in set(named)))
        raise PolicyDenied(
            f"reading {columns} (or a star or whole row of {', '.join(sorted(set(named)))}) is refused in read-only "
            "mode: it holds per-role settings, which may carry secrets. Name the other columns you need."
        )


def _strings(items: Any) -> list[str]:
    """The `sval` of every String node in a list (names as the parser decoded them: case, quotes, U&)."""
    return [str(item["String"].get("sval", "")) for item in items or () if isinstance(item, dict) and "String" in item]


def _check_names(check: Callable[[], None]) -> None:
    try:
        check()
    except Refused as refused:
        allow = (
            f" Operators who trust it can add it to the instance's allowed_functions, e.g. "
            f'allowed_functions = ["{refused.allow}"].'
            if refused.allow
            else ""
        )
        error = UnknownName if refused.unknown else PolicyDenied
        raise error(
            f"{refused.what} is refused in read-only mode: {refused.why}. Rewrite the query without it.{allow} "
            + _ROLE_ADVICE
        ) from None


def _check_key(key: str, value: Any, writes: bool, names: Names | None) -> None:
    if key in _FUNCTION_KEYS:
        if names is not None:
            return  # reads: `_check_names`
        name = _function_name(value)
        if not _is_denied(name):
            return
        if writes:
            raise PolicyDenied(
                f"calling {name}() is refused: it acts outside the transaction (server files, other "
                f"sessions, server control). {_ROLE_ADVICE}"
            )
        _deny(f"calling {name}()")
    if writes:
        return
    if key in _WRITES:
        _deny(f"a data-modifying {_statement_name(key)} inside the query")
    if key in ("intoClause", "IntoClause"):
        _deny("SELECT INTO (it creates a table)")
    if key == "LockingClause":
        _deny("FOR UPDATE/SHARE (row locks)")


def _items(root: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object under `root`, whatever its depth."""
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                yield key, value
                if isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _deny(what: str) -> NoReturn:
    raise PolicyDenied(f"{what} is refused in read-only mode; rewrite it as a plain query. {_ROLE_ADVICE}")


def _function_name(call: Any) -> str:
    names = call.get("funcname") if isinstance(call, dict) else None
    last = names[-1] if names else {}
    return str(last.get("String", {}).get("sval", "")).lower()


def _is_denied(name: str) -> bool:
    return (
        name in _DENIED_NAMES
        or name.startswith(_DENIED_PREFIXES)
        or any(pattern.fullmatch(name) for pattern in _DENIED_PATTERNS)
    )

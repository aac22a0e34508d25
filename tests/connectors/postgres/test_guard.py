"""The read-only guard on its own: no database needed (test_executor.py and test_guard_escapes.py run
escapes for real). Server catalogs are given as `Snapshot`s here."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from connectors.postgres.guard import Mode, check_read_only, inspect
from connectors.postgres.names import FunctionRef, Names, Snapshot
from mcp_hub.errors import InvalidInput, PolicyDenied

ALLOWED = [
    "SELECT 1",
    "select * from customers where id = $1",
    "WITH c AS (SELECT * FROM customers) SELECT name FROM c ORDER BY name",
    "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
    "VALUES (1, 'a'), (2, 'b')",
    "TABLE customers",
    "(SELECT 1) UNION (SELECT 2) EXCEPT SELECT 3",
    "EXPLAIN SELECT * FROM customers",
    "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM orders",
    "SHOW work_mem",
    "SHOW ALL",
    "SELECT pg_sleep(0.01)",
    "SELECT lower(name), length(email), pg_size_pretty(1024::bigint) FROM customers",
    "SELECT dblink, lo_id FROM (SELECT 1 AS dblink, 2 AS lo_id) AS columns_not_functions",
    "SELECT * FROM pg_stat_user_tables",
    "SELECT current_setting('search_path')",
    "SELECT name FROM customers WHERE name LIKE 'A%'",
]

# (sql, error type, words the message must contain)
REFUSED: list[tuple[str, type[Exception], str]] = [
    ("COMMIT; DROP TABLE customers", InvalidInput, "exactly one statement"),
    ("SELECT 1; DROP TABLE customers", InvalidInput, "exactly one statement"),
    ("END; DROP TABLE customers", InvalidInput, "exactly one statement"),
    ("ROLLBACK; DELETE FROM customers", InvalidInput, "exactly one statement"),
    ("SET TRANSACTION READ WRITE; DELETE FROM customers", InvalidInput, "exactly one statement"),
    ("SELECT 1 -- comment\n; DROP TABLE customers", InvalidInput, "exactly one statement"),
    ("COMMIT", InvalidInput, "transaction control"),
    ("SET search_path = evil", InvalidInput, "SET"),
    ("COPY customers TO PROGRAM 'touch /tmp/x'", InvalidInput, "COPY"),
    ("COPY (SELECT 1) TO '/tmp/f'", InvalidInput, "COPY"),
    ("EXPLAIN ANALYZE DELETE FROM customers", InvalidInput, "EXPLAIN of DELETE"),
    ("EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", InvalidInput, "EXPLAIN of CREATE TABLE AS"),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE customers'; END $$", InvalidInput, "DO"),
    ("CREATE TABLE x (a int)", InvalidInput, "CREATE TABLE"),
    ("CREATE TEMP TABLE x AS SELECT 1", InvalidInput, "CREATE TABLE AS"),
    ("PREPARE p AS DELETE FROM customers", InvalidInput, "PREPARE"),
    ("EXECUTE p", InvalidInput, "EXECUTE"),
    ("CALL some_procedure()", InvalidInput, "CALL"),
    ("LISTEN evil", InvalidInput, "LISTEN"),
    ("NOTIFY evil", InvalidInput, "NOTIFY"),
    ("LOCK TABLE customers", InvalidInput, "LOCK"),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", InvalidInput, "DECLARE CURSOR"),
    ("INSERT INTO customers (name) VALUES ('x')", InvalidInput, "INSERT"),
    ("UPDATE customers SET name = 'x'", InvalidInput, "UPDATE"),
    ("DELETE FROM customers", InvalidInput, "DELETE"),
    ("TRUNCATE customers", InvalidInput, "TRUNCATE"),
    ("VACUUM customers", InvalidInput, "VACUUM"),
    ("DISCARD ALL", InvalidInput, "DISCARD"),
    ("GRANT SELECT ON customers TO PUBLIC", InvalidInput, "GRANT"),
    ("SELECT pg_read_file('/etc/passwd')", PolicyDenied, "pg_read_file()"),
    ("SELECT pg_catalog.pg_read_file('/etc/passwd')", PolicyDenied, "pg_read_file()"),
    ("SELECT \"pg_read_file\"('/etc/hostname')", PolicyDenied, "pg_read_file()"),
    ("SELECT PG_READ_FILE('/etc/hostname')", PolicyDenied, "pg_read_file()"),
    ("SELECT U&\"pg\\005fread_file\"('/etc/passwd')", PolicyDenied, "pg_read_file()"),
    ("SELECT length(pg_read_binary_file('/etc/passwd'))", PolicyDenied, "pg_read_binary_file()"),
    ("SELECT * FROM pg_ls_dir('.')", PolicyDenied, "pg_ls_dir()"),
    ("SELECT pg_stat_file('/etc/passwd')", PolicyDenied, "pg_stat_file()"),
    ("SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/y')", PolicyDenied, "lo_"),
    ("SELECT lo_import('/etc/passwd')", PolicyDenied, "lo_import()"),
    ("SELECT lowrite(0, 'x')", PolicyDenied, "lowrite()"),
    ("SELECT query_to_xml('select pg_read_file(''/etc/passwd'')', true, true, '')", PolicyDenied, "query_to_xml()"),
    ("SELECT ts_stat('SELECT to_tsvector(name) FROM customers')", PolicyDenied, "ts_stat()"),
    ("SELECT set_config('search_path', 'evil', false)", PolicyDenied, "set_config()"),
    ("SELECT pg_advisory_lock(42)", PolicyDenied, "pg_advisory_lock()"),
    ("SELECT pg_try_advisory_xact_lock(42)", PolicyDenied, "pg_try_advisory_xact_lock()"),
    ("SELECT pg_terminate_backend(pg_backend_pid())", PolicyDenied, "pg_terminate_backend()"),
    ("SELECT pg_reload_conf()", PolicyDenied, "pg_reload_conf()"),
    ("SELECT pg_notify('c', 'x')", PolicyDenied, "pg_notify()"),
    ("SELECT pg_create_logical_replication_slot('s', 'pgoutput')", PolicyDenied, "replication_slot()"),
    ("SELECT pg_replication_origin_create('o')", PolicyDenied, "pg_replication_origin_create()"),
    ("SELECT pg_stat_reset()", PolicyDenied, "pg_stat_reset()"),
    ("SELECT dblink_exec('dbname=postgres', 'DROP TABLE customers')", PolicyDenied, "dblink_exec()"),
    ("SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)", PolicyDenied, "dblink()"),
    ("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d", PolicyDenied, "DELETE inside"),
    ("WITH i AS (INSERT INTO customers (name) VALUES ('x') RETURNING id) SELECT 1", PolicyDenied, "INSERT inside"),
    ("WITH u AS (UPDATE customers SET name = 'x' RETURNING id) SELECT 1", PolicyDenied, "UPDATE inside"),
    ("SELECT * FROM customers FOR UPDATE", PolicyDenied, "FOR UPDATE/SHARE"),
    ("SELECT * FROM customers FOR KEY SHARE SKIP LOCKED", PolicyDenied, "FOR UPDATE/SHARE"),
    ("SELECT * FROM (SELECT * FROM customers FOR SHARE) s", PolicyDenied, "FOR UPDATE/SHARE"),
    ("SELECT * INTO stolen FROM customers", PolicyDenied, "SELECT INTO"),
    ("EXPLAIN ANALYZE SELECT * INTO stolen FROM customers", PolicyDenied, "SELECT INTO"),
]

# Dangerous calls hidden in every place a query can hold an expression.
NESTED = [
    "SELECT (SELECT pg_read_file('/etc/passwd'))",
    "SELECT * FROM customers WHERE name = (SELECT pg_ls_dir('.') LIMIT 1)",
    "WITH x AS (SELECT pg_read_file('/etc/passwd')) SELECT * FROM x",
    "WITH x AS (WITH y AS (SELECT pg_read_file('/etc/passwd')) SELECT * FROM y) SELECT * FROM x",
    "SELECT * FROM customers c, LATERAL (SELECT pg_read_file('/etc/passwd')) f",
    "SELECT * FROM customers c CROSS JOIN LATERAL pg_ls_dir('.') f",
    "SELECT upper(lower(pg_read_file('/etc/passwd')))",
    "SELECT format('%s', VARIADIC ARRAY[pg_read_file('/etc/passwd')])",
    "SELECT make_interval(secs => length(pg_read_file('/etc/passwd')))",
    "SELECT * FROM customers ORDER BY pg_read_file('/etc/passwd')",
    "SELECT count(*) FILTER (WHERE pg_read_file('/etc/passwd') <> '') FROM customers",
    "SELECT count(*) FROM customers GROUP BY name HAVING max(pg_read_file('/etc/passwd')) > ''",
    "SELECT row_number() OVER (ORDER BY pg_read_file('/etc/passwd')) FROM customers",
    "SELECT CASE WHEN true THEN pg_read_file('/etc/passwd') END",
    "SELECT coalesce(NULL, pg_read_file('/etc/passwd'))",
    "SELECT 1 WHERE 'x' IN (SELECT pg_read_file('/etc/passwd'))",
    "SELECT EXISTS (SELECT pg_read_file('/etc/passwd'))",
    "SELECT ARRAY(SELECT pg_read_file('/etc/passwd'))",
    "SELECT ROW(pg_read_file('/etc/passwd'))",
    "SELECT pg_read_file('/etc/passwd')::text",
    "VALUES (pg_read_file('/etc/passwd'))",
    "SELECT 1 UNION ALL SELECT length(pg_read_file('/etc/passwd'))",
    "SELECT * FROM customers JOIN orders ON pg_read_file('/etc/passwd') <> ''",
    "SELECT * FROM ROWS FROM (pg_ls_dir('.')) AS t(f)",
    "SELECT * FROM customers LIMIT length(pg_read_file('/etc/passwd'))",
    "EXPLAIN ANALYZE SELECT pg_read_file('/etc/passwd')",
    "SELECT * FROM customers WHERE id = ANY (SELECT lo_unlink(1))",
    "SELECT * FROM xmltable('/a' PASSING xml '<a/>' COLUMNS x text PATH pg_read_file('/etc/passwd'))",
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed(sql: str) -> None:
    assert check_read_only(sql) == sql


@pytest.mark.parametrize(("sql", "error", "words"), REFUSED, ids=[r[0][:60] for r in REFUSED])
def test_refused(sql: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        check_read_only(sql)
    assert words in str(info.value)


@pytest.mark.parametrize("sql", NESTED)
def test_nested_calls_are_found(sql: str) -> None:
    with pytest.raises(PolicyDenied, match="refused in read-only mode"):
        check_read_only(sql)


def test_policy_message_advises_a_weaker_role() -> None:
    with pytest.raises(PolicyDenied) as info:
        check_read_only("SELECT pg_read_file('/etc/passwd')")
    message = str(info.value)
    assert "non-superuser" in message
    assert "pg_read_server_files" in message
    assert "pg_execute_server_program" in message


@pytest.mark.parametrize("sql", ["", "   \n\t", "-- only a comment", ";", "/* c */ ; ;"])
def test_empty(sql: str) -> None:
    with pytest.raises(InvalidInput, match="SELECT"):
        check_read_only(sql)


def test_parse_error_quotes_the_parser() -> None:
    with pytest.raises(InvalidInput) as info:
        check_read_only("SELECT * FORM customers")
    assert 'syntax error at or near "FORM"' in str(info.value)
    assert "at character 10" in str(info.value)


def test_psycopg_placeholders_get_a_hint() -> None:
    with pytest.raises(InvalidInput, match=r"\$1"):
        check_read_only("SELECT * FROM customers WHERE id = %s")


def test_returns_the_statement_without_comments_and_semicolon() -> None:
    sql = "  /* why */ -- because\n  SELECT 'é', 1 ;  \n"
    assert check_read_only(sql) == "SELECT 'é', 1"
    assert check_read_only("SHOW work_mem;") == "SHOW work_mem"
    assert check_read_only("\n explain select 1 -- trailing\n") == "explain select 1 -- trailing"


def test_importing_is_cheap() -> None:
    """settings/errors load neither psycopg nor pglast; the guard loads pglast only."""
    code = (
        "import sys\n"
        "import connectors.postgres.settings, connectors.postgres.errors\n"
        "assert not {'psycopg', 'psycopg_pool', 'pglast'} & set(sys.modules), sorted(sys.modules)\n"
        "import connectors.postgres.guard\n"
        "assert 'pglast' in sys.modules and 'psycopg' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# The guard walks libpq_query's JSON; pglast's Python AST is the reference it must agree with.
def _reference_verdict(sql: str) -> str:
    from pglast import ast, parse_sql

    (raw,) = parse_sql(sql)
    stack: list[object] = [raw.stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)) and node is not raw.stmt:
            return "denied"
        if isinstance(node, (ast.IntoClause, ast.LockingClause)):
            return "denied"
        if isinstance(node, ast.FuncCall):
            name = str(getattr(node.funcname[-1], "sval", "")).lower()
            try:
                check_read_only(f"SELECT {name}()")
            except PolicyDenied:
                return "denied"
        if isinstance(node, ast.Node):
            stack.extend(getattr(node, slot, None) for slot in type(node).__slots__)
        elif isinstance(node, (tuple, list)):
            stack.extend(node)
    return "ok"


@pytest.mark.parametrize("sql", ALLOWED + NESTED + [r[0] for r in REFUSED if r[1] is PolicyDenied])
def test_json_walk_agrees_with_the_ast(sql: str) -> None:
    try:
        check_read_only(sql)
        verdict = "ok"
    except PolicyDenied:
        verdict = "denied"
    assert verdict == _reference_verdict(sql)


def test_a_string_that_looks_like_a_node_is_data() -> None:
    sql = """SELECT '"FuncCall":{"funcname":[{"String":{"sval":"pg_read_file"}}]}' AS x, "LockingClause" FROM t"""
    assert check_read_only(sql) == sql


@pytest.mark.parametrize("mode", [Mode.READ, Mode.PLAN, Mode.WRITE])
def test_every_mode_refuses_outside_effects(mode: Mode) -> None:
    with pytest.raises(PolicyDenied, match="pg_read_file"):
        inspect("SELECT pg_read_file('/etc/passwd')", mode)
    with pytest.raises(InvalidInput, match="exactly one statement"):
        inspect("SELECT 1; SELECT 2", mode)


def test_modes() -> None:
    assert inspect("DELETE FROM t WHERE id = 1", Mode.PLAN).kind == "DeleteStmt"
    with pytest.raises(PolicyDenied, match="DELETE inside"):
        inspect("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", Mode.PLAN)
    assert inspect("CREATE TABLE x (a int)", Mode.WRITE).kind == "CreateStmt"
    with pytest.raises(InvalidInput, match="transaction control"):
        inspect("COMMIT", Mode.WRITE)
    with pytest.raises(InvalidInput, match="COPY"):
        inspect("COPY t FROM PROGRAM 'id'", Mode.WRITE)
    with pytest.raises(PolicyDenied, match="hypopg_create_index"):
        check_read_only("SELECT * FROM hypopg_create_index('CREATE INDEX ON t (a)')")
    assert inspect("SELECT 'é', upper(c.email) FROM c", Mode.READ).column_names == frozenset({"email"})


# -- the allow-list ----------------------------------------------------------------------------------

DANGEROUS = [
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_ls_waldir", "pg_stat_file", "lo_import", "lo_export",
    "lo_from_bytea", "lo_unlink", "lo_put", "loread", "lowrite", "query_to_xml", "query_to_xmlschema", "table_to_xml",
    "cursor_to_xml", "database_to_xml", "schema_to_xml", "ts_stat", "ts_rewrite", "set_config", "pg_notify",
    "pg_advisory_lock", "pg_try_advisory_xact_lock", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf",
    "pg_rotate_logfile", "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_backup_start",
    "pg_logical_emit_message", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
    "pg_replication_origin_create", "pg_stat_reset", "pg_stat_reset_shared", "nextval", "setval", "txid_current",
    "pg_current_xact_id", "setseed", "pg_log_backend_memory_contexts", "pg_import_system_collations",
    "pg_export_snapshot", "dblink", "dblink_exec", "hypopg_create_index", "hypopg_reset", "pg_file_write",
    "pg_stat_statements_reset",
]  # fmt: skip

ANALYTICS_FUNCTIONS = [
    "count", "sum", "avg", "min", "max", "lower", "upper", "length", "date_trunc", "to_char", "to_date",
    "to_timestamp", "jsonb_build_object", "jsonb_agg", "jsonb_array_elements", "jsonb_path_query", "json_agg",
    "to_jsonb", "string_agg", "array_agg", "now", "date_part", "extract", "age", "make_date", "row_number", "rank",
    "dense_rank", "lag", "lead", "first_value", "ntile", "percentile_cont", "generate_series", "regexp_replace",
    "regexp_matches", "regexp_split_to_table", "split_part", "format", "concat_ws", "round", "abs", "unnest",
    "random", "gen_random_uuid", "clock_timestamp", "pg_sleep", "pg_size_pretty", "pg_total_relation_size",
    "current_setting", "md5", "substring", "btrim", "position", "like_escape", "similar_to_escape", "timezone",
]  # fmt: skip


def test_the_allow_list_holds_no_dangerous_function() -> None:
    from connectors.postgres import builtins

    assert not set(DANGEROUS) & builtins.ALLOWED_FUNCTIONS
    # The built-in ones among them are refused with a reason the guard can quote.
    assert {n for n in DANGEROUS if n in builtins.REFUSED_FUNCTIONS} >= {"pg_read_file", "query_to_xml", "nextval"}
    assert builtins.REFUSED_FUNCTIONS["table_to_xml"] == "sql"


def test_the_allow_list_holds_what_analytics_need() -> None:
    from connectors.postgres import builtins

    assert set(ANALYTICS_FUNCTIONS) <= builtins.ALLOWED_FUNCTIONS


def test_the_allow_list_loads_fast() -> None:
    code = (
        "import time, connectors.postgres.settings\n"
        "t = time.process_time()\n"
        "import connectors.postgres.builtins as b, connectors.postgres.names\n"
        "assert len(b.ALLOWED_FUNCTIONS) > 1500\n"
        "print(time.process_time() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True)
    assert float(out.stdout) < 0.1  # CPU seconds, also when Python compiles it (no .pyc)


def test_the_generator_criteria() -> None:
    from connectors.postgres.builtins_gen import classify

    allowed, refused = classify(
        [("lower", False), ("ts_rewrite", False), ("ts_rewrite", True), ("random", True), ("pg_read_file", True),
         ("table_to_xml", False), ("txid_current", False), ("now", False), ("two", False), ("two", True)]
    )  # fmt: skip
    assert allowed == ["lower", "now", "random"]
    assert refused == {
        "pg_read_file": "volatile", "table_to_xml": "sql", "ts_rewrite": "sql", "two": "volatile", "txid_current": "xid"
    }  # fmt: skip


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT c.name, (o).total, (c.email).length FROM customers c, orders o",  # fields that are allowed functions
        "SELECT x.lo_id, y.dblink FROM t x, u y",  # columns: no function of that name
        "SELECT 1 WHERE 'a' = ANY (ARRAY['a']) AND 2 BETWEEN 1 AND 3",
        "SELECT CASE a WHEN 1 THEN 2 END FROM t JOIN u USING (id) ORDER BY a USING <",
        "SELECT '1'::int, int '1', CAST(1 AS text), '{}'::jsonb, 1::pg_catalog.int8, '1 day'::interval(6)",
        "SELECT * FROM t TABLESAMPLE bernoulli (5) REPEATABLE (1)",
        "SELECT * FROM json_to_record('{}') AS r(a int, b text[])",
    ],
)
def test_allowed_names(sql: str) -> None:
    assert check_read_only(sql) == sql


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT ('/etc/passwd'::text).pg_read_file", "selecting .pg_read_file"),
        ("SELECT (c.x).pg_ls_dir FROM t c", "selecting .pg_ls_dir"),
        ("SELECT a.b.nextval FROM t a", "selecting .nextval"),
        ("SELECT \"PG_READ_FILE\"('x')", "calling PG_READ_FILE()"),  # quoted: another name, and nobody's
        ("SELECT public.pg_read_file('x')", "calling public.pg_read_file()"),
        ("SELECT my_function(1)", "calling my_function()"),
        ("SELECT 1 OPERATOR(public.+) 2", "the operator public.+"),
        ("SELECT 1::mytype", "the type mytype"),
        ("SELECT CAST(1 AS public.int4)", "the type public.int4"),
        ("SELECT '(1)'::customers", "the type customers"),
        ("SELECT * FROM t TABLESAMPLE system_rows (5)", "calling system_rows()"),
        ("SELECT * FROM t TABLESAMPLE public.bernoulli (5)", "calling bernoulli()"),
        ("SELECT * FROM xmltable('/a' PASSING xml '<a/>' COLUMNS x mytype PATH 'x')", "the type mytype"),
        ("SELECT table_to_xml('customers', true, true, '')", "runs SQL text"),
        ("SELECT txid_current()", "transaction id"),
    ],
)
def test_refused_names(sql: str, words: str) -> None:
    with pytest.raises(PolicyDenied, match="refused in read-only mode") as info:
        check_read_only(sql)
    assert words in str(info.value)


def _names(allowed: list[str] | None = None, **snapshot: Any) -> Names:
    return Names(allowed or [], Snapshot(**snapshot))


def test_names_refuse_a_built_in_name_also_defined_elsewhere() -> None:
    names = _names(functions={"lower": frozenset({"public"}), "sneaky": frozenset({"pg_catalog"})})
    with pytest.raises(PolicyDenied, match="also defined in public"):
        check_read_only("SELECT lower(name) FROM customers", names)
    with pytest.raises(PolicyDenied, match=r"selecting \.lower"):
        check_read_only("SELECT (name).lower FROM customers", names)
    with pytest.raises(PolicyDenied, match="also defined in public"):  # an older parser may not qualify it
        check_read_only("SELECT pg_catalog.lower(name) FROM customers", names)
    with pytest.raises(PolicyDenied, match="sneaky"):
        check_read_only("SELECT pg_catalog.sneaky()", names)
    trusted = _names(["public.lower"], functions={"lower": frozenset({"public"})})
    assert check_read_only("SELECT lower(name) FROM customers", trusted)


def test_names_follow_the_servers_volatility() -> None:
    """A built-in the generated list allows but this server marks volatile is refused (another version)."""
    names = _names(volatile_builtins=frozenset({"lower", "random"}), builtin_functions=frozenset({"lower", "random"}))
    with pytest.raises(PolicyDenied, match="volatile"):
        check_read_only("SELECT lower('A')", names)
    assert check_read_only("SELECT random()", names)  # explicitly allowed although volatile


def test_names_refuse_operators_that_call_functions_not_allowed() -> None:
    evil = [FunctionRef("public", "pwn_eq", builtin=False)]
    names = _names(operators={"=": [("public", evil)], "<@>": [("public", [FunctionRef("public", "dist", False)])]})
    for sql in (
        "SELECT 1 WHERE a = b",
        "SELECT 1 WHERE a IN (1, 2)",
        "SELECT 1 WHERE a IN (SELECT 1)",
        "SELECT 1 WHERE a IS DISTINCT FROM b",
        "SELECT nullif(a, b)",
        "SELECT CASE a WHEN 1 THEN 2 END",
        "SELECT * FROM t JOIN u USING (id)",
        "SELECT * FROM t NATURAL JOIN u",
        "SELECT 1 WHERE a OPERATOR(public.=) b",
    ):
        with pytest.raises(PolicyDenied, match=r'operator (public\.)?=.*allowed_functions = \["public.pwn_eq"\]'):
            check_read_only(sql, names)
    assert check_read_only("SELECT 1 WHERE a OPERATOR(pg_catalog.=) b", names)
    assert check_read_only("SELECT 1 WHERE a < b", names)
    with pytest.raises(PolicyDenied, match="<@>"):
        check_read_only("SELECT a <@> b", names)
    assert check_read_only("SELECT a <@> b", _names(["public.dist"], operators=names.snapshot.operators))
    with pytest.raises(PolicyDenied, match="<"):
        check_read_only("SELECT 1 WHERE a BETWEEN 1 AND 2", _names(operators={"<=": [("public", evil)]}))


def test_names_for_types_and_casts() -> None:
    names = _names(
        types={
            "mood": [("public", "e", FunctionRef("pg_catalog", "enum_in", True))],
            "checked": [("public", "d", FunctionRef("pg_catalog", "domain_in", True))],
            "citext": [("public", "b", FunctionRef("public", "citextin", False))],
        },
        casts=[("e", "integer", "date", FunctionRef("public", "pwn_date", False), True)],
    )
    assert check_read_only("SELECT 'ok'::mood, 'x'::text", names)
    for sql, words in (
        ("SELECT 'x'::checked", "public.checked"),
        ("SELECT 'x'::citext", 'allowed_functions = ["public.citextin"]'),
        ("SELECT 1::date", "cast from integer to date calls public.pwn_date"),
        ("SELECT date '2024-01-01'", "cast from integer to date"),
        ("SELECT date(1)", "cast from integer to date"),
    ):
        with pytest.raises(PolicyDenied) as info:
            check_read_only(sql, names)
        assert words in str(info.value)
    assert check_read_only("SELECT 'x'::citext", _names(["public.citextin"], types=names.snapshot.types))


def test_names_refuse_everything_under_an_implicit_cast_by_a_function() -> None:
    names = _names(casts=[("i", "integer", "text", FunctionRef("public", "pwn_text", False), True)])
    with pytest.raises(PolicyDenied, match="applies implicitly"):
        check_read_only("SELECT 1", names)
    # An assignment cast into a type that is not built in (citext's inet -> citext) cannot fire in a read.
    citext = _names(casts=[("a", "inet", "citext", FunctionRef("public", "citext", False), False)])
    assert check_read_only("SELECT 1", citext)
    enum = _names(casts=[("i", "integer", "mood", FunctionRef("public", "pwn_mood", False), False)])
    with pytest.raises(PolicyDenied, match="applies implicitly"):
        check_read_only("SELECT 1", enum)
    assert inspect("DELETE FROM t", Mode.WRITE, names).kind == "DeleteStmt"  # writes are not this check's


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT merge_action()", "merge_action"),
        ("SELECT JSON_VALUE('{}'::jsonb, '$.a')", "json_value"),
        ("SELECT json_exists('{}'::jsonb, '$')", "json_exists"),
        ("SELECT json_scalar(1)", "json_scalar"),
        ("SELECT json('1')", "json"),
        ("SELECT json_serialize('1')", "json_serialize"),
        ("SELECT json_array(1, 2)", "json_array"),
        ("SELECT json_arrayagg(x) FROM t", "json_arrayagg"),
        ("SELECT * FROM json_table('{}'::jsonb, '$' COLUMNS (a int))", "json_table"),
    ],
)
def test_newer_syntax_is_checked_as_the_call_an_older_server_makes_of_it(sql: str, name: str) -> None:
    """libpg_query parses with PostgreSQL 18's grammar; PostgreSQL 15 reads these as calls by name."""
    with pytest.raises(PolicyDenied, match=f"calling {name}"):
        check_read_only(sql, _names(server_version=150020, functions={name: frozenset({"public"})}))
    assert check_read_only(sql, _names(server_version=180000, functions={name: frozenset({"public"})}))


def test_allowed_functions_setting() -> None:
    from connectors.postgres.settings import PostgresSettings

    assert PostgresSettings(allowed_functions="public.a, reports.*").allowed_functions == ["public.a", "reports.*"]
    for bad in ("safe_fn", "*.safe_fn", "a.b.c", "public.", "public.a*", "pg_catalog.*"):
        with pytest.raises(ValueError, match=r"schema\.function|one by one"):
            PostgresSettings(allowed_functions=[bad])


def test_the_generators_output_is_what_builtins_reads() -> None:
    """`builtins_gen.render` writes data/builtins.txt; `builtins` reads back the same names."""
    from connectors.postgres import builtins
    from connectors.postgres.builtins_gen import render

    text = render("PostgreSQL 99.1", ["lower", "now"], {"pg_read_file": "volatile"}, ["int4", "text"])
    version, sections = builtins._sections(text)
    assert version == "PostgreSQL 99.1"
    assert sections == {"allowed": ["lower", "now"], "refused": ["pg_read_file volatile"], "types": ["int4", "text"]}
    assert builtins.DATA.read_text(encoding="utf-8").startswith("# GENERATED")
    assert builtins.GENERATED_FROM.startswith("PostgreSQL ")

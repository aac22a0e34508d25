"""Wall 2 alone: the guard's allow-list, resolved against a real server's catalog, as the superuser.

A hostile database defines what an application (or an attacker with DDL earlier)
could leave behind: functions that raise "PWNED" with a file's content, an
overload of a built-in name, an operator `=` for varchar, a cast, a domain whose
check calls a function, an aggregate, a function created in pg_catalog. Every
form that reaches one of them is first run *without the guard* (the server
really calls the hostile function: the test proves its own premise), then with
the guard (refused, nothing reached, data and session unchanged). The login is
a superuser, so the guard is the only wall. Ordinary analytics must still pass.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import pytest

from connectors.postgres import catalog, guard
from connectors.postgres.executor import Pool, QueryRows, run_internal, run_read_only
from mcp_hub.errors import HubError, PolicyDenied
from tests.connectors.postgres.test_executor import fresh_path, pool_for, world
from tests.pg import TestDatabase, throwaway_database

pytestmark = pytest.mark.anyio

HOSTILE = """
CREATE FUNCTION public.pwn(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED %', left(pg_catalog.pg_read_file('/etc/hostname'), 0); END $$;
CREATE FUNCTION public.pwn_row(customers) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED row'; END $$;
CREATE FUNCTION public.lower(varchar) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED lower'; END $$;
CREATE FUNCTION pg_catalog.sneaky(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED sneaky'; END $$;
CREATE FUNCTION public.pwn_op(text, text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED op'; END $$;
CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pwn_op);
CREATE OPERATOR public.### (RIGHTARG = text, FUNCTION = pg_catalog.pg_read_file);
CREATE FUNCTION public.pwn_eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED eq'; END $$;
CREATE OPERATOR public.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.pwn_eq);
CREATE OPERATOR public.~~ (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.pwn_eq);
CREATE OPERATOR public.>= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.pwn_eq);
CREATE FUNCTION public.pwn_date(int) RETURNS date LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED cast'; END $$;
CREATE CAST (int AS date) WITH FUNCTION public.pwn_date(int);
CREATE DOMAIN public.checked AS text CHECK (public.pwn(VALUE) IS NOT NULL);
CREATE TYPE public.mood AS ENUM ('ok', 'sad');
CREATE FUNCTION public.pwn_sfunc(text, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED agg'; END $$;
CREATE AGGREGATE public.pwn_agg(text) (SFUNC = public.pwn_sfunc, STYPE = text);
CREATE FUNCTION public.safe_fn(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
CREATE FUNCTION public.merge_action() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'PWNED merge'; END $$;
CREATE FUNCTION public.json_scalar(int) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'PWNED json'; END $$;
CREATE FUNCTION public.json_object(varchar) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'PWNED json_object'; END $$;
CREATE SCHEMA reports;
CREATE FUNCTION reports.total() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT count(*) FROM customers';
"""

# Each reaches a hostile object on PostgreSQL 15 when the guard is off (checked below).
REACHES_HOSTILE = [
    # calls, spelled every way
    "SELECT pwn('x')",
    "SELECT public.pwn('x')",
    "SELECT \"pwn\"('x')",
    "SELECT U&\"\\0070wn\"('x')",
    "SELECT * FROM pwn('x')",
    "SELECT * FROM ROWS FROM (pwn('x')) AS t(v)",
    "SELECT * FROM customers c, LATERAL pwn(c.name) p",
    "SELECT count(*) FILTER (WHERE pwn(name) IS NULL) FROM customers",
    "SELECT name FROM customers ORDER BY pwn(name)",
    "SELECT string_agg(name, ',' ORDER BY pwn(name)) FROM customers",
    "WITH x AS (SELECT pwn(name) FROM customers) SELECT * FROM x",
    "EXPLAIN ANALYZE SELECT pwn('x')",
    # attribute notation: a one-argument function called as a field
    "SELECT ('x'::text).pwn",
    "SELECT (c.name).pwn FROM customers c",
    "SELECT c.pwn_row FROM customers c",
    "SELECT (c).pwn_row FROM customers c",
    # an overload of a built-in name that matches better
    "SELECT lower('A'::varchar)",
    "SELECT ('A'::varchar).lower",
    # a function created inside pg_catalog
    "SELECT sneaky('x')",
    "SELECT pg_catalog.sneaky('x')",
    # user-defined aggregate, also as a window
    "SELECT pwn_agg(name) FROM customers",
    "SELECT pwn_agg(name) OVER () FROM customers",
    # operators: user-defined, qualified, over a built-in function, and `=` overloaded for varchar
    "SELECT 'a' === 'b'",
    "SELECT 'a' OPERATOR(public.===) 'b'",
    "SELECT ### '/etc/hostname'",
    "SELECT 'a'::varchar = 'b'::varchar",
    "SELECT 1 WHERE 'a'::varchar IN ('b'::varchar, 'c'::varchar)",
    "SELECT 1 WHERE 'a'::varchar = ANY (ARRAY['b'::varchar])",
    "SELECT 1 WHERE 'a'::varchar IN (SELECT 'b'::varchar)",
    "SELECT CASE 'a'::varchar WHEN 'b'::varchar THEN 1 END",
    "SELECT 'a'::varchar IS DISTINCT FROM 'b'::varchar",
    "SELECT NULLIF('a'::varchar, 'b'::varchar)",
    "SELECT * FROM (SELECT 'a'::varchar AS k) x JOIN (SELECT 'b'::varchar AS k) y USING (k)",
    "SELECT * FROM (SELECT 'a'::varchar AS k) x NATURAL JOIN (SELECT 'b'::varchar AS k) y",
    "SELECT 'a'::varchar LIKE 'b'::varchar",
    "SELECT 'b'::varchar BETWEEN 'a'::varchar AND 'c'::varchar",
    # syntax the guard's newer parser reads as its own node, or qualifies, and PostgreSQL 15 as a call by name
    "SELECT merge_action()",
    "SELECT json_scalar(1)",
    "SELECT json_object('{a,1}'::varchar)",
    # casts and types: a cast function, function-style cast, a domain's check
    "SELECT 1::date",
    "SELECT CAST(1 AS date)",
    "SELECT 'x'::checked",
    "SELECT checked 'x'",
    "SELECT CAST('x' AS public.checked)",
    'SELECT * FROM json_to_record(\'{"a": "x"}\') AS t(a checked)',
]

# Built-in functions with effects outside the transaction, or that run SQL text, spelled every way.
BUILTIN_ESCAPES = [
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT pg_catalog.pg_read_file('/etc/hostname')",
    "SELECT \"pg_read_file\"('/etc/hostname')",
    "SELECT U&\"pg\\005fread_file\"('/etc/hostname')",
    "SELECT ('/etc/hostname'::text).pg_read_file",
    "SELECT (x).pg_read_file FROM (SELECT '/etc/hostname'::text) c(x)",
    "SELECT (c.x).pg_read_file FROM (SELECT '/etc/hostname'::text) c(x)",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT ('.'::text).pg_ls_dir",
    "SELECT * FROM ROWS FROM (pg_ls_dir('.'), generate_series(1, 2)) AS t(f, n)",
    "SELECT pg_stat_file('/etc/hostname')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{f}')",
    "SELECT lo_import('/etc/hostname')",
    "SELECT query_to_xml('SELECT pg_read_file(''/etc/hostname'')', true, true, '')",
    "SELECT table_to_xml('customers', true, true, '')",
    "SELECT schema_to_xml('public', true, true, '')",
    "SELECT database_to_xml(true, true, '')",
    "SELECT ts_stat('SELECT to_tsvector(name) FROM customers')",
    "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery')",
    "SELECT set_config('search_path', 'evil', false)",
    "SELECT ('customers_id_seq'::regclass).nextval",
    "SELECT pg_advisory_lock(42)",
    "SELECT (42::bigint).pg_advisory_lock",
    "SELECT pg_notify('evil', 'x')",
    "SELECT pg_reload_conf()",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{victim}'",
    "SELECT (pid).pg_cancel_backend FROM pg_stat_activity WHERE application_name = '{victim}'",
    "SELECT a.pid.pg_terminate_backend FROM pg_stat_activity a WHERE application_name = '{victim}'",
    "SELECT nextval('customers_id_seq')",
    "SELECT setval('customers_id_seq', 1000)",
    "SELECT txid_current()",
    "SELECT pg_stat_reset()",
    "SELECT * FROM customers TABLESAMPLE pwn(10)",
    "SELECT pg_create_restore_point('x')",
    "SELECT pg_switch_wal()",
]

ANALYTICS = [
    "SELECT c.name, count(o.id), sum(o.total), avg(o.total) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
    " GROUP BY c.name ORDER BY 2 DESC",
    "WITH t AS (SELECT customer_id, sum(total) AS s FROM orders GROUP BY 1) SELECT * FROM t WHERE s > 10",
    "SELECT id, row_number() OVER w, rank() OVER w, lag(total) OVER w, lead(total) OVER w, sum(total) OVER w"
    " FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY created_at)",
    "SELECT date_trunc('month', created_at), to_char(created_at, 'YYYY-MM'), extract(year FROM created_at),"
    " date_part('dow', created_at), created_at AT TIME ZONE 'UTC', created_at - interval '1 day', age(created_at)"
    " FROM orders WHERE created_at BETWEEN timestamptz '2024-01-01' AND now()",
    "SELECT jsonb_build_object('n', name), jsonb_agg(email), json_agg(id), to_jsonb(c) ->> 'name',"
    " '{\"a\": 1}'::jsonb @> '{\"a\": 1}', jsonb_path_query_array('[1, 2]', '$[*]')"
    " FROM customers c GROUP BY c.id",
    "SELECT CASE WHEN total > 100 THEN 'big' WHEN total > 10 THEN 'mid' ELSE 'small' END,"
    " CASE customer_id WHEN 1 THEN 'one' ELSE 'other' END, coalesce(NULL, total), nullif(total, 0),"
    " greatest(total, 1), least(total, 1) FROM orders",
    "SELECT count(*) FILTER (WHERE total > 50), percentile_cont(0.5) WITHIN GROUP (ORDER BY total),"
    " string_agg(id::text, ',' ORDER BY id), array_agg(DISTINCT customer_id), bool_or(total > 1000) FROM orders",
    "SELECT g, g * 2 FROM generate_series(1, 5) g",
    "SELECT d::date FROM generate_series(date '2024-01-01', date '2024-01-05', interval '1 day') d",
    "SELECT c.name, l.total FROM customers c CROSS JOIN LATERAL"
    " (SELECT total FROM orders o WHERE o.customer_id = c.id ORDER BY total DESC LIMIT 1) l",
    "SELECT regexp_replace(email, '@.*', ''), regexp_matches(name, '(\\w+)'), split_part(email, '@', 2),"
    " lower(name), upper(name), initcap(name), length(name), substring(name FROM 1 FOR 3), trim(name),"
    " position('a' IN name), left(name, 2), md5(name), format('%s <%s>', name, email) FROM customers",
    "SELECT name FROM customers WHERE name ILIKE 'a%' OR name LIKE '%r' OR name SIMILAR TO 'G%' OR name ~ '^A'",
    "SELECT id FROM customers WHERE id IN (1, 2) AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = customers.id)"
    " AND email IS DISTINCT FROM 'x' AND id = ANY (ARRAY[1, 2, 3])",
    "SELECT DISTINCT ON (customer_id) customer_id, total FROM orders ORDER BY customer_id, total DESC",
    "SELECT customer_id, date_trunc('year', created_at), sum(total) FROM orders GROUP BY ROLLUP (1, 2)",
    "SELECT round(total::numeric, 1), total::text, CAST(total AS float8), width_bucket(total, 0, 2000, 4),"
    " '2024-01-01'::date + 1, 5::bigint, '1 day'::interval FROM orders",
    "SELECT unnest(ARRAY[1, 2]), x.* FROM json_each('{\"a\": 1}') x",
    "SELECT * FROM jsonb_to_record('{\"a\": 1}') AS t(a int)",
    'SELECT name FROM customers ORDER BY name COLLATE "C" USING <',
    "SELECT pg_size_pretty(pg_total_relation_size('customers')), current_date, current_user, now(), random() < 2,"
    " gen_random_uuid() IS NOT NULL, pg_sleep(0), version() IS NOT NULL",
    "SELECT count(*) FROM customers TABLESAMPLE SYSTEM (100)",
    "SELECT c.name FROM customers c JOIN orders o USING (id) NATURAL JOIN customers",
    "SELECT x.total FROM (SELECT total FROM orders) x WHERE (x.total, 1) > (0, 0)",
]


@pytest.fixture(scope="module")
def hostile_db(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            conn.execute(HOSTILE)
        yield db


@pytest.fixture
async def hostile(hostile_db: TestDatabase) -> AsyncIterator[Pool]:
    async with pool_for(hostile_db.superuser_dsn, pool_max_size=1, application_name="mcp-hub-test-guard") as pool:
        yield pool


@pytest.fixture
async def victim(hostile_db: TestDatabase) -> AsyncIterator[tuple[str, psycopg.AsyncConnection[Any]]]:
    """Another session a read must not signal."""
    name = f"victim_{os.getpid()}_{time.monotonic_ns()}"
    conn = await psycopg.AsyncConnection.connect(hostile_db.superuser_dsn, autocommit=True, application_name=name)
    try:
        yield name, conn
    finally:
        await conn.close()


#: Session state on the pooled connection, read past the guard (the hostile `=` makes the guard refuse it).
SESSION_SQL = """
SELECT current_setting('search_path'), current_setting('application_name'),
 (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid OPERATOR(pg_catalog.=) pg_backend_pid()),
 (SELECT count(*) FROM pg_listening_channels()),
 (SELECT count(*) FROM pg_prepared_statements WHERE name NOT LIKE 'mcp\\_hub\\_%'),
 (SELECT count(*) FROM pg_cursors WHERE name NOT IN ('mcp_hub_rows', ''))
"""
CLEAN = ['"$user", public', "mcp-hub-test-guard", 0, 0, 0, 0]


async def session_state(pool: Pool) -> list[Any]:
    result = await run_internal(pool, SESSION_SQL, None, max_rows=1, timeout_ms=5000, max_cell_chars=200)
    return result.rows[0]


async def query(pool: Pool, sql: str, **options: Any) -> QueryRows:
    return await run_read_only(pool, sql, None, max_rows=100, timeout_ms=5000, max_cell_chars=2000, **options)


@pytest.mark.parametrize("sql", REACHES_HOSTILE)
async def test_without_the_guard_the_hostile_object_is_reached(
    hostile: Pool, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    """The premise: each form really reaches a hostile object on this server."""
    monkeypatch.setattr(guard, "check_read_only", lambda sql, *_: sql)
    try:
        result = await query(hostile, sql)
    except HubError as error:
        assert "PWNED" in str(error)
    else:  # the operator over pg_read_file: the file's content came back
        assert result.rows == [[Path("/etc/hostname").read_text()]]


@pytest.mark.parametrize("sql", REACHES_HOSTILE)
async def test_the_guard_refuses_every_form_that_reaches_a_hostile_object(
    hostile: Pool, hostile_db: TestDatabase, sql: str
) -> None:
    before = await world(hostile_db)
    with pytest.raises(PolicyDenied) as info:
        await query(hostile, sql)
    assert "PWNED" not in str(info.value)
    assert "refused in read-only mode" in str(info.value)
    assert await world(hostile_db) == before
    assert await session_state(hostile) == CLEAN


@pytest.mark.parametrize("template", BUILTIN_ESCAPES)
async def test_built_in_escapes_are_refused_as_superuser(
    hostile: Pool, hostile_db: TestDatabase, victim: tuple[str, psycopg.AsyncConnection[Any]], template: str
) -> None:
    name, victim_conn = victim
    path = fresh_path()
    before = await world(hostile_db)
    sequence = await _sequence(hostile_db)
    with pytest.raises(PolicyDenied, match="refused in read-only mode"):
        await query(hostile, template.replace("{f}", path).replace("{victim}", name))
    assert await world(hostile_db) == before
    assert await _sequence(hostile_db) == sequence
    assert not os.path.exists(path)
    assert (await (await victim_conn.execute("SELECT 1")).fetchone()) == (1,)  # not terminated
    assert await session_state(hostile) == CLEAN


async def _sequence(db: TestDatabase) -> Any:
    async with await psycopg.AsyncConnection.connect(db.superuser_dsn, autocommit=True) as conn:
        return await (await conn.execute("SELECT last_value, is_called FROM customers_id_seq")).fetchone()


@pytest.mark.parametrize("sql", ANALYTICS)
async def test_analytics_still_pass(pg_dsn: TestDatabase, sql: str) -> None:
    async with pool_for(pg_dsn.superuser_dsn, pool_max_size=1) as pool:
        result = await query(pool, sql)
    assert result.columns


async def test_enums_and_built_in_types_may_be_named(hostile: Pool) -> None:
    result = await query(hostile, "SELECT 'ok'::mood, 'sad'::public.mood, '1'::int, 'x'::pg_catalog.text")
    assert result.rows == [["ok", "sad", 1, "x"]]


async def test_allowed_functions_let_the_operator_add_functions(hostile: Pool) -> None:
    with pytest.raises(PolicyDenied, match=r'allowed_functions = \["public.safe_fn"\]'):
        await query(hostile, "SELECT safe_fn(2)")
    assert (await query(hostile, "SELECT safe_fn(2)", allowed_functions=["public.safe_fn"])).rows == [[4]]
    assert (await query(hostile, "SELECT public.safe_fn(2)", allowed_functions=["public.safe_fn"])).rows == [[4]]
    assert (await query(hostile, "SELECT (3).safe_fn", allowed_functions=["public.safe_fn"])).rows == [[6]]
    with pytest.raises(PolicyDenied, match=r"reports\.total"):
        await query(hostile, "SELECT reports.total()", allowed_functions=["public.safe_fn"])
    assert (await query(hostile, "SELECT reports.total()", allowed_functions=["reports.*"])).rows == [[3]]
    # Allowing one function does not allow its neighbours, nor the built-in it shadows.
    with pytest.raises(PolicyDenied, match="pwn"):
        await query(hostile, "SELECT pwn('x')", allowed_functions=["public.safe_fn"])
    with pytest.raises(PolicyDenied, match="lower"):
        await query(hostile, "SELECT lower('A')", allowed_functions=["public.safe_fn"])


async def test_a_function_created_after_the_snapshot(hostile_db: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown names reload the snapshot once: a new function is then judged by what it is."""
    monkeypatch.setattr(catalog, "MIN_REFRESH_S", 0.0)
    async with pool_for(hostile_db.superuser_dsn, pool_max_size=1) as pool:
        assert (await query(pool, "SELECT 1")).rows == [[1]]  # snapshot taken
        fresh = f"fresh_{time.monotonic_ns()}"
        async with await psycopg.AsyncConnection.connect(hostile_db.superuser_dsn, autocommit=True) as admin:
            await admin.execute(f"CREATE FUNCTION public.{fresh}() RETURNS int LANGUAGE sql AS 'SELECT 7'")
            await admin.execute(f"CREATE FUNCTION reports.{fresh}() RETURNS int LANGUAGE sql AS 'SELECT 8'")
        try:
            with pytest.raises(PolicyDenied, match=f"{fresh}"):
                await query(pool, f"SELECT {fresh}()")
            assert (await query(pool, f"SELECT {fresh}()", allowed_functions=["public.*", "reports.*"])).rows == [[7]]
            with pytest.raises(PolicyDenied, match="reports"):  # the overload in reports is not allowed
                await query(pool, f"SELECT {fresh}()", allowed_functions=["public.*"])
        finally:
            async with await psycopg.AsyncConnection.connect(hostile_db.superuser_dsn, autocommit=True) as admin:
                await admin.execute(f"DROP FUNCTION public.{fresh}(), reports.{fresh}()")


async def test_an_implicit_cast_by_a_function_refuses_every_read(pg_admin_dsn: str) -> None:
    """The server may apply it anywhere, where no name shows it: fail closed, and say why."""
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION public.pwn_text(int) RETURNS text LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'PWNED implicit'; END $$;"
                "CREATE CAST (int AS text) WITH FUNCTION public.pwn_text(int) AS IMPLICIT"
            )
        async with pool_for(db.superuser_dsn, pool_max_size=1) as pool:
            with pytest.raises(PolicyDenied, match=r"cast from integer to text calls public\.pwn_text"):
                await query(pool, "SELECT length(1)")
            with pytest.raises(PolicyDenied, match="cast from integer"):
                await query(pool, "SELECT 1")
            assert (await query(pool, "SELECT 1", allowed_functions=["public.pwn_text"])).rows == [[1]]


def test_the_committed_allow_list_is_what_the_generator_makes_of_this_server(pg_admin_dsn: str) -> None:
    """data/builtins.txt is reviewable data; this checks it is also current (for the server version it names)."""
    from connectors.postgres import builtins, builtins_gen

    with psycopg.connect(pg_admin_dsn) as conn:
        version = str(conn.execute("SELECT version()").fetchone()[0]).split(" on ")[0]  # type: ignore[index]
        overloads = [(str(n), bool(v)) for n, v in conn.execute(builtins_gen.FUNCTIONS_SQL).fetchall()]
    if version.split(".")[0] not in builtins.GENERATED_FROM:
        pytest.skip(f"data/builtins.txt was generated from another major version than {version}")
    allowed, refused = builtins_gen.classify(overloads)
    assert set(allowed) == builtins.ALLOWED_FUNCTIONS
    assert refused == builtins.REFUSED_FUNCTIONS


async def test_through_the_mcp_client_every_read_tool_is_guarded(hostile_db: TestDatabase) -> None:
    """query, explain and index advice check names against the server, with the configured allowed_functions."""
    from mcp import Client

    from tests.connectors.postgres.conftest import hub_for

    # wall 2 alone: the superuser login runs the reads (unsafe_login_role), only the guard stands in the way
    env = {
        "MCP_HUB_POSTGRES__ALLOWED_FUNCTIONS": "public.safe_fn, reports.*",
        "MCP_HUB_POSTGRES__UNSAFE_LOGIN_ROLE": "1",
    }
    hub = hub_for(hostile_db.superuser_dsn, env)
    async with Client(hub) as client:
        ok = await client.call_tool("postgres_query", {"sql": "SELECT safe_fn(2), reports.total()"})
        assert not ok.is_error and ok.structured_content["rows"] == [[4, 3]], ok.content
        for tool, sql in (
            ("postgres_query", "SELECT ('x'::text).pwn"),
            ("postgres_explain", "SELECT 1::date"),
            ("postgres_explain", "SELECT lower('A'::varchar)"),
            ("postgres_advise_indexes", "SELECT * FROM customers WHERE name === 'x'"),
        ):
            refused = await client.call_tool(tool, {"sql": sql})
            assert refused.is_error and refused.meta["mcp_hub/error"] == "denied", (tool, refused.content)
            assert "refused in read-only mode" in refused.content[0].text
            assert "PWNED" not in refused.content[0].text


async def test_a_reload_that_finds_nothing_new_keeps_the_names(
    hostile_db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verdicts are cached per Names: an unchanged catalog must not make a new one (nor keep old snapshots alive)."""
    monkeypatch.setattr(catalog, "MAX_AGE_S", 0.0)
    async with pool_for(hostile_db.superuser_dsn, pool_max_size=1) as pool:
        first = await catalog.names_for(pool)
        assert await catalog.names_for(pool) is first
        async with await psycopg.AsyncConnection.connect(hostile_db.superuser_dsn, autocommit=True) as admin:
            await admin.execute("CREATE FUNCTION public.newer() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        try:
            changed = await catalog.names_for(pool)
            assert changed is not first and "newer" in changed.snapshot.functions
        finally:
            async with await psycopg.AsyncConnection.connect(hostile_db.superuser_dsn, autocommit=True) as admin:
                await admin.execute("DROP FUNCTION public.newer()")


# -- real extensions -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extensions_db(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    """dblink and adminpack (effects outside the transaction), citext and pg_trgm (overloads of built-in names)."""
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            for extension in ("dblink", "adminpack", "citext", "pg_trgm"):
                conn.execute(f"CREATE EXTENSION {extension}")
        yield db


def _dblink_sql(db: TestDatabase, table: str) -> str:
    conninfo = psycopg.conninfo.make_conninfo(db.superuser_dsn).replace("'", "''")
    return f"SELECT dblink_exec('{conninfo}', 'CREATE TABLE {table} (a int)')"


async def test_extension_functions_acting_outside_the_transaction(
    extensions_db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dblink commits in another session, adminpack writes server files: both really work unguarded."""
    path = fresh_path()
    escapes = [_dblink_sql(extensions_db, "made_by_dblink"), f"SELECT pg_file_write('{path}', 'x', false)"]
    async with pool_for(extensions_db.superuser_dsn, pool_max_size=1) as pool:
        before = await world(extensions_db)
        for sql in escapes:
            with pytest.raises(PolicyDenied, match="not on the allow-list"):
                await query(pool, sql)
        assert await world(extensions_db) == before
        assert not os.path.exists(path)
        # The premise, with the guard off: a table committed by another session, a file on the server.
        monkeypatch.setattr(guard, "check_read_only", lambda sql, *_: sql)
        for sql in escapes:
            await query(pool, sql)
    try:
        assert "made_by_dblink" in (await world(extensions_db))["tables"]
        assert os.path.exists(path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        async with await psycopg.AsyncConnection.connect(extensions_db.superuser_dsn, autocommit=True) as admin:
            await admin.execute("DROP TABLE IF EXISTS made_by_dblink")


async def test_extensions_that_overload_built_in_names_need_allowing(extensions_db: TestDatabase) -> None:
    async with pool_for(extensions_db.superuser_dsn, pool_max_size=1) as pool:
        for sql, words in (
            ("SELECT max(id), replace('abc', 'b', 'x') FROM customers", "also defined in public"),  # citext's
            ("SELECT 'x'::citext", "public.citext"),
            ("SELECT 'abc' % 'abd'", 'allowed_functions = ["public.similarity_op"]'),  # pg_trgm
            ("SELECT similarity('abc', 'abd')", "public.similarity"),
        ):
            with pytest.raises(PolicyDenied) as info:
                await query(pool, sql)
            assert words in str(info.value), str(info.value)
        trusted = {"allowed_functions": ["public.*"]}
        result = await query(
            pool, "SELECT max(id), replace('abc', 'b', 'x'), 'x'::citext = 'X' FROM customers", **trusted
        )
        assert result.rows == [[3, "axc", True]]
        assert (await query(pool, "SELECT 'abc' % 'abc', similarity('abc', 'abc')", **trusted)).rows == [[True, 1.0]]
        # Trusting public does not trust dblink's functions elsewhere, nor the dangerous built-ins.
        with pytest.raises(PolicyDenied, match="pg_read_file"):
            await query(pool, "SELECT pg_read_file('/etc/hostname')", **trusted)

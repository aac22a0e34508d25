"""Attacks on the read path that the other tests do not cover: each one leaked before its fix.

Masking is display protection (the README), but it promises that a masked column's values do not
show through expressions, views or whole rows. Renaming a column (alias column lists), a join's
alias as a whole row, and stars whose columns come out untraced (set operations) each showed the
raw values.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from mcp import Client

from connectors.postgres.errors import WITHHELD, withhold_values
from connectors.postgres.guard import check_read_only
from mcp_hub.errors import PolicyDenied
from tests.connectors.postgres.conftest import HubFactory, data, hub_for
from tests.pg import TestDatabase, throwaway_database

pytestmark = pytest.mark.anyio

MASKED = {"MCP_HUB_POSTGRES__MASKED_COLUMNS": "users.email, *.password_hash, billing.invoices.card_number"}
SECRETS = ("user1@example.com", "c4ca4238a0b923820dcc509a6f75849b", "4111-0000-1")


@pytest.mark.parametrize(
    "sql",
    [
        # a column renamed by an alias column list, then computed on: its name is not the masked one
        "SELECT e || '' FROM users AS t(i, e) WHERE i = 1",
        "SELECT lower(x) FROM (SELECT id, email FROM users) AS s(i, x) WHERE i = 1",
        "WITH c(i, e) AS (SELECT * FROM users) SELECT e || '' FROM c WHERE i = 1",
        # a join's alias read as a whole row
        "SELECT row_to_json(j) FROM (users JOIN billing.invoices ON invoices.id = 1 AND users.id = 1) AS j",
        # a FULL JOIN's merged column (computed: untraced), renamed
        "SELECT t.e FROM (SELECT * FROM users FULL JOIN (SELECT NULL::text AS email WHERE false) s USING (email)) "
        "AS t(e) WHERE t.e = 'user1@example.com'",
        # a star in a set operation: the columns are named by the other branch, and untraced
        "SELECT * FROM (SELECT 0 AS i, '' AS e, '' AS p, '' AS n, 0 AS a UNION ALL SELECT * FROM users) s WHERE i = 1",
        "SELECT 0 AS i, '' AS e, '' AS p, '' AS n, 0 AS a WHERE false UNION ALL (SELECT * FROM users WHERE id = 1)",
    ],
)
async def test_masked_values_do_not_show_through_renames_and_stars(shop_hub: HubFactory, sql: str) -> None:
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        result = data(await client.call_tool("postgres_query", {"sql": sql}))
    assert result["row_count"] == 1
    shown = repr(result["rows"])
    assert not any(secret in shown for secret in SECRETS), shown


async def test_plain_queries_stay_unmasked(shop_hub: HubFactory) -> None:
    """The fix masks computed columns only where a rename or a star could hide a masked one."""
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        plain = data(
            await client.call_tool("postgres_query", {"sql": "SELECT id, upper(nickname) FROM users WHERE id = 1"})
        )
        star = data(await client.call_tool("postgres_query", {"sql": "SELECT *, age + 1 FROM users WHERE id = 1"}))
    assert plain["rows"] == [[1, "ANON"]]
    assert star["rows"] == [[1, "***", "***", "anon", 21, 22]]


# -- settings: `ALTER DATABASE … SET app.jwt_secret` (PostgREST's pattern) and per-role settings ------------------

SETTING_READS = [
    "SHOW app.jwt_secret",
    'SHOW "app.jwt_secret"',
    "SELECT current_setting('app.jwt_secret')",
    "SELECT pg_catalog.current_setting('app.jwt_secret', true)",
    "SELECT current_setting('app.' || 'jwt_secret')",
    "SELECT current_setting(setting_name => 'app.jwt_secret')",
    "SELECT ('app.jwt_secret'::text).current_setting",
    "SELECT x.current_setting FROM (SELECT 'app.jwt_secret'::text) AS x",
    "SELECT rolname, rolconfig FROM pg_roles",
    "SELECT array_to_string(useconfig, ',') FROM pg_catalog.pg_user",
    "SELECT * FROM pg_roles",
    "TABLE pg_user",
    "SELECT row_to_json(r) FROM pg_roles r",
    "SELECT c FROM pg_roles AS r(a, b, c, d, e, f, g, h, i, j, k, c)",
    "SELECT (r).rolconfig FROM (SELECT pg_roles AS r FROM pg_roles) s",
]


@pytest.mark.parametrize("sql", SETTING_READS)
def test_custom_and_per_role_settings_are_refused(sql: str) -> None:
    with pytest.raises(PolicyDenied):
        check_read_only(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW work_mem",
        "SHOW ALL",
        "SELECT current_setting('server_version_num')::int",
        "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = current_user",
        "SELECT name, setting FROM pg_settings WHERE name LIKE 'app.%'",
    ],
)
def test_built_in_settings_and_role_names_stay_readable(sql: str) -> None:
    assert check_read_only(sql)


@pytest.fixture
def secret_settings(shop_db: TestDatabase) -> Iterator[None]:
    """A secret set for the database (every role's sessions) and one for another role."""
    with psycopg.connect(shop_db.superuser_dsn, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{shop_db.name}\" SET app.jwt_secret = '{DB_SECRET}'")
        conn.execute(f"CREATE ROLE {OTHER_ROLE} NOLOGIN")
        conn.execute(f"ALTER ROLE {OTHER_ROLE} SET app.api_key = '{ROLE_SECRET}'")
    try:
        yield
    finally:
        with psycopg.connect(shop_db.superuser_dsn, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{shop_db.name}" RESET app.jwt_secret')
            conn.execute(f"DROP ROLE {OTHER_ROLE}")


DB_SECRET, ROLE_SECRET, OTHER_ROLE = "db-secret-5f1e", "role-secret-9a7c", "mcp_hub_attack_authn"


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW app.jwt_secret",
        "SELECT current_setting('app.jwt_secret')",
        f"SELECT rolconfig FROM pg_roles WHERE rolname = '{OTHER_ROLE}'",
        f"SELECT * FROM pg_user WHERE usename = current_user OR usename = '{OTHER_ROLE}'",
    ],
)
async def test_settings_secrets_do_not_reach_the_model(shop_hub: HubFactory, secret_settings: None, sql: str) -> None:
    async with Client(shop_hub(superuser=True)) as client:
        result = await client.call_tool("postgres_query", {"sql": sql})
    text = repr(result.content) + repr(result.structured_content)
    assert result.is_error and "refused" in text
    assert DB_SECRET not in text and ROLE_SECRET not in text


# -- error messages: the server quotes the value it could not convert ----------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT password_hash::int FROM users WHERE id = 1",
        "SELECT email::regclass FROM users WHERE id = 1",
        "SELECT email::date FROM users WHERE id = 1",
        "SELECT has_table_privilege(email, 'SELECT') FROM users WHERE id = 1",
        "SELECT card_number::numeric FROM billing.invoices WHERE id = 1",
    ],
)
async def test_error_messages_do_not_quote_values_from_the_database(shop_hub: HubFactory, sql: str) -> None:
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        result = await client.call_tool("postgres_query", {"sql": sql})
    text = repr(result.content)
    assert result.is_error and "withheld" in text, text
    assert not any(secret in text for secret in SECRETS), text


@pytest.mark.parametrize(
    ("sql", "params", "quoted"),
    [
        ("SELECT emial FROM users", None, 'column "emial" does not exist'),
        ("SELECT 'abc'::int", None, 'integer: "abc"'),
        ("SELECT $1::int", ["xyz"], 'integer: "xyz"'),
        ("SELECT * FROM nosuch", None, 'relation "nosuch" does not exist'),
    ],
)
async def test_error_messages_still_quote_what_the_sql_holds(
    shop_hub: HubFactory, sql: str, params: list[str] | None, quoted: str
) -> None:
    async with Client(shop_hub(MASKED, superuser=True)) as client:
        result = await client.call_tool("postgres_query", {"sql": sql, "params": params})
    assert result.is_error and quoted in repr(result.content), result.content


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('column "emial" does not exist', 'column "emial" does not exist'),
        ('invalid input syntax for type integer: "s3cret"', f"invalid input syntax for type integer: {WITHHELD}"),
        ('relation "users" does not exist: "x"y"', f'relation "users" does not exist: {WITHHELD}'),
        ('malformed: "users"tail', 'malformed: "users"tail'),
        ('odd "users" then "', f'odd "users" then {WITHHELD}'),
        ('empty ""', f"empty {WITHHELD}"),
    ],
)
def test_withhold_values(text: str, expected: str) -> None:
    assert withhold_values(text, "SELECT emial FROM users") == expected


# -- conversions no name shows: JSON into a table's row type, whose column is a domain --------------------------

DOMAIN_SQL = """
CREATE FUNCTION public.spy(t text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN IF t <> 'seed' THEN RAISE EXCEPTION 'spy ran on %', t; END IF; RETURN true; END $$;
CREATE DOMAIN public.watched AS text CHECK (public.spy(VALUE));
CREATE TABLE public.dt (id int, d public.watched);
INSERT INTO public.dt VALUES (1, 'seed');
"""


@pytest.fixture(scope="module")
def domain_db(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    with throwaway_database(pg_admin_dsn) as db:
        with psycopg.connect(db.superuser_dsn, autocommit=True) as conn:
            conn.execute(DOMAIN_SQL)
            conn.execute(f"GRANT SELECT ON public.dt TO {db.reader_role}")
        yield db


@pytest.mark.parametrize(
    "sql",
    [
        """SELECT jsonb_populate_record(t, '{"d": "x"}') FROM dt t""",
        """SELECT * FROM dt t, json_populate_recordset(t, '[{"d": "x"}]') r""",
        """SELECT pg_catalog.jsonb_populate_record(t, '{"d": "x"}') FROM dt t""",
    ],
)
async def test_a_domain_reached_through_a_row_type_is_refused(domain_db: TestDatabase, sql: str) -> None:
    hub = hub_for(domain_db.superuser_dsn, {"MCP_HUB_POSTGRES__READ_DSN": domain_db.reader_dsn})
    async with Client(hub) as client:
        result = await client.call_tool("postgres_query", {"sql": sql})
        plain = await client.call_tool("postgres_query", {"sql": "SELECT d FROM dt"})
    text = repr(result.content)
    assert result.is_error and "refused" in text and "public.watched" in text, text
    assert "spy ran" not in text
    assert data(plain)["rows"] == [["seed"]]


def test_populating_a_row_stays_allowed_without_such_types() -> None:
    assert check_read_only("""SELECT jsonb_populate_record(c, '{"id": 1}') FROM customers c""")

"""Wall 1 alone: model-written SQL runs on a login that may only read, whatever the DSN's login can do.

Every escape here runs with the statement check switched off (`guard.check_read_only` returns the text
as given), through the hub's own read path (`postgres_query` over an in-memory MCP client), for two
configured logins: the superuser, and a plain application role that owns the tables, a SECURITY
DEFINER function and other open sessions; each with a reader made by `create-reader`. After every
attempt: the data unchanged, no file read or written, the other sessions alive (and a statement of
theirs not cancelled), the pooled connection clean.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from connectors.postgres import guard, reader
from connectors.postgres.logins import audit_sync
from tests.connectors.postgres.conftest import data, hub_for
from tests.pg import TestDatabase

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]

SETUP = """
CREATE TABLE accounts (id serial PRIMARY KEY, owner text NOT NULL, balance int NOT NULL);
INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, g * 10 FROM generate_series(1, 20) g;
CREATE FUNCTION wipe() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'DELETE FROM accounts RETURNING 1';
CREATE FUNCTION pay(n int) RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS
  $$ BEGIN UPDATE accounts SET balance = balance + n; RETURN n; END $$;
"""


@dataclass
class Escapes:
    """A database whose tables an application role owns, with readers made for it and for the superuser."""

    name: str
    superuser_dsn: str
    app_dsn: str
    app_role: str
    readers: Path
    dblink: bool


@pytest.fixture(scope="module")
def escapes(pg_admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Escapes]:
    suffix = secrets.token_hex(4)
    name, app = f"mcp_hub_test_login_{suffix}", f"mcp_hub_app_{suffix}"
    readers = tmp_path_factory.mktemp("readers") / "mcp-hub" / "postgres-readers"
    made: list[str] = []
    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(app)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER postgres").format(sql.Identifier(name)))
    superuser_dsn = make_conninfo(pg_admin_dsn, dbname=name)
    app_dsn = make_conninfo(pg_admin_dsn, dbname=name, user=app)
    try:
        with psycopg.connect(superuser_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(app)))
            found = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'dblink'").fetchone()
            dblink = bool(found and found[0])
            if dblink:
                conn.execute("CREATE EXTENSION dblink")  # EXECUTE to PUBLIC, as its install script grants
        with psycopg.connect(app_dsn, autocommit=True) as conn:
            conn.execute(SETUP)
        made.append(_reader_for(superuser_dsn, readers))
        # A plain application role runs create-reader once with CREATEROLE (and, from PostgreSQL 16, the
        # right to grant pg_read_all_data), which its DBA then takes back.
        with psycopg.connect(superuser_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(app)))
            conn.execute(sql.SQL("GRANT pg_read_all_data TO {} WITH ADMIN OPTION").format(sql.Identifier(app)))
        made.append(_reader_for(app_dsn, readers))
        with psycopg.connect(superuser_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(app)))
            conn.execute(sql.SQL("REVOKE pg_read_all_data FROM {}").format(sql.Identifier(app)))
        yield Escapes(name, superuser_dsn, app_dsn, app, readers, dblink)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            for role in [*made, app]:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _reader_for(dsn: str, folder: Path) -> str:
    said = reader.create_reader(dsn, folder, [])
    role = said.split()[2]
    assert role.startswith(reader.ROLE_PREFIX), said
    return role


@pytest.fixture(params=["superuser", "app"])
def configured(request: pytest.FixtureRequest, escapes: Escapes, monkeypatch: pytest.MonkeyPatch) -> str:
    """The configured DSN: the superuser's or the application role's; readers are found in `escapes.readers`."""
    monkeypatch.setenv("XDG_DATA_HOME", str(escapes.readers.parent.parent))
    return escapes.superuser_dsn if request.param == "superuser" else escapes.app_dsn


def without_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "check_read_only", lambda text, *_: text)


@dataclass
class Victims:
    """Other sessions an escape might signal: the application role's and the superuser's."""

    conns: list[psycopg.AsyncConnection[Any]]

    @property
    def pids(self) -> list[int]:
        return [c.info.backend_pid for c in self.conns]

    async def alive(self) -> bool:
        for conn in self.conns:
            cur = await conn.execute("SELECT 1")
            if await cur.fetchone() != (1,):
                return False
        return True


@pytest.fixture
async def victims(escapes: Escapes) -> AsyncIterator[Victims]:
    conns = [
        await psycopg.AsyncConnection.connect(escapes.app_dsn, autocommit=True),
        await psycopg.AsyncConnection.connect(escapes.superuser_dsn, autocommit=True),
    ]
    try:
        yield Victims(conns)
    finally:
        for conn in conns:
            await conn.close()


def world(escapes: Escapes) -> tuple[Any, ...]:
    with psycopg.connect(escapes.superuser_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM accounts), (SELECT sum(balance) FROM accounts),"
            " (SELECT array_agg(relname::text ORDER BY relname) FROM pg_class"
            "  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'),"
            " (SELECT count(*) FROM pg_largeobject_metadata),"
            " (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            "  WHERE l.locktype = 'advisory' AND d.datname = current_database())"
        ).fetchone()
    assert row is not None
    return tuple(row)


#: Read from the hub's one pooled connection after each attempt: who it is, and what a call left.
SESSION = (
    "SELECT session_user::text = current_user::text, current_setting('role'),"
    " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),"
    " current_setting('search_path')"
)

# {f}: a fresh path that must not exist afterwards; {pid}: a victim session; {app}: the application role;
# {db}: the database. Each must fail, except where noted in ALLOWED.
ESCAPES = [
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT pg_read_binary_file('/etc/hostname')",
    "SELECT ('/etc/hostname'::text).pg_read_file",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT * FROM pg_stat_file('/etc/hostname')",
    "COPY accounts TO '{f}'",
    "COPY (SELECT 1) TO PROGRAM 'touch {f}'",
    "SELECT lo_import('/etc/hostname')",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{f}')",
    "SELECT pg_terminate_backend({pid})",
    "SELECT pg_cancel_backend({pid})",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = '{db}'",
    "SELECT pg_reload_conf()",
    "SELECT set_config('role', 'postgres', true), pg_read_file('/etc/hostname')",
    "SELECT set_config('role', '{app}', true), wipe()",
    "SELECT set_config('session_authorization', 'postgres', true), pg_terminate_backend({pid})",
    "SET SESSION AUTHORIZATION postgres",
    "SET ROLE {app}",
    "SELECT wipe()",
    "SELECT pay(1000)",
    "SELECT query_to_xml('DELETE FROM accounts RETURNING 1', true, true, '')",
    "SELECT nextval('accounts_id_seq')",
    "SELECT * FROM dblink('{loopback}', 'DELETE FROM accounts RETURNING 1') AS t(x int)",
    "SELECT dblink_exec('{loopback}', 'DELETE FROM accounts')",
    "SELECT set_config('role', 'postgres', true), dblink_exec('{loopback}', 'DELETE FROM accounts')",
]
#: These run (a reader may take advisory locks); the hub's reset must leave nothing behind.
ALLOWED = [
    "SELECT pg_advisory_lock(42)",
    "SELECT pg_advisory_lock_shared(43), pg_try_advisory_lock(44)",
    "SELECT pg_advisory_xact_lock(45)",
]


@pytest.mark.parametrize("template", ESCAPES + ALLOWED, ids=[e[:60] for e in ESCAPES + ALLOWED])
async def test_without_the_guard_the_reader_login_is_the_wall(
    escapes: Escapes, configured: str, victims: Victims, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    if "dblink" in template and not escapes.dblink:
        pytest.fail("dblink is not installable on this server: these forms are untested here (say so)")
    without_the_guard(monkeypatch)
    path = f"/tmp/mcp_hub_escape_{secrets.token_hex(6)}"
    loopback = make_conninfo(escapes.superuser_dsn)  # trust auth: a superuser would get in without a password
    text = template.format(
        f=path, pid=victims.pids[0], app=escapes.app_role, db=escapes.name, loopback=loopback.replace("'", "''")
    )
    before = world(escapes)
    hub = hub_for(configured, {"MCP_HUB_POSTGRES__POOL_MAX_SIZE": "1"})
    async with victims.conns[0].cursor() as busy, Client(hub) as client:
        await client.call_tool("postgres_query", {"sql": "SELECT 1"})  # pools open: the escape runs at once
        # A statement of the application role's session that a cancel would cut short.
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(busy.execute, "SELECT pg_sleep(0.5)")
            await anyio.sleep(0.1)
            result = await client.call_tool("postgres_query", {"sql": text})
        session = data(await client.call_tool("postgres_query", {"sql": SESSION}))["rows"][0]
        who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user"}))["rows"][0][0]
    assert who.startswith(reader.ROLE_PREFIX)  # the created reader, not the configured login
    if template in ALLOWED:
        assert not result.is_error, result.content
    else:
        assert result.is_error, (text, result.structured_content)
    assert world(escapes) == before
    assert not os.path.exists(path)
    assert await victims.alive()
    assert session == [True, "none", 0, '"$user", public']


async def test_the_escapes_would_work_on_the_configured_login(
    escapes: Escapes, victims: Victims, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the wall matters (and that the tests above can fail): the same forms, run on the application
    role itself with `unsafe_login_role`, signal its other session."""
    without_the_guard(monkeypatch)
    env = {"MCP_HUB_POSTGRES__UNSAFE_LOGIN_ROLE": "true", "MCP_HUB_POSTGRES__POOL_MAX_SIZE": "1"}
    async with Client(hub_for(escapes.app_dsn, env)) as client:
        who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user"}))["rows"][0][0]
        killed = await client.call_tool("postgres_query", {"sql": f"SELECT pg_terminate_backend({victims.pids[0]})"})
    assert who == escapes.app_role
    assert data(killed)["rows"] == [[True]]
    with pytest.raises(psycopg.OperationalError):
        await victims.alive()
    victims.conns[0] = await psycopg.AsyncConnection.connect(escapes.app_dsn, autocommit=True)


async def test_a_privileged_login_without_a_reader_runs_no_model_sql(
    escapes: Escapes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no stored reader here
    env = {"MCP_HUB_TOOLSETS": "all"}
    async with Client(hub_for(escapes.app_dsn, env)) as client:
        calls = {
            "postgres_query": {"sql": "SELECT 1"},
            "postgres_explain": {"sql": "SELECT 1"},
            "postgres_advise_indexes": {"sql": "SELECT * FROM accounts WHERE owner = 'x'"},
        }
        refused = {name: await client.call_tool(name, args) for name, args in calls.items()}
        with pytest.raises(MCPError, match="create-reader"):
            await client.read_resource("postgres://public/accounts/sample")
        schemas = await client.call_tool("postgres_list_schemas", {})
        described = await client.call_tool("postgres_describe_table", {"table": "accounts"})
    for name, result in refused.items():
        assert result.is_error and result.meta["mcp_hub/error"] == "denied", name
        message = result.content[0].text
        assert "mcp-hub postgres create-reader" in message and "read_dsn" in message, message
        assert f"{escapes.app_role!r}" in message and "owns" in message
        assert escapes.app_dsn not in message
    assert not schemas.is_error and not described.is_error


async def test_a_reader_created_while_the_hub_runs_is_picked_up(
    escapes: Escapes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    async with Client(hub_for(escapes.superuser_dsn)) as client:
        before = await client.call_tool("postgres_query", {"sql": "SELECT current_user"})
        with psycopg.connect(escapes.superuser_dsn) as conn:
            stored = reader.load(escapes.readers, audit_sync(conn)[1])
        assert stored is not None
        reader.save(tmp_path / "mcp-hub" / "postgres-readers", stored)
        after = await client.call_tool("postgres_query", {"sql": "SELECT current_user"})
    assert before.is_error and data(after)["rows"] == [[stored.role]]


async def test_read_dsn_runs_the_reads(pg_dsn: TestDatabase) -> None:
    env = {"MCP_HUB_POSTGRES__READ_DSN": pg_dsn.reader_dsn}
    async with Client(hub_for(pg_dsn.superuser_dsn, env)) as client:
        who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user"}))
        sample = await client.read_resource("postgres://public/customers/sample?rows=2")
        refused = await client.call_tool("postgres_query", {"sql": "SELECT pg_read_file('/etc/hostname')"})
    assert who["rows"] == [[pg_dsn.reader_role]]
    assert '"rows":[' in str(sample)
    assert refused.is_error


async def test_a_read_dsn_that_is_not_least_privileged_is_refused(pg_dsn: TestDatabase) -> None:
    env = {"MCP_HUB_POSTGRES__READ_DSN": pg_dsn.superuser_dsn}  # a mistake: the superuser again
    async with Client(hub_for(pg_dsn.reader_dsn, env)) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "denied"
    assert "read_dsn login 'postgres' is not least-privileged" in result.content[0].text
    assert "superuser" in result.content[0].text


async def test_unsafe_login_role_warns_at_start(pg_dsn: TestDatabase, caplog: pytest.LogCaptureFixture) -> None:
    env = {"MCP_HUB_POSTGRES__UNSAFE_LOGIN_ROLE": "1"}
    async with Client(hub_for(pg_dsn.superuser_dsn, env)) as client:
        who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user"}))
    assert who["rows"] == [["postgres"]]
    warned = [r for r in caplog.records if r.levelname == "WARNING" and "unsafe_login_role" in r.getMessage()]
    assert warned and "create-reader" in warned[0].getMessage()


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import sys; from mcp_hub.cli import main; sys.exit(main(sys.argv[1:]))"
    base = {k: v for k, v in os.environ.items() if not k.startswith("MCP_HUB_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=base | {"PYTHONPATH": str(ROOT)} | env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


async def test_create_reader_end_to_end(pg_admin_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """create-reader through the CLI, a query through the MCP client as that reader, config check, drop-reader."""
    name = f"mcp_hub_test_cli_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(pg_admin_dsn, dbname=name, password="pa55-w0rd-secret")  # trust auth ignores it
    env = {"DATABASE_URL": dsn, "XDG_DATA_HOME": str(tmp_path)}
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    role = ""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA app; CREATE TABLE app.t AS SELECT 7 AS n; CREATE TABLE public.u (n int)")
        check_before = cli(["config", "check"], env)
        made = cli(["postgres", "create-reader", "--schemas", "app"], env)
        assert made.returncode == 0, made.stderr
        role = made.stdout.split()[2]
        (path,) = (tmp_path / "mcp-hub" / "postgres-readers").iterdir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert "pa55-w0rd-secret" not in made.stdout + made.stderr
        again = cli(["postgres", "create-reader"], env)
        assert again.returncode == 0 and "already exists" in again.stdout
        async with Client(hub_for(dsn)) as client:
            who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user, n FROM app.t"}))
            other = await client.call_tool("postgres_query", {"sql": "SELECT * FROM public.u"})
        assert who["rows"] == [[role, 7]]
        assert other.is_error and "permission denied" in other.content[0].text  # --schemas app only
        check_after = cli(["config", "check"], env)
        dropped = cli(["postgres", "drop-reader"], env)
        assert dropped.returncode == 0 and f"dropped reader {role}" in dropped.stdout, dropped.stderr
        assert not path.exists()
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [role]).fetchone() == (0,)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if role:
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    for done in (check_before, check_after):
        assert done.returncode == 0, done.stderr
        assert "pa55-w0rd-secret" not in done.stdout + done.stderr
        assert conninfo_to_dict(dsn)["dbname"] in done.stdout  # the database, named by the audit
        assert "still hold" not in done.stdout
        assert "configured login 'postgres': superuser" in done.stdout
    assert "mcp-hub postgres create-reader" in check_before.stdout and "are off" in check_before.stdout
    assert f"runs as created reader {role!r}" in check_after.stdout


def test_credentials_are_keyed_by_login_and_private(tmp_path: Path) -> None:
    from connectors.postgres.logins import Endpoint

    here = Endpoint("127.0.0.1", 5432, "app", "owner")
    stored = reader.StoredReader("127.0.0.1", 5432, "app", "owner", "mcp_hub_reader_x", "secret-pw")
    path = reader.save(tmp_path / "readers", stored)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert reader.load(tmp_path / "readers", here) == stored
    for other in (Endpoint("127.0.0.1", 5433, "app", "owner"), Endpoint("127.0.0.1", 5432, "app", "someone")):
        assert reader.load(tmp_path / "readers", other) is None
    path.chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        reader.load(tmp_path / "readers", here)
    assert "secret-pw" not in repr(stored.grants())
    verifier = reader.scram_verifier("secret-pw")
    assert verifier.startswith("SCRAM-SHA-256$4096:") and "secret-pw" not in verifier


async def test_a_stored_reader_that_cannot_log_in_says_so(
    pg_dsn: TestDatabase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with psycopg.connect(pg_dsn.superuser_dsn) as conn:
        _, here = audit_sync(conn)
    gone = reader.StoredReader(here.host, here.port, here.dbname, here.user, "mcp_hub_reader_dropped", "pw-x")
    path = reader.save(tmp_path / "mcp-hub" / "postgres-readers", gone)
    async with Client(hub_for(pg_dsn.superuser_dsn)) as client:
        result = await client.call_tool("postgres_query", {"sql": "SELECT 1"})
    assert result.is_error and result.meta["mcp_hub/error"] == "auth"
    assert "cannot log in" in result.content[0].text and str(path) in result.content[0].text
    assert "pw-x" not in result.content[0].text


@pytest.mark.parametrize(
    ("grant", "finding"),
    [
        ("ALTER ROLE {r} SUPERUSER", "superuser"),
        ("ALTER ROLE {r} CREATEDB", "CREATEDB"),
        ("ALTER ROLE {r} CREATEROLE", "CREATEROLE"),
        ("ALTER ROLE {r} BYPASSRLS", "BYPASSRLS"),
        ("ALTER ROLE {r} REPLICATION", "REPLICATION"),
        ("GRANT pg_signal_backend TO {r}", "pg_signal_backend"),
        ("GRANT pg_read_server_files TO {r}", "pg_read_server_files"),
        ("GRANT pg_execute_server_program TO {r}", "pg_execute_server_program"),
        ("GRANT pg_write_all_data TO {r}", "pg_write_all_data"),
        ("GRANT pg_checkpoint TO {r}", "pg_checkpoint"),
        ("GRANT pg_monitor TO {r}", "pg_monitor"),  # primary_conninfo, other sessions' SQL
        ("GRANT pg_read_all_settings TO {r}", "pg_read_all_settings"),
        ("CREATE ROLE {r}_mid NOLOGIN; GRANT pg_signal_backend TO {r}_mid; GRANT {r}_mid TO {r}", "pg_signal_backend"),
        ("CREATE ROLE {r}_su SUPERUSER NOLOGIN; GRANT {r}_su TO {r}; ALTER ROLE {r} NOINHERIT", "superuser"),
        ("GRANT INSERT ON customers TO {r}", "may write 1 relation(s) (customers)"),
        ("GRANT UPDATE (name) ON customers TO {r}", "may write 1 relation(s) (customers)"),
        ("GRANT TRUNCATE ON orders TO PUBLIC", "may write 1 relation(s) (orders)"),
        ("GRANT USAGE ON SEQUENCE customers_id_seq TO {r}", "customers_id_seq"),
        ("ALTER TABLE orders OWNER TO {r}", "owns 1 object(s) (relation orders)"),
        ("CREATE SCHEMA {r}_s AUTHORIZATION {r}", "owns 1 object(s) (schema"),
        ("CREATE ROLE {r}_owner NOLOGIN; ALTER TABLE orders OWNER TO {r}_owner; GRANT {r}_owner TO {r}", "owns 1"),
    ],
)
def test_the_audit_finds_each_power(pg_admin_dsn: str, grant: str, finding: str) -> None:
    """Each way a login can act beyond reading is found, directly or through a role it may SET ROLE to."""
    suffix = secrets.token_hex(4)
    name, role = f"mcp_hub_test_audit_{suffix}", f"mcp_hub_audit_{suffix}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    superuser_dsn = make_conninfo(pg_admin_dsn, dbname=name)
    try:
        with psycopg.connect(superuser_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text); CREATE TABLE orders (id int)")
            conn.execute(f"GRANT SELECT ON customers, orders TO {role}")
            with psycopg.connect(make_conninfo(superuser_dsn, user=role)) as login:
                clean, _ = audit_sync(login)
            conn.execute(grant.format(r=role))
            with psycopg.connect(make_conninfo(superuser_dsn, user=role)) as login:
                found, _ = audit_sync(login)
    finally:
        with psycopg.connect(pg_admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            for extra in ("_mid", "_su", "_owner", ""):
                admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role + extra)))
    assert clean.safe and clean.role == role
    assert not found.safe and finding in found.describe(), found.describe()


async def test_config_check_shows_unsafe_login_role(pg_dsn: TestDatabase) -> None:
    hub = hub_for(pg_dsn.superuser_dsn, {"MCP_HUB_POSTGRES__UNSAFE_LOGIN_ROLE": "1"})
    (connector,) = [c for c in hub.connectors if c.name == "postgres"]
    async with hub.running():
        lines = await connector.diagnose()
    assert lines[0].startswith("unsafe_login_role is set") and "create-reader" in lines[0]
    assert any("runs as configured login 'postgres': superuser" in line for line in lines)
    assert not any(pg_dsn.superuser_dsn in line or "password" in line for line in lines)


@pytest.mark.parametrize("read_dsn", [False, True])
async def test_a_hub_started_again_reads_again(pg_dsn: TestDatabase, read_dsn: bool) -> None:
    """Each start opens the pools anew: nothing keeps the pools a previous stop closed."""
    env = {"MCP_HUB_POSTGRES__READ_DSN": pg_dsn.reader_dsn} if read_dsn else {}
    hub = hub_for(pg_dsn.superuser_dsn if read_dsn else pg_dsn.reader_dsn, env)
    for _ in range(2):
        async with Client(hub) as client:
            who = data(await client.call_tool("postgres_query", {"sql": "SELECT current_user"}))
        assert who["rows"] == [[pg_dsn.reader_role]]

